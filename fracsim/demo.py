"""``fracsim demo``: the four Izhikevich firing patterns and an E/I network raster.

Writes ``izhikevich_patterns.png``, ``ei_network_raster.png``, ``ei_network_isi.png`` and
``summary.txt`` into the output folder.
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


def ei_network(out: Path, seed: int = 1) -> tuple[list[str], float]:
    """Build and run the E/I network; plot raster and ISI; return summary lines and time."""
    import matplotlib.pyplot as plt

    import fracsim as fs

    p = EI
    net = fs.Network(dt=p["dt"], seed=seed)
    lif = fs.LIF(tau=p["tau"], v_rest=p["v_rest"], v_th=p["v_th"], v_reset=p["v_reset"],
                 t_ref=p["t_ref"])
    rng = np.random.default_rng(seed)
    E = net.population(lif, p["n_exc"], name="E",
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
    t_build = time.perf_counter() - t0
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
    say("  [1/2] Izhikevich (2004) firing patterns ...")
    izh = izhikevich_patterns(out)
    say("  [2/2] E/I network with delays and Poisson drive ...")
    net_lines, _ = ei_network(out)
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
        f"total wall time {total:.1f} s",
        "",
    ])
    (out / "summary.txt").write_text(summary)
    say(summary)
    say(f"figures and summary written to {out}")
    return out
