"""Argument checks for the reference solvers (self-contained, no engine imports).

Every check raises ``ValueError``/``TypeError`` naming the parameter and the allowed range.
"""

from __future__ import annotations

import numbers

import numpy as np


def real_scalar(name: str, value) -> float:
    """A finite real scalar (bools and complex numbers rejected)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if not np.isfinite(out):
        raise ValueError(f"{name} must be finite, got {out}")
    return out


def in_range(name: str, value, lo: float, hi: float, lo_open: bool = True) -> float:
    """A finite real scalar in ``(lo, hi]`` (or ``[lo, hi]`` if ``lo_open`` is False)."""
    out = real_scalar(name, value)
    ok = (out > lo if lo_open else out >= lo) and out <= hi
    if not ok:
        bracket = "(" if lo_open else "["
        raise ValueError(f"{name} must be in {bracket}{lo:g}, {hi:g}], got {out!r}")
    return out


def positive(name: str, value) -> float:
    """A finite real scalar > 0."""
    out = real_scalar(name, value)
    if out <= 0:
        raise ValueError(f"{name} must be > 0, got {out!r}")
    return out


def orders(name: str, value, dim: int, hi: float = 1.0) -> np.ndarray:
    """Per-component orders: a scalar or ``dim`` values, each in ``(0, hi]``."""
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if arr.ndim != 1 or arr.shape[0] not in (1, dim):
        raise ValueError(f"{name} must be a scalar or have {dim} entries, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(arr > hi):
        raise ValueError(f"{name} must be in (0, {hi:g}], got {value!r}")
    return np.broadcast_to(arr, (dim,)).copy()
