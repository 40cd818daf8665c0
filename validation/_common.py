"""Shared helpers of the accuracy-validation scripts in ``validation/``.

Used by ``fractional_convergence.py``, ``memory_strategies.py``, ``spike_times.py`` and
``reset_semantics.py``: the command line (``--quick``, ``--out DIR``), markdown tables, the
output files (``<stem>.md`` and ``<stem>*.png`` in ``--out``), the exact fractional LIF
references (``fracsim.reference`` when it is importable, else mpmath) and a few numerics
(observed orders, timing). Not a script: import it from a script in this directory.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUT = HERE / "results"

try:  # run from a checkout without installing the package
    import fracsim  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(ROOT))
    import fracsim  # noqa: F401

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401  (re-exported for the scripts)

# --------------------------------------------------------------------------------------------
# command line and output


def parse_args(doc: str | None, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """``--quick`` (a fast, reduced variant) and ``--out DIR`` (default validation/results)."""
    first = (doc or "").strip().splitlines()
    p = argparse.ArgumentParser(description=first[0] if first else None,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="reduced sweep (fewer dt / orders / lengths): a smoke test, seconds")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"output directory (default: {DEFAULT_OUT.relative_to(ROOT)})")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def environment() -> str:
    """One line: interpreter, library versions, fracsim commit, CPU count."""
    import numba
    import scipy

    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return (f"Python {platform.python_version()}, NumPy {np.__version__}, SciPy "
            f"{scipy.__version__}, Numba {numba.__version__}, {platform.machine()}, "
            f"{os.cpu_count()} CPUs; fracsim at commit {commit or 'unknown'} "
            "(plus uncommitted changes of the working tree, if any)")


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table (cells converted with ``str``, ``|`` in cells escaped)."""
    lines = ["| " + " | ".join(str(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_report(out: Path, stem: str, text: str) -> Path:
    """Write ``text`` to ``out/stem.md``, print it, return the path."""
    path = out / f"{stem}.md"
    path.write_text(text.rstrip() + "\n", encoding="utf-8")
    print(text)
    print(f"\nwrote {path}")
    return path


def save_figure(fig, out: Path, name: str) -> Path:
    path = out / name
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")
    return path


def cmdline(script: str, quick: bool, out: Path) -> str:
    parts = ["python3", f"validation/{script}"]
    if quick:
        parts.append("--quick")
    if out.resolve() != DEFAULT_OUT:
        parts += ["--out", str(out)]
    return " ".join(parts)


# --------------------------------------------------------------------------------------------
# formatting and small numerics


def fe(x: float, digits: int = 2) -> str:
    """Scientific notation; '—' for NaN/None, 'inf' kept, exact zero as '0'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if x == 0:
        return "0"
    return f"{x:.{digits}e}"


def ff(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.{digits}f}"


def observed_orders(steps: Sequence[float], errs: Sequence[float]) -> np.ndarray:
    """``log(e_i / e_{i+1}) / log(h_i / h_{i+1})`` for consecutive pairs (NaN if an error
    is zero or not finite)."""
    h = np.asarray(steps, dtype=float)
    e = np.asarray(errs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.log(e[:-1] / e[1:]) / np.log(h[:-1] / h[1:])
    p[~np.isfinite(p)] = np.nan
    return p


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x`` over the points with ``y > 0``."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = (y > 0) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def timed(fn: Callable, *args, **kw):
    """``(fn(*args, **kw), wall seconds)``."""
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


# --------------------------------------------------------------------------------------------
# exact fractional LIF: tau D^a v = -(v - v_rest) + R I, constant drive

def ml_mpmath(z: float, alpha: float, dps: int = 30) -> float:
    """``E_alpha(z)`` by Talbot inversion of ``s^(a-1) / (s^a - z)`` at t = 1 (mpmath)."""
    import mpmath

    with mpmath.workdps(dps):
        val = mpmath.invertlaplace(lambda s: s ** (alpha - 1) / (s**alpha - z), 1,
                                   method="talbot")
    return float(val)


def _reference_module():
    try:
        from fracsim import reference
    except ImportError:
        return None
    return reference


def reference_name() -> str:
    ref = _reference_module()
    have = [n for n in ("mittag_leffler", "fractional_lif_voltage",
                        "fractional_lif_first_spike", "solve_fde_spiking")
            if ref is not None and hasattr(ref, n)]
    if len(have) == 4:
        return "fracsim.reference (mittag_leffler / fractional_lif_* / solve_fde_spiking)"
    return ("mpmath Talbot inversion (30 digits)" + (f"; fracsim.reference has only {have}"
                                                     if have else "; fracsim.reference missing"))


def lif_voltage(t, alpha: float, tau: float, v0: float, v_inf: float) -> np.ndarray:
    """``v(t) = v_inf + (v0 - v_inf) E_a(-t^a / tau)`` (fracsim.reference, else mpmath)."""
    ref = _reference_module()
    tt = np.asarray(t, dtype=float)
    if ref is not None and hasattr(ref, "fractional_lif_voltage"):
        return np.asarray(ref.fractional_lif_voltage(tt, alpha, tau, v0, v_inf), dtype=float)
    e = np.array([ml_mpmath(-(x**alpha) / tau, alpha) if x > 0 else 1.0
                  for x in tt.reshape(-1)]).reshape(tt.shape)
    return v_inf + (v0 - v_inf) * e


def lif_first_spike(alpha: float, tau: float, v0: float, v_inf: float, v_th: float) -> float:
    """First time ``v`` reaches ``v_th`` (fracsim.reference, else brentq on mpmath)."""
    ref = _reference_module()
    if ref is not None and hasattr(ref, "fractional_lif_first_spike"):
        return float(ref.fractional_lif_first_spike(alpha, tau, v0, v_inf, v_th))
    from scipy.optimize import brentq

    r = (v_th - v_inf) / (v0 - v_inf)

    def g(u):
        return ml_mpmath(-math.exp(u), alpha) - r

    lo, hi = -10.0, 10.0
    u = brentq(g, lo, hi, xtol=1e-14)
    return (tau * math.exp(u)) ** (1.0 / alpha)


def check_ml_reference(alphas: Sequence[float], zs: Sequence[float]) -> float:
    """Largest |E_a(z) (fracsim.reference) - E_a(z) (mpmath)| over the given points, NaN if
    fracsim.reference.mittag_leffler is missing (then mpmath is the reference)."""
    ref = _reference_module()
    if ref is None or not hasattr(ref, "mittag_leffler"):
        return float("nan")
    worst = 0.0
    for a in alphas:
        for z in zs:
            worst = max(worst, abs(float(ref.mittag_leffler(z, a)) - ml_mpmath(z, a)))
    return worst
