"""Compatibility: every pair of a handful of techniques trained on one task; the matrix of
accuracy gain over the baseline, marking pairs that gain less than the sum of their parts.

The guide speaks of "technique compatibility matrices" and says combining batch norm,
dropout and advanced optimizers "can significantly improve your model". This recipe trains
the baseline CNN on a small training split (30%; the test split is 60%) with no technique,
with each technique alone, and with every pair, all from the same seeded initial weights and
batches, and writes the gain in test accuracy over the baseline as a heatmap and a table.
Techniques: batch norm, dropout, AdamW weight decay, Mixup, Cutout, label smoothing,
one-cycle. A pair marked `*` gained less than the sum of its two parts (sub-additive).

Run (defaults: digits, 1 + 7 + 21 runs x 12 epochs, about 3 minutes on 2 cores):

    python recipes/compatibility.py
    python recipes/compatibility.py --techniques batch_norm,dropout,mixup --epochs 20
    python recipes/compatibility.py --dataset ../shared/data/cifar10_test.npz --split 0.5,0.1,0.4

It writes the runner's files for the last pair, `comparison.md` (the matrix and every run),
and `matrix.png` (the heatmap).
"""

import itertools
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import kerasext  # noqa: F401  (first: starts TensorFlow without its C++ log lines)
import keras
from kerasext import callbacks, data, layers, losses, models, results, runner

DEFAULTS = dict(epochs=12, batch_size=64, split=(0.3, 0.1, 0.6))
TECHNIQUES = ("batch_norm", "dropout", "adamw", "mixup", "cutout", "label_smoothing", "one_cycle")
LEARNING_RATE = 1e-3
CLAIM = "combining techniques (batch norm, dropout, advanced optimizers, ...) significantly improves a model"


def build_parser():
    parser = runner.make_parser("compatibility", __doc__, **DEFAULTS)
    group = parser.add_argument_group("techniques")
    group.add_argument("--techniques", default=",".join(TECHNIQUES), help=f"two or more of {','.join(TECHNIQUES)}")
    return parser


def check_args(args):
    names = list(dict.fromkeys(n.strip() for n in args.techniques.split(",") if n.strip()))
    unknown = [n for n in names if n not in TECHNIQUES]
    if len(names) < 2 or unknown:
        raise ValueError(f"`--techniques` takes two or more of {','.join(TECHNIQUES)}. Received: {args.techniques!r}")
    return names


def recipe_for(names, num_classes, seed, steps_per_epoch):
    """Model options, augmentations, loss, optimizer factory and callbacks for a set of techniques."""
    options = {"batch_norm": "batch_norm" in names, "dropout": 0.3 if "dropout" in names else 0.0}
    augment = []
    if "cutout" in names:
        augment.append(layers.Cutout(0.3, seed=seed))
    if "mixup" in names:
        augment.append(layers.Mixup(0.2, num_classes=num_classes, seed=seed))
    loss = losses.LabelSmoothingCrossEntropy(0.1 if "label_smoothing" in names else 0.0)  # int or soft labels
    if "adamw" in names:
        optimizer = lambda: keras.optimizers.AdamW(LEARNING_RATE, weight_decay=0.05)  # noqa: E731
    else:
        optimizer = lambda: keras.optimizers.Adam(LEARNING_RATE)  # noqa: E731
    extra = [callbacks.OneCycle(max_lr=3 * LEARNING_RATE, steps_per_epoch=steps_per_epoch)] if "one_cycle" in names else []
    return options, augment, loss, optimizer, extra


def one_hot(dataset, num_classes):
    """One label form for every run (Mixup makes soft labels), so accuracy means the same."""
    if dataset.element_spec[1].shape.rank == 2:
        return dataset
    return dataset.map(lambda x, y: (x, keras.ops.one_hot(y, num_classes)))


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


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    names = check_args(args)
    runner.setup(args)
    _, validation, test, info = runner.load_data(args)
    n = info.num_classes
    steps_per_epoch = math.ceil(info.split_sizes["train"] / args.batch_size)
    validation, test = one_hot(validation, n), one_hot(test, n)
    strategy = runner.strategy(args)

    def build(options):  # the same seeds: every run starts from the same kernels
        with strategy.scope():
            return models.build_model("cnn", info.input_shape, n, seed=args.seed, **options)

    probe = build({})
    probe.compile(optimizer="adam", loss=losses.LabelSmoothingCrossEntropy(0.0))
    data.check_targets(probe, test)  # before anything is written

    run = runner.start_run(args)
    table = results.Comparison(
        f"Technique pairs on {info.name} ({info.split_sizes['train']} training examples, {args.epochs} epochs): "
        "test accuracy and gain over the baseline",
        [("test_accuracy", "test accuracy"), ("gain", "gain"), ("sum_of_parts", "sum of single gains"),
         ("sub_additive", "less than the sum")],
        claim=CLAIM, recipe="compatibility",
        shows="every pair of 7 techniques: the matrix of accuracy gain over the baseline, sub-additive pairs marked",
        command=results.command_line("compatibility", argv),
    )
    runs = [()] + [(a,) for a in names] + list(itertools.combinations(names, 2))
    accuracy = {}
    for index, combo in enumerate(runs):
        options, augment, loss, optimizer, extra = recipe_for(combo, n, args.seed, steps_per_epoch)
        model = build(options)
        train = one_hot(runner.load_data(args, augment=augment or None)[0], n)
        last = index == len(runs) - 1
        result = results.fit_variant(
            model, train, validation, epochs=args.epochs, optimizer=optimizer, loss=loss,
            strategy=strategy, test=test, seed=args.seed, callbacks=[*extra, *(run.callbacks() if last else [])])
        accuracy[combo] = result.metrics["test_accuracy"]
        gain = accuracy[combo] - accuracy[()]
        parts = sum(accuracy[(a,)] - accuracy[()] for a in combo) if len(combo) == 2 else None
        table.add(" + ".join(combo) or "baseline", test_accuracy=accuracy[combo], gain=gain if combo else None,
                  sum_of_parts=parts, sub_additive=(gain < parts - 1e-9) if parts is not None else None)

    k = len(names)
    matrix = np.full((k, k), np.nan)
    for i, a in enumerate(names):
        matrix[i, i] = accuracy[(a,)] - accuracy[()]
        for j in range(i + 1, k):
            matrix[i, j] = matrix[j, i] = accuracy[(a, names[j])] - accuracy[()]
    heatmap(names, matrix, run.path("matrix.png"))
    lines = ["### Gain matrix (test accuracy points over the baseline; `*`: less than the sum of the two alone)", "",
             "| | " + " | ".join(names) + " |", "|---" + "|---:" * k + "|"]
    for i, a in enumerate(names):
        cells = []
        for j, b in enumerate(names):
            mark = "*" if i != j and matrix[i, j] < matrix[i, i] + matrix[j, j] - 1e-9 else ""
            cells.append(f"{matrix[i, j] * 100:+.1f}{mark}")
        lines.append(f"| **{a}** | " + " | ".join(cells) + " |")
    singles = [r for r in table.rows[1:k + 1]]
    pairs = table.rows[k + 1:]
    best_single, best_pair = max(singles, key=lambda r: r["gain"]), max(pairs, key=lambda r: r["gain"])
    sub = sum(bool(r["sub_additive"]) for r in pairs)
    table.note(f"Baseline test accuracy {accuracy[()]:.4f} on {info.split_sizes['test']} test examples "
               f"(one example = {1 / info.split_sizes['test']:.4f}). {sub} of {len(pairs)} pairs gained less "
               "than the sum of their parts.")
    table.check_claim(best_pair["gain"] > max(best_single["gain"], 0), (
        f"the best single technique is {best_single['variant']} ({best_single['gain']:+.4f}), the best pair "
        f"{best_pair['variant']} ({best_pair['gain']:+.4f}); {sub} of {len(pairs)} pairs are sub-additive."))
    table.write(run.directory, extra_markdown="\n".join(lines))
    table.print()
    print("\n".join(lines))
    extra = {**table.to_dict(), "techniques": names, "gain_matrix": matrix.tolist()}
    return run.finish(model, result.history, test, info, extra=extra)


if __name__ == "__main__":
    runner.run_cli(main)
