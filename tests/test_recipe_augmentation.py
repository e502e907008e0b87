"""recipes/augmentation.py: with/without table, preview grid."""

import json
import os

import pytest

from recipes import augmentation


def test_smoke_writes_comparison_and_preview(run_in, capsys):
    metrics = augmentation.main(["--epochs", "1", "--seeds", "2", "--augment", "cutout,flip", "--model-dir", "out"])
    files = set(os.listdir("out"))
    assert {"comparison.md", "preview.png", "preview_cutout.png", "variants.png", "metrics.json",
            "model.keras", "config.json", "curves.png"} <= files
    saved = json.load(open("out/metrics.json"))
    rows = saved["results"]["rows"]
    assert [r["variant"] for r in rows] == ["none", "cutout", "flip"] == [
        r["variant"] for r in metrics["results"]["rows"]]
    assert saved["results"]["seeds"] == [0, 1]
    for r in rows:  # the honest gap, per seed: clean training accuracy minus test accuracy
        assert all(0 <= a <= 1 for a in r["seeds"]["test_accuracy"]) and len(r["seeds"]["test_accuracy"]) == 2
        assert r["seeds"]["generalization_gap"] == pytest.approx(
            [t - a for t, a in zip(r["seeds"]["train_eval_accuracy"], r["seeds"]["test_accuracy"])])
    assert len({r["loss"] for r in rows}) == 3  # each variant trained on its own augmented batches
    cutout = rows[1]["seeds"]["test_accuracy"]
    assert rows[1]["effect_test_accuracy"] == pytest.approx(
        sum(c - n for c, n in zip(cutout, rows[0]["seeds"]["test_accuracy"])) / 2)
    judged = saved["results"]["judgments"]  # Cutout by test accuracy, flip by the gap; three-valued
    assert [j["label"] for j in judged] == ["cutout − none, test accuracy", "flip − none, train − test gap"]
    assert saved["results"]["verdict"] in ("agrees", "disagrees", "inconclusive")
    table = open("out/comparison.md").read()
    assert "| none |" in table and "| flip |" in table and "Verdict: **" in table and " ± " in table
    out = capsys.readouterr().out
    assert "test accuracy: " in out and "| cutout |" in out
