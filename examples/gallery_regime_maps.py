"""Gallery: regime maps, each computed as ONE heterogeneous population in one compiled run.

1. Conductance neuron (the "tonic_bursting" preset: fast -2 @ 0, slow +2 @ 0, slow
   g_s- @ delta_s-, ultraslow +1.5 @ -1.5) over the slow negative conductance's gain
   g_s- in [-3, 0] and offset delta_s- in [-2.5, 0.5], at the preset's constant current
   I = -2 and at I = -1, from the preset's initial state, 12 s at dt = 0.1 ms (RK4).
2. Fractional Izhikevich neuron (``D^alpha v = 0.04 v^2 + 5 v + 140 - u + I``, only v
   fractional, L1 scheme + SOE memory, dt = 0.02 ms) over the order alpha in [0.6, 1]
   and the amplitude of the step current, for the parameters of the "tonic_bursting" and
   "phasic_bursting" patterns of Izhikevich (2004), for twice the paper's duration (440
   and 400 ms) so that persistence can be judged.  All neurons of these populations
   (alpha = 1 included) go through the fractional scheme.

Each map is labelled by ``fs.classify`` (default criteria); thin black lines are contours
of the firing rate.  Lettered points are shown as spike rasters below each map; a star
marks the preset/pattern itself.

Writes ``gallery_regime_maps_conductance.png`` and ``gallery_regime_maps_izhikevich.png``
to ``--out`` (default examples/output/); ``--quick`` uses coarse grids.

Run: python examples/gallery_regime_maps.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import fracsim as fs  # noqa: E402
from fracsim.analysis import regime_map  # noqa: E402

ORDER = list(fs.plot.REGIME_COLOURS)


def examples(rm) -> list[tuple[int, int]]:
    """One grid point per regime present (silent excepted), the one deepest inside its
    region (distance to other regimes, plus a little to the grid's edge)."""
    ii, jj = np.meshgrid(np.arange(rm.shape[0]) / rm.shape[0],
                         np.arange(rm.shape[1]) / rm.shape[1], indexing="ij")
    edge = np.minimum(np.minimum(ii, ii.max() - ii), np.minimum(jj, jj.max() - jj))
    points = []
    for regime in ORDER:
        mine = rm.labels == regime
        if not mine.any() or regime == "silent":
            continue
        other = ~mine
        if other.any():
            d = np.min(np.hypot(ii[mine][:, None] - ii[other][None, :],
                                jj[mine][:, None] - jj[other][None, :]), axis=1)
        else:
            d = np.zeros(int(mine.sum()))
        k = int(np.argmax(d + 0.3 * edge[mine]))
        points.append((int(np.flatnonzero(mine.ravel())[k] // rm.shape[1]),
                       int(np.flatnonzero(mine.ravel())[k] % rm.shape[1])))
    return points


def draw(fig, cell, rm, title: str, xlabel: str, ylabel: str, star=None) -> None:
    """A regime map (top) and the spike rasters of its lettered example points (bottom)."""
    sub = cell.subgridspec(2, 1, height_ratios=[3.2, 1.0], hspace=0.42)
    ax = fig.add_subplot(sub[0])
    fs.plot.regime_map(rm, ax=ax, title=title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if star is not None:
        ax.plot(*star, marker="*", ms=14, color="white", mec="black", mew=0.8)
    pts = examples(rm)
    ax_r = fig.add_subplot(sub[1])
    for k, (i, j) in enumerate(pts):
        letter = "ABCDEF"[k]
        x, y = rm.values[0][i], rm.values[1][j]
        ax.annotate(letter, (x, y), ha="center", va="center", fontsize=8, weight="bold",
                    bbox=dict(boxstyle="circle,pad=0.15", fc="white", ec="black", lw=0.6))
        times = rm.train(i, j)
        colour = fs.plot.REGIME_COLOURS[rm.labels[i, j]]
        ax_r.vlines(times, k - 0.38, k + 0.38, color=colour, lw=0.9)
    ax_r.set_yticks(range(len(pts)), [f"{'ABCDEF'[k]}: {rm.labels[i, j].replace('_', ' ')}"
                                      for k, (i, j) in enumerate(pts)], fontsize=8)
    ax_r.set_ylim(len(pts) - 0.5, -0.5)
    ax_r.set_xlim(0, rm.t_stop)
    if rm.onset:
        ax_r.axvline(rm.onset, color="#c0392b", lw=0.8, ls="--")
    ax_r.set_xlabel("time (ms)" + (" (dashed: current onset)" if rm.onset else ""))
    ax_r.set_title("spike trains of the lettered points", fontsize=8.5, loc="left")


def conductance(out: Path, quick: bool) -> None:
    n = 9 if quick else 25
    model = fs.Conductance.preset("tonic_bursting")
    pr = fs.Conductance.protocol("tonic_bursting")
    axes = {"slow_neg_gain": np.linspace(-3.0, 0.0, n),
            "slow_neg_offset": np.linspace(-2.5, 0.5, n)}
    fig = plt.figure(figsize=(13.5, 7.2))
    outer = fig.add_gridspec(1, 2, wspace=0.55)
    for col, current in enumerate((pr["amplitude"], -1.0)):
        rm = regime_map(model, axes, current=current, t_stop=pr["t_stop"], dt=0.1,
                        state0=pr["state0"])
        print(f"conductance map at I = {current:g}: {rm.labels.size} neurons, "
              f"{rm.wall_time:.1f} s; " + ", ".join(
                  f"{k} {v:.1%}" for k, v in rm.fractions().items() if v))
        star = (model.slow_neg_gain, model.slow_neg_offset) if current == pr["amplitude"] \
            else None
        draw(fig, outer[col], rm,
             f"({'ab'[col]}) I = {current:g}" + (" (the preset's)" if star else "")
             + f", {n}×{n} neurons, one run of {pr['t_stop'] / 1000:g} s",
             "gain of the slow negative conductance $g_{s-}$",
             r"offset of the slow negative conductance $\delta_{s-}$", star)
    fig.suptitle("Conductance neuron (tonic-bursting preset, ★): firing regime over the slow "
                 "negative conductance", fontsize=12)
    fig.subplots_adjust(left=0.08, right=0.86, top=0.9, bottom=0.08)
    fig.savefig(out / "gallery_regime_maps_conductance.png", dpi=130)
    plt.close(fig)


def izhikevich(out: Path, quick: bool) -> None:
    na, ni = (5, 7) if quick else (17, 25)
    fig = plt.figure(figsize=(13.5, 7.2))
    outer = fig.add_gridspec(1, 2, wspace=0.55)
    for col, name in enumerate(("tonic_bursting", "phasic_bursting")):
        model, proto = fs.Izhikevich.pattern(name)
        axes = {"alpha": np.linspace(0.6, 1.0, na),
                "current": np.linspace(0.0, 2.0 * proto["amplitude"], ni)}
        rm = regime_map(model, axes, onset=proto["onset"], t_stop=2 * proto["t_stop"], dt=0.02,
                        state0={"v0": proto["v0"], "u0": model.b * proto["v0"]},
                        memory=fs.SOE(1e-9), scheme="l1")
        print(f"Izhikevich {name} map: {rm.labels.size} neurons, {rm.wall_time:.1f} s; "
              + ", ".join(f"{k} {v:.1%}" for k, v in rm.fractions().items() if v))
        draw(fig, outer[col], rm,
             f"({'ab'[col]}) '{name}' parameters (a={model.a:g}, b={model.b:g}, "
             f"c={model.c:g}, d={model.d:g})",
             "Caputo order α of the membrane", "step current I (mV/ms)",
             (1.0, proto["amplitude"]))
    fig.suptitle("Fractional Izhikevich neuron: firing regime over the order α and the step "
                 "current (★: Izhikevich 2004 pattern)", fontsize=12)
    fig.subplots_adjust(left=0.08, right=0.86, top=0.9, bottom=0.08)
    fig.savefig(out / "gallery_regime_maps_izhikevich.png", dpi=130)
    plt.close(fig)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "output")
    p.add_argument("--quick", action="store_true", help="coarse grids (seconds)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    izhikevich(args.out, args.quick)
    conductance(args.out, args.quick)
    print(f"figures written to {args.out}")
