"""history.csv, rewritten at every epoch end from every epoch so far."""

import csv
import io

import keras
from keras import ops

from kerasext.runner import files

MOMENTUM_ATTRIBUTES = ("beta_1", "momentum")  # Adam's and the others', SGD's and RMSprop's


class HistoryWriter(keras.callbacks.Callback):
    """Rewrites history.csv at each epoch end from every epoch so far, including those
    trained before a restart (its state travels in the backup).

    Besides the logs, each row holds the optimizer's `learning_rate` (see `optimizer_values`)
    and, when it follows a curve (one-cycle), its `momentum`.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.rows = []

    def get_state(self):
        return {"rows": self.rows}

    def set_state(self, state):
        self.rows = [dict(row) for row in state["rows"]]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        values = {k: float(v) for k, v in logs.items()}
        values.update(optimizer_values(getattr(self, "model", None), logs))
        self.rows = [r for r in self.rows if r["epoch"] < epoch]
        self.rows.append({"epoch": epoch, **values})
        keys = list(dict.fromkeys(k for row in self.rows for k in row))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=keys)
        writer.writeheader()
        writer.writerows(self.rows)
        files.write_text(self.path, text.getvalue())

    def columns(self):
        keys = [k for k in dict.fromkeys(k for row in self.rows for k in row) if k != "epoch"]
        return {k: [row.get(k, float("nan")) for row in self.rows] for k in keys}


def optimizer_values(model, logs=None):
    """The learning rate (and a cycled momentum) of the epoch's last step, read at its end.

    A `LearningRateSchedule` is evaluated at that step (`optimizer.iterations - 1`); a
    float learning rate is the `learning_rate` already in `logs` if a callback put it there
    (Keras' `ReduceLROnPlateau` and `LearningRateScheduler` read it from the optimizer
    before they change it for the next epoch), else the optimizer's. The momentum (`beta_1`
    or `momentum`) is recorded only when it is not a plain float, i.e. when it follows a
    curve: from `logs["momentum"]` (kerasext's `OneCycle` and `CosineAnnealing` write the
    last step's value there) or else read from the optimizer.

    Args:
        model: the model being trained (or `None`).
        logs: the epoch's logs. Defaults to `None`.

    Returns:
        A dict with `learning_rate` and possibly `momentum` (floats); empty without an optimizer.
    """
    logs = logs or {}
    optimizer = getattr(model, "optimizer", None)
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # under loss scaling
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        return {}
    values = {}
    rate = getattr(optimizer, "_learning_rate", None)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        step = max(int(ops.convert_to_numpy(optimizer.iterations)) - 1, 0)
        values["learning_rate"] = float(ops.convert_to_numpy(rate(step)))
    elif "learning_rate" in logs:
        values["learning_rate"] = float(logs["learning_rate"])
    else:
        values["learning_rate"] = float(ops.convert_to_numpy(optimizer.learning_rate))
    momentum = next((getattr(optimizer, a) for a in MOMENTUM_ATTRIBUTES if hasattr(optimizer, a)), None)
    if isinstance(momentum, keras.Variable):
        values["momentum"] = float(logs.get("momentum", ops.convert_to_numpy(momentum)))
    return values
