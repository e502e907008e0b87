"""Throughput of kerasext's image-folder pipeline vs `keras.utils.image_dataset_from_directory`.

Both read the same folder of JPEGs (synthetic, written to a temporary folder, unless
`--folder` names one), decode, resize and batch it; no model runs, only the pipeline is
iterated, each contender one full pass per repeat, alternating, after one warm-up pass.
Images/s are reported side by side with the ratio kerasext / Keras (median of repeats):

- plain: `kerasext.data.load(folder, cache="none")`'s training pipeline vs
  `image_dataset_from_directory(folder, shuffle=True)`. Target >= 0.9x.
- with augmentation (RandomFlip + RandomTranslation, as `recipes/train.py --augment
  flip,translate`): kerasext maps the layers in parallel with draws keyed to
  `(seed, epoch, batch)` (repeatable, resumable); Keras gets them as its guides write it,
  `ds.map(lambda x, y: (augment(x), y))`, one batch at a time (the way that keeps a seeded
  run repeatable). Target >= 1.5x. Keras with a parallel map (not repeatable: the
  layers' seed generator is shared) is shown for reference.

Run:

    python benchmarks/data_throughput.py                       # 2,000 JPEGs, 160 px
    python benchmarks/data_throughput.py --images 20000 --repeats 5
    python benchmarks/data_throughput.py --folder ~/photos --image-size 224
    python benchmarks/data_throughput.py --quick               # smoke run: 96 small JPEGs
"""

import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import alternate, emit, header, parser, verdict  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasext import data  # noqa: E402

TARGETS = {"plain": 0.9, "augmented": 1.5}


def write_jpegs(folder, count, size=(240, 320), classes=10, seed=0):
    """Writes `count` random-but-smooth JPEGs of `size` (height, width) into class subfolders."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for c in range(classes):
        os.makedirs(os.path.join(folder, f"class_{c}"), exist_ok=True)
    low = (size[0] // 8, size[1] // 8)
    for i in range(count):
        coarse = rng.integers(0, 256, (*low, 3), dtype=np.uint8)  # JPEG-like content, not noise
        image = Image.fromarray(coarse).resize((size[1], size[0]), Image.BILINEAR)
        image.save(os.path.join(folder, f"class_{i % classes}", f"{i:06d}.jpg"), quality=90)
    return folder


def augmentation():
    return [keras.layers.RandomFlip("horizontal", seed=1),
            keras.layers.RandomTranslation(0.1, 0.1, seed=2)]


def keras_pipeline(folder, size, batch, augment=None, parallel=False):
    dataset = keras.utils.image_dataset_from_directory(
        folder, image_size=(size, size), batch_size=batch, shuffle=True, seed=0, verbose=False)
    if augment:
        model = keras.Sequential(augment)
        calls = {"num_parallel_calls": -1} if parallel else {}
        dataset = dataset.map(lambda x, y: (model(x, training=True), y), **calls)
    return dataset.prefetch(-1)


def kerasext_pipeline(folder, size, batch, augment=None, classes=10, images=None):
    # Nearly every image in training: validation and test get one image per class.
    small = min(0.2, classes / images) if images else 0.02
    return data.load(folder, image_size=size, batch_size=batch, cache="none",
                     split=(1 - 2 * small, small, small), augment=augment)[0]


def count(dataset):
    return sum(int(images.shape[0]) for images, _ in dataset)


def main(argv=None):
    cli = parser(__doc__)
    cli.add_argument("--images", type=int, default=None, help="JPEGs to generate (default 2000)")
    cli.add_argument("--image-size", type=int, default=None, help="output size (default 160)")
    cli.add_argument("--batch-size", type=int, default=64)
    cli.add_argument("--repeats", type=int, default=None, help="timed passes each (default 3)")
    cli.add_argument("--folder", default=None, help="an existing folder of class subfolders")
    cli.add_argument("--photo-size", default=None, metavar="WxH",
                     help="size of the generated JPEGs (default 320x240, 80x60 with --quick)")
    args = cli.parse_args(argv)
    images = args.images or (96 if args.quick else 2000)
    size = args.image_size or (48 if args.quick else 160)
    repeats = args.repeats or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory() as scratch:
        width, height = (int(v) for v in (args.photo_size or ("80x60" if args.quick else "320x240")).split("x"))
        shape = (height, width)
        folder = args.folder or write_jpegs(scratch, images, shape)
        total = sum(len(files) for _, _, files in os.walk(folder))
        contenders = {
            "kerasext": kerasext_pipeline(folder, size, args.batch_size, images=total),
            "keras": keras_pipeline(folder, size, args.batch_size),
            "kerasext augmented": kerasext_pipeline(folder, size, args.batch_size, augmentation(),
                                                    images=total),
            "keras augmented": keras_pipeline(folder, size, args.batch_size, augmentation()),
            "keras augmented, parallel map": keras_pipeline(
                folder, size, args.batch_size, augmentation(), parallel=True),
        }
        counts = {name: count(dataset) for name, dataset in contenders.items()}  # warm-up pass
        samples = alternate({name: (lambda d=d: count(d)) for name, d in contenders.items()}, repeats)
    rate = {name: counts[name] / statistics.median(s) for name, s in samples.items()}
    ratios = {
        "plain": statistics.median(
            (counts["kerasext"] / a) / (counts["keras"] / b)
            for a, b in zip(samples["kerasext"], samples["keras"])),
        "augmented": statistics.median(
            (counts["kerasext augmented"] / a) / (counts["keras augmented"] / b)
            for a, b in zip(samples["kerasext augmented"], samples["keras augmented"])),
    }
    source = args.folder or f"{images:,} synthetic {shape[1]}x{shape[0]} JPEGs"
    lines = header("Image-folder pipeline throughput", [
        f"{source}, resized to {size}x{size}, batch {args.batch_size}; pipeline only (no model), "
        f"one pass per repeat, {repeats} repeats alternating after a warm-up pass, median",
        "augmentation: RandomFlip(horizontal) + RandomTranslation(0.1, 0.1)",
    ])
    lines += [
        "| pipeline | images/s | kerasext / Keras | target | |",
        "|---|---:|---:|---:|---|",
        f"| kerasext `data.load(cache='none')` | {rate['kerasext']:,.0f} | | | |",
        f"| Keras `image_dataset_from_directory` | {rate['keras']:,.0f} | "
        f"{ratios['plain']:.2f} | >= {TARGETS['plain']} | "
        f"{verdict(ratios['plain'], TARGETS['plain'], False)} |",
        f"| kerasext + augmentation (parallel, keyed draws) | {rate['kerasext augmented']:,.0f} | | | |",
        f"| Keras + augmentation (`ds.map`, sequential) | {rate['keras augmented']:,.0f} | "
        f"{ratios['augmented']:.2f} | >= {TARGETS['augmented']} | "
        f"{verdict(ratios['augmented'], TARGETS['augmented'], False)} |",
        f"| Keras + augmentation (parallel map, not repeatable) | "
        f"{rate['keras augmented, parallel map']:,.0f} | "
        f"{rate['kerasext augmented'] / rate['keras augmented, parallel map']:.2f} | | |",
    ]
    emit(lines, args.out)
    return ratios


if __name__ == "__main__":
    main()
