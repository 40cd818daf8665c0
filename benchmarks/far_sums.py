"""Far history sums of a full memory: FFTs between chunks against products only.

Times the forward pass (far sums before every block) and the adjoint pass (transposed
sums and the order term) of :class:`fracsim.fractional.far_sums.FarSums` on ``n``
columns (default 2048, the gradient benchmark's layer: 16 x 128 neurons) for run lengths
``N`` and chunk sizes ``FFT_MIN`` (``inf``: one chunk, i.e. super-block products against
the whole past, the sums before the FFTs).  Rounds alternate the settings; medians.
Writes ``benchmarks/results/far_sums.md`` (and ``.json``).

    python benchmarks/far_sums.py [--steps 1000 4000 16000] [--chunks 1024 2048 4096 inf]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from fracsim.fractional import far_sums as FS
from fracsim.fractional.weights import kernel
from fracsim.grad.alpha import kernel_derivative

NB = 64
OUT = Path(__file__).parent / "results"


def passes(N: int, n: int, chunk: float, coef, dcoef, q) -> tuple[float, float]:  # noqa: N803
    """Wall times (s) of one forward and one adjoint pass with chunks of ``chunk``."""
    FS.FFT_MIN = int(chunk) if np.isfinite(chunk) else 1 << 40
    t0 = time.perf_counter()
    fwd, work = FS.FarSums(coef, N, NB, n), np.zeros((N, n))
    for m0 in range(0, N, NB):
        fwd.forward(work, m0)
        work[m0:m0 + NB] = q[m0:m0 + NB]
    t1 = time.perf_counter()
    adj, out = FS.FarSums(coef, N, NB, n, dcoef=dcoef), np.zeros((NB, n))
    adj.start_adjoint()
    for m0 in range(((N - 1) // NB) * NB, -1, -NB):
        adj.adjoint(q, m0, out)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, nargs="+", default=[1000, 4000, 16000])
    ap.add_argument("--chunks", type=float, nargs="+", default=[1024, 2048, 4096, np.inf])
    ap.add_argument("--columns", type=int, default=2048)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    default = FS.FFT_MIN
    rows, res = [], {}
    for N in args.steps:  # noqa: N806
        coef = kernel("l1", 0.8, N + 1)
        dcoef = kernel_derivative("l1", 0.8, np.arange(N + 1))
        q = np.random.default_rng(0).standard_normal((N, args.columns))
        times = {ch: ([], []) for ch in args.chunks}
        for _ in range(args.rounds):
            for ch in args.chunks:
                f, a = passes(N, args.columns, ch, coef, dcoef, q)
                times[ch][0].append(f)
                times[ch][1].append(a)
        base = times[np.inf] if np.inf in times else None
        for ch in args.chunks:
            f, a = (float(np.median(x)) for x in times[ch])
            res[f"{N}/{ch}"] = {"forward_s": times[ch][0], "adjoint_s": times[ch][1]}
            ratio = (f"{np.median(base[0]) / f:.2f}x / {np.median(base[1]) / a:.2f}x"
                     if base is not None else "-")
            rows.append(f"| {N} | {'inf' if not np.isfinite(ch) else int(ch)} | {f:.3f} | "
                        f"{a:.3f} | {ratio} |")
            print(rows[-1], flush=True)
    FS.FFT_MIN = default
    OUT.mkdir(exist_ok=True)
    md = [
        "# Far history sums: FFTs between chunks vs products only", "",
        f"Columns {args.columns}, blocks of {NB} steps, L1 kernel (alpha 0.8), float64; "
        f"median of {args.rounds} alternating rounds; {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}, FFT workers {FS.FFT_WORKERS}.", "",
        "| N (steps) | chunk FFT_MIN (steps) | forward pass (s) | adjoint pass (s) | "
        "speed-up vs products only (forward / adjoint) |",
        "|---:|---:|---:|---:|---|", *rows, "",
        f"fracsim uses FFT_MIN = {default}; `inf`: one chunk (super-block products against "
        "the whole past).",
    ]
    (OUT / "far_sums.md").write_text("\n".join(md) + "\n")
    (OUT / "far_sums.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
