r"""f-I curves and rheobase, each current one neuron of a single population run.

    rate(I) = #{spikes with t_settle <= t <= t_stop} / (t_stop - t_settle)   (Hz, times in ms)

For the LIF with constant ``R I`` above threshold (``v_inf = v_rest + R I > v_th``) the
exact rate is ``1000 / (tau ln((v_inf - v_reset)/(v_inf - v_th)) + t_ref)`` Hz; a count
over a window ``W`` (ms) differs from it by less than ``1000/W`` Hz (plus the time-grid
error of the spike times).  The rheobase is the smallest constant current that makes the
neuron fire within ``t_stop`` (for the LIF: ``(v_th - v_rest)/R``).
"""

from __future__ import annotations

import numpy as np

from .._validate import finite_array, positive_float, positive_int
from ..models.base import NeuronModel
from ..simulate import simulate


def fi_curve(model: NeuronModel, currents, *, t_stop: float = 1000.0, dt: float = 0.1,
             t_settle: float = 0.0, **simulate_kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Firing rate (Hz) against constant current, all currents in ONE simulation.

    Args:
        model: the neuron model (scalar parameters, or per-neuron arrays of ``len(currents)``).
        currents: 1-D array of constant currents (model input units), one neuron each.
        t_stop, dt: duration and step (ms).
        t_settle: spikes before this time (ms) are not counted (transient).
        **simulate_kwargs: passed to :func:`fracsim.simulate` (``scheme``, ``memory``,
            ``v0``, ``<var>0``, ``seed``).

    Returns:
        ``(currents, rates)``, rates in Hz over ``[t_settle, t_stop]``.
    """
    currents = finite_array("fi_curve.currents", currents)
    if currents.ndim != 1 or currents.size == 0:
        raise ValueError("fi_curve.currents must be a non-empty 1-D array")
    t_stop = positive_float("fi_curve.t_stop", t_stop)
    if not 0.0 <= t_settle < t_stop:
        raise ValueError(f"fi_curve.t_settle must be in [0, t_stop), got {t_settle}")
    res = simulate(model, t_stop, dt=dt, current=currents, n=currents.size, record=(),
                   progress=False, **simulate_kwargs)
    keep = res.spikes.times >= t_settle
    counts = np.bincount(res.spikes.ids[keep], minlength=currents.size)
    return currents, counts / ((t_stop - t_settle) * 1e-3)


def rheobase(model: NeuronModel, bracket: tuple[float, float], *, tol: float = 1e-3,
             n_per_run: int = 16, max_runs: int = 10, t_stop: float = 1000.0,
             dt: float = 0.1, **simulate_kwargs) -> float:
    """Smallest constant current (model input units) that makes ``model`` spike within
    ``t_stop`` ms, refined by repeated multisection of ``bracket = (lo, hi)``.

    Each run simulates ``n_per_run`` currents spread over the current bracket as one
    population and keeps the interval between the last silent and the first firing
    current, until it is narrower than ``tol``.  Returns the smallest current seen to fire
    (the rheobase lies in ``(value - tol, value]`` up to the resolution of ``t_stop``).
    Raises ValueError if ``lo`` fires or ``hi`` does not.
    """
    lo, hi = (float(x) for x in finite_array("rheobase.bracket", bracket))
    if not hi > lo:
        raise ValueError(f"rheobase.bracket must be (lo, hi) with hi > lo, got {bracket}")
    tol = positive_float("rheobase.tol", tol)
    n = positive_int("rheobase.n_per_run", n_per_run, minimum=2)
    positive_int("rheobase.max_runs", max_runs)
    first = True
    for _ in range(max_runs):
        grid = np.linspace(lo, hi, n)
        _, rates = fi_curve(model, grid, t_stop=t_stop, dt=dt, **simulate_kwargs)
        fires = rates > 0
        if first and fires[0]:
            raise ValueError(f"rheobase: the neuron already fires at the lower end {lo}")
        if first and not fires[-1]:
            raise ValueError(f"rheobase: the neuron does not fire at the upper end {hi} "
                             f"within t_stop = {t_stop} ms")
        first = False
        k = int(np.argmax(fires))
        lo, hi = grid[k - 1], grid[k]
        if hi - lo <= tol:
            break
    return float(hi)
