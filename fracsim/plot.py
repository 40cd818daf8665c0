"""Plots of results: raster with rate histogram, state traces, ISI histogram.

Every function returns the matplotlib Figure and Axes and never calls ``show()``.
Colours follow one palette per population, in population order.
"""

from __future__ import annotations

import numpy as np

PALETTE = ["#1f4e99", "#c0392b", "#2e8b57", "#8e44ad", "#d68910", "#17a2b8", "#555555"]


def _plt():
    """pyplot, imported lazily (matplotlib picks Agg by itself on a machine with no display)."""
    import matplotlib.pyplot as plt

    return plt


def raster(res, *, populations=None, bin_ms: float = 5.0, rate_hist: bool = True,
           markersize: float = 1.0, figsize=(8, 5), title: str | None = None):
    """Spike raster coloured by population, with the population rate (Hz) below.

    Returns ``(fig, axes)``; ``axes`` is ``[raster, histogram]`` (or ``[raster]``).
    """
    plt = _plt()
    names = list(res.populations) if populations is None else [
        getattr(p, "name", p) for p in populations]
    if rate_hist:
        fig, axes = plt.subplots(2, 1, sharex=True, figsize=figsize,
                                 gridspec_kw={"height_ratios": [3, 1]})
    else:
        fig, ax0 = plt.subplots(figsize=figsize)
        axes = [ax0]
    edges = np.arange(res.t_start, res.t_stop + bin_ms, bin_ms)
    for name in names:
        colour = PALETTE[list(res.populations).index(name) % len(PALETTE)]
        first, n = res.populations[name]
        pr = res.pop(name)
        axes[0].plot(pr.spikes.times, pr.spikes.ids + first, ".", ms=markersize, color=colour,
                     label=f"{name} ({pr.rate:.1f} Hz)", rasterized=True)
        if rate_hist:
            counts, _ = np.histogram(pr.spikes.times, edges)
            axes[1].step(edges[:-1], counts / (n * bin_ms * 1e-3), where="post", color=colour,
                         lw=1.0)
    axes[0].set_ylabel("neuron id")
    axes[0].set_xlim(res.t_start, res.t_stop)
    if names:
        axes[0].legend(loc="upper right", markerscale=8, fontsize=8, framealpha=0.8)
    if rate_hist:
        axes[1].set_ylabel(f"rate (Hz)\n{bin_ms:g} ms bins")
    axes[-1].set_xlabel("time (ms)")
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    return fig, axes


def traces(res, var: str = "v", *, ids=None, ax=None, spikes: bool = True,
           spike_peak: float | None = None, unit: str = "mV", label: str | None = None,
           colour: str | None = None, figsize=(8, 3)):
    """Recorded ``var`` against time for the given global ``ids`` (default: all recorded).

    With ``spikes=True`` and ``spike_peak`` set, each spike is drawn as a vertical line to
    ``spike_peak`` (the reset removes the peak from the sampled trace).
    Returns ``(fig, ax)``.
    """
    plt = _plt()
    if var not in res.state:
        raise ValueError(f"{var!r} was not recorded; recorded: {list(res.state)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    cols = res.state_ids[var]
    ids = cols if ids is None else np.atleast_1d(ids)
    for k, gid in enumerate(ids):
        j = np.flatnonzero(cols == gid)
        if j.size == 0:
            raise ValueError(f"neuron {gid} has no recorded {var!r}")
        c = colour or PALETTE[k % len(PALETTE)]
        y = res.state[var][:, j[0]]
        ax.plot(res.t, y, lw=1.0, color=c, label=label or (f"neuron {gid}" if len(ids) > 1
                                                             else None))
        if spikes and spike_peak is not None:
            st = res.spikes.of(gid)
            if st.size:
                idx = np.clip(np.searchsorted(res.t, st) - 1, 0, len(res.t) - 1)
                ax.vlines(st, y[idx], spike_peak, color=c, lw=1.0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"{var} ({unit})" if unit else var)
    ax.set_xlim(res.t_start, res.t_stop)
    if len(ids) > 1 or label:
        ax.legend(fontsize=8, loc="upper right")
    return fig, ax


def isi_hist(res, *, population=None, bins: int = 50, ax=None, log: bool = False,
             figsize=(5, 3.5)):
    """Histogram of inter-spike intervals (ms), pooled over the neurons of ``population``
    (default: all). Returns ``(fig, ax)``."""
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    if population is None:
        times, ids = res.spikes.times, res.spikes.ids
        colour = PALETTE[0]
    else:
        pr = res.pop(population)
        times, ids = pr.spikes.times, pr.spikes.ids
        colour = PALETTE[list(res.populations).index(pr.name) % len(PALETTE)]
    isis = isi_values(times, ids)
    if isis.size:
        b = np.logspace(np.log10(isis.min()), np.log10(isis.max() + 1e-9), bins) if log else bins
        ax.hist(isis, bins=b, color=colour, alpha=0.85)
        if log:
            ax.set_xscale("log")
    ax.set_xlabel("inter-spike interval (ms)")
    ax.set_ylabel("count")
    ax.set_title(f"ISI ({isis.size} intervals)", fontsize=10)
    return fig, ax


def isi_values(times: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """All inter-spike intervals (ms) of all neurons, concatenated."""
    if times.size < 2:
        return np.zeros(0)
    order = np.lexsort((times, ids))
    t, i = times[order], ids[order]
    same = i[1:] == i[:-1]
    return np.diff(t)[same]
