"""Scaling, CPU honesty: MirroredStrategy over 2 logical CPU devices against 1 device.

What it shows: the CIFAR recipe's model (`fastnet`, width 48, SGD-Nesterov) on 8,000
synthetic 32x32x3 images at a global batch of 128, trained once under the default strategy
(one device) and once under `tf.distribute.MirroredStrategy` over two logical CPU devices made
with `tf.config.set_logical_device_configuration` (each replica gets 64 images per step and
the gradients are all-reduced). Epochs alternate between the two (one `fit(epochs=1)` each,
the order swapping every repeat) after a warm-up epoch each; the ratio is the median over
repeats of (2-device epoch / 1-device epoch). No target: both logical devices share the same
2 physical cores (and TensorFlow already uses both cores inside each op), so on CPU this
measures the strategy's cost, not a speed-up.

Run:

    python benchmarks/scaling.py                   # ~2 minutes on 2 shared cores
    python benchmarks/scaling.py --out /tmp/scaling.md
    python benchmarks/scaling.py --quick           # smoke run, seconds
"""

import os
import statistics

import _bench
from _bench import keras, tf

GPU_NOTE = (
    "On GPUs, MirroredStrategy gives each GPU its own slice of every batch, so with N GPUs "
    "and a per-GPU batch that keeps each busy expect close to N times the images per second, "
    "less the time to all-reduce the gradients (smaller over NVLink than over PCIe); this "
    "was not measured here: the numbers above are CPU-only and say nothing about GPUs."
)


def make_logical_cpus(count=2):
    """Splits the CPU into `count` logical devices; must run before TensorFlow starts its devices."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def main():
    parser = _bench.parser(__doc__)
    parser.add_argument("--images", type=int, default=None, help="images per epoch (default 8000)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed epochs per setting (default 5, 2 with --quick)")
    args = parser.parse_args()
    devices = make_logical_cpus(2)
    from kerasext import models

    images = args.images or (512 if args.quick else 8000)
    repeats = args.repeats or (2 if args.quick else 5)
    width, batch = (8 if args.quick else 48), 128
    x, y = _bench.synthetic_images(images)
    settings = {
        "1 device (default strategy)": tf.distribute.get_strategy(),
        f"MirroredStrategy, {len(devices)} logical CPUs": tf.distribute.MirroredStrategy(devices),
    }
    runners = {}
    for name, strategy in settings.items():
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = models.build_model("fastnet", (32, 32, 3), 10, width=width, seed=0)
            model.compile(keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                          "sparse_categorical_crossentropy", metrics=["accuracy"])
        train = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).prefetch(tf.data.AUTOTUNE)
        model.fit(train, epochs=1, verbose=0, shuffle=False)  # warm-up: tracing
        runners[name] = lambda model=model, train=train: model.fit(train, epochs=1, verbose=0, shuffle=False)
    samples = _bench.alternate(runners, repeats)
    one, two = list(settings)
    lines = _bench.header("Scaling: MirroredStrategy over 2 logical CPU devices vs 1", [
        f"logical devices: {', '.join(devices)} (one physical CPU, {os.cpu_count()} cores)",
        f"fastnet width {width}, global batch {batch}, {images:,} synthetic 32x32x3 images per "
        f"epoch; {repeats} timed epochs per setting after a warm-up epoch"
        + (" (--quick)" if args.quick else ""),
        "one process; epochs alternate, the order swapping each repeat; "
        "ratio = median over repeats of (setting epoch / 1-device epoch), (min-max of the repeats)",
    ])
    lines += ["| setting | median epoch s (min-max) | images/s | ratio vs 1 device (spread) |",
              "|---|---:|---:|---:|"]
    for name in settings:
        median = statistics.median(samples[name])
        ratios = _bench.repeat_ratios(samples, name, one)
        lines.append(f"| {name} | {median:.2f} ({min(samples[name]):.2f}-{max(samples[name]):.2f}) "
                     f"| {images / median:,.0f} | {_bench.median_and_spread(ratios)} |")
    lines += ["", "No target on CPU (reported only). " + GPU_NOTE]
    _bench.emit(lines, args.out)


if __name__ == "__main__":
    main()
