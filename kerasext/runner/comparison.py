"""A table of measured variants: rows in, markdown and a JSON-ready dict out."""

import math
import os

from kerasext.runner import files

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

    Example:

    ```python
    table = Comparison("Dropout", [("test_accuracy", "test accuracy"), ("seconds", "s", ".1f")])
    table.add("without", test_accuracy=0.97, seconds=12.3)
    table.add("dropout 0.5", test_accuracy=0.98, seconds=12.9)
    table.note("Dropout helped by 0.01.")
    print(table.to_markdown())
    ```
    """

    def __init__(self, title, columns, claim=None, recipe=None, shows=None, command=None):
        self.title = title
        self.columns = [_column(c) for c in columns]
        if not self.columns:
            raise ValueError(f"`columns` must not be empty. Received: columns={columns!r}")
        self.claim = claim
        self.recipe = recipe
        self.shows = shows
        self.command = command
        self.holds = None
        self.rows = []
        self.notes = []
        self.summary = None

    def add(self, variant, **values):
        """Adds a row and prints it on one line; keys not among the columns are kept in
        `to_dict()` but not shown in the table."""
        row = {"variant": str(variant), **values}
        self.rows.append(row)
        cells = ", ".join(f"{header} {format_value(row.get(key), spec)}" for key, header, spec in self.columns)
        print(f"[{self.recipe or 'comparison'}] {variant}: {cells}", flush=True)
        return row

    def note(self, text):
        """Adds a sentence printed under the table (a finding, a caveat)."""
        self.notes.append(" ".join(str(text).split()))

    def check_claim(self, holds, measured):
        """Records whether the measurement agrees with `claim`, and says so under the table.

        Args:
            holds: `True` if the measurement supports the claim, `False` if it does not.
            measured: one sentence with the numbers.
        """
        verdict = "agrees with" if holds else "does NOT agree with"
        self.summary = measured
        self.holds = bool(holds)
        self.note(f"Measured: {measured} This {verdict} the guide's claim.")

    def best(self, key, highest=True):
        """The row with the highest (or lowest) finite value of `key`, or `None`."""
        rows = [r for r in self.rows if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
        if not rows:
            return None
        return (max if highest else min)(rows, key=lambda r: r[key])

    def to_markdown(self):
        """The table as markdown: heading, claim, table, notes."""
        lines = [f"### {self.title}", ""]
        if self.claim:
            lines += [f"Claim (the guide): {self.claim}", ""]
        headers = ["variant"] + [header for _, header, _ in self.columns]
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("| " + " | ".join("---" if i == 0 else "---:" for i in range(len(headers))) + " |")
        for row in self.rows:
            cells = [format_value(row["variant"])]
            cells += [format_value(row.get(key), spec) for key, _, spec in self.columns]
            lines.append("| " + " | ".join(cells) + " |")
        if self.notes:
            lines.append("")
            lines += [f"{note}" if len(self.notes) == 1 else f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def to_dict(self):
        """A JSON-ready dict: title, claim, columns, rows, notes, summary."""
        return {
            "title": self.title,
            "recipe": self.recipe,
            "shows": self.shows,
            "command": self.command,
            "claim": self.claim,
            "columns": [{"key": k, "header": h} for k, h, _ in self.columns],
            "rows": [dict(r) for r in self.rows],
            "notes": list(self.notes),
            "summary": self.summary,
            "claim_holds": self.holds,
        }

    def write(self, directory, filename=COMPARISON_FILE, extra_markdown=None):
        """Writes `to_markdown()` (plus `extra_markdown`) to `directory/filename`; returns the path."""
        text = self.to_markdown() + (f"\n{extra_markdown.strip()}\n" if extra_markdown else "")
        return files.write_text(os.path.join(directory, filename), text)  # local or gs://

    def print(self):
        """Prints the markdown table (what the recipe measured) to stdout."""
        print("\n" + self.to_markdown())


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
