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


def test_each_seed_starts_every_variant_alike_and_seeds_differ(run_in):
    """`train_seeds`: per seed one start for all variants (paired), another start per seed; only the
    first seed's checkpoint variant trains through the run; a 0-epoch variant trains nothing."""
    parser = runner.make_parser("demo", comparison=True)
    args = runner.parse_args(parser, [*ARGV, "--seeds", "2", "--seed", "5", "--model-dir", "out"])
    runner.setup(args)
    run = runner.start_run(args)
    started = []

    def build(args, **options):
        model = mlp(args, **options)
        started.append((args.seed, [w.copy() for w in model.get_weights()]))
        return model

    def variants(args):
        return {"a": runner.Variant(optimizer=SGD), "none": runner.Variant(model={"dropout": 0.5}, epochs=0)}

    results = runner.train_seeds(args, variants, build, run=run, checkpoint="a",
                                 measure=lambda args, name, result: {"seed": args.seed})
    assert results.seeds == runner.seed_list(args) == [5, 6] and list(results.runs) == ["a", "none"]
    assert [m["seed"] for m in results.metrics("none")] == [5, 6]
    (seed_a, first), *rest = started
    for seed, weights in rest:
        same = all(np.array_equal(x, y) for x, y in zip(first, weights))
        assert same == (seed == seed_a), seed  # the same start within a seed, another across seeds
    assert results.metrics("none")[0]["epochs"] == 0 and results.runs["none"][0].history == {}
    with open(run_in / "out" / "history.csv") as file:  # the run records the first seed's variant a
        assert [float(row["loss"]) for row in csv.DictReader(file)] == results.runs["a"][0].history["loss"]
    assert results.first["a"].model is not None and results.runs["a"][1].model is None  # later seeds let go


def test_seeds_flag_only_on_comparisons_and_bounded(capsys):
    assert not hasattr(parse(), "seeds") and runner.seed_list(parse()) == [0]
    parser = runner.make_parser("demo", comparison=True)
    assert runner.parse_args(parser, []).seeds == runner.flags.DEFAULT_SEEDS >= 3
    assert runner.parse_args(runner.make_parser("demo", comparison=True, seeds=5), []).seeds == 5
    for argv, message in ((["--seeds", "0"], "argument --seeds: must be an integer >= 1"),
                          (["--seeds", "x"], "argument --seeds: must be an integer >= 1. Received: 'x'"),
                          (["--seeds", "101"], "must be an integer <= 100"),
                          (["--seed", str(2**32 - 1), "--seeds", "2"], "--seed + --seeds - 1 must be <=")):
        with pytest.raises(SystemExit):
            runner.parse_args(parser, argv)
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert message in line, line
    with pytest.raises(ValueError, match="the same names for every seed"):
        runner.train_seeds(runner.parse_args(parser, [*ARGV, "--seeds", "2"]),
                           lambda args: {f"v{args.seed}": runner.Variant(optimizer=SGD)}, mlp)
