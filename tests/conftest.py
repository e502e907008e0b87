"""Shared fixtures: small data sets the tests make themselves, and recipe loading."""

import importlib
import os
import socket
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")


def load_recipe(name):
    """The recipe module `recipes.<name>` (recipes/ is a package, installed with kerasext)."""
    return importlib.import_module(f"recipes.{name}")


@pytest.fixture
def unique_npz(tmp_path):
    """An .npz of 300 distinct 6x6x1 uint8 images (3 classes, 100 each) whose pixel [0, 0, 0]
    and [0, 1, 0] encode the example's index, so every example can be identified in a split."""

    def make(n_per_class=100, n_classes=3, **overrides):
        n = n_per_class * n_classes
        index = np.arange(n)
        x = np.zeros((n, 6, 6, 1), np.uint8)
        x[:, 0, 0, 0] = index // 256
        x[:, 0, 1, 0] = index % 256
        arrays = {"x": x, "y": np.repeat(np.arange(n_classes), n_per_class).astype(np.uint8)}
        arrays.update(overrides)
        path = tmp_path / "unique.npz"
        np.savez(path, **arrays)
        return str(path)

    return make


def decode_index(images):
    """Inverts `unique_npz`'s encoding (images scaled to [0, 1] by the loader)."""
    pixels = np.rint(np.asarray(images) * 255).astype(np.int64)
    return pixels[:, 0, 0, 0] * 256 + pixels[:, 0, 1, 0]


@pytest.fixture
def image_folder(tmp_path):
    """A folder of class subfolders holding small PNGs: 3 classes x 12 images of 10x12 px."""
    from PIL import Image

    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    for c, name in enumerate(["cat", "dog", "fox"]):
        (root / name).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


@pytest.fixture
def offline(monkeypatch):
    """No network, whatever machine runs the tests: name lookups and connections fail."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def run_in(tmp_path, monkeypatch):
    """Runs from an empty folder, so default outputs (runs/...) land in tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIP_MODEL_DIR", raising=False)
    monkeypatch.delenv("AIP_TENSORBOARD_LOG_DIR", raising=False)
    return tmp_path


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


# Whole files of long checks (recipe runs at their test settings, killed and restarted runs,
# subprocesses per case): `make test-slow` runs them, `make test` (15-minute budget on 2 cores)
# does not. Measured here: the 12 recipe files took about 7 minutes of a 2-core run.
SLOW_FILES = {
    *(f"test_recipe_{name}.py" for name in (
        "augmentation", "batch_norm", "bias_variance", "compatibility", "cross_validation",
        "initialization", "losses", "optimizers", "regularization", "super_convergence", "train",
        "transfer_learning")),
    "test_reliability_runner.py", "test_reliability_cloud.py", "test_reliability_distribute.py",
    "test_reliability_sweep.py",
    # Measured in a fresh clone (`--durations`, loaded machine): these three took ~1,100 s of 2,165.
    "test_distributed_training.py", "test_preemption.py", "test_sweep_distributed.py",
    # The benchmarks' --quick smoke runs (`make bench` runs them for real): 86 s of `make test`
    # on 2026-12-01, when CI took 958 s against the 900 s budget.
    "test_benchmarks_smoke.py", "test_data_benchmarks.py",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
