"""recipes/transfer_learning.py: every method trains the same optimizer steps at every label budget
(counted by the optimizers themselves), one verdict per budget and an honest summary line,
pretrain mode, the `--epochs 1` fix, offline ImageNet, bad flags."""

import json
import math
import os
import socket

import keras
import numpy as np
import pytest
from scipy import stats as scipy_stats

from kerasext import data, runner
from kerasext.runner import variants as runner_variants
from recipes import transfer_learning

VERDICTS = {"agrees", "disagrees", "inconclusive"}


def test_pretrain_then_every_method_trains_the_same_optimizer_steps_at_every_budget(run_in, monkeypatch):
    transfer_learning.main(["--mode", "pretrain", "--pretrain-epochs", "1", "--model-dir", "pre"])
    assert {"backbone.weights.h5", "metrics.json", "model.keras"} <= set(os.listdir("pre"))
    assert json.load(open("pre/metrics.json"))["results"]["source_test_accuracy"] > 0

    counted = []  # each training's optimizer iterations, as its optimizer counted them, in order
    original = runner_variants.train_variant

    def spy(args, model, variant, **kwargs):
        result = original(args, model, variant, **kwargs)
        counted.append(int(keras.ops.convert_to_numpy(model.optimizer.iterations)))
        return result

    monkeypatch.setattr(runner_variants, "train_variant", spy)  # train_variants' calls
    monkeypatch.setattr(runner, "train_variant", spy)  # fine-tuning's phase 2
    metrics = transfer_learning.main(["--labels-per-class", "3,0", "--steps", "6", "--epochs", "3", "--seeds", "2",
                                      "--weights", "pre/backbone.weights.h5", "--model-dir", "out"])
    results = json.load(open("out/metrics.json"))["results"]  # budgets as JSON keys: "0", not 0
    assert [r["variant"] for r in results["rows"]] == ["from scratch", "feature extraction", "fine-tuning"]
    assert all(0 <= a <= 1 for r in results["rows"] for key in ("acc_3", "acc_0") for a in r["seeds"][key])
    assert "| fine-tuning |" in open("out/comparison.md").read()

    # Per seed and budget: from scratch, feature extraction, fine-tuning's two phases.
    assert len(counted) == 2 * 2 * 4
    for seed in range(2):
        for budget in range(2):
            start = seed * 8 + budget * 4
            scratch, features, frozen, unfrozen = counted[start:start + 4]
            # 3 labels per class (15 examples) and all of them (~715) alike: 6 steps each.
            assert scratch == features == frozen + unfrozen == 6, counted
            assert (frozen, unfrozen) == (2, 4)  # --epochs 3: 1 epoch frozen, 2 unfrozen, 2 steps each
    for row in results["rows"]:  # what the recipe recorded is what the optimizers counted
        assert row["seeds"]["steps_3"] == row["seeds"]["steps_0"] == [6, 6], row["variant"]
    assert results["optimizer_steps"]["fine-tuning"]["0"] == [counted[6] + counted[7], counted[14] + counted[15]]
    assert any("equal, as designed" in note for note in results["notes"])

    # One verdict per method and budget, and one per budget combining them.
    assert [(j["metric"], j["treatment"]) for j in results["judgments"]] == [
        ("acc_3", "feature extraction"), ("acc_3", "fine-tuning"),
        ("acc_0", "feature extraction"), ("acc_0", "fine-tuning")]
    rows = {r["variant"]: r for r in results["rows"]}
    for judgment in results["judgments"]:  # each the paired difference of the recorded accuracies
        treated, control = (rows[judgment[k]]["seeds"][judgment["metric"]] for k in ("treatment", "control"))
        assert judgment["control"] == "from scratch" and judgment["verdict"] in VERDICTS
        assert judgment["effect"]["mean"] == pytest.approx(np.mean(np.subtract(treated, control)), abs=1e-9)
    keys = list(results["verdicts"])  # one verdict per label budget, named by it
    assert len(keys) == 2 and keys[0] == "with 3 labels/class" and keys[1].startswith("with all labels (")
    for key, metric in zip(results["verdicts"], ("acc_3", "acc_0")):
        found = {j["verdict"] for j in results["judgments"] if j["metric"] == metric}
        expected = "disagrees" if "disagrees" in found else "agrees" if found == {"agrees"} else "inconclusive"
        assert results["verdicts"][key] == expected
    assert "with 3 labels/class, " in results["summary"] and "with all labels (" in results["summary"]
    assert results["summary"] in results["notes"]
    assert results["summary"] in open("out/comparison.md").read()

    # The run's model is the first seed's fine-tuned one at the last budget: its accuracy on the
    # target classes' test split, computed here from the data, is the recorded one.
    arrays = data.load_arrays("digits")
    test_index = data.stratified_split(arrays.y, (0.8, 0.1, 0.1), 0)[2]
    x, y = arrays.x[test_index], arrays.y[test_index]
    keep = y >= 5
    model = keras.saving.load_model("out/model.keras")
    predicted = model.predict(data.make_dataset(x[keep], y[keep] - 5, 64), verbose=0).argmax(-1)
    accuracy = float(np.mean(predicted == y[keep] - 5))
    assert accuracy == pytest.approx(rows["fine-tuning"]["seeds"]["acc_0"][0], abs=1e-6)
    assert accuracy == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)


def test_the_stream_gives_full_batches_in_a_new_order_each_pass():
    x, y = np.zeros((10, 2, 2, 1), np.uint8), np.arange(10)  # the labels name the examples
    train = transfer_learning.stream(x, y, batch_size=4, steps=5, seed=0)  # 20 examples an epoch: 2 passes
    epochs = [[labels.numpy() for _, labels in train] for _ in range(2)]
    assert int(train.cardinality()) == 5
    for batches in epochs:
        assert [len(b) for b in batches] == [4] * 5  # full batches across the passes' seams
        assert sorted(np.concatenate(batches)) == sorted(list(range(10)) * 2)  # each example twice
    assert not np.array_equal(np.concatenate(epochs[0]), np.concatenate(epochs[1]))  # a new order
    again = transfer_learning.stream(x, y, batch_size=4, steps=5, seed=0)  # the next method, same seed
    assert np.array_equal(np.concatenate([labels.numpy() for _, labels in again]), np.concatenate(epochs[0]))


def test_one_epoch_fine_tunes_for_no_second_phase(run_in):
    metrics = transfer_learning.main(["--epochs", "1", "--steps", "3", "--labels-per-class", "10",
                                      "--pretrain-epochs", "1", "--seeds", "1", "--model-dir", "out"])
    assert "then 0 with the top" in " ".join(metrics["results"]["notes"])
    assert metrics["epochs_run"] == 0  # phase 2 has no epoch: the model is phase 1's, measured as it is
    assert all(r["seeds"]["steps_10"] == [3] for r in metrics["results"]["rows"])  # all of them frozen
    assert metrics["results"]["verdicts"] == {"with 10 labels/class": "inconclusive"}  # one seed: no interval


def known_args():
    return runner.parse_args(transfer_learning.build_parser(), ["--seeds", "3", "--steps", "60", "--epochs", "3"])


def test_the_summary_says_where_transfer_helps_and_where_from_scratch_wins():
    scores = {  # per budget, per seed (0, 1, 2)
        "from scratch": {10: [0.40, 0.45, 0.50], 50: [0.90, 0.91, 0.93], 0: [0.99, 0.99, 1.00]},
        "feature extraction": {10: [0.80, 0.86, 0.90], 50: [0.95, 0.97, 0.98], 0: [0.95, 0.96, 0.96]},
        "fine-tuning": {10: [0.41, 0.47, 0.49], 50: [0.96, 0.96, 0.99], 0: [0.97, 0.975, 0.98]},
    }
    steps = {m: {b: [60] * 3 for b in (10, 50, 0)} for m in scores}
    names = {10: "10 labels/class", 50: "50 labels/class", 0: "all labels (143/class)"}
    table = transfer_learning.comparison(known_args(), [], scores, steps, names, [], [0, 1, 2])
    line, verdicts = transfer_learning.summarize(table, names)

    def interval(treated, control):  # the paired difference's mean and 95% half-width, by hand
        d = np.subtract(treated, control)
        return d.mean(), scipy_stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))

    mean, half = interval(scores["feature extraction"][10], scores["from scratch"][10])  # +0.4033 ± 0.0143
    assert (f"with 10 labels/class, feature extraction helps ({mean:+.4f} ± {half:.4f}), "
            "fine-tuning inconclusive (") in line
    assert "with 50 labels/class, transfer helps (feature extraction +" in line
    mean, half = interval(scores["fine-tuning"][0], scores["from scratch"][0])
    assert "with all labels (143/class), from scratch better than both (" in line
    assert f"fine-tuning {mean:+.4f} ± {half:.4f})" in line
    assert verdicts == {"with 10 labels/class": "inconclusive", "with 50 labels/class": "agrees",
                        "with all labels (143/class)": "disagrees"}
    assert table.verdict == "disagrees"  # the claim as a whole: transfer is worse with all labels
    assert line in table.notes


def test_unequal_steps_are_said_to_be_unequal():
    steps = {"from scratch": {10: [6, 6]}, "feature extraction": {10: [6, 6]}, "fine-tuning": {10: [6, 7]}}
    note = transfer_learning.steps_note(runner.parse_args(transfer_learning.build_parser(), ["--steps", "6",
                                                                                           "--epochs", "3"]), steps)
    assert "fine-tuning 6/7" in note and "NOT all equal to --steps 6" in note


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
