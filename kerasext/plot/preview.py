"""A picture of what an augmentation does: originals above, augmented below."""

import numpy as np

from kerasext._validation import check_int
from kerasext.plot._save import new_figure
from kerasext.plot._save import save_figure


def augmentation_grid(
    images,
    augmented,
    path,
    labels=None,
    augmented_labels=None,
    class_names=None,
    max_images=8,
):
    """Writes a PNG grid: originals in the top row, augmented below.

    Titles show the labels: a class name (or index) for integer / one-hot
    labels, and the two largest weights for mixed labels, e.g.
    "0.62 cat / 0.38 dog". Uses matplotlib's Agg canvas directly, so it
    neither needs a display nor changes the global matplotlib backend.

    Keras has no built-in for this; `keras_cv.visualization.plot_image_gallery`
    (KerasCV) shows one set of images without labels or a before/after row.

    Args:
        images: Originals, `(batch, height, width, channels)` with 1 or 3
            channels, uint8 or float (floats with a maximum above 1 are
            read as [0, 255]). Tensors of any backend or NumPy arrays.
        augmented: The augmented batch, same layout.
        path: Where the PNG goes.
        labels: Optional labels of the originals: integer `(batch,)` /
            `(batch, 1)` or one-hot / soft `(batch, classes)`.
        augmented_labels: Optional labels after augmentation, same forms.
        class_names: Optional list of names indexed by class.
        max_images: At most this many columns. Defaults to `8`.

    Returns:
        `path`.

    Raises:
        ValueError: If the images are not rank 4, or `max_images` < 1.

    Example:

    ```python
    mixed_images, mixed_labels = kerasext.layers.Mixup(num_classes=10)(x, y)
    augmentation_grid(x, mixed_images, "mixup.png", labels=y,
                      augmented_labels=mixed_labels, class_names=names)
    ```
    """
    max_images = check_int("max_images", max_images, 1)
    rows = [_as_display(images, "images"), _as_display(augmented, "augmented")]
    count = min(max_images, len(rows[0]), len(rows[1]))
    titles = [
        _titles(labels, count, class_names),
        _titles(augmented_labels, count, class_names),
    ]
    figure = new_figure(figsize=(1.8 * count, 4.0))
    for row, (batch, row_titles) in enumerate(zip(rows, titles)):
        for column in range(count):
            axes = figure.add_subplot(2, count, row * count + column + 1)
            image = batch[column]
            if image.shape[-1] == 1:
                axes.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
            else:
                axes.imshow(image)
            axes.set_axis_off()
            if row_titles is not None:
                axes.set_title(row_titles[column], fontsize=8)
    figure.tight_layout(rect=(0.03, 0.0, 1.0, 1.0))
    for y, name in ((0.75, "original"), (0.25, "augmented")):
        figure.text(0.01, y, name, rotation=90, va="center", fontsize=9)
    return save_figure(figure, path, format="png", dpi=100)


def _as_display(images, name):
    array = np.asarray(_to_numpy(images))
    if array.ndim != 4:
        raise ValueError(
            f"`{name}` must have rank 4 (batch, height, width, channels). "
            f"Received: {name}.shape={array.shape}"
        )
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    array = array.astype(np.float32)
    if array.size and np.nanmax(array) > 1.0:
        array = array / 255.0
    return np.clip(np.nan_to_num(array), 0.0, 1.0)


def _to_numpy(x):
    try:
        import keras

        return keras.ops.convert_to_numpy(x)
    except Exception:  # noqa: BLE001 - plain arrays and lists.
        return np.asarray(x)


def _titles(labels, count, class_names):
    if labels is None:
        return None
    array = np.asarray(_to_numpy(labels))
    if array.ndim == 2 and array.shape[-1] == 1:
        array = array[:, 0]
    titles = []
    for row in array[:count]:
        if np.ndim(row) == 0:
            titles.append(_name(int(row), class_names))
            continue
        order = np.argsort(-row)
        top = [int(i) for i in order[:2] if row[i] > 1e-3]
        if len(top) == 1 and row[top[0]] > 0.995:
            titles.append(_name(top[0], class_names))
        else:
            titles.append(
                " / ".join(f"{row[i]:.2f} {_name(i, class_names)}" for i in top)
            )
    return titles


def _name(index, class_names):
    if class_names is not None and 0 <= index < len(class_names):
        return str(class_names[index])
    return str(index)
