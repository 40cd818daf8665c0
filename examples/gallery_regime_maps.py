"""Gallery: regime maps, each computed as ONE heterogeneous population in one compiled run.

1. Conductance neuron (the "tonic_bursting" preset: fast -2 @ 0, slow +2 @ 0, slow
   g_s- @ delta_s-, ultraslow +1.5 @ -1.5) over the slow negative conductance's gain
   g_s- in [-3, 0] and offset delta_s- in [-2.5, 0.5], at the preset's constant current
   I = -2 and at I = -1, from the preset's initial state, 12 s at dt = 0.1 ms (the model's
   explicit midpoint integrator).
2. Fractional Izhikevich neuron (``D^alpha v = 0.04 v^2 + 5 v + 140 - u + I``, only v
   fractional, L1 scheme + SOE memory, dt = 0.02 ms) over the order alpha in [0.6, 1]
   and the amplitude of the step current, for the parameters of the "tonic_bursting" and
   "phasic_bursting" patterns of Izhikevich (2004), for twice the paper's duration (440
   and 400 ms) so that persistence can be judged.  All neurons of these populations
   (alpha = 1 included) go through the fractional scheme.

Each map is labelled by ``fs.classify`` (default criteria); thin black lines are contours
of the firing rate.  Lettered points are shown as spike rasters below each map; a star
marks the preset/pattern itself.  The maps and figures are ``fracsim.gallery``'s
(``fracsim demo`` draws a coarse version of one map of each kind).

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

from fracsim import gallery  # noqa: E402


def report(what: str, rm) -> None:
    print(f"{what}: {rm.labels.size} neurons, {rm.wall_time:.1f} s; " + ", ".join(
        f"{k} {v:.1%}" for k, v in rm.fractions().items() if v))


def conductance(out: Path, quick: bool) -> None:
    n = 7 if quick else 25  # n = 1 mod 6: the preset itself is a grid point
    panels = []
    for letter, current in zip("ab", (-2.0, -1.0), strict=True):
        rm = gallery.conductance_map(n, current=current)
        report(f"conductance map at I = {current:g}", rm)
        panels.append(gallery.conductance_panel(rm, current, letter))
    fig = gallery.regime_maps_figure(
        panels, "Conductance neuron (tonic-bursting preset, ★): firing regime over the slow "
        "negative conductance")
    fig.savefig(out / "gallery_regime_maps_conductance.png", dpi=130)
    plt.close(fig)


def izhikevich(out: Path, quick: bool) -> None:
    na, ni = (5, 7) if quick else (17, 25)
    panels = []
    for letter, name in zip("ab", ("tonic_bursting", "phasic_bursting"), strict=True):
        rm = gallery.izhikevich_map(name, na, ni)
        report(f"Izhikevich {name} map", rm)
        panels.append(gallery.izhikevich_panel(rm, name, letter))
    fig = gallery.regime_maps_figure(
        panels, "Fractional Izhikevich neuron: firing regime over the order α and the step "
        "current (★: Izhikevich 2004 pattern)")
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
