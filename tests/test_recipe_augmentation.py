"""recipes/augmentation.py: with/without table, preview grid."""

import json
import os

import pytest

from recipes import augmentation


def test_smoke_writes_comparison_and_preview(run_in, capsys):
    metrics = augmentation.main(["--epochs", "1", "--augment", "cutout,mixup", "--model-dir", "out"])
    files = set(os.listdir("out"))
    assert {"comparison.md", "preview.png", "preview_cutout.png", "variants.png", "metrics.json",
            "model.keras", "config.json", "curves.png"} <= files
    saved = json.load(open("out/metrics.json"))
    rows = saved["results"]["rows"]
    assert [r["variant"] for r in rows] == ["none", "cutout", "mixup"] == [
        r["variant"] for r in metrics["results"]["rows"]]
    for r in rows:  # the honest gap: clean training accuracy minus test accuracy
        assert 0 <= r["test_accuracy"] <= 1
        assert r["generalization_gap"] == pytest.approx(r["train_eval_accuracy"] - r["test_accuracy"])
    assert len({r["loss"] for r in rows}) == 3  # each variant trained on its own augmented batches
    none = rows[0]
    both_helped = all(r["test_accuracy"] > none["test_accuracy"] for r in rows[1:])  # the claim: Cutout, Mixup
    assert saved["results"]["claim_holds"] is both_helped
    table = open("out/comparison.md").read()
    assert "| none |" in table and "| mixup |" in table and "guide's claim" in table
    out = capsys.readouterr().out
    assert "test accuracy: " in out and "| cutout |" in out
