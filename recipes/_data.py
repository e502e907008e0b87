"""Data helpers shared by the recipes that cut the runner's split themselves."""

from kerasext import data


def split_arrays(args):
    """The arrays of the split `runner.load_data` makes from the same flags.

    Returns:
        `(splits, class_names)`: `splits` maps "train", "validation" and "test" to `(x, y)`.
    """
    arrays = data.load_arrays(args.dataset, data_dir=args.data_dir, image_size=args.image_size,
                              channels=args.channels)
    indices = data.stratified_split(arrays.y, args.split, args.seed)  # as runner.load_data splits
    splits = {name: (arrays.x[index], arrays.y[index])
              for name, index in zip(("train", "validation", "test"), indices)}
    return splits, list(arrays.class_names)
