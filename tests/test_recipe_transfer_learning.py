"""recipes/transfer_learning.py: pretrain mode, transfer table, offline ImageNet."""

import json
import os
import socket

import pytest

from kerasext import runner
from recipes import transfer_learning


def test_smoke_pretrain_then_transfer_from_the_file(run_in):
    transfer_learning.main(["--mode", "pretrain", "--pretrain-epochs", "1", "--model-dir", "pre"])
    assert {"backbone.weights.h5", "metrics.json", "model.keras"} <= set(os.listdir("pre"))
    assert json.load(open("pre/metrics.json"))["results"]["source_test_accuracy"] > 0
    transfer_learning.main(["--epochs", "2", "--labels-per-class", "10", "--weights", "pre/backbone.weights.h5",
                            "--seeds", "2", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    assert [r["variant"] for r in saved["rows"]] == ["from scratch", "feature extraction", "fine-tuning"]
    assert all(0 <= a <= 1 for r in saved["rows"] for a in r["seeds"]["acc_10"])
    assert [j["treatment"] for j in saved["judgments"]] == ["feature extraction", "fine-tuning"]
    assert "| fine-tuning |" in open("out/comparison.md").read()


def test_one_epoch_fine_tunes_for_no_second_phase(run_in):
    metrics = transfer_learning.main(["--epochs", "1", "--labels-per-class", "10", "--pretrain-epochs", "1",
                                      "--seeds", "1", "--model-dir", "out"])
    assert "then 0 with the top" in " ".join(metrics["results"]["notes"])
    assert metrics["epochs_run"] == 0  # phase 2 has no epoch: the model is phase 1's, measured as it is


def test_offline_imagenet_is_one_line(run_in, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("KERAS_HOME", str(run_in / "keras_home"))  # no cached weights
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(transfer_learning.main, ["--base", "MobileNetV3Small", "--weights", "imagenet",
                                                "--image-size", "32", "--channels", "3", "--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1
    assert "ImageNet weights for MobileNetV3Small cannot be downloaded" in lines[0] and "--weights PATH" in lines[0]
    assert not os.path.exists("bad")
