"""Gradients of simulations: surrogate spike derivatives and losses.

``surrogate``: relaxed spike functions (Sigmoid, ArcTan, Triangle, Gaussian, Rectangle) and the
adaptive MPD-AGL surrogate, with the Numba kernels the engine calls.  ``loss``: losses on
recorded arrays (mse, readout_mse, spike_count_ce, van_rossum, custom) with exact gradients.
"""

from . import loss, surrogate

__all__ = ["loss", "surrogate"]
