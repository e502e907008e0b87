"""Unreadable image files: one line naming the file, or left out and counted with skip_bad_images;
integer .npz images scaled by their dtype, float images outside [0, 1] refused."""

import io
import logging

import numpy as np
import pytest
from PIL import Image

from kerasext import data


def encoded(fmt, size=(12, 10), seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path):
    """2 classes x 6 valid images of every format Keras reads."""
    root = tmp_path / "images"
    formats = ["JPEG", "PNG", "GIF", "BMP", "JPEG", "PNG"]
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i, fmt in enumerate(formats):
            ext = {"JPEG": "jpg"}.get(fmt, fmt.lower())
            (root / c / f"{i}.{ext}").write_bytes(encoded(fmt, seed=i))
    return root


def one_line_error(*args, **kwargs):
    with pytest.raises(ValueError) as error:
        data.load(*args, **kwargs)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_valid_images_of_every_format_and_trailing_bytes_pass(folder):
    (folder / "a" / "trailer.jpg").write_bytes(encoded("JPEG") + b"\x00" * 5000 + b"camera data")
    _, _, _, info = data.load(str(folder), image_size=8, split=(0.5, 0.25, 0.25))
    assert sum(info.split_sizes.values()) == 13


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.jpg", b"", "empty file"),
        ("page.jpg", b"<html>404 Not Found</html>", "not a JPEG, PNG, GIF, BMP or WebP file"),
        ("cut.jpg", encoded("JPEG")[:300], "truncated or corrupt JPEG"),
        ("cut.png", encoded("PNG")[:200], "truncated or corrupt PNG"),
        ("cut.gif", encoded("GIF")[:100], "truncated or corrupt GIF"),
        ("cut.bmp", encoded("BMP")[:200], "truncated or corrupt BMP"),
    ],
)
def test_unreadable_image_is_one_line_naming_the_file(folder, name, content, reason):
    path = folder / "b" / name
    path.write_bytes(content)
    message = one_line_error(str(folder), image_size=8)
    assert message.startswith(f"Cannot read image {path}: {reason}")
    assert "skip_bad_images=True (--skip-bad-images)" in message


def test_several_unreadable_images_are_counted(folder):
    for i in range(3):
        (folder / "a" / f"bad{i}.png").write_bytes(b"nope")
    message = one_line_error(str(folder), image_size=8)
    assert "bad0.png" in message and "(2 more unreadable images)" in message


def test_skip_bad_images_logs_the_count_and_trains_on_the_rest(folder, caplog):
    (folder / "a" / "bad.jpg").write_bytes(b"")
    (folder / "b" / "cut.png").write_bytes(encoded("PNG")[:100])
    with caplog.at_level(logging.WARNING, logger="kerasext.data"):
        train, validation, test, info = data.load(str(folder), image_size=8, skip_bad_images=True,
                                                  split=(0.5, 0.25, 0.25))
    assert sum(info.split_sizes.values()) == 12
    (record,) = [r for r in caplog.records if r.name == "kerasext.data"]
    assert "Left out 2 unreadable image(s) of 14" in record.getMessage()
    assert sum(int(x.shape[0]) for x, _ in train) == info.split_sizes["train"]


@pytest.mark.parametrize("batch_size", [1, 4])
def test_a_file_that_fails_mid_decode_is_named(folder, batch_size):
    import tensorflow as tf

    bad = folder / "b" / "mid.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"junk" * 50 + b"\xff\xd9")  # passes the header check
    splits = data.load(str(folder), image_size=8, batch_size=batch_size, cache="none",
                       split=(0.5, 0.25, 0.25))[:3]
    lines = []
    for dataset in splits:  # the training order, and the evaluation order
        try:
            for _ in dataset:
                pass
        except tf.errors.OpError as error:
            lines.append(data.unreadable_image(error))
    assert lines == [f"Cannot read image {bad}: it failed to decode (corrupt data, or the file "
                     "is gone). Fix or remove it."]
    assert data.unreadable_image(ValueError("something else")) is None
    message = one_line_error(str(folder), image_size=8, cache="memory", split=(0.5, 0.25, 0.25))
    assert message == lines[0]  # decoded into the cache at load: a ValueError


def test_a_recipe_names_a_file_that_fails_mid_run_in_one_line_exit_2(folder, capsys):
    from kerasext import runner
    from kerasext.runner import errors

    bad = folder / "a" / "mid.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"junk" * 50 + b"\xff\xd9")  # passes the header check

    def main(argv):
        train = data.load(str(folder), image_size=8, batch_size=2, cache="none", split=(0.5, 0.25, 0.25))[0]
        errors.mark_started()  # training has begun: any other error would be a failure, exit 1
        for _ in train:
            pass

    with pytest.raises(SystemExit) as exit_:
        runner.run_cli(main, [])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(
        f": error: Cannot read image {bad}: it failed to decode (corrupt data, or the file is gone). "
        "Fix or remove it."), lines


def test_a_class_with_only_unreadable_images_is_refused_even_when_skipping(tmp_path):
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "0.png").write_bytes(encoded("PNG"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "0.png").write_bytes(b"")
    message = one_line_error(str(tmp_path), skip_bad_images=True)
    assert "broken has no readable images" in message


@pytest.mark.parametrize(
    "dtype, high, divisor",
    [(np.uint8, 255, 255), (np.uint16, 65535, 65535), (np.uint16, 255, 65535),
     (np.int64, 254, 255), (np.int32, 255, 255), (np.int64, 4095, 65535), (np.int16, 32767, 32767)],
)
def test_integer_npz_images_are_scaled_by_their_dtype(tmp_path, dtype, high, divisor):
    x = np.zeros((30, 4, 4, 1), dtype)
    x[:, 0, 0, 0] = high
    x[:, 0, 1, 0] = np.arange(30)
    path = tmp_path / "ints.npz"
    np.savez(path, x=x, y=np.arange(30) % 3)
    arrays = data.load_arrays(str(path))
    assert arrays.x.dtype == np.float32
    np.testing.assert_array_equal(arrays.x[:, 0, 0, 0], np.float32(high) / np.float32(divisor))
    train, validation, test, _ = data.load(str(path), batch_size=64)
    images = np.concatenate([x for ds in (train, validation, test) for x, _ in ds])
    assert 0 <= images.min() and images.max() <= 1
    np.testing.assert_array_equal(np.sort(images[:, 0, 1, 0]), np.arange(30, dtype=np.float32) / divisor)


@pytest.mark.parametrize(
    "x, match",
    [
        (np.full((9, 4, 4), 255.0, np.float32), r"must lie in \[0, 1\]. Received: values from 255 to 255"),
        (np.linspace(-0.5, 1, 9 * 16).reshape(9, 4, 4), r"Received: values from -0.5 to 1"),
        (np.full((9, 4, 4), -3, np.int64), r"must not be negative.*values from -3 to -3"),
        (np.full((9, 4, 4), 70000, np.int64), r"8- or 16-bit pixel values. Received: values from 70000"),
    ],
)
def test_out_of_range_images_are_refused_with_the_range_received(tmp_path, x, match):
    path = tmp_path / "bad.npz"
    np.savez(path, x=x, y=np.arange(9) % 3)
    message = one_line_error(str(path))
    assert str(path) in message
    with pytest.raises(ValueError, match=match):
        data.load(str(path))


def test_tabular_features_are_not_scaled(tmp_path):
    path = tmp_path / "tab.npz"
    x = np.arange(90 * 3).reshape(90, 3) * 10
    np.savez(path, x=x, y=np.repeat([0, 1, 2], 30))
    assert data.load_arrays(str(path)).x.max() == x.max()
