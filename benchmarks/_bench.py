"""What every benchmark here shares: the CLI, the version header, the CIFAR-10 split, the
alternating timer and writing the markdown section.

Absolute times on a shared 2-core machine are noisy, so every figure a benchmark reports is
a ratio of two things timed in the same process, alternating (the order rotates each repeat),
with the median of the repeats.
"""

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from kerasext import runner  # noqa: E402,F401  (first: starts TensorFlow without its C++ log lines)
import kerasext  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

CIFAR = os.path.join(os.path.dirname(ROOT), "shared", "data", "cifar10_test.npz")


def parser(doc):
    """The CLI every benchmark shares: `[--quick] [--out FILE]`; add your own flags to it."""
    result = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=doc.split("\n\n", 1)[-1])
    result.add_argument("--quick", action="store_true", help="tiny settings: a smoke run in seconds")
    result.add_argument("--out", default=None, help="also write the markdown section to this file")
    return result


def synthetic_images(n, seed=0):
    """`n` random 32x32x3 float32 images and int32 labels 0-9: for timings that do not
    depend on the pixels."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, 32, 32, 3), dtype=np.float32),
            rng.integers(0, 10, n).astype(np.int32))


def add_block_flags(parser):
    """`--images`, `--rounds`, `--epochs` of the benchmarks that time `fit`s in blocks."""
    parser.add_argument("--images", type=int, default=None, help="images per epoch (default 8000)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="blocks per variant (default 3, 1 with --quick)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per block, the first not timed (default 3, 2 with --quick)")


def header(title, notes=()):
    """The section's title and the lines that say where its numbers come from."""
    try:
        import keras_cv  # noqa: F401  (optional; only its version is reported)

        cv = f"KerasCV {keras_cv.__version__}"
    except Exception:  # noqa: BLE001 - any import failure means "not installed"
        cv = "KerasCV not installed"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    lines = [
        f"## {title}",
        "",
        f"- kerasext {getattr(kerasext, '__version__', '?')}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, {cv}, "
        f"Python {platform.python_version()}",
        f"- os.cpu_count()={os.cpu_count()} (usable {usable}), load average at the end "
        f"{load_average()} (other processes share these cores)",
    ]
    return lines + [f"- {note}" for note in notes] + [""]


def load_average():
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def cifar_split(path=CIFAR, train=8000, validation=2000):
    """The benchmark split: a seeded shuffle (seed 0), first `train` rows, last `validation` rows.

    Returns:
        `(x_train, y_train, x_val, y_val)`: float32 images in [0, 1], int32 labels; or
        `None` when `path` does not exist (the shared data is not on every machine).
    """
    if not os.path.isfile(path):
        return None
    with np.load(path) as arrays:
        x, y = arrays["x"], arrays["y"]
    order = np.random.default_rng(0).permutation(len(y))
    x = x[order].astype(np.float32) / 255.0
    y = y[order].astype(np.int32)
    return x[:train], y[:train], x[len(y) - validation:], y[len(y) - validation:]


def no_cifar(path=CIFAR):
    return f"skipped: {path} is absent (the shared CIFAR-10 data is not on this machine)"


def alternate(runners, repeats):
    """Times each callable once per repeat, rotating the order; returns name -> [seconds]."""
    names = list(runners)
    samples = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            start = time.perf_counter()
            runners[name]()
            samples[name].append(time.perf_counter() - start)
    return samples


def verdict(value, target, at_most=True):
    met = value <= target if at_most else value >= target
    return "PASS" if met else "MISS"


def emit(lines, out):
    """Prints the section and, with `--out FILE`, writes it there too."""
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if out:
        folder = os.path.dirname(os.path.abspath(out))
        os.makedirs(folder, exist_ok=True)
        with open(out, "w") as handle:
            handle.write(text)
        print(f"wrote {out}")
    return text


class EpochTimer:
    """Times whole epochs of a model's `fit`s, every callback included.

    Put `timer.first` first and `timer.last` last in the callbacks given to `fit`.
    `timer.blocks[b][e]` is epoch `e` of the `b`-th `fit` (`block`), from the first callback's
    `on_epoch_begin` to the last callback's `on_epoch_end` (validation included), in wall
    seconds; `timer.cpu_blocks[b][e]` is the CPU seconds this process (all its threads: the
    training step's and `tf.data`'s) used in the same span. CPU time counts the work done,
    so another process taking the cores moves it far less than it moves wall time.
    """

    def __init__(self):
        self.blocks = []
        self.cpu_blocks = []
        timer = self

        class First(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                timer.blocks.append([])
                timer.cpu_blocks.append([])

            def on_epoch_begin(self, epoch, logs=None):
                timer._start = time.perf_counter()
                timer._cpu_start = time.process_time()

        class Last(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                timer.blocks[-1].append(time.perf_counter() - timer._start)
                timer.cpu_blocks[-1].append(time.process_time() - timer._cpu_start)

        self.first, self.last = First(), Last()

    def steady(self, cpu=False):
        """Epoch times (CPU seconds with `cpu=True`) of every block without its first epoch
        (tracing, rebuilds)."""
        blocks = self.cpu_blocks if cpu else self.blocks
        return [seconds for block in blocks for seconds in block[1:]]


def in_blocks(jobs, rounds):
    """Runs `jobs` (name -> callable training one block of epochs) `rounds` times, one at a
    time, the order rotating each round.

    One job at a time: contenders never run side by side, so one's `tf.data` prefetch cannot
    work ahead (and steal the cores) while another is timed, which is what made epochs
    handed between threads unreliable here. Rotating the order spreads slow load drift.
    """
    names = list(jobs)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            jobs[name]()


def repeat_ratios(samples, numerator, denominator):
    """Per repeat (each timed both, back to back): `samples[numerator] / samples[denominator]`."""
    return [a / b for a, b in zip(samples[numerator], samples[denominator])]


def block_ratios(timers, numerator, denominator, cpu=False):
    """Per round: median steady epoch of `numerator` / that of `denominator` (same round);
    wall seconds, or CPU seconds with `cpu=True`."""
    ratios = []
    attribute = "cpu_blocks" if cpu else "blocks"
    for a, b in zip(getattr(timers[numerator], attribute), getattr(timers[denominator], attribute)):
        if len(a) > 1 and len(b) > 1:
            ratios.append(statistics.median(a[1:]) / statistics.median(b[1:]))
    return ratios


def median_and_spread(values, digits=3, bare_single=False, thousands=False):
    """`"1.012 (0.990-1.040)"`: the median of per-round values and their min-max (`"never"`
    for inf; `"-"` for none; with `bare_single`, one value alone is printed bare; with
    `thousands`, `"2,301 (2,296-2,331)"`)."""
    if not values:
        return "-"
    comma = "," if thousands else ""
    text = lambda v: "never" if v == float("inf") else f"{v:{comma}.{digits}f}"  # noqa: E731
    median = statistics.median(values)
    if bare_single and len(values) == 1:
        return text(median)
    return f"{text(median)} ({text(min(values))}-{text(max(values))})"
