"""Gallery: Izhikevich's (2004) four firing patterns and their fractional-order versions.

Each pattern (``fs.Izhikevich.pattern(name)``: the paper's a, b, c, d, initial v and step
current) is simulated with a Caputo membrane of order alpha in {1, 0.9, 0.8, 0.7}:

    D^alpha v = 0.04 v^2 + 5 v + 140 - u + I,     du/dt = a (b v - u)

Only ``v`` is fractional (``u`` keeps its ordinary derivative); time is in ms (the
fractional membrane's time constant is implicit, in ms^alpha).  alpha = 1 is the model's
own Euler integrator; alpha < 1 uses the L1 scheme with SOE memory (tol 1e-9), at the same
dt = 0.01 ms.  Each trace is labelled by ``fs.classify``.

Writes ``gallery_izhikevich_fractional.png`` (4 x 4 traces: patterns in rows, alpha in
columns) and ``gallery_izhikevich_fractional_isi.png`` (spike times against alpha) to
``--out`` (default examples/output/).

Run: python examples/gallery_izhikevich_fractional.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import fracsim as fs  # noqa: E402
from fracsim.analysis import classify  # noqa: E402

ALPHAS = (1.0, 0.9, 0.8, 0.7)
PATTERNS = ("tonic_spiking", "phasic_spiking", "tonic_bursting", "phasic_bursting")
DT = 0.01  # ms; the fractional Izhikevich membrane needs dt <= 0.02 ms (stiff near the peak)
ALPHA_COLOURS = {1.0: "#1f4e99", 0.9: "#2e8b57", 0.8: "#d68910", 0.7: "#8e44ad"}


def run(name: str, alpha: float):
    """Simulate pattern ``name`` at order ``alpha``; return (result, model, protocol)."""
    model, proto = fs.Izhikevich.pattern(name)
    model = model.replace(alpha=alpha)
    current = fs.step_current([proto["onset"]], [proto["amplitude"]])
    numerics = dict(memory=fs.SOE(1e-9), scheme="l1") if alpha < 1 else {}
    res = fs.simulate(model, proto["t_stop"], dt=DT, current=current, v0=proto["v0"],
                      u0=model.b * proto["v0"], record=("v",), record_every=5,
                      progress=False, **numerics)
    return res, model, proto


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(PATTERNS), len(ALPHAS), figsize=(13, 9.2), sharey=True)
    runs = {}
    for row, name in enumerate(PATTERNS):
        for col, alpha in enumerate(ALPHAS):
            res, model, proto = run(name, alpha)
            runs[name, alpha] = (res.spikes.times, proto)
            ax = axes[row, col]
            fs.plot.traces(res, "v", ax=ax, spike_peak=model.v_peak,
                           colour=ALPHA_COLOURS[alpha])
            t = res.t
            step = np.where(t >= proto["onset"], 1.0, 0.0)
            ax.plot(t, -92.0 + 8.0 * step, color="#c0392b", lw=1.0)
            label = classify(res.spikes.times, proto["t_stop"], onset=proto["onset"])
            n = len(res.spikes)
            ax.set_title(f"{label.replace('_', ' ')}, {n} spike{'s' if n != 1 else ''}",
                         fontsize=9, loc="right", color="#333333")
            ax.add_patch(plt.Rectangle((1.0, 0.0), 0.018, 1.0, transform=ax.transAxes,
                                       color=fs.plot.REGIME_COLOURS[label], clip_on=False))
            ax.set_ylim(-95, 38)
            ax.set_xlabel("time (ms)" if row == len(PATTERNS) - 1 else "")
            ax.set_ylabel(f"{name.replace('_', ' ')}\nv (mV)" if col == 0 else "")
            if row == 0:
                ax.annotate(f"α = {alpha:g}" + (" (ordinary ODE)" if alpha == 1 else ""),
                            (0.5, 1.22), xycoords="axes fraction", ha="center",
                            fontsize=12, color=ALPHA_COLOURS[alpha])
            if col == 0:
                ax.text(0.02, 0.10, f"I = {proto['amplitude']:g} mV/ms from "
                        f"{proto['onset']:g} ms", transform=ax.transAxes, fontsize=7,
                        color="#c0392b")
    fig.suptitle(r"Izhikevich (2004) patterns with a fractional membrane $D^\alpha v = 0.04v^2"
                 r" + 5v + 140 - u + I$" "\n(only v fractional; L1 scheme + SOE memory, "
                 f"dt = {DT} ms; step current in red; bar at the right: regime colour, "
                 "title: fs.classify)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.96), h_pad=1.2)
    fig.savefig(out / "gallery_izhikevich_fractional.png", dpi=130)
    plt.close(fig)

    # spike times against alpha: one raster row per alpha, one panel per pattern
    fig, axes = plt.subplots(1, len(PATTERNS), figsize=(13, 3.0))
    for ax, name in zip(axes, PATTERNS, strict=True):
        for k, alpha in enumerate(ALPHAS):
            times, proto = runs[name, alpha]
            ax.vlines(times, k - 0.38, k + 0.38, color=ALPHA_COLOURS[alpha], lw=1.2)
        ax.axvline(proto["onset"], color="#c0392b", lw=0.8, ls="--")
        ax.set_yticks(range(len(ALPHAS)), [f"α = {a:g}" for a in ALPHAS])
        ax.set_ylim(len(ALPHAS) - 0.5, -0.5)
        ax.set_xlim(0, proto["t_stop"])
        ax.set_xlabel("time (ms)")
        ax.set_title(name.replace("_", " "), fontsize=10)
    fig.suptitle("Spike times of each pattern as α decreases (dashed: current onset)",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(out / "gallery_izhikevich_fractional_isi.png", dpi=130)
    plt.close(fig)
    for (name, alpha), (times, proto) in runs.items():
        print(f"{name:16s} alpha = {alpha:3g}: {times.size:3d} spikes, "
              f"{classify(times, proto['t_stop'], onset=proto['onset'])}")
    print(f"figures written to {out}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "output")
    main(p.parse_args().out)
