"""The augmentation preview picture: a PNG is written, titles read right."""

import numpy as np
import pytest

from kerasext.plot import augmentation_grid
from kerasext.plot import preview


def test_writes_a_png(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 8, 8, 3)).astype("uint8")
    augmented = rng.random((10, 8, 8, 3)).astype("float32") * 255.0
    mixed = np.zeros((10, 3), "float32")
    mixed[:, 0], mixed[:, 1] = 0.62, 0.38
    path = tmp_path / "grid.png"
    result = augmentation_grid(
        images,
        augmented,
        str(path),
        labels=np.arange(10) % 3,
        augmented_labels=mixed,
        class_names=["cat", "dog", "eel"],
        max_images=4,
    )
    assert result == str(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_grayscale_without_labels(tmp_path):
    images = np.random.default_rng(1).random((3, 6, 6, 1)).astype("float32")
    path = augmentation_grid(images, images, str(tmp_path / "gray.png"))
    assert (tmp_path / "gray.png").stat().st_size > 0 and path.endswith(".png")


def test_titles():
    names = ["cat", "dog", "eel"]
    mixed = np.array([[0.62, 0.38, 0.0], [0.0, 1.0, 0.0], [0.1, 0.2, 0.7]])
    assert preview._titles(mixed, 3, names) == [
        "0.62 cat / 0.38 dog",
        "dog",
        "0.70 eel / 0.20 dog",
    ]
    assert preview._titles(np.array([[2], [0]]), 2, names) == ["eel", "cat"]
    assert preview._titles(np.array([1, 7]), 2, names) == ["dog", "7"]


def test_bad_input(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"`images` must have rank 4.*Received: images.shape=\(8, 8, 3\)",
    ):
        augmentation_grid(
            np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), str(tmp_path / "x.png")
        )
    with pytest.raises(ValueError, match=r"Received: max_images=0"):
        augmentation_grid(
            np.zeros((1, 8, 8, 3)),
            np.zeros((1, 8, 8, 3)),
            str(tmp_path / "x.png"),
            max_images=0,
        )


def test_plot_history_writes_one_png_and_no_temporary(tmp_path):
    from kerasext.plot import plot_history

    history = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7], "accuracy": [0.5, 0.7, 0.8]}
    path = tmp_path / "curves.png"
    assert plot_history(history, path, title="t", note="n") == path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path):
    from kerasext.plot import _save

    path = tmp_path / "old.png"
    path.write_bytes(b"old")
    figure = _save.new_figure()
    with pytest.raises(ValueError):
        _save.save_figure(figure, path, format="not-a-format")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["old.png"]
