r"""Multi-timescale conductance neuron (Ribar & Sepulchre 2019, "Neuromodulation of
neuromorphic circuits"; the neurons of multi-timescale conductance networks,
Fulleda-Garcia, Soldado-Magraner & Margarit-Taulé 2026, arXiv 2605.11835).

    tau_m D^a v = -(v - v_rest) + R I - R sum_j I_j
    tau_x dv_x/dt = v - v_x                  x in fast, slow, ultraslow
    I_j = g_j tanh(v_{x_j} - delta_j)

Each current term ``j`` has a timescale ``x_j``, a gain ``g_j`` (``g_j < 0``: a negative
conductance, which excites; ``g_j > 0``: a positive, restoring one) and an offset
``delta_j``.  The classic circuit has a fast negative, a slow positive, a slow negative and
an ultraslow positive conductance; any number of terms may be given.  With ``tau_f = 0``
the fast filter is instantaneous (``v_f = v``).

The model is dimensionless in voltage (``v``, ``v_x``, ``delta`` and ``R I`` share one
unit); time is in ms with ``tau_m = 1`` ms by default, so Ribar & Sepulchre's unit time is
one millisecond (their ``tau_s = 50``, ``tau_us = 2500``).  ``I`` enters as ``R I``.

Spikes are emitted on upward crossings of ``v_spike`` (``v_old < v_spike <= v_new``); there
is no reset and no refractory period: the dynamics are smooth, and the reset semantics of
fractional membranes do not apply (``reset`` must be "shift", the default).

Integration at integer order: the explicit midpoint method (second order) on
``(v, v_f, v_s, v_us)`` with the input held over the step; the currents of the filtered
terms are evaluated once per step, at the midpoint filter values (a change of order h^2
in the midpoint state, so the method stays second order), the instantaneous fast ones
twice: 2 + (terms) tanh evaluations per step instead of 4 (terms) for RK4.  For ``alpha < 1`` the
membrane goes through :mod:`fracsim.fractional.stepper` and the filters advance by
exponential Euler driven by the mean of ``v`` over the step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from .._validate import bounded
from .base import ALPHA, NeuronModel, Param, param

TIMESCALES = ("fast", "slow", "ultraslow")

# packed parameter rows; then 3 rows per term: R*gain, offset, timescale index (0, 1, 2)
(_INV_TAU_M, _VREST, _VSPIKE, _REF, _INV_TF, _INV_TS, _INV_TUS, _INSTANT, _NTERMS,
 _DEC_F, _DEC_S, _DEC_US) = range(12)
_BASE = 12
THRESHOLD_ROW = _VSPIKE
REFRACTORY_ROW = _REF


@njit(cache=True)
def _currents(v, vf, vs, vus, p, i, which):
    """``sum_j R g_j tanh(v_{x_j} - delta_j)`` over the terms selected by ``which`` (0: all,
    1: the instantaneous fast terms only, 2: all others) and its derivative with respect to
    ``v`` through the instantaneous fast terms."""
    total = 0.0
    slope = 0.0
    instant = param(p, _INSTANT, i) > 0.5
    for t in range(int(param(p, _NTERMS, i))):
        row = _BASE + 3 * t
        ts = param(p, row + 2, i)
        on_v = instant and ts < 0.5
        if (which == 1 and not on_v) or (which == 2 and on_v):
            continue
        vx = v if on_v else (vf if ts < 0.5 else (vs if ts < 1.5 else vus))
        th = np.tanh(vx - param(p, row + 1, i))
        g = param(p, row, i)
        total += g * th
        slope += g * (1.0 - th * th) if on_v else 0.0
    return total, slope


@njit(inline="always", cache=True)
def neuron(x, p, i, d, held, dt):
    """Integer-order step of neuron ``i`` by the explicit midpoint method (second order),
    evaluating the currents of the filtered terms once per step, at the midpoint filter
    values, and the instantaneous fast terms at ``v_n`` and at the midpoint; returns
    (spiked, finite)."""
    v, vf, vs, vus = x[0, i], x[1, i], x[2, i], x[3, i]
    h = 0.5 * dt
    inv_m = param(p, _INV_TAU_M, i)
    base = param(p, _VREST, i) + d
    vf_m = vf + h * (v - vf) * param(p, _INV_TF, i)
    vs_m = vs + h * (v - vs) * param(p, _INV_TS, i)
    vus_m = vus + h * (v - vus) * param(p, _INV_TUS, i)
    c_filt, _ = _currents(v, vf_m, vs_m, vus_m, p, i, 2)
    c_fast, _ = _currents(v, vf, vs, vus, p, i, 1)
    v_mid = v + h * (base - v - c_filt - c_fast) * inv_m
    c_fast, _ = _currents(v_mid, vf, vs, vus, p, i, 1)
    v_new = v + dt * (base - v_mid - c_filt - c_fast) * inv_m
    instant = param(p, _INSTANT, i) > 0.5
    x[1, i] = v_new if instant else vf + dt * (v_mid - vf_m) * param(p, _INV_TF, i)
    x[2, i] = vs + dt * (v_mid - vs_m) * param(p, _INV_TS, i)
    x[3, i] = vus + dt * (v_mid - vus_m) * param(p, _INV_TUS, i)
    x[0, i] = v_new
    s = (v < param(p, _VSPIKE, i)) and (v_new >= param(p, _VSPIKE, i))
    return s, abs(v_new) < np.inf and abs(x[2, i]) < np.inf and abs(x[3, i]) < np.inf


@njit(inline="always", cache=True)
def rhs(v, x, p, i, d):
    """``F = (v_rest - v + d - sum_j R I_j) / tau_m`` of ``D^a v = F`` and ``dF/dv``."""
    cur, slope = _currents(v, x[1, i], x[2, i], x[3, i], p, i, 0)
    inv = param(p, _INV_TAU_M, i)
    return (param(p, _VREST, i) - v + d - cur) * inv, (-1.0 - slope) * inv


@njit(inline="always", cache=True)
def aux(x, p, i, v_old, v_new, d, dt):
    """Filters by exponential Euler, driven by the mean of ``v`` over the step."""
    vm = 0.5 * (v_old + v_new)
    vf = vm + (x[1, i] - vm) * param(p, _DEC_F, i)
    x[1, i] = v_new if param(p, _INSTANT, i) > 0.5 else vf
    x[2, i] = vm + (x[2, i] - vm) * param(p, _DEC_S, i)
    x[3, i] = vm + (x[3, i] - vm) * param(p, _DEC_US, i)


@njit(inline="always", cache=True)
def spike(v_old, v, p, i):
    """Upward crossing of ``v_spike``."""
    return (v_old < param(p, _VSPIKE, i)) and (v >= param(p, _VSPIKE, i))


@njit(inline="always", cache=True)
def on_spike(v, x, p, i):
    """No reset: returns ``v``."""
    return v


def _term_name(timescale: str, gain) -> str:
    sign = "neg" if np.all(np.asarray(gain) < 0) else "pos"
    return f"{timescale}_{sign}"


#: Presets: terms ``(timescale, gain, offset)`` and the protocol that shows their regime:
#: ``baseline`` current until ``onset`` (ms), then ``amplitude``, for ``t_stop`` ms at step
#: ``dt`` (ms), from ``state0`` (default: the resting state at ``baseline``).  Their regimes
#: are verified by ``fs.classify`` in the tests.  The bursting
#: circuit is Ribar & Sepulchre's (2019) example; the spiking ones were found by a scan
#: (tonic spiking needs only the fast negative and slow positive conductances; an ultraslow
#: positive conductance that activates below rest ends it after a few spikes).
PRESETS: dict[str, dict] = {
    "tonic_spiking": dict(
        terms=[("fast", -2.0, 0.0), ("slow", 2.0, 0.0)],
        protocol=dict(baseline=-1.5, amplitude=-0.5, onset=500.0, t_stop=3000.0, dt=0.05)),
    "phasic_spiking": dict(
        terms=[("fast", -2.0, 0.0), ("slow", 2.0, 0.0), ("ultraslow", 5.0, -1.0)],
        protocol=dict(baseline=-1.5, amplitude=-0.5, onset=500.0, t_stop=3000.0, dt=0.05)),
    "tonic_bursting": dict(
        terms=[("fast", -2.0, 0.0), ("slow", 2.0, 0.0), ("slow", -1.5, -1.5),
               ("ultraslow", 1.5, -1.5)],
        protocol=dict(baseline=-2.0, amplitude=-2.0, onset=0.0, t_stop=12000.0, dt=0.05,
                      state0=dict(v0=0.0, v_f0=0.0, v_s0=0.2, v_us0=0.3))),
}


#: other names of the presets (``"bursting"`` as in DESIGN.md's example)
ALIASES = {"bursting": "tonic_bursting", "spiking": "tonic_spiking"}


def _preset_name(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in PRESETS:
        raise ValueError(
            f"preset must be one of {sorted(PRESETS)} (or {sorted(ALIASES)}), got {name!r}")
    return name


class Conductance(NeuronModel):
    """Multi-timescale conductance neuron (see the module docstring for the equations).

    Args:
        terms: current terms, each ``(timescale, gain, offset)`` or
            ``(name, timescale, gain, offset)``; ``timescale`` in "fast", "slow",
            "ultraslow"; ``gain`` and ``offset`` scalars or per-neuron arrays.  Default names
            are ``<timescale>_<pos|neg>`` (numbered if repeated); each term's parameters are
            then ``<name>_gain`` and ``<name>_offset`` (e.g. ``slow_neg_gain``), usable in
            :meth:`replace` and regime maps.
        tau_m (ms): membrane time constant (ms^alpha if fractional), > 0.
        tau_f, tau_s, tau_us (ms): filter time constants; ``tau_f = 0``: instantaneous.
        v_rest (1): resting value of ``v``.  R (1): input gain (``R I``, and ``R I_j``).
        v_spike (1): spike detection level (upward crossings).

    State: ``v``, ``v_f``, ``v_s``, ``v_us`` (dimensionless); all default to ``v_rest``.
    """

    name = "Conductance"
    state_vars = ("v", "v_f", "v_s", "v_us")
    fractional_vars = ("v",)
    kernel_module = "fracsim.models.conductance"
    threshold_param = "v_spike"
    shared_params_as_tuple = False  # the terms are indexed at run time
    has_reset = False
    base_params = {
        "tau_m": Param(1.0, "ms", "membrane time constant", "positive"),
        "tau_f": Param(0.0, "ms", "fast filter time constant (0: instantaneous)",
                       "nonnegative"),
        "tau_s": Param(50.0, "ms", "slow filter time constant", "positive"),
        "tau_us": Param(2500.0, "ms", "ultraslow filter time constant", "positive"),
        "v_rest": Param(0.0, "1", "resting value of v"),
        "R": Param(1.0, "1", "input gain"),
        "v_spike": Param(0.0, "1", "spike detection level (upward crossing)"),
        "alpha": ALPHA,
    }
    params = base_params

    def __init__(self, terms=None, reset: str = "shift", **kwargs: Any) -> None:
        if reset not in ("shift", "jump"):
            raise ValueError(
                "Conductance.reset: the conductance neuron has no reset; only 'shift' (the "
                f"default) applies, got {reset!r}"
            )
        if terms is None:
            terms = PRESETS["tonic_bursting"]["terms"]
        specs = self._parse_terms(terms)
        params = dict(self.base_params)
        values = {}
        for name, _, gain, offset in specs:
            params[f"{name}_gain"] = Param(0.0, "1", f"gain of the {name} current")
            params[f"{name}_offset"] = Param(0.0, "1", f"offset of the {name} current")
            values[f"{name}_gain"] = gain
            values[f"{name}_offset"] = offset
        self.params = params  # per instance: the terms decide the parameter names
        self.terms = tuple((name, ts) for name, ts, _, _ in specs)
        values.update(kwargs)
        super().__init__(reset=reset, **values)

    @staticmethod
    def _parse_terms(terms) -> list[tuple[str, str, Any, Any]]:
        if isinstance(terms, str) or not hasattr(terms, "__iter__"):
            raise TypeError(
                "Conductance.terms must be a list of (timescale, gain, offset) or "
                f"(name, timescale, gain, offset) tuples, got {terms!r}"
            )
        specs, seen = [], {}
        for term in terms:
            term = tuple(term)
            if len(term) == 3:
                ts, gain, offset = term
                name = None
            elif len(term) == 4:
                name, ts, gain, offset = term
            else:
                raise ValueError(
                    f"Conductance.terms: each term is (timescale, gain, offset) or (name, "
                    f"timescale, gain, offset), got {term!r}"
                )
            if ts not in TIMESCALES:
                raise ValueError(
                    f"Conductance.terms: timescale must be one of {list(TIMESCALES)}, "
                    f"got {ts!r}"
                )
            gain = bounded("Conductance.terms gain", gain)
            offset = bounded("Conductance.terms offset", offset)
            if name is None:
                base = _term_name(ts, gain)
                seen[base] = seen.get(base, 0) + 1
                name = base if seen[base] == 1 else f"{base}{seen[base]}"
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"Conductance.terms: bad term name {name!r}")
            if any(name == s[0] for s in specs):
                raise ValueError(f"Conductance.terms: the name {name!r} is used twice")
            specs.append((name, ts, gain, offset))
        if not specs:
            raise ValueError("Conductance.terms must hold at least one term")
        return specs

    def replace(self, **kwargs: Any) -> Conductance:
        merged = {**self._values, **kwargs}
        terms = [(name, ts, merged.pop(f"{name}_gain"), merged.pop(f"{name}_offset"))
                 for name, ts in self.terms]
        return Conductance(terms=terms, reset=self.reset, **merged)

    @classmethod
    def preset(cls, name: str, **kwargs: Any) -> Conductance:
        """A preset of :data:`PRESETS` (its protocol: :meth:`protocol`)."""
        return cls(terms=PRESETS[_preset_name(name)]["terms"], **kwargs)

    @staticmethod
    def protocol(name: str) -> dict:
        """The stimulation protocol of preset ``name``: ``baseline``, ``amplitude``,
        ``onset`` (ms), ``t_stop`` (ms), ``dt`` (ms), ``current`` (a step current) and
        ``state0`` (initial values, keyword arguments of ``fs.simulate``)."""
        name = _preset_name(name)
        from ..inputs import step_current

        spec = dict(PRESETS[name]["protocol"])
        times = [0.0, spec["onset"]] if spec["onset"] > 0 else [0.0]
        amps = [spec["baseline"], spec["amplitude"]] if spec["onset"] > 0 else [
            spec["amplitude"]]
        spec["current"] = step_current(times, amps)
        if "state0" not in spec:
            spec["state0"] = Conductance.preset(name).resting_state(spec["baseline"])
        return spec

    def steady_current(self, v: np.ndarray) -> np.ndarray:
        """``sum`` of the membrane currents at equilibrium (every filter at ``v``), so that
        ``R I = steady_current(v)`` holds ``v`` (shared parameters)."""
        v = np.asarray(v, dtype=np.float64)
        total = v - self.v_rest
        for cur in self.term_currents({ts: v for ts in TIMESCALES}).values():
            total = total + self.R * cur
        return total

    def resting_state(self, current: float = 0.0, v_range=(-10.0, 10.0)) -> dict:
        """Initial values (``v0``, ``v_f0``, ``v_s0``, ``v_us0``) at the lowest equilibrium for
        a constant ``current``: the root of ``steady_current(v) = R I`` (all filters at v)."""
        from scipy.optimize import brentq

        target = self.R * float(current)
        grid = np.linspace(*v_range, 4001)
        f = self.steady_current(grid) - target
        hits = np.flatnonzero((f[:-1] == 0) | (f[:-1] * f[1:] < 0))
        if not hits.size:
            raise ValueError(f"Conductance.resting_state: no equilibrium in {v_range}")
        k = int(hits[0])
        v0 = grid[k] if f[k] == 0 else brentq(
            lambda v: float(self.steady_current(v)) - target, grid[k], grid[k + 1],
            xtol=1e-14)
        return {"v0": v0, "v_f0": v0, "v_s0": v0, "v_us0": v0}

    def pack(self, n: int, dt: float) -> np.ndarray:
        p = np.empty((_BASE + 3 * len(self.terms), n))
        tau_f = self.value("tau_f", n)
        instant = tau_f == 0.0
        p[_INV_TAU_M] = 1.0 / self.value("tau_m", n)
        p[_VREST] = self.value("v_rest", n)
        p[_VSPIKE] = self.value("v_spike", n)
        p[_REF] = 0.0
        p[_INV_TF] = np.where(instant, 0.0, 1.0 / np.where(instant, 1.0, tau_f))
        p[_INV_TS] = 1.0 / self.value("tau_s", n)
        p[_INV_TUS] = 1.0 / self.value("tau_us", n)
        p[_INSTANT] = instant.astype(np.float64)
        p[_NTERMS] = len(self.terms)
        p[_DEC_F] = np.exp(-dt * p[_INV_TF])
        p[_DEC_S] = np.exp(-dt * p[_INV_TS])
        p[_DEC_US] = np.exp(-dt * p[_INV_TUS])
        r = self.value("R", n)
        for t, (name, ts) in enumerate(self.terms):
            row = _BASE + 3 * t
            p[row] = r * self.value(f"{name}_gain", n)
            p[row + 1] = self.value(f"{name}_offset", n)
            p[row + 2] = TIMESCALES.index(ts)
        return p

    def default_state(self, n, given):
        v = given.get("v", self.value("v_rest", n))
        return {"v": v, "v_f": v, "v_s": v, "v_us": v}

    def term_currents(self, v_x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``I_j = g_j tanh(v_{x_j} - delta_j)`` of each term for filtered voltages
        ``v_x = {"fast": .., "slow": .., "ultraslow": ..}`` (broadcast; shared gains)."""
        return {name: getattr(self, f"{name}_gain")
                * np.tanh(np.asarray(v_x[ts]) - getattr(self, f"{name}_offset"))
                for name, ts in self.terms}
