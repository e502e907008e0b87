"""Overhead of kerasext's callbacks: epoch time with them against epoch time without any.

What it shows: the CIFAR recipe's model (`fastnet`, width 48, SGD-Nesterov, batch 128) trained
on 8,000 synthetic 32x32x3 images (callbacks do not care what the pixels are, so this needs no
data set), with

- `none`: no callbacks;
- `kerasext`: `OneCycle` + `LearningCurveDiagnosis` + `BackupAndResume` (checkpoint every 100
  steps, as the runner's `--checkpoint-every` default, and at each epoch end) -- the issue's set;
- `train.py`: what `recipes/train.py --schedule onecycle` uses: `OneCycle` +
  `LearningCurveDiagnosis` + `Run.callbacks()` (history.csv, TensorBoard, `BackupAndResume`).

Each variant trains its own copy of the model (same initial weights) in blocks: one `fit` of a
few epochs per variant, one variant at a time, the order rotating each round (none, kerasext,
train.py; kerasext, train.py, none; ...), with fresh callbacks (and backup folder) per block.
An epoch's time runs from the first callback's `on_epoch_begin` to the last one's
`on_epoch_end`, so it includes every callback's work (checkpoint writes included). The first
epoch of each block (tracing, plus `OneCycle`'s rebuild of the train function once per `fit`)
is left out; the ratio is the median over rounds of (variant's median epoch / `none`'s median
epoch of the same round), printed with its spread (min-max over the rounds) and beside the
same ratio of the process's CPU seconds. Target (issue 17):
<= 1.03. `OneCycle` sets learning rate and momentum inside the compiled step (no per-batch
hook), so its cost is once per `fit` and per epoch.

Run:

    python benchmarks/callbacks_overhead.py                # ~8 minutes on 2 cores (5 rounds)
    python benchmarks/callbacks_overhead.py --out /tmp/callbacks.md
    python benchmarks/callbacks_overhead.py --quick        # smoke run, seconds
"""

import statistics
import tempfile
import time

import _bench
from _bench import keras

TARGET = 1.03


def make_model(width, seed):
    from kerasext import models

    model = models.build_model("fastnet", (32, 32, 3), 10, width=width, seed=seed)
    model.compile(keras.optimizers.SGD(0.8, momentum=0.9, nesterov=True, weight_decay=5e-4),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def make_callbacks(name, train, folder, steps):
    """The variant's callbacks, new for each block (a backup folder per `fit`)."""
    from kerasext import callbacks, runner

    if name == "none":
        return []
    one_cycle = callbacks.OneCycle(max_lr=0.8, steps_per_epoch=steps)
    diagnosis = callbacks.LearningCurveDiagnosis(verbose=False)
    if name == "kerasext":
        backup = runner.BackupAndResume(folder, data=train, callbacks=[diagnosis], save_every=100)
        return [one_cycle, diagnosis, backup]
    run = runner.Run(folder, {"checkpoint_every": 100})  # as recipes/train.py: fit callbacks first
    return [one_cycle, diagnosis, *run.callbacks(train, track=[one_cycle, diagnosis])]


HOOKS = ("on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
         "on_epoch_end", "on_test_begin", "on_test_batch_end", "on_test_end")
BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_end")


class HookClock:
    """Adds up the seconds spent inside the given callbacks' hooks, per epoch.

    That is the callbacks' own work measured directly, so a burst of load from another
    process during one epoch moves it far less than it moves a whole-epoch time. A batch
    hook is wrapped only where the callback defines one: wrapping Keras's no-op would add a
    per-batch Python call (and stop Keras dispatching steps ahead) that the callback lacks.
    """

    def __init__(self, callbacks):
        self.seconds = []
        for i, callback in enumerate(callbacks):
            for hook in HOOKS:
                if hook in BATCH_HOOKS and (getattr(type(callback), hook)
                                            is getattr(keras.callbacks.Callback, hook)):
                    continue
                new_epoch = i == 0 and hook == "on_epoch_begin"
                setattr(callback, hook, self._timed(getattr(callback, hook), new_epoch))

    def _timed(self, method, new_epoch):
        def timed(*args, **kwargs):
            if new_epoch:
                self.seconds.append(0.0)
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                if self.seconds:
                    self.seconds[-1] += time.perf_counter() - start

        return timed


def main():
    parser = _bench.parser(__doc__)
    _bench.add_block_flags(parser)
    args = parser.parse_args()
    from kerasext import data

    images = args.images or (512 if args.quick else 8000)
    rounds = args.rounds or (1 if args.quick else 5)
    epochs = args.epochs or (2 if args.quick else 3)
    width = 16 if args.quick else 48
    batch = 128
    x, y = _bench.synthetic_images(images)
    steps = -(-images // batch)
    names = ("none", "kerasext", "train.py")
    timers, jobs, hooks = {}, {}, {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            train = data.make_dataset(x, y, batch, shuffle=True, seed=0)
            keras.utils.set_random_seed(0)
            model = make_model(width, 0)
            timer = timers[name] = _bench.EpochTimer()

            def job(name=name, model=model, train=train, timer=timer):
                extra = make_callbacks(name, train, tempfile.mkdtemp(dir=tmp), steps)
                clock = HookClock(extra)
                model.fit(train, shuffle=False, epochs=epochs, verbose=0,
                          callbacks=[timer.first, *extra, timer.last])
                hooks[name] += clock.seconds[1:]

            jobs[name] = job
        _bench.in_blocks(jobs, rounds)

    none = timers["none"].steady()
    lines = _bench.header("Overhead of kerasext callbacks", [
        f"fastnet width {width}, SGD-Nesterov, batch {batch}, {images:,} synthetic 32x32x3 "
        f"images = {steps} steps per epoch; {rounds} rounds of one {epochs}-epoch `fit` per "
        "variant, the first epoch of each not timed" + (" (--quick)" if args.quick else ""),
        "one process, one `fit` at a time, the order rotating each round; ratio = median over "
        "rounds of (variant median epoch / none median epoch, the same round); spread = min-max "
        "of those per-round ratios",
    ])
    lines += [
        "| callbacks | median epoch s | ratio vs none | target | met "
        "| in hooks s/epoch | 1 + hooks / none epoch | spread of rounds | CPU ratio (spread) |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for name in names:
        seconds = timers[name].steady()
        if name == "none":
            ratio_text, target_text, met, spread, cpu = "1.00", "-", "-", "-", "1.00"
        else:
            ratios = _bench.block_ratios(timers, name, "none")
            ratio = statistics.median(ratios)
            ratio_text, target_text = f"{ratio:.3f}", f"<= {TARGET:.2f}"
            met = _bench.verdict(ratio, TARGET)
            spread = f"{min(ratios):.3f}-{max(ratios):.3f}"
            cpu = _bench.median_and_spread(_bench.block_ratios(timers, name, "none", cpu=True))
        in_hooks = statistics.median(hooks[name]) if hooks[name] else 0.0
        direct = 1 + in_hooks / statistics.median(none)
        lines.append(f"| {name} | {statistics.median(seconds):.2f} | {ratio_text} | {target_text} "
                     f"| {met} | {in_hooks:.3f} | {direct:.3f} | {spread} | {cpu} |")
    lines += ["", "in hooks = seconds inside these callbacks' own hooks per epoch (median of the "
              "timed epochs), timed directly; 1 + hooks / none epoch is the overhead that implies "
              "(it leaves out any slowdown outside the hooks, such as a per-batch hook keeping "
              "Keras from running steps ahead). CPU ratio = the same ratio of the process's CPU "
              "seconds (all its threads), which another process's load moves far less than "
              "wall time.",
              "", "Per-round ratios: " + "; ".join(
                  f"{name}: " + ", ".join(f"{r:.3f}" for r in _bench.block_ratios(timers, name, "none"))
                  for name in names[1:])]
    _bench.emit(lines, args.out)


if __name__ == "__main__":
    main()
