"""Neuron models: one module per family (parameters, validation, step kernel)."""

from .adlif import AdLIF
from .base import NeuronModel, Param
from .izhikevich import Izhikevich
from .lif import LIF
from .qif import QIF

__all__ = ["AdLIF", "Izhikevich", "LIF", "NeuronModel", "Param", "QIF"]
