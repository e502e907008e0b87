"""Throughput of kerasext's augmentation layers against the nearest alternatives.

What it shows: images/second for `Cutout`, `Mixup`, `CutMix` and `MixupCutMix`
next to Keras' `RandomErasing`, `MixUp` and `CutMix` (and KerasCV's layers when
`keras_cv` imports), at batch 128 for 32x32x3 and 224x224x3 float32 images,
called inside a `tf.function` and inside a `tf.data` map, plus a bare
elementwise pass (`x * 1.0001`) over the same batch: the memory-bound floor.
Contenders are timed in rotating order within each repeat and the median of
the repeats is reported; tf.data timings have autotuning and the injected
prefetch switched off, so they time the map itself. Every contender gets float32 images and one-hot float
labels, so they do the same work.

Targets (from the issue): Cutout >= 3x RandomErasing, CutMix >= 2x Keras
CutMix, Mixup >= 1x Keras MixUp, and each of ours within 2x of the floor.

How to run (TensorFlow backend):

    python benchmarks/augment.py               # full run, ~1-2 minutes
    python benchmarks/augment.py --quick       # smoke run, well under a minute
    python benchmarks/augment.py --repeats 9 --out /tmp/augment.md
"""

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasext.layers import CutMix, Cutout, Mixup, MixupCutMix  # noqa: E402

import _bench  # noqa: E402  (beside this file)

try:  # KerasCV is optional.
    import keras_cv
except Exception as error:  # noqa: BLE001 - any import failure means "skip".
    keras_cv = None
    KERAS_CV_NOTE = f"KerasCV not importable ({type(error).__name__}: {error})"
else:
    KERAS_CV_NOTE = f"KerasCV {keras_cv.__version__}"

NUM_CLASSES = 10
# ours -> (the alternative, minimum speed-up of ours over it)
TARGETS = {
    "Cutout": ("keras.RandomErasing", 3.0),
    "CutMix": ("keras.CutMix", 2.0),
    "Mixup": ("keras.MixUp", 1.0),
}
FLOOR_LIMIT = 2.0  # ours must take at most this many times the bare pass


def contenders(size):
    """Name -> fn(images, onehot) -> outputs. Built once per size and mode."""
    side = size // 2  # Cutout: a square of a quarter of the image area
    fns = {
        "bare x*1.0001": lambda x, y: (x * 1.0001, y),
        "Cutout": _images_only(Cutout(side, seed=1)),
        "Mixup": _pair(Mixup(0.2, seed=1)),
        "CutMix": _pair(CutMix(1.0, seed=1)),
        "MixupCutMix": _pair(MixupCutMix(seed=1)),
        # A square patch of a quarter of the area, always applied, fill 0.
        "keras.RandomErasing": _images_only(
            keras.layers.RandomErasing(
                factor=1.0,
                scale=(0.25, 0.25),
                fill_value=0.0,
                value_range=(0, 1),
                seed=1,
            )
        ),
        "keras.MixUp": _dict(keras.layers.MixUp(0.2, seed=1)),
        "keras.CutMix": _dict(keras.layers.CutMix(1.0, seed=1)),
    }
    if keras_cv is not None:
        fns["keras_cv.RandomCutout"] = _images_only(
            keras_cv.layers.RandomCutout(0.5, 0.5, seed=1)
        )
        fns["keras_cv.MixUp"] = _dict(keras_cv.layers.MixUp(0.2))
        fns["keras_cv.CutMix"] = _dict(keras_cv.layers.CutMix())
    return fns


def _images_only(layer):
    return lambda x, y: (layer(x), y)


def _pair(layer):
    return lambda x, y: layer(x, y)


def _dict(layer):
    def fn(x, y):
        out = layer({"images": x, "labels": y})
        return out["images"], out["labels"]

    return fn


def graph_runner(fn, x, y):
    """A callable running `fn` once as a `tf.function` (traced and warm)."""
    graph = tf.function(fn)
    for _ in range(2):
        graph(x, y)
    return lambda: graph(x, y)  # CPU execution is synchronous


def pipeline_runner(fn, x, y):
    """A callable pulling one batch from `ds.map(fn)`.

    Autotuning and the prefetch tf.data injects by default are switched off:
    a prefetch buffer would fill up while the other contenders are timed
    and hide the map's cost. So this times the map itself, batch by batch.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.inject_prefetch = False
    ds = tf.data.Dataset.from_tensors((x, y)).repeat().map(fn)
    iterator = iter(ds.with_options(options))
    for _ in range(2):
        next(iterator)
    return lambda: next(iterator)


def seconds_per_call(run, calls):
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls


def measure(size, batch, repeats, quick):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((batch, size, size, 3), dtype=np.float32))
    labels = rng.integers(0, NUM_CLASSES, batch)
    y = tf.constant(np.eye(NUM_CLASSES, dtype=np.float32)[labels])
    # ~30 M elements (120 MB) per timing: 76 calls at 32x32, 3 at 224x224.
    calls = max(3, int(3e7 / (batch * size * size * 3)))
    if quick:
        calls = max(1, calls // 4)
    table, per_repeat = {}, {}
    for mode, make in (("tf.function", graph_runner), ("tf.data", pipeline_runner)):
        fns = contenders(size)
        names = list(fns)
        runners = {name: make(fns[name], x, y) for name in names}
        samples = {name: [] for name in names}
        for r in range(repeats):  # rotate the order: no contender always first
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                samples[name].append(seconds_per_call(runners[name], calls))
        for name in names:
            table[(size, mode, name)] = statistics.median(samples[name])
            per_repeat[(size, mode, name)] = samples[name]
    return table, per_repeat


def ratio_rows(table, sizes, samples):
    """Speed-up of ours vs the alternative and ours / floor, per setting, with the min-max
    over repeats of the same ratio."""
    rows = []
    for size in sizes:
        for mode in ("tf.function", "tf.data"):
            floor = table[(size, mode, "bare x*1.0001")]
            for ours in ("Cutout", "CutMix", "Mixup", "MixupCutMix"):
                t_ours = table[(size, mode, ours)]
                vs_floor = t_ours / floor
                row = {"size": size, "mode": mode, "ours": ours, "floor_x": vs_floor}
                floors = _bench.repeat_ratios(samples, (size, mode, ours), (size, mode, "bare x*1.0001"))
                row["floor_spread"] = (min(floors), max(floors))
                if ours in TARGETS:
                    other, target = TARGETS[ours]
                    speedup = table[(size, mode, other)] / t_ours
                    row.update(other=other, speedup=speedup, target=target)
                    ups = _bench.repeat_ratios(samples, (size, mode, other), (size, mode, ours))
                    row["speedup_spread"] = (min(ups), max(ups))
                    cv = other.replace("keras.", "keras_cv.").replace(
                        "RandomErasing", "RandomCutout"
                    )
                    if (size, mode, cv) in table:
                        row["speedup_cv"] = table[(size, mode, cv)] / t_ours
                rows.append(row)
    return rows


def render(table, rows, sizes, batch, repeats, args):
    lines = [
        "## Augmentation throughput",
        "",
        f"- TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"NumPy {np.__version__}, Python {platform.python_version()}",
        f"- CPU cores: os.cpu_count()={os.cpu_count()}, usable="
        f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}"
        f"; devices: {[d.device_type for d in tf.config.list_physical_devices()]}",
        f"- {KERAS_CV_NOTE}",
        f"- load average before/after: {args.load_before} / "
        f"{_load_average()} (other processes share these cores)",
        f"- batch {batch}, float32 images, median of {repeats} repeats"
        f"{' (--quick)' if args.quick else ''}",
        "",
        "### Images per second",
        "",
        "| image | mode | layer | images/s | ms/batch |",
        "|---|---|---|---:|---:|",
    ]
    for (size, mode, name), seconds in table.items():
        lines.append(
            f"| {size}x{size}x3 | {mode} | {name} | {batch / seconds:,.0f} "
            f"| {seconds * 1e3:.2f} |"
        )
    lines += [
        "",
        "### Ratios against the targets",
        "",
        "speed-up = alternative time / our time (higher is better); "
        f"x floor = our time / bare pass time (target <= {FLOOR_LIMIT}); "
        "each from the medians, (min-max) = the same ratio within each repeat.",
        "",
        "| image | mode | ours | vs | speed-up (spread) | target | met | "
        "vs KerasCV | x floor (spread) | met |",
        "|---|---|---|---|---:|---:|---|---:|---:|---|",
    ]
    for row in rows:
        speed = row.get("speedup")
        if speed is None:
            speed_text = target_text = met = "-"
        else:
            low, high = row["speedup_spread"]
            speed_text = f"{speed:.2f}x ({low:.2f}-{high:.2f})"
            target_text = f">= {row['target']:g}x"
            met = "yes" if speed >= row["target"] else "NO"
        cv = row.get("speedup_cv")
        cv_text = "-" if cv is None else f"{cv:.2f}x"
        floor_met = "yes" if row["floor_x"] <= FLOOR_LIMIT else "NO"
        lines.append(
            f"| {row['size']}x{row['size']}x3 | {row['mode']} | {row['ours']} "
            f"| {row.get('other', '-')} | {speed_text} | {target_text} | {met} "
            f"| {cv_text} | {row['floor_x']:.2f} ({row['floor_spread'][0]:.2f}-"
            f"{row['floor_spread'][1]:.2f}) | {floor_met} |"
        )
    return "\n".join(lines) + "\n"


def _load_average():
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="repeats per contender (default 7, 3 with --quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and calls: a smoke run"
    )
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 224])
    parser.add_argument(
        "--out",
        default=os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "augment_results.md"
        ),
    )
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 7)

    args.load_before = _load_average()
    table, per_repeat = {}, {}
    for size in args.sizes:
        medians, samples = measure(size, args.batch, repeats, args.quick)
        table.update(medians)
        per_repeat.update(samples)
    rows = ratio_rows(table, args.sizes, per_repeat)
    text = render(table, rows, args.sizes, args.batch, repeats, args)
    print(text)
    with open(args.out, "w") as handle:
        handle.write(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
