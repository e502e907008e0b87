"""This repository's "Recipes" table (README, docs/recipes), generated from the recipes' run folders.

    python tools/recipes_table.py runs/ > recipes_table.md
    python tools/recipes_table.py runs/ --docs docs/recipes   # also one page per recipe
    python tools/recipes_table.py runs/ --dataset cifar10_test.npz --docs docs/recipes/cifar

A run counts for the table of the data set it trained on (`dataset` in its config.json, compared
by file name): `digits` (the default) also takes the recipes that make their own data.

For each recipe folder under `runs/`, the latest run holding `metrics.json` (and, for
comparisons, `comparison.md`) gives one row: recipe, what it shows, the command, and the
measured result: for a comparison, its verdict (agrees, disagrees or inconclusive) and each
claim's paired effect with its 95% confidence interval over the seeds. Nothing is typed by hand.
"""

import argparse
import html
import json
import os
import re
import sys

COMPARISON_FILE = "comparison.md"  # what `kerasext.runner.Comparison.write` writes

MACHINE_NOTE = (
    "Numbers measured on this project's 2-core CPU machine with {settings}; a comparison's "
    "`--seeds` is counted in its cell, seed 0 otherwise; by `{command}`, from each "
    "recipe's latest run. A verdict is inconclusive when the 95% confidence interval of the effect "
    "includes no effect."
)
DIGITS_SETTINGS = "each recipe's default settings (the bundled digits data unless a recipe makes its own)"
OTHER_SETTINGS = "the flags in each row's command, on `{dataset}`"
DEFAULT_DATASET = "digits"


def latest_runs(runs_dir, dataset=DEFAULT_DATASET):
    """`{recipe: run folder}`: each recipe's newest run that finished (has metrics.json) on `dataset`.

    Run folders are named by start time, so the newest sorts last. A recipe whose run
    records a comparison is taken only from runs that also wrote `comparison.md`. A run's
    data set is its config.json's `dataset`, compared by file name (`cifar10_test.npz`
    matches `../shared/data/cifar10_test.npz`); a run without one counts as digits.
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
            if metrics is None or _run_dataset(path) != _dataset_name(dataset):
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
    result = verdict(results)
    if not result:  # a run from before the three-valued protocol: its sentence and two-valued check
        result = str(results["summary"]) if results.get("summary") else None
        if result and results.get("claim_holds") is not None:
            result += " Agrees with the guide." if results["claim_holds"] else " Does not agree with the guide."
    if not result:
        accuracy = metrics.get("test", {}).get("accuracy")
        result = f"test accuracy {accuracy:.4f}" if accuracy is not None else "—"
    return recipe, shows, command, result


def verdict(results):
    """The verdict cell: `**agrees** (3 seeds): <each claim's paired effect ± 95% CI and its
    verdict>`, from the judgments `Comparison.judge` recorded; `None` without any. A recipe
    with independent claims (`results["verdicts"]`, claim -> verdict) gets one bold verdict
    per claim instead of one for all."""
    judgments = [j for j in results.get("judgments") or [] if isinstance(j, dict) and j.get("text")]
    if not judgments:
        return None
    seeds = results.get("seeds") or [None]
    count = f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}"
    claims = results.get("verdicts")
    if isinstance(claims, dict) and claims:  # independent claims, each with its own verdict
        head = "; ".join(f"**{value}** {claim}" for claim, value in claims.items())
    else:
        head = f"**{results.get('verdict')}**"
    return f"{head} ({count}): " + "; ".join(str(j["text"]) for j in judgments)


def recipes_table(runs_dir, command="make results", dataset=DEFAULT_DATASET, docs="docs/recipes"):
    """The markdown "Recipes" table for every recipe with a finished run on `dataset` under
    `runs_dir`; recipe names link to their page in `docs`."""
    runs = latest_runs(runs_dir, dataset)
    lines = [
        "| recipe | what it shows | command | measured result |",
        "| --- | --- | --- | --- |",
    ]
    for recipe, run_dir in runs.items():
        name, shows, cmd, result = row(recipe, run_dir)
        name, shows, result = (_cell(v) for v in (name, shows, result))
        if os.path.isfile(os.path.join(run_dir, COMPARISON_FILE)):  # `--docs` writes its page
            name = f"[{name}]({docs.rstrip('/')}/{_cell(recipe)}.md)"
        lines.append(f"| {name} | {shows} | {_code(cmd, in_table=True)} | {result} |")
    settings = (DIGITS_SETTINGS if _dataset_name(dataset) == DEFAULT_DATASET
                else OTHER_SETTINGS.format(dataset=_dataset_name(dataset)))
    return "\n".join(lines) + "\n\n" + MACHINE_NOTE.format(command=command, settings=settings) + "\n"


def write_docs(runs_dir, docs_dir, dataset=DEFAULT_DATASET):
    """Writes `docs_dir/<recipe>.md`: the command, then the run's comparison.md. Returns paths."""
    os.makedirs(docs_dir, exist_ok=True)
    paths = []
    for recipe, run_dir in latest_runs(runs_dir, dataset).items():
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
                f"# {_cell(recipe)}\n\nCommand: {_code(command)}\n\n"
                f"Measured on this project's 2-core CPU machine"
                + (f" in {seconds:.0f} s" if seconds else "")
                + f" (run folder `{os.path.relpath(run_dir)}`), written by the recipe itself.\n\n"
                + body
            )
        paths.append(path)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python tools/recipes_table.py", description=__doc__,
                                     allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs_dir", nargs="?", default="runs", help="the runs folder (default runs)")
    parser.add_argument("--docs", default=None, help="also write one page per recipe into this folder")
    parser.add_argument("--command", default="make results", help="the command named in the note")
    parser.add_argument("--dataset", default=DEFAULT_DATASET,
                        help="the runs on this data set (its file name; default digits)")
    args = parser.parse_args(argv)
    try:
        table = recipes_table(args.runs_dir, args.command, args.dataset, args.docs or "docs/recipes")
        if args.docs:
            write_docs(args.runs_dir, args.docs, args.dataset)
    except (ValueError, OSError) as error:
        sys.stderr.write(f"{parser.prog}: error: {' '.join(str(error).split())}\n")
        sys.exit(2)
    sys.stdout.write(table)
    return table


def _dataset_name(dataset):
    return os.path.basename(os.path.normpath(str(dataset or DEFAULT_DATASET)))


def _run_dataset(run_dir):
    """The file name of the data set a run trained on (its config.json's `dataset`)."""
    try:
        with open(os.path.join(run_dir, "config.json")) as file:
            config = json.load(file)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return DEFAULT_DATASET
    return _dataset_name(config.get("dataset") if isinstance(config, dict) else None)


def _read_metrics(run_dir):
    """A run's metrics.json, `None` without one.

    Raises:
        ValueError: naming the file, if it does not read as a run's metrics (a JSON object
            whose `results` and `test` are objects).
    """
    path = os.path.join(run_dir, "metrics.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as file:
            metrics = json.load(file)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} does not read as JSON ({error})") from None
    if not isinstance(metrics, dict) or not all(
            isinstance(metrics.get(k) or {}, dict) for k in ("results", "test")):
        raise ValueError(f"{path} is not a run's metrics.json (a JSON object with `results` and `test` objects)")
    accuracy = metrics.get("test", {}).get("accuracy")
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(accuracy, (int, float))):
        raise ValueError(f"{path}: `test.accuracy` must be a number. Received: {accuracy!r}")
    return metrics


def _cell(text):
    """Text for a Markdown table cell: one line, HTML escaped (no raw HTML lands), `|` escaped."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def _code(text, in_table=False):
    """A Markdown code span holding `text` literally, whatever backquotes it holds.

    The fence is one backquote longer than the longest run inside (CommonMark), padded
    with spaces; in a table, `|` is escaped too (GFM splits cells before code spans).
    """
    text = " ".join(str(text).split())
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence} {text} {fence}" if "`" in text else f"{fence}{text}{fence}"


if __name__ == "__main__":
    main()
