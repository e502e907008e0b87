"""Bad data input: one ValueError naming the argument and the value received."""

import numpy as np
import pytest

from kerasext import data


def raises(match, fn, *args, **kwargs):
    with pytest.raises(ValueError, match=match) as error:
        fn(*args, **kwargs)
    assert "\n" not in str(error.value)
    return str(error.value)


def test_unknown_dataset_name():
    raises("Unknown dataset 'no_such_set'", data.load, "no_such_set")


def test_missing_paths():
    raises(r"`dataset` file does not exist. Received: /nope/x.npz", data.load, "/nope/x.npz")
    raises(r"`dataset` does not exist .* Received: /nope/folder", data.load, "/nope/folder")
    raises(r"`data_dir` does not exist .* Received: /nope/dir", data.load, None, data_dir="/nope/dir")


def test_empty_data_dir(tmp_path):
    raises(r"`data_dir` has no class subfolders. Received: ", data.load, None, data_dir=str(tmp_path))


def test_class_folder_without_images(image_folder):
    (image_folder / "empty_class").mkdir()
    (image_folder / "empty_class" / "notes.txt").write_text("no images here")
    raises(r"Class folder .*empty_class has no images", data.load, str(image_folder))


def test_npz_without_x_or_y(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, images=np.zeros((4, 2, 2)), y=np.zeros(4))
    raises(r"needs arrays `x` and `y`.*keys \['images', 'y'\]", data.load, str(path))


def test_npz_mismatched_lengths(unique_npz):
    path = unique_npz(y=np.zeros(7, np.int64))
    raises(r"same length. Received: len\(x\)=300, len\(y\)=7", data.load, path)


def test_npz_not_a_zip(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_text("not a zip")
    raises(r"Cannot read .*broken.npz", data.load, str(path))


@pytest.mark.parametrize(
    "split, match",
    [
        ((0.8, 0.1, 0.2), r"must sum to 1. Received: \(0.8, 0.1, 0.2\)"),
        ((0.9, 0.1, 0.0), r"leaves the test split empty"),
        ((1.0, 0.0, 0.0), r"leaves the validation and test split empty"),
        ((0.8, 0.2), r"three fractions"),
        ("abc", r"three numbers"),
    ],
)
def test_bad_split_fractions(split, match):
    raises(match, data.load, "digits", split=split)


def test_split_too_small_for_every_class():
    # 1% of 1797 digits is 18 examples: fewer than... fine; 0.3% is 6 < 10 classes
    raises(r"Cannot split 1797 examples of 10 classes", data.load, "digits", split=(0.994, 0.003, 0.003))


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_bad_batch_size(batch_size):
    raises(rf"`batch_size` must be an integer >= 1. Received: batch_size={batch_size!r}",
           data.load, "digits", batch_size=batch_size)


@pytest.mark.parametrize("k", [1, 0, 1000, 2.0])
def test_bad_k(k):
    raises(rf"`k` must be an int from 2 to .* Received: k={k!r}", data.kfold, "digits", k)


def test_bad_image_size_and_channels():
    raises(r"Received: image_size=0", data.load, "digits", image_size=0)
    raises(r"Received: channels=2", data.load, "digits", channels=2)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.array([0, 1, 12]), r"in \[0, 10\). Received: 12 at index 2"),
        (np.array([0, -1, 2]), r"in \[0, 10\). Received: -1 at index 1"),
        (np.array([0.0, np.nan, 1.0]), r"must be finite. Received: 1 NaN or infinite values \(first at flat index 1: nan\)"),
        (np.array([0.0, np.inf]), r"must be finite.*inf"),
        (np.array(["cat", "dog"]), r"must be numeric. Received: dtype <U3 \(e.g. 'cat'\)"),
        (np.array([0.0, 2.5]), r"non-integer value 2.5 at index 1"),
        (np.zeros((3, 2)), r"shape \(N,\) or \(N, 1\). Received: shape \(3, 2\)"),
    ],
)
def test_check_labels(y, match):
    raises(match, data.check_labels, y, num_classes=10)


def test_npz_labels_are_checked(unique_npz):
    path = unique_npz(y=np.r_[np.zeros(299), np.nan])
    raises(r"must be finite", data.load, path)
    path = unique_npz(y=np.array(["a"] * 300))
    raises(r"must be numeric", data.load, path)
    path = unique_npz(classes=np.array(["a", "b"]))  # labels go up to 2, only 2 names
    raises(r"in \[0, 2\). Received: 2", data.load, path)


def test_check_labels_accepts_column_and_integral_floats():
    np.testing.assert_array_equal(data.check_labels(np.array([[1.0], [2.0]]), 3), [1, 2])
