r"""Firing-regime classification of spike trains, and burst statistics.

Labels (:data:`REGIMES`): ``"silent"``, ``"tonic_spiking"``, ``"phasic_spiking"``,
``"tonic_bursting"``, ``"phasic_bursting"``, ``"irregular"`` (any other activity).

The criteria, each a keyword argument of :func:`classify` (defaults in brackets).  Times in
ms; the analysed window holds the spikes with ``t0 <= t <= t_stop``, ``t0 = onset`` if
given (activity before the stimulus is ignored), else ``t_start``; ``T = t_stop - t0``.

1. **Silent**: no spike in the window.
2. **Bursts**, from the inter-spike intervals (ISIs).  With at least 3 ISIs, the log-ISIs
   are split in two classes where their between-class variance is largest (Otsu's
   threshold on the log-ISI histogram).  The distribution is bimodal if the classes'
   geometric means differ by a factor ``>= burst_ratio`` [3] and the split is a real gap,
   the smallest long ISI ``>= burst_gap`` [1.5] times the largest short one; the threshold
   ``theta`` is then the geometric mean of these two ISIs.  Otherwise
   ``theta = burst_isi`` [20 ms, i.e. 50 Hz].  A burst is a maximal run of
   ``>= min_burst_spikes`` [2] spikes joined by ISIs ``< theta``.  The train is *bursting*
   if ``>= min_bursts`` [2] bursts hold ``>= burst_fraction`` [0.5] of its spikes; a
   single burst holding all the spikes counts only for a phasic train (a persistent fast
   train without pauses is tonic spiking).
3. **Events** are the bursts (bursting train) or the spikes; ``D_k`` their intervals (burst
   start to burst start, or ISIs), without the first ``transient`` [1] of them when more
   than ``transient + 1`` remain (onset transients such as an initial doublet).  Typical
   period ``P = max(median(D), D_last)``.
4. **Tonic**: ``>= 2`` events and activity persisting to the end: the silence after the
   last spike ``t_stop - t_last <= tonic_periods * P`` [2].  Tonic trains must also be
   regular: local variation ``LV = 3/(m-1) sum_k ((D_k - D_{k+1}) / (D_k + D_{k+1}))^2
   <= lv_max`` [0.5] (Shinomoto et al. 2003: 0 for a periodic train, 1 for a Poisson one,
   insensitive to a slow drift of the rate), else ``"irregular"``.
5. **Phasic**: not tonic, and silent for the last ``quiet_fraction`` [0.5] of the window
   (``t_stop - t_last >= quiet_fraction * T``); if ``phasic_window`` [None] (ms) is given,
   every spike must also lie within ``phasic_window`` of ``t0``.
6. Anything else (activity that stops mid-window, irregular trains): ``"irregular"``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

REGIMES = ("silent", "tonic_spiking", "phasic_spiking", "tonic_bursting", "phasic_bursting",
           "irregular")


@dataclass(frozen=True)
class Criteria:
    """The tunable criteria of :func:`classify` (see the module docstring)."""

    burst_ratio: float = 3.0
    burst_gap: float = 1.5
    burst_isi: float = 20.0
    min_burst_spikes: int = 2
    min_bursts: int = 2
    burst_fraction: float = 0.5
    transient: int = 1
    tonic_periods: float = 2.0
    lv_max: float = 0.5
    quiet_fraction: float = 0.5
    phasic_window: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "phasic_window" and value is None:
                continue
            if not (np.isscalar(value) and np.isfinite(value) and value >= 0):
                raise ValueError(f"classify: {f.name} must be a finite number >= 0, "
                                 f"got {value!r}")
        if self.burst_ratio <= 1.0 or self.burst_gap < 1.0:
            raise ValueError(f"classify: burst_ratio must be > 1 and burst_gap >= 1, got "
                             f"{self.burst_ratio} and {self.burst_gap}")
        if self.min_burst_spikes < 2 or self.min_bursts < 1:
            raise ValueError("classify: min_burst_spikes must be >= 2 and min_bursts >= 1")
        if not 0.0 <= self.quiet_fraction <= 1.0 or not 0.0 <= self.burst_fraction <= 1.0:
            raise ValueError("classify: quiet_fraction and burst_fraction must be in [0, 1]")


def criteria(**kwargs) -> Criteria:
    """A :class:`Criteria` from keyword arguments; unknown names raise a ValueError."""
    allowed = [f.name for f in fields(Criteria)]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(f"classify: unknown criteria {unknown}; allowed: {allowed}")
    return Criteria(**kwargs)


@dataclass(frozen=True)
class BurstStats:
    """Bursts of one spike train: ``n_bursts``, mean ``spikes_per_burst``, mean
    ``intra_isi`` (ms, ISIs inside bursts), mean ``inter_interval`` (ms, silence from a
    burst's last spike to the next burst), mean ``period`` (ms, burst start to burst start)
    and the ISI ``threshold`` (ms) used; NaN where undefined."""

    n_bursts: int
    spikes_per_burst: float
    intra_isi: float
    inter_interval: float
    period: float
    threshold: float

    def as_dict(self) -> dict:
        return asdict(self)


def _threshold(isi: np.ndarray, c: Criteria) -> float:
    """Short/long ISI threshold (ms): Otsu's split of the log-ISIs if bimodal, else
    ``burst_isi``."""
    if isi.size >= 3:
        x = np.log(np.maximum(np.sort(isi), 1e-12))
        k = np.arange(1, x.size)  # split after the k smallest
        cum = np.cumsum(x)[:-1]
        m_lo, m_hi = cum / k, (x.sum() - cum) / (x.size - k)
        best = int(np.argmax(k * (x.size - k) * (m_hi - m_lo) ** 2))  # between-class var.
        if (m_hi[best] - m_lo[best] >= np.log(c.burst_ratio)
                and x[best + 1] - x[best] >= np.log(c.burst_gap)):
            return float(np.exp(0.5 * (x[best] + x[best + 1])))
    return float(c.burst_isi)


def find_bursts(t: np.ndarray, c: Criteria) -> tuple[np.ndarray, np.ndarray, float]:
    """Bursts of the sorted spike times ``t``: index arrays of their first and last spikes,
    and the ISI threshold (ms)."""
    isi = np.diff(t)
    theta = _threshold(isi, c)
    short = np.concatenate([[False], isi < theta, [False]]).astype(np.int8)
    edges = np.diff(short)
    starts = np.flatnonzero(edges == 1)  # first spike of a run of short ISIs
    ends = np.flatnonzero(edges == -1)  # last spike of the run
    keep = ends - starts + 1 >= c.min_burst_spikes
    return starts[keep], ends[keep], theta


def _stats(t: np.ndarray, starts: np.ndarray, ends: np.ndarray, theta: float) -> BurstStats:
    nan = float("nan")
    if starts.size == 0:
        return BurstStats(0, nan, nan, nan, nan, theta)
    size = ends - starts + 1
    intra = np.concatenate([np.diff(t[a:b + 1]) for a, b in zip(starts, ends, strict=True)])
    inter = t[starts[1:]] - t[ends[:-1]]
    period = np.diff(t[starts])
    return BurstStats(int(starts.size), float(size.mean()), float(intra.mean()),
                      float(inter.mean()) if inter.size else nan,
                      float(period.mean()) if period.size else nan, theta)


def _lv(d: np.ndarray) -> float:
    """Local variation of the intervals ``d`` (0 if fewer than 2)."""
    if d.size < 2:
        return 0.0
    r = (d[:-1] - d[1:]) / np.maximum(d[:-1] + d[1:], 1e-300)
    return float(3.0 * np.sum(r * r) / (d.size - 1))


def analyse(t: np.ndarray, t0: float, t_stop: float, c: Criteria) -> tuple[str, BurstStats]:
    """Label and burst statistics of the sorted spike times ``t`` already in the window
    ``[t0, t_stop]`` (the work of :func:`classify`)."""
    if t.size == 0:
        return "silent", _stats(t, np.zeros(0, int), np.zeros(0, int), float(c.burst_isi))
    starts, ends, theta = find_bursts(t, c)
    stats = _stats(t, starts, ends, theta)
    in_bursts = int(np.sum(ends - starts + 1))
    lone_burst = starts.size == 1 and in_bursts == t.size
    bursting = starts.size >= c.min_bursts and in_bursts >= c.burst_fraction * t.size
    events = t[starts] if bursting else t
    d = np.diff(events)
    if d.size > c.transient + 1:
        d = d[int(c.transient):]
    quiet = t_stop - t[-1]
    if events.size >= 2 and quiet <= c.tonic_periods * max(float(np.median(d)), float(d[-1])):
        if _lv(d) > c.lv_max:
            return "irregular", stats
        return ("tonic_bursting" if bursting else "tonic_spiking"), stats
    confined = c.phasic_window is None or t[-1] <= t0 + c.phasic_window
    if quiet >= c.quiet_fraction * (t_stop - t0) and confined:
        return ("phasic_bursting" if bursting or lone_burst else "phasic_spiking"), stats
    return "irregular", stats


def _window(t_stop, t_start, onset) -> tuple[float, float]:
    t0 = float(t_start if onset is None else onset)
    t_stop = float(t_stop)
    if not (np.isfinite(t0) and np.isfinite(t_stop) and t_stop > t0):
        raise ValueError(f"classify: need t_stop > onset (or t_start), got t_stop={t_stop}, "
                         f"start of the window {t0}")
    return t0, t_stop


def _select(times, t0: float, t_stop: float) -> np.ndarray:
    t = np.sort(np.asarray(times, dtype=np.float64).ravel())
    return t[(t >= t0) & (t <= t_stop)]


def classify(spike_times, t_stop: float, *, t_start: float = 0.0, onset: float | None = None,
             **criteria_kwargs) -> str:
    """Firing regime of one neuron's spike train (times in ms).

    Args:
        spike_times: the neuron's spike times (ms), any order.
        t_stop: end of the recording (ms).
        t_start: start of the recording (ms); used when ``onset`` is None.
        onset: stimulus onset (ms): only spikes from ``onset`` on are analysed.
        **criteria_kwargs: ``burst_ratio``, ``burst_gap``, ``burst_isi`` (ms),
            ``min_burst_spikes``, ``min_bursts``, ``burst_fraction``, ``transient``,
            ``tonic_periods``, ``lv_max``, ``quiet_fraction``, ``phasic_window`` (ms): see
            the module docstring.

    Returns:
        one of :data:`REGIMES`.
    """
    c = criteria(**criteria_kwargs)
    t0, t_stop = _window(t_stop, t_start, onset)
    return analyse(_select(spike_times, t0, t_stop), t0, t_stop, c)[0]


def burst_stats(spike_times, t_stop: float = np.inf, *, t_start: float = -np.inf,
                onset: float | None = None, **criteria_kwargs) -> BurstStats:
    """Bursts of one spike train (ms) in the window of :func:`classify`, detected by its
    criteria (whether or not the train is classified as bursting)."""
    c = criteria(**criteria_kwargs)
    t0 = float(t_start if onset is None else onset)
    t = _select(spike_times, t0, float(t_stop))
    return _stats(t, *find_bursts(t, c))


def split_trains(times, ids, n: int) -> list[np.ndarray]:
    """Spike times of neurons ``0 .. n-1`` from aligned ``times`` and ``ids`` arrays, each
    sorted."""
    times = np.asarray(times, dtype=np.float64)
    ids = np.asarray(ids)
    if times.shape != ids.shape or times.ndim != 1:
        raise ValueError(f"times and ids must be 1-D arrays of equal length, got "
                         f"{times.shape} and {ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        raise ValueError(f"ids must be in [0, {n}), got [{ids.min()}, {ids.max()}]")
    order = np.lexsort((times, ids))
    bounds = np.searchsorted(ids[order], np.arange(n + 1))
    t = times[order]
    return [t[bounds[i]:bounds[i + 1]] for i in range(n)]


def classify_many(times, ids, n: int, t_stop: float, *, t_start: float = 0.0,
                  onset: float | None = None, **criteria_kwargs) -> np.ndarray:
    """:func:`classify` for neurons ``0 .. n-1`` of a population given as aligned spike
    ``times`` (ms) and neuron ``ids``; returns an array of ``n`` labels (str)."""
    c = criteria(**criteria_kwargs)
    t0, t_stop = _window(t_stop, t_start, onset)
    labels = [analyse(_select(t, t0, t_stop), t0, t_stop, c)[0]
              for t in split_trains(times, ids, n)]
    return np.array(labels, dtype=f"<U{max(len(r) for r in REGIMES)}")
