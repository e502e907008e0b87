"""A table of measured variants: rows in (one value, or one per seed), markdown and a JSON-ready dict out.

With several seeds (`--seeds N`), a cell is the mean ± the half-width of its 95% confidence
interval over the seeds, an effect column is the paired difference to the control with its
interval, and `judge` gives a claim one of three verdicts: agrees, disagrees, inconclusive
(`kerasext.runner.stats`).
"""

import collections
import math
import os

from kerasext.runner import files, stats

COMPARISON_FILE = "comparison.md"


def format_value(value, spec=None):
    """Formats one table cell: `None` and NaN as "—", floats with `spec` (default `.4f`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, spec or ".4f")
    if spec and isinstance(value, int):
        return format(value, spec)
    return str(value).replace("|", "\\|")


class Comparison:
    """The measured result of a recipe: one row per variant, plus what the rows say.

    Args:
        title: the table's heading, e.g. `"Mixup on digits"`.
        columns: a list of `(key, header)` or `(key, header, format_spec)` tuples, in order;
            each row's values are looked up by key. The first column is always "variant".
        claim: optional text of the claim being measured (the guide's words).
        recipe: the recipe's name, recorded in `to_dict()`.
        shows: one line on what the recipe shows (for the README's Recipes table).
        command: the command that produced the numbers (see `command_line`).
        seeds: the seeds the rows were measured with (`kerasext.runner.seed_list(args)`),
            said under the title. Defaults to `None` (not a seeded comparison).

    Example:

    ```python
    table = Comparison("Dropout", [("test_accuracy", "test accuracy")], seeds=[0, 1, 2])
    table.add_seeds("without", [{"test_accuracy": a} for a in (0.97, 0.96, 0.975)])
    table.add_seeds("dropout 0.5", [{"test_accuracy": a} for a in (0.98, 0.975, 0.985)])
    table.add_effect("test_accuracy", control="without")
    table.judge("test_accuracy", control="without", treatment="dropout 0.5")  # "agrees"
    print(table.to_markdown())
    ```
    """

    def __init__(self, title, columns, claim=None, recipe=None, shows=None, command=None, seeds=None):
        self.title = title
        self.columns = [_column(c) for c in columns]
        if not self.columns:
            raise ValueError(f"`columns` must not be empty. Received: columns={columns!r}")
        self.claim = claim
        self.recipe = recipe
        self.shows = shows
        self.command = command
        self.seeds = list(seeds) if seeds is not None else None
        self.rows = []
        self.notes = []
        self.judgments = []

    def add(self, variant, **values):
        """Adds a row of single values and prints it on one line; keys not among the columns
        are kept in `to_dict()` but not shown in the table."""
        row = {"variant": str(variant), **values}
        self.rows.append(row)
        self._print_row(row)
        return row

    def add_seeds(self, variant, runs, **values):
        """Adds a row measured once per seed and prints it on one line.

        Args:
            variant: the row's name.
            runs: one metrics dict per seed, in the order of `seeds` (`SeedRuns.metrics(name)`).
            **values: values that do not vary with the seed (a learning rate, a network).

        Each key of `runs` becomes: under `row["seeds"][key]` the per-seed values; under
        `row[key]` their mean (numbers; `None` and NaN left out), the most frequent value
        (text), or the element-wise mean (lists of numbers); under `row["intervals"][key]`
        the mean with its 95% CI (`stats.mean_interval`) for numbers.
        """
        runs = [dict(run) for run in runs]
        if self.seeds is not None and len(runs) != len(self.seeds):
            raise ValueError(f"`runs` must hold one metrics dict per seed ({len(self.seeds)}). "
                             f"Received: {len(runs)} for {variant!r}")
        per_seed = {key: [run.get(key) for run in runs] for key in dict.fromkeys(k for run in runs for k in run)}
        row = {"variant": str(variant), **values, "seeds": per_seed, "intervals": {}}
        for key, seeded in per_seed.items():
            if key in values:
                continue
            if all(_is_number(v) or v is None for v in seeded) and any(_is_number(v) for v in seeded):
                interval = stats.mean_interval([float(v) for v in seeded if v is not None])
                row[key] = interval.mean if math.isfinite(interval.mean) else None
                row["intervals"][key] = {**interval.to_dict(), "of": len(seeded)}
            elif all(_is_number_list(v) for v in seeded) and len({len(v) for v in seeded}) == 1:
                row[key] = [sum(map(float, column)) / len(column) for column in zip(*seeded)]
            else:
                row[key] = _most_common(seeded)
        self.rows.append(row)
        self._print_row(row)
        return row

    def add_effect(self, metric, control, header=None, spec=None, ratio=False, missing=None, key=None):
        """Adds a column: each row's paired effect on `metric` over `control`, with its 95% CI.

        Call it after the rows. The effect is the per-seed `row - control` (or `row / control`
        with `ratio`), summarized by `stats.paired_effect`; the control row shows "—".

        Args:
            metric: a per-seed key of the rows (`add_seeds`).
            control: the control row's name, or a function `row -> name` (each row's own
                control, e.g. the same learning rate without the technique; `None` for none).
            header: the column's header. Defaults to `"<metric header> − <control>"`.
            spec: the format of the effect. Defaults to the metric column's.
            ratio, missing: as in `judge`.
            key: the row key the effect is stored under. Defaults to `"effect_<metric>"`.

        Returns:
            The key.
        """
        key = key or f"effect_{metric}"
        spec = spec or self._spec(metric)
        for row in self.rows:
            name = control(row) if callable(control) else control
            if name is None or name == row["variant"]:
                row[key] = None
                continue
            effect = stats.paired_effect(self.values(row["variant"], metric, missing),
                                         self.values(name, metric, missing), ratio=ratio)
            row[key] = effect.mean if math.isfinite(effect.mean) else None
            row.setdefault("intervals", {})[key] = {**effect.to_dict(), "of": self._n_seeds(), "signed": not ratio,
                                                    "ratio": ratio}
        if header is None:
            header = f"{self._header(metric)} {'/' if ratio else '−'} " + (
                control if isinstance(control, str) else "its control")
        self.columns.append((key, header, spec))
        return key

    def judge(self, metric, control, treatment, *, direction=1, claimed=None, ratio=False, missing=None,
              label=None, spec=None):
        """Judges one claim by the paired effect of `treatment` over `control` on `metric`.

        The effect is per seed `treatment - control` (or `treatment / control` with `ratio`),
        summarized as a mean with its 95% CI (`stats.paired_effect`). A directional claim
        agrees when the whole interval is on the claimed side of no effect, disagrees when
        it is wholly on the other side, and is inconclusive when it includes no effect (a
        tie never counts for or against). A quantitative claim (`claimed=14.0` with
        `ratio=True`: "14x") agrees when the interval holds the claim and not 1, is
        inconclusive when it holds both, and disagrees when it excludes the claim
        (`stats.verdict`). With one seed every verdict is inconclusive.

        Args:
            metric: the per-seed key compared (`"test_accuracy"`, `"epochs_to_target"`).
            control, treatment: row names, or sequences of per-seed values (same seed order).
            direction: `1` if the claim is that the treatment raises `metric`, `-1` if it
                lowers it (fewer epochs, a smaller error). Defaults to `1`.
            claimed: the claimed size of the effect (a ratio with `ratio=True`). Defaults to
                `None` (a directional claim).
            ratio: compare `treatment / control` on the log scale (multiplicative claims).
                Defaults to `False`.
            missing: what a seed's missing value (`None`: a target never reached) counts as:
                a number (`epochs + 1`), or the key of another metric of the same seed's run
                (`"seconds"`: its whole training time). Both are lower bounds of the truth.
                Defaults to `None`: that seed is left out of the pair.
            label: the comparison's name. Defaults to `"<treatment> − <control>, <metric>"`.
            spec: the effect's format. Defaults to the metric column's.

        Returns:
            `"agrees"`, `"disagrees"` or `"inconclusive"`; the judgment (effect, interval,
            verdict) is recorded for `to_markdown()` and `to_dict()`.
        """
        t_values, c_values = self.values(treatment, metric, missing), self.values(control, metric, missing)
        substituted = missing is not None and (self.values(treatment, metric, None) != t_values
                                               or self.values(control, metric, None) != c_values)
        effect = stats.paired_effect(t_values, c_values, ratio=ratio)
        verdict = stats.verdict(effect, direction=direction, claimed=claimed, null=1.0 if ratio else None)
        names = [v if isinstance(v, str) else "given values" for v in (treatment, control)]
        if label is None:
            t_name, c_name = (f"({n})" if "," in n else n for n in names)
            label = f"{t_name} {'/' if ratio else '−'} {c_name}, {self._header(metric)}"
        if substituted:
            label += f" (a seed without a value counted as its {missing.replace('_', ' ')})" if isinstance(
                missing, str) else f" (a seed without a value counted as {missing:g})"
        if claimed is not None:
            expected = f"{claimed:g}x" if ratio else f"{claimed:+g}"
        else:
            expected = f"{'>' if direction > 0 else '<'} {'1x' if ratio else '0'}"
        text = _format_interval({**effect.to_dict(), "of": len(t_values), "signed": not ratio, "ratio": ratio},
                                spec or self._spec(metric))
        detectable = _detectable(t_values, c_values, ratio)
        judgment = {
            "label": label, "metric": metric, "treatment": names[0], "control": names[1],
            "direction": direction, "claimed": claimed, "ratio": ratio, "effect": effect.to_dict(),
            "minimum_detectable_effect": detectable, "verdict": verdict,
            "text": f"{label}: {text} (claim: {expected}): {verdict}",
        }
        self.judgments.append(judgment)
        print(f"[{self.recipe or 'comparison'}] {judgment['text']}", flush=True)
        return verdict

    @property
    def verdict(self):
        """All judgments together: `"agrees"` if every one agrees, `"disagrees"` if any
        disagrees, else `"inconclusive"`; `None` before any `judge`."""
        verdicts = [j["verdict"] for j in self.judgments]
        if not verdicts:
            return None
        if stats.DISAGREES in verdicts:
            return stats.DISAGREES
        return stats.AGREES if all(v == stats.AGREES for v in verdicts) else stats.INCONCLUSIVE

    def note(self, text):
        """Adds a sentence printed under the table (a finding, a caveat)."""
        self.notes.append(" ".join(str(text).split()))

    def row(self, variant):
        """The row named `variant`."""
        for row in self.rows:
            if row["variant"] == variant:
                return row
        raise ValueError(f"`variant` must name a row ({[r['variant'] for r in self.rows]}). Received: {variant!r}")

    def best(self, key, highest=True):
        """The row with the highest (or lowest) finite value of `key` (the mean over seeds), or `None`."""
        rows = [r for r in self.rows if _is_number(r.get(key)) and math.isfinite(r[key])]
        if not rows:
            return None
        return (max if highest else min)(rows, key=lambda r: r[key])

    def to_markdown(self):
        """The table as markdown: heading, claim, seeds, table, notes, verdict."""
        lines = [f"### {self.title}", ""]
        if self.claim:
            lines += [f"Claim (the guide): {self.claim}", ""]
        if self.seeds is not None:
            lines += [_seeds_line(self.seeds), ""]
        headers = ["variant"] + [header.replace("|", "\\|") for _, header, _ in self.columns]
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("| " + " | ".join("---" if i == 0 else "---:" for i in range(len(headers))) + " |")
        for row in self.rows:
            lines.append("| " + " | ".join([format_value(row["variant"])] + self._cells(row)) + " |")
        notes = list(self.notes)
        shown = {key for key, _, _ in self.columns}  # a note about a cell the table shows
        if any(iv.get("n", 0) < iv.get("of", 0) for row in self.rows
               for key, iv in row.get("intervals", {}).items() if key in shown):
            notes.append("(k/N): the value exists for k of the N seeds (a target reached in k); "
                         "the mean and interval are of those k.")
        if notes:
            lines.append("")
            lines += [note if len(notes) == 1 else f"- {note}" for note in notes]
        if self.judgments:
            lines += ["", f"Verdict: **{self.verdict}** (each claim by the 95% CI of its paired effect over "
                      f"{_seed_count(self.seeds)}; inconclusive when the interval includes no effect):"]
            lines += [f"- {j['text']}" + _detectable_text(j, self._spec(j["metric"])) for j in self.judgments]
        return "\n".join(lines) + "\n"

    def to_dict(self):
        """A JSON-ready dict: title, claim, seeds, columns, rows, notes, judgments, verdict."""
        return {
            "title": self.title,
            "recipe": self.recipe,
            "shows": self.shows,
            "command": self.command,
            "claim": self.claim,
            "seeds": self.seeds,
            "columns": [{"key": k, "header": h} for k, h, _ in self.columns],
            "rows": [dict(r) for r in self.rows],
            "notes": list(self.notes),
            "judgments": [dict(j) for j in self.judgments],
            "verdict": self.verdict,
        }

    def write(self, directory, filename=COMPARISON_FILE, extra_markdown=None):
        """Writes `to_markdown()` (plus `extra_markdown`) to `directory/filename`; returns the path."""
        text = self.to_markdown() + (f"\n{extra_markdown.strip()}\n" if extra_markdown else "")
        return files.write_text(os.path.join(directory, filename), text)  # local or gs://

    def print(self):
        """Prints the markdown table (what the recipe measured) to stdout."""
        print("\n" + self.to_markdown())

    def _cells(self, row):
        intervals = row.get("intervals", {})
        return [_format_interval(intervals[key], spec) if key in intervals else format_value(row.get(key), spec)
                for key, _, spec in self.columns]

    def _print_row(self, row):
        cells = ", ".join(f"{header} {cell}" for (_, header, _), cell in zip(self.columns, self._cells(row)))
        print(f"[{self.recipe or 'comparison'}] {row['variant']}: {cells}", flush=True)

    def values(self, variant, metric, missing=None):
        """The per-seed values of `metric` in row `variant` (a sequence is returned as a list),
        with `missing` substituted as in `judge`."""
        if not isinstance(variant, str):
            return list(variant)
        per_seed = self.row(variant).get("seeds", {})
        if metric not in per_seed:
            raise ValueError(f"`metric` must be a per-seed key of row {variant!r}. Received: metric={metric!r}")
        values = list(per_seed[metric])
        for i, value in enumerate(values):
            if value is None and missing is not None:
                values[i] = per_seed[missing][i] if isinstance(missing, str) else missing
        return values

    def _n_seeds(self):
        return len(self.seeds) if self.seeds is not None else None

    def _header(self, metric):
        return next((h for k, h, _ in self.columns if k == metric), metric.replace("_", " "))

    def _spec(self, metric):
        return next((s for k, _, s in self.columns if k == metric), None)


def command_line(recipe, argv=None):
    """`python recipes/<recipe>.py` and its flags (`argv`, else the process's own)."""
    import shlex
    import sys

    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join(["python", f"recipes/{recipe}.py", *map(shlex.quote, args)])


def _column(column):
    if isinstance(column, str):
        return column, column.replace("_", " "), None
    if not isinstance(column, (tuple, list)) or len(column) not in (2, 3):
        raise ValueError(
            f"Each column must be a key, (key, header) or (key, header, format_spec). "
            f"Received: {column!r}"
        )
    return column[0], column[1], column[2] if len(column) == 3 else None


def _format_interval(interval, spec=None):
    """`"0.9611 ± 0.0082"`, `"+0.0111 ± 0.0094"` (an effect), `"2.10x [1.50x, 2.90x]"` (a ratio),
    a single value for one seed, `"—"` for none, and `" (k/N)"` when only k of N seeds have it."""
    n, of = interval.get("n", 0), interval.get("of")
    mean, low, high = (math.nan if interval.get(k) is None else interval[k] for k in ("mean", "low", "high"))
    if n == 0 or not math.isfinite(mean):
        text = "—"
    elif interval.get("ratio"):
        text = f"{mean:.2f}x" + (f" [{low:.2f}x, {high:.2f}x]" if n > 1 else "")
    else:
        if spec == "d":  # a mean of whole numbers (epochs) is not whole
            spec, mean = (".1f", mean) if n > 1 or mean != int(mean) else ("d", int(mean))
        sign = "+" if interval.get("signed") else ""
        text = format(mean, sign + (spec or ".4f"))
        if n > 1:
            text += f" ± {format((high - low) / 2, spec or '.4f')}"
    if of and 0 < n < of or (of and n == 0 and of > 1):
        text += f" ({n}/{of})"
    return text


def _detectable(treatment, control, ratio):
    """The smallest true effect a paired t-test over these seeds detects 80% of the time, from
    the spread of the per-seed effects (`stats.minimum_detectable_effect`; a ratio for `ratio`);
    `None` with fewer than two seeds or no spread."""
    pairs = [(float(t), float(c)) for t, c in zip(treatment, control)
             if _is_number(t) and _is_number(c) and math.isfinite(t) and math.isfinite(c)
             and (not ratio or (t > 0 and c > 0))]
    effects = [math.log(t / c) if ratio else t - c for t, c in pairs]
    if len(effects) < 2:
        return None
    mean = sum(effects) / len(effects)
    sd = math.sqrt(sum((e - mean) ** 2 for e in effects) / (len(effects) - 1))
    if sd == 0:
        return None
    size = stats.minimum_detectable_effect(len(effects), sd)
    return math.exp(size) if ratio else size


def _detectable_text(judgment, spec):
    size = judgment.get("minimum_detectable_effect")
    if size is None:
        return ""
    shown = f"{size:.2f}x" if judgment.get("ratio") else format(size, ".1f" if spec == "d" else spec or ".4f")
    return f" (the smallest effect these seeds detect 80% of the time: {shown})"


def _seeds_line(seeds):
    if len(seeds) == 1:
        return (f"One seed ({seeds[0]}): single values, and every verdict is inconclusive "
                "(`--seeds 3` or more gives intervals).")
    return (f"Seeds {', '.join(map(str, seeds))}: every variant of a seed starts from the same initial "
            "weights; a cell is the mean over the seeds ± the half-width of its 95% confidence "
            "interval (Student t); an effect is the paired per-seed difference.")


def _seed_count(seeds):
    n = len(seeds) if seeds is not None else 1
    return f"{n} seed" + ("s" if n != 1 else "")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_number_list(value):
    return isinstance(value, (list, tuple)) and all(_is_number(v) for v in value)


def _most_common(values):
    """The most frequent value, with `" (k/N)"` when not every seed agrees (text), or `None`."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    value, count = collections.Counter(present).most_common(1)[0]
    if count == len(values):
        return value
    return f"{format_value(value)} ({count}/{len(values)})"
