"""Peak memory of a recipe with and without --remat and --mixed-precision.

Each variant runs a recipe in a fresh process, one after another, and the peak resident
set size of that process (`ru_maxrss` of the finished child) is reported next to the plain
run's. `--rounds` (default 3) repeats that, the order rotating each round; every figure is the
median over rounds with the min-max beside it, and each ratio is taken within a round.
Activations dominate at large images and batches, which is where rematerialization should show.

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
    python benchmarks/memory.py --recipe cifar --rounds 5
    python benchmarks/memory.py --quick            # smoke run: 16x16 digits, two variants, one round
"""

import argparse
import os
import platform
import resource
import shlex
import statistics
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
    parser.add_argument("--rounds", type=int, default=None,
                        help="fresh processes per variant, the order rotating (default 3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 16x16 images, batch 32, plain and --remat --mixed-precision only")
    parser.add_argument("--out", default=None, help="also write the markdown section to this file")
    args = parser.parse_args()
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    if rounds < 1:
        parser.error(f"--rounds must be at least 1. Received: --rounds {rounds}")
    variants = dict(VARIANTS)
    if args.quick:
        args.image_size, args.batch_size = "16", "32"
        variants = {k: v for k, v in VARIANTS.items() if k in ("plain", "--remat --mixed-precision")}
    if args.recipe == "cifar":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from _bench import CIFAR, no_cifar  # noqa: E402  (only here: it imports TensorFlow)
        from time_to_accuracy import RECIPE_FLAGS, with_epochs

        if not os.path.isfile(CIFAR):
            return _emit(["## Peak memory (RSS) of the CIFAR recipe", "", no_cifar()], args.out)
        recipe = "train"
        common = shlex.split(with_epochs(RECIPE_FLAGS, args.epochs)) + ["--dataset", CIFAR]
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
    names = list(variants)
    runs = {name: [] for name in names}  # name -> [(MB, seconds)] per round
    # ru_maxrss over children only grows, so each variant runs in its own measuring process.
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            runs[name].append(_measure(common + variants[name], recipe))
    # "gelu --remat" against "gelu" (activations); the rest against the first variant
    base_of = {name: (name[: -len(" --remat")] if name.endswith(" --remat") else name)
               if args.recipe == "activations" else names[0] for name in names}
    lines = [
        f"## Peak memory (RSS) of {shown}",
        f"Python {platform.python_version()}, {_versions()}, {os.cpu_count()} CPU cores; "
        f"{rounds} round(s), each running every variant once in a fresh process, the order "
        "rotating; median (min-max) over rounds, ratios taken within a round"
        + (" (--quick)" if args.quick else ""),
        "",
        f"| variant | peak RSS (MB) | vs {'the same without --remat' if args.recipe == 'activations' else 'plain'} "
        "| seconds |",
        "|---|---:|---:|---:|",
    ]
    for name in names:
        mb = [m for m, _ in runs[name]]
        ratios = [m / b for (m, _), (b, _) in zip(runs[name], runs[base_of[name]])]
        seconds = [s for _, s in runs[name]]
        lines.append(f"| {name} | {_spread(mb, ',.0f')} | {_spread(ratios, '.2f')} "
                     f"| {_spread(seconds, '.0f')} |")
    _emit(lines, args.out)


def _measure(argv, recipe):
    """(peak RSS in MB, seconds) of one recipe run, measured from a fresh process."""
    code = (
        "import sys; sys.path.insert(0, %r); import memory; "
        "print(*memory.peak_rss_mb(%r, %r))" % (os.path.dirname(os.path.abspath(__file__)), argv, recipe)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "measuring process failed")
    return tuple(float(v) for v in out.stdout.split()[-2:])


def _spread(values, spec):
    """`"1,197 (1,190-1,210)"`: median and min-max; one value alone, bare (what
    `_bench.median_and_spread` prints, without importing TensorFlow into this parent process)."""
    text = f"{statistics.median(values):{spec}}"
    return text if len(values) == 1 else f"{text} ({min(values):{spec}}-{max(values):{spec}})"


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
