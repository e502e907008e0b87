"""Issue 15, the runner's side: each case a hostile user found, reproduced (items 1, 2, 3, 7, 8, 9, 14)."""

import csv
import errno
import importlib.util
import json
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import ROOT, load_recipe

from kerasext import runner  # first: TensorFlow's quiet start
from kerasext import data
from kerasext.runner import backup as backup_module
from kerasext.runner import files, logs

baseline = load_recipe("baseline")
PROG = os.path.basename(sys.argv[0])

spec = importlib.util.spec_from_file_location("recipes_table", os.path.join(ROOT, "tools", "recipes_table.py"))
table_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(table_module)


@pytest.fixture(autouse=True)
def no_vertex_checkpoint_dir(monkeypatch):
    monkeypatch.delenv("AIP_CHECKPOINT_DIR", raising=False)


def cli(main, argv, capsys):
    """Runs a CLI in-process; returns (exit code, stderr lines written by this call)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(main, argv)
    return exit_info.value.code, capsys.readouterr().err.strip().splitlines()


def history_rows(folder):
    with open(os.path.join(folder, "history.csv")) as file:
        return list(csv.DictReader(file))


# 1. A kill during validation after a checkpoint at the epoch's last step -------------------


class Killed(Exception):
    """What the process would die of: raised where a SIGKILL would land."""


class KillInValidation(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.kill_epoch, self.epoch = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_test_begin(self, logs=None):
        if self.epoch == self.kill_epoch:
            raise Killed(f"killed during epoch {self.epoch}'s validation")


def test_a_kill_during_validation_after_the_epochs_last_step_resumes_into_that_epochs_end(
        run_in, monkeypatch):
    # 1437 digits at batch 64: 23 steps an epoch, so --checkpoint-every 23 lands on each
    # epoch's last step, just before its validation.
    flags = ["--epochs", "3", "--checkpoint-every", "23", "--deterministic"]
    straight = baseline.main([*flags, "--model-dir", "straight"])
    callbacks = runner.Run.callbacks
    monkeypatch.setattr(runner.Run, "callbacks",
                        lambda self, *a, **k: [*callbacks(self, *a, **k), KillInValidation(1)])
    with pytest.raises(Killed):
        baseline.main([*flags, "--model-dir", "killed"])
    monkeypatch.setattr(runner.Run, "callbacks", callbacks)
    resumed = baseline.main([*flags, "--model-dir", "killed"])
    assert resumed["resumed_from"] == {"epoch": 1, "batch": 0, "step": 23}  # epoch 1 again
    assert len(history_rows("killed")) == 3  # was 2: epoch 1's row was lost
    assert history_rows("killed") == history_rows("straight")
    assert resumed["weights_sha256"] == straight["weights_sha256"]


# 2. A damaged backup: the newest checkpoint that reads, or one line --------------------------


def small_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)])
    model.compile(keras.optimizers.Adam(0.01),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def truncate(path):
    with open(path, "r+b") as file:
        file.truncate(max(1, os.path.getsize(path) // 2))


DAMAGES = {
    "latest empty": (lambda d: open(d / "latest", "w").close(), "ckpt-23-end"),
    "latest names a missing folder": (lambda d: (d / "latest").write_text("ckpt-999"), "ckpt-23-end"),
    "latest points outside": (lambda d: (d / "latest").write_text("../.."), "ckpt-23-end"),
    "latest deleted": (lambda d: os.remove(d / "latest"), "ckpt-23-end"),
    "weights truncated": (lambda d: truncate(d / "ckpt-23-end" / "model.weights.h5"), "ckpt-20"),
    "state.json garbage": (lambda d: (d / "ckpt-23-end" / "state.json").write_text("{\"epo"), "ckpt-20"),
    "arrays.npz garbage": (lambda d: (d / "ckpt-23-end" / "arrays.npz").write_bytes(b"PK\x03"), "ckpt-20"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_backup_resumes_from_the_newest_checkpoint_that_reads(tmp_path, capsys, damage):
    train, _, _, _ = data.load("digits", batch_size=64)
    folder = tmp_path / "backup"
    model = small_model()
    model.fit(train, epochs=1, verbose=0, callbacks=[
        runner.BackupAndResume(str(folder), data=train, save_every=5, keep=3)])
    assert sorted(os.listdir(folder)) == ["ckpt-15", "ckpt-20", "ckpt-23-end", "latest"]
    damage_it, expected = DAMAGES[damage]
    damage_it(folder)
    logs.show_logs()
    logs.show_held()  # a test before may have left kerasext's lines held back
    capsys.readouterr()
    assert runner.latest_checkpoint(str(folder)) == str(folder / expected)
    resumed = small_model(seed=5)
    callback = runner.BackupAndResume(str(folder), data=train)
    epoch, batch = callback.start_point()  # as Run.fit does: the rest of a resumed epoch
    resumed.fit(train, initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=23 - batch, verbose=0,
                callbacks=[callback])
    step = 23 if expected == "ckpt-23-end" else 20
    assert callback.resumed_from == (epoch, batch, step)  # was None: the run started over
    assert f"resuming from the newest checkpoint that reads: {folder / expected}" in capsys.readouterr().err


def test_when_no_checkpoint_reads_one_line_names_the_file(run_in, capsys):
    baseline.main(["--epochs", "1", "--checkpoint-every", "10", "--model-dir", "d"])
    os.remove("d/metrics.json")  # as if killed before the end
    for name in os.listdir("d/backup"):
        if name.startswith("ckpt-"):
            truncate(os.path.join("d", "backup", name, "model.weights.h5"))
    code, lines = cli(baseline.main, ["--epochs", "1", "--checkpoint-every", "10", "--model-dir", "d"], capsys)
    assert code == 2, lines
    assert lines[-1].startswith(f"{PROG}: error: No checkpoint in d/backup reads: "
                                "d/backup/ckpt-23-end/model.weights.h5 does not read")
    assert "(and 1 older); delete d/backup to start the run over" in lines[-1]
    assert not any("Traceback" in line for line in lines)


# 3. Files written whole; damaged run files in --model-dir ------------------------------------


def test_a_crash_between_the_temporary_write_and_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = str(tmp_path / "config.json")
    files.write_json(path, {"epochs": 1})

    def crash(*args, **kwargs):
        raise OSError("killed between the write and the rename")

    monkeypatch.setattr(tf.io.gfile, "rename", crash)
    with pytest.raises(OSError):
        files.write_json(path, {"epochs": 2})
    assert json.load(open(path)) == {"epochs": 1} and os.listdir(tmp_path) == ["config.json"]


@pytest.mark.parametrize("name, content, message", [
    ("config.json", '{"epochs": 1, "see', "holds a damaged config.json (out/config.json is not a JSON object"),
    ("config.json", "[1, 2]", "holds a damaged config.json (out/config.json is not a JSON object"),
    ("metrics.json", '{"test": {"accura', "already holds files (out/metrics.json is not a JSON object)"),
])
def test_damaged_run_files_in_the_model_dir_are_one_line_naming_the_file(run_in, capsys, name, content, message):
    os.makedirs("out")
    with open("out/config.json", "w") as file:
        json.dump({"epochs": 1}, file)
    with open(os.path.join("out", name), "w") as file:
        file.write(content)
    code, lines = cli(baseline.main, ["--epochs", "1", "--model-dir", "out"], capsys)
    assert code == 2 and len(lines) == 1 and message in lines[0], lines


# 7. One error class for the user's input; other failures are failures ------------------------


def make_model_dir(kind, tmp_path):
    if kind == "a file":
        (tmp_path / "f").write_text("x")
        return "f", "`--model-dir` is a file, not a folder. Received: f"
    if kind == "under a file":
        (tmp_path / "f").write_text("x")
        return "f/run", f"`--model-dir` lies under {tmp_path / 'f'}, a file, not a folder"
    if kind == "a dangling symbolic link":
        os.symlink(tmp_path / "gone", tmp_path / "link")
        return "link", f"`--model-dir` is a symbolic link to a missing folder ({tmp_path / 'gone'})"
    (tmp_path / "ro").mkdir()
    os.chmod(tmp_path / "ro", 0o555)
    return "ro/run", f"`--model-dir` cannot be written ({tmp_path / 'ro'} is read-only)"


@pytest.mark.parametrize("kind", ["a file", "under a file", "a dangling symbolic link", "read-only"])
def test_a_model_dir_that_cannot_be_the_runs_is_one_line(run_in, capsys, monkeypatch, kind):
    model_dir, message = make_model_dir(kind, run_in)
    if kind == "read-only" and os.access(run_in / "ro", os.W_OK):  # root writes anyway: as a user would see it
        access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if str(p).endswith("/ro") else access(p, mode))
    code, lines = cli(baseline.main, ["--epochs", "1", "--model-dir", model_dir], capsys)
    assert code == 2 and len(lines) == 1 and message in lines[0], lines


@pytest.mark.parametrize("config, message", [
    ([1, 2], "argument --config: c.json must hold a JSON object of flags"),
    ({"dataset": 5}, "--config c.json: `dataset` must be a string. Received: 5"),
    ({"epochs": 2.5}, "--config c.json: argument --epochs: must be an integer >= 1. Received: '2.5'"),
    ({"recipe": "train"}, "--config c.json is a config of recipe 'train', not 'baseline'"),  # item 14
])
def test_bad_configs_are_one_line(run_in, capsys, config, message):
    with open("c.json", "w") as file:
        json.dump(config, file)
    code, lines = cli(baseline.main, ["--config", "c.json"], capsys)
    assert code == 2 and len(lines) == 1 and message in lines[0], lines
    assert not os.path.exists("runs")


def test_a_value_error_after_training_started_is_a_failure_naming_the_last_file(run_in, capsys, monkeypatch):
    def broken_plot(*args, **kwargs):  # as matplotlib failed on transfer_learning --epochs 1
        raise ValueError("Number of columns must be a positive integer, not 0")

    monkeypatch.setattr("kerasext.runner.run.plot_history", broken_plot)
    code, lines = cli(baseline.main, ["--epochs", "1", "--model-dir", "out"], capsys)
    assert code == 1  # was 2, as if the user's input were wrong
    assert lines[-1] == (f"{PROG}: failed: ValueError: Number of columns must be a positive integer, "
                         "not 0 (last file written: out/metrics.json)")
    monkeypatch.setenv("KERASEXT_TRACEBACK", "1")
    with pytest.raises(ValueError, match="Number of columns"):
        runner.run_cli(baseline.main, ["--epochs", "1", "--model-dir", "out2"])


def test_a_full_disk_during_a_checkpoint_is_one_line_and_exit_1(run_in, capsys, monkeypatch):
    def full(path, arrays):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    monkeypatch.setattr(backup_module, "_write_arrays", full)
    code, lines = cli(baseline.main, ["--epochs", "1", "--checkpoint-every", "5", "--model-dir", "out"], capsys)
    assert code == 1 and not any("Traceback" in line for line in lines), lines
    assert lines[-1] == (f"{PROG}: failed: OSError: [Errno 28] No space left on device: "
                         "'out/backup/ckpt-5/arrays.npz' (last file written: out/backup/ckpt-5/state.json)")
    assert runner.latest_checkpoint("out/backup") is None  # nothing half-written was committed


def test_a_run_that_trained_no_epoch_here_finishes_without_curves(run_in):
    # transfer_learning --epochs 1 used to give a history without epochs to Run.finish.
    run = runner.Run("out", {"recipe": "demo"})
    os.makedirs("out")
    model = small_model()
    test = data.load("digits", batch_size=64)[2]
    metrics = run.finish(model, {}, test)
    assert metrics["epochs_run"] == 0 and not os.path.exists("out/curves.png")
    assert os.path.exists("out/metrics.json")


# 8. Bad values refused before anything is written, with the limit in the message -------------


@pytest.mark.parametrize("recipe, argv, message", [
    ("baseline", ["--learning-rate", "nan"], "argument --learning-rate: must be a finite number. Received: 'nan'"),
    ("baseline", ["--learning-rate", "inf"], "argument --learning-rate: must be a finite number. Received: 'inf'"),
    ("optimizers", ["--momentum", "nan"], "argument --momentum: must be a finite number. Received: 'nan'"),
    ("optimizers", ["--weight-decay", "nan"], "argument --weight-decay: must be a finite number. Received: 'nan'"),
    ("baseline", ["--epochs", "100000000"],
     "argument --epochs: must be an integer <= 100000 (the limit for this flag). Received: 100000000"),
    ("baseline", ["--image-size", "1500"],
     "argument --image-size: must be an integer <= 1024 (the limit for this flag). Received: 1500"),
    ("baseline", ["--batch-size", "1000000"], "argument --batch-size: must be an integer <= 65536"),
    ("baseline", ["--seed", "-1"], "argument --seed: must be an integer >= 0. Received: -1"),  # item 14
    ("baseline", ["--seed", str(2**40)], "argument --seed: must be an integer <= 4294967295"),
])
def test_bad_values_are_refused_before_anything_is_written(run_in, capsys, recipe, argv, message):
    code, lines = cli(load_recipe(recipe).main, argv, capsys)
    assert code == 2 and len(lines) == 1 and message in lines[0], lines
    assert os.listdir(".") == []


def test_a_config_value_goes_through_the_flags_parser_before_config_json_is_written(run_in, capsys):
    with open("c.json", "w") as file:
        json.dump({"checkpoint_every": -1}, file)
    code, lines = cli(baseline.main, ["--config", "c.json", "--model-dir", "out"], capsys)
    assert code == 2 and lines == [
        f"{PROG}: error: --config c.json: argument --checkpoint-every: must be an integer >= 0. Received: -1"]
    assert not os.path.exists("out")  # was: out/config.json written, then refused


def test_config_values_still_replay_and_the_command_line_wins():
    parser = baseline.build_parser()
    saved = {"epochs": 3, "split": [0.7, 0.2, 0.1], "mixed_precision": "mixed_bfloat16",
             "deterministic": True, "profile": [2, 4], "recipe": "baseline", "model_dir": "x", "data_dir": None}
    argv = runner.flags.config_argv(parser, "c.json", saved)
    assert argv == ["--epochs=3", "--split=0.7,0.2,0.1", "--mixed-precision=mixed_bfloat16",
                    "--deterministic", "--profile=2,4"]
    args = parser.parse_args([*argv, "--epochs", "4"])
    assert args.epochs == 4 and args.split == (0.7, 0.2, 0.1) and args.profile == [2, 4]


# 9. A backup folder records its owner --------------------------------------------------------


def test_a_backup_folder_of_another_run_is_refused_and_kept(run_in, capsys, monkeypatch):
    baseline.main(["--epochs", "1", "--checkpoint-every", "10", "--model-dir", "a"])
    before = sorted(os.listdir("a/backup"))
    assert "owner.json" in before
    monkeypatch.setenv("AIP_CHECKPOINT_DIR", "a/backup")
    code, lines = cli(baseline.main, ["--epochs", "1", "--model-dir", "b"], capsys)
    assert code == 2 and len(lines) == 1, lines
    assert "`$AIP_CHECKPOINT_DIR` a/backup holds the checkpoints of another run" in lines[0]
    assert sorted(os.listdir("a/backup")) == before and not os.path.exists("b")
    os.remove("a/backup/owner.json")  # checkpoints without an owner: not taken either
    code, lines = cli(baseline.main, ["--epochs", "1", "--model-dir", "b"], capsys)
    assert code == 2 and "holds checkpoints of an unknown run (no owner.json)" in lines[0], lines
    assert not os.path.exists("b")


def test_the_same_run_resumes_from_its_own_checkpoint_dir(run_in, monkeypatch):
    monkeypatch.setenv("AIP_CHECKPOINT_DIR", "ck")
    first = baseline.main(["--epochs", "1", "--checkpoint-every", "10", "--model-dir", "c"])
    os.remove("c/metrics.json")  # killed before the end
    again = baseline.main(["--epochs", "1", "--checkpoint-every", "10", "--model-dir", "c"])
    assert again["resumed_from"] == {"epoch": 1, "batch": 0, "step": 23}
    assert again["weights_sha256"] == first["weights_sha256"]


# 14. tools/recipes_table.py: escaped commands, one line for a damaged metrics.json ----------


def fake_run(runs, recipe, metrics):
    folder = runs / recipe / "20250101-000000"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(metrics if isinstance(metrics, str) else json.dumps(metrics))


def test_a_command_with_backquotes_and_html_stays_code(tmp_path):
    command = 'python recipes/baseline.py --dataset "a`<img src=x onerror=alert(1)>`|b"'
    fake_run(tmp_path, "baseline", {"results": {"command": command, "shows": "<script>x</script>"},
                                    "test": {"accuracy": 0.9}})
    text = table_module.recipes_table(str(tmp_path))
    row = next(line for line in text.splitlines() if line.startswith("| baseline"))
    assert row == ('| baseline | &lt;script&gt;x&lt;/script&gt; | '
                   '`` python recipes/baseline.py --dataset "a`<img src=x onerror=alert(1)>`\\|b" `` '
                   '| test accuracy 0.9000 |')


@pytest.mark.parametrize("content", ['{"test": {"accura', "[1]", '{"test": {"accuracy": "high"}}'])
def test_a_damaged_metrics_json_is_one_line_naming_it(tmp_path, capsys, content):
    fake_run(tmp_path, "baseline", content)
    with pytest.raises(SystemExit) as exit_info:
        table_module.main([str(tmp_path)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1, lines
    assert str(tmp_path / "baseline" / "20250101-000000" / "metrics.json") in lines[0]



# 16. --remat recomputes every layer that can run twice ----------------------------------------


def cnn(extra=()):
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="gelu")(inputs)
    for layer in extra:
        x = layer(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="gelu")(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return model


def forward_convolutions(model, x, y):
    """Conv2D ops in one training step's graph: the forward ones, plus one per recomputed conv."""
    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = keras.ops.mean(model.compute_loss(x, y, model(x, training=True)))
        return tape.gradient(loss, model.trainable_variables)

    graph = step.get_concrete_function(x, y).graph
    return sum(op.type == "Conv2D" for op in graph.get_operations())


def test_remat_wraps_every_layer_that_can_run_twice_and_recomputes_it():
    extra = [keras.layers.BatchNormalization(), keras.layers.Dropout(0.2)]
    model = cnn(extra)
    names = runner.rematerialize(model)
    kinds = {model.get_layer(name).__class__.__name__ for name in names}
    # The softmax output (its loss reads the logits), batch norm and dropout are not recomputed.
    assert kinds == {"Conv2D", "MaxPooling2D", "Flatten", "Dense"} and len(names) == 4, names
    assert runner.rematerialize(model) == names  # twice is once
    x, y = tf.zeros((4, 8, 8, 1)), tf.zeros((4,), "int32")
    assert forward_convolutions(model, x, y) == 2 and forward_convolutions(cnn(), x, y) == 1


def test_remat_trains_to_the_same_weights():
    arrays = data.load_arrays("digits")
    x, y = arrays.x[:320], arrays.y[:320]
    models = []
    for remat in (False, True):
        keras.utils.set_random_seed(0)
        model = cnn([keras.layers.BatchNormalization(), keras.layers.Dropout(0.2)])
        if remat:
            runner.rematerialize(model)
        keras.utils.set_random_seed(1)
        model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
        models.append(model)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_remat_trains_under_mixed_precision_like_without_it():
    # The recomputation runs outside the layer's __call__ and its float16 autocast scope:
    # float32 kernels met float16 inputs ("Input 'b' of 'MatMul' Op has type float32").
    arrays = data.load_arrays("digits")
    x, y = arrays.x[:128], arrays.y[:128]
    weights = []
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        for remat in (False, True):
            keras.utils.set_random_seed(0)
            model = cnn()
            if remat:
                assert runner.rematerialize(model)
            model.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
            weights.append(model.get_weights())
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for a, b in zip(*weights):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-3)


def test_run_fit_rematerializes_with_the_flag(tmp_path):
    train, validation, _, _ = data.load("digits", batch_size=64)
    for remat in (False, True):
        run = runner.Run(str(tmp_path / str(remat)), {"remat": remat, "checkpoint_every": 0})
        model = cnn()
        run.fit(model, train.take(2), 1, verbose=0)
        wrapped = [layer.name for layer in model.layers if getattr(layer, "_kerasext_remat", False)]
        assert bool(wrapped) == remat
