"""External currents: constants, per-neuron values, step currents and time-varying inputs.

A current specification is one of

* a number: the same constant for every neuron;
* a 1-D array of length n: a constant per neuron;
* :class:`TimedArray`: values on a time grid (1-D: shared by all neurons, 2-D
  ``(n_times, n)``: per neuron), held constant over each of its bins and held at the
  last value after its end;
* :func:`step_current`: piecewise-constant amplitude switched at given times;
* a callable ``f(t)`` taking a 1-D array of times (ms) and returning shape ``(n_t,)`` or
  ``(n_t, n)``; it is evaluated once, up front, on the simulation grid.

The value used for step ``n`` (from ``t_n`` to ``t_{n+1}``) is the value at ``t_n``.
Units are those of the target model's input current ``I``: for models with an input
resistance ``R`` the membrane sees ``R I`` (mV); for the Izhikevich model ``I`` is in mV/ms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validate import finite_array, positive_float


@dataclass(frozen=True)
class TimedArray:
    """Values ``values[k]`` applied for ``k*dt <= t < (k+1)*dt`` (ms); last value held."""

    values: np.ndarray
    dt: float

    def __post_init__(self) -> None:
        v = np.asarray(self.values, dtype=np.float64)
        if v.ndim not in (1, 2) or v.shape[0] == 0:
            raise ValueError("TimedArray.values must be a non-empty 1-D or 2-D array")
        if not np.all(np.isfinite(v)):
            raise ValueError("TimedArray.values must be finite (no NaN or inf)")
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "dt", positive_float("TimedArray.dt", self.dt))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        k = np.clip(np.floor(np.asarray(t) / self.dt + 1e-9).astype(np.int64), 0,
                    self.values.shape[0] - 1)
        return self.values[k]


@dataclass(frozen=True)
class StepCurrent:
    """Piecewise-constant current: ``amplitudes[k]`` from ``times[k]`` to ``times[k+1]``.

    Zero before ``times[0]``; the last amplitude holds to the end of the run.
    """

    times: np.ndarray
    amplitudes: np.ndarray

    def __call__(self, t: np.ndarray) -> np.ndarray:
        k = np.searchsorted(self.times, np.asarray(t) + 1e-9, side="right") - 1
        out = np.where(k >= 0, self.amplitudes[np.maximum(k, 0)], 0.0)
        return out


def step_current(times, amplitudes) -> StepCurrent:
    """A step current switching to ``amplitudes[k]`` at ``times[k]`` (ms), zero before."""
    t = finite_array("step_current.times", times)
    a = finite_array("step_current.amplitudes", amplitudes)
    t, a = np.atleast_1d(t), np.atleast_1d(a)
    if t.shape != a.shape:
        raise ValueError(
            f"step_current.times and amplitudes must have the same length, got "
            f"{t.shape[0]} and {a.shape[0]}"
        )
    if t.shape[0] == 0:
        raise ValueError("step_current.times must hold at least one switching time (ms)")
    if np.any(np.diff(t) <= 0) or t[0] < 0:
        raise ValueError("step_current.times must be >= 0 and strictly increasing")
    return StepCurrent(t, a)


@dataclass
class CurrentSpec:
    """A validated current injected into some neurons of one population."""

    local: np.ndarray  # local neuron indices
    constant: np.ndarray | None  # per target neuron, if time-independent
    func: Callable | None  # f(t array) -> (n_t,) or (n_t, len(local))
    start: float
    stop: float


def make_current(name: str, value, local: np.ndarray, start=None, stop=None) -> CurrentSpec:
    """Validate ``value`` as a current for the neurons ``local``."""
    n = local.shape[0]
    start = 0.0 if start is None else float(finite_array(f"{name} start", start))
    stop = np.inf if stop is None else float(stop)
    if not stop > start:
        raise ValueError(f"{name}: stop ({stop}) must be greater than start ({start})")
    gated = start > 0 or np.isfinite(stop)
    if isinstance(value, TimedArray | StepCurrent) or callable(value):
        return CurrentSpec(local, None, value, start, stop)
    if isinstance(value, np.ndarray) and value.ndim == 2:
        raise TypeError(
            f"{name}: a 2-D array over time must be wrapped as fs.TimedArray(values, dt)"
        )
    arr = finite_array(name, value, n)
    const = np.broadcast_to(arr, (n,)).astype(np.float64)
    if gated:
        return CurrentSpec(local, None, _Constant(const), start, stop)
    return CurrentSpec(local, const, None, start, stop)


@dataclass(frozen=True)
class _Constant:
    values: np.ndarray

    def __call__(self, t):
        return np.broadcast_to(self.values, (np.asarray(t).shape[0], self.values.shape[0]))


def evaluate(spec: CurrentSpec, t: np.ndarray, name: str) -> np.ndarray:
    """Evaluate a time-dependent spec on the grid ``t``.

    Returns shape ``(n_t,)`` when the value is shared by all target neurons, else
    ``(n_t, n_target)``; zero outside ``[start, stop)``.
    """
    n = spec.local.shape[0]
    out = np.asarray(spec.func(t), dtype=np.float64)
    if out.ndim == 0:
        out = np.full(t.shape[0], float(out))
    if out.shape not in ((t.shape[0],), (t.shape[0], n)):
        raise ValueError(
            f"{name}: the time-varying current returned shape {out.shape}; expected "
            f"({t.shape[0]},) or ({t.shape[0]}, {n})"
        )
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name}: the time-varying current has NaN or inf values")
    gate = (t >= spec.start - 1e-9) & (t < spec.stop - 1e-9)
    return out * (gate if out.ndim == 1 else gate[:, None])
