"""Compatibility: every pair of a handful of techniques trained on one task; the matrix of
accuracy gain over the baseline, marking pairs that gain less than the sum of their parts.

The guide speaks of "technique compatibility matrices" and says combining batch norm,
dropout and advanced optimizers "can significantly improve your model". This recipe trains
the baseline CNN on a small training split (30%; the test split is 60%) with no technique,
with each technique alone, and with every pair, all from the same seeded initial weights and
batches, once per seed (`--seeds`, default 3), and writes the mean gain in test accuracy over
the baseline as a heatmap and a table (mean ± 95% CI over the seeds). Techniques: batch norm,
dropout, AdamW weight decay, Mixup, Cutout, label smoothing, one-cycle. A pair's interaction is
its gain minus the sum of its two parts' gains, per seed; a pair marked `*` is sub-additive
(the interval of its interaction is wholly below 0). It judges the claim by the best pair
against the baseline and against the best single technique (chosen by their means).

Run (defaults: digits, 3 seeds x (1 + 7 + 21) runs x 6 epochs, about 9 minutes on 2 cores):

    python recipes/compatibility.py
    python recipes/compatibility.py --techniques batch_norm,dropout,mixup --epochs 20
    python recipes/compatibility.py --dataset ../shared/data/cifar10_test.npz --split 0.5,0.1,0.4

It writes the runner's files for the first seed's last pair, `comparison.md` (the matrix and
every run), and `matrix.png` (the heatmap of mean gains).
"""

import functools
import itertools
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
from kerasext import callbacks, data, losses, models

DEFAULTS = dict(epochs=6, batch_size=64, split=(0.3, 0.1, 0.6))  # 12 epochs before --seeds (issue 16)
TECHNIQUES = ("batch_norm", "dropout", "adamw", "mixup", "cutout", "label_smoothing", "one_cycle")
LEARNING_RATE = 1e-3
CLAIM = "combining techniques (batch norm, dropout, advanced optimizers, ...) significantly improves a model"


def build_parser():
    parser = runner.make_parser("compatibility", __doc__, kfold=True, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("techniques")
    group.add_argument("--width", type=runner.flags.width, default=32,
                       help="filters of the CNN's first block, doubled each block (default 32)")
    group.add_argument("--techniques", default=",".join(TECHNIQUES), help=f"two or more of {','.join(TECHNIQUES)}")
    return parser


def check_args(args):
    names = list(dict.fromkeys(n.strip() for n in args.techniques.split(",") if n.strip()))
    unknown = [n for n in names if n not in TECHNIQUES]
    if len(names) < 2 or unknown:
        raise ValueError(f"`--techniques` takes two or more of {','.join(TECHNIQUES)}. Received: {args.techniques!r}")
    return names


def make_model(args, info, **options):
    """The baseline CNN; seeded, so every run starts from the same kernels."""
    return models.build_model("cnn", info.input_shape, info.num_classes, width=args.width, seed=args.seed, **options)


def technique_set(names, steps_per_epoch):
    """The variant of a set of techniques: model options, augmentations, loss, optimizer, callbacks."""
    optimizer = (functools.partial(keras.optimizers.AdamW, LEARNING_RATE, weight_decay=0.05) if "adamw" in names
                 else functools.partial(keras.optimizers.Adam, LEARNING_RATE))
    return runner.Variant(
        model={"batch_norm": "batch_norm" in names, "dropout": 0.3 if "dropout" in names else 0.0},
        augment=tuple(a for a in ("cutout", "mixup") if a in names),
        loss=losses.LabelSmoothingCrossEntropy(0.1 if "label_smoothing" in names else 0.0),  # int or soft labels
        optimizer=optimizer,
        callbacks=(callbacks.OneCycle(max_lr=3 * LEARNING_RATE, steps_per_epoch=steps_per_epoch),)
        if "one_cycle" in names else (),
    )


def variants(names, steps_per_epoch):
    """name -> the variant: no technique, each technique alone, every pair."""
    runs = [()] + [(a,) for a in names] + list(itertools.combinations(names, 2))
    return {" + ".join(combo) or "baseline": technique_set(combo, steps_per_epoch) for combo in runs}


def gain_matrix(names, table):
    """Mean gain over the baseline: a technique alone on the diagonal, each pair off it."""
    k = len(names)
    matrix = np.full((k, k), np.nan)
    for i, a in enumerate(names):
        matrix[i, i] = table.row(a)["gain"]
        for j in range(i + 1, k):
            matrix[i, j] = matrix[j, i] = table.row(f"{a} + {names[j]}")["gain"]
    return matrix


def matrix_markdown(names, matrix, table):
    lines = ["### Gain matrix (mean test accuracy points over the baseline; `*`: sub-additive, the pair's "
             "interaction wholly below 0)", "",
             "| | " + " | ".join(names) + " |", "|---" + "|---:" * len(names) + "|"]
    for i, a in enumerate(names):
        cells = []
        for j, b in enumerate(names):
            pair = f"{a} + {b}" if i < j else f"{b} + {a}"
            mark = "*" if i != j and table.row(pair)["sub_additive"] else ""
            cells.append(f"{matrix[i, j] * 100:+.1f}{mark}")
        lines.append(f"| **{a}** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def heatmap(names, matrix, path):
    figure = Figure(figsize=(1.0 * len(names) + 2.5, 0.9 * len(names) + 1.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    limit = np.nanmax(np.abs(matrix)) or 1.0
    image = axes.imshow(matrix, cmap="RdYlGn", vmin=-limit, vmax=limit)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    for i, j in itertools.product(range(len(names)), repeat=2):
        if not np.isnan(matrix[i, j]):
            axes.text(j, i, f"{matrix[i, j] * 100:+.1f}", ha="center", va="center", fontsize=8)
    figure.colorbar(image, ax=axes, label="test accuracy gain over baseline")
    axes.set_title("gain (points); diagonal: the technique alone")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def comparison(args, info, argv, results, names):
    """The table: one row per run (mean ± 95% CI over the seeds), its gain over the baseline and,
    for a pair, its interaction; the claim judged by the best pair."""
    table = runner.Comparison(
        f"Technique pairs on {info.name} ({info.split_sizes['train']} training examples, {args.epochs} epochs): "
        "test accuracy and gain over the baseline",
        [("test_accuracy", "test accuracy"), ("interaction", "interaction (pair − sum of parts)"),
         ("sub_additive", "sub-additive")],
        claim=CLAIM, recipe="compatibility", seeds=results.seeds,
        shows="every pair of 7 techniques: the matrix of accuracy gain over the baseline, sub-additive pairs marked",
        command=runner.command_line("compatibility", argv),
    )
    accuracy = {name: [m["test_accuracy"] for m in results.metrics(name)] for name in results.runs}
    for name in results.runs:
        combo = [] if name == "baseline" else name.split(" + ")
        runs = results.metrics(name)
        if len(combo) == 2:  # per seed: the pair's gain minus the sum of its parts' gains
            a, b, base = accuracy[combo[0]], accuracy[combo[1]], accuracy["baseline"]
            runs = [{**m, "interaction": m["test_accuracy"] - a[i] - b[i] + base[i]} for i, m in enumerate(runs)]
        row = table.add_seeds(name, runs)
        if len(combo) == 2:  # sub-additive: the interval of the interaction wholly below 0
            high = row["intervals"]["interaction"]["high"]
            row["sub_additive"] = high is not None and high < 0
    table.add_effect("test_accuracy", "baseline", header="gain over the baseline", key="gain")
    k = len(names)
    singles, pairs = [r["variant"] for r in table.rows[1:k + 1]], [r["variant"] for r in table.rows[k + 1:]]
    best_single = max(singles, key=lambda n: table.row(n)["test_accuracy"])
    best_pair = max(pairs, key=lambda n: table.row(n)["test_accuracy"])
    sub = sum(bool(table.row(p)["sub_additive"]) for p in pairs)
    table.note(f"The test split holds {info.split_sizes['test']} examples (one example = "
               f"{1 / info.split_sizes['test']:.4f}). {sub} of {len(pairs)} pairs are sub-additive (the 95% CI of "
               "their interaction is wholly below 0). The best single technique and the best pair are chosen by "
               "their mean test accuracy over the seeds.")
    table.judge("test_accuracy", "baseline", best_pair, label=f"best pair ({best_pair}) − baseline, test accuracy")
    table.judge("test_accuracy", best_single, best_pair,
                label=f"best pair ({best_pair}) − best single technique ({best_single}), test accuracy")
    return table, gain_matrix(names, table)


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    names = check_args(args)
    runner.setup(args)

    # Data: one-hot labels in every split (Mixup's are soft), so every run shares one loss
    _, validation, test, info = runner.load_one_hot(args)
    steps_per_epoch = math.ceil(info.split_sizes["train"] / args.batch_size)

    # Model
    build = functools.partial(make_model, info=info)
    with runner.scope(args):
        probe = build(args)
        probe.compile(optimizer="adam", loss=losses.LabelSmoothingCrossEntropy(0.0))
    data.check_targets(probe, test)  # before anything is written

    # Train with and without: per seed, no technique, each alone, every pair; the same kernels and batches
    run = runner.start_run(args)  # the first seed's last pair is the run's: checkpointed, resumable
    options = dict(num_classes=info.num_classes, cutout_size=0.3, mixup_alpha=0.2)  # Cutout(0.3), Mixup(0.2)
    results = runner.train_seeds(args, lambda seeded: variants(names, steps_per_epoch), build,
                                 data=runner.load_one_hot, run=run, augment_options=options)

    # Result
    table, matrix = comparison(args, info, argv, results, names)
    heatmap(names, matrix, run.path("matrix.png"))
    table.write(run.directory, extra_markdown=matrix_markdown(names, matrix, table))
    table.print()
    print(matrix_markdown(names, matrix, table))
    last = results.first[list(results.runs)[-1]]
    extra = {**table.to_dict(), "techniques": names, "gain_matrix": matrix.tolist()}
    return run.finish(last.model, last.history, test, info, extra=extra)


if __name__ == "__main__":
    runner.run_cli(main)
