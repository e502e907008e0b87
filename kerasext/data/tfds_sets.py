"""TFDS data sets read lazily: encoded records stream from disk (local or `gs://`), decoded in the map.

Split policy: the official `test` split is the test split, and the official `validation`
split (if any) the validation split; otherwise validation is carved, stratified, from
`train`. A data set without a `test` split, or `resplit=True`, pools every official split
and splits the pool like any other source. Labels are read once to split (the images are
skipped undecoded).
"""

import contextlib
import io
import logging

import numpy as np
import tensorflow as tf

from kerasext.data.checks import check_labels


def open_builder(name, data_dir):
    """The prepared TFDS builder of `name` (downloading it if needed), or a one-line `ValueError`."""
    import tensorflow_datasets as tfds

    if data_dir is not None and not tf.io.gfile.isdir(data_dir):
        raise ValueError(f"`data_dir` does not exist. Received: {data_dir}")
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"Unknown dataset {name!r}: not 'digits', not an existing .npz file or folder, "
            "and not a TFDS name."
        ) from None
    try:
        if not builder.is_prepared():
            _quiet_download(builder)
    except Exception as error:  # no network: DNS, connection or SSL errors of many kinds
        if isinstance(error, OSError):  # requests' ConnectionError is an OSError
            reason = "no network"
        else:
            reason = (str(error).splitlines() or [type(error).__name__])[0][:120]
        raise ValueError(
            f"Cannot download TFDS dataset {name!r} ({reason}). Prepare it on a machine "
            "with network and pass its folder with --data-dir, or pass an .npz file or a "
            "folder of class subfolders."
        ) from None
    return builder


def _quiet_download(builder):
    """Downloads with few retries and without progress bars, so offline fails in a second.

    TFDS retries each URL 10 times with exponential backoff (about 200 s offline) and
    prints progress bars; `MAX_RETRIES` is read at call time, so lowering it for this
    call is enough (tensorflow-datasets 4.9.x; the getattr keeps later versions working).
    """
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download import downloader

    saved = getattr(downloader, "MAX_RETRIES", None)
    urllib3_logger = logging.getLogger("urllib3")
    saved_level = urllib3_logger.level
    downloader.MAX_RETRIES = 2
    urllib3_logger.setLevel(logging.ERROR)  # one "Retrying ..." warning per retry otherwise
    tfds.disable_progress_bar()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            builder.download_and_prepare()
    finally:
        downloader.MAX_RETRIES = saved
        urllib3_logger.setLevel(saved_level)
        tfds.enable_progress_bar()


class TfdsSet:
    """A prepared TFDS data set: its official splits, encoded records and the image decoder."""

    def __init__(self, builder, name):
        import tensorflow_datasets as tfds

        keys = builder.info.supervised_keys
        if not keys:
            raise ValueError(f"TFDS dataset {name!r} has no (image, label) supervised keys")
        self.builder, self.name = builder, name
        self.image_key, self.label_key = keys[0], keys[1]
        self.feature = builder.info.features[self.image_key]
        if not isinstance(self.feature, tfds.features.Image) or self.feature.np_dtype != np.uint8:
            raise ValueError(
                f"TFDS dataset {name!r}: `{self.image_key}` must be a uint8 image feature to be "
                f"streamed. Received: {self.feature!r}"
            )
        self.feature_shape = tuple(self.feature.shape)
        # A mocked builder (tfds.testing.mock_data) knows no split names: assume train and test.
        self.splits = list(builder.info.splits) or ["train", "test"]
        label_feature = builder.info.features[self.label_key]
        self.class_names = list(getattr(label_feature, "names", None) or [])

    def records(self, expression):
        """`(encoded image, label)` in the split's fixed order, images not decoded."""
        import tensorflow_datasets as tfds

        return self.builder.as_dataset(
            split=expression, as_supervised=True, shuffle_files=False,
            decoders={self.image_key: tfds.decode.SkipDecoding()},
        )

    def labels(self, expression):
        """The labels of a split, in its order (reads the records, decodes no image)."""
        batches = self.records(expression).map(lambda image, label: label).batch(8192)
        labels = np.concatenate([b.numpy() for b in batches] or [np.zeros(0, np.int64)])
        labels = check_labels(labels, num_classes=len(self.class_names) or None,
                              name=f"{self.name} labels")
        if not self.class_names:
            self.class_names = [str(c) for c in range(int(labels.max()) + 1)]
        return labels

    def size(self, expression):
        count = int(self.records(expression).cardinality())
        if count < 0:
            count = sum(1 for _ in self.records(expression).map(lambda image, label: label))
        return count

    def decode(self, encoded):
        """An encoded image -> uint8 `(h, w, c)`."""
        return self.feature.decode_example(encoded)

    def first_image_size(self):
        encoded, _ = next(iter(self.records(self.splits[0]).take(1)))
        return tuple(int(v) for v in self.decode(encoded).shape[:2])

    def plan(self, resplit):
        """`{"pool": expr}` to split by fractions, or `{"train", "validation"?, "test"}` official."""
        if resplit or "test" not in self.splits or "train" not in self.splits:
            return {"pool": "+".join(self.splits)}
        plan = {"train": "train", "test": "test"}
        if "validation" in self.splits:
            plan["validation"] = "validation"
        return plan
