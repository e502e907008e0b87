"""Peak memory of a recipe with and without --remat and --mixed-precision.

Each variant runs a recipe in a fresh process, one after another, and the peak resident
set size of that process (`ru_maxrss` of the finished child) is reported next to the plain
run's. Activations dominate at large images and batches, which is where rematerialization
should show.

- `--recipe baseline` (default): `recipes/baseline.py` on `--dataset` (digits resized to
  96x96 RGB, batch 256, unless told otherwise).
- `--recipe activations`: `recipes/train.py --model cnn` on digits resized to 64x64 RGB,
  batch 128, where activations dominate (128 x 64 x 64 x 32 floats, 64 MiB, per tensor of
  the first block), with `--activation gelu` and `relu`, each plain and `--remat`. A GELU's
  backward pass needs its input, kept per layer unless recomputed; a ReLU's needs only its
  output, which the next layer keeps anyway, so `--remat` saves memory with the first only.
- `--recipe cifar`: the CIFAR recipe of `benchmarks/time_to_accuracy.py`, i.e.
  `recipes/train.py` with its `RECIPE_FLAGS` (fastnet, one-cycle, label smoothing, flip and
  translation) on `../shared/data/cifar10_test.npz`, for `--epochs` (default 1); it prints a
  skip line where that file is absent.

Run:

    python benchmarks/memory.py                    # digits resized to 96x96 RGB, batch 256
    python benchmarks/memory.py --dataset ../shared/data/cifar10_test.npz --image-size 32
    python benchmarks/memory.py --recipe activations  # where activations dominate: --remat's saving
    python benchmarks/memory.py --recipe cifar --out /tmp/memory.md
    python benchmarks/memory.py --quick            # smoke run: 16x16 digits, two variants
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


def peak_rss_mb(argv, recipe="baseline"):
    """Runs `recipes/<recipe>.py` in a child process; returns (peak RSS in MB, seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.time()
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            [sys.executable, os.path.join(ROOT, "recipes", f"{recipe}.py"), *argv,
             "--model-dir", os.path.join(folder, "run")],
            capture_output=True, text=True, env=_env(),
        )
    if result.returncode != 0:
        sys.exit(f"recipe failed: {result.stderr.strip().splitlines()[-1]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:  # ru_maxrss of children is a running maximum over all of them
        sys.exit("run the variants from the smallest up, or one per process: the maximum hid this one")
    return peak / 1024, time.time() - start


def _env():
    """The environment, with the project on PYTHONPATH (a recipe imports kerasext even uninstalled)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    return env


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", choices=("baseline", "activations", "cifar"), default="baseline")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--image-size", default="96")
    parser.add_argument("--batch-size", default="256")
    parser.add_argument("--epochs", default="1")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 16x16 images, batch 32, plain and --remat --mixed-precision only")
    parser.add_argument("--out", default=None, help="also write the markdown section to this file")
    args = parser.parse_args()
    variants = dict(VARIANTS)
    if args.quick:
        args.image_size, args.batch_size = "16", "32"
        variants = {k: v for k, v in VARIANTS.items() if k in ("plain", "--remat --mixed-precision")}
    if args.recipe == "cifar":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from _bench import CIFAR, no_cifar  # noqa: E402  (only here: it imports TensorFlow)
        from time_to_accuracy import RECIPE_FLAGS

        if not os.path.isfile(CIFAR):
            return _emit(["## Peak memory (RSS) of the CIFAR recipe", "", no_cifar()], args.out)
        recipe = "train"
        common = RECIPE_FLAGS.split() + ["--dataset", CIFAR, "--epochs", args.epochs]
        if args.quick:
            common += ["--width", "8", "--split", "0.05,0.05,0.9"]
        shown = f"recipes/train.py {' '.join(common).replace(CIFAR, os.path.relpath(CIFAR, ROOT))}"
    elif args.recipe == "activations":
        recipe = "train"
        size, batch = ("16", "32") if args.quick else ("64", "128")
        common = ["--model", "cnn", "--dataset", args.dataset, "--image-size", size, "--channels", "3",
                  "--batch-size", batch, "--epochs", args.epochs]
        variants = {f"{name}{remat}": ["--activation", name] + remat.split()
                    for name in ("gelu", "relu") for remat in ("", " --remat")}
        shown = f"recipes/train.py {' '.join(common)}"
    else:
        recipe = "baseline"
        common = ["--dataset", args.dataset, "--image-size", args.image_size, "--channels", "3",
                  "--batch-size", args.batch_size, "--epochs", args.epochs]
        shown = f"recipes/baseline.py, {' '.join(common)}"
    rows = []
    # ru_maxrss over children only grows, so each variant runs in its own measuring process.
    for name, flags in variants.items():
        code = (
            "import sys; sys.path.insert(0, %r); import memory; "
            "print(*memory.peak_rss_mb(%r, %r))" % (os.path.dirname(os.path.abspath(__file__)),
                                                    common + flags, recipe)
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        mb, seconds = (float(v) for v in out.stdout.split()[-2:])
        rows.append((name, mb, seconds))
    plain = {name: mb for name, mb, _ in rows}  # "x --remat" is compared with "x", others with the first
    lines = [
        f"## Peak memory (RSS) of {shown}",
        f"Python {platform.python_version()}, {_versions()}, {os.cpu_count()} CPU cores; "
        "one fresh process per variant" + (" (--quick)" if args.quick else ""),
        "",
        f"| variant | peak RSS (MB) | vs {'the same without --remat' if args.recipe == 'activations' else 'plain'} "
        "| seconds |",
        "|---|---:|---:|---:|",
    ]
    for name, mb, seconds in rows:
        # "gelu --remat" against "gelu"; each activation's plain row against itself; the rest against plain
        compared = name[: -len(" --remat")] if name.endswith(" --remat") else name
        base = plain[compared] if args.recipe == "activations" else rows[0][1]
        lines.append(f"| {name} | {mb:,.0f} | {mb / base:.2f} | {seconds:.0f} |")
    _emit(lines, args.out)


def _versions():
    """TensorFlow and Keras versions, read from package metadata (no import in this process)."""
    from importlib import metadata

    found = []
    for name, dist in (("TensorFlow", "tensorflow"), ("Keras", "keras")):
        try:
            found.append(f"{name} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} ?")
    return ", ".join(found)


def _emit(lines, out):
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        with open(out, "w") as handle:
            handle.write(text)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
