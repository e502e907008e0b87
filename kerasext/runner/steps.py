"""Steps to a target counted in optimizer steps: evaluate every few steps, not every epoch.

An epoch-end validation counts the steps to a target accuracy in whole epochs, so two runs
that differ by a factor larger than the number of epochs look alike. `StepEvaluation`
evaluates a fixed set of held-out examples every `every` optimizer steps instead; the step is
the optimizer's own count (`optimizer.iterations`), so it runs on across epochs and through a
resumed run.
"""

import math
import time

import keras
import numpy as np

from kerasext import _validation


class StepEvaluation(keras.callbacks.Callback):
    """Evaluates classification accuracy on held-out examples every `every` optimizer steps.

    The examples are evaluated in inference mode (batch norm's moving statistics, dropout
    off), in order, in batches of `batch_size`: the same examples give the same numbers.

    Args:
        x: the inputs, a NumPy array.
        y: integer labels, or one-hot (or soft) label rows, a NumPy array.
        every: optimizer steps between two evaluations, an int >= 1.
        target: the accuracy to reach. Defaults to `None` (no target).
        stop_at_target: end training at the first evaluation that reaches `target`.
            Defaults to `False`.
        batch_size: examples per inference batch. Defaults to `256`.

    Attributes:
        steps: the optimizer step of every evaluation (multiples of `every`).
        accuracy: the accuracy at each of them.
        step_to_target: the first of `steps` whose accuracy reached `target`, or `None`.
        seconds_to_target: seconds from the start of training to that evaluation (its own
            cost included), or `None`.

    Raises:
        ValueError: for `every` < 1, a `target` outside (0, 1], or `x` and `y` of
            different lengths (or empty).

    Example:

    ```python
    evaluation = StepEvaluation(x_val, y_val, every=5, target=0.95, stop_at_target=True)
    model.fit(train, epochs=10, callbacks=[evaluation])
    evaluation.step_to_target  # 35: the optimizer step, not the epoch
    ```
    """

    def __init__(self, x, y, every, target=None, stop_at_target=False, batch_size=256):
        super().__init__()
        _validation.check_int("every", every, 1)
        _validation.check_int("batch_size", batch_size, 1)
        if target is not None and not (isinstance(target, (int, float)) and 0 < target <= 1):
            raise ValueError(f"`target` must be in (0, 1] or None. Received: target={target!r}")
        x, y = np.asarray(x), np.asarray(y)
        if len(x) == 0 or len(x) != len(y):
            raise ValueError(f"`x` and `y` must hold the same number (> 0) of examples. "
                             f"Received: {len(x)} and {len(y)}")
        self.x = x
        self.labels = y.argmax(-1) if y.ndim == 2 else y.reshape(-1)
        self.every = every
        self.target = target
        self.stop_at_target = stop_at_target
        self.batch_size = batch_size
        self.steps, self.accuracy = [], []
        self.step_to_target = self.seconds_to_target = None
        self._start = None

    def on_train_begin(self, logs=None):
        if self._start is None:  # a run resumed in two fits keeps one clock
            self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if step % self.every or (self.steps and step <= self.steps[-1]):
            return
        accuracy = self.evaluate()
        self.steps.append(step)
        self.accuracy.append(accuracy)
        if self.target is not None and self.step_to_target is None and accuracy >= self.target - 1e-9:
            self.step_to_target = step
            self.seconds_to_target = round(time.perf_counter() - self._start, 2)
            if self.stop_at_target:
                self.model.stop_training = True

    def evaluate(self):
        """The model's accuracy on the examples now."""
        correct = 0
        for start in range(0, len(self.x), self.batch_size):
            batch = slice(start, start + self.batch_size)
            probabilities = keras.ops.convert_to_numpy(self.model.predict_on_batch(self.x[batch]))
            correct += int(np.sum(probabilities.argmax(-1) == self.labels[batch]))
        return correct / len(self.x)

    @property
    def best_accuracy(self):
        """The highest accuracy evaluated, or `None` before the first evaluation."""
        return max(self.accuracy) if self.accuracy else None

    def get_state(self):
        """What `kerasext.runner.BackupAndResume` keeps across a restart."""
        return {"steps": list(self.steps), "accuracy": list(self.accuracy),
                "step_to_target": self.step_to_target, "seconds_to_target": self.seconds_to_target}

    def set_state(self, state):
        self.steps, self.accuracy = list(state["steps"]), list(state["accuracy"])
        self.step_to_target, self.seconds_to_target = state["step_to_target"], state["seconds_to_target"]


def take_examples(dataset, limit=None):
    """The first `limit` examples of a dataset of `(inputs, labels)` batches, as NumPy arrays.

    Args:
        dataset: a `tf.data.Dataset` (or any iterable) of `(inputs, labels)` batches, in a
            fixed order (a validation split).
        limit: the most examples to take. Defaults to `None` (all).

    Returns:
        `(x, y)`, NumPy arrays.
    """
    _validation.check_int("limit", limit, 1, allow_none=True)
    xs, ys, count = [], [], 0
    for x, y in dataset:
        xs.append(keras.ops.convert_to_numpy(x))
        ys.append(keras.ops.convert_to_numpy(y))
        count += len(xs[-1])
        if limit is not None and count >= limit:
            break
    if not xs:
        raise ValueError("`dataset` must hold at least one batch. Received: an empty dataset")
    end = count if limit is None else min(count, limit)
    return np.concatenate(xs)[:end], np.concatenate(ys)[:end]


def next_evaluation(steps, every):
    """The first evaluation step after `steps` trained steps: what a run that never reached
    its target counts as (a lower bound of the steps it needs)."""
    return (math.floor(steps / every) + 1) * every
