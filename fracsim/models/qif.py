r"""Quadratic integrate-and-fire neuron (QIF).

    tau dv/dt = k (v - v_rest)(v - v_c) + R I
    v >= v_peak  ->  spike, v <- v_reset, v held at v_reset for t_ref

``v_rest < v_c``: without input ``v_rest`` is the stable and ``v_c`` the unstable fixed
point.  Integration: forward Euler.

Closed-form period for constant drive above rheobase (``q > 0``), used by the tests:
with ``m = (v_rest + v_c)/2`` and ``q = R I / k - ((v_c - v_rest)/2)^2``,
``T = tau / (k sqrt(q)) [atan((v_peak - m)/sqrt(q)) - atan((v_reset - m)/sqrt(q))] + t_ref``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .base import NeuronModel, Param, param

_DT_TAU, _K, _VREST, _VC, _VPEAK, _VRESET, _REF, _INV_TAU = range(8)
THRESHOLD_ROW = _VPEAK
REFRACTORY_ROW = _REF


@njit(inline="always", cache=True)
def neuron(x, p, i, d, held, dt):
    """Integer-order forward-Euler step of neuron ``i``; returns (spiked, finite)."""
    v = x[0, i]
    f = param(p, _K, i) * (v - param(p, _VREST, i)) * (v - param(p, _VC, i))
    v = v + param(p, _DT_TAU, i) * (f + d)
    v = param(p, _VRESET, i) if held else v
    s = v >= param(p, _VPEAK, i)
    x[0, i] = param(p, _VRESET, i) if s else v
    return s, abs(v) < np.inf


@njit(inline="always", cache=True)
def rhs(v, x, p, i, d):
    """``F = (k (v - v_rest)(v - v_c) + d) / tau`` of ``D^a v = F`` and ``dF/dv``."""
    k = param(p, _K, i)
    a = v - param(p, _VREST, i)
    b = v - param(p, _VC, i)
    inv_tau = param(p, _INV_TAU, i)
    return (k * a * b + d) * inv_tau, k * (a + b) * inv_tau


@njit(inline="always", cache=True)
def aux(x, p, i, v_old, v_new, d, dt):
    """Advance the non-membrane state (none for the QIF)."""


@njit(inline="always", cache=True)
def spike(v_old, v, p, i):
    """Spike condition for the fractional schemes: ``v`` at or above threshold."""
    return v >= param(p, _VPEAK, i)


@njit(inline="always", cache=True)
def on_spike(v, x, p, i):
    """Returns the reset potential."""
    return param(p, _VRESET, i)


class QIF(NeuronModel):
    """Quadratic integrate-and-fire: ``tau dv/dt = k (v - v_rest)(v - v_c) + R I``.

    Parameters (scalars or per-neuron arrays):
        tau (ms): time constant, > 0.
        k (1/mV): curvature, > 0.
        v_rest (mV): stable fixed point without input.
        v_c (mV): critical (unstable) fixed point, > v_rest.
        v_peak (mV): spike cut-off, > v_c.
        v_reset (mV): reset potential, < v_peak.
        t_ref (ms): refractory period, >= 0.
        R (MOhm): input resistance (R*I in mV).

    State: ``v`` (mV).
    """

    name = "QIF"
    state_vars = ("v",)
    fractional_vars = ("v",)
    kernel_module = "fracsim.models.qif"
    threshold_param = "v_peak"
    params = {
        "tau": Param(10.0, "ms", "time constant", "positive"),
        "k": Param(0.04, "1/mV", "curvature", "positive"),
        "v_rest": Param(-65.0, "mV", "stable fixed point"),
        "v_c": Param(-50.0, "mV", "critical fixed point"),
        "v_peak": Param(0.0, "mV", "spike cut-off"),
        "v_reset": Param(-65.0, "mV", "reset potential"),
        "t_ref": Param(0.0, "ms", "refractory period", "nonnegative"),
        "R": Param(1.0, "MOhm", "input resistance (R*I in mV)", "positive"),
    }

    def _check(self) -> None:
        v = {k: np.asarray(x) for k, x in self._values.items()}
        if np.any(v["v_c"] <= v["v_rest"]):
            raise ValueError("QIF.v_c must be greater than QIF.v_rest")
        if np.any(v["v_peak"] <= v["v_c"]):
            raise ValueError("QIF.v_peak must be greater than QIF.v_c")
        if np.any(v["v_reset"] >= v["v_peak"]):
            raise ValueError("QIF.v_reset must be less than QIF.v_peak")

    def pack(self, n: int, dt: float) -> np.ndarray:
        p = np.empty((8, n))
        p[_DT_TAU] = dt / self.value("tau", n)
        p[_K] = self.value("k", n)
        p[_VREST] = self.value("v_rest", n)
        p[_VC] = self.value("v_c", n)
        p[_VPEAK] = self.value("v_peak", n)
        p[_VRESET] = self.value("v_reset", n)
        p[_REF] = self.refractory_steps(n, dt)
        p[_INV_TAU] = 1.0 / self.value("tau", n)
        return p

    def default_state(self, n, given):
        return {"v": self.value("v_rest", n)}

    def period(self, current: float) -> float:
        """Exact period (ms) for constant current, ``inf`` below rheobase."""
        m = 0.5 * (self.v_rest + self.v_c)
        q = self.R * current / self.k - (0.5 * (self.v_c - self.v_rest)) ** 2
        if q <= 0:
            return np.inf
        s = np.sqrt(q)
        return (self.tau / (self.k * s)) * (
            np.arctan((self.v_peak - m) / s) - np.arctan((self.v_reset - m) / s)
        ) + self.t_ref
