"""`kerasext.data.load(..., fold=(i, k))`: k-fold over train + validation, the test split kept."""

import numpy as np
import pytest
from conftest import decode_index

from kerasext import data


def collect(dataset):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return np.concatenate(xs), np.concatenate(ys)


def test_every_pool_example_is_validated_once_and_the_test_split_is_kept(unique_npz):
    path = unique_npz()
    _, plain_val, plain_test, plain_info = data.load(path, batch_size=16, seed=3)
    plain_train_ids = decode_index(collect(data.load(path, batch_size=16, seed=3)[0])[0])
    pool = np.sort(np.concatenate([plain_train_ids, decode_index(collect(plain_val)[0])]))
    test_x, test_y = collect(plain_test)
    validated = []
    for i in range(3):
        train, validation, test, info = data.load(path, batch_size=16, seed=3, fold=(i, 3))
        assert info.name == f"unique (fold {i + 1} of 3)"
        train_ids = decode_index(collect(train)[0])
        val_x, val_y = collect(validation)
        val_ids = decode_index(val_x)
        np.testing.assert_array_equal(val_ids // 100, val_y)  # labels travel with images
        assert not set(train_ids) & set(val_ids)
        np.testing.assert_array_equal(np.sort(np.concatenate([train_ids, val_ids])), pool)
        np.testing.assert_array_equal(np.bincount(val_y), [len(val_y) // 3] * 3)  # stratified
        x, y = collect(test)
        np.testing.assert_array_equal(x, test_x)
        np.testing.assert_array_equal(y, test_y)
        assert info.split_sizes == {
            "train": len(train_ids), "validation": len(val_ids),
            "test": plain_info.split_sizes["test"],
        }
        validated.append(val_ids)
    everything = np.concatenate(validated)
    np.testing.assert_array_equal(np.sort(everything), pool)  # each exactly once


def test_folds_depend_on_the_seed(unique_npz):
    path = unique_npz()
    a = decode_index(collect(data.load(path, seed=0, fold=(0, 3))[1])[0])
    b = decode_index(collect(data.load(path, seed=0, fold=(0, 3))[1])[0])
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "fold, words",
    [
        ((3, 3), "0 <= i < k"),
        ((-1, 3), "0 <= i < k"),
        ((0, 1), "k >= 2"),
        ((0, 91), "2 <= k <= 90"),
        ((0.5, 3), "pair of ints"),
        (3, "pair of ints"),
        ((0, 1, 2), "pair of ints"),
        ("ab", "pair of ints"),
    ],
)
def test_bad_fold_is_one_value_error_naming_it(unique_npz, fold, words):
    with pytest.raises(ValueError, match="`fold`") as error:
        data.load(unique_npz(), fold=fold)
    assert words in str(error.value) and f"fold={fold!r}" in str(error.value)
