# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Reinstall when the package metadata changes.
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-all results results-cifar bench install clean

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,cloud]"
	@touch $(STAMP)

install: $(STAMP)

# Benchmarks get their own environment: KerasCV (a second alternative to time against) is
# installed there only, never beside the tests.
BENCH_VENV := .venv-bench
BPY := $(BENCH_VENV)/bin/python
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): setup.cfg pyproject.toml
	@test -x $(BPY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BPY) -m pip install --quiet --upgrade pip
	$(BPY) -m pip install --quiet -e ".[bench]"
	@touch $(BENCH_STAMP)

## The main job: the augmentation recipe on the embedded digits data (with and without each
## augmentation); prints the comparison, the test accuracy and the output folder.
## Measured times of every target: docs/testing.md.
demo: $(STAMP)
	$(PY) recipes/augmentation.py

## Run every recipe at its defaults, then write the Recipes table from their outputs.
RECIPES := augmentation batch_norm bias_variance compatibility cross_validation initialization \
	losses optimizers regularization super_convergence train transfer_learning
results: $(STAMP)
	for r in $(RECIPES); do $(PY) recipes/$$r.py || exit 1; done
	$(PY) tools/recipes_table.py runs/ --docs docs/recipes | tee docs/recipes/index.md

## The same recipes on the shared CIFAR-10 split (../shared/data, not shipped: see its README),
## each sized to a few minutes on 2 cores (half the images held out to test, a 16-filter CNN);
## writes docs/recipes/cifar/ (bias_variance varies the CNN's width there, not a polynomial's degree).
CIFAR ?= ../shared/data/cifar10_test.npz
CIFAR_DATA := --dataset $(CIFAR)
CIFAR_SPLIT := --split 0.4,0.1,0.5
CIFAR_RECIPES := \
	"transfer_learning $(CIFAR_SPLIT) --width 16 --pretrain-epochs 8 --seeds 3" \
	"augmentation $(CIFAR_SPLIT) --width 16 --epochs 10 --augment flip,cutout,mixup --seeds 3" \
	"batch_norm $(CIFAR_SPLIT) --width 16 --epochs 4 --target 0.35 --eval-every 10 --seeds 3" \
	"compatibility --width 16 --epochs 6 --techniques batch_norm,mixup,label_smoothing --seeds 3" \
	"cross_validation --width 16 --epochs 8 --seeds 3" \
	"initialization $(CIFAR_SPLIT) --epochs 10 --seeds 3" \
	"losses $(CIFAR_SPLIT) --width 16 --epochs 8 --seeds 3" \
	"optimizers $(CIFAR_SPLIT) --width 16 --epochs 6 --target 0.4 --seeds 3" \
	"regularization --epochs 30 --seeds 3" \
	"super_convergence $(CIFAR_SPLIT) --width 16 --epochs 6 --target 0.4 --seeds 3" \
	"train $(CIFAR_SPLIT) --width 16 --epochs 10" \
	"bias_variance --split 0.15,0.15,0.7 --widths 2,4,8,16 --epochs 20 --seeds 3"
results-cifar: $(STAMP)
	@test -f $(CIFAR) || { echo "make results-cifar: $(CIFAR) is missing (the shared CIFAR-10 split; see ../shared/data/README.md)"; exit 2; }
	for r in $(CIFAR_RECIPES); do set -- $$r; name=$$1; shift; \
		$(PY) recipes/$$name.py $(CIFAR_DATA) "$$@" || exit 1; done
	mkdir -p docs/recipes/cifar
	$(PY) tools/recipes_table.py runs/ --dataset $(notdir $(CIFAR)) --docs docs/recipes/cifar \
		--command "make results-cifar" | tee docs/recipes/cifar/index.md

# Backend-neutral code (keras.ops / keras.random) is tested on a second backend too.
JAX_TESTS := tests/test_layers_cutout.py tests/test_layers_mix.py tests/test_layers_pipeline.py \
	tests/test_layers_registry.py tests/test_layers_round_trip.py tests/test_losses.py \
	tests/test_schedules.py tests/test_callbacks_onecycle.py tests/test_lr_finder.py tests/test_diagnosis.py \
	tests/test_layers_random_shift.py

## The whole default test suite (budget: under 15 minutes on 2 cores): TensorFlow, then JAX.
test: $(STAMP)
	$(PY) -m pytest -m "not slow" -q
	KERAS_BACKEND=jax $(PY) -m pytest -m "not slow" -q $(JAX_TESTS)

## Long checks, kept out of `make test` for time.
test-slow: $(STAMP)
	$(PY) -m pytest -m slow -q

test-all: test test-slow

## Every benchmark, one process each: writes benchmarks/results.md.
bench: $(BENCH_STAMP)
	$(BPY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) runs .pytest_cache *.egg-info
