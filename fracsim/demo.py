"""``fracsim demo``: the four Izhikevich firing patterns, an E/I network raster, and the
same network with fractional-order excitatory neurons.

Writes ``izhikevich_patterns.png``, ``ei_network_raster.png``, ``ei_network_isi.png``,
``ei_fractional.png`` and ``summary.txt`` into the output folder.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

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
        ax.plot(res.t, -90 + 2.0 * i_t / max(proto["amplitude"], 1e-9) * 5, color="#c0392b",
                lw=1.0)
        ax.set_ylim(-95, 40)
        ax.set_title(f"{title}: a={model.a:g}, b={model.b:g}, c={model.c:g}, d={model.d:g}",
                     fontsize=9)
        ax.text(0.99, 0.03, f"I = {proto['amplitude']:g} from t = {proto['onset']:g} ms",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="#c0392b")
        n = len(res.spikes)
        lines.append(f"  {name:16s} {n:3d} spikes in {proto['t_stop']:g} ms (dt = "
                     f"{proto['dt']} ms)")
    fig.suptitle("Izhikevich (2004) firing patterns, simulated by fracsim "
                 "(input current in red)", fontsize=11)
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


def ei_network(out: Path, seed: int = 1) -> tuple[list[str], float]:
    """Build and run the E/I network; plot raster and ISI; return summary lines and time."""
    import matplotlib.pyplot as plt

    import fracsim as fs

    p = EI
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


def ei_fractional(out: Path, seed: int = 1) -> list[str]:
    """The E/I network with excitatory membranes of order alpha < 1: rasters, rates and
    ISI statistics against alpha; return summary lines."""
    import matplotlib.pyplot as plt

    import fracsim as fs

    p = EI
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


def run_demo(out: str | Path = "fracsim_demo_output", quiet: bool = False) -> Path:
    """Run the demo and write its figures and ``summary.txt`` to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    def say(msg):
        if not quiet:
            print(msg, flush=True)

    say(f"fracsim demo: writing to {out}")
    t0 = time.perf_counter()
    say("  [1/3] Izhikevich (2004) firing patterns ...")
    izh = izhikevich_patterns(out)
    say("  [2/3] E/I network with delays and Poisson drive ...")
    net_lines, _ = ei_network(out)
    say(f"  [3/3] the same network with fractional E neurons, alpha = "
        f"{', '.join(f'{a:g}' for a in FRACTIONAL_ALPHAS)} ...")
    frac_lines = ei_fractional(out)
    total = time.perf_counter() - t0
    summary = "\n".join([
        "fracsim demo summary",
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
        f"total wall time {total:.1f} s",
        "",
    ])
    (out / "summary.txt").write_text(summary)
    say(summary)
    say(f"figures and summary written to {out}")
    return out
