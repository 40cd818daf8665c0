r"""Surrogate gradients of the spike nonlinearity.

A neuron spikes when ``x = v - v_th >= 0``: the spike is ``s = H(x)`` with ``H`` the Heaviside
step, whose derivative is zero almost everywhere.  Gradient-based training replaces ``H'(x)``
in the backward pass (forward tangents or the discrete adjoint) by a *surrogate*
``sigma'(x)``, the derivative of a smooth step ``sigma`` (the *relaxed spike*) of width ``w``.
``x`` and ``w`` are in mV (model units for the dimensionless conductance model) and
``sigma'`` is in 1/mV.  Every surrogate is normalised::

    integral of sigma'(x) dx over R = 1,   sigma(-inf) = 0,   sigma(+inf) = 1,

so it approximates the Dirac delta ``H'`` and only its spread changes with ``w``:

=========  ============================================  ======================================
name       sigma'(x)                                     sigma(x)
=========  ============================================  ======================================
Sigmoid    S (1 - S) / w,   S = 1 / (1 + exp(-x/w))      S
ArcTan     1 / (pi w (1 + (x/w)^2))     (Cauchy)         1/2 + arctan(x/w) / pi
Triangle   max(0, 1 - |x|/w) / w        (support |x|<w)  (1 + x/w)^2 / 2 for -w <= x <= 0,
                                                         1 - (1 - x/w)^2 / 2 for 0 <= x <= w
Gaussian   exp(-x^2 / (2 w^2)) / (sqrt(2 pi) w)          (1 + erf(x / (sqrt(2) w))) / 2
Rectangle  1/w if |x| < w/2, else 0     (support w)      clip(x/w + 1/2, 0, 1)
=========  ============================================  ======================================

(Triangle's and Rectangle's ``sigma`` are 0 left and 1 right of the support.)

**MPD-AGL** (Jiang et al. 2025, arXiv 2505.11863, "adaptive gradient learning by exploiting
membrane potential dynamics").  A fixed-width surrogate stops passing gradient when the
distribution of the membrane potentials drifts away from its support; MPD-AGL re-sizes the
surrogate at every time step to the spread of that distribution.  The paper derives the
spread analytically from threshold-dependent batch normalisation (``sigma_1 = gamma V_th``,
``sigma_t = sqrt(1 + tau^2) gamma V_th``) and uses a rectangle of width ``2 sigma_t``, so the
gradient-available interval is ``|v - V_th| < sigma_t``.  fracsim has no batch norm, so it
*measures* the spread over the neurons of a population at step ``t``::

    x_i   = v_i(t) - v_th_i                         (i = 1..N neurons, one time step)
    m     = mean_i x_i
    s_t   = sqrt(mean_i (x_i - m)^2)                statistic="std" (population std, ddof 0)
          = sqrt(pi/2) * mean_i |x_i - m|           statistic="mad" (mean absolute deviation,
                                                    scaled so that s_t = std for a Gaussian)
    w_t   = min(max(kappa * s_t, w_min), w_max)     (mV)
    sigma'_t(x) = shape'(x; w_t)                    shape: a surrogate above, default Rectangle

With the defaults (``kappa = 2``, ``shape = "rect"``) this is the paper's rule, support
``|x| < s_t``: for potentials normally distributed around the threshold a constant fraction
``erf(kappa / (2 sqrt 2))`` (68.3 % for kappa = 2) of the neurons receives gradient whatever the
scale of the distribution.  The clip keeps the height ``1/w_t`` bounded (``w_min``: no
explosion when all potentials coincide, e.g. at rest or with a single neuron, where
``s_t = 0``) and non-negligible (``w_max``: no vanishing).  ``w_t`` is a constant of the
backward pass: no gradient flows through the width (the paper detaches it too), so the
tangent/adjoint of a spike is ``sigma'_t(x) * dx`` exactly as for a fixed surrogate.

Engine interface (Numba).  Each surrogate has an integer ``kind`` and a ``params`` tuple of
``N_PARAMS`` floats (zero-padded, so that one compiled specialisation serves every kind):

- fixed kinds: ``params = (w, 0, 0, 0, 0)``;
- MPD-AGL: ``params = (kappa, w_min, w_max, shape kind, statistic code)``.

Inside njit code, ``surrogate_grad(kind, params, x, width_now)`` returns ``sigma'(x)``;
``width_now`` is ignored by fixed kinds and is the step's ``w_t`` for MPD-AGL, computed once
per step and population with ``adaptive_width(v, v_th, kappa, w_min, w_max, stat)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit
from scipy.special import erf, expit

from .._validate import choice, positive_float

__all__ = [
    "KIND_ARCTAN", "KIND_GAUSSIAN", "KIND_MPDAGL", "KIND_NONE", "KIND_RECT", "KIND_SIGMOID",
    "KIND_TRIANGLE", "MPDAGL", "N_PARAMS", "STAT_MAD", "STAT_STD", "ArcTan", "Gaussian",
    "Rectangle", "Sigmoid", "Surrogate", "Triangle", "adaptive_width", "surrogate_grad",
]

KIND_NONE = 0  # no surrogate: sigma' = 0 (spikes carry no gradient; smooth models only)
KIND_SIGMOID = 1
KIND_ARCTAN = 2
KIND_TRIANGLE = 3
KIND_GAUSSIAN = 4
KIND_RECT = 5
KIND_MPDAGL = 6
STAT_STD = 0
STAT_MAD = 1
N_PARAMS = 5

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_HALF_PI = math.sqrt(0.5 * math.pi)


# ---------------------------------------------------------------------------------- Numba side
@njit(inline="always", cache=True)
def _shape_grad(kind, x, w):
    """``sigma'(x)`` of the fixed shape ``kind`` at width ``w`` (mV); 0 for unknown kinds."""
    if kind == KIND_SIGMOID:
        e = math.exp(-abs(x) / w)  # S (1 - S) = e / (1 + e)^2, stable for any |x|
        return e / ((1.0 + e) * (1.0 + e) * w)
    elif kind == KIND_ARCTAN:
        z = x / w
        return 1.0 / (math.pi * w * (1.0 + z * z))
    elif kind == KIND_TRIANGLE:
        a = 1.0 - abs(x) / w
        return a / w if a > 0.0 else 0.0
    elif kind == KIND_GAUSSIAN:
        z = x / w
        return _INV_SQRT_2PI * math.exp(-0.5 * z * z) / w
    elif kind == KIND_RECT:
        return 1.0 / w if abs(x) < 0.5 * w else 0.0
    return 0.0


@njit(inline="always", cache=True)
def surrogate_grad(kind, params, x, width_now):
    """``sigma'(x)`` (1/mV) for ``x = v - v_th`` (mV), for the surrogate ``(kind, params)``.

    ``width_now`` (mV) is used only by MPD-AGL (its per-step width from
    :func:`adaptive_width`); fixed kinds read their width from ``params[0]``.
    """
    if kind == KIND_MPDAGL:
        return _shape_grad(int(params[3]), x, width_now)
    return _shape_grad(kind, x, params[0])


@njit(cache=True)
def adaptive_width(v, v_th, kappa, w_min, w_max, stat=STAT_STD):
    """MPD-AGL width (mV) of one step: ``clip(kappa * s, w_min, w_max)`` with ``s`` the spread
    (``stat``: STAT_STD or STAT_MAD) of ``x_i = v_i - v_th_i`` over the 1-D array ``v``.

    ``v_th`` is a scalar or an array of ``len(v)`` (per-neuron thresholds).  Empty ``v``
    gives ``w_min``.
    """
    vt = np.atleast_1d(np.asarray(v_th))
    per_neuron = vt.shape[0] > 1
    n = v.shape[0]
    if n == 0:
        return w_min
    m = 0.0
    for i in range(n):
        m += v[i] - vt[i if per_neuron else 0]
    m /= n
    acc = 0.0
    for i in range(n):
        d = v[i] - vt[i if per_neuron else 0] - m
        if stat == STAT_MAD:
            acc += abs(d)
        else:
            acc += d * d
    if stat == STAT_MAD:
        s = _SQRT_HALF_PI * acc / n
    else:
        s = math.sqrt(acc / n)
    return min(max(kappa * s, w_min), w_max)


# ---------------------------------------------------------------------------------- NumPy side
def _np_grad(kind: int, x, w) -> np.ndarray:
    """Vectorised ``sigma'(x)`` of a fixed shape; ``w`` broadcasts against ``x``."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if kind == KIND_SIGMOID:
        e = np.exp(-np.abs(x) / w)
        return e / ((1.0 + e) ** 2 * w)
    if kind == KIND_ARCTAN:
        return 1.0 / (np.pi * w * (1.0 + (x / w) ** 2))
    if kind == KIND_TRIANGLE:
        return np.maximum(0.0, 1.0 - np.abs(x) / w) / w
    if kind == KIND_GAUSSIAN:
        return _INV_SQRT_2PI * np.exp(-0.5 * (x / w) ** 2) / w
    if kind == KIND_RECT:
        return np.where(np.abs(x) < 0.5 * w, 1.0 / w, 0.0)
    raise ValueError(f"unknown surrogate kind {kind}")


def _np_relaxed(kind: int, x, w) -> np.ndarray:
    """Vectorised smooth step ``sigma(x)`` whose derivative is :func:`_np_grad`."""
    x = np.asarray(x, dtype=np.float64)
    z = x / np.asarray(w, dtype=np.float64)
    if kind == KIND_SIGMOID:
        return expit(z)
    if kind == KIND_ARCTAN:
        return 0.5 + np.arctan(z) / np.pi
    if kind == KIND_TRIANGLE:
        zc = np.clip(z, -1.0, 1.0)
        return np.where(zc <= 0.0, 0.5 * (1.0 + zc) ** 2, 1.0 - 0.5 * (1.0 - zc) ** 2)
    if kind == KIND_GAUSSIAN:
        return 0.5 * (1.0 + erf(z / math.sqrt(2.0)))
    if kind == KIND_RECT:
        return np.clip(z + 0.5, 0.0, 1.0)
    raise ValueError(f"unknown surrogate kind {kind}")


@dataclass(frozen=True)
class Surrogate:
    """Base class: ``kind``/``params`` for the engine, ``grad``/``relaxed`` for NumPy users."""

    kind: ClassVar[int] = KIND_NONE
    adaptive: ClassVar[bool] = False  # True when the width changes every step (MPD-AGL)

    @property
    def params(self) -> tuple[float, ...]:
        """``N_PARAMS`` floats read by :func:`surrogate_grad`."""
        raise NotImplementedError

    def grad(self, x) -> np.ndarray:
        """``sigma'(x)`` in 1/mV for ``x = v - v_th`` in mV (any shape)."""
        raise NotImplementedError

    def relaxed(self, x) -> np.ndarray:
        """The smooth step ``sigma(x)`` in [0, 1] whose derivative is :meth:`grad`."""
        raise NotImplementedError


@dataclass(frozen=True)
class _FixedWidth(Surrogate):
    width: float = 1.0  # mV

    def __post_init__(self):
        object.__setattr__(self, "width", positive_float("width", self.width))

    @property
    def params(self) -> tuple[float, ...]:
        return (self.width,) + (0.0,) * (N_PARAMS - 1)

    def grad(self, x) -> np.ndarray:
        return _np_grad(self.kind, x, self.width)

    def relaxed(self, x) -> np.ndarray:
        return _np_relaxed(self.kind, x, self.width)


@dataclass(frozen=True)
class Sigmoid(_FixedWidth):
    """Logistic surrogate, ``sigma'(x) = S(1 - S)/w``, ``S = 1/(1 + exp(-x/w))``; width in mV."""

    kind: ClassVar[int] = KIND_SIGMOID


@dataclass(frozen=True)
class ArcTan(_FixedWidth):
    """Cauchy surrogate, ``sigma'(x) = 1/(pi w (1 + (x/w)^2))`` (heavy tails); width in mV."""

    kind: ClassVar[int] = KIND_ARCTAN


@dataclass(frozen=True)
class Triangle(_FixedWidth):
    """Piecewise-linear surrogate, ``sigma'(x) = max(0, 1 - |x|/w)/w``, support ``|x| < w``."""

    kind: ClassVar[int] = KIND_TRIANGLE


@dataclass(frozen=True)
class Gaussian(_FixedWidth):
    """Gaussian surrogate, ``sigma'(x) = exp(-x^2/(2 w^2))/(sqrt(2 pi) w)``; std ``w`` in mV."""

    kind: ClassVar[int] = KIND_GAUSSIAN


@dataclass(frozen=True)
class Rectangle(_FixedWidth):
    """Box surrogate, ``sigma'(x) = 1/w`` on ``|x| < w/2`` (straight-through window)."""

    kind: ClassVar[int] = KIND_RECT


_SHAPES = {
    "rect": KIND_RECT, "triangle": KIND_TRIANGLE, "sigmoid": KIND_SIGMOID,
    "arctan": KIND_ARCTAN, "gaussian": KIND_GAUSSIAN,
}
_STATS = {"std": STAT_STD, "mad": STAT_MAD}


@dataclass(frozen=True)
class MPDAGL(Surrogate):
    """MPD-AGL adaptive surrogate: width ``w_t = clip(kappa * s_t, w_min, w_max)`` (mV) with
    ``s_t`` the spread (``statistic`` "std" or "mad") of ``v - v_th`` over the neurons at
    step ``t``, and ``sigma'_t`` the ``shape`` surrogate ("rect", "triangle", "sigmoid",
    "arctan", "gaussian") at width ``w_t``.  No gradient through ``w_t``.  See the module
    docstring for the exact rule.
    """

    kappa: float = 2.0
    w_min: float = 0.1  # mV
    w_max: float = 100.0  # mV
    shape: str = "rect"
    statistic: str = "std"

    kind: ClassVar[int] = KIND_MPDAGL
    adaptive: ClassVar[bool] = True

    def __post_init__(self):
        object.__setattr__(self, "kappa", positive_float("kappa", self.kappa))
        object.__setattr__(self, "w_min", positive_float("w_min", self.w_min))
        object.__setattr__(self, "w_max", positive_float("w_max", self.w_max))
        if self.w_max < self.w_min:
            raise ValueError(
                f"w_max must be >= w_min = {self.w_min!r}, got {self.w_max!r}"
            )
        choice("shape", self.shape, _SHAPES)
        choice("statistic", self.statistic, _STATS)

    @property
    def params(self) -> tuple[float, ...]:
        return (self.kappa, self.w_min, self.w_max,
                float(_SHAPES[self.shape]), float(_STATS[self.statistic]))

    def width(self, v, v_th=0.0, axis=-1):
        """Width ``w_t`` (mV) from the potentials ``v`` (mV) of one step, the spread taken over
        ``axis`` (default: the last axis, neurons).  ``v_th`` broadcasts against ``v``.
        A 1-D ``v`` gives a float; ``v`` of shape ``(T, N)`` gives the ``(T,)`` per-step widths.
        """
        x = np.asarray(v, dtype=np.float64) - np.asarray(v_th, dtype=np.float64)
        if x.size == 0:
            return self.w_min
        d = x - x.mean(axis=axis, keepdims=True)
        if self.statistic == "mad":
            s = _SQRT_HALF_PI * np.abs(d).mean(axis=axis)
        else:
            s = np.sqrt((d * d).mean(axis=axis))
        w = np.clip(self.kappa * s, self.w_min, self.w_max)
        return float(w) if np.ndim(w) == 0 else w

    def _width_for(self, x, width) -> np.ndarray:
        if width is None:
            w = self.width(x)
            return np.asarray(w)[..., None] if np.ndim(w) else np.asarray(w)
        w = np.asarray(width, dtype=np.float64)
        if not np.all(w > 0):
            raise ValueError("width must be > 0")
        return w

    def grad(self, x, width=None) -> np.ndarray:
        """``sigma'_t(x)`` (1/mV) for ``x = v - v_th`` (mV).  ``width`` (mV, broadcastable to
        ``x``) defaults to :meth:`width` of ``x`` over its last axis (neurons of one step;
        rows of ``(T, N)`` are steps)."""
        return _np_grad(_SHAPES[self.shape], x, self._width_for(x, width))

    def relaxed(self, x, width=None) -> np.ndarray:
        """The smooth step at the (fixed) width used by :meth:`grad`."""
        return _np_relaxed(_SHAPES[self.shape], x, self._width_for(x, width))
