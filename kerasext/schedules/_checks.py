"""Argument checks shared by the schedules and callbacks.

Each check raises `ValueError` naming the argument and the value received,
in the form Keras uses: "`max_lr` must be > 0. Received: max_lr=-1".
"""

import numbers


def _received(name, value):
    return f"Received: {name}={value!r}"


def check_positive(name, value):
    """Raise unless `value` is a real number > 0."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"`{name}` must be > 0. {_received(name, value)}")
    return value


def check_non_negative(name, value):
    """Raise unless `value` is a real number >= 0."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
        raise ValueError(f"`{name}` must be >= 0. {_received(name, value)}")
    return value


def check_int(name, value, minimum):
    """Raise unless `value` is an integer >= `minimum`; return it as `int`."""
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool)
        or value < minimum
    ):
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. {_received(name, value)}"
        )
    return int(value)


def check_open_unit(name, value):
    """Raise unless 0 < `value` < 1."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 < value < 1:
        raise ValueError(
            f"`{name}` must be in the open interval (0, 1). {_received(name, value)}"
        )
    return value


def check_choice(name, value, choices):
    """Raise unless `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {list(choices)}. {_received(name, value)}"
        )
    return value


def check_greater(name, value, bound):
    """Raise unless `value` is a real number > `bound`."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > bound:
        raise ValueError(f"`{name}` must be > {bound}. {_received(name, value)}")
    return value
