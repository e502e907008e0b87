"""kerasext.runner.train_variants: the one path every comparison recipe trains its variants by."""

import csv
import functools
import os

import keras
import numpy as np
import pytest

from kerasext import runner  # first: TensorFlow's quiet start
from kerasext import models

ARGV = ["--epochs", "1", "--batch-size", "128"]


def parse(argv=()):
    return runner.parse_args(runner.make_parser("demo"), [*ARGV, *argv])


def mlp(args, started=None, **options):
    model = models.build_model("mlp", (8, 8, 1), 10, width=8, seed=args.seed, **options)
    if started is not None:
        started.append([w.copy() for w in model.get_weights()])
    return model


SGD = functools.partial(keras.optimizers.SGD, 0.1)


def test_variants_start_alike_and_differ_only_in_what_they_change():
    args, started = parse(), []
    variants = {"a": runner.Variant(optimizer=SGD), "b": runner.Variant(optimizer=SGD),
                "dropout": runner.Variant(model={"dropout": 0.5}, optimizer=SGD), "adam": runner.Variant()}
    results = runner.train_variants(args, variants, functools.partial(mlp, started=started), diagnose=True,
                                    train_eval=True, target=0.05)
    assert list(results) == list(variants)
    for weights in started[1:]:  # the same initial weights, whatever the dropout
        assert all(np.array_equal(x, y) for x, y in zip(started[0], weights))
    a, b = results["a"].metrics, results["b"].metrics
    assert results["a"].history == results["b"].history and a["test_accuracy"] == b["test_accuracy"]
    assert results["adam"].history["loss"] != results["a"].history["loss"]
    assert isinstance(results["adam"].model.optimizer, keras.optimizers.Adam)
    assert a["generalization_gap"] == pytest.approx(a["train_eval_accuracy"] - a["test_accuracy"])
    assert a["verdict"] in ("healthy", "overfitting", "underfitting") and a["epochs_to_target"] == 1


def test_a_shared_optimizer_or_an_unknown_checkpoint_is_refused():
    args = parse()
    with pytest.raises(ValueError, match="`optimizer` must be a function returning a new optimizer"):
        runner.train_variants(args, {"a": runner.Variant(optimizer=keras.optimizers.SGD())}, mlp)
    with pytest.raises(ValueError, match="`checkpoint` must name a variant"):
        runner.train_variants(args, {"a": runner.Variant()}, mlp, checkpoint="b")
    with pytest.raises(ValueError, match="Each variant must be a `Variant`"):
        runner.train_variants(args, {"a": {"optimizer": "sgd"}}, mlp)


def test_the_checkpointed_variant_trains_through_the_run(run_in):
    args = parse(["--model-dir", "out", "--checkpoint-every", "5"])
    runner.setup(args)
    run = runner.start_run(args)
    results = runner.train_variants(args, {"a": runner.Variant(optimizer=SGD), "b": runner.Variant()}, mlp,
                                    run=run, checkpoint="a")
    with open(run_in / "out" / "history.csv") as file:  # the run's curves are variant a's
        assert [float(row["loss"]) for row in csv.DictReader(file)] == results["a"].history["loss"]
    assert any(name.startswith("ckpt-") for name in os.listdir(run_in / "out" / "backup"))
