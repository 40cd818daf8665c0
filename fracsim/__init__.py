"""fracsim: fast simulation of spiking neurons and networks (NumPy + Numba).

Quick use::

    import fracsim as fs
    res = fs.simulate(fs.LIF(tau=20.0), t_stop=500.0, dt=0.1, current=20.0)
    res.spikes.times, res.state["v"]
"""

from . import grad, plot, reference
from .analysis import classify, fi_curve, iv_curves, regime_map
from .engine.codegen import cache_dir
from .errors import NonFiniteStateError
from .fractional.memory import SOE, FullMemory, ShortMemory
from .grad import loss, surrogate
from .inputs import StepCurrent, TimedArray, step_current
from .models import LIF, LNM, QIF, AdLIF, Conductance, Izhikevich, NeuronModel, Param
from .network import Network, Population, PopulationView, Projection
from .result import Result, SpikeTrains, load
from .simulate import simulate
from .synapses import CondSynapse, ExpSynapse

__version__ = "0.2.0.dev0"

__all__ = [
    "LIF", "LNM", "QIF", "SOE", "AdLIF", "CondSynapse", "Conductance", "ExpSynapse",
    "FullMemory", "Izhikevich", "Network", "NeuronModel", "NonFiniteStateError", "Param",
    "Population", "PopulationView", "Projection", "Result", "ShortMemory", "SpikeTrains",
    "StepCurrent", "TimedArray", "cache_dir", "classify", "fi_curve", "grad", "iv_curves", "load",
    "loss", "plot", "reference", "regime_map", "simulate", "step_current", "surrogate",
]
