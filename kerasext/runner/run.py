"""One output folder per run: config.json, model.keras, history.csv, metrics.json, curves.png, logs.

A run that was killed resumes when the same command runs again with the same `--model-dir`
(or `$AIP_MODEL_DIR`): its folder holds a checkpoint under `backup/` and no `metrics.json`.
"""

import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from kerasext import data as kdata
from kerasext.callbacks.backup import BackupAndResume, latest_checkpoint
from kerasext.distribute import get_strategy, is_chief
from kerasext.plot import plot_history

CONFIG, MODEL, HISTORY, METRICS, CURVES, LOGS, BACKUP = (
    "config.json", "model.keras", "history.csv", "metrics.json", "curves.png", "logs", "backup",
)
_NOT_COMPARED = ("model_dir", "config")  # flags that may differ when a run resumes


def setup(args):
    """Checks the output folder, seeds everything, sets precision and determinism.

    Also shows kerasext's own log lines (the strategy chosen, a resume, ...) on stderr.
    """
    if is_chief():  # other workers write nothing of the run
        check_model_dir(args)
    _log.pause()  # kerasext's lines wait for start_run: a bad input prints only its error
    strategy(args)  # first: a multi-worker strategy must exist before any TensorFlow op runs
    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_global_policy(args.mixed_precision or "float32")
    if getattr(args, "deterministic", False):
        tf.config.experimental.enable_op_determinism()


class _HeldLog(logging.Handler):
    """Shows kerasext's log lines on the current stderr, holding them back while paused.

    (`logging.Handler` has `acquire`/`release` for its lock: hence `pause` / `show_held`.)
    """

    def __init__(self):
        super().__init__(logging.INFO)
        self._held = None

    def pause(self):
        self._held = []

    def show_held(self):
        held, self._held = self._held or [], None
        for record in held:
            self.emit(record)

    def emit(self, record):
        if self._held is not None:
            self._held.append(record)
        else:
            sys.stderr.write(self.format(record) + "\n")


_log = _HeldLog()
logging.getLogger("kerasext").addHandler(_log)
logging.getLogger("kerasext").setLevel(logging.INFO)
logging.getLogger("kerasext").propagate = False  # absl puts a handler on the root logger
_strategies = {}


def strategy(args):
    """`kerasext.distribute.get_strategy` with `--strategy` and `--tpu`, made once per process."""
    key = (args.strategy, args.tpu)
    if key not in _strategies:
        _strategies[key] = get_strategy(args.strategy, tpu=args.tpu)
    return _strategies[key]


@contextlib.contextmanager
def scope(args):
    """Build and compile the model in here: the strategy's scope, plus `--remat`."""
    with strategy(args).scope():
        if getattr(args, "remat", False):
            # Layers with an activation recompute their outputs in the backward pass.
            # mode="full" also wraps the Functional model itself, whose call Keras 3.15.1's
            # TensorFlow remat cannot take ("custom_gradient ... keyword arguments").
            with keras.RematScope(mode="activations"):
                yield
        else:
            yield


def load_data(args, augment=None):
    """`kerasext.data.load` with the shared data flags."""
    return kdata.load(
        args.dataset, split=args.split, batch_size=args.batch_size, seed=args.seed,
        image_size=args.image_size, channels=args.channels, data_dir=args.data_dir,
        augment=augment,
    )


class Run:
    """An output folder and the files a run leaves in it.

    Create it with `start_run` once the inputs have been checked, so a bad input leaves
    nothing behind; `callbacks()` checkpoints and writes `history.csv` and TensorBoard logs
    while training, and `finish` writes the rest. On a multi-worker cluster only the chief
    writes into the folder; the other workers write into a temporary one, removed at the end.
    """

    def __init__(self, directory, config, resuming=False, backup_dir=None):
        self.directory = directory
        self.config = config
        self.resuming = resuming
        self.chief = is_chief()
        self.log_dir = os.environ.get("AIP_TENSORBOARD_LOG_DIR") or self.path(LOGS)
        self.backup_dir = backup_dir or os.environ.get("AIP_CHECKPOINT_DIR") or self.path(BACKUP)
        self._history = HistoryWriter(self.path(HISTORY))
        self._backup = None
        self._started = time.time()

    def path(self, name):
        return os.path.join(self.directory, name)

    def callbacks(self, train=None, track=()):
        """The run's callbacks: backup (every `--checkpoint-every` steps), history.csv, TensorBoard.

        Args:
            train: the training dataset; with it a resumed run skips exactly the batches
                already trained. Defaults to `None` (a resumed epoch restarts).
            track: more callbacks whose state must survive a restart (`EarlyStopping`,
                `ReduceLROnPlateau`, `ModelCheckpoint`, `LearningCurveDiagnosis`, ...).
        """
        every = self.config.get("checkpoint_every", 100)
        self._backup = BackupAndResume(
            self.backup_dir, data=train, callbacks=[self._history, *track], save_every=every
        )
        profile = self.config.get("profile") or 0
        # The backup comes last, so an end-of-epoch checkpoint holds every other callback's
        # state after its own `on_epoch_end`: put these after your callbacks in `fit`.
        return [
            self._history,
            keras.callbacks.TensorBoard(log_dir=self.log_dir, profile_batch=profile),
            self._backup,
        ]

    def fit(self, model, train, epochs, callbacks=None, **kwargs):
        """`model.fit` that resumes a killed run exactly, mid-epoch included.

        Keras runs every epoch of one `fit` for the same number of steps, so a run resumed
        in the middle of epoch `e` trains the rest of `e` in one `fit` (the batches not yet
        done, in the same order) and the remaining epochs in a second; the callbacks carry
        their state across. Without a checkpoint it is one plain `model.fit`.

        Args:
            model: the compiled model.
            train: the training dataset (from `kerasext.data`, so a resume can skip batches).
            epochs: total epochs of the run.
            callbacks: defaults to `self.callbacks(train)`.
            **kwargs: passed to `model.fit` (`validation_data`, `verbose`, ...).

        Returns:
            A `History` whose `.history` holds every epoch of the run, including those
            trained before a restart.
        """
        callbacks = self.callbacks(train) if callbacks is None else callbacks
        kwargs.setdefault("shuffle", False)  # the pipeline shuffles; Keras would only warn
        position = kdata.position_of(train)
        start = self._backup.start_point() if self._backup is not None else None
        if start and start[1] and position is not None:
            epoch, skip = start
            history = model.fit(
                train, initial_epoch=epoch, epochs=epoch + 1, callbacks=callbacks,
                steps_per_epoch=position.batches_per_epoch - skip, **kwargs,
            )
            if epoch + 1 < epochs and not model.stop_training:
                history = model.fit(train, initial_epoch=epoch + 1, epochs=epochs,
                                    callbacks=callbacks, **kwargs)
        else:
            history = model.fit(train, epochs=epochs, callbacks=callbacks, **kwargs)
        history.history = self._history.columns() or history.history
        return history

    def finish(self, model, history, test, info=None, extra=None, callbacks=()):
        """Evaluates on the test split and writes model.keras, metrics.json and curves.png.

        Args:
            model: the trained model.
            history: the `History` returned by `fit` (or its `.history` dict).
            test: the test dataset.
            info: the `DatasetInfo`, recorded in metrics.json.
            extra: more JSON-serializable results to record under `"results"`.
            callbacks: the callbacks `fit` used; a learning-curve diagnosis among them
                (anything with a `verdict` dict) goes into metrics.json and onto curves.png.

        Returns:
            The metrics dict that was written.

        Raises:
            ValueError: if the loss became NaN or infinite (the last good checkpoint stays),
                or a Vertex AI tuning trial's metric cannot be reported (`kerasext.tuning.report_metric`).
        """
        if self._backup is not None and self._backup.diverged_at is not None:
            step, epoch, batch = self._backup.diverged_at
            last = latest_checkpoint(self.backup_dir)
            raise ValueError(
                f"The loss became NaN or infinite at step {step} (epoch {epoch + 1}, batch "
                f"{batch + 1}); training stopped. Last good checkpoint: {last or 'none'}"
            )
        curves = self._history.columns() or getattr(history, "history", history)
        test_metrics = model.evaluate(test, return_dict=True, verbose=0)  # every worker takes part
        model.save(self.path(MODEL))
        metrics = {
            "recipe": self.config.get("recipe"),
            "test": {k: float(v) for k, v in test_metrics.items()},
            "final_epoch": {k: float(v[-1]) for k, v in curves.items() if v},
            "epochs_run": len(next(iter(curves.values()), [])),
            "seconds": round(time.time() - self._started, 1),
            "resumed_from": _resume_point(self._backup),
            "weights_sha256": weights_digest(model),
            "dataset": info.to_dict() if info is not None else None,
            "results": extra or {},
            "versions": versions(),
        }
        verdict = next((c.verdict for c in callbacks if getattr(c, "verdict", None)), None)
        note = None
        if verdict:
            metrics["diagnosis"] = verdict
            note = f"{verdict.get('verdict')}: {verdict.get('reason', '')}"
        _write_json(self.path(METRICS), metrics)
        plot_history(curves, self.path(CURVES), title=self.config.get("recipe"), note=note)
        if not self.chief:
            shutil.rmtree(self.directory, ignore_errors=True)
            return metrics
        for name, value in metrics["test"].items():
            print(f"test {name}: {value:.4f}")
        print(f"outputs: {self.directory}")
        from kerasext.tuning.vertex import report_metric  # in a Vertex AI tuning trial only

        report_metric(metrics)
        return metrics


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
        with tf.io.gfile.GFile(self.path, "w") as file:
            file.write(text.getvalue())

    def columns(self):
        keys = [k for k in dict.fromkeys(k for row in self.rows for k in row) if k != "epoch"]
        return {k: [row.get(k, float("nan")) for row in self.rows] for k in keys}


def start_run(args):
    """Creates the run's folder and writes config.json (the resolved flags), or resumes.

    The folder is `--model-dir`, else `$AIP_MODEL_DIR`, else `runs/<recipe>/<time>`.

    Raises:
        ValueError: if the folder holds a finished run, or an unfinished one started with
            other flags (a run is never overwritten).
    """
    config = {k: v for k, v in vars(args).items() if k != "config"}
    _log.show_held()
    if not is_chief():
        # Other workers write nothing of the run, but read the chief's checkpoints (on
        # shared storage, e.g. gs://) to resume with it. The chief may already have made
        # the folder, so it is not checked again here (setup checked it).
        shared = args.model_dir or os.environ.get("AIP_MODEL_DIR")
        backup = os.environ.get("AIP_CHECKPOINT_DIR") or (
            os.path.join(shared, BACKUP) if shared else None)
        return Run(tempfile.mkdtemp(prefix="kerasext-worker-"), config, backup_dir=backup)
    directory, resuming = check_model_dir(args)
    if directory:
        tf.io.gfile.makedirs(directory)
    else:
        directory = _fresh_folder(os.path.join("runs", args.recipe))
    config["model_dir"] = directory
    if resuming:
        logging.getLogger("kerasext").info("kerasext: resuming the unfinished run in %s", directory)
    else:
        _write_json(os.path.join(directory, CONFIG), config)
    return Run(directory, config, resuming=resuming)


def check_model_dir(args):
    """Returns `(folder or None for the default, resuming)` for the requested output folder.

    An empty or missing folder starts a run; one holding an unfinished run (config.json and
    no metrics.json) started with the same flags continues it, from its newest checkpoint.

    Raises:
        ValueError: for a folder holding a finished run, other files, or an unfinished run
            with different flags.
    """
    directory = args.model_dir or os.environ.get("AIP_MODEL_DIR")
    if not directory or not tf.io.gfile.exists(directory) or not tf.io.gfile.listdir(directory):
        return directory, False
    backup = os.environ.get("AIP_CHECKPOINT_DIR") or os.path.join(directory, BACKUP)
    saved_path = os.path.join(directory, CONFIG)
    # A run that wrote its config.json but not its metrics.json was stopped: the same flags
    # continue it, from its newest checkpoint if it has one (a comparison recipe, killed
    # before its checkpointed last variant, reruns its seeded variants and gets the same).
    unfinished = tf.io.gfile.exists(saved_path) and not tf.io.gfile.exists(
        os.path.join(directory, METRICS))
    if not unfinished:
        raise ValueError(
            f"`--model-dir` already holds files, and a run is never overwritten. "
            f"Received: {directory}"
        )
    with tf.io.gfile.GFile(saved_path) as file:
        saved = json.load(file)
    now = json.loads(json.dumps({k: v for k, v in vars(args).items()}, default=_jsonable))
    changed = sorted(k for k in set(saved) | set(now)
                     if k not in _NOT_COMPARED and saved.get(k) != now.get(k))
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed)
        raise ValueError(
            f"`--model-dir` {directory} holds an unfinished run started with other flags "
            f"({details}); resume it with the same flags or pick a new folder"
        )
    return directory, True


def weights_digest(model):
    """SHA-256 of the model's weights: equal digests, bitwise equal weights."""
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()


def versions():
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "cpu_count": os.cpu_count(),
        "command": " ".join(sys.argv),
    }


def _resume_point(backup):
    if backup is None or backup.resumed_from is None:
        return None
    epoch, batch, step = backup.resumed_from
    return {"epoch": epoch, "batch": batch, "step": step}


def _fresh_folder(parent):
    """Creates and returns `parent/<time>`, or `<time>-2`, ... if a run started the same second."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    os.makedirs(parent, exist_ok=True)
    for n in range(1, 1000):
        directory = os.path.join(parent, stamp if n == 1 else f"{stamp}-{n}")
        try:
            os.mkdir(directory)  # atomic: two runs never share a folder
            return directory
        except FileExistsError:
            continue
    raise ValueError(f"Cannot create a fresh run folder under {parent}")


def _write_json(path, obj):
    with tf.io.gfile.GFile(path, "w") as file:
        json.dump(obj, file, indent=2, default=_jsonable)
        file.write("\n")


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)
