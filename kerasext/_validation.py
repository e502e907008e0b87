"""Argument checks shared by every kerasext package, name first as in Keras.

Each check returns the value it was given (`check_int` returns an `int`) and
otherwise raises `ValueError` naming the argument and the value received:
"`max_lr` must be > 0. Received: max_lr=-1".

Real-number checks reject bools, non-numbers, NaN and +-inf (inf is not a
valid learning rate, rate or size); the message then says "a finite number":
"`max_lr` must be a finite number > 0. Received: max_lr=inf".
"""

import math
import numbers


def _received(name, value):
    return f"Received: {name}={value!r}"


def _is_finite_real(value):
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _check_real(name, value, ok, requirement):
    """Raise unless `value` is a finite real number for which `ok(value)`."""
    if not _is_finite_real(value):
        raise ValueError(
            f"`{name}` must be a finite number {requirement}. {_received(name, value)}"
        )
    if not ok(value):
        raise ValueError(f"`{name}` must be {requirement}. {_received(name, value)}")
    return value


def check_finite(name, value):
    """Raise unless `value` is a finite real number (not a bool)."""
    if not _is_finite_real(value):
        raise ValueError(f"`{name}` must be a finite number. {_received(name, value)}")
    return value


def check_positive(name, value):
    """Raise unless `value` is a finite real number > 0."""
    return _check_real(name, value, lambda v: v > 0, "> 0")


def check_non_negative(name, value):
    """Raise unless `value` is a finite real number >= 0."""
    return _check_real(name, value, lambda v: v >= 0, ">= 0")


def check_greater(name, value, bound):
    """Raise unless `value` is a finite real number > `bound`."""
    return _check_real(name, value, lambda v: v > bound, f"> {bound}")


def check_open_unit(name, value):
    """Raise unless `value` is a finite real number with 0 < value < 1."""
    return _check_real(
        name, value, lambda v: 0 < v < 1, "in the open interval (0, 1)"
    )


def check_unit_interval(name, value):
    """Raise unless `value` is a real number in [0, 1] (a probability)."""
    return _check_real(name, value, lambda v: 0 <= v <= 1, "in [0, 1]")


# A probability is a number in [0, 1]: the same check under the usual name.
check_probability = check_unit_interval


def check_range(name, value, low, high, include_low=True, include_high=True):
    """Raise unless `value` is a finite real number between `low` and `high`.

    `include_low` / `include_high` say whether each end is allowed:
    `check_range("dropout", d, 0, 1, include_high=False)` asks for [0, 1).
    """
    interval = (
        f"{'[' if include_low else '('}{low}, {high}{']' if include_high else ')'}"
    )

    def ok(v):
        above = v >= low if include_low else v > low
        below = v <= high if include_high else v < high
        return above and below

    return _check_real(name, value, ok, f"in {interval}")


def check_int(name, value, minimum, allow_none=False):
    """Raise unless `value` is an integer (not a bool) >= `minimum`.

    With `allow_none=True`, `None` is accepted and returned.
    Returns the value as a Python `int`.
    """
    if value is None and allow_none:
        return None
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool)
        or value < minimum
    ):
        expected = f"an integer >= {minimum}"
        if allow_none:
            expected = f"None or {expected}"
        raise ValueError(f"`{name}` must be {expected}. {_received(name, value)}")
    return int(value)


def check_choice(name, value, choices):
    """Raise unless `value` is one of `choices`."""
    try:
        known = value in choices
    except TypeError:  # unhashable value tested against a set or dict
        known = False
    if not known:
        raise ValueError(
            f"`{name}` must be one of {list(choices)}. {_received(name, value)}"
        )
    return value
