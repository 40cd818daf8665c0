"""Size, accuracy and build time of the SOE kernels (``fracsim.fractional.soe``).

For every scheme, ``alpha`` in {0.3, 0.5, 0.7, 0.9}, ``tol`` in {1e-6, 1e-9} and
``n_max`` in {1e4, 1e6} it reports:

* ``K`` (exponentials), ``k0`` (exact window) and the measured max relative error of the
  tail over every lag ``k0 < k <= n_max`` (the module's own dense check, re-done here);
* the build time (best of 3 uncached builds, ms; the machine is shared, so best-of);
* ``K quad``: nodes of the verified, pruned reference quadrature (what compression saves);
* ``hist``: ``max_n |Ĥ[n] - H[n]| / (tol Σ_k c_k |q[n-k]|)`` for a random increment
  sequence with jumps over all ``n <= n_max`` (must be <= 1): the SOE recurrence evaluated
  by ``scipy.signal.lfilter``, the direct sum by FFT convolution (rounding ~1e-15 of
  ``Σ c |q|``, far below the bound).

A second table sweeps the exact window ``k0`` at ``tol = 1e-9``, ``n_max = 1e6`` and lists
``K`` and the per-step cost ``2K + k0`` (multiply-adds per neuron), which fixed the default.

Run: ``python3 validation/soe_kernel.py`` (about a minute); writes
``validation/results/soe_kernel.md``.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve, lfilter

from fracsim.fractional import SCHEMES, build_soe_kernel, kernel, kernel_at, soe

ALPHAS = (0.3, 0.5, 0.7, 0.9)
TOLS = (1e-6, 1e-9)
N_MAXES = (10**4, 10**6)
K0_SWEEP = (0, 1, 2, 3, 4, 8, 16)
OUT = Path(__file__).parent / "results" / "soe_kernel.md"


def dense_error(fit) -> float:
    """max |ĉ_k - c_k| / c_k over every k0 < k <= n_max, evaluated here independently."""
    err = 0.0
    for start in range(fit.k0 + 1, fit.n_max + 1, 2**16):
        k = np.arange(start, min(start + 2**16, fit.n_max + 1), dtype=np.float64)
        err = max(err, float(np.max(np.abs(fit.values(k) / kernel_at(fit.scheme, fit.alpha, k)
                                           - 1.0))))
    return err


def history_ratio(fit, rng) -> float:
    """max_n |Ĥ[n] - H[n]| / (tol Σ_k c_k |q[n-k]|) over n = 1..n_max."""
    n = fit.n_max
    q = rng.standard_normal(n) * rng.uniform(0.1, 10.0, n)
    q[rng.integers(0, n, 50)] += 30.0  # jumps, like resets
    c = kernel(fit.scheme, fit.alpha, n)
    cz = c.copy()
    cz[0] = 0.0
    direct = fftconvolve(q, cz)[:n]
    bound = fit.tol * fftconvolve(np.abs(q), cz)[:n]
    h = np.zeros(n)
    for k in range(1, fit.k0 + 1):  # exact window
        h[k:] += fit.exact[k - 1] * q[:-k]
    shift = fit.k0 + 1  # U_j[n] = Σ_{k>k0} λ^k q[n-k]: an IIR filter on q delayed by k0+1
    for lam, beta in zip(fit.decay, fit.weight, strict=True):
        u = lfilter([lam**shift], [1.0, -lam], q[: n - shift])
        h[shift:] += beta * u
    return float(np.max(np.abs(h - direct)[1:] / bound[1:]))  # H[0] = 0 exactly


def quadrature_size(scheme: str, alpha: float, n_max: int, tol: float, k0: int) -> int:
    """Nodes of the pruned reference quadrature (the uncompressed fallback)."""
    m, n_tail = k0 + 1, n_max - k0 - 1
    s, w = soe._reference_nodes(scheme, alpha, m, n_tail)
    s, _ = soe._prune(scheme, alpha, m, n_tail, soe._stored(s), w, 0.25 * tol)
    return int(s.size)


def main() -> None:
    rng = np.random.default_rng(2024)
    rows = [
        "| scheme | alpha | tol | n_max | K | k0 | max rel error | build ms | K quad | hist |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    worst = 0.0
    for scheme in SCHEMES:
        for alpha in ALPHAS:
            for tol in TOLS:
                for n_max in N_MAXES:
                    times = []
                    for _ in range(3):
                        t0 = time.perf_counter()
                        fit = build_soe_kernel(scheme, alpha, n_max, tol)
                        times.append(time.perf_counter() - t0)
                    err = dense_error(fit)
                    assert err <= tol and abs(err - fit.max_rel_error) <= 1e-3 * err, fit
                    hist = history_ratio(fit, rng)
                    assert hist <= 1.0, (fit, hist)
                    worst = max(worst, hist)
                    k_quad = quadrature_size(scheme, alpha, n_max, tol, fit.k0)
                    row = (
                        f"| {scheme} | {alpha} | {tol:.0e} | {n_max:.0e} | {fit.K} | {fit.k0} "
                        f"| {err:.2e} | {1e3 * min(times):.0f} | {k_quad} | {hist:.2f} |"
                    )
                    print(row, flush=True)
                    rows.append(row)
    sweep = [
        "| scheme | alpha | " + " | ".join(f"k0={k0}" for k0 in K0_SWEEP) + " |",
        "|---|---|" + "---|" * len(K0_SWEEP),
    ]
    for scheme in SCHEMES:
        for alpha in (0.3, 0.5, 0.9):
            cells = []
            for k0 in K0_SWEEP:
                if scheme == "pi_trap" and k0 == 0:
                    cells.append("-")
                    continue
                fit = build_soe_kernel(scheme, alpha, 10**6, 1e-9, k0)
                cells.append(f"{fit.K} / {2 * fit.K + k0}")
            line = f"| {scheme} | {alpha} | " + " | ".join(cells) + " |"
            print(line, flush=True)
            sweep.append(line)
    text = "\n".join(
        [
            "# SOE kernels: size, accuracy, build time",
            "",
            "Generated by `python3 validation/soe_kernel.py` "
            f"(Python {platform.python_version()}, NumPy {np.__version__}, "
            f"{platform.machine()}).",
            "",
            "Tail `c_k ≈ Σ_j β_j λ_j^k` for `k0 < k <= n_max`; `max rel error` is "
            "`max_k |ĉ_k - c_k| / c_k` over every such k; `build ms` the best of 3 uncached "
            "builds (fit + dense verification); `K quad` the size of the pruned reference "
            "quadrature (Gauss–Jacobi + dyadic Gauss–Legendre, ~1e-14 accurate, not tuned "
            "to tol: the fallback); "
            "`hist` = `max_n |Ĥ[n] - H[n]| / (tol Σ_k c_k |q[n-k]|)` on a random increment "
            "sequence with jumps, over all n <= n_max (the bound says <= 1).",
            "",
            *rows,
            "",
            f"Largest `hist` ratio: {worst:.2f}.",
            "",
            "## Exact window k0 (tol = 1e-9, n_max = 1e6): K / per-step cost 2K + k0",
            "",
            *sweep,
            "",
            "The cost is flat within about ±2 for k0 = 0..4 and grows beyond; the default is "
            "k0 = 2 (pi_trap needs k0 >= 1).",
            "",
        ]
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
