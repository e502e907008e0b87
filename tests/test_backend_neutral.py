"""The core works under JAX without TensorFlow, and `import kerasext` changes nothing.

Each check runs in a fresh interpreter: one with `KERAS_BACKEND=jax` and an
import hook that makes `import tensorflow` fail, as if it were not installed.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

BLOCK_TENSORFLOW = textwrap.dedent(
    """
    import importlib.abc
    import sys

    class _NoTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                raise ImportError(f"TensorFlow is blocked in this test: {name}")
            return None

    sys.meta_path.insert(0, _NoTensorFlow())
    """
)

CORE_UNDER_JAX = textwrap.dedent(
    """
    import json
    import sys

    import keras
    import numpy as np

    assert keras.backend.backend() == "jax", keras.backend.backend()
    import kerasext
    from kerasext import layers, losses, schedules
    from kerasext.callbacks import (
        CosineAnnealing, LRFinder, LearningCurveDiagnosis, OneCycle,
    )

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (4, 8, 8, 3)).astype("float32")
    labels = np.array([0, 1, 2, 1])
    mixed_images, mixed_labels = layers.Mixup(num_classes=3, seed=1)(images, labels)
    erased = layers.get_augmentation("cutout", cutout_size=3, seed=1)(images)
    loss = losses.FocalLoss()(np.eye(3)[labels], rng.uniform(0.1, 1, (4, 3)))
    lr = schedules.OneCycle(0.1, 10)(4)

    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
    history = model.fit(
        x, y, batch_size=8, epochs=2, verbose=0,
        callbacks=[OneCycle(max_lr=0.1), LearningCurveDiagnosis()],
    )
    CosineAnnealing(max_lr=0.1)
    LRFinder(steps=5)
    print(json.dumps({
        "tensorflow_imported": "tensorflow" in sys.modules,
        "mixed_shape": list(mixed_labels.shape),
        "erased_zeros": int(np.sum(np.asarray(erased) == 0)),
        "loss": float(loss),
        "lr": float(lr),
        "epochs": len(history.history["loss"]),
    }))
    """
)


def _run(code, **env):
    environment = dict(os.environ, **env)
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import jax"], capture_output=True).returncode,
    reason="jax is not installed",
)
def test_core_imports_and_runs_under_jax_without_tensorflow():
    out = _run(BLOCK_TENSORFLOW + CORE_UNDER_JAX, KERAS_BACKEND="jax")
    assert out["tensorflow_imported"] is False
    assert out["mixed_shape"] == [4, 3]
    # A 3x3 square per image (clipped where it hangs over the border), 3 channels.
    assert 0 < out["erased_zeros"] <= 4 * 3 * 3 * 3 and out["erased_zeros"] % 3 == 0
    assert out["loss"] > 0
    # OneCycle(0.1, 10) at step 4: on the way up from 0.1 / 25 to 0.1, below the peak.
    assert 0.1 / 25 < out["lr"] < 0.1
    assert out["epochs"] == 2


def test_import_kerasext_has_no_side_effects():
    code = textwrap.dedent(
        """
        import json, os, sys
        before_env = dict(os.environ)
        before_fd2 = os.fstat(2)
        import kerasext
        after_fd2 = os.fstat(2)
        print(json.dumps({
            "heavy": sorted(m for m in ("tensorflow", "keras", "jax", "matplotlib")
                            if m in sys.modules),
            "env_changed": sorted(set(os.environ.items()) ^ set(before_env.items())),
            "fd2_same": (before_fd2.st_ino, before_fd2.st_dev)
                        == (after_fd2.st_ino, after_fd2.st_dev),
            "version": kerasext.__version__,
        }))
        """
    )
    out = _run(code)
    assert out == {"heavy": [], "env_changed": [], "fd2_same": True, "version": "0.1.0"}


def test_plotting_does_not_switch_the_matplotlib_backend(tmp_path):
    code = BLOCK_TENSORFLOW + textwrap.dedent(
        f"""
        import json
        import matplotlib
        matplotlib.use("svg")
        import numpy as np
        from kerasext.plot import augmentation_grid, plot_history
        plot_history({{"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}}, {str(tmp_path / "h.png")!r})
        images = np.zeros((2, 4, 4, 3), "float32")
        augmentation_grid(images, images, {str(tmp_path / "g.png")!r})
        print(json.dumps({{"backend": matplotlib.get_backend()}}))
        """
    )
    out = _run(code, KERAS_BACKEND="jax")
    assert out["backend"] == "svg"
    for name in ("h.png", "g.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "h.png"]  # no temp left
