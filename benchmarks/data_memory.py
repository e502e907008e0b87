"""Peak memory of `recipes/train.py` on image folders of growing size: bounded, not linear.

Synthetic JPEG folders (10 classes) are written to a temporary folder, the smaller sizes as
hard links to the largest one's files. `recipes/train.py --data-dir FOLDER --image-size 160
--epochs 1` runs on each in a fresh process; its peak resident set size (`ru_maxrss` from
`os.wait4` on that process) is reported with the ratio of the largest size's peak to the
smallest's. `--rounds` (default 3) runs every size once per round, the order rotating; every
figure is the median over rounds with the min-max beside it, the ratio taken within a round.
Target: <= 1.3 between 2,500 and 25,000 images, on the median (before kerasext streamed
folders, memory grew by about 1.4 MB per image at 160 px).

The model is kept small (`--model cnn --width 8`) so the run measures the data pipeline,
not the network: each run takes 1-7 minutes on 2 cores, 3 rounds about 25 minutes;
`--train-flags` changes it.

Run:

    python benchmarks/data_memory.py                          # 2,500 and 25,000 images
    python benchmarks/data_memory.py --sizes 2500,10000,25000 --rounds 1
    python benchmarks/data_memory.py --train-flags "--model resnet --cache none"
    python benchmarks/data_memory.py --quick                  # smoke run: 120 and 360 tiny JPEGs, one round
"""

import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import ROOT, emit, header, median_and_spread, parser, repeat_ratios, verdict  # noqa: E402
from data_throughput import write_jpegs  # noqa: E402

TARGET = 1.3
TRAIN_FLAGS = "--model cnn --width 8 --batch-size 64 --checkpoint-every 0"


def link_subset(source, target, count, classes=10):
    """A folder holding the first `count` images of `source` (hard links, same classes)."""
    for c in range(classes):
        os.makedirs(os.path.join(target, f"class_{c}"), exist_ok=True)
    for i in range(count):
        name = os.path.join(f"class_{i % classes}", f"{i:06d}.jpg")
        os.link(os.path.join(source, name), os.path.join(target, name))
    return target


def peak_rss_mb(folder, size, epochs, extra, scratch):
    """Runs train.py on `folder` in a fresh process; returns (peak RSS in MB, seconds)."""
    argv = [sys.executable, os.path.join(ROOT, "recipes", "train.py"), "--data-dir", folder,
            "--image-size", str(size), "--epochs", str(epochs),
            "--model-dir", os.path.join(scratch, f"run-{time.monotonic_ns()}"), *extra]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    start = time.time()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            log.seek(0)
            lines = log.read().decode(errors="replace").strip().splitlines() or ["no output"]
            sys.exit(f"train.py failed on {folder}: {lines[-1]}")
    return usage.ru_maxrss / 1024, time.time() - start


def main(argv=None):
    cli = parser(__doc__)
    cli.add_argument("--sizes", default=None, help="comma-separated image counts (default 2500,25000)")
    cli.add_argument("--image-size", type=int, default=None, help="train.py --image-size (default 160)")
    cli.add_argument("--epochs", type=int, default=1)
    cli.add_argument("--rounds", type=int, default=None,
                     help="fresh processes per size, the order rotating (default 3; 1 with --quick)")
    cli.add_argument("--train-flags", default=TRAIN_FLAGS,
                     help=f"more train.py flags (default {TRAIN_FLAGS!r})")
    args = cli.parse_args(argv)
    sizes = sorted(int(v) for v in (args.sizes or ("120,360" if args.quick else "2500,25000")).split(","))
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    if rounds < 1:
        cli.error(f"--rounds must be at least 1. Received: --rounds {rounds}")
    image_size = args.image_size or (32 if args.quick else 160)
    shape = (48, 64) if args.quick else (240, 320)
    extra = shlex.split(args.train_flags)
    runs = {count: [] for count in sizes}  # count -> [(MB, seconds)] per round
    with tempfile.TemporaryDirectory() as scratch:
        largest = write_jpegs(os.path.join(scratch, f"images_{sizes[-1]}"), sizes[-1], shape)
        folders = {count: largest if count == sizes[-1] else link_subset(
            largest, os.path.join(scratch, f"images_{count}"), count) for count in sizes}
        for r in range(rounds):
            for count in sizes[r % len(sizes):] + sizes[: r % len(sizes)]:
                runs[count].append(peak_rss_mb(folders[count], image_size, args.epochs, extra, scratch))
    peaks = {count: [mb for mb, _ in runs[count]] for count in sizes}
    ratios = repeat_ratios(peaks, sizes[-1], sizes[0])  # within each round
    ratio = statistics.median(ratios)
    lines = header("Peak memory of train.py on image folders", [
        f"`recipes/train.py --data-dir FOLDER --image-size {image_size} --epochs {args.epochs} "
        f"{args.train_flags}`, synthetic {shape[1]}x{shape[0]} JPEGs, 10 classes; peak RSS from "
        f"`os.wait4`; {rounds} round(s), each running every size once in a fresh process, the "
        "order rotating; median (min-max) over rounds, ratios taken within a round",
    ])
    lines += ["| images | peak RSS (MB) | vs smallest | seconds |", "|---:|---:|---:|---:|"]
    for count in sizes:
        lines.append(f"| {count:,} | {median_and_spread(peaks[count], 0, True, thousands=True)} "
                     f"| {median_and_spread(repeat_ratios(peaks, count, sizes[0]), 2, True)} "
                     f"| {median_and_spread([s for _, s in runs[count]], 0, True)} |")
    lines += ["", f"Ratio of peak RSS, {sizes[-1]:,} / {sizes[0]:,} images: "
              f"**{median_and_spread(ratios, 2, True)}** (target <= {TARGET} on the median: "
              f"{verdict(ratio, TARGET)})"]
    emit(lines, args.out)
    return ratio


if __name__ == "__main__":
    main()
