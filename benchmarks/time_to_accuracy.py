"""Time to accuracy on CIFAR-10: a plain-Keras baseline against kerasext's best recipe.

The split is the shared benchmark split: a seeded shuffle (seed 0) of
`../shared/data/cifar10_test.npz`, the first 8,000 images to train, the last 2,000 to validate.

- Baseline, plain Keras, written here: 5 blocks of conv-BN-ReLU-maxpool (32, 64, 128, 256, 256
  filters), a softmax dense layer, Adam at 1e-3 fixed, batch 128, no augmentation.
- Recipe: `recipes/train.py` with `RECIPE_FLAGS` below (the fastnet model from
  `kerasext.models`, SGD-Nesterov under the OneCycle callback, label smoothing, flip and
  translation), built with that recipe's own functions, so
  `python recipes/train.py <RECIPE_FLAGS> --dataset ../shared/data/cifar10_test.npz` trains
  the same model (on the recipe's stratified three-way split, not this one).
- Variants (`VARIANTS`): the recipe with one change, in the same rounds, so the table says
  what that change buys: `--whiten` (airbench's frozen whitening stem: faster early, lower at
  epoch 10 in the 2026-12-01 runs, so not the recipe's default), `--width 64` (what 1.8x the
  convolutions' multiply-adds buy) and plain cross-entropy (what label smoothing buys).

Every contender trains in this one process, one after the other, each in one 10-epoch `fit`,
in rounds: round r trains all of them from seed r, the order rotating each round, and every
figure is the median over rounds with the min-max beside it. Each clock counts its own
training and validation. (Epochs handed between two `fit`s
in threads gave erratic epoch times here, 0.2x to 3.5x of each other; most likely the waiting
model's `tf.data` prefetch kept working on the shared cores.) The baseline validates in
`fit`; the recipe validates after each epoch with two predictions, on the images and on
their mirror images: the first gives its plain accuracy, their mean the flip test-time
augmentation (TTA) accuracy, reported in its own columns with its own clock (the plain
clock leaves out the mirror prediction).

Targets (issue 17; 0.70 in issue 9), on the medians over rounds: the recipe reaches >= 0.75
validation accuracy at epoch 10, and reaches the (same round's) baseline's final validation
accuracy in <= 1/3 of the baseline's wall time.

Run:

    python benchmarks/time_to_accuracy.py                    # ~1 hour on 2 cores (5 contenders x 3 rounds); writes docs/time_to_accuracy.png
    python benchmarks/time_to_accuracy.py --rounds 1 --recipe "<flags>"   # one recipe, one seed
    python benchmarks/time_to_accuracy.py --out /tmp/tta.md  # also writes the markdown section there
    python benchmarks/time_to_accuracy.py --quick            # smoke run: 512 images, 2 epochs, no figure
"""

import importlib
import os
import shlex
import time

import _bench
from _bench import keras, np, tf

RECIPE_FLAGS = (
    "--model fastnet --width 48 --batch-size 128 --epochs 10 "
    "--augment flip,translate --translate-factor 0.0625 "
    "--optimizer nesterov --schedule onecycle --learning-rate 1.0 --weight-decay 5e-4 "
    "--loss label_smoothing --label-smoothing 0.2"
)


def _changed(old, new):
    """RECIPE_FLAGS with `old` replaced by `new` (an error, not a silent copy, if it lost `old`)."""
    if old not in RECIPE_FLAGS:
        raise ValueError(f"RECIPE_FLAGS has no {old!r}. Received: RECIPE_FLAGS={RECIPE_FLAGS!r}")
    return RECIPE_FLAGS.replace(old, new)


# The recipe with one change: what that change buys.
VARIANTS = {
    "recipe with --whiten": RECIPE_FLAGS + " --whiten",
    "recipe with --width 64": _changed("--width 48", "--width 64"),
    "recipe without label smoothing": _changed(
        "--loss label_smoothing --label-smoothing 0.2", "--loss crossentropy"),
}
BASELINE_FILTERS = (32, 64, 128, 256, 256)
TARGET_ACCURACY = 0.75
TARGET_TIME_FRACTION = 1 / 3
PLOT = os.path.join(_bench.ROOT, "docs", "time_to_accuracy.png")


def load_train_recipe():
    """`recipes/train.py` as a module (the recipes package is installed with kerasext)."""
    return importlib.import_module("recipes.train")


def baseline(x_train, y_train, x_val, y_val, epochs, filters=BASELINE_FILTERS, seed=0):
    """The plain-Keras baseline: model, compile, pipelines. Returns (model, train, val, fit kwargs)."""
    inputs = keras.Input(x_train.shape[1:])
    x = inputs
    for width in filters:
        x = keras.layers.Conv2D(width, 3, padding="same")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x), name="baseline")
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    train = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(
        len(x_train), seed=seed).batch(128).prefetch(tf.data.AUTOTUNE)
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(128).cache()
    return model, train, val, []


def with_epochs(flags, epochs):
    """`flags` with its `--epochs` set to `epochs` (what the recipe trains; the table shows it)."""
    words = shlex.split(flags)
    if "--epochs" in words:
        words[words.index("--epochs") + 1] = str(epochs)
    else:
        words += ["--epochs", str(epochs)]
    return shlex.join(words)


def recipe(x_train, y_train, x_val, y_val, epochs, flags):
    """kerasext's recipe, built by `recipes/train.py`'s own functions from `flags`."""
    from kerasext import data, models

    train_py = load_train_recipe()
    args = train_py.build_parser().parse_args(shlex.split(with_epochs(flags, epochs)))
    train_py.check_args(args)
    names = train_py.parse_augment(args.augment)
    keras.utils.set_random_seed(args.seed)
    augment = train_py.make_augmentations(names, args, num_classes=10)
    train = data.make_dataset(x_train, y_train, args.batch_size, shuffle=True, seed=args.seed,
                              augment=augment)
    val = data.make_dataset(x_val, y_val, 128)
    steps = -(-len(x_train) // args.batch_size)
    model = models.build_model(args.model, x_train.shape[1:], 10, width=args.width,
                               depth=args.depth, seed=args.seed,
                               whiten=x_train[:train_py.WHITEN_IMAGES] if args.whiten else None)
    model.compile(optimizer=train_py.make_optimizer(args, steps), loss=train_py.make_loss(args, False),
                  metrics=["accuracy"])
    return model, train, val, train_py.make_callbacks(args, steps)


class Clocked(keras.callbacks.Callback):
    """Records (epoch, seconds so far, val accuracy, flip-TTA accuracy or None, seconds so far
    with TTA) per epoch. The plain clock leaves out the mirror-image prediction, which only
    the TTA accuracy needs; the TTA clock includes it."""

    def __init__(self, x_val=None, y_val=None):
        super().__init__()
        self.x_val, self.y_val = x_val, y_val
        self.rows = []
        self.seconds = self.tta_seconds = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._since = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        mirror_seconds = 0.0
        if self.x_val is None:  # validated by `fit`
            accuracy, tta = float(logs["val_accuracy"]), None
        else:  # plain, and flip test-time augmentation: the mean of two predictions
            plain = self.model.predict(self.x_val, batch_size=500, verbose=0)
            start = time.perf_counter()
            mirror = self.model.predict(self.x_val[:, :, ::-1], batch_size=500, verbose=0)
            mirror_seconds = time.perf_counter() - start
            accuracy = float(np.mean(plain.argmax(-1) == self.y_val))
            tta = float(np.mean((plain + mirror).argmax(-1) == self.y_val))
        total = time.perf_counter() - self._since
        self.seconds += total - mirror_seconds
        self.tta_seconds += total
        self.rows.append((epoch + 1, self.seconds, accuracy, tta, self.tta_seconds))


def race(contenders, epochs, order):
    """Trains each contender for `epochs`, one after the other in `order`; returns name -> Clocked."""
    clocks = {}
    for name in order:
        model, train, val, callbacks, tta = contenders[name]
        clock = clocks[name] = Clocked(*tta)
        model.fit(train, shuffle=False, validation_data=val if clock.x_val is None else None,
                  epochs=epochs, verbose=0, callbacks=[*callbacks, clock])
    return clocks


def first_reaching(rows, accuracy, column=2):
    """(epoch, seconds) of the first epoch whose accuracy >= `accuracy`, else None (the TTA
    column is timed by the TTA clock)."""
    for row in rows:
        if row[column] is not None and row[column] >= accuracy:
            return row[0], row[4] if column == 3 else row[1]
    return None


def time_fraction(rows, baseline_rows, column=2):
    """(epoch, seconds / the baseline's seconds) where `rows` first reach the baseline's final
    accuracy, or (None, inf) if they never do."""
    hit = first_reaching(rows, baseline_rows[-1][2], column)
    return (None, float("inf")) if hit is None else (hit[0], hit[1] / baseline_rows[-1][1])


def spread(values, digits=3):
    """`"0.713 (0.701-0.720)"`: median and min-max over rounds; one round alone, bare."""
    return _bench.median_and_spread(values, digits, bare_single=True)


def median_curve(rounds, column):
    """Per epoch, the median over rounds of `column` (a Clocked row field)."""
    return [float(np.median([rows[e][column] for rows in rounds])) for e in range(len(rounds[0]))]


def plot(curves, path, quick, baseline_final, rounds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, runs in curves.items():
        seconds, acc = median_curve(runs, 1), median_curve(runs, 2)
        epochs = range(1, len(acc) + 1)
        axes[0].plot(seconds, acc, "o-", label=name)
        axes[1].plot(epochs, acc, "o-", label=name)
    for ax, xlabel in zip(axes, ("wall seconds (training + validation)", "epoch")):
        ax.axhline(TARGET_ACCURACY, color="gray", linestyle=":", linewidth=1)
        ax.axhline(baseline_final, color="tab:blue", linestyle=":", linewidth=1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("validation accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("CIFAR-10, 8,000 train / 2,000 validation" + (" (--quick)" if quick else "")
                 + f", {os.cpu_count()} CPU cores, median of {rounds} seeds")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    parser = _bench.parser(__doc__)
    parser.add_argument("--epochs", type=int, default=None, help="default 10 (2 with --quick)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds, round r with seed r for every contender (default 3, 1 with --quick)")
    parser.add_argument("--recipe", default=RECIPE_FLAGS, help="recipes/train.py flags for the recipe")
    parser.add_argument("--variant", action="append", default=None, metavar="NAME=FLAGS",
                        help="another contender (repeatable); default: the VARIANTS below, none "
                             "with --recipe or --quick")
    parser.add_argument("--plot", default=None,
                        help=f"figure path (default {os.path.relpath(PLOT, _bench.ROOT)}; none with --quick)")
    args = parser.parse_args()
    split = _bench.cifar_split()
    title = "Time to accuracy on CIFAR-10"
    if split is None:
        return _bench.emit(_bench.header(title) + [_bench.no_cifar()], args.out)
    x_train, y_train, x_val, y_val = split
    epochs = args.epochs or (2 if args.quick else 10)
    n_rounds = args.rounds or (1 if args.quick else 3)
    if args.variant is not None:
        variants = dict(v.split("=", 1) for v in args.variant)
    else:
        variants = {} if args.quick or args.recipe != RECIPE_FLAGS else dict(VARIANTS)
    flags = {"recipe": args.recipe, **variants}
    if args.quick:  # a smoke run: little data, narrow recipe models
        x_train, y_train, x_val, y_val = x_train[:512], y_train[:512], x_val[:256], y_val[:256]
        flags = {name: f + " --width 16" for name, f in flags.items()}
    names = ["baseline", *flags]
    runs = {name: [] for name in names}  # name -> one Clocked.rows per round
    for r in range(n_rounds):
        keras.utils.set_random_seed(r)
        contenders = {"baseline": (*baseline(x_train, y_train, x_val, y_val, epochs, seed=r), ())}
        for name, f in flags.items():
            contenders[name] = (*recipe(x_train, y_train, x_val, y_val, epochs, f"{f} --seed {r}"),
                                (x_val, y_val))
        order = names[r % len(names):] + names[: r % len(names)]
        for name, clock in race(contenders, epochs, order).items():
            runs[name].append(clock.rows)
        del contenders
        keras.backend.clear_session()

    base_runs = runs["baseline"]
    b_final = [rows[-1][2] for rows in base_runs]
    lines = _bench.header(title, [
        f"split: seeded shuffle (seed 0) of cifar10_test.npz, {len(x_train):,} train / "
        f"{len(x_val):,} validation, {epochs} epochs" + (" (--quick)" if args.quick else ""),
        "baseline: plain Keras, 5 x conv-BN-ReLU-maxpool "
        f"{BASELINE_FILTERS}, Adam 1e-3 fixed, batch 128, no augmentation",
        f"recipe: `python recipes/train.py {with_epochs(flags['recipe'], epochs)}`; flip TTA = mean of the "
        "predictions on the image and its mirror (the recipe's clock leaves out the mirror "
        "prediction, the TTA clock includes it)",
        *[f"{name}: `{with_epochs(f, epochs)}`" for name, f in flags.items() if name != "recipe"],
        f"{n_rounds} round(s); round r trains every contender from seed r (weights, shuffling, "
        "augmentation draws), one `fit` each, one at a time, the order rotating each round; "
        "seconds count each model's training + validation [+ TTA] from its first epoch's start; "
        "every figure is the median over rounds, (min-max) where there are several",
    ])
    lines += [f"### Median learning curves (over {n_rounds} round(s))", "",
              "| epoch | baseline s | baseline val acc | recipe s | recipe val acc "
              "| recipe + flip TTA s | recipe + flip TTA val acc |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    curves = [median_curve(base_runs, 1), median_curve(base_runs, 2)] + [
        median_curve(runs["recipe"], c) for c in (1, 2, 4, 3)]
    for e in range(epochs):
        b_s, b_a, r_s, r_a, t_s, t_a = (c[e] for c in curves)
        lines.append(f"| {e + 1} | {b_s:.1f} | {b_a:.3f} | {r_s:.1f} | {r_a:.3f} | {t_s:.1f} | {t_a:.3f} |")

    lines += ["", "### What each contender reached", "",
              "time fraction = seconds to first reach the same round's baseline final accuracy / "
              "the baseline's seconds for all its epochs", "",
              "| contender | final val acc | + flip TTA | epoch reaching the baseline's final "
              "| time fraction | + flip TTA time fraction | median epoch s |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    summary = {}
    for name in names:
        rows_list = runs[name]
        finals = [rows[-1][2] for rows in rows_list]
        epoch_s = [float(np.median(np.diff([0.0] + [row[1] for row in rows])[1:] if len(rows) > 1
                                   else [rows[0][1]])) for rows in rows_list]
        if name == "baseline":
            lines.append(f"| baseline | {spread(finals)} | - | - | 1 | - | {spread(epoch_s, 1)} |")
            continue
        tta = [rows[-1][3] for rows in rows_list]
        hits = [time_fraction(rows, base) for rows, base in zip(rows_list, base_runs)]
        tta_hits = [time_fraction(rows, base, 3) for rows, base in zip(rows_list, base_runs)]
        reached = [h[0] for h in hits if h[0] is not None]
        summary[name] = (finals, tta, [h[1] for h in hits], [h[1] for h in tta_hits])
        lines.append(f"| {name} | {spread(finals)} | {spread(tta)} "
                     f"| {spread(reached, 0) if reached else 'never'} "
                     f"| {spread(summary[name][2], 2)} | {spread(summary[name][3], 2)} "
                     f"| {spread(epoch_s, 1)} |")

    finals, tta, fractions, tta_fractions = summary["recipe"]
    lines += ["", "| target (median over rounds) | measured | met |", "|---|---|---|"]
    for label, values in (("recipe", finals), ("recipe + flip TTA", tta)):
        lines.append(f"| {label}: >= {TARGET_ACCURACY:.2f} val acc at epoch {epochs} "
                     f"| {spread(values)} "
                     f"| {_bench.verdict(float(np.median(values)), TARGET_ACCURACY, at_most=False)} |")
    for label, values in (("recipe", fractions), ("recipe + flip TTA", tta_fractions)):
        lines.append(f"| {label}: reaches the baseline's final {spread(b_final)} in <= 1/3 of "
                     f"its time | {spread(values, 2)} "
                     f"| {_bench.verdict(float(np.median(values)), TARGET_TIME_FRACTION)} |")
    lines += ["", "Per round (seed: baseline final; each contender's final, time fraction): " + "; ".join(
        f"{r}: {b_final[r]:.3f}; " + ", ".join(
            f"{name} {summary[name][0][r]:.3f}, {spread([summary[name][2][r]], 2)}"
            for name in flags) for r in range(n_rounds))]
    path = args.plot or (None if args.quick else PLOT)
    if path:
        plot(runs, path, args.quick, float(np.median(b_final)), n_rounds)
        lines += ["", f"Learning curves: `{os.path.relpath(path, _bench.ROOT)}` (medians over rounds; "
                  f"dotted: the {TARGET_ACCURACY:.2f} target and the baseline's median final accuracy)"]
    _bench.emit(lines, args.out)


if __name__ == "__main__":
    main()
