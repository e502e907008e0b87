"""One output folder per run: config.json, model.keras, history.csv, metrics.json, curves.png, logs."""

import json
import logging
import os
import platform
import sys
import time

import keras
import tensorflow as tf

from kerasext import data as kdata
from kerasext.distribute import get_strategy
from kerasext.plot import plot_history

CONFIG, MODEL, HISTORY, METRICS, CURVES, LOGS = (
    "config.json", "model.keras", "history.csv", "metrics.json", "curves.png", "logs",
)


def setup(args):
    """Checks the output folder is free, seeds everything, sets the mixed-precision policy.

    Also shows kerasext's own log lines (the strategy chosen, ...) on stderr.
    """
    check_model_dir(args)
    logger = logging.getLogger("kerasext")
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler())
        logger.setLevel(logging.INFO)
    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_global_policy(args.mixed_precision or "float32")


def strategy(args):
    """`kerasext.distribute.get_strategy` with `--strategy` and `--tpu`."""
    return get_strategy(args.strategy, tpu=args.tpu)


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
    nothing behind; `callbacks()` writes `history.csv` and TensorBoard logs while training,
    and `finish` writes the rest.
    """

    def __init__(self, directory, config):
        self.directory = directory
        self.config = config
        self.log_dir = os.environ.get("AIP_TENSORBOARD_LOG_DIR") or self.path(LOGS)
        self._started = time.time()

    def path(self, name):
        return os.path.join(self.directory, name)

    def callbacks(self):
        """Keras' own CSVLogger (history.csv) and TensorBoard callbacks, pointed at this run."""
        return [
            keras.callbacks.CSVLogger(self.path(HISTORY)),
            keras.callbacks.TensorBoard(log_dir=self.log_dir),
        ]

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
        """
        curves = getattr(history, "history", history)
        test_metrics = model.evaluate(test, return_dict=True, verbose=0)
        model.save(self.path(MODEL))
        metrics = {
            "recipe": self.config.get("recipe"),
            "test": {k: float(v) for k, v in test_metrics.items()},
            "final_epoch": {k: float(v[-1]) for k, v in curves.items() if v},
            "epochs_run": len(next(iter(curves.values()), [])),
            "seconds": round(time.time() - self._started, 1),
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
        for name, value in metrics["test"].items():
            print(f"test {name}: {value:.4f}")
        print(f"outputs: {self.directory}")
        return metrics


def start_run(args):
    """Creates the run's folder and writes config.json (the resolved flags).

    The folder is `--model-dir`, else `$AIP_MODEL_DIR`, else `runs/<recipe>/<time>`.

    Raises:
        ValueError: if the folder already holds files (a run is never overwritten).
    """
    config = {k: v for k, v in vars(args).items() if k != "config"}
    directory = check_model_dir(args)
    if directory:
        tf.io.gfile.makedirs(directory)
    else:
        directory = _fresh_folder(os.path.join("runs", args.recipe))
    config["model_dir"] = directory
    _write_json(os.path.join(directory, CONFIG), config)
    return Run(directory, config)


def check_model_dir(args):
    """Returns the requested output folder (or None for the default), refusing one that holds files.

    Raises:
        ValueError: if the folder already holds files (a run is never overwritten).
    """
    directory = args.model_dir or os.environ.get("AIP_MODEL_DIR")
    if directory and tf.io.gfile.exists(directory) and tf.io.gfile.listdir(directory):
        raise ValueError(
            f"`--model-dir` already holds files, and a run is never overwritten. "
            f"Received: {directory}"
        )
    return directory


def versions():
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "cpu_count": os.cpu_count(),
        "command": " ".join(sys.argv),
    }


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
