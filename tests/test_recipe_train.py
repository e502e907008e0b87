"""recipes/train.py: the config-driven script, and the kerasext.models families it builds."""

import json
import os

import keras
import pytest

from kerasext import models
from recipes import train


@pytest.fixture(autouse=True)
def float32_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_smoke_every_group_of_flags(run_in):
    metrics = train.main([
        "--epochs", "1", "--model", "resnet", "--depth", "2", "--augment", "rotate,cutout,mixup",
        "--loss", "label_smoothing", "--optimizer", "nesterov", "--schedule", "onecycle",
        "--learning-rate", "0.05", "--dropout", "0.1", "--early-stopping", "2", "--model-dir", "out",
    ])
    assert {"config.json", "model.keras", "metrics.json", "curves.png"} <= set(os.listdir("out"))
    saved = json.load(open("out/metrics.json"))
    assert saved["test"] == metrics["test"] and 0.0 <= saved["test"]["accuracy"] <= 1.0
    assert saved["results"]["train"]["epochs"] == 1 and "diagnosis" in saved
    config = json.load(open("out/config.json"))
    assert config["augment"] == "rotate,cutout,mixup" and config["schedule"] == "onecycle"


def test_config_replays_and_flags_override(run_in):
    first = train.main(["--epochs", "1", "--model", "mlp", "--optimizer", "adamw", "--schedule", "cosine",
                        "--batch-norm", "--l2", "1e-4", "--model-dir", "a"])
    replay = train.main(["--config", "a/config.json", "--model-dir", "b"])
    assert first["test"] == replay["test"]
    assert json.load(open("b/config.json"))["batch_norm"] is True
    other = train.main(["--config", "a/config.json", "--schedule", "step", "--model-dir", "c"])
    assert json.load(open("c/config.json"))["schedule"] == "step" and other["test"] != first["test"]


@pytest.mark.parametrize("family", ["cnn", "mlp", "resnet"])
def test_families_start_from_the_same_weights_whatever_the_regularization(family):
    plain = models.build_model(family, (8, 8, 1), 10, seed=3)
    regular = models.build_model(family, (8, 8, 1), 10, seed=3, dropout=0.5, l2=1e-3)
    assert plain.output.shape == (None, 10)
    for a, b in zip(plain.get_weights(), regular.get_weights()):
        assert (a == b).all()


def test_models_reject_bad_input():
    with pytest.raises(ValueError, match="family"):
        models.build_model("vgg", (8, 8, 1), 10)
    with pytest.raises(ValueError, match="needs images"):
        models.build_model("cnn", (64,), 10)
    with pytest.raises(ValueError, match="dropout"):
        models.build_model("mlp", (64,), 10, dropout=1.0)


def test_whiten_sets_fastnets_stem_from_the_training_images(run_in):
    train.main(["--model", "fastnet", "--width", "8", "--depth", "1", "--whiten", "--epochs", "1",
                "--model-dir", "out"])
    model = keras.models.load_model("out/model.keras")
    stem = model.get_layer("whiten")
    assert not stem.trainable and stem.get_weights()[0].shape == (2, 2, 1, 8)  # digits: 1 channel


def test_whiten_is_for_fastnet_only():
    from kerasext import runner

    args = runner.parse_args(train.build_parser(), ["--whiten"])
    with pytest.raises(ValueError, match="`--whiten` applies to --model fastnet only. Received: --model cnn"):
        train.check_args(args)
