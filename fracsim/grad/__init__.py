"""Gradients of simulations: surrogate spike derivatives, losses, forward mode and adjoint.

``surrogate``: relaxed spike functions (Sigmoid, ArcTan, Triangle, Gaussian, Rectangle) and the
adaptive MPD-AGL surrogate, with the Numba kernels the engine calls.  ``loss``: losses on
recorded arrays (mse, readout_mse, spike_count_ce, van_rossum, custom) with exact gradients.
``value_and_grad`` / ``jvp`` (:mod:`.api`): gradients of a population's simulation by the
checkpointed discrete adjoint (:mod:`.adjoint`), forward tangents (:mod:`.forward`) or finite
differences, with a learnable input layer ``InputLayer(u, W_in, b_in)``; given a
``fs.Network`` instead of a model, the adjoint through synapses, delays and fractional
histories (:mod:`.network`: projection weights, ``tau``, ``alpha``); the differentiated
recurrence is in :mod:`.trajectory`, the per-model step
derivatives in :mod:`.model_derivatives`, the scheme weights' alpha derivatives in
:mod:`.alpha`.
"""

from . import loss, surrogate
from .api import InputLayer, jvp, learnable, value_and_grad

__all__ = ["InputLayer", "jvp", "learnable", "loss", "surrogate", "value_and_grad"]
