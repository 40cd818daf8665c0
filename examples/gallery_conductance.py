"""Gallery: the multi-timescale conductance neuron's presets, each with its I-V curves.

    tau_m dv/dt = -(v - v_rest) + R I - R sum_j g_j tanh(v_{x_j} - delta_j)
    tau_x dv_x/dt = v - v_x          (x = fast (tau_f = 0: instantaneous), slow, ultraslow)

For every preset (``fs.Conductance.preset(name)``) the protocol of
``fs.Conductance.protocol(name)`` (baseline current, step to ``amplitude`` at ``onset``,
initial state) is simulated and shown beside the fast, slow and ultraslow I-V curves of
``fs.iv_curves`` (Ribar & Sepulchre 2019), with the applied currents as horizontal lines:
an equilibrium is where the steady-state (ultraslow) curve meets the applied current, and
the negative-slope (shaded) regions of the fast and slow curves are the sources of
spiking and bursting.  The model is dimensionless; time in ms (tau_m = 1 ms).

Writes ``gallery_conductance.png`` to ``--out`` (default examples/output/).

Run: python examples/gallery_conductance.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import fracsim as fs  # noqa: E402
from fracsim.analysis import classify, iv_curves  # noqa: E402
from fracsim.models.conductance import PRESETS  # noqa: E402

V = np.linspace(-3.0, 3.0, 601)
FILTER_COLOURS = {"v_s": fs.plot.IV_COLOURS["slow"], "v_us": fs.plot.IV_COLOURS["ultraslow"]}


def describe(model) -> str:
    """The current terms as 'timescale g @ delta'."""
    parts = [f"{ts} {getattr(model, f'{n}_gain'):+g} @ {getattr(model, f'{n}_offset'):g}"
             for n, ts in model.terms]
    return ", ".join(parts)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    names = list(PRESETS)
    fig = plt.figure(figsize=(13, 3.6 * len(names)))
    outer = fig.add_gridspec(len(names), 2, width_ratios=[2.6, 1], hspace=0.42,
                             wspace=0.18)
    for row, name in enumerate(names):
        model = fs.Conductance.preset(name)
        pr = fs.Conductance.protocol(name)
        every = max(1, int(round(1.0 / pr["dt"])))  # sample every ~1 ms
        res = fs.simulate(model, pr["t_stop"], dt=pr["dt"], current=pr["current"],
                          record=("v", "v_s", "v_us"), record_every=every, progress=False,
                          **pr["state0"])
        label = classify(res.spikes.times, pr["t_stop"], onset=pr["onset"])
        inner = outer[row, 0].subgridspec(2, 1, height_ratios=[4.2, 1.0], hspace=0.08)
        ax = fig.add_subplot(inner[0])
        ax_i = fig.add_subplot(inner[1], sharex=ax)
        ax.plot(res.t, res.state["v"][:, 0], color="#1f4e99", lw=0.8, label="v")
        for var, colour in FILTER_COLOURS.items():
            ax.plot(res.t, res.state[var][:, 0], color=colour, lw=1.3, alpha=0.9,
                    label=f"{var} (filtered v)")
        ax.set_xlim(0, pr["t_stop"])
        ax.set_ylim(-5.2, 4.0)
        ax.set_ylabel("v (dimensionless)")
        ax.tick_params(labelbottom=False)
        ax.set_title(f"({'abc'[row]}) preset '{name}': {len(res.spikes)} spikes, "
                     f"fs.classify → {label.replace('_', ' ')}\nterms: {describe(model)}",
                     loc="left", fontsize=9.5)
        ax.legend(fontsize=8, loc="lower right", ncol=3, framealpha=0.9)
        ax_i.plot(res.t, pr["current"](res.t), color="#c0392b", lw=1.2)
        lo, hi = sorted((pr["baseline"], pr["amplitude"]))
        ax_i.set_ylim(lo - 0.4 - 0.2 * (hi - lo), hi + 0.4 + 0.2 * (hi - lo))
        ax_i.set_ylabel("applied I", color="#c0392b", fontsize=8)
        ax_i.set_yticks(sorted({pr["baseline"], pr["amplitude"]}))
        ax_i.set_xlabel("time (ms)", labelpad=1)

        curves = iv_curves(model, V)
        ax_iv = fig.add_subplot(outer[row, 1])
        fs.plot.iv(curves, ax=ax_iv, curves_shown=["fast", "slow", "ultraslow"],
                   legend="lower right")
        levels = {pr["baseline"]: "#7f7f7f", pr["amplitude"]: "#c0392b"}
        for level, colour in levels.items():
            ax_iv.axhline(level, color=colour, ls="--", lw=0.9)
        ax_iv.text(0.02, 0.96, "dashed: applied I" + (" (grey: before onset)"
                                                      if len(levels) > 1 else ""),
                   transform=ax_iv.transAxes, fontsize=7, va="top", color="#c0392b")
        ax_iv.set_ylim(-4.5, 4.5)
        if row < len(names) - 1:
            ax_iv.set_xlabel("")
        ax_iv.set_title("I-V curves (fs.iv_curves)", fontsize=10)
    fig.suptitle("Multi-timescale conductance neuron presets (Ribar & Sepulchre 2019 "
                 "circuit): traces and I-V curves", fontsize=12)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.93, bottom=0.05, wspace=0.18)
    fig.savefig(out / "gallery_conductance.png", dpi=130)
    plt.close(fig)
    print(f"figure written to {out / 'gallery_conductance.png'}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "output")
    main(p.parse_args().out)
