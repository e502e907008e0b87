"""The runner's comparison protocol (Comparison tables, fit_variant) and tools/recipes_table.py."""

import importlib.util
import json
import os

from kerasext import runner  # first: TensorFlow's quiet start
import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import ROOT

spec = importlib.util.spec_from_file_location("recipes_table", os.path.join(ROOT, "tools", "recipes_table.py"))
table_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(table_module)


def make_table():
    table = runner.Comparison(
        "Dropout", [("test_accuracy", "test accuracy"), ("seconds", "s", ".1f"), ("note", "note")],
        claim="dropout helps", recipe="demo", shows="dropout with and without", command="python recipes/demo.py",
    )
    table.add("without", test_accuracy=0.97, seconds=12.34, note="a|b")
    table.add("dropout", test_accuracy=0.98, seconds=None, hidden=1)
    return table


def test_markdown_table():
    table = make_table()
    table.note("0.98 vs 0.97.")
    text = table.to_markdown()
    lines = text.splitlines()
    assert lines[0] == "### Dropout"
    assert "| variant | test accuracy | s | note |" in lines
    assert "| without | 0.9700 | 12.3 | a\\|b |" in lines
    assert "| dropout | 0.9800 | — | — |" in lines
    assert text.endswith("\n0.98 vs 0.97.\n") and "Verdict" not in text  # nothing judged: no verdict


def test_to_dict_is_json_and_keeps_hidden_keys():
    table = make_table()
    table.note("no gain.")
    saved = json.loads(json.dumps(table.to_dict()))
    assert saved["rows"][1]["hidden"] == 1 and saved["verdict"] is None and saved["judgments"] == []
    assert saved["shows"] == "dropout with and without" and saved["notes"] == ["no gain."]


def test_best_and_write(tmp_path):
    table = make_table()
    assert table.best("test_accuracy")["variant"] == "dropout"
    assert table.best("seconds", highest=False)["variant"] == "without"
    path = table.write(str(tmp_path), extra_markdown="more")
    assert open(path).read().endswith("more\n")


def test_bad_column_names_the_value():
    with pytest.raises(ValueError, match="Received"):
        runner.Comparison("x", [("a", "b", "c", "d")])
    with pytest.raises(ValueError, match="columns"):
        runner.Comparison("x", [])


def test_format_value():
    assert runner.format_value(float("nan")) == "—"
    assert runner.format_value(True) == "yes"
    assert runner.format_value(3) == "3"
    assert runner.format_value(0.123456) == "0.1235"


def test_epochs_to_target_and_summary():
    history = {"loss": [1.0, 0.5, 0.4], "accuracy": [0.5, 0.8, 0.9], "val_accuracy": [0.4, 0.85, 0.8],
               "val_loss": [1.1, 0.6, 0.7]}
    assert runner.epochs_to_target(history, 0.8, seconds=[1.0, 2.0, 3.0]) == (2, 2.0)
    assert runner.epochs_to_target(history, 0.9) == (None, None)
    summary = runner.summarize_history(history, [1.0, 2.0, 3.0], target=0.8)
    assert summary["best_val_accuracy"] == 0.85 and summary["best_epoch"] == 2
    assert summary["gap"] == pytest.approx(0.1) and summary["epochs_to_target"] == 2
    assert summary["seconds"] == 3.0 and summary["epochs"] == 3


def test_fit_variant_restarts_from_the_same_weights():
    keras.utils.set_random_seed(0)
    x = np.random.rand(64, 4).astype("float32")
    y = (x.sum(axis=1) > 2).astype("int32")
    train = tf.data.Dataset.from_tensor_slices((x[:48], y[:48])).batch(16)
    test = tf.data.Dataset.from_tensor_slices((x[48:], y[48:])).batch(16)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    weights = model.get_weights()
    runs = [
        runner.fit_variant(model, train, test, epochs=2, initial_weights=weights,
                            optimizer=lambda: keras.optimizers.SGD(0.1),
                            loss="sparse_categorical_crossentropy", test=test, train_eval=train)
        for _ in range(2)
    ]
    # The measurements are the trained model's, on the data given: recompute them here.
    predict = np.argmax(runs[1].model.predict(x, verbose=0), axis=1)
    train_accuracy, test_accuracy = np.mean(predict[:48] == y[:48]), np.mean(predict[48:] == y[48:])
    assert train_accuracy != test_accuracy  # so a swapped measurement cannot pass
    metrics = runs[1].metrics
    assert metrics["test_accuracy"] == pytest.approx(test_accuracy)
    assert metrics["train_eval_accuracy"] == pytest.approx(train_accuracy)
    assert metrics["generalization_gap"] == pytest.approx(train_accuracy - test_accuracy)
    assert metrics["val_accuracy"] == pytest.approx(test_accuracy)  # validation was the test data
    # Same initial weights, fresh optimizer: the second variant repeats the first exactly.
    assert runs[0].history == runs[1].history
    assert len(runs[0].seconds) == 2 and runs[0].metrics["epochs"] == 2


def _fake_run(root, recipe, stamp, summary=None, rows=True, comparison=True):
    folder = root / recipe / stamp
    folder.mkdir(parents=True)
    res = {"shows": f"{recipe} shows", "command": f"python recipes/{recipe}.py", "summary": summary}
    if rows:
        res["rows"] = [{"variant": "a"}]
    (folder / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.9}, "results": res, "seconds": 12}))
    if comparison:
        (folder / "comparison.md").write_text(f"### {recipe} table\n")
    return folder


def test_recipes_table_takes_each_latest_finished_run(tmp_path, capsys):
    runs = tmp_path / "runs"
    _fake_run(runs, "augmentation", "20250101-000000", summary="old")
    _fake_run(runs, "augmentation", "20250102-000000", summary="new | result")
    _fake_run(runs, "augmentation", "20250103-000000", summary="unfinished", comparison=False)
    _fake_run(runs, "baseline", "20250101-000000", rows=False, comparison=False)
    text = table_module.main([str(runs), "--docs", str(tmp_path / "docs")])
    assert "new \\| result" in text and "old" not in text and "unfinished" not in text
    assert "| baseline | baseline shows | `python recipes/baseline.py` | test accuracy 0.9000 |" in text
    assert "2-core CPU machine" in text and capsys.readouterr().out == text
    page = open(tmp_path / "docs" / "augmentation.md").read()
    assert page.startswith("# augmentation\n\nCommand: `python recipes/augmentation.py`")
    assert "### augmentation table" in page
    assert sorted(os.listdir(tmp_path / "docs")) == ["augmentation.md"]


def test_recipes_table_missing_folder_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        table_module.main([str(tmp_path / "nope")])
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_tool_reads_the_file_the_runner_writes():
    assert table_module.COMPARISON_FILE == runner.COMPARISON_FILE


def test_plot_variants(tmp_path):
    path = runner.plot_variants({"a": {"val_accuracy": [0.1, 0.2]}, "b": {"loss": [1.0]}},
                                 str(tmp_path / "v.png"))
    assert open(path, "rb").read(4) == b"\x89PNG"
    with pytest.raises(ValueError, match="keys"):
        runner.plot_variants({}, str(tmp_path / "w.png"), keys=())
