"""Peak memory of the network adjoint against the number of steps, per memory strategy.

A feed-forward network: ``In`` (``n_in`` integer-order LIF neurons driven by a fixed
random spike pattern) -> ``H`` (``n_hidden`` LIF neurons: fractional with ``fs.SOE()``, with
``fs.FullMemory()``, or integer order; "adlif-soe", "adlif-integer": AdLIF neurons, stepped
by the generic differentiable step) -> ``O`` (16 integer-order LIF neurons), exponential
synapses with delays; loss: MSE of ``O``'s ``v`` against a sinusoid (summed block by block:
no recorded trajectory).  ``fs.grad.value_and_grad`` with respect to ``H.tau``,
``H.alpha`` (fractional), ``In->H.weight`` and ``H->O.weight``; hard spikes, sigmoid
surrogate.

Reported per run: the peak of the memory NumPy allocates during ``value_and_grad``
(``tracemalloc``: deterministic, the network and the loss's target built beforehand) and
that peak in units of one trajectory of ``H`` (``N x n_hidden`` float64: what a
backpropagation through time keeps per state variable).  The checkpointed adjoint keeps
per block of 64 steps the state of every population with an adjoint; an SOE population's
increments are regenerated per segment of ``L ~ sqrt(N (K + W))`` steps from its tail
states, so its memory grows like ``sqrt(N)``; a full memory's increments are the
simulation's own state (``N x n`` floats, needed by the forward pass itself).  Writes
``benchmarks/results/gradient_memory.md`` (and ``.json``).

    python benchmarks/gradient_memory.py [--steps 1000 4000 16000] [--hidden 256]
"""

from __future__ import annotations

import argparse
import json
import platform
import tracemalloc
from pathlib import Path

import numpy as np

import fracsim as fs

OUT = Path(__file__).parent / "results"
DT = 0.5
MEMORIES = ("soe", "full", "integer", "adlif-soe", "adlif-integer")


def problem(memory: str, steps: int, n_hidden: int = 256, n_in: int = 32, seed: int = 0):
    """``(net, t_stop, loss, params)`` of the benchmark network (module docstring)."""
    rng = np.random.default_rng(seed)
    net = fs.Network(dt=DT, seed=seed, scheme="l1")
    lif = dict(v_rest=-65.0, v_th=-50.0, v_reset=-65.0)
    pattern = (rng.random((steps, n_in)) < 0.05) * 40.0
    inp = net.population(fs.LIF(tau=1.0, **lif), n_in, name="In", v0=-65.0,
                         current=fs.TimedArray(pattern, DT))
    model = fs.AdLIF if memory.startswith("adlif") else fs.LIF
    extra = dict(tau_w=30.0, a=0.2, b=1.0) if model is fs.AdLIF else {}
    if memory.endswith("integer"):
        hid = net.population(model(tau=10.0, **lif, **extra), n_hidden, name="H",
                             v0=rng.uniform(-65, -55, n_hidden))
    else:
        mem = fs.SOE() if memory.endswith("soe") else fs.FullMemory()
        hid = net.population(model(tau=10.0 ** 0.8, alpha=0.8, **lif, **extra), n_hidden,
                             name="H", v0=rng.uniform(-65, -55, n_hidden), memory=mem)
    out = net.population(fs.LIF(tau=8.0, **lif), 16, name="O", v0=-65.0)
    net.connect(inp, hid, p=0.3, weight=lambda g, n: g.uniform(3, 9, n),
                delay=(0.5, 2.0), synapse=fs.ExpSynapse(tau=5.0))
    net.connect(hid, out, p=0.3, weight=lambda g, n: g.uniform(0, 2, n),
                delay=1.0, synapse=fs.ExpSynapse(tau=3.0))
    target = -60 + 5 * np.sin(np.arange(steps)[:, None] * 0.02 + np.arange(16))
    params = ["H.tau", "In->H.weight", "H->O.weight"]
    params += [] if memory.endswith("integer") else ["H.alpha"]
    params += ["H.a"] if model is fs.AdLIF else []
    return net, steps * DT, fs.grad.loss.mse(target, on="O.v"), params


def peak_bytes(memory: str, steps: int, n_hidden: int = 256) -> tuple[int, float]:
    """``(peak bytes NumPy allocated during value_and_grad, the loss)``."""
    net, t_stop, loss, params = problem(memory, steps, n_hidden)
    sur = fs.surrogate.Sigmoid(width=5.0)
    tracemalloc.start()
    try:
        val, _ = fs.grad.value_and_grad(net, params, loss, t_stop, surrogate=sur)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, val


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, nargs="+", default=[1000, 4000, 16000])
    ap.add_argument("--hidden", type=int, default=256)
    args = ap.parse_args()
    peak_bytes("soe", 200, 8)  # compile
    res, rows = {}, []
    for memory in MEMORIES:
        for steps in args.steps:
            peak, val = peak_bytes(memory, steps, args.hidden)
            traj = steps * args.hidden * 8
            res[f"{memory}/{steps}"] = dict(peak_bytes=peak, trajectory_bytes=traj, loss=val)
            rows.append(f"| {memory} | {steps} | {peak / 2**20:.2f} | {peak / traj:.3f} |")
            print(rows[-1], flush=True)
    table = "\n".join(["| memory of H | steps N | peak (MiB) | peak / trajectory of H |",
                       "|---|---:|---:|---:|", *rows])
    pivot = "\n".join(
        ["| steps T | " + " | ".join(MEMORIES) + " |", "|---:|" + "---:|" * len(MEMORIES)]
        + [f"| {steps} | " + " | ".join(
            f"{res[f'{m}/{steps}']['peak_bytes'] / 2**20:.1f} MiB "
            f"({res[f'{m}/{steps}']['peak_bytes'] / (steps * args.hidden * 8):.2f})"
            for m in MEMORIES) + " |" for steps in args.steps])
    OUT.mkdir(exist_ok=True)
    text = (f"# Peak memory of the network adjoint\n\n`python benchmarks/gradient_memory.py "
            f"--steps {' '.join(map(str, args.steps))} --hidden {args.hidden}` "
            f"({platform.python_version()}, numpy {np.__version__}); peak NumPy allocation "
            f"(tracemalloc) during `fs.grad.value_and_grad`, and in units of one trajectory "
            f"of the hidden layer (`N x {args.hidden}` float64).\n\n{table}\n\nThe same, peak "
            f"(peak / trajectory of H):\n\n{pivot}\n")
    (OUT / "gradient_memory.md").write_text(text)
    (OUT / "gradient_memory.json").write_text(json.dumps(res, indent=1))
    print(text)


if __name__ == "__main__":
    main()
