r"""Leaky integrate-and-fire neuron.

    tau dv/dt = -(v - v_rest) + R I(t)          (integer order; fractional order later)
    v >= v_th  ->  spike, v <- v_reset, v held at v_reset for t_ref

Integration: exponential Euler, exact when ``R I`` is constant over a step:
``v_{n+1} = v_inf + (v_n - v_inf) exp(-dt / tau)`` with ``v_inf = v_rest + R I_n``.
During the refractory period ``v`` stays at ``v_reset`` and inputs are ignored.

Exact first-passage time for constant drive (``v_inf > v_th``), used by the tests:
``T = tau ln((v_inf - v_reset) / (v_inf - v_th))``, inter-spike interval ``T + t_ref``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .base import NeuronModel, Param, param

# packed parameter rows
_DECAY, _VREST, _VTH, _VRESET, _REF, _INV_TAU = range(6)
THRESHOLD_ROW = _VTH
REFRACTORY_ROW = _REF


@njit(inline="always", cache=True)
def neuron(x, p, i, d, held, dt):
    """Integer-order step of neuron ``i`` (exponential Euler); returns (spiked, finite)."""
    v_inf = param(p, _VREST, i) + d
    v = v_inf + (x[0, i] - v_inf) * param(p, _DECAY, i)
    v = param(p, _VRESET, i) if held else v
    s = v >= param(p, _VTH, i)
    x[0, i] = param(p, _VRESET, i) if s else v
    return s, abs(v) < np.inf


@njit(inline="always", cache=True)
def rhs(v, x, p, i, d):
    """Membrane right-hand side ``F`` of ``D^a v = F`` and ``dF/dv``: ``(v_rest - v + d) / tau``."""
    return (param(p, _VREST, i) - v + d) * param(p, _INV_TAU, i), -param(p, _INV_TAU, i)


@njit(inline="always", cache=True)
def aux(x, p, i, v_old, v_new, d, dt):
    """Advance the non-membrane state (none for the LIF)."""


@njit(inline="always", cache=True)
def spike(v_old, v, p, i):
    """Spike condition for the fractional schemes: ``v`` at or above threshold."""
    return v >= param(p, _VTH, i)


@njit(inline="always", cache=True)
def on_spike(v, x, p, i):
    """Spike-triggered update of the non-membrane state; returns ``v`` after the reset."""
    return param(p, _VRESET, i)


class LIF(NeuronModel):
    """Leaky integrate-and-fire neuron: ``tau dv/dt = -(v - v_rest) + R I``.

    Parameters (scalars or per-neuron arrays):
        tau (ms): membrane time constant, > 0.
        v_rest (mV): resting potential.
        v_th (mV): spike threshold, must exceed v_reset.
        v_reset (mV): reset potential.
        t_ref (ms): refractory period, >= 0 (rounded to whole steps).
        R (MOhm): input resistance; ``R I`` is in mV (with R = 1, currents are in mV).

    State: ``v`` (mV). Fractional order may later apply to ``v``.
    """

    name = "LIF"
    linear_membrane = True
    state_vars = ("v",)
    fractional_vars = ("v",)
    kernel_module = "fracsim.models.lif"
    params = {
        "tau": Param(10.0, "ms", "membrane time constant", "positive"),
        "v_rest": Param(-65.0, "mV", "resting potential"),
        "v_th": Param(-50.0, "mV", "spike threshold"),
        "v_reset": Param(-65.0, "mV", "reset potential"),
        "t_ref": Param(0.0, "ms", "refractory period", "nonnegative"),
        "R": Param(1.0, "MOhm", "input resistance (R*I in mV)", "positive"),
    }

    def _check(self) -> None:
        if np.any(np.asarray(self._values["v_th"]) <= np.asarray(self._values["v_reset"])):
            raise ValueError("LIF.v_th must be greater than LIF.v_reset")

    def pack(self, n: int, dt: float) -> np.ndarray:
        p = np.empty((6, n))
        p[_DECAY] = np.exp(-dt / self.value("tau", n))
        p[_VREST] = self.value("v_rest", n)
        p[_VTH] = self.value("v_th", n)
        p[_VRESET] = self.value("v_reset", n)
        p[_REF] = self.refractory_steps(n, dt)
        p[_INV_TAU] = 1.0 / self.value("tau", n)
        return p

    def default_state(self, n, given):
        return {"v": self.value("v_rest", n)}

    def isi(self, current: float) -> float:
        """Exact inter-spike interval (ms) for a constant current, ``inf`` if subthreshold."""
        v_inf = self.v_rest + self.R * current
        if v_inf <= self.v_th:
            return np.inf
        return self.tau * np.log((v_inf - self.v_reset) / (v_inf - self.v_th)) + self.t_ref
