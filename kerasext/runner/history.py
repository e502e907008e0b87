"""history.csv, rewritten at every epoch end from every epoch so far."""

import csv
import io

import keras

from kerasext.runner import files


class HistoryWriter(keras.callbacks.Callback):
    """Rewrites history.csv at each epoch end from every epoch so far, including those
    trained before a restart (its state travels in the backup)."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.rows = []

    def get_state(self):
        return {"rows": self.rows}

    def set_state(self, state):
        self.rows = [dict(row) for row in state["rows"]]

    def on_epoch_end(self, epoch, logs=None):
        self.rows = [r for r in self.rows if r["epoch"] < epoch]
        self.rows.append({"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}})
        keys = list(dict.fromkeys(k for row in self.rows for k in row))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=keys)
        writer.writeheader()
        writer.writerows(self.rows)
        files.write_text(self.path, text.getvalue())

    def columns(self):
        keys = [k for k in dict.fromkeys(k for row in self.rows for k in row) if k != "epoch"]
        return {k: [row.get(k, float("nan")) for row in self.rows] for k in keys}
