"""Argument validation shared by models, the network builder and the runners.

Every check raises ``ValueError``/``TypeError`` naming the parameter and the allowed range,
so that bad input is rejected before anything is compiled or simulated.
"""

from __future__ import annotations

import numbers

import numpy as np

_BOUND_TEXT = {
    "positive": "> 0",
    "nonnegative": ">= 0",
    "any": "finite",
    "unit": "in [0, 1]",
    "order": "in (0, 1]",
}


def finite_array(name: str, value, n: int | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array (scalar or shape ``(n,)``), all entries finite."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a number or an array of numbers, got a bool")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a number or an array of numbers, got {type(value).__name__}"
        ) from None
    if arr.ndim > 1:
        raise ValueError(
            f"{name} must be a scalar or a 1-D per-neuron array, got shape {arr.shape}"
        )
    if arr.ndim == 1 and n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries but the population has {n} neurons")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def bounded(name: str, value, bound: str = "any", n: int | None = None) -> np.ndarray:
    """Like :func:`finite_array` and also check a bound: positive, nonnegative, unit,
    order (a Caputo order in (0, 1]) or any."""
    arr = finite_array(name, value, n)
    ok = {
        "positive": lambda a: np.all(a > 0),
        "nonnegative": lambda a: np.all(a >= 0),
        "unit": lambda a: np.all((a >= 0) & (a <= 1)),
        "order": lambda a: np.all((a > 0) & (a <= 1)),
        "any": lambda a: True,
    }[bound](arr)
    if not ok:
        raise ValueError(f"{name} must be {_BOUND_TEXT[bound]}, got {_show(arr)}")
    return arr


def positive_float(name: str, value) -> float:
    """A finite scalar > 0."""
    arr = bounded(name, value, "positive")
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def positive_int(name: str, value, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (bools rejected)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def choice(name: str, value, allowed) -> str:
    """One of the ``allowed`` strings."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def _show(arr: np.ndarray) -> str:
    if arr.ndim == 0:
        return repr(float(arr))
    return f"an array with min {arr.min():g} and max {arr.max():g}"
