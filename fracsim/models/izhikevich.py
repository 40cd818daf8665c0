r"""Izhikevich neuron (Izhikevich 2003, 2004).

    dv/dt = 0.04 v^2 + 5 v + 140 - u + I
    du/dt = a (b v - u)
    v >= v_peak (30 mV)  ->  spike, v <- c, u <- u + d

Units as in the original: v in mV, t in ms, ``I`` (and ``u``) in mV/ms.
Integration: Euler as in Izhikevich's 2004 scripts, ``v`` first and ``u`` with the
updated ``v``:  ``v += dt (0.04 v^2 + 5 v + 140 - u + I)``; ``u += dt a (b v - u)``.

``PATTERNS`` holds the 2004 paper's parameters, initial state, step current and
duration for the four classic firing patterns.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .base import NeuronModel, Param, param

_A, _B, _C, _D, _VPEAK, _REF = range(6)
THRESHOLD_ROW = _VPEAK
REFRACTORY_ROW = _REF


@njit(inline="always", cache=True)
def neuron(x, p, i, d, held, dt):
    """Integer-order Euler step of neuron ``i``; returns (spiked, finite).

    While refractory (only if ``t_ref > 0``) ``v`` is frozen and ``u`` keeps evolving.
    """
    v0 = x[0, i]
    u = x[1, i]
    v = v0 + dt * (0.04 * v0 * v0 + 5.0 * v0 + 140.0 - u + d)
    v = v0 if held else v
    u = u + dt * param(p, _A, i) * (param(p, _B, i) * v - u)
    s = v >= param(p, _VPEAK, i)
    x[0, i] = param(p, _C, i) if s else v
    x[1, i] = u + param(p, _D, i) if s else u
    ok = abs(v) < np.inf and abs(u) < np.inf
    return s, ok


@njit(inline="always", cache=True)
def rhs(v, x, p, i, d):
    """``F = 0.04 v^2 + 5 v + 140 - u + d`` of ``D^a v = F`` and ``dF/dv``."""
    return 0.04 * v * v + 5.0 * v + 140.0 - x[1, i] + d, 0.08 * v + 5.0


@njit(inline="always", cache=True)
def aux(x, p, i, v_old, v_new, d, dt):
    """``u += dt a (b v_new - u)``: Euler with the updated ``v``, as in the integer scheme."""
    u = x[1, i]
    x[1, i] = u + dt * param(p, _A, i) * (param(p, _B, i) * v_new - u)


@njit(inline="always", cache=True)
def spike(v_old, v, p, i):
    """Spike condition for the fractional schemes: ``v`` at or above threshold."""
    return v >= param(p, _VPEAK, i)


@njit(inline="always", cache=True)
def on_spike(v, x, p, i):
    """``u += d``; returns the reset potential ``c``."""
    x[1, i] += param(p, _D, i)
    return param(p, _C, i)


class Izhikevich(NeuronModel):
    """Izhikevich neuron: ``dv/dt = 0.04 v^2 + 5 v + 140 - u + I``, ``du/dt = a (b v - u)``.

    Parameters (scalars or per-neuron arrays):
        a (1/ms): recovery rate.  b (1): sensitivity of u to v.
        c (mV): reset of v.  d (mV/ms): jump of u at a spike.
        v_peak (mV): spike cut-off (30 mV).  t_ref (ms): optional refractory period.

    State: ``v`` (mV), ``u`` (mV/ms); default ``v0 = c`` and ``u0 = b v0``.
    Input ``I`` in mV/ms, entering ``dv/dt`` directly.
    """

    name = "Izhikevich"
    state_vars = ("v", "u")
    fractional_vars = ("v", "u")
    kernel_module = "fracsim.models.izhikevich"
    threshold_param = "v_peak"
    params = {
        "a": Param(0.02, "1/ms", "recovery rate"),
        "b": Param(0.2, "1", "sensitivity of u to v"),
        "c": Param(-65.0, "mV", "reset of v"),
        "d": Param(8.0, "mV/ms", "jump of u at a spike"),
        "v_peak": Param(30.0, "mV", "spike cut-off"),
        "t_ref": Param(0.0, "ms", "refractory period", "nonnegative"),
    }

    def _check(self) -> None:
        if np.any(np.asarray(self._values["c"]) >= np.asarray(self._values["v_peak"])):
            raise ValueError("Izhikevich.c (reset) must be less than Izhikevich.v_peak")

    def pack(self, n: int, dt: float) -> np.ndarray:
        p = np.empty((6, n))
        for row, key in enumerate(("a", "b", "c", "d", "v_peak")):
            p[row] = self.value(key, n)
        p[_REF] = self.refractory_steps(n, dt)
        return p

    def default_state(self, n, given):
        v0 = given.get("v", self.value("c", n))
        return {"v": v0, "u": self.value("b", n) * v0}

    @classmethod
    def pattern(cls, name: str) -> tuple[Izhikevich, dict]:
        """The model and protocol (v0, u0, current onset/amplitude, t_stop, dt) of a pattern."""
        if name not in PATTERNS:
            raise ValueError(f"pattern must be one of {sorted(PATTERNS)}, got {name!r}")
        spec = dict(PATTERNS[name])
        model = cls(a=spec.pop("a"), b=spec.pop("b"), c=spec.pop("c"), d=spec.pop("d"))
        return model, spec


#: Izhikevich (2004), Fig. 1 (A)-(D): parameters, initial v (u0 = b v0), step current
#: ``amplitude`` switched on at ``onset`` (ms), duration ``t_stop`` (ms), step ``dt`` (ms).
PATTERNS: dict[str, dict] = {
    "tonic_spiking": dict(a=0.02, b=0.2, c=-65.0, d=6.0, v0=-70.0, onset=10.0,
                          amplitude=14.0, t_stop=100.0, dt=0.25),
    "phasic_spiking": dict(a=0.02, b=0.25, c=-65.0, d=6.0, v0=-64.0, onset=20.0,
                           amplitude=0.5, t_stop=200.0, dt=0.25),
    "tonic_bursting": dict(a=0.02, b=0.2, c=-50.0, d=2.0, v0=-70.0, onset=22.0,
                           amplitude=15.0, t_stop=220.0, dt=0.25),
    "phasic_bursting": dict(a=0.02, b=0.25, c=-55.0, d=0.05, v0=-64.0, onset=20.0,
                            amplitude=0.6, t_stop=200.0, dt=0.25),
}
