"""Gallery: the multi-timescale conductance neuron's presets, each with its I-V curves.

    tau_m dv/dt = -(v - v_rest) + R I - R sum_j g_j tanh(v_{x_j} - delta_j)
    tau_x dv_x/dt = v - v_x          (x = fast (tau_f = 0: instantaneous), slow, ultraslow)

For every preset (``fs.Conductance.preset(name)``) the protocol of
``fs.Conductance.protocol(name)`` (baseline current, step to ``amplitude`` at ``onset``,
initial state) is simulated and shown beside the fast, slow and ultraslow I-V curves of
``fs.iv_curves`` (Ribar & Sepulchre 2019), with the applied currents as horizontal lines:
an equilibrium is where the steady-state (ultraslow) curve meets the applied current, and
the negative-slope (shaded) regions of the fast and slow curves are the sources of
spiking and bursting.  The model is dimensionless; time in ms (tau_m = 1 ms).  The runs
and the figure are ``fracsim.gallery``'s (the same as in ``fracsim demo``).

Writes ``gallery_conductance.png`` to ``--out`` (default examples/output/).

Run: python examples/gallery_conductance.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fracsim import gallery  # noqa: E402


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    runs = gallery.conductance_runs()  # {preset: PresetRun}
    fig = gallery.conductance_figure(runs)
    fig.savefig(out / "gallery_conductance.png", dpi=130)
    plt.close(fig)
    for name, run in runs.items():
        print(f"{name:16s} {run.n_spikes:3d} spikes in {run.protocol['t_stop']:g} ms: "
              f"{run.label}")
    print(f"figure written to {out / 'gallery_conductance.png'}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "output")
    main(p.parse_args().out)
