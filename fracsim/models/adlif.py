r"""Adaptive leaky integrate-and-fire neuron (AdLIF).

    tau   dv/dt = -(v - v_rest) - w + R I
    tau_w dw/dt = a (v - v_rest) - w
    v >= v_th  ->  spike, v <- v_reset, w <- w + b, v held at v_reset for t_ref

``w`` is the adaptation variable in mV (it enters the membrane equation like ``R I``),
``a`` is dimensionless (subthreshold coupling) and ``b`` (mV) the spike-triggered jump.

Integration: exponential Euler on each variable with the other frozen over the step
(``v`` uses ``w_n``, ``w`` uses ``v_n``): exact for constant ``w``/``v`` respectively.
During the refractory period ``v`` stays at ``v_reset``; ``w`` keeps evolving.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .base import NeuronModel, Param, param

_DECAY, _VREST, _VTH, _VRESET, _REF, _DECAY_W, _A, _B, _INV_TAU = range(9)
THRESHOLD_ROW = _VTH
REFRACTORY_ROW = _REF


@njit(inline="always", cache=True)
def _w_next(p, i, v, w):
    """Exponential-Euler step of ``w`` with ``v`` frozen over the step."""
    w_inf = param(p, _A, i) * (v - param(p, _VREST, i))
    return w_inf + (w - w_inf) * param(p, _DECAY_W, i)


@njit(inline="always", cache=True)
def neuron(x, p, i, d, held, dt):
    """Integer-order step of neuron ``i``; returns (spiked, finite)."""
    v = x[0, i]
    w = x[1, i]
    w_new = _w_next(p, i, v, w)
    v_inf = param(p, _VREST, i) - w + d
    v = v_inf + (v - v_inf) * param(p, _DECAY, i)
    v = param(p, _VRESET, i) if held else v
    s = v >= param(p, _VTH, i)
    x[0, i] = param(p, _VRESET, i) if s else v
    x[1, i] = w_new + param(p, _B, i) if s else w_new
    ok = abs(v) < np.inf and abs(w_new) < np.inf
    return s, ok


@njit(inline="always", cache=True)
def rhs(v, x, p, i, d):
    """``F = (v_rest - v - w + d) / tau`` of ``D^a v = F`` and ``dF/dv``."""
    inv_tau = param(p, _INV_TAU, i)
    return (param(p, _VREST, i) - v - x[1, i] + d) * inv_tau, -inv_tau


@njit(inline="always", cache=True)
def aux(x, p, i, v_old, v_new, d, dt):
    """``w`` by exponential Euler with ``v`` frozen at its value at the start of the step."""
    x[1, i] = _w_next(p, i, v_old, x[1, i])


@njit(inline="always", cache=True)
def spike(v_old, v, p, i):
    """Spike condition for the fractional schemes: ``v`` at or above threshold."""
    return v >= param(p, _VTH, i)


@njit(inline="always", cache=True)
def on_spike(v, x, p, i):
    """``w += b``; returns ``v`` after the reset."""
    x[1, i] += param(p, _B, i)
    return param(p, _VRESET, i)


class AdLIF(NeuronModel):
    """Adaptive LIF: ``tau dv/dt = -(v - v_rest) - w + R I``, ``tau_w dw/dt = a (v - v_rest) - w``.

    Parameters (scalars or per-neuron arrays):
        tau (ms): membrane time constant, > 0.
        tau_w (ms): adaptation time constant, > 0.
        a (1): subthreshold adaptation coupling.
        b (mV): spike-triggered adaptation jump.
        v_rest, v_th, v_reset (mV), t_ref (ms), R (MOhm): as in :class:`LIF`.

    State: ``v`` (mV), ``w`` (mV).
    """

    name = "AdLIF"
    linear_membrane = True
    state_vars = ("v", "w")
    fractional_vars = ("v", "w")
    kernel_module = "fracsim.models.adlif"
    params = {
        "tau": Param(10.0, "ms", "membrane time constant", "positive"),
        "tau_w": Param(100.0, "ms", "adaptation time constant", "positive"),
        "a": Param(0.0, "1", "subthreshold adaptation coupling"),
        "b": Param(2.0, "mV", "spike-triggered adaptation jump"),
        "v_rest": Param(-65.0, "mV", "resting potential"),
        "v_th": Param(-50.0, "mV", "spike threshold"),
        "v_reset": Param(-65.0, "mV", "reset potential"),
        "t_ref": Param(0.0, "ms", "refractory period", "nonnegative"),
        "R": Param(1.0, "MOhm", "input resistance (R*I in mV)", "positive"),
    }

    def _check(self) -> None:
        if np.any(np.asarray(self._values["v_th"]) <= np.asarray(self._values["v_reset"])):
            raise ValueError("AdLIF.v_th must be greater than AdLIF.v_reset")

    def pack(self, n: int, dt: float) -> np.ndarray:
        p = np.empty((9, n))
        p[_DECAY] = np.exp(-dt / self.value("tau", n))
        p[_VREST] = self.value("v_rest", n)
        p[_VTH] = self.value("v_th", n)
        p[_VRESET] = self.value("v_reset", n)
        p[_REF] = self.refractory_steps(n, dt)
        p[_DECAY_W] = np.exp(-dt / self.value("tau_w", n))
        p[_A] = self.value("a", n)
        p[_B] = self.value("b", n)
        p[_INV_TAU] = 1.0 / self.value("tau", n)
        return p

    def default_state(self, n, given):
        return {"v": self.value("v_rest", n), "w": np.zeros(n)}
