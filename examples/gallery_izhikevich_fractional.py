"""Gallery: Izhikevich's (2004) four firing patterns and their fractional-order versions.

Each pattern (``fs.Izhikevich.pattern(name)``: the paper's a, b, c, d, initial v and step
current) is simulated with a Caputo membrane of order alpha in {1, 0.9, 0.8, 0.7}:

    D^alpha v = 0.04 v^2 + 5 v + 140 - u + I,     du/dt = a (b v - u)

Only ``v`` is fractional (``u`` keeps its ordinary derivative); time is in ms (the
fractional membrane's time constant is implicit, in ms^alpha).  alpha = 1 is the model's
own Euler integrator; alpha < 1 uses the L1 scheme with SOE memory (tol 1e-9), at the same
dt = 0.01 ms.  Each trace is labelled by ``fs.classify``.  The runs and figures are
``fracsim.gallery``'s (the same as in ``fracsim demo``).

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

from fracsim import gallery  # noqa: E402


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    runs = gallery.izhikevich_runs()  # {(pattern, alpha): PatternRun}
    for fig, name in ((gallery.izhikevich_fractional_figure(runs),
                       "gallery_izhikevich_fractional.png"),
                      (gallery.izhikevich_spike_times_figure(runs),
                       "gallery_izhikevich_fractional_isi.png")):
        fig.savefig(out / name, dpi=130)
        plt.close(fig)
    for (name, alpha), run in runs.items():
        print(f"{name:16s} alpha = {alpha:3g}: {run.n_spikes:3d} spikes, {run.label}")
    print(f"figures written to {out}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "output")
    main(p.parse_args().out)
