"""Pipeline overhead: epoch time with all augmentation on against off, same model.

What it shows: the CIFAR recipe's model (`fastnet`, width 48, batch 128, as in
`benchmarks/time_to_accuracy.py`) trained on 8,000 synthetic 32x32x3 images (the cost of
augmenting does not depend on the pixels, so this needs no data set) through
`kerasext.data.make_dataset`, with the augmentation built by `recipes/train.py`'s own
`make_augmentations`:

- `off`: no augmentation;
- `flip+translate`: `--augment flip,translate` (Keras' `RandomTranslation`, bilinear);
- `flip+shift`: `--augment flip,shift` (kerasext's `RandomShift`: whole pixels, one gather);
- `all`: `--augment flip,rotate,translate,cutout,mixup_cutmix` (every kind train.py offers,
  with one label mixer: MixupCutMix picks Mixup or CutMix per batch).

Every variant gets one-hot labels and the same loss, so only the pipeline differs. Each
trains its own copy of the model (same initial weights) in blocks: one `fit` of a few epochs
per variant, one variant at a time, the order rotating each round (off, flip+translate, ...;
all, off; ...). Augmentation runs in the `tf.data` map, overlapped with training by the
prefetch, and competes with it for the same 2 cores. The first epoch of each block (tracing)
is left out; the ratio is the median over rounds of (variant's median epoch / `off`'s median
epoch of the same round), printed with the min-max of the rounds. Beside it, the same ratio
of CPU seconds (all of the process's threads): the work the augmentation adds, which another
process's load moves far less than wall time. Target: <= 1.05 of wall time (issue 17; 1.10
before).

Run:

    python benchmarks/pipeline_overhead.py                 # ~11 minutes on 2 cores (5 rounds)
    python benchmarks/pipeline_overhead.py --out /tmp/pipeline.md
    python benchmarks/pipeline_overhead.py --quick         # smoke run, seconds
"""

import statistics

import _bench
from _bench import keras

TARGET = 1.05
VARIANTS = {"off": "", "flip+translate": "flip,translate", "flip+shift": "flip,shift",
            "all": "flip,rotate,translate,cutout,mixup_cutmix"}


def main():
    parser = _bench.parser(__doc__)
    _bench.add_block_flags(parser)
    args = parser.parse_args()
    from kerasext import data, models
    from time_to_accuracy import load_train_recipe

    train_py = load_train_recipe()
    images = args.images or (512 if args.quick else 8000)
    rounds = args.rounds or (1 if args.quick else 5)
    epochs = args.epochs or (2 if args.quick else 3)
    width, batch = (16 if args.quick else 48), 128
    x, y = _bench.synthetic_images(images)
    timers, jobs, pipelines = {}, {}, {}
    for name, augment in VARIANTS.items():
        flags = train_py.build_parser().parse_args(["--augment", augment, "--translate-factor", "0.0625"])
        layers = train_py.make_augmentations(train_py.parse_augment(augment), flags, num_classes=10)
        train = data.make_dataset(x, y, batch, shuffle=True, seed=0, augment=layers or None)
        if not any(getattr(layer, "mixes_labels", False) for layer in layers):
            train = train.map(lambda images, labels: (images, keras.ops.one_hot(labels, 10)))
        pipelines[name] = train
        keras.utils.set_random_seed(0)
        model = models.build_model("fastnet", (32, 32, 3), 10, width=width, seed=0)
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                      "categorical_crossentropy", metrics=["accuracy"])
        timer = timers[name] = _bench.EpochTimer()

        def job(model=model, train=train, timer=timer):
            model.fit(train, epochs=epochs, verbose=0, shuffle=False,
                      callbacks=[timer.first, timer.last])

        jobs[name] = job
    _bench.in_blocks(jobs, rounds)
    # The pipeline alone, no training: one epoch of batches pulled as fast as it makes them.
    alone = _bench.alternate({name: (lambda ds=ds: [None for _ in ds]) for name, ds in pipelines.items()},
                             max(3, rounds))

    steps = -(-images // batch)
    lines = _bench.header("Pipeline overhead: augmentation on vs off", [
        f"fastnet width {width}, batch {batch}, {images:,} synthetic 32x32x3 images = {steps} "
        f"steps per epoch; {rounds} rounds of one {epochs}-epoch `fit` per variant, the first "
        "epoch of each not timed"
        + (" (--quick)" if args.quick else ""),
        "augmentation from recipes/train.py's make_augmentations (translate factor 0.0625), "
        "applied by kerasext.data.make_dataset after batching",
        "one process, one `fit` at a time, the order rotating each round; ratio = median over "
        "rounds of (variant median epoch / off median epoch, the same round), (min-max of the "
        "rounds); CPU = the same with the process's CPU seconds",
    ])
    lines += ["| augmentation | --augment | median epoch s | ratio vs off (spread) | target | met "
              "| CPU s/epoch | CPU ratio vs off (spread) | pipeline alone s/epoch |",
              "|---|---|---:|---:|---:|---|---:|---:|---:|"]
    for name, augment in VARIANTS.items():
        seconds, cpu = timers[name].steady(), timers[name].steady(cpu=True)
        if name == "off":
            ratio_text, cpu_text, target_text, met = "1.00", "1.00", "-", "-"
        else:
            ratios = _bench.block_ratios(timers, name, "off")
            ratio_text = _bench.median_and_spread(ratios)
            cpu_text = _bench.median_and_spread(_bench.block_ratios(timers, name, "off", cpu=True))
            target_text, met = f"<= {TARGET:.2f}", _bench.verdict(statistics.median(ratios), TARGET)
        lines.append(f"| {name} | {augment or '-'} | {statistics.median(seconds):.2f} "
                     f"| {ratio_text} | {target_text} | {met} | {statistics.median(cpu):.2f} "
                     f"| {cpu_text} | {statistics.median(alone[name]):.2f} |")
    lines += ["", "pipeline alone = one epoch of batches pulled from the same `tf.data` pipeline with "
              "no training (median of the repeats, variants alternating): the augmentation's own "
              "cost. `make_dataset` maps the augmentation in parallel with each batch's draws keyed "
              "to `(seed, epoch, batch)` (the same draws on every run and after a resume), so "
              "tf.data prepares batches ahead on the cores the training step leaves idle.",
              "", "Per-round ratios: " + "; ".join(
        f"{name}: " + ", ".join(f"{r:.3f}" for r in _bench.block_ratios(timers, name, "off"))
        for name in list(VARIANTS)[1:])]
    _bench.emit(lines, args.out)


if __name__ == "__main__":
    main()
