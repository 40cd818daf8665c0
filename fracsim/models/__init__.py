"""Neuron models: one module per family (parameters, validation, step kernel)."""

from .adlif import AdLIF
from .base import NeuronModel, Param
from .conductance import Conductance
from .izhikevich import Izhikevich
from .lif import LIF
from .lnm import LNM
from .qif import QIF

__all__ = ["AdLIF", "Conductance", "Izhikevich", "LIF", "LNM", "NeuronModel", "Param", "QIF"]
