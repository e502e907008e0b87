"""The search-space file: one JSON format for local sweeps and Vertex AI tuning jobs.

A search space maps recipe flag names (without `--`) to one range each, in the kinds of
Vertex AI's `StudySpec.ParameterSpec`:

    {"learning-rate": {"double": [1e-4, 0.1], "scale": "log"},
     "depth": {"integer": [1, 4]},
     "batch-size": {"discrete": [32, 64, 128]},
     "optimizer": {"categorical": ["adam", "nesterov"]}}

`scale` (`linear`, `log`, `reverse_log`; default `linear`) applies to `double` and
`integer`. Locally each kind becomes a Keras Tuner hyperparameter (`declare`): `double` a
`Float`, `integer` an `Int`, `discrete` and `categorical` a `Choice`. `cloud.submit_sweep`
reads the same file with the same `read_space` and turns it into a `StudySpec`. A recipe's
default space is the `SEARCH_SPACE` its module declares (`default_space(module)`).
"""

import json

KINDS = ("double", "integer", "discrete", "categorical")
SCALES = ("linear", "log", "reverse_log")
# Flags that place a run rather than configure it: never a search dimension.
NOT_SEARCHABLE = ("model-dir", "config", "help", "fold")  # fold: set by `--cv`

def read_space(path, flag="--space"):
    """Reads and checks a search-space file.

    Args:
        path: the JSON file.
        flag: the command-line flag that named it, for error messages. Defaults to `"--space"`.

    Returns:
        `{flag name: spec}`, in the file's order.

    Raises:
        ValueError: if the file is missing, not JSON, empty, or a dimension is malformed.
    """
    try:
        with open(path) as file:
            space = json.load(file)
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{flag}: cannot read {path} as JSON: {error}") from None
    return check_space(space, f"{flag} {path}")


def check_space(space, where="space"):
    """Checks a search space (as `read_space` returns it); returns it unchanged.

    Raises:
        ValueError: naming the dimension and the value received.
    """
    if not isinstance(space, dict) or not space:
        raise ValueError(f"{where} must hold a non-empty JSON object. Received: {space!r}")
    for name, spec in space.items():
        at = f"{where}: {name!r}"
        if not isinstance(name, str) or name.startswith("-") or not isinstance(spec, dict):
            raise ValueError(f"{at}: keys are recipe flags without '--', values objects. Received: {spec!r}")
        kinds = [k for k in KINDS if k in spec]
        unknown = sorted(set(spec) - set(KINDS) - {"scale"})
        if len(kinds) != 1 or unknown:
            raise ValueError(f"{at} needs exactly one of {', '.join(KINDS)} (and an optional scale). Received: {spec}")
        kind, values = kinds[0], spec[kinds[0]]
        scale = spec.get("scale", "linear")
        if scale not in SCALES:
            raise ValueError(f"{at}: scale must be one of {', '.join(SCALES)}. Received: {scale!r}")
        if kind in ("double", "integer"):
            numbers = (int, float) if kind == "double" else (int,)
            if (not isinstance(values, list) or len(values) != 2
                    or not all(isinstance(v, numbers) and not isinstance(v, bool) for v in values)
                    or values[0] >= values[1]):
                raise ValueError(f"{at}: {kind} must be [min, max] with min < max. Received: {values!r}")
            if scale != "linear" and values[0] <= 0:
                raise ValueError(f"{at}: a {scale} scale needs min > 0. Received: {values!r}")
        elif not isinstance(values, list) or not values or len(set(map(repr, values))) != len(values):
            raise ValueError(f"{at}: {kind} must be a list of distinct values. Received: {values!r}")
        elif kind == "discrete" and not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise ValueError(f"{at}: discrete values must be numbers (use categorical). Received: {values!r}")
        elif kind == "categorical" and len({type(v) for v in values}) != 1:
            raise ValueError(f"{at}: categorical values must share one type. Received: {values!r}")
    return space


def default_space(recipe):
    """A copy of the search space the recipe module declares as `SEARCH_SPACE`.

    Args:
        recipe: the recipe module (`recipes.<name>`, with `build_parser()`).

    Returns:
        `{flag name: spec}`, checked.

    Raises:
        ValueError: if the recipe declares no `SEARCH_SPACE`, or a malformed one.
    """
    name = recipe.build_parser().get_default("recipe")
    space = getattr(recipe, "SEARCH_SPACE", None)
    if space is None:
        raise ValueError(f"recipe {name!r} has no default search space (its module declares no "
                         "SEARCH_SPACE); give --space FILE")
    return check_space(json.loads(json.dumps(space)), f"SEARCH_SPACE of recipes/{name}.py")


def declare(hp, name, spec):
    """Declares dimension `name` in Keras Tuner's `HyperParameters` `hp`; returns its value."""
    kind = next(k for k in KINDS if k in spec)
    values = spec[kind]
    if kind == "double":
        return hp.Float(name, float(values[0]), float(values[1]), sampling=spec.get("scale", "linear"))
    if kind == "integer":
        return hp.Int(name, values[0], values[1], sampling=spec.get("scale", "linear"))
    return hp.Choice(name, list(values))


def probe_values(spec):
    """The values to check a dimension with: both ends of a range, or every listed value."""
    kind = next(k for k in KINDS if k in spec)
    return list(spec[kind])
