"""The README's "Recipes" table, generated from the recipes' own run folders.

    python -m kerasext.results.table runs/ > recipes_table.md
    python -m kerasext.results.table runs/ --docs docs/recipes   # also one page per recipe

For each recipe folder under `runs/`, the latest run holding `metrics.json` (and, for
comparisons, `comparison.md`) gives one row: recipe, what it shows, the command, and the
measured result. Nothing is typed by hand.
"""

import argparse
import json
import os
import sys

from kerasext.results.comparison import COMPARISON_FILE

MACHINE_NOTE = (
    "Numbers measured on this project's 2-core CPU machine with each recipe's default "
    "settings (the bundled digits data unless a recipe makes its own, seed 0), by `{command}`, "
    "from each recipe's latest run."
)


def latest_runs(runs_dir):
    """`{recipe: run folder}`: each recipe's newest run that finished (has metrics.json).

    Run folders are named by start time, so the newest sorts last. A recipe whose run
    records a comparison is taken only from runs that also wrote `comparison.md`.
    """
    found = {}
    if not os.path.isdir(runs_dir):
        raise ValueError(f"`runs_dir` does not exist or is not a folder. Received: {runs_dir}")
    for recipe in sorted(os.listdir(runs_dir)):
        folder = os.path.join(runs_dir, recipe)
        if not os.path.isdir(folder):
            continue
        for run in sorted(os.listdir(folder), reverse=True):
            path = os.path.join(folder, run)
            metrics = _read_metrics(path)
            if metrics is None:
                continue
            if metrics.get("results", {}).get("rows") and not os.path.isfile(
                os.path.join(path, COMPARISON_FILE)
            ):
                continue
            found[recipe] = path
            break
    return found


def row(recipe, run_dir):
    """One table row `(recipe, shows, command, result)` from a run folder."""
    metrics = _read_metrics(run_dir)
    results = metrics.get("results") or {}
    shows = results.get("shows") or results.get("title") or ""
    command = results.get("command") or f"python recipes/{recipe}.py"
    result = results.get("summary")
    if result and results.get("claim_holds") is not None:
        result += " Agrees with the guide." if results["claim_holds"] else " Does not agree with the guide."
    if not result:
        accuracy = metrics.get("test", {}).get("accuracy")
        result = f"test accuracy {accuracy:.4f}" if accuracy is not None else "—"
    return recipe, shows, command, result


def recipes_table(runs_dir, command="make results"):
    """The markdown "Recipes" table for every recipe with a finished run under `runs_dir`."""
    runs = latest_runs(runs_dir)
    lines = [
        "| recipe | what it shows | command | measured result |",
        "| --- | --- | --- | --- |",
    ]
    for recipe, run_dir in runs.items():
        name, shows, cmd, result = (_cell(v) for v in row(recipe, run_dir))
        if os.path.isfile(os.path.join(run_dir, COMPARISON_FILE)):  # `--docs` writes its page
            name = f"[{name}](docs/recipes/{name}.md)"
        lines.append(f"| {name} | {shows} | `{cmd}` | {result} |")
    return "\n".join(lines) + "\n\n" + MACHINE_NOTE.format(command=command) + "\n"


def write_docs(runs_dir, docs_dir):
    """Writes `docs_dir/<recipe>.md`: the command, then the run's comparison.md. Returns paths."""
    os.makedirs(docs_dir, exist_ok=True)
    paths = []
    for recipe, run_dir in latest_runs(runs_dir).items():
        comparison = os.path.join(run_dir, COMPARISON_FILE)
        if not os.path.isfile(comparison):
            continue
        _, _, command, _ = row(recipe, run_dir)
        metrics = _read_metrics(run_dir)
        seconds = metrics.get("seconds")
        with open(comparison) as file:
            body = file.read()
        path = os.path.join(docs_dir, f"{recipe}.md")
        with open(path, "w") as file:
            file.write(
                f"# {recipe}\n\nCommand: `{command}`\n\n"
                f"Measured on this project's 2-core CPU machine"
                + (f" in {seconds:.0f} s" if seconds else "")
                + f" (run folder `{os.path.relpath(run_dir)}`), written by the recipe itself.\n\n"
                + body
            )
        paths.append(path)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kerasext.results.table", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs_dir", nargs="?", default="runs", help="the runs folder (default runs)")
    parser.add_argument("--docs", default=None, help="also write one page per recipe into this folder")
    parser.add_argument("--command", default="make results", help="the command named in the note")
    args = parser.parse_args(argv)
    try:
        table = recipes_table(args.runs_dir, args.command)
        if args.docs:
            write_docs(args.runs_dir, args.docs)
    except ValueError as error:
        sys.stderr.write(f"{parser.prog}: error: {error}\n")
        sys.exit(2)
    sys.stdout.write(table)
    return table


def _read_metrics(run_dir):
    path = os.path.join(run_dir, "metrics.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, json.JSONDecodeError):
        return None


def _cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


if __name__ == "__main__":
    main()
