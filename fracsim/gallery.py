r"""The firing-regime gallery: figures shared by ``examples/gallery_*.py`` and ``fracsim demo``.

Three families, each a *run* function returning plain data and a *figure* function
drawing that data and returning the matplotlib Figure (never shown, never saved here):

* **Fractional Izhikevich patterns** (:func:`izhikevich_runs`,
  :func:`izhikevich_fractional_figure`, :func:`izhikevich_spike_times_figure`): the four
  patterns of Izhikevich (2004) with a Caputo membrane of order alpha,
  ``D^alpha v = 0.04 v^2 + 5 v + 140 - u + I``, ``du/dt = a (b v - u)`` (only ``v``
  fractional; alpha = 1 is the model's own integrator, alpha < 1 the L1 scheme with SOE
  memory, tol 1e-9, at the same dt).
* **Conductance presets** (:func:`conductance_runs`, :func:`conductance_figure`): each
  preset of :class:`fracsim.Conductance` under its protocol, beside its fast / slow /
  ultraslow I-V curves (Ribar & Sepulchre 2019).
* **Regime maps** (:func:`conductance_map`, :func:`izhikevich_map`,
  :func:`regime_maps_figure`): a grid of parameters, each point one neuron of ONE
  population simulated in one compiled run (:func:`fracsim.regime_map`), with the spike
  trains of one lettered example point per regime below the map.

Colours are fixed across all figures: regimes by :data:`fracsim.plot.REGIME_COLOURS`,
I-V curves and filtered voltages by :data:`fracsim.plot.IV_COLOURS`, Caputo orders by
:data:`ALPHA_COLOURS`, applied current by :data:`CURRENT_COLOUR`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import plot as fsplot
from .analysis import RegimeMap, classify, iv_curves, regime_map
from .inputs import step_current
from .models import Conductance, Izhikevich
from .models.conductance import PRESETS
from .simulate import simulate

#: Caputo orders of the fractional Izhikevich gallery, and their colours
ALPHAS = (1.0, 0.9, 0.8, 0.7)
ALPHA_COLOURS = {1.0: "#1f4e99", 0.9: "#2e8b57", 0.8: "#d68910", 0.7: "#8e44ad"}
#: Izhikevich (2004) Fig. 1A-D
PATTERNS = ("tonic_spiking", "phasic_spiking", "tonic_bursting", "phasic_bursting")
#: step of the fractional Izhikevich runs (ms): the fractional membrane is stiff near the
#: peak and needs dt <= 0.02 ms
IZH_DT = 0.01
#: the applied current, in every figure (its level before a step: :data:`CURRENT_BEFORE`)
CURRENT_COLOUR = "#333333"
CURRENT_BEFORE = "#9a9a9a"
#: membrane variable of the conductance neuron and its filtered copies
TRACE_COLOURS = {"v": "#1f4e99", "v_s": fsplot.IV_COLOURS["slow"],
                 "v_us": fsplot.IV_COLOURS["ultraslow"]}
#: the grid of the conductance regime map (slow negative conductance: gain, offset)
COND_GAIN = (-3.0, 0.0)
COND_OFFSET = (-2.5, 0.5)
LETTERS = "ABCDEF"


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _pretty(label: str) -> str:
    return label.replace("_", " ")


# -- fractional Izhikevich patterns ----------------------------------------------------------


@dataclass(frozen=True)
class PatternRun:
    """One Izhikevich pattern at one order: the result (``v`` recorded), the model (with
    ``alpha``), the protocol of :meth:`fracsim.Izhikevich.pattern` and the regime label."""

    name: str
    alpha: float
    result: object
    model: Izhikevich
    protocol: dict
    label: str

    @property
    def n_spikes(self) -> int:
        return len(self.result.spikes)


def izhikevich_run(name: str, alpha: float, dt: float = IZH_DT,
                   record_every: int = 5) -> PatternRun:
    """Simulate Izhikevich pattern ``name`` with a membrane of order ``alpha``."""
    model, proto = Izhikevich.pattern(name)
    model = model.replace(alpha=alpha)
    current = step_current([proto["onset"]], [proto["amplitude"]])
    if alpha < 1:
        from .fractional.memory import SOE

        numerics = dict(memory=SOE(1e-9), scheme="l1")
    else:
        numerics = {}
    res = simulate(model, proto["t_stop"], dt=dt, current=current, v0=proto["v0"],
                   u0=model.b * proto["v0"], record=("v",), record_every=record_every,
                   progress=False, **numerics)
    label = classify(res.spikes.times, proto["t_stop"], onset=proto["onset"])
    return PatternRun(name, float(alpha), res, model, proto, label)


def izhikevich_runs(patterns=PATTERNS, alphas=ALPHAS, dt: float = IZH_DT
                    ) -> dict[tuple[str, float], PatternRun]:
    """Every pattern at every order: ``{(pattern, alpha): PatternRun}``."""
    return {(name, float(a)): izhikevich_run(name, a, dt) for name in patterns for a in alphas}


def _grid(runs):
    patterns = list(dict.fromkeys(k[0] for k in runs))
    alphas = list(dict.fromkeys(k[1] for k in runs))
    return patterns, alphas


def izhikevich_fractional_figure(runs: dict[tuple[str, float], PatternRun]):
    """Patterns in rows, orders in columns: ``v`` (mV) against time (ms), each trace
    coloured by its order, the step current below it, the label of :func:`fracsim.classify`
    in the title and its regime colour as a bar at the right."""
    plt = _plt()
    patterns, alphas = _grid(runs)
    dt = next(iter(runs.values())).result.dt
    fig, axes = plt.subplots(len(patterns), len(alphas), figsize=(13, 2.3 * len(patterns) + 0.6),
                             sharey=True, squeeze=False)
    for row, name in enumerate(patterns):
        for col, alpha in enumerate(alphas):
            run = runs[name, alpha]
            res, proto, ax = run.result, run.protocol, axes[row, col]
            fsplot.traces(res, "v", ax=ax, spike_peak=run.model.v_peak,
                          colour=ALPHA_COLOURS.get(alpha, fsplot.PALETTE[col]))
            step = np.where(res.t >= proto["onset"], 1.0, 0.0)
            ax.plot(res.t, -92.0 + 8.0 * step, color=CURRENT_COLOUR, lw=1.0)
            n = run.n_spikes
            ax.set_title(f"{_pretty(run.label)}, {n} spike{'s' if n != 1 else ''}",
                         fontsize=9, loc="right", color="#333333")
            ax.add_patch(plt.Rectangle((1.0, 0.0), 0.018, 1.0, transform=ax.transAxes,
                                       color=fsplot.REGIME_COLOURS[run.label], clip_on=False))
            ax.set_ylim(-95, 38)
            ax.set_xlabel("time (ms)" if row == len(patterns) - 1 else "")
            ax.set_ylabel(f"{_pretty(name)}\nv (mV)" if col == 0 else "")
            if row == 0:
                ax.annotate(f"α = {alpha:g}" + (" (ordinary ODE)" if alpha == 1 else ""),
                            (0.5, 1.22), xycoords="axes fraction", ha="center",
                            fontsize=12, color=ALPHA_COLOURS.get(alpha, "k"))
            if col == 0:
                ax.text(0.02, 0.10, f"I = {proto['amplitude']:g} mV/ms from "
                        f"{proto['onset']:g} ms", transform=ax.transAxes, fontsize=7,
                        color=CURRENT_COLOUR)
    fig.suptitle(r"Izhikevich (2004) patterns with a fractional membrane $D^\alpha v = "
                 r"0.04v^2 + 5v + 140 - u + I$" "\n(only v fractional; L1 scheme + SOE "
                 f"memory, dt = {dt:g} ms; step current in grey below each trace; title and "
                 "bar at the right: regime by fs.classify)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.96), h_pad=1.2)
    return fig


def izhikevich_spike_times_figure(runs: dict[tuple[str, float], PatternRun]):
    """One panel per pattern, one raster row per order: how the spike times move as alpha
    decreases (dashed: current onset)."""
    plt = _plt()
    patterns, alphas = _grid(runs)
    fig, axes = plt.subplots(1, len(patterns), figsize=(13, 3.0), squeeze=False)
    for ax, name in zip(axes[0], patterns, strict=True):
        for k, alpha in enumerate(alphas):
            run = runs[name, alpha]
            ax.vlines(run.result.spikes.times, k - 0.38, k + 0.38,
                      color=ALPHA_COLOURS.get(alpha, fsplot.PALETTE[k]), lw=1.2)
        proto = runs[name, alphas[0]].protocol
        ax.axvline(proto["onset"], color=CURRENT_COLOUR, lw=0.8, ls="--")
        ax.set_yticks(range(len(alphas)), [f"α = {a:g}" for a in alphas])
        ax.set_ylim(len(alphas) - 0.5, -0.5)
        ax.set_xlim(0, proto["t_stop"])
        ax.set_xlabel("time (ms)")
        ax.set_title(_pretty(name), fontsize=10)
    fig.suptitle("Spike times of each Izhikevich pattern as the Caputo order α decreases "
                 "(dashed: current onset)", fontsize=11)
    fig.tight_layout()
    return fig


# -- conductance presets ---------------------------------------------------------------------


@dataclass(frozen=True)
class PresetRun:
    """One conductance preset under its protocol: the result (``v``, ``v_s``, ``v_us``
    recorded about every ms), the model, the protocol of :meth:`fracsim.Conductance.protocol`,
    the regime label and the I-V curves on :data:`IV_V`."""

    name: str
    result: object
    model: Conductance
    protocol: dict
    label: str
    curves: dict

    @property
    def n_spikes(self) -> int:
        return len(self.result.spikes)


#: membrane values of the conductance I-V curves (dimensionless)
IV_V = np.linspace(-3.0, 3.0, 601)


def conductance_run(name: str) -> PresetRun:
    """Simulate preset ``name`` under its own protocol, classify it and compute its I-V
    curves."""
    model = Conductance.preset(name)
    pr = Conductance.protocol(name)
    every = max(1, int(round(1.0 / pr["dt"])))  # sample every ~1 ms
    res = simulate(model, pr["t_stop"], dt=pr["dt"], current=pr["current"],
                   record=("v", "v_s", "v_us"), record_every=every, progress=False,
                   **pr["state0"])
    label = classify(res.spikes.times, pr["t_stop"], onset=pr["onset"])
    return PresetRun(name, res, model, pr, label, iv_curves(model, IV_V))


def conductance_runs(names=None) -> dict[str, PresetRun]:
    """Every preset of :data:`fracsim.models.conductance.PRESETS` (or ``names``)."""
    return {name: conductance_run(name) for name in (names or list(PRESETS))}


def describe_terms(model: Conductance) -> str:
    """The current terms of a conductance model as 'timescale gain @ offset'."""
    return ", ".join(f"{ts} {getattr(model, f'{n}_gain'):+g} @ {getattr(model, f'{n}_offset'):g}"
                     for n, ts in model.terms)


def conductance_figure(runs: dict[str, PresetRun]):
    """One row per preset: ``v`` and its slow / ultraslow filtered copies against time with
    the applied current below, and the fast / slow / ultraslow I-V curves beside (the
    applied currents as dashed lines: an equilibrium is where the ultraslow curve meets
    them; the shaded negative-slope regions are the sources of spiking and bursting)."""
    plt = _plt()
    fig = plt.figure(figsize=(13, 3.6 * len(runs) + 0.4))
    outer = fig.add_gridspec(len(runs), 2, width_ratios=[2.6, 1], hspace=0.45, wspace=0.18)
    for row, run in enumerate(runs.values()):
        res, pr, model = run.result, run.protocol, run.model
        inner = outer[row, 0].subgridspec(2, 1, height_ratios=[4.2, 1.0], hspace=0.08)
        ax = fig.add_subplot(inner[0])
        ax_i = fig.add_subplot(inner[1], sharex=ax)
        ax.plot(res.t, res.state["v"][:, 0], color=TRACE_COLOURS["v"], lw=0.8,
                label="v (membrane)")
        for var, name in (("v_s", "slow"), ("v_us", "ultraslow")):
            ax.plot(res.t, res.state[var][:, 0], color=TRACE_COLOURS[var], lw=1.3,
                    alpha=0.9, label=f"{var} ({name} filter of v)")
        ax.axhline(model.v_spike, color="#999999", lw=0.6, ls=":", zorder=0)
        ax.set_xlim(0, pr["t_stop"])
        ax.set_ylim(-5.2, 4.0)
        ax.set_ylabel("v (dimensionless)")
        ax.tick_params(labelbottom=False)
        ax.set_title(f"({'abcdefgh'[row]}) preset '{run.name}': {run.n_spikes} spikes "
                     f"(upward crossings of v = {model.v_spike:g}, dotted), fs.classify → "
                     f"{_pretty(run.label)}\nterms: {describe_terms(model)}",
                     loc="left", fontsize=9.5)
        ax.legend(fontsize=8, loc="lower right", ncol=3, framealpha=0.9)
        ax_i.plot(res.t, pr["current"](res.t), color=CURRENT_COLOUR, lw=1.2)
        lo, hi = sorted((pr["baseline"], pr["amplitude"]))
        ax_i.set_ylim(lo - 0.4 - 0.2 * (hi - lo), hi + 0.4 + 0.2 * (hi - lo))
        ax_i.set_ylabel("applied I\n(dimensionless)", fontsize=7)
        ax_i.set_yticks(sorted({pr["baseline"], pr["amplitude"]}))
        ax_i.set_xlabel("time (ms)", labelpad=1)

        ax_iv = fig.add_subplot(outer[row, 1])
        fsplot.iv(run.curves, ax=ax_iv, curves_shown=["fast", "slow", "ultraslow"],
                  legend="lower right")
        stepped = pr["baseline"] != pr["amplitude"]
        if stepped:
            ax_iv.axhline(pr["baseline"], color=CURRENT_BEFORE, ls="--", lw=0.9)
        ax_iv.axhline(pr["amplitude"], color=CURRENT_COLOUR, ls="--", lw=0.9)
        ax_iv.text(0.02, 0.96, "dashed: applied I" + (" (light: before onset)" if stepped
                                                      else ""),
                   transform=ax_iv.transAxes, fontsize=7, va="top", color=CURRENT_COLOUR)
        ax_iv.set_ylim(-4.5, 4.5)
        if row < len(runs) - 1:
            ax_iv.set_xlabel("")
        ax_iv.set_title("I-V curves (fs.iv_curves)", fontsize=10)
    fig.suptitle("Multi-timescale conductance neuron presets (Ribar & Sepulchre 2019 "
                 "circuit; dimensionless, τ_m = 1 ms): traces and I-V curves", fontsize=12)
    fig.subplots_adjust(left=0.06, right=0.98, top=1 - 0.95 / fig.get_figheight(),
                        bottom=0.45 / fig.get_figheight(), wspace=0.18)
    return fig


# -- regime maps -----------------------------------------------------------------------------


def conductance_map(n: int = 25, current: float | None = None, t_stop: float | None = None,
                    dt: float = 0.1) -> RegimeMap:
    """Regime map of the "tonic_bursting" conductance preset over the slow negative
    conductance's gain (:data:`COND_GAIN`) and offset (:data:`COND_OFFSET`), ``n`` x ``n``
    points, constant ``current`` (default: the preset's), from the preset's initial state,
    for ``t_stop`` ms (default: the preset's protocol, 12 s).  ``n`` = 1 mod 6 (7, 13, 19,
    25, ...) puts the preset itself, (-1.5, -1.5), on the grid."""
    pr = Conductance.protocol("tonic_bursting")
    axes = {"slow_neg_gain": np.linspace(*COND_GAIN, n),
            "slow_neg_offset": np.linspace(*COND_OFFSET, n)}
    return regime_map(Conductance.preset("tonic_bursting"), axes,
                      current=pr["amplitude"] if current is None else current,
                      t_stop=pr["t_stop"] if t_stop is None else t_stop, dt=dt,
                      state0=pr["state0"])


def conductance_star() -> tuple[float, float]:
    """(slow_neg_gain, slow_neg_offset) of the "tonic_bursting" preset."""
    m = Conductance.preset("tonic_bursting")
    return float(m.slow_neg_gain), float(m.slow_neg_offset)


def izhikevich_map(name: str = "tonic_bursting", n_alpha: int = 17, n_current: int = 25,
                   alpha_min: float = 0.6, duration: float = 2.0, dt: float = 0.02
                   ) -> RegimeMap:
    """Regime map of the fractional Izhikevich neuron with the parameters of pattern
    ``name``, over alpha in [``alpha_min``, 1] and the step current's amplitude in
    [0, 2 x the pattern's], for ``duration`` times the pattern's length (L1 + SOE 1e-9; all
    neurons, alpha = 1 included, go through the fractional scheme).  ``n_current`` odd
    puts the pattern's own amplitude on the grid."""
    from .fractional.memory import SOE

    model, proto = Izhikevich.pattern(name)
    axes = {"alpha": np.linspace(alpha_min, 1.0, n_alpha),
            "current": np.linspace(0.0, 2.0 * proto["amplitude"], n_current)}
    return regime_map(model, axes, onset=proto["onset"], t_stop=duration * proto["t_stop"],
                      dt=dt, state0={"v0": proto["v0"], "u0": model.b * proto["v0"]},
                      memory=SOE(1e-9), scheme="l1")


def izhikevich_star(name: str = "tonic_bursting") -> tuple[float, float]:
    """(alpha, current) of Izhikevich's pattern ``name``."""
    return 1.0, float(Izhikevich.pattern(name)[1]["amplitude"])


def label_at(rm: RegimeMap, point: tuple[float, float]) -> str | None:
    """The label of the grid point equal to ``point`` (None if it is not on the grid)."""
    i = np.flatnonzero(np.isclose(rm.values[0], point[0]))
    j = np.flatnonzero(np.isclose(rm.values[1], point[1]))
    return str(rm.labels[i[0], j[0]]) if i.size and j.size else None


def example_points(rm: RegimeMap) -> list[tuple[int, int]]:
    """One grid point per regime present (silent excepted), the one deepest inside its
    region (distance to the other regimes, plus a little to the grid's edge)."""
    ii, jj = np.meshgrid(np.arange(rm.shape[0]) / rm.shape[0],
                         np.arange(rm.shape[1]) / rm.shape[1], indexing="ij")
    edge = np.minimum(np.minimum(ii, ii.max() - ii), np.minimum(jj, jj.max() - jj))
    points = []
    for regime in fsplot.REGIME_COLOURS:
        mine = rm.labels == regime
        if not mine.any() or regime == "silent":
            continue
        other = ~mine
        if other.any():
            d = np.min(np.hypot(ii[mine][:, None] - ii[other][None, :],
                                jj[mine][:, None] - jj[other][None, :]), axis=1)
        else:
            d = np.zeros(int(mine.sum()))
        k = int(np.flatnonzero(mine.ravel())[int(np.argmax(d + 0.3 * edge[mine]))])
        points.append(divmod(k, rm.shape[1]))
    return points


@dataclass(frozen=True)
class MapPanel:
    """One regime map to draw: the map, its title, axis labels (None: from the map's axis
    names and units) and the point marked with a star (None: no star)."""

    rm: RegimeMap
    title: str
    xlabel: str | None = None
    ylabel: str | None = None
    star: tuple[float, float] | None = None


def draw_map(fig, cell, panel: MapPanel) -> None:
    """A regime map (top) and the spike rasters of its lettered example points (bottom)
    into the gridspec ``cell`` of ``fig``."""
    rm = panel.rm
    sub = cell.subgridspec(2, 1, height_ratios=[3.2, 1.0], hspace=0.42)
    ax = fig.add_subplot(sub[0])
    fsplot.regime_map(rm, ax=ax, title=panel.title)
    if panel.xlabel:
        ax.set_xlabel(panel.xlabel)
    if panel.ylabel:
        ax.set_ylabel(panel.ylabel)
    if panel.star is not None:
        ax.plot(*panel.star, marker="*", ms=14, color="white", mec="black", mew=0.8)
    pts = example_points(rm)
    ax_r = fig.add_subplot(sub[1])
    for k, (i, j) in enumerate(pts):
        xy = (rm.values[0][i], rm.values[1][j])
        on_star = panel.star is not None and np.allclose(xy, panel.star)
        ax.annotate(LETTERS[k], xy, xytext=(-11, -11) if on_star else (0, 0),
                    textcoords="offset points", ha="center", va="center", fontsize=8,
                    weight="bold",
                    bbox=dict(boxstyle="circle,pad=0.15", fc="white", ec="black", lw=0.6))
        ax_r.vlines(rm.train(i, j), k - 0.38, k + 0.38,
                    color=fsplot.REGIME_COLOURS[rm.labels[i, j]], lw=0.9)
    ax_r.set_yticks(range(len(pts)), [f"{LETTERS[k]}: {_pretty(rm.labels[i, j])}"
                                      for k, (i, j) in enumerate(pts)], fontsize=8)
    ax_r.set_ylim(len(pts) - 0.5, -0.5)
    ax_r.set_xlim(0, rm.t_stop)
    if rm.onset:
        ax_r.axvline(rm.onset, color=CURRENT_COLOUR, lw=0.8, ls="--")
    ax_r.set_xlabel("time (ms)" + (" (dashed: current onset)" if rm.onset else ""))
    ax_r.set_title("spike trains of the lettered points", fontsize=8.5, loc="left")


def regime_maps_figure(panels: list[MapPanel], suptitle: str):
    """The ``panels`` side by side (:func:`draw_map`), under ``suptitle``."""
    plt = _plt()
    fig = plt.figure(figsize=(6.75 * len(panels), 7.2))
    outer = fig.add_gridspec(1, len(panels), wspace=0.55)
    for k, panel in enumerate(panels):
        draw_map(fig, outer[k], panel)
    fig.suptitle(suptitle, fontsize=12)
    fig.subplots_adjust(left=0.08, right=0.86, top=0.9 - 0.035 * suptitle.count("\n"),
                        bottom=0.08)
    return fig


#: axis labels of the conductance map (the model is dimensionless)
COND_XLABEL = r"gain of the slow negative conductance $g_{s-}$ (dimensionless)"
COND_YLABEL = r"offset of the slow negative conductance $\delta_{s-}$ (dimensionless)"
IZH_XLABEL = "Caputo order α of the membrane"
IZH_YLABEL = "step current I (mV/ms)"


def conductance_panel(rm: RegimeMap, current: float, letter: str = "a") -> MapPanel:
    """The panel of a :func:`conductance_map` at constant ``current`` (star: the preset,
    when ``current`` is the preset's own)."""
    own = current == Conductance.protocol("tonic_bursting")["amplitude"]
    return MapPanel(rm, f"({letter}) I = {current:g}" + (" (the preset's)" if own else "")
                    + f", {rm.shape[0]}×{rm.shape[1]} neurons, one run of "
                    f"{rm.t_stop / 1000:g} s", COND_XLABEL, COND_YLABEL,
                    conductance_star() if own else None)


def izhikevich_panel(rm: RegimeMap, name: str, letter: str = "a") -> MapPanel:
    """The panel of an :func:`izhikevich_map` of pattern ``name`` (star: the pattern)."""
    m = Izhikevich.pattern(name)[0]
    return MapPanel(rm, f"({letter}) '{name}' parameters (a={m.a:g}, b={m.b:g}, c={m.c:g}, "
                    f"d={m.d:g}), {rm.shape[0]}×{rm.shape[1]} neurons", IZH_XLABEL,
                    IZH_YLABEL, izhikevich_star(name))


def map_summary(rm: RegimeMap) -> str:
    """'<grid>, <t_stop>, wall: regime fractions' in one line."""
    fr = ", ".join(f"{k} {v:.1%}" for k, v in rm.fractions().items() if v)
    return (f"{rm.axes[0]} x {rm.axes[1]}: {rm.shape[0]} x {rm.shape[1]} points, "
            f"{rm.t_stop:g} ms at dt = {rm.dt:g} ms, one run {rm.wall_time:.2f} s; {fr}")
