"""Smoke tests of the data benchmarks at tiny sizes: they run, report the ratios and write `--out`."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT

BENCH = os.path.join(ROOT, "benchmarks")


def run(name, *argv, timeout=600):
    result = subprocess.run([sys.executable, os.path.join(BENCH, name), *argv],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_data_throughput_quick(tmp_path):
    out = tmp_path / "throughput.md"
    text = run("data_throughput.py", "--quick", "--images", "60", "--out", str(out))
    assert "Image-folder pipeline throughput" in out.read_text()
    for row in ("| kerasext `data.load(cache='none')` |", "| Keras `image_dataset_from_directory` |",
                "| Keras + augmentation (keras.io: parallel `ds.map`, not repeatable) |",
                "| Keras + augmentation (`ds.map`, sequential) |", ">= 0.9", ">= 1.5",
                "one-time set-up, not in images/s", "CPU ms / image", "Ratios against the targets"):
        assert row in text
    assert text.count("PASS") + text.count("MISS") == 3


@pytest.mark.slow  # two fresh train.py processes: about 90 s on 2 shared cores
def test_data_memory_quick(tmp_path):
    out = tmp_path / "memory.md"
    text = run("data_memory.py", "--quick", "--sizes", "100,200", "--out", str(out))
    assert "| 100 |" in text and "| 200 |" in text
    assert "Ratio of peak RSS, 200 / 100 images" in out.read_text()


def test_data_benchmarks_are_in_the_suite():
    sys.path.insert(0, BENCH)
    try:
        from run_all import SUITE
    finally:
        sys.path.remove(BENCH)
    assert {"data_throughput", "data_memory"} <= {name for name, _ in SUITE}
