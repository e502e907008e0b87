"""Preemption-safe training: checkpoint every N steps, resume mid-epoch exactly.

Keras' `BackupAndRestore` (3.15) restores weights and optimizer from mid-epoch but restarts
that epoch from batch 0, so the batches already trained are trained again and
`optimizer.iterations` overshoots; it keeps no callback state (`EarlyStopping` and
`ReduceLROnPlateau` lose `wait` and `best`, tf-keras#430); it deletes its folder at the end;
and under multi-worker every worker writes the same folder. `BackupAndResume` fixes each:
with a pipeline from `kerasext.data` it skips exactly the batches already done, in the same
order; it saves the state of the callbacks it is given; it keeps its checkpoints; only the
chief writes; and each checkpoint is committed by an atomic rename of a pointer file, so a
kill during a write leaves the previous checkpoint usable.
"""

import io
import json
import logging
import math
import os
import re
import shutil
import tempfile

import h5py
import keras
import numpy as np
import tensorflow as tf

from kerasext.data import position_of
from kerasext.distribute import cluster_workers, is_chief
from kerasext.runner import files
from kerasext.runner.errors import UsageError

LATEST = "latest"  # a file naming the newest complete checkpoint folder
WEIGHTS, STATE, ARRAYS = "model.weights.h5", "state.json", "arrays.npz"
_NAME = re.compile(r"ckpt-(\d+)(-end)?")  # a checkpoint folder: never a path, never outside

# What Keras' own stateful callbacks must keep across a restart.
_KERAS_STATE = {
    keras.callbacks.EarlyStopping: ("wait", "stopped_epoch", "best", "best_weights", "best_epoch"),
    keras.callbacks.ReduceLROnPlateau: ("wait", "cooldown_counter", "best"),
    keras.callbacks.ModelCheckpoint: ("best",),
}


class BackupAndResume(keras.callbacks.Callback):
    """Checkpoints every `save_every` steps and at each epoch end; resumes mid-epoch exactly.

    On `on_train_begin` it loads the newest checkpoint in `backup_dir` that reads (the one
    `latest` names, else the newest older one, said on the `kerasext` logger), if any: weights and
    optimizer state, the epoch to start from, the batches of that epoch already trained
    (skipped through the training pipeline's `DataPosition`), the running metric totals
    of that epoch, and the state of `callbacks`. So the same command, run again after a
    kill, ends with the weights and metrics an uninterrupted run ends with.

    Keras' `BackupAndRestore` is the alternative when a restarted epoch may repeat batches.

    Args:
        backup_dir: folder for the checkpoints (local or `gs://`).
        data: the training dataset, from `kerasext.data.load` or `make_dataset` with
            shuffling; without it a resumed epoch starts from its first batch.
        callbacks: other callbacks whose state must survive a restart: Keras'
            `EarlyStopping`, `ReduceLROnPlateau`, `ModelCheckpoint`, and any object with
            `get_state()` / `set_state(state)` (kerasext's `LearningCurveDiagnosis`).
            Put `BackupAndResume` after them in the list given to `fit`: it restores their
            state after their `on_train_begin` resets it, and saves it after their
            `on_epoch_end` updates it.
        save_every: steps between checkpoints; `0` saves at epoch ends only.
            Defaults to `100`.
        keep: complete checkpoints to keep. Defaults to `2`.

    Attributes:
        resumed_from: `None`, or `(epoch, batch, step)` where this run picked up.
        diverged_at: `None`, or `(step, epoch, batch)` where the loss became NaN or
            infinite; training then stops and that step is not saved.

    Example:

    >>> backup = BackupAndResume("runs/x/backup", data=train, save_every=50)
    >>> model.fit(train, epochs=10, callbacks=[backup])  # doctest: +SKIP
    """

    def __init__(self, backup_dir, data=None, callbacks=(), save_every=100, keep=2):
        super().__init__()
        if not backup_dir:
            raise ValueError(f"`backup_dir` must be a folder. Received: backup_dir={backup_dir!r}")
        if not isinstance(save_every, int) or save_every < 0:
            raise ValueError(f"`save_every` must be an int >= 0. Received: save_every={save_every!r}")
        if not isinstance(keep, int) or keep < 1:
            raise ValueError(f"`keep` must be an int >= 1. Received: keep={keep!r}")
        self.backup_dir = str(backup_dir)
        self.save_every = save_every
        self.keep = keep
        self._position = position_of(data) if data is not None else None
        self._tracked = list(callbacks)
        self.resumed_from = None
        self.diverged_at = None
        self._pending = None  # a loaded checkpoint's state, applied at the first epoch
        self._carry = None  # tracked callbacks' state between two fits of one run
        self._metric_totals = None
        self._found = None  # the checkpoint to resume from: (folder, state, arrays), or ()

    # Keras hooks -------------------------------------------------------------------

    def start_point(self):
        """`(epoch, batch)` where the newest checkpoint resumes, or `None` without one.

        Raises:
            UsageError: if checkpoints are there but none of them reads (naming the file).
        """
        found = self._checkpoint()
        if found is None:
            return None
        state = found[1]
        epoch, batch = state["epoch"], state["batch"]
        if self._position is not None and batch >= self._position.batches_per_epoch:
            # Saved after the last batch of an epoch by an older kerasext, before that
            # epoch's end (validation, callbacks): resumed past it, as it was then.
            epoch, batch = epoch + 1, 0
        return epoch, batch

    def _checkpoint(self):
        if self._found is None:
            self._found = find_checkpoint(self.backup_dir) or ()
        return self._found or None

    def on_train_begin(self, logs=None):
        # Tracked callbacks are restored here, after their own `on_train_begin` has reset
        # them: this callback must come after them in the list given to `fit`.
        self.diverged_at = None
        if self._carry is not None:  # a later `fit` of the same run, in this process
            states, arrays = self._carry
            self._carry = None
            _restore_callbacks(self._tracked, states, arrays)
            return
        start = self.start_point()
        if start is None:
            return
        folder, state, arrays = self._checkpoint()
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        try:
            self.model.load_weights(os.path.join(folder, WEIGHTS))
        except Exception as error:  # noqa: BLE001 - h5py and Keras raise many kinds
            raise UsageError(
                f"Cannot resume from {os.path.join(folder, WEIGHTS)}: {type(error).__name__}: "
                f"{error} (a different model?); resume with the same flags, or pick a new folder"
            ) from None
        epoch, batch = start
        self.model._initial_epoch = epoch  # how Keras' own BackupAndRestore moves `fit` on
        self.resumed_from = (epoch, batch, int(self.model.optimizer.iterations.numpy()))
        logging.getLogger("kerasext").info(
            "kerasext: resuming from %s (epoch %d, batch %d)", folder, epoch + 1, batch)
        _restore_callbacks(self._tracked, state.get("callbacks", {}), arrays)
        self._pending = (epoch, batch, state.get("metrics"))

    def on_train_end(self, logs=None):
        # The stale-epoch bug of Keras' BackupAndRestore: a model that resumed once would
        # start its next `fit` at the resumed epoch. Later fits of this run continue with
        # the tracked callbacks' state, which their `on_train_begin` would otherwise reset.
        self.model._initial_epoch = None
        arrays = {}
        self._carry = (_callback_states(self._tracked, arrays), arrays)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._batch = epoch, 0
        skip = 0
        if self._pending is not None:
            start_epoch, skip, totals = self._pending
            if epoch != start_epoch:
                skip = 0
            self._metric_totals = totals if skip else None
            self._batch = skip
            self._pending = None
        if self._position is not None:
            self._position.set(epoch, skip)

    def on_train_batch_end(self, batch, logs=None):
        if self._metric_totals:
            _add_metric_totals(self.model, self._metric_totals)  # the resumed epoch's earlier batches
            self._metric_totals = None
        self._batch += 1
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            step = int(self.model.optimizer.iterations.numpy())
            self.diverged_at = (step, self._epoch, self._batch - 1)
            self.model.stop_training = True
            return
        if (self.save_every and int(self.model.optimizer.iterations.numpy()) % self.save_every == 0
                and not self._last_batch(batch)):
            self._save()

    def _last_batch(self, batch):
        # The epoch's last batch is not saved: a kill during the validation after it would
        # resume past that epoch's end (validation, history row, EarlyStopping, ...). The
        # end-of-epoch checkpoint follows, after every callback's `on_epoch_end`.
        if self._position is not None and self._batch >= self._position.batches_per_epoch:
            return True
        steps = (self.params or {}).get("steps")
        return steps is not None and batch + 1 >= steps

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged_at is None:
            self._save(end_of_epoch=True)

    # Checkpoints -------------------------------------------------------------------

    def _save(self, end_of_epoch=False):
        # Every worker saves, as reading some distributed variables is a collective they
        # must all join; only the chief's copy is kept (Keras' multi-worker saving pattern).
        chief = is_chief()
        root = self.backup_dir if chief else tempfile.mkdtemp(prefix="kerasext-backup-")
        step = int(self.model.optimizer.iterations.numpy())
        name = f"ckpt-{step}" + ("-end" if end_of_epoch else "")
        folder = os.path.join(root, name)
        tf.io.gfile.makedirs(folder)
        self.model.save_weights(os.path.join(folder, WEIGHTS), overwrite=True)
        arrays = {}
        state = {
            "epoch": self._epoch + 1 if end_of_epoch else self._epoch,
            "batch": 0 if end_of_epoch else self._batch,
            "step": step,
            "metrics": None if end_of_epoch else _metric_totals(self.model),
            "callbacks": _callback_states(self._tracked, arrays),
        }
        files.write_text(os.path.join(folder, STATE), json.dumps(state, default=_plain))
        _write_arrays(os.path.join(folder, ARRAYS), arrays)
        if not chief:
            shutil.rmtree(root, ignore_errors=True)
            return
        files.write_text(os.path.join(self.backup_dir, LATEST), name)  # the commit
        self._found = None
        self._prune(keep=name)

    def _prune(self, keep):
        for old in _folders(self.backup_dir)[self.keep:]:
            if old != keep:
                tf.io.gfile.rmtree(os.path.join(self.backup_dir, old))


def latest_checkpoint(backup_dir):
    """The newest checkpoint folder in `backup_dir` whose files all read, or `None`."""
    try:
        found = find_checkpoint(backup_dir)
    except UsageError:
        return None
    return found[0] if found else None


def find_checkpoint(backup_dir):
    """The checkpoint to resume from: `(folder, state, arrays)`, or `None` without one.

    The folder `latest` names comes first; if it is missing or damaged (or `latest` is),
    the newest older folder whose files all read, said on the `kerasext` logger.

    Raises:
        UsageError: if checkpoint folders are there but none reads: one line naming the
            newest one's damaged file.
    """
    if not tf.io.gfile.isdir(backup_dir):
        return None
    named = _pointer(backup_dir)
    candidates = _folders(backup_dir)
    if named in candidates:
        candidates.remove(named)
        candidates.insert(0, named)
    log = logging.getLogger("kerasext")
    problems = []
    for name in candidates:
        folder = os.path.join(backup_dir, name)
        try:
            state, arrays = _read_checkpoint(folder)
        except _Damaged as error:
            problems.append(str(error))
            continue
        if problems or name != named:
            log.warning("kerasext: %s; resuming from the newest checkpoint that reads: %s",
                        "; ".join(problems) or f"{os.path.join(backup_dir, LATEST)} names no "
                        "readable checkpoint", folder)
        return folder, state, arrays
    if problems:
        raise UsageError(
            f"No checkpoint in {backup_dir} reads: {problems[0]}"
            + (f" (and {len(problems) - 1} older)" if len(problems) > 1 else "")
            + f"; delete {backup_dir} to start the run over"
        )
    if named is not None or tf.io.gfile.exists(os.path.join(backup_dir, LATEST)):
        log.warning("kerasext: %s names no checkpoint there: the run starts over",
                    os.path.join(backup_dir, LATEST))
    return None


class _Damaged(Exception):
    """A checkpoint file that does not read; the message names it."""


def _pointer(backup_dir):
    """The folder name `latest` holds, if it is a checkpoint name (never a path), else `None`."""
    try:
        with tf.io.gfile.GFile(os.path.join(backup_dir, LATEST)) as file:
            name = file.read().strip()
    except (OSError, UnicodeDecodeError, tf.errors.OpError):
        return None
    return name if _NAME.fullmatch(name) else None


def _folders(backup_dir):
    """Checkpoint folder names in `backup_dir`, newest first (an epoch's end after its step)."""
    names = [n.rstrip("/") for n in tf.io.gfile.listdir(backup_dir)]
    names = [n for n in names if _NAME.fullmatch(n)]
    return sorted(names, key=lambda n: (_step_of(n), n.endswith("-end")), reverse=True)


def _read_checkpoint(folder):
    """`(state, arrays)` of a checkpoint folder, after checking its weights file reads.

    Raises:
        _Damaged: naming the first file that is missing or does not read.
    """
    path = os.path.join(folder, STATE)
    try:
        with tf.io.gfile.GFile(path) as file:
            state = json.load(file)
        if not (isinstance(state, dict) and isinstance(state.get("epoch"), int)
                and isinstance(state.get("batch"), int) and state["epoch"] >= 0 and state["batch"] >= 0):
            raise ValueError("not a checkpoint's state (epoch, batch)")
        path = os.path.join(folder, ARRAYS)
        arrays = _read_arrays(path)
        path = os.path.join(folder, WEIGHTS)
        _check_weights(path)
    except Exception as error:  # noqa: BLE001 - json, zipfile, h5py and gfile raise many kinds
        reason = "missing" if not tf.io.gfile.exists(path) else f"{type(error).__name__}: {error}"
        raise _Damaged(f"{path} does not read ({' '.join(reason.split())})") from None
    return state, arrays


def _metric_variables(model):
    return [v for metric in model.metrics for v in metric.variables]


def _metric_totals(model):
    # Under a multi-worker strategy a metric variable is summed across workers when read:
    # a collective every worker would have to join. The resumed epoch's training metrics
    # then cover the batches after the restart only; weights and optimizer stay exact.
    if cluster_workers() > 1:
        return None
    return [np.asarray(v.numpy()).tolist() for v in _metric_variables(model)]


def _add_metric_totals(model, totals):
    variables = _metric_variables(model)
    if len(variables) != len(totals):
        return  # a different model: leave the metrics to this epoch's batches
    for variable, total in zip(variables, totals):
        variable.assign(variable.numpy() + np.asarray(total, variable.dtype))


def _callback_states(callbacks, arrays):
    states = {}
    for index, callback in enumerate(callbacks):
        key = f"{index}:{type(callback).__name__}"
        if hasattr(callback, "get_state"):
            states[key] = callback.get_state()
            continue
        names = next((n for cls, n in _KERAS_STATE.items() if isinstance(callback, cls)), ())
        state = {}
        for name in names:
            value = getattr(callback, name, None)
            if isinstance(value, list) and value and hasattr(value[0], "shape"):  # weights
                for i, array in enumerate(value):
                    arrays[f"{key}.{name}.{i}"] = np.asarray(array)
                state[name] = {"arrays": len(value)}
            else:
                state[name] = _plain(value)
        states[key] = state
    return states


def _restore_callbacks(callbacks, states, arrays):
    for index, callback in enumerate(callbacks):
        key = f"{index}:{type(callback).__name__}"
        if key not in states:
            continue
        if hasattr(callback, "set_state"):
            callback.set_state(states[key])
            continue
        for name, value in states[key].items():
            if isinstance(value, dict) and "arrays" in value:
                value = [arrays[f"{key}.{name}.{i}"] for i in range(value["arrays"])]
            setattr(callback, name, value)


def _plain(value):
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy()).tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return value  # json writes Infinity, and reads it back
    return value


def _write_arrays(path, arrays):
    buffer = io.BytesIO()  # zipfile seeks back, which a gs:// file cannot
    np.savez(buffer, **arrays)
    files.write_text(path, buffer.getvalue())


def _read_arrays(path):
    with tf.io.gfile.GFile(path, "rb") as file:
        buffer = io.BytesIO(file.read())
    with np.load(buffer) as data:
        return {k: data[k] for k in data.files}


def _check_weights(path):
    """Opens a weights file and reads its layout (a truncated HDF5 file fails here)."""
    if "://" in path:  # gs:// and the like: h5py reads it from memory
        with tf.io.gfile.GFile(path, "rb") as file:
            path = io.BytesIO(file.read())
    with h5py.File(path, "r") as weights:
        weights.visititems(lambda name, item: None)


def _step_of(folder):
    return int(folder.split("-")[1])
