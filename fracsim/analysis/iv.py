r"""Current-voltage (I-V) curves: the constant applied current ``I`` that holds ``v``.

A fractional order does not change an equilibrium (the Caputo derivative of a constant is
zero), so the curves hold for any ``alpha``.  Units: ``v`` as the model's ``v`` (mV, or
dimensionless for :class:`~fracsim.Conductance`); ``I`` is the applied current (``R I``
divided by ``R``: nA for ``R`` in MOhm, mV/ms for the Izhikevich model).

**Conductance neuron** (Ribar & Sepulchre 2019).  Holding ``v`` requires

    I = (v - v_rest)/R + sum_j g_j tanh(v_{x_j} - delta_j),

where each filtered voltage ``v_x`` (x = fast, slow, ultraslow) is either at equilibrium
(``v_x = v``, the filters faster than or as fast as the timescale of the curve) or frozen.
The curves are cumulative, as in Ribar & Sepulchre's circuit code
(``I_fast = V + i_fast(V)``, ``I_slow = I_fast + i_slow(V)``,
``I_ultraslow = I_slow + i_ultraslow(V)``)::

    I_inst(v)      = (v - v_rest)/R + [tau_f = 0] sum_{fast j} g_j tanh(v - delta_j)
    I_fast(v)      = (v - v_rest)/R +             sum_{fast j} g_j tanh(v - delta_j)
    I_slow(v)      = I_fast(v) + sum_{slow j} g_j tanh(v - delta_j)
    I_ultraslow(v) = I_slow(v) + sum_{ultraslow j} g_j tanh(v - delta_j)   (steady state)

Convention for the frozen (slower) terms: with ``v0=None`` (default) they are left out, as
Ribar & Sepulchre plot them; they would only add a constant to the curve (its slope, and
so the regions of negative conductance, do not depend on it).  With a scalar ``v0`` each
slower term adds its frozen value ``g_j tanh(v0 - delta_j)``, so that every curve is the
exact current holding ``v`` with the slower filters at ``v0`` (e.g. the resting value).

**Other models**: the steady-state curve (every other variable at its equilibrium):

    LIF          I = (v - v_rest)/R
    AdLIF        I = (1 + a)(v - v_rest)/R                     (w = a (v - v_rest))
    QIF          I = -k (v - v_rest)(v - v_c)/R
    Izhikevich   I = -(0.04 v^2 + 5 v + 140 - b v)            (u = b v)
    any model with a ``steady_state_iv(v)`` method (e.g. LNM): that method.

``negative_slope[name]`` marks ``dI/dv < 0`` (negative slope conductance: the source of
excitability at that timescale); ``slope[name]`` is ``dI/dv`` by a central difference.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..models.adlif import AdLIF
from ..models.base import NeuronModel
from ..models.conductance import TIMESCALES, Conductance
from ..models.izhikevich import Izhikevich
from ..models.lif import LIF
from ..models.qif import QIF

#: curve names of the conductance neuron, fastest first
CONDUCTANCE_CURVES = ("instantaneous", "fast", "slow", "ultraslow")

_CURRENT_UNIT = {"MOhm": "nA", "GOhm": "pA", "kOhm": "µA"}


class IVCurves(dict):
    """The dict returned by :func:`iv_curves`, with the units of ``v`` and ``I``
    (``.units = {"v": ..., "I": ...}``) and the model's name (``.model``)."""

    units: dict[str, str]
    model: str


def _check_scalar(model: NeuronModel) -> None:
    arrays = sorted(k for k, v in model._values.items() if np.ndim(v) != 0)
    if arrays:
        raise ValueError(
            f"iv_curves needs scalar parameters; {type(model).__name__} has per-neuron "
            f"arrays for {arrays}: pass model.replace({arrays[0]}=<one value>, ...)"
        )


def _conductance_curves(model: Conductance, v0: float | None) -> dict[str, Callable]:
    """One function ``I(v)`` per curve of the conductance neuron."""
    speed = {ts: k for k, ts in enumerate(TIMESCALES)}  # fast 0, slow 1, ultraslow 2
    instant = model.tau_f == 0.0

    def curve(level: int, inst: bool = False) -> Callable:
        def current(v):
            at_eq = model.term_currents({ts: v for ts in TIMESCALES})
            frozen = None if v0 is None else model.term_currents({ts: v0 for ts in TIMESCALES})
            total = (v - model.v_rest) / model.R
            for name, ts in model.terms:
                if speed[ts] <= level and (instant or not inst):
                    total = total + at_eq[name]
                elif frozen is not None:
                    total = total + frozen[name]
            return total

        return current

    return {"instantaneous": curve(0, inst=True), "fast": curve(0), "slow": curve(1),
            "ultraslow": curve(2)}


def _steady_curve(model: NeuronModel) -> Callable:
    """The steady-state ``I(v)`` of a non-conductance model."""
    if callable(getattr(model, "steady_state_iv", None)):
        return model.steady_state_iv
    if isinstance(model, AdLIF):
        return lambda v: (1.0 + model.a) * (v - model.v_rest) / model.R
    if isinstance(model, LIF):
        return lambda v: (v - model.v_rest) / model.R
    if isinstance(model, QIF):
        return lambda v: -model.k * (v - model.v_rest) * (v - model.v_c) / model.R
    if isinstance(model, Izhikevich):
        return lambda v: -(0.04 * v * v + 5.0 * v + 140.0 - model.b * v)
    raise TypeError(
        f"iv_curves does not know the equilibria of {type(model).__name__}; supported: "
        "Conductance, LIF, AdLIF, QIF, Izhikevich and models with a steady_state_iv(v) method"
    )


def _default_v(model: NeuronModel) -> np.ndarray:
    if isinstance(model, Conductance):
        return np.linspace(model.v_rest - 3.0, model.v_rest + 3.0, 601)
    if isinstance(model, Izhikevich):
        return np.linspace(-90.0, model.v_peak, 601)
    lo = float(model._values.get("v_reset", model._values.get("v_rest", -65.0))) - 20.0
    hi = float(model._values.get(model.threshold_param, lo + 40.0)) + 10.0
    return np.linspace(lo, hi, 601)


def _units(model: NeuronModel) -> dict[str, str]:
    if isinstance(model, Conductance):
        return {"v": "dimensionless", "I": "dimensionless"}
    if isinstance(model, Izhikevich):
        return {"v": "mV", "I": "mV/ms"}
    r_unit = model.params["R"].unit if "R" in model.params else ""
    return {"v": "mV", "I": _CURRENT_UNIT.get(r_unit, f"mV/{r_unit}" if r_unit else "mV")}


def iv_curves(model: NeuronModel, v=None, *, v0: float | None = None) -> IVCurves:
    """I-V curves of ``model`` on the membrane values ``v`` (see the module docstring).

    Args:
        model: a neuron model with scalar parameters.
        v: 1-D array of membrane values (model units); default: a range around rest.
        v0: conductance neuron only: value at which the slower filters are frozen
            (``None``: slower terms left out, Ribar & Sepulchre's convention).

    Returns:
        :class:`IVCurves` (a dict): ``"v"``; for the conductance neuron ``"instantaneous"``,
        ``"fast"``, ``"slow"``, ``"ultraslow"``; always ``"steady_state"`` (the slowest
        curve); ``"slope"`` and ``"negative_slope"``: dicts from curve name to ``dI/dv``
        and to the boolean mask ``dI/dv < 0``.  Currents in the model's input units.
    """
    if not isinstance(model, NeuronModel):
        raise TypeError(f"model must be a fracsim neuron model, got {type(model).__name__}")
    _check_scalar(model)
    v = _default_v(model) if v is None else np.asarray(v, dtype=np.float64)
    if v.ndim != 1 or v.size < 2 or not np.all(np.isfinite(v)):
        raise ValueError("iv_curves: v must be a 1-D array of at least 2 finite values")
    if v0 is not None and not isinstance(model, Conductance):
        raise ValueError("iv_curves: v0 (frozen slow filters) applies to Conductance only")
    if isinstance(model, Conductance):
        funcs = _conductance_curves(model, None if v0 is None else float(v0))
        funcs["steady_state"] = funcs["ultraslow"]
    else:
        funcs = {"steady_state": _steady_curve(model)}
    h = 1e-6 * max(1.0, float(np.max(np.abs(v))))
    out = IVCurves(v=v)
    out["slope"], out["negative_slope"] = {}, {}
    for name, f in funcs.items():
        out[name] = np.asarray(f(v), dtype=np.float64)
        out["slope"][name] = (np.asarray(f(v + h)) - np.asarray(f(v - h))) / (2.0 * h)
        out["negative_slope"][name] = out["slope"][name] < 0.0
    out.units = _units(model)
    out.model = type(model).__name__
    return out
