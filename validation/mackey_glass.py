"""Mackey-Glass prediction one and six samples ahead: conductance vs LIF vs AdLIF, 5 seeds.

The task, models and training are those of ``examples/mackey_glass.py`` (its constants: 16
neurons, 400 training and 200 test samples, 5 steps of 0.1 ms per sample, Adam with learning
rate 0.02 for 150 full-batch iterations on W_in, b_in and the linear readout of v, adjoint
gradients).  Each seed draws a new initialisation of W_in, b_in, W_out; the series is the same.
Reported per model and horizon (``examples/mackey_glass.py``'s HORIZONS: x(t + 1) and
x(t + 6), each predicted directly from the present): test NRMSE and spike sparsity (spikes per
neuron per simulation step), mean ± std over the seeds, and the wall time per run.

Run: ``python3 validation/mackey_glass.py [--quick] [--out DIR]`` (full: 30 training runs;
``--quick``: 2 seeds, 8 neurons, 100/50 samples, 10 iterations, a smoke test).  Writes
``mackey_glass.md`` to DIR (default ``validation/results``).
"""

from __future__ import annotations

import importlib.util

import numpy as np
from _common import ROOT, cmdline, environment, md_table, parse_args, write_report

SEEDS = (0, 1, 2, 3, 4)


def _example():
    spec = importlib.util.spec_from_file_location("mackey_glass_example",
                                                  ROOT / "examples" / "mackey_glass.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> None:
    args = parse_args(__doc__, argv)
    ex = _example()
    if args.quick:
        seeds, kw = SEEDS[:2], dict(n=8, n_train=100, n_test=50, iters=10)
    else:
        seeds, kw = SEEDS, {}
    rows = []
    for horizon, kind in ((h, k) for h in ex.HORIZONS for k in ex.MODELS):
        runs = [ex.run(kind, seed=s, verbose=False, horizon=horizon, **kw) for s in seeds]
        for r in runs:
            print(f"{kind:12s} +{horizon} seed {r['seed']}: NRMSE {r['nrmse']:.4f}, sparsity "
                  f"{r['sparsity']:.5f}, train MSE {r['losses'][0]:.4f} -> "
                  f"{r['losses'][-1]:.4f}, {r['seconds']:.1f} s")
        nr = np.array([r["nrmse"] for r in runs])
        sp = np.array([r["sparsity"] for r in runs])
        tm = np.array([r["seconds"] for r in runs])
        fin = np.array([r["losses"][-1] for r in runs])
        rows.append([kind, str(horizon), f"{nr.mean():.4f} ± {nr.std():.4f}",
                     f"{sp.mean():.5f} ± {sp.std():.5f}",
                     f"{fin.mean():.4f}", f"{tm.mean():.1f}"])
    n = kw.get("n", ex.N_NEURONS)
    text = "\n".join([
        "# Mackey-Glass prediction one and six samples ahead (tau = 17)",
        "",
        f"One population of {n} neurons, input I = u W_in + b_in, linear readout of v; Adam on "
        f"W_in, b_in, W_out, b_out with adjoint gradients; mean ± std over seeds {list(seeds)}"
        + (" (--quick: reduced sizes, not the reference table)" if args.quick else "") + ".",
        "",
        md_table(["model", "samples ahead", "test NRMSE", "spikes / neuron / step",
                  "final train MSE",
                  "s per run"], rows),
        "",
        f"Command: `{cmdline('mackey_glass.py', args.quick, args.out)}`.  {environment()}.",
    ])
    write_report(args.out, "mackey_glass", text)


if __name__ == "__main__":
    main()
