"""Plots of results: raster with rate histogram, state traces, ISI histogram; and of the
analysis layer: I-V curves (:func:`iv`) and regime maps (:func:`regime_map`).

Every function returns the matplotlib Figure and Axes and never calls ``show()``.
Colours follow one palette per population, in population order; I-V curves and regimes
have fixed colours (:data:`IV_COLOURS`, :data:`REGIME_COLOURS`) shared by every figure.
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


# -- analysis plots: I-V curves and regime maps ----------------------------------------------

#: colour of each I-V curve (fastest first), shared by every figure
IV_COLOURS = {"instantaneous": "#7f7f7f", "fast": "#1f4e99", "slow": "#c0392b",
              "ultraslow": "#2e8b57", "steady_state": "#1f4e99"}

#: fixed colour of each firing regime, the same in every regime map
REGIME_COLOURS = {
    "silent": "#e3e3e3",
    "tonic_spiking": "#1f4e99",
    "phasic_spiking": "#8ab4e8",
    "tonic_bursting": "#c0392b",
    "phasic_bursting": "#f0a39b",
    "irregular": "#d68910",
}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) indices of the runs of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def iv(curves, ax=None, *, curves_shown=None, shade: bool = True, units=None,
       title: str | None = None, legend: bool | str = True, figsize=(5, 3.8)):
    """Draw the I-V curves of :func:`fracsim.iv_curves`: current (y) against v (x).

    Each curve's regions of negative slope conductance (``dI/dv < 0``) are shaded in a
    light version of its colour and the curve is drawn thicker there.  ``curves_shown``:
    names to draw (default: all four timescales of a conductance neuron, else the steady
    state).  ``units``: ``{"v": ..., "I": ...}`` (default: those of ``curves``).
    ``legend``: True, False or a matplotlib legend location.  Returns ``(fig, ax)``.
    """
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    v = np.asarray(curves["v"])
    if curves_shown is None:
        timescales = ("instantaneous", "fast", "slow", "ultraslow")
        curves_shown = [c for c in timescales if c in curves] or ["steady_state"]
    units = units or getattr(curves, "units", None) or {"v": "", "I": ""}
    masks = curves.get("negative_slope", {})
    for name in curves_shown:
        if name not in curves:
            raise ValueError(f"no curve {name!r}; have {[k for k in curves if k != 'v']}")
    groups: list[list[str]] = []  # consecutive identical curves are drawn once
    for name in curves_shown:
        if groups and np.array_equal(curves[groups[-1][-1]], curves[name]):
            groups[-1].append(name)
        else:
            groups.append([name])
    for group in groups:
        name = next((g for g in group if g != "instantaneous"), group[0])
        colour = IV_COLOURS.get(name, PALETTE[len(ax.lines) % len(PALETTE)])
        y = np.asarray(curves[name])
        neg = np.asarray(masks.get(name, np.zeros(v.shape, bool)))
        label = " = ".join(g.replace("_", " ") for g in group if g != "instantaneous")
        if "instantaneous" in group:
            label = (label + " = " if label else "") + "instantaneous (τ_f = 0)"
        if neg.any() and len(curves_shown) == 1:
            label += " (shaded: dI/dv < 0)"
        ax.plot(v, y, color=colour, lw=1.6, label=label)
        for a, b in _runs(neg):
            ax.plot(v[a:b + 1], y[a:b + 1], color=colour, lw=3.2, solid_capstyle="butt")
            if shade:
                ax.axvspan(v[a], v[b], color=colour, alpha=0.10, lw=0)
    ax.axhline(0.0, color="#999999", lw=0.6, zorder=0)
    ax.set_xlim(v[0], v[-1])

    def lab(sym, unit):
        return f"{sym} ({unit})" if unit else sym

    ax.set_xlabel(lab("membrane value v" if units.get("v") == "dimensionless" else
                      "membrane potential v", units.get("v", "")))
    ax.set_ylabel(lab("holding current I", units.get("I", "")))
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        if any(np.any(masks.get(c, False)) for c in curves_shown) and len(curves_shown) > 1:
            from matplotlib.patches import Patch

            handles.append(Patch(color="#999999", alpha=0.25, lw=0))
            labels.append("shaded, thick: dI/dv < 0")
        ax.legend(handles, labels, fontsize=8, framealpha=0.85,
                  loc=legend if isinstance(legend, str) else "best")
    if title:
        ax.set_title(title, fontsize=10)
    return fig, ax


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges around (possibly non-uniform) grid values."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def axis_label(name: str, unit: str = "") -> str:
    """Readable axis label of a parameter name with its unit."""
    words = {"neg": "negative", "pos": "positive"}
    pretty = {"alpha": "Caputo order α", "current": "input current I"}.get(
        name, " ".join(words.get(w, w) for w in name.split("_")))
    return f"{pretty} ({unit})" if unit and unit != "1" else pretty


def regime_map(rm, ax=None, *, rate_contours: bool | list = True, legend: bool = True,
               title: str | None = None, figsize=(6, 4.5)):
    """Draw a :class:`fracsim.analysis.RegimeMap` as a categorical image: first axis on x,
    second on y, one fixed colour per regime (:data:`REGIME_COLOURS`), legend listing the
    regimes present (with their share of the grid).  ``rate_contours``: True (automatic
    levels), a list of rates (Hz), or False.  Returns ``(fig, ax)``."""
    plt = _plt()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    names = list(REGIME_COLOURS)
    unknown = set(np.unique(rm.labels)) - set(names)
    if unknown:
        raise ValueError(f"unknown regime labels {sorted(unknown)}")
    codes = np.vectorize(names.index)(rm.labels).astype(float)
    xa, ya = (np.asarray(v) for v in rm.values)
    cmap = ListedColormap([REGIME_COLOURS[r] for r in names])
    ax.pcolormesh(_edges(xa), _edges(ya), codes.T, cmap=cmap, vmin=-0.5,
                  vmax=len(names) - 0.5, shading="flat", rasterized=True)
    if rate_contours is not False and xa.size > 1 and ya.size > 1 and np.ptp(rm.rates) > 0:
        if isinstance(rate_contours, list | tuple | np.ndarray):
            levels = np.asarray(rate_contours, dtype=float)
        else:
            from matplotlib.ticker import MaxNLocator

            top = float(np.max(rm.rates))
            levels = MaxNLocator(nbins=4).tick_values(0.0, top)
            levels = levels[(levels > 0) & (levels < top)]
        if levels.size:
            cs = ax.contour(xa, ya, rm.rates.T, levels=levels, colors="k", linewidths=0.7,
                            alpha=0.8)
            ax.clabel(cs, fontsize=7, fmt=lambda r: f"{r:g} Hz")
    units = getattr(rm, "units", {}) or {}
    ax.set_xlabel(axis_label(rm.axes[0], units.get(rm.axes[0], "")))
    ax.set_ylabel(axis_label(rm.axes[1], units.get(rm.axes[1], "")))
    if legend:
        present = [r for r in names if np.any(rm.labels == r)]
        def share(r):
            f = float(np.mean(rm.labels == r))
            return f"{f:.0%}" if f >= 0.01 or f == 0 else "<1%"

        handles = [Patch(facecolor=REGIME_COLOURS[r], edgecolor="#555555", lw=0.5,
                         label=f"{r.replace('_', ' ')} ({share(r)})") for r in present]
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0, title="regime", title_fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig, ax
