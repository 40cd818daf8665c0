"""``fracsim demo``: the four Izhikevich firing patterns, an E/I network raster, the same
network with fractional-order excitatory neurons, and the firing-regime gallery of
:mod:`fracsim.gallery` (fractional Izhikevich patterns, conductance presets with their I-V
curves, coarse regime maps).

Writes ``izhikevich_patterns.png``, ``ei_network_raster.png``, ``ei_network_isi.png``,
``ei_fractional.png``, ``gallery_izhikevich_fractional.png``,
``gallery_izhikevich_fractional_isi.png``, ``gallery_conductance.png``,
``gallery_regime_maps.png`` and ``summary.txt`` into the output folder (:data:`FIGURES`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .gallery import CURRENT_COLOUR

#: every figure the demo writes
FIGURES = ("izhikevich_patterns.png", "ei_network_raster.png", "ei_network_isi.png",
           "ei_fractional.png", "gallery_izhikevich_fractional.png",
           "gallery_izhikevich_fractional_isi.png", "gallery_conductance.png",
           "gallery_regime_maps.png")

#: grid sizes of the demo's regime maps (conductance n x n; Izhikevich alpha x current),
#: and the coarser ones of ``quick=True``
MAP_SIZES = {"conductance": 13, "izhikevich": (17, 17)}
QUICK_MAP_SIZES = {"conductance": 7, "izhikevich": (5, 5)}
#: biological time of the E/I network runs with ``quick=True`` (ms)
QUICK_EI_T_STOP = 200.0

PATTERN_TITLES = {
    "tonic_spiking": "(A) tonic spiking",
    "phasic_spiking": "(B) phasic spiking",
    "tonic_bursting": "(C) tonic bursting",
    "phasic_bursting": "(D) phasic bursting",
}

# E/I network: leaky integrate-and-fire, current-based exponential synapses,
# heterogeneous delays, Poisson background drive.
EI = dict(n_exc=3200, n_inh=800, p=0.02, tau=20.0, v_rest=-70.0, v_th=-50.0, v_reset=-60.0,
          t_ref=2.0, tau_e=5.0, tau_i=10.0, w_e=0.6, w_i=-3.0, delay=(1.0, 3.0),
          poisson_rate=10.0, poisson_sources=300, poisson_w=1.2, t_stop=1000.0, dt=0.1)


def izhikevich_patterns(out: Path) -> list[str]:
    """Simulate Izhikevich (2004) Fig. 1A-D and plot them; return summary lines."""
    import matplotlib.pyplot as plt

    import fracsim as fs

    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5))
    lines = []
    for ax, (name, title) in zip(axes.ravel(), PATTERN_TITLES.items(), strict=True):
        model, proto = fs.Izhikevich.pattern(name)
        current = fs.step_current([proto["onset"]], [proto["amplitude"]])
        res = fs.simulate(model, proto["t_stop"], dt=proto["dt"], current=current,
                          v0=proto["v0"], record=("v",), progress=False)
        fs.plot.traces(res, "v", ax=ax, spike_peak=model.v_peak, colour="#1f4e99")
        i_t = current(res.t)
        ax.plot(res.t, -90 + 2.0 * i_t / max(proto["amplitude"], 1e-9) * 5,
                color=CURRENT_COLOUR, lw=1.0)
        ax.set_ylim(-95, 40)
        ax.set_title(f"{title}: a={model.a:g}, b={model.b:g}, c={model.c:g}, d={model.d:g}",
                     fontsize=9)
        ax.text(0.99, 0.03, f"I = {proto['amplitude']:g} mV/ms from t = {proto['onset']:g} ms",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=8,
                color=CURRENT_COLOUR)
        n = len(res.spikes)
        lines.append(f"  {name:16s} {n:3d} spikes in {proto['t_stop']:g} ms (dt = "
                     f"{proto['dt']} ms)")
    fig.suptitle("Izhikevich (2004) firing patterns, simulated by fracsim "
                 "(step input current in dark grey)", fontsize=11)
    fig.tight_layout()
    fig.savefig(out / "izhikevich_patterns.png", dpi=130)
    plt.close(fig)
    return lines


def build_ei(seed: int = 1, alpha_exc: float = 1.0):
    """The E/I network of :data:`EI`; excitatory membranes of order ``alpha_exc`` (SOE
    memory, tol 1e-9, reset "shift"), with ``tau_E = tau^alpha`` (ms^alpha) so that the
    characteristic time ``tau_E^(1/alpha)`` stays ``tau`` and only the memory changes.
    Returns ``(net, E, I, t_build)``."""
    import fracsim as fs

    p = EI
    net = fs.Network(dt=p["dt"], seed=seed)
    lif = fs.LIF(tau=p["tau"], v_rest=p["v_rest"], v_th=p["v_th"], v_reset=p["v_reset"],
                 t_ref=p["t_ref"])
    rng = np.random.default_rng(seed)
    exc = lif.replace(alpha=alpha_exc, tau=p["tau"] ** alpha_exc)
    E = net.population(exc, p["n_exc"], name="E",
                       v0=rng.uniform(p["v_reset"], p["v_th"], p["n_exc"]))
    inh = net.population(lif, p["n_inh"], name="I",
                         v0=rng.uniform(p["v_reset"], p["v_th"], p["n_inh"]))
    exc_syn, inh_syn = fs.ExpSynapse(p["tau_e"]), fs.ExpSynapse(p["tau_i"])
    t0 = time.perf_counter()
    for src, w, syn in ((E, p["w_e"], exc_syn), (inh, p["w_i"], inh_syn)):
        for dst in (E, inh):
            net.connect(src, dst, p=p["p"], weight=w, delay=p["delay"], synapse=syn)
    for pop in (E, inh):
        net.poisson(pop, rate=p["poisson_rate"], weight=p["poisson_w"],
                    n_sources=p["poisson_sources"], synapse=exc_syn)
    return net, E, inh, time.perf_counter() - t0


def ei_network(out: Path, seed: int = 1, t_stop: float | None = None
               ) -> tuple[list[str], float]:
    """Build and run the E/I network (for ``t_stop`` ms, default ``EI["t_stop"]``); plot
    raster and ISI; return summary lines and time."""
    import matplotlib.pyplot as plt

    import fracsim as fs

    p = dict(EI, t_stop=EI["t_stop"] if t_stop is None else t_stop)
    net, E, inh, t_build = build_ei(seed)
    t0 = time.perf_counter()
    res = net.run(p["t_stop"], record={"spikes": [E, inh], "v": E[:3]}, progress=False)
    t_run = time.perf_counter() - t0
    fig, axes = fs.plot.raster(res, title=(
        f"E/I network: {p['n_exc']} E + {p['n_inh']} I LIF, p = {p['p']}, delays "
        f"{p['delay'][0]:g}-{p['delay'][1]:g} ms, Poisson drive"))
    fig.savefig(out / "ei_network_raster.png", dpi=130)
    plt.close(fig)
    fig, ax = fs.plot.isi_hist(res, population="E", bins=60)
    fig.tight_layout()
    fig.savefig(out / "ei_network_isi.png", dpi=130)
    plt.close(fig)
    rates = res.rates()
    isis = fs.plot.isi_values(res.pop("E").spikes.times, res.pop("E").spikes.ids)
    cv = float(np.std(isis) / np.mean(isis)) if isis.size > 1 else float("nan")
    n_syn = sum(pr.n for pr in net.projections)
    lines = [
        f"  neurons {net.n}, synapses {n_syn}, build {t_build:.2f} s, "
        f"run of {p['t_stop']:g} ms (incl. compile on first use) {t_run:.2f} s",
        f"  rate E {rates['E']:.2f} Hz, rate I {rates['I']:.2f} Hz, "
        f"spikes {len(res.spikes)}, CV(ISI) of E {cv:.2f}",
    ]
    return lines, t_run


FRACTIONAL_ALPHAS = (1.0, 0.9, 0.8, 0.7)


def ei_fractional(out: Path, seed: int = 1, t_stop: float | None = None) -> list[str]:
    """The E/I network with excitatory membranes of order alpha < 1 (for ``t_stop`` ms,
    default ``EI["t_stop"]``): rasters, rates and ISI statistics against alpha; return
    summary lines."""
    import matplotlib.pyplot as plt

    import fracsim as fs

    p = dict(EI, t_stop=EI["t_stop"] if t_stop is None else t_stop)
    n_show = (400, 100)  # E and I neurons shown in the rasters
    fig = plt.figure(figsize=(11, 7.5))
    grid = fig.add_gridspec(len(FRACTIONAL_ALPHAS), 2, width_ratios=[3, 1.3])
    stats = []
    lines = []
    for row, alpha in enumerate(FRACTIONAL_ALPHAS):
        net, E, inh, _ = build_ei(seed, alpha)
        t0 = time.perf_counter()
        res = net.run(p["t_stop"], record={"spikes": [E, inh]}, progress=False)
        t_run = time.perf_counter() - t0
        ax = fig.add_subplot(grid[row, 0])
        for k, (name, shown) in enumerate(zip(("E", "I"), n_show, strict=True)):
            pr = res.pop(name)
            keep = pr.spikes.ids < shown
            offset = 0 if name == "E" else n_show[0]
            ax.plot(pr.spikes.times[keep], pr.spikes.ids[keep] + offset, ".", ms=1.2,
                    color=fs.plot.PALETTE[k], rasterized=True)
        rates = res.rates()
        isis = fs.plot.isi_values(res.pop("E").spikes.times, res.pop("E").spikes.ids)
        cv = float(np.std(isis) / np.mean(isis)) if isis.size > 1 else float("nan")
        stats.append((alpha, rates["E"], rates["I"], cv))
        ax.set_xlim(0, p["t_stop"])
        ax.set_ylabel(f"α = {alpha:g}\nneuron")
        ax.set_yticks([])
        ax.set_title(f"E {rates['E']:.1f} Hz, I {rates['I']:.1f} Hz, CV(ISI) of E {cv:.2f}",
                     loc="right", fontsize=8)
        if row == 0:
            ax.set_title(f"E/I network, excitatory LIF of Caputo order α\n({n_show[0]} E in "
                         f"blue, {n_show[1]} I in red shown; SOE memory)", fontsize=10,
                         loc="left")
        if row < len(FRACTIONAL_ALPHAS) - 1:
            ax.set_xticklabels([])
        lines.append(f"  alpha_E = {alpha:4g}: rate E {rates['E']:6.2f} Hz, rate I "
                     f"{rates['I']:6.2f} Hz, CV(ISI) of E {cv:.2f}, run {t_run:.2f} s")
    fig.axes[-1].set_xlabel("time (ms)")
    st = np.array(stats)
    ax_r = fig.add_subplot(grid[:2, 1])
    ax_r.plot(st[:, 0], st[:, 1], "o-", color=fs.plot.PALETTE[0], label="E")
    ax_r.plot(st[:, 0], st[:, 2], "s-", color=fs.plot.PALETTE[1], label="I")
    ax_r.set_ylabel("mean rate (Hz)")
    ax_r.legend(fontsize=8)
    ax_r.invert_xaxis()
    ax_c = fig.add_subplot(grid[2:, 1], sharex=ax_r)
    ax_c.plot(st[:, 0], st[:, 3], "o-", color=fs.plot.PALETTE[0])
    ax_c.set_ylabel("CV of E inter-spike intervals")
    ax_c.set_xlabel("Caputo order α of E membranes")
    fig.tight_layout()
    fig.savefig(out / "ei_fractional.png", dpi=130)
    plt.close(fig)
    return lines


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=130)
    plt.close(fig)


def gallery_izhikevich(out: Path) -> list[str]:
    """The four Izhikevich patterns at alpha = 1, 0.9, 0.8, 0.7 (:mod:`fracsim.gallery`);
    return summary lines (spikes and regime of each pattern and order)."""
    from . import gallery

    runs = gallery.izhikevich_runs()
    _save(gallery.izhikevich_fractional_figure(runs), out / "gallery_izhikevich_fractional.png")
    _save(gallery.izhikevich_spike_times_figure(runs),
          out / "gallery_izhikevich_fractional_isi.png")
    return [f"  {name:16s} alpha = {alpha:<3g}: {run.n_spikes:3d} spikes, {run.label}"
            for (name, alpha), run in runs.items()]


def gallery_conductance(out: Path) -> list[str]:
    """The conductance presets under their protocols beside their I-V curves
    (:mod:`fracsim.gallery`); return summary lines (spikes and regime of each preset)."""
    from . import gallery

    runs = gallery.conductance_runs()
    _save(gallery.conductance_figure(runs), out / "gallery_conductance.png")
    return [f"  {name:16s} {run.n_spikes:3d} spikes in {run.protocol['t_stop']:g} ms "
            f"(dt = {run.protocol['dt']:g} ms), fs.classify: {run.label}"
            for name, run in runs.items()]


def gallery_maps(out: Path, quick: bool = False) -> list[str]:
    """Coarse regime maps (:mod:`fracsim.gallery`): the conductance neuron over the slow
    negative conductance's (gain, offset) and the fractional Izhikevich neuron
    ("tonic_bursting" parameters) over (alpha, step current); return summary lines (grid,
    regimes found, the label of the preset / pattern itself)."""
    from . import gallery
    from .models import Conductance

    sizes = QUICK_MAP_SIZES if quick else MAP_SIZES
    current = Conductance.protocol("tonic_bursting")["amplitude"]
    cond = gallery.conductance_map(sizes["conductance"], current=current)
    izh = gallery.izhikevich_map("tonic_bursting", *sizes["izhikevich"])
    panels = [gallery.conductance_panel(cond, current, "a"),
              gallery.izhikevich_panel(izh, "tonic_bursting", "b")]
    _save(gallery.regime_maps_figure(
        panels, "Firing-regime maps, each grid one population in one compiled run (★: the "
        "preset / pattern itself)\n(a) conductance neuron, tonic-bursting preset; (b) "
        "fractional Izhikevich neuron, Izhikevich (2004) tonic-bursting parameters"),
        out / "gallery_regime_maps.png")
    cs, zs = gallery.conductance_star(), gallery.izhikevich_star("tonic_bursting")
    return [
        f"  conductance, tonic_bursting preset, I = {current:g}: {gallery.map_summary(cond)}",
        f"  conductance preset itself {cs}: {gallery.label_at(cond, cs)}",
        f"  fractional Izhikevich, tonic_bursting parameters: {gallery.map_summary(izh)}",
        f"  Izhikevich pattern itself {zs}: {gallery.label_at(izh, zs)}",
    ]


def run_demo(out: str | Path = "fracsim_demo_output", quiet: bool = False,
             quick: bool = False) -> Path:
    """Run the demo and write its figures (:data:`FIGURES`) and ``summary.txt`` to ``out``.

    ``quick=True`` (for the tests) runs every part through the same code with shorter E/I
    network runs (:data:`QUICK_EI_T_STOP`) and coarser regime maps
    (:data:`QUICK_MAP_SIZES`)."""
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    def say(msg):
        if not quiet:
            print(msg, flush=True)

    def timed(func, *args, **kwargs):
        t = time.perf_counter()
        value = func(*args, **kwargs)
        return value, time.perf_counter() - t

    ei_t_stop = QUICK_EI_T_STOP if quick else None
    sizes = QUICK_MAP_SIZES if quick else MAP_SIZES
    say(f"fracsim demo: writing to {out}" + (" (quick)" if quick else ""))
    t0 = time.perf_counter()
    say("  [1/6] Izhikevich (2004) firing patterns ...")
    izh = izhikevich_patterns(out)
    say("  [2/6] E/I network with delays and Poisson drive ...")
    net_lines, _ = ei_network(out, t_stop=ei_t_stop)
    say(f"  [3/6] the same network with fractional E neurons, alpha = "
        f"{', '.join(f'{a:g}' for a in FRACTIONAL_ALPHAS)} ...")
    frac_lines = ei_fractional(out, t_stop=ei_t_stop)
    say("  [4/6] gallery: Izhikevich patterns with a fractional membrane, alpha = "
        "1, 0.9, 0.8, 0.7 ...")
    gal_izh, t_izh = timed(gallery_izhikevich, out)
    say("  [5/6] gallery: conductance neuron presets with their I-V curves ...")
    gal_cond, t_cond = timed(gallery_conductance, out)
    n_izh = "x".join(str(k) for k in sizes["izhikevich"])
    say(f"  [6/6] gallery: regime maps (conductance {sizes['conductance']}x"
        f"{sizes['conductance']}, fractional Izhikevich {n_izh}) ...")
    gal_maps, t_maps = timed(gallery_maps, out, quick)
    total = time.perf_counter() - t0
    summary = "\n".join([
        "fracsim demo summary" + (" (quick: short E/I runs, coarse maps)" if quick else ""),
        "",
        "Izhikevich (2004) firing patterns (izhikevich_patterns.png):",
        *izh,
        "",
        "E/I network (ei_network_raster.png, ei_network_isi.png):",
        *net_lines,
        "",
        "E/I network with fractional-order E membranes (ei_fractional.png):",
        *frac_lines,
        "",
        "Izhikevich patterns with a fractional membrane, L1 + SOE memory, dt = 0.01 ms "
        "(gallery_izhikevich_fractional.png, gallery_izhikevich_fractional_isi.png):",
        *gal_izh,
        f"  wall time {t_izh:.2f} s",
        "",
        "Conductance neuron presets with their I-V curves (gallery_conductance.png):",
        *gal_cond,
        f"  wall time {t_cond:.2f} s",
        "",
        "Regime maps, each grid one population in one compiled run "
        "(gallery_regime_maps.png):",
        *gal_maps,
        f"  wall time {t_maps:.2f} s",
        "",
        f"total wall time {total:.1f} s",
        "",
    ])
    (out / "summary.txt").write_text(summary)
    say(summary)
    say(f"figures and summary written to {out}")
    return out
