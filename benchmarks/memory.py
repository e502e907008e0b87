"""Peak memory of a recipe with and without --remat and --mixed-precision.

Each variant runs `recipes/baseline.py` in a fresh process, one after another, and the
peak resident set size of that process (`ru_maxrss` of the finished child) is reported
next to the plain run's. Activations dominate at large images and batches, which is where
rematerialization should show.

Run:

    python benchmarks/memory.py                    # digits resized to 96x96 RGB, batch 256
    python benchmarks/memory.py --dataset ../shared/data/cifar10_test.npz --image-size 32
"""

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = {
    "plain": [],
    "--remat": ["--remat"],
    "--mixed-precision": ["--mixed-precision"],
    "--remat --mixed-precision": ["--remat", "--mixed-precision"],
}


def peak_rss_mb(argv):
    """Runs the recipe in a child process; returns (peak RSS in MB, seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.time()
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            [sys.executable, os.path.join(ROOT, "recipes", "baseline.py"), *argv,
             "--model-dir", os.path.join(folder, "run")],
            capture_output=True, text=True,
        )
    if result.returncode != 0:
        sys.exit(f"recipe failed: {result.stderr.strip().splitlines()[-1]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:  # ru_maxrss of children is a running maximum over all of them
        sys.exit("run the variants from the smallest up, or one per process: the maximum hid this one")
    return peak / 1024, time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--image-size", default="96")
    parser.add_argument("--batch-size", default="256")
    parser.add_argument("--epochs", default="1")
    args = parser.parse_args()
    common = ["--dataset", args.dataset, "--image-size", args.image_size, "--channels", "3",
              "--batch-size", args.batch_size, "--epochs", args.epochs]
    rows = []
    # ru_maxrss over children only grows, so each variant runs in its own measuring process.
    for name, flags in VARIANTS.items():
        code = (
            "import sys; sys.path.insert(0, %r); import memory; "
            "print(*memory.peak_rss_mb(%r))" % (os.path.dirname(__file__), common + flags)
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        mb, seconds = (float(v) for v in out.stdout.split()[-2:])
        rows.append((name, mb, seconds))
    plain = rows[0][1]
    print(f"# Peak memory (RSS) of recipes/baseline.py, {' '.join(common)}")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPU cores; one fresh process per variant\n")
    print("| variant | peak RSS (MB) | vs plain | seconds |")
    print("|---|---:|---:|---:|")
    for name, mb, seconds in rows:
        print(f"| {name} | {mb:,.0f} | {mb / plain:.2f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
