"""High-precision reference solvers that fracsim validates itself against.

- :func:`mittag_leffler`: ``E_{alpha,beta}(z)`` for real z, ~1e-14 relative.
- :func:`fractional_lif_voltage`, :func:`fractional_lif_first_spike`: the exact fractional LIF
  with constant drive, ``v(t) = v_inf + (v0 - v_inf) E_alpha(-t^alpha / tau)``.
- :func:`solve_fde`: Caputo FDE systems (per-component orders in (0, 1]) by the implicit
  product-integration trapezoidal rule with Richardson extrapolation and an error estimate.
- :func:`solve_fde_spiking`: the same with threshold crossings and "shift" / "restart" resets.
- :func:`solve_ode_spiking`: the integer-order reference (DOP853 with threshold events).
"""

from .fde import SpikingSolution, solve_fde, solve_fde_spiking, solve_ode_spiking
from .lif import fractional_lif_first_spike, fractional_lif_voltage
from .mittag_leffler import mittag_leffler

__all__ = [
    "SpikingSolution", "fractional_lif_first_spike", "fractional_lif_voltage", "mittag_leffler",
    "solve_fde", "solve_fde_spiking", "solve_ode_spiking",
]
