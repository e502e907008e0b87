"""recipes/batch_norm.py: a CNN with and without BN across learning rates, steps counted every few
optimizer steps (kerasext.runner.steps)."""

import argparse
import json
import math
import os
import types

import numpy as np
import pytest
from scipy import stats as scipy_stats

from kerasext import runner  # first: TensorFlow's quiet start
import keras
from kerasext.runner import steps
from recipes import batch_norm

STEPS_PER_EPOCH = 23  # digits: 1437 training examples in batches of 64


class _Reference(keras.callbacks.Callback):
    """An independent count: batches seen (its own counter) and, every `every` of them, the
    accuracy of an eager forward pass."""

    def __init__(self, x, y, every):
        super().__init__()
        self.x, self.y, self.every, self.count, self.seen = x, y, every, 0, []

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1
        if self.count % self.every == 0:
            predicted = np.argmax(keras.ops.convert_to_numpy(self.model(self.x, training=False)), -1)
            self.seen.append((self.count, float(np.mean(predicted == self.y))))


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32")
    return x[:200], y[:200], x[200:], y[200:]  # 10 steps an epoch in batches of 20; 100 to evaluate


def _fit(callbacks, epochs=2):
    """A small classifier, the same initial weights and batches every call."""
    x, y, _, _ = _data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=20, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
    return model


def test_step_evaluation_counts_optimizer_steps_across_epochs():
    _, _, x, y = _data()
    evaluation = steps.StepEvaluation(x, y, every=3, batch_size=32)  # 100 examples: 4 batches
    reference = _Reference(x, y, every=3)
    model = _fit([evaluation, reference])  # 2 epochs of 10 steps: evaluations cross the epoch end
    assert evaluation.steps == [3, 6, 9, 12, 15, 18] == [step for step, _ in reference.seen]
    assert int(model.optimizer.iterations) == reference.count == 20
    assert evaluation.accuracy == pytest.approx([acc for _, acc in reference.seen], abs=0.011)  # one example
    assert evaluation.step_to_target is None and evaluation.best_accuracy == max(evaluation.accuracy)


def test_step_evaluation_stops_at_the_first_evaluation_that_reaches_the_target():
    _, _, x, y = _data()
    free = steps.StepEvaluation(x, y, every=2)  # the same run without a target: its accuracies
    _fit([free])
    target = max(free.accuracy)
    expected = next(step for step, acc in zip(free.steps, free.accuracy) if acc >= target)
    evaluation = steps.StepEvaluation(x, y, every=2, target=target, stop_at_target=True)
    model = _fit([evaluation])
    assert evaluation.step_to_target == expected == int(model.optimizer.iterations)  # stopped right there
    assert evaluation.steps == free.steps[:free.steps.index(expected) + 1] and evaluation.seconds_to_target >= 0
    assert steps.next_evaluation(20, 3) == 21 and steps.next_evaluation(21, 3) == 24


def test_step_evaluation_refuses_bad_arguments_and_takes_examples():
    with pytest.raises(ValueError, match="`every` must be an integer >= 1. Received: every=0"):
        steps.StepEvaluation(np.zeros((2, 1)), np.zeros(2), every=0)
    with pytest.raises(ValueError, match="`target` must be in"):
        steps.StepEvaluation(np.zeros((2, 1)), np.zeros(2), every=1, target=1.5)
    with pytest.raises(ValueError, match="same number"):
        steps.StepEvaluation(np.zeros((2, 1)), np.zeros(3), every=1)
    batches = [(np.full((4, 1), i), np.full(4, i)) for i in range(3)]
    x, y = steps.take_examples(batches, 6)
    assert x.shape == (6, 1) and y.tolist() == [0, 0, 0, 0, 1, 1]
    assert steps.take_examples(batches)[1].shape == (12,)


def test_both_networks_start_from_the_same_kernels():
    args = argparse.Namespace(width=8, depth=None, seed=3)
    info = types.SimpleNamespace(input_shape=(8, 8, 1), num_classes=10)
    plain, normed = (batch_norm.make_model(args, info, batch_norm=b) for b in (False, True))
    kernels = [[layer.kernel.numpy() for layer in m.layers if hasattr(layer, "kernel")] for m in (plain, normed)]
    assert len(kernels[0]) == len(kernels[1]) == 6  # two blocks of two convolutions, dense, softmax
    assert all(np.array_equal(a, b) for a, b in zip(*kernels))
    norms = [layer for layer in normed.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 5 and {layer.momentum for layer in norms} == {batch_norm.BN_MOMENTUM}


def test_the_verdicts_from_known_steps():
    # Without BN 140, 150, 130 steps at lr 0.01 (never at 0.1); with BN 10, 10, 12 at lr 0.1, 20 at 0.01.
    per_seed = {"without BN, lr 0.01": [140, 150, 130], "without BN, lr 0.1": [None] * 3,
                "with BN, lr 0.01": [20, 20, 20], "with BN, lr 0.1": [10, 10, 12]}
    results = types.SimpleNamespace(seeds=[0, 1, 2], metrics=lambda name: [
        {"steps_to_target": s, "seconds_to_target": None, "best_eval_accuracy": 0.9, "test_accuracy": 0.9}
        for s in per_seed[name]])
    args = argparse.Namespace(epochs=10, eval_every=5, width=32, target=0.95)
    info = types.SimpleNamespace(name="digits", input_shape=(8, 8, 1))
    table = batch_norm.comparison(args, info, [], results, [0.01, 0.1], STEPS_PER_EPOCH, 180, 2)
    speedup, highest = table.judgments
    logs = np.log(np.array([140, 150, 130]) / np.array([10, 10, 12]))
    half = scipy_stats.t.ppf(0.975, 2) * logs.std(ddof=1) / math.sqrt(3)
    assert speedup["effect"]["mean"] == pytest.approx(math.exp(logs.mean()))
    assert (speedup["effect"]["low"], speedup["effect"]["high"]) == pytest.approx(
        (math.exp(logs.mean() - half), math.exp(logs.mean() + half)))
    assert speedup["claimed"] == 14.0 and speedup["verdict"] == "agrees"  # 13.2x [8.6x, 20.1x]: holds 14, not 1
    assert highest["effect"]["mean"] == pytest.approx(10.0) and highest["verdict"] == "agrees"  # 0.1 / 0.01
    never = 235  # 10 epochs of 23 steps: the next evaluation after step 230
    assert table.row("with BN, lr 0.1")["seeds"]["steps_to_target"] == [10, 10, 12]
    assert table.row("with BN, lr 0.1")["effect_steps_to_target"] == pytest.approx(
        math.exp(np.mean(np.log(np.array([10, 10, 12]) / never))))


def test_smoke_steps_counted_every_few_steps(run_in):
    batch_norm.main(["--epochs", "2", "--seeds", "2", "--depth", "1", "--width", "4", "--learning-rates", "0.1",
                     "--target", "0.6", "--eval-every", "3", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    assert [(r["network"], r["learning_rate"]) for r in saved["rows"]] == [("without BN", 0.1), ("with BN", 0.1)]
    for row in saved["rows"]:
        for reached, trained in zip(row["seeds"]["steps_to_target"], row["seeds"]["steps_trained"]):
            if reached is None:  # the whole budget: 2 epochs
                assert trained == 2 * STEPS_PER_EPOCH
            else:  # counted at the evaluation granularity, and the run stopped at that very step
                assert reached % 3 == 0 and trained == reached
    speedup, highest = saved["judgments"]  # the 14x claim on the log scale; the highest rate tolerated
    assert speedup["ratio"] and speedup["claimed"] == 14.0 and saved["speedup"] == speedup["effect"]
    assert speedup["verdict"] in ("agrees", "disagrees", "inconclusive")
    assert highest["label"].startswith("highest learning rate")
    assert "| with BN, lr 0.1 |" in open("out/comparison.md").read()
    assert os.path.isfile("out/variants.png")
