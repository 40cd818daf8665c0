r"""Synapse kinds: how an arriving spike of weight ``w`` acts on its target.

* ``"delta"``: instantaneous jump ``v <- v + w`` (w in mV; ignored while refractory).
* :class:`ExpSynapse` (current-based): ``tau_s dg/dt = -g``, ``g <- g + w`` at arrival,
  and ``g`` (mV, i.e. ``R I_syn``) adds to the drive of the membrane equation.
* :class:`CondSynapse` (conductance-based): ``tau_s dg/dt = -g``, ``g <- g + w`` with
  ``w >= 0`` dimensionless (conductance in units of the leak conductance, ``R g_syn``),
  and the drive gains ``g (e_rev - v)`` (mV).

Synapses of the same kind and constants onto one population share one state variable
(a "channel"). The channel value used in a step is the one at the start of the step
(arrivals of that step included); it then decays by ``exp(-dt / tau_s)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._validate import finite_array, positive_float


@dataclass(frozen=True)
class ExpSynapse:
    """Exponentially decaying current synapse: ``tau_s dg/dt = -g``, jump ``w`` (mV)."""

    tau: float
    """decay time constant (ms), > 0"""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tau", positive_float("ExpSynapse.tau", self.tau))

    kind = "exp"


@dataclass(frozen=True)
class CondSynapse:
    """Exponentially decaying conductance synapse with reversal potential ``e_rev`` (mV)."""

    tau: float
    """decay time constant (ms), > 0"""
    e_rev: float
    """reversal potential (mV)"""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tau", positive_float("CondSynapse.tau", self.tau))
        e = finite_array("CondSynapse.e_rev", self.e_rev)
        if e.ndim != 0:
            raise ValueError("CondSynapse.e_rev must be a scalar (mV)")
        object.__setattr__(self, "e_rev", float(e))

    kind = "cond"


Synapse = str | ExpSynapse | CondSynapse


def check_synapse(synapse) -> Synapse:
    """Validate a ``synapse=`` argument."""
    if isinstance(synapse, ExpSynapse | CondSynapse):
        return synapse
    if synapse == "delta":
        return "delta"
    raise ValueError(
        f"synapse must be 'delta', fs.ExpSynapse(tau) or fs.CondSynapse(tau, e_rev), "
        f"got {synapse!r}"
    )
