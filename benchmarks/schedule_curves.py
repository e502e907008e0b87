"""Schedule curves: one-cycle LR and momentum, and an LR range test, on digits.

Writes two figures and prints the numbers behind them:

- `docs/one_cycle.png`: the learning rate and momentum that
  `kerasext.callbacks.OneCycle` set at every step of a short `fit` (read
  back from the optimizer, not recomputed);
- `docs/lr_finder.png`: `kerasext.callbacks.find_lr` on a small MLP with
  scikit-learn's digits, with the suggested learning rates.

Run (about half a minute on a laptop CPU):

    python benchmarks/schedule_curves.py [--out-dir docs] [--seed 0]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from kerasext.callbacks import OneCycle  # noqa: E402
from kerasext.callbacks import find_lr  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    output = parser.add_argument_group("output")
    output.add_argument("--out-dir", default="docs", help="folder for the PNGs")
    run = parser.add_argument_group("run")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--batch-size", type=int, default=64)
    run.add_argument("--epochs", type=int, default=5, help="one-cycle run length")
    run.add_argument("--max-lr", type=float, default=0.1, help="one-cycle peak LR (SGD)")
    run.add_argument("--finder-steps", type=int, default=100)
    return parser.parse_args()


def digits():
    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    return x, data.target.astype("int32")


def mlp(optimizer):
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Recorder(keras.callbacks.Callback):
    """The learning rate and momentum in the optimizer before every step."""

    def __init__(self):
        super().__init__()
        self.lrs, self.moms = [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.lrs.append(float(self.model.optimizer.learning_rate))
        self.moms.append(float(self.model.optimizer.momentum))


def plot_one_cycle(recorder, path):
    figure = Figure(figsize=(8, 3.2))
    FigureCanvasAgg(figure)
    lr_axes, mom_axes = figure.subplots(1, 2)
    lr_axes.plot(recorder.lrs)
    lr_axes.set(title="OneCycle: learning rate", xlabel="step", ylabel="learning rate")
    mom_axes.plot(recorder.moms, color="tab:orange")
    mom_axes.set(title="OneCycle: SGD momentum", xlabel="step", ylabel="momentum")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main():
    args = parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    x, y = digits()

    # One-cycle: what the callback really set, step by step.
    model = mlp(keras.optimizers.SGD(args.max_lr, momentum=0.9))
    recorder = Recorder()
    history = model.fit(
        x, y, batch_size=args.batch_size, epochs=args.epochs, validation_split=0.2,
        verbose=0, callbacks=[OneCycle(args.max_lr), recorder],
    )
    steps = len(recorder.lrs)
    peak = int(np.argmax(recorder.lrs))
    one_cycle_path = os.path.join(args.out_dir, "one_cycle.png")
    plot_one_cycle(recorder, one_cycle_path)
    print(f"OneCycle over {steps} steps: lr {recorder.lrs[0]:.3g} -> {recorder.lrs[peak]:.3g} "
          f"(step {peak}) -> {recorder.lrs[-1]:.3g}; momentum {recorder.moms[0]:.3f} -> "
          f"{recorder.moms[peak]:.3f} -> {recorder.moms[-1]:.3f}; "
          f"val accuracy {history.history['val_accuracy'][-1]:.3f}")
    print(f"wrote {one_cycle_path}")

    # LR range test on a fresh model.
    keras.utils.set_random_seed(args.seed)
    model = mlp(keras.optimizers.Adam())
    dataset = (tf.data.Dataset.from_tensor_slices((x, y))
               .shuffle(len(x), seed=args.seed).batch(args.batch_size).repeat())
    finder_path = os.path.join(args.out_dir, "lr_finder.png")
    result = find_lr(model, dataset, steps=args.finder_steps, plot_path=finder_path)
    stop = "diverged" if result.diverged else "ran all steps"
    print(f"find_lr (Adam, digits): {len(result.lrs)} of {args.finder_steps} steps, {stop}")
    for name, lr in result.suggestions.items():
        print(f"  suggested lr ({name}): {lr:.3g}")
    print(f"wrote {finder_path}")


if __name__ == "__main__":
    main()
