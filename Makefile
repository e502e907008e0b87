# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Reinstall when the package metadata changes.
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-all install clean

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

## The main job: train on the embedded digits data, print test accuracy and the output folder.
demo: $(STAMP)
	$(PY) recipes/baseline.py

# Backend-neutral code (keras.ops / keras.random) is tested on a second backend too.
JAX_TESTS := tests/test_layers_cutout.py tests/test_layers_mix.py tests/test_layers_pipeline.py tests/test_losses.py

## The whole default test suite (under 15 minutes on 2 cores): TensorFlow, then JAX.
test: $(STAMP)
	$(PY) -m pytest -m "not slow" -q
	KERAS_BACKEND=jax $(PY) -m pytest -m "not slow" -q $(JAX_TESTS)

## Long checks, kept out of `make test` for time.
test-slow: $(STAMP)
	$(PY) -m pytest -m slow -q

test-all: test test-slow

clean:
	rm -rf $(VENV) runs .pytest_cache *.egg-info
