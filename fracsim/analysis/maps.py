r"""Regime maps: the firing regime over a 2-D grid of parameters, in ONE compiled run.

Every grid point ``(a_i, b_j)`` is neuron ``k = i * len(b) + j`` of a single heterogeneous
population (``model.replace(name=<per-neuron array>)``); the axis ``"current"`` gives each
neuron its own constant amplitude.  With ``onset`` (ms) the input is a step,

    I_k(t) = baseline  for t < onset,     I_k(t) = amplitude_k  for t >= onset,

applied as one shared step current per distinct amplitude (so memory grows with the number
of amplitudes, not of neurons).  Each neuron's spike train in ``[t0, t_stop]``, with
``t0 = max(onset or 0, t_settle)``, is labelled by :func:`fracsim.analysis.regimes.analyse`
with the criteria of :func:`fracsim.classify`; rates are spike counts in that window over
its length (Hz).  A population with some ``alpha < 1`` runs all its neurons (``alpha = 1``
included) through the fractional scheme.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._validate import finite_array, positive_float
from ..inputs import step_current
from ..models.base import NeuronModel
from ..network import Network
from ..result import SpikeTrains
from .iv import _units
from .regimes import REGIMES, analyse, criteria, split_trains

CURRENT = "current"


@dataclass
class RegimeMap:
    """Result of :func:`regime_map`; arrays have shape ``(len(values[0]), len(values[1]))``.

    Attributes:
        axes: the two axis names; values: their values.  units: axis name -> unit.
        labels: regime of each grid point (str, one of :data:`REGIMES`).
        rates: firing rate in the analysed window (Hz).  n_spikes: spikes in the whole run.
        n_bursts, spikes_per_burst, intra_burst_isi (ms), burst_period (ms): burst
            statistics (NaN where there are no bursts).
        spikes: all spike trains, ids = flat grid index ``i * len(values[1]) + j``.
        t_stop, onset, dt (ms); wall_time: seconds of the one simulation (compile included).
    """

    axes: tuple[str, str]
    values: tuple[np.ndarray, np.ndarray]
    labels: np.ndarray
    rates: np.ndarray
    n_spikes: np.ndarray
    n_bursts: np.ndarray
    spikes_per_burst: np.ndarray
    intra_burst_isi: np.ndarray
    burst_period: np.ndarray
    spikes: SpikeTrains
    t_stop: float
    onset: float | None
    dt: float
    wall_time: float
    model: str = ""
    units: dict[str, str] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape

    def train(self, i: int, j: int) -> np.ndarray:
        """Spike times (ms) of grid point ``(i, j)``."""
        return self.spikes.of(i * self.shape[1] + j)

    def fractions(self) -> dict[str, float]:
        """Fraction of the grid points in each regime (all of :data:`REGIMES`)."""
        return {r: float(np.mean(self.labels == r)) for r in REGIMES}


def _axes(model: NeuronModel, axes) -> tuple[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    if not isinstance(axes, dict) or len(axes) != 2:
        got = f"{len(axes)} entries" if isinstance(axes, dict) else type(axes).__name__
        raise ValueError(f"regime_map: axes must be a dict of two {{name: values}} entries, "
                         f"got {got}")
    names, values = [], []
    for name, vals in axes.items():
        if not isinstance(name, str) or (name != CURRENT and name not in model.params):
            raise ValueError(
                f"regime_map: unknown axis {name!r}; allowed: 'current' or a parameter of "
                f"{type(model).__name__}: {sorted(model.params)}")
        try:
            arr = finite_array(f"regime_map axis {name!r}", vals)
        except TypeError as err:
            raise ValueError(str(err)) from None
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"regime_map axis {name!r} must be a non-empty 1-D array of "
                             f"values, got shape {arr.shape}")
        names.append(name)
        values.append(arr)
    return (names[0], names[1]), (values[0], values[1])


def _state0(state0, grid_model, point_models: Callable, rest_current: np.ndarray,
            shape: tuple[int, int]) -> dict:
    """Initial values ``{"<var>0": scalar or per-neuron array}``."""
    n = shape[0] * shape[1]
    if state0 is None:
        return {}
    if isinstance(state0, str):
        if state0 != "rest" or not hasattr(grid_model, "resting_state"):
            raise ValueError("regime_map: state0 must be a dict, None, or 'rest' (models with "
                             f"a resting_state method), got {state0!r}")
        cache: dict[tuple, dict] = {}
        rows = []
        for k in range(n):
            m, key = point_models(k)
            key = (*key, float(rest_current[k]))
            if key not in cache:
                cache[key] = m.resting_state(float(rest_current[k]))
            rows.append(cache[key])
        return {var: np.array([r[var] for r in rows]) for var in rows[0]}
    if not isinstance(state0, dict):
        raise ValueError(f"regime_map: state0 must be a dict, None or 'rest', got "
                         f"{type(state0).__name__}")
    out = {}
    for var, value in state0.items():
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape == shape:
            arr = arr.ravel()
        elif arr.ndim != 0 and arr.shape != (n,):
            raise ValueError(f"regime_map: state0[{var!r}] must be a scalar or have shape "
                             f"{shape} or ({n},), got {arr.shape}")
        out[var] = arr
    return out


def regime_map(model: NeuronModel, axes: dict, *, current=None, baseline: float = 0.0,
               onset: float | None = None, t_stop: float = 1000.0, dt: float = 0.1,
               t_settle: float = 0.0, state0=None, derived: dict | None = None,
               classify_kwargs: dict | None = None, scheme: str = "l1", memory=None,
               seed: int = 0) -> RegimeMap:
    """Firing regime of ``model`` over a 2-D parameter grid, simulated as one population.

    Args:
        model: the neuron model, scalar parameters.
        axes: ``{name_a: values_a, name_b: values_b}``: model parameters (e.g. ``"alpha"``,
            ``"slow_neg_gain"``) or ``"current"`` (the input amplitude, model units).
        current: the input amplitude when ``"current"`` is not an axis (default 0), or a
            current shared by all neurons (see :mod:`fracsim.inputs`; then no ``onset``).
        baseline: input before ``onset``.  onset: step time (ms); None: constant input.
        t_stop, dt: duration and step (ms).
        t_settle: the analysed window starts at ``max(onset or 0, t_settle)`` (ms): skips a
            start-up transient, e.g. from an initial state off the attractor.
        state0: initial values ``{"v0": .., "<var>0": ..}`` (scalars, per-point arrays of
            the grid's shape), or ``"rest"``: each point's ``resting_state`` at the input
            before the stimulus (models that have one, e.g. Conductance).
        derived: ``{parameter: f}``: other parameters as functions of the axis values,
            ``f(**{axis: flat array})``, e.g. ``{"tau": lambda alpha, current: 20 ** alpha}``.
        classify_kwargs: criteria of :func:`fracsim.classify`.
        scheme, memory, seed: numerics, see :class:`fracsim.Network`.

    Returns:
        a :class:`RegimeMap`.
    """
    names, values = _axes(model, axes)
    crit = criteria(**(classify_kwargs or {}))
    t_stop = positive_float("regime_map.t_stop", t_stop)
    if onset is not None and not 0.0 <= float(onset) < t_stop:
        raise ValueError(f"regime_map.onset must be in [0, t_stop), got {onset}")
    if not 0.0 <= float(t_settle) < t_stop:
        raise ValueError(f"regime_map.t_settle must be in [0, t_stop), got {t_settle}")
    if model.size() is not None:
        raise ValueError("regime_map needs a model with scalar parameters (the axes make the "
                         "per-neuron arrays)")
    if CURRENT in names and current is not None:
        raise ValueError("regime_map: 'current' is an axis; do not also pass current=")
    shape = (values[0].size, values[1].size)
    n = shape[0] * shape[1]
    grid = dict(zip(names, np.meshgrid(*values, indexing="ij"), strict=True))
    params = {k: v.ravel() for k, v in grid.items() if k != CURRENT}
    for name, func in (derived or {}).items():
        if name in grid or name not in model.params or not callable(func):
            raise ValueError(f"regime_map: derived[{name!r}] must map a parameter that is not "
                             "an axis to a function of the axis values")
        params[name] = np.broadcast_to(
            np.asarray(func(**{k: v.ravel() for k, v in grid.items()}), dtype=np.float64),
            (n,)).copy()
    try:
        grid_model = model.replace(**params)
    except (TypeError, ValueError) as err:
        raise ValueError(f"regime_map: the axis values are not valid for the model: {err}") \
            from None

    shared = current is not None and not isinstance(current, numbers.Real)
    if shared and onset is not None:
        raise ValueError("regime_map: onset needs a scalar current amplitude (or the "
                         "'current' axis), not a time-varying current")
    amp = grid[CURRENT].ravel() if CURRENT in grid else np.full(
        n, 0.0 if current is None or shared else float(current))
    stepped = onset is not None and float(onset) > 0.0
    rest_current = np.full(n, float(baseline)) if stepped else amp

    def point_model(k: int):
        point = {name: float(p[k]) for name, p in params.items()}
        return model.replace(**point), tuple(point.values())

    init = _state0(state0, grid_model, point_model, rest_current, shape)
    net = Network(dt=dt, seed=seed, scheme=scheme)
    pop = net.population(grid_model, n, name="grid", memory=memory, **init)
    if shared:
        net.current(pop, current)
    elif stepped:
        for a in np.unique(amp):
            net.current(pop[np.flatnonzero(amp == a)],
                        step_current([0.0, float(onset)], [float(baseline), float(a)]))
    else:
        net.current(pop, amp)
    t0 = time.perf_counter()
    res = net.run(t_stop, record={"spikes": pop}, progress=False)
    wall = time.perf_counter() - t0

    start = max(0.0 if onset is None else float(onset), float(t_settle))
    labels, stats, counts = [], [], []
    for t in split_trains(res.spikes.times, res.spikes.ids, n):
        tw = t[(t >= start) & (t <= t_stop)]
        label, st = analyse(tw, start, t_stop, crit)
        labels.append(label)
        stats.append(st)
        counts.append(tw.size)

    def arr(values_, dtype=np.float64):
        return np.asarray(values_, dtype=dtype).reshape(shape)

    units = _units(model)
    axis_units = {nm: units["I"] if nm == CURRENT else model.params[nm].unit for nm in names}
    return RegimeMap(
        axes=names, values=values,
        labels=arr(labels, f"<U{max(len(r) for r in REGIMES)}"),
        rates=arr(counts) / ((t_stop - start) * 1e-3),
        n_spikes=arr(res.spikes.counts(n), np.int64),
        n_bursts=arr([s.n_bursts for s in stats], np.int64),
        spikes_per_burst=arr([s.spikes_per_burst for s in stats]),
        intra_burst_isi=arr([s.intra_isi for s in stats]),
        burst_period=arr([s.period for s in stats]),
        spikes=res.spikes, t_stop=t_stop, onset=onset, dt=float(dt), wall_time=wall,
        model=repr(model), units=axis_units)
