"""A run's folder and the files a run leaves in it: config.json, model.keras, history.csv,
metrics.json, curves.png, confusion_matrix.png (classifiers), logs/ (TensorBoard) and backup/
(checkpoints to resume from)."""

import os
import shutil
import time

import keras

from kerasext import data as kdata
from kerasext.distribute import is_chief
from kerasext.plot import plot_confusion_matrix
from kerasext.plot import plot_history
from kerasext.runner import errors, files
from kerasext.runner.backup import BackupAndResume, latest_checkpoint
from kerasext.runner.confusion import confusion_matrix
from kerasext.runner.errors import UsageError
from kerasext.runner.files import BACKUP, CURVES, HISTORY, LOGS, METRICS, MODEL
from kerasext.runner.history import HistoryWriter
from kerasext.runner.provenance import versions, weights_digest
from kerasext.runner.remat import rematerialize
from kerasext.runner.vertex import report_metric

CONFUSION = "confusion_matrix.png"


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
        their state across. Without a checkpoint it is one plain `model.fit`. With `--remat`
        the model is rematerialized first (`kerasext.runner.rematerialize`).

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
        if self.config.get("remat"):
            rematerialize(model)
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

        For a classifier (see `kerasext.runner.confusion.confusion_matrix`) the chief also
        counts the test split's confusion matrix, one more prediction pass batch by batch,
        into metrics.json (`"confusion_matrix": {"labels": ..., "matrix": [[...]]}`, rows
        true classes) and confusion_matrix.png. curves.png shows the learning rate too.

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
            UsageError: if the loss became NaN or infinite (the last good checkpoint stays),
                or a Vertex AI tuning trial's metric cannot be reported (`kerasext.runner.report_metric`).
        """
        if self._backup is not None and self._backup.diverged_at is not None:
            step, epoch, batch = self._backup.diverged_at
            last = latest_checkpoint(self.backup_dir)
            # The user's input: the flags (a learning rate too high, ...) made it diverge.
            raise UsageError(
                f"The loss became NaN or infinite at step {step} (epoch {epoch + 1}, batch "
                f"{batch + 1}); training stopped. Last good checkpoint: {last or 'none'}"
            )
        curves = self._history.columns() or getattr(history, "history", history)
        test_metrics = model.evaluate(test, return_dict=True, verbose=0)  # every worker takes part
        with files.replacing(self.path(MODEL)) as temporary:
            model.save(temporary)
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
        confusion = None
        if self.chief:  # the other workers' files are thrown away
            num_classes = info.num_classes if info is not None else None
            matrix = confusion_matrix(model, test, num_classes)
            if matrix is not None:
                names = list(info.class_names) if info is not None else []
                labels = names if len(names) == len(matrix) else [str(i) for i in range(len(matrix))]
                confusion = {"labels": labels, "matrix": matrix.tolist()}
                metrics["confusion_matrix"] = confusion
        verdict = next((c.verdict for c in callbacks if getattr(c, "verdict", None)), None)
        note = None
        if verdict:
            metrics["diagnosis"] = verdict
            note = f"{verdict.get('verdict')}: {verdict.get('reason', '')}"
        files.write_json(self.path(METRICS), metrics)
        if any(curves.values()):  # a model trained for no epoch here has no curves to draw
            with files.replacing(self.path(CURVES)) as temporary:
                plot_history(curves, temporary, title=self.config.get("recipe"), note=note)
        if confusion is not None:
            with files.replacing(self.path(CONFUSION)) as temporary:
                plot_confusion_matrix(confusion["matrix"], temporary, confusion["labels"],
                                      title=_confusion_title(self.config.get("recipe"), matrix))
        if not self.chief:
            shutil.rmtree(self.directory, ignore_errors=True)
            errors.mark_finished()
            return metrics
        for name, value in metrics["test"].items():
            print(f"test {name}: {value:.4f}")
        print(f"outputs: {self.directory}")
        report_metric(metrics)  # in a Vertex AI tuning trial only
        errors.mark_finished()
        return metrics


def _confusion_title(recipe, matrix):
    title = f"test split, {int(matrix.sum())} examples"
    return f"{recipe}: {title}" if recipe else title


def _resume_point(backup):
    if backup is None or backup.resumed_from is None:
        return None
    epoch, batch, step = backup.resumed_from
    return {"epoch": epoch, "batch": batch, "step": step}
