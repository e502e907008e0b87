"""Runs every benchmark, one process each, and writes `benchmarks/results.md`.

This is what `make bench` runs. Each benchmark prints its own section (versions, core count,
its table, target and PASS/MISS) and writes it with `--out`; this script puts the sections
together under one header, in the order below, and nothing else: every number in
`results.md` is one a benchmark printed in this run. A benchmark that fails leaves a line
saying so (its last error line) and makes the whole run exit 1; the others still run.

Run:

    python benchmarks/run_all.py                 # the suite, about 2.5 hours on 2 cores (time_to_accuracy ~1 h)
    python benchmarks/run_all.py --quick --out /tmp/results.md   # smoke run
    python benchmarks/run_all.py --only augment time_to_accuracy   # replaces those sections

With `--only`, the named sections replace their namesakes in the existing `--out` file (each
section says when and where it ran); the other sections are kept as they were.
"""

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# (script, extra flags of the full run): the order of the sections in results.md.
SUITE = (
    ("augment", ["--repeats", "11"]),
    ("pipeline_overhead", ["--rounds", "7"]),  # 3 rounds cannot resolve 5% on shared cores
    ("time_to_accuracy", []),
    ("callbacks_overhead", ["--rounds", "7"]),
    ("memory", ["--recipe", "cifar"]),
    ("memory_activations", ["--recipe", "activations"]),  # --remat's saving (issue 15 item 16)
    ("scaling", []),
    ("data_throughput", []),
    ("data_memory", []),
)


# A section whose name is not its script's: name -> (script, what its footer calls it).
SCRIPTS = {"memory_activations": "memory"}


def footer(name):
    """The section's last line starts with this: how `read_sections` finds it again."""
    if name in SCRIPTS:
        return f"_`{SCRIPTS[name]}.py {' '.join(dict(SUITE)[name])}` took "
    return f"_`{name}.py` took "


def cpu_model():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def run_one(name, flags, quick, folder):
    """Runs `benchmarks/<name>.py`; returns (section text, seconds, ok)."""
    out = os.path.join(folder, f"{name}.md")
    script = SCRIPTS.get(name, name)
    argv = [sys.executable, os.path.join(HERE, f"{script}.py"), "--out", out]
    argv += (["--quick"] + (flags if name in SCRIPTS else [])) if quick else flags
    print(f"$ {' '.join(argv[1:])}", flush=True)
    start = time.time()
    result = subprocess.run(argv, stdout=sys.stdout, stderr=subprocess.PIPE, text=True)
    seconds = time.time() - start
    sys.stderr.write(result.stderr[-4000:])
    if result.returncode == 0 and os.path.isfile(out):
        with open(out) as handle:
            return handle.read(), seconds, True
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    text = f"## {name}\n\nFailed (exit {result.returncode}): `{last}`\n"
    return text, seconds, False


def read_sections(path):
    """The sections of an existing results file by benchmark name (from each `_`name`.py took`
    footer), so that `--only` replaces some and keeps the rest."""
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return {}
    # A file from before sections carried their own stamp: its header's date goes on each.
    header = text.split("\n## ")[0]
    old = re.search(r"started (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", header)
    found = {}
    for chunk in text.split("\n## ")[1:]:
        for name, _ in SUITE:
            if footer(name) in chunk or chunk.startswith(f"{name}\n"):
                section = "## " + chunk.rstrip() + "\n"
                if "\n_Ran: " not in section and old:
                    stamp = f"_Ran: `python benchmarks/run_all.py`, started {old.group(1)} UTC._"
                    section = section.replace("\n\n", f"\n\n{stamp}\n\n", 1)
                found[name] = section
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every benchmark's smoke settings")
    parser.add_argument("--out", default=os.path.join(HERE, "results.md"))
    names = [name for name, _ in SUITE]
    parser.add_argument("--only", nargs="+", choices=names, default=names, metavar="NAME",
                        help=f"run only these, of: {', '.join(names)}")
    args = parser.parse_args(argv)

    started = datetime.datetime.now(datetime.timezone.utc)
    sections, failed = [], []
    with tempfile.TemporaryDirectory() as folder:
        for name, flags in SUITE:
            if name not in args.only:
                continue
            text, seconds, ok = run_one(name, flags, args.quick, folder)
            sections.append(text.rstrip() + f"\n\n{footer(name)}{seconds:.0f} s._\n")
            if not ok:
                failed.append(name)
    command = "python benchmarks/run_all.py" + (" --quick" if args.quick else "")
    if args.only != names:
        command += " --only " + " ".join(args.only)
    stamp = (f"`{command}`, started {started:%Y-%m-%d %H:%M} UTC, on {cpu_model()}, "
             f"os.cpu_count()={os.cpu_count()}, no GPU")
    sections = [text.replace("\n\n", f"\n\n_Ran: {stamp}._\n\n", 1) for text in sections]
    kept = read_sections(args.out) if args.only != names else {}
    fresh = dict(zip([name for name, _ in SUITE if name in args.only], sections))
    ordered = [fresh.get(name, kept.get(name)) for name, _ in SUITE]
    header = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python benchmarks/run_all.py`; a section rerun alone says so "
        "under its title). Every figure is a ratio of two things timed in the same run, "
        "alternating, median of repeats; absolute times on these shared cores are noisy.",
        "",
    ]
    if failed:
        header += [f"**Failed:** {', '.join(failed)} (see their sections).", ""]
    text = "\n".join(header) + "\n" + "\n".join(s for s in ordered if s)
    folder = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    temporary = f"{args.out}.tmp-{os.getpid()}"
    with open(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, args.out)  # a killed run never leaves half a results.md
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
