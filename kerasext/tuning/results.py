"""What a sweep leaves to read: trials.csv, best.json, sweep_trials.png and TensorBoard HParams.

Only the process that holds the oracle writes them (the chief, or the single process of a
local sweep); they are rewritten from the oracle's trials each time a trial ends.
"""

import csv
import io
import json
import math
import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kerasext.tuning import failures

TRIALS, BEST, PLOT, HPARAMS = "trials.csv", "best.json", "sweep_trials.png", "hparams"
ENDED = ("COMPLETED", "FAILED", "INVALID")


class SweepResults:
    """Writes a sweep's results from its oracle.

    Args:
        directory: the sweep folder.
        hypermodel: the `RecipeHyperModel` (its space, objective and `config`).
        direction: `"max"` or `"min"`.
        title: the plot's title. Defaults to `None`.
    """

    def __init__(self, directory, hypermodel, direction, title=None):
        self.directory = directory
        self.hypermodel = hypermodel
        self.direction = direction
        self.title = title
        self._reported = set()

    def path(self, name):
        return os.path.join(self.directory, name)

    def rows(self, oracle):
        """One dict per trial, by trial id: trial, status, objective (and std and folds with
        k-fold), seconds, the hyperparameters, Hyperband's `tuner/...` values, retries (runs
        again after an infrastructure failure, when there were any), error (`recipe: ...`
        or `infrastructure: ...`)."""
        objective, cv = self.hypermodel.objective, self.hypermodel.cv
        rows = []
        # Keras Tuner pads ids to the digits of max_trials, which a resumed sweep may raise ("8", "09")
        for trial_id, trial in sorted(dict(oracle.trials).items(), key=lambda item: int(item[0])):
            metrics = trial.metrics

            def value(name):
                return metrics.get_last_value(name) if metrics.exists(name) else None

            row = {"trial": trial_id, "status": trial.status, objective: value(objective)}
            if cv:
                row[f"{objective}_std"] = value(f"{objective}_std")
            row["seconds"] = value("seconds")
            values = trial.hyperparameters.values
            row.update({name: values.get(name) for name in self.hypermodel.space})
            row.update({k: v for k, v in values.items() if k.startswith("tuner/")})
            if cv:
                row.update({f"fold{i}": value(f"{objective}_fold{i}") for i in range(1, cv + 1)})
            retries = failures.retries(oracle, trial)
            if retries:
                row["retries"] = retries
            if trial.status in ("FAILED", "INVALID") and trial.message:
                row["error"] = failures.reason(trial.message)
            rows.append(row)
        return rows

    def best(self, rows):
        done = [r for r in rows if r["status"] == "COMPLETED" and r[self.hypermodel.objective] is not None]
        if not done:
            return None
        key = lambda r: r[self.hypermodel.objective]  # noqa: E731
        return max(done, key=key) if self.direction == "max" else min(done, key=key)

    def write(self, oracle, plot=True):
        """Rewrites the result files; prints one line per trial that ended since the last call.

        Args:
            oracle: the sweep's oracle.
            plot: also redraw sweep_trials.png (half a second: the sweep does it at the end).

        Returns:
            The rows.
        """
        rows = self.rows(oracle)
        if not rows:
            return rows
        _write_text(self.path(TRIALS), _csv(rows))
        best = self.best(rows)
        if best is not None:
            config = self.hypermodel.config(self.hypermodel.argv(_values(best)))
            _write_text(self.path(BEST), json.dumps(config, indent=2, default=list) + "\n")
        if plot:
            plot_trials(rows, self.hypermodel.space, self.hypermodel.objective, self.path(PLOT),
                        direction=self.direction, title=self.title)
        write_hparams(self.path(HPARAMS), rows, self.hypermodel.space, self.hypermodel.objective)
        for row in rows:
            if row["status"] in ENDED and row["trial"] not in self._reported:
                self._reported.add(row["trial"])
                print(summary(row, self.hypermodel), flush=True)
        return rows


def summary(row, hypermodel):
    objective = hypermodel.objective
    score = row.get(objective)
    text = f"trial {row['trial']} {row['status']}"
    if score is not None:
        text += f" {objective}={score:.4f}"
        if row.get(f"{objective}_std") is not None:
            text += f" ± {row[f'{objective}_std']:.4f}"
    values = ", ".join(f"{name}={_short(row[name])}" for name in hypermodel.space)
    text += f" ({values})"
    if row.get("seconds") is not None:
        text += f" {row['seconds']:.1f} s"
    if row.get("error"):
        text += f": {row['error']}"
    return text


def plot_trials(rows, space, objective, path, direction="max", title=None):
    """A PNG: the objective per trial (with the best so far), and against each hyperparameter."""
    done = [r for r in rows if r["status"] == "COMPLETED" and r.get(objective) is not None]
    panels = 1 + len(space)
    columns = min(panels, 4)
    lines = math.ceil(panels / columns)
    figure = Figure(figsize=(4.0 * columns, 3.3 * lines))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(lines, columns, 1)
    numbers = [int(r["trial"]) for r in done]
    scores = [r[objective] for r in done]
    errors = [r.get(f"{objective}_std") for r in done]
    if any(e is not None for e in errors):
        axes.errorbar(numbers, scores, yerr=[e or 0 for e in errors], fmt="o", capsize=3, label="trial (± std)")
    else:
        axes.plot(numbers, scores, "o", label="trial")
    best, running = [], None
    for score in scores:
        running = score if running is None else (max if direction == "max" else min)(running, score)
        best.append(running)
    axes.step(numbers, best, where="post", label="best so far")
    axes.set_xlabel("trial")
    axes.set_ylabel(objective)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    for index, (name, spec) in enumerate(space.items()):
        axes = figure.add_subplot(lines, columns, index + 2)
        values = [r[name] for r in done]
        if "categorical" in spec:
            labels = [str(v) for v in spec["categorical"]]
            axes.plot([labels.index(str(v)) for v in values], scores, "o")
            axes.set_xticks(range(len(labels)), labels, fontsize=8)
        else:
            axes.plot(values, scores, "o")
            if spec.get("scale", "linear") != "linear":
                axes.set_xscale("log")
        axes.set_xlabel(name)
        axes.set_ylabel(objective)
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    return path


def write_hparams(root, rows, space, objective):
    """TensorBoard HParams: the experiment under `root`, one run per completed trial (written once)."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    hparams = {name: hp_api.HParam(name, _domain(hp_api, spec)) for name, spec in space.items()}
    if not os.path.isdir(root):
        _summaries(root, lambda: hp_api.hparams_config(
            hparams=list(hparams.values()), metrics=[hp_api.Metric(objective, display_name=objective)]))
    for row in rows:
        folder = os.path.join(root, f"trial_{row['trial']}")
        if row["status"] != "COMPLETED" or row.get(objective) is None or os.path.isdir(folder):
            continue

        def write(row=row):
            hp_api.hparams({hparams[n]: row[n] for n in space}, trial_id=f"trial_{row['trial']}")
            tf.summary.scalar(objective, row[objective], step=1)

        _summaries(folder, write)


def _summaries(folder, write):
    import tensorflow as tf

    writer = tf.summary.create_file_writer(folder)
    with writer.as_default():
        write()
    writer.close()


def _domain(hp_api, spec):
    if "double" in spec:
        return hp_api.RealInterval(*(float(v) for v in spec["double"]))
    if "integer" in spec:
        return hp_api.IntInterval(*spec["integer"])
    values = spec.get("discrete") or spec["categorical"]
    return hp_api.Discrete([float(v) for v in values] if "discrete" in spec else list(values))


def _values(row):
    return {k: v for k, v in row.items() if v is not None}


def _csv(rows):
    keys = list(dict.fromkeys(k for row in rows for k in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=keys)
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    return text.getvalue()


def _write_text(path, text):
    temporary = f"{path}.tmp"
    with open(temporary, "w") as file:
        file.write(text)
    os.replace(temporary, path)  # a reader never sees half a file


def _short(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)
