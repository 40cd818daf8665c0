r"""High-accuracy reference solver for Caputo fractional ODE systems, with spikes and resets.

**Problem.** ``D^{a_i} y_i = f_i(t, y)``, ``y(0) = y0``, ``0 < a_i <= 1`` per component (order 1
gives an ordinary ODE component), equivalently the Volterra system

    y_i(t) = y0_i + 1/Gamma(a_i) int_0^t (t-s)^(a_i - 1) f_i(s, y(s)) ds.

**Scheme: implicit product-integration trapezoidal rule ("PI trapezoid", Diethelm, Ford &
Freed 2002; Garrappa 2018, "Numerical solution of fractional differential equations: a
survey and a software tutorial", Mathematics 6:16, method PI_IT).** ``f`` is replaced by its
piecewise-linear interpolant on the grid ``t_n = n h`` and the kernel is integrated exactly
(weights in :mod:`._pi_weights`, in a form that keeps full precision for distant nodes):

    y_n = y0 + h^a/Gamma(a) (b_n f_0 + sum_{j=1}^{n-1} a_{n-j} f_j + a_0 f(t_n, y_n)),

solved for ``y_n`` by Newton's method (user Jacobian or finite differences; iterated to a
residual of a few ulps). The history sums are evaluated in O(n log^2 n) by the
divide-and-conquer ("online") FFT convolution of Hairer, Lubich & Schlichte (1985): nodes
``[lo, mid)`` are added to the sums of ``[mid, hi)`` by one FFT once they are known.

**Error expansion and extrapolation.** For smooth ``f(t, y(t))`` the PI trapezoid error at a
fixed ``t`` expands in ``h^2, h^(2+a), h^3, ...``; a fractional solution behaves like
``sum c_{kl} t^(k a + l)`` near ``t = 0`` and a ``t^g`` term of ``f`` adds ``h^(1+g)``
(interpolation error on the first steps). Which of the candidate exponents
``{j + k a : j >= 1, k >= 0} - {1}`` appear depends on the problem: measured here (see
``tests/test_reference.py``), ``D^a y = -y, y(0) = 1`` (Mittag-Leffler) has ``1+a, 2, 2+a``
(no ``1+2a``: orders 1.30/2.03/2.30 at a = 0.3, 1.50/2.01/2.50 at 0.5, 1.83/2.00/2.80 at 0.8),
while ``D^a y = 1 - y^2, y(0) = 0`` (``f`` has no ``t^a`` term) starts at ``1+2a``. So the
extrapolation eliminates *all* candidates in increasing order, harmless when one is absent:
``solve_fde`` runs steps ``h / 2^k``, ``k < L`` (``levels``, default 4), and returns ``R_fine``,
the extrapolation of the ``L - 1`` finest runs eliminating the ``L - 2`` smallest candidates
(``1+a, 2`` for a >= 1/2; ``1.3, 1.6`` at a = 0.3; ``2, 3`` at a = 1). Its error estimate is

    max(|R_fine - R_coarse|, |R_fine - R_low|)

with ``R_coarse`` the same extrapolation from the ``L - 1`` coarsest runs and ``R_low`` the one
with one exponent fewer from the ``L - 2`` finest runs; for trajectories it is then widened to
its maximum over +-1/32 of the grid (isolated zeros of a difference are not zeros of the
error) and floored at 1e-12 of the component's magnitude (rounding). Measured: true error /
estimate <= 0.3 on the Mittag-Leffler, manufactured nonlinear and ``1 - y^2`` problems, for
all ``t`` including the first steps. Cost: L = 4 levels take 15x the steps of the coarse grid,
at about 17 us per step for one component (Python-level Newton; 1e5 steps ~ 2 s).

**Spikes.** ``solve_fde_spiking`` stops a segment when ``y_0`` (the membrane) crosses
``threshold`` between ``t_{n-1}`` and ``t_n``; the spike time is the root ``theta`` of the PI
solution at ``t_{n-1} + theta h`` (a partial step with the last interval of length
``theta h``: no interpolation error is added). A new uniform grid starts at the spike time
``t_k``, so the ``(t - t_k)^a`` behaviour after a reset keeps the same error expansion and the
spike times themselves are extrapolated over the runs like values (no window). If the implicit
step has no solution (a blow-up such as the Izhikevich upstroke), the threshold was crossed
inside the step and the same root search locates it.

*reset_mode="shift"* (default; the engine's ``reset="shift"``): the state jumps by
``J_k = y(t_k^+) - y(t_k^-)`` and the whole past stays in the memory. With
``y' = (regular part) + sum_k J_k delta(t - t_k)`` the Caputo derivative of the jump part
is ``J_k (t - t_k)^(-a) / Gamma(1 - a)``; the reset is an impulse whose effect on ``y``
is exactly the step ``J_k``, i.e. the model is
``D^a (y - sum_k J_k H(t - t_k)) = f(t, y)``, and applying ``I^a`` (``I^a D^a g = g - g(0)``):

    y(t) = y0 + sum_{t_k < t} J_k + 1/Gamma(a) int_0^t (t-s)^(a-1) f(s, y(s)) ds,

where ``f`` keeps its values from before each reset in the integral. The history of earlier
segments is added to a new segment by FFT (it is a Toeplitz sum with a fractional shift).
An L1 scheme whose history holds the increments of ``y`` *without* the jumps converges to this
at first order (checked in the tests). Enforcing ``D^a y = f`` with the jump kept inside
``D^a y`` and no compensating term instead gives, after ``I^a``, a continuous ``y``: the reset
is undone by its own history term within a few steps, and the spike train of such a scheme
does not converge as ``h -> 0`` (more and more spikes): that is the engine's
``reset="jump"`` (Teka et al. 2014, pycaputo), which therefore has no reference here.

*reset_mode="restart"*: the history is cleared; a new fractional IVP starts at ``t_k`` with
``y(t_k) = reset(y(t_k^-))``. For order 1 both modes are the same ODE reset.

``solve_ode_spiking`` is the ``alpha = 1`` reference: ``scipy.integrate.solve_ivp`` (DOP853,
``rtol = atol = 1e-12``) with a terminal event at the threshold, restarted after each reset;
the spike-time error is estimated against a run with 100x looser tolerances.

Units: ``t`` in ms; the orders make ``f`` carry units of ``[y] / ms^a``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp
from scipy.ndimage import maximum_filter1d
from scipy.optimize import brentq
from scipy.signal import fftconvolve

from ._checks import orders, positive, real_scalar
from ._pi_weights import interval_weights, uniform_weights

__all__ = ["SpikingSolution", "solve_fde", "solve_fde_spiking", "solve_ode_spiking"]

_EPS = np.finfo(np.float64).eps
_LEAF = 48  # block size below which history sums are done directly
_FLOOR = 1e-12  # error estimates never claim less than this, relative to the magnitude
_METHODS = ("pi_trap",)
_RESET_MODES = ("shift", "restart")


@dataclass
class SpikingSolution:
    """Result of :func:`solve_fde_spiking` / :func:`solve_ode_spiking`.

    ``spike_times`` (ms) are the extrapolated (or finest) spike times with error estimates
    ``spike_err`` (ms); ``t``, ``y`` the trajectory of the finest run (at a spike both
    ``y(t_k^-)`` and ``y(t_k^+)`` are listed at the same ``t``); ``runs`` the spike times of
    each run, for steps ``steps`` (ms; empty for the ODE solver).
    """

    spike_times: np.ndarray
    spike_err: np.ndarray
    t: np.ndarray
    y: np.ndarray
    runs: list[np.ndarray] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# problem definition and the implicit solve


class _Problem:
    """The right-hand side, its Jacobian, and per-component orders grouped by value."""

    def __init__(self, f: Callable, jac: Callable | None, y0: np.ndarray, alpha: np.ndarray):
        self.f, self.jac, self.d, self.alpha = f, jac, y0.size, alpha
        self.groups = [(float(a), np.flatnonzero(alpha == a)) for a in np.unique(alpha)]
        self.gamma = np.array([math.gamma(a) for a in alpha])
        self.nfev = 0

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        self.nfev += 1
        out = np.asarray(self.f(t, y), dtype=np.float64).reshape(-1)
        if out.shape != (self.d,):
            raise ValueError(f"f must return {self.d} values, got shape {out.shape}")
        return out

    def jacobian(self, t: float, y: np.ndarray, fy: np.ndarray) -> np.ndarray:
        if self.jac is not None:
            return np.asarray(self.jac(t, y), dtype=np.float64).reshape(self.d, self.d)
        jm = np.empty((self.d, self.d))
        for k in range(self.d):
            dk = 1e-7 * max(1.0, abs(y[k]))
            yk = y.copy()
            yk[k] += dk
            jm[:, k] = (self.rhs(t, yk) - fy) / dk
        return jm

    def scale(self, h: float) -> np.ndarray:
        """Per-component factor h^a / Gamma(a) turning unit-step weights into integrals."""
        return h**self.alpha / self.gamma


class _NewtonFailure(Exception):
    """The implicit step has no (reachable) solution: too large a step, or a blow-up."""


class _Newton:
    """Solve ``y = base + c * f(t, y)`` by Newton iterations with a reused Jacobian."""

    def __init__(self, prob: _Problem):
        self.prob, self.minv, self.c, self.age = prob, None, None, 0

    def _refresh(self, t, y, fy, c):
        m = np.eye(self.prob.d) - c[:, None] * self.prob.jacobian(t, y, fy)
        self.minv, self.c, self.age = np.linalg.inv(m), c, 0

    def solve(self, t: float, base: np.ndarray, c: np.ndarray, guess: np.ndarray,
              full: bool = False):
        """Return ``(y, f(t, y))``; ``full`` refreshes the Jacobian at every iteration."""
        prob = self.prob
        if prob.d == 1 and not full and self.minv is not None and c is self.c and self.age < 32:
            return self._solve_scalar(t, float(base[0]), float(c[0]), float(guess[0]))
        y = guess.copy()
        fy = prob.rhs(t, y)
        if full or self.minv is None or self.age >= 32 or (
                c is not self.c and not np.array_equal(c, self.c)):
            self._refresh(t, y, fy, c)
        self.age += 1
        with np.errstate(all="ignore"):
            for it in range(16):
                r = y - base - c * fy
                tol = 8 * _EPS * (np.abs(y) + np.abs(base) + np.abs(c * fy)) + 1e-300
                if (np.abs(r) <= tol).all():
                    return y, fy
                if full or it == 4:
                    self._refresh(t, y, fy, c)
                y = y - self.minv @ r
                fy = prob.rhs(t, y)
                if not (np.isfinite(y).all() and np.isfinite(fy).all()):
                    break
            r = y - base - c * fy
            if (np.abs(r) <= 1e-10 * (np.abs(y) + np.abs(base) + 1e-300)).all():
                return y, fy
        self.minv = None
        raise _NewtonFailure(f"Newton iteration failed at t={t:.9g} ms; reduce h")

    def _solve_scalar(self, t: float, base: float, c: float, y: float):
        """The common one-component case with Python floats (same iteration, less overhead)."""
        self.age += 1
        f, minv = self.prob.f, float(self.minv[0, 0])
        self.prob.nfev += 1
        fy = float(np.asarray(f(t, np.array([y]))).reshape(-1)[0])
        for _ in range(16):
            r = y - base - c * fy
            if abs(r) <= 8 * _EPS * (abs(y) + abs(base) + abs(c * fy)) + 1e-300:
                return np.array([y]), np.array([fy])
            y -= minv * r
            self.prob.nfev += 1
            fy = float(np.asarray(f(t, np.array([y]))).reshape(-1)[0])
            if not (math.isfinite(y) and math.isfinite(fy)):
                break
        self.minv = None
        raise _NewtonFailure(f"Newton iteration failed at t={t:.9g} ms; reduce h")

    def robust(self, t, base, c, guesses):
        """Try each guess (the last one with full Newton) before giving up."""
        for i, g in enumerate(guesses):
            try:
                return self.solve(t, base, c, g, full=i == len(guesses) - 1 and i > 0)
            except _NewtonFailure:
                if i == len(guesses) - 1:
                    raise
        raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------
# history of finished segments


@dataclass
class _Segment:
    """Nodes ``t0 + n h`` (n = 0..m) and, if the segment ended inside a step, an end node."""

    t0: float
    h: float
    y: np.ndarray
    f: np.ndarray
    t_end: float | None = None
    theta: float = 0.0
    y_end: np.ndarray | None = None
    f_end: np.ndarray | None = None

    @property
    def m(self) -> int:
        return self.y.shape[0] - 1

    def times(self) -> np.ndarray:
        t = self.t0 + self.h * np.arange(self.m + 1)
        return t if self.t_end is None else np.append(t, self.t_end)

    def states(self) -> np.ndarray:
        return self.y if self.y_end is None else np.vstack([self.y, self.y_end])


def _seg_history_at(prob: _Problem, seg: _Segment, t: float) -> np.ndarray:
    """(1/Gamma) int over a finished segment of (t-s)^(a-1) f(s) ds, at one time t >= t_end."""
    m, h = seg.m, seg.h
    psi = (t - seg.t_end) / h
    out = np.empty(prob.d)
    bvals = (m - 1 - np.arange(m)) + (seg.theta + psi)
    for a, cols in prob.groups:
        wa, wb = interval_weights(bvals, 1.0, a)
        la, lb = interval_weights(np.array([psi]), seg.theta, a)
        out[cols] = (wa @ seg.f[:-1, cols] + wb @ seg.f[1:, cols]
                     + la[0] * seg.f[-1, cols] + lb[0] * seg.f_end[cols])
    return out * prob.scale(h)


def _seg_history_nodes(prob: _Problem, seg: _Segment, t_start: float, lo: int,
                       hi: int) -> np.ndarray:
    """Same as :func:`_seg_history_at` at the nodes ``t_start + n h``, ``lo <= n < hi`` (FFT)."""
    m, h = seg.m, seg.h
    psi = (t_start - seg.t_end) / h
    n = np.arange(lo, hi)
    q = np.arange(lo, hi + m - 1)  # Toeplitz index q = n - i + m - 1 for interval i
    out = np.empty((hi - lo, prob.d))
    for a, cols in prob.groups:
        la, lb = interval_weights(n + psi, seg.theta, a)
        part = la[:, None] * seg.f[-1, cols] + lb[:, None] * seg.f_end[cols]
        if m > 0:
            ga, gb = interval_weights(q + (seg.theta + psi), 1.0, a)
            conv = (fftconvolve(seg.f[:-1, cols], ga[:, None], axes=0)
                    + fftconvolve(seg.f[1:, cols], gb[:, None], axes=0))
            part += conv[m - 1:m - 1 + hi - lo]
        out[:, cols] = part
    return out * prob.scale(h)


class _Base:
    """Value of ``y0 + sum J_k + history of finished segments`` for the running segment."""

    def __init__(self, prob: _Problem, const: np.ndarray, past: list[_Segment]):
        self.prob, self.const, self.past = prob, const, past

    def at(self, t: float) -> np.ndarray:
        out = self.const.copy()
        for seg in self.past:
            out += _seg_history_at(self.prob, seg, t)
        return out

    def nodes(self, t_start: float, lo: int, hi: int) -> np.ndarray:
        out = np.broadcast_to(self.const, (hi - lo, self.prob.d)).copy()
        for seg in self.past:
            out += _seg_history_nodes(self.prob, seg, t_start, lo, hi)
        return out


# --------------------------------------------------------------------------------------------
# one uniform segment


class _Crossed(Exception):
    """Component 0 reached the threshold at node ``n`` (or the step to ``n`` has no solution)."""

    def __init__(self, n: int):
        self.n = n


def _segment(prob: _Problem, newton: _Newton, t0: float, y_start: np.ndarray, h: float,
             t_stop: float, base: _Base, threshold: float | None) -> tuple[_Segment, bool]:
    """Integrate from ``t0`` to ``t_stop`` or to the first crossing; return (segment, crossed)."""
    n_full = max(0, int(math.floor((t_stop - t0) / h + 1e-9)))
    d = prob.d
    scale = prob.scale(h)
    lag = np.empty((n_full + 1, d))
    first = np.empty((n_full + 1, d))
    for a, cols in prob.groups:
        la, fi = uniform_weights(a, _pow2_at_least(n_full + 1))
        lag[:, cols] = la[:n_full + 1, None]
        first[:, cols] = fi[:n_full + 1, None]
    lag *= scale
    first *= scale
    c0 = lag[0].copy()

    y = np.empty((n_full + 1, d))
    fv = np.zeros((n_full + 1, d))
    hist = np.zeros((n_full + 1, d))
    y[0] = y_start
    fv[0] = prob.rhs(t0, y_start)
    hist[1:] = first[1:] * fv[0]
    trivial = not base.past
    bvals = {"arr": None, "filled": 1}

    def base_at_node(n: int) -> np.ndarray:
        if trivial:
            return base.const
        if n >= bvals["filled"]:
            new = min(n_full + 1, max(2 * bvals["filled"], n + 256))
            arr = np.empty((n_full + 1, d)) if bvals["arr"] is None else bvals["arr"]
            arr[bvals["filled"]:new] = base.nodes(t0, bvals["filled"], new)
            bvals["arr"], bvals["filled"] = arr, new
        return bvals["arr"][n]

    def leaf(lo: int, hi: int) -> None:
        for n in range(lo, hi):
            if n > lo:
                hist[n] += (lag[n - lo:0:-1] * fv[lo:n]).sum(axis=0)
            guesses = (2 * y[n - 1] - y[n - 2], y[n - 1]) if n >= 2 else (y[n - 1],)
            try:
                y[n], fv[n] = newton.robust(t0 + n * h, base_at_node(n) + hist[n], c0, guesses)
            except _NewtonFailure:
                if threshold is None:
                    raise
                raise _Crossed(n) from None  # blow-up past threshold in this step
            if threshold is not None and y[n, 0] >= threshold:
                raise _Crossed(n)

    def rec(lo: int, hi: int) -> None:
        if hi - lo <= _LEAF:
            leaf(lo, hi)
            return
        mid = (lo + hi) // 2
        rec(lo, mid)
        conv = fftconvolve(fv[lo:mid], lag[1:hi - lo], axes=0)
        hist[mid:hi] += conv[mid - lo - 1:hi - lo - 1]
        rec(mid, hi)

    crossed_at = None
    try:
        if n_full >= 1:
            rec(1, n_full + 1)
    except _Crossed as exc:
        crossed_at = exc.n

    if crossed_at is not None:
        m, theta_hi = crossed_at - 1, 1.0
    else:
        m = n_full
        theta_hi = (t_stop - (t0 + m * h)) / h
        if theta_hi <= 1e-9:
            return _Segment(t0, h, y[:m + 1].copy(), fv[:m + 1].copy()), False
    seg = _Segment(t0, h, y[:m + 1].copy(), fv[:m + 1].copy())

    def partial(theta: float):
        """State at ``t_m + theta h``: the PI step with a last interval of length theta h."""
        t = t0 + (m + theta) * h
        hist_t = base.at(t) if not trivial else base.const.copy()
        bv = (m - 1 - np.arange(m)) + theta
        c = np.empty(d)
        for a, cols in prob.groups:
            wa, wb = interval_weights(bv, 1.0, a)
            la, lb = interval_weights(np.zeros(1), theta, a)
            hist_t[cols] += scale[cols] * (wa @ seg.f[:-1, cols] + wb @ seg.f[1:, cols]
                                           + la[0] * seg.f[-1, cols])
            c[cols] = scale[cols] * lb[0]
        guesses = (seg.y[m] + theta * (seg.y[m] - seg.y[m - 1]), seg.y[m]) if m >= 1 else (
            seg.y[m],)
        try:
            return (t, *newton.robust(t, hist_t, c, guesses))
        except _NewtonFailure:
            if threshold is None:
                raise
            return None  # no solution: the membrane has blown up past threshold

    res = partial(theta_hi)
    if crossed_at is None:
        if res is None:
            raise _NewtonFailure(f"Newton iteration failed near t={t_stop:.9g} ms; reduce h")
        crossed = threshold is not None and res[1][0] >= threshold
    else:
        crossed = True
    theta = theta_hi
    if crossed and (res is None or res[1][0] > threshold):  # else the crossing is at theta_hi
        v_prev = seg.y[m, 0] - threshold

        def g(th: float) -> float:
            if th <= 0.0:
                return v_prev
            r = partial(th)
            return 1.0 if r is None else r[1][0] - threshold

        theta = brentq(g, 0.0, theta_hi, xtol=1e-15, rtol=4 * _EPS, maxiter=200)
        theta = max(theta, 1e-14)
        res = partial(theta)
        while res is None:  # landed a hair past a blow-up: step back
            theta *= 1 - 1e-12
            res = partial(theta)
    seg.t_end, seg.theta, (seg.y_end, seg.f_end) = res[0], theta, res[1:]
    return seg, crossed


def _pow2_at_least(n: int) -> int:
    """Round weight-table sizes up to a power of two so the cache is reused across segments."""
    return 1 << max(8, (n - 1).bit_length())


# --------------------------------------------------------------------------------------------
# one run at a fixed step


def _run(prob: _Problem, y0: np.ndarray, h: float, t_stop: float, threshold=None,
         reset=None, mode: str = "shift", max_spikes: int = 10_000):
    """Integrate with step ``h``; return (segments, spike times)."""
    newton = _Newton(prob)
    segs: list[_Segment] = []
    spikes: list[float] = []
    const, t0, y_start = y0.copy(), 0.0, y0.copy()
    while True:
        past = segs if mode == "shift" else []
        seg, crossed = _segment(prob, newton, t0, y_start, h, t_stop, _Base(prob, const, past),
                                threshold)
        segs.append(seg)
        if not crossed:
            return segs, np.array(spikes)
        if len(spikes) >= max_spikes:
            raise RuntimeError(f"more than max_spikes={max_spikes} spikes before t_stop")
        y_plus = reset(seg.y_end.copy())
        if y_plus[0] >= threshold:
            raise ValueError("reset must bring component 0 below threshold")
        spikes.append(seg.t_end)
        const = const + (y_plus - seg.y_end) if mode == "shift" else y_plus.copy()
        t0, y_start = seg.t_end, y_plus
        newton.minv = None


# --------------------------------------------------------------------------------------------
# extrapolation


def error_exponents(alpha, count: int) -> list[float]:
    """The ``count`` smallest exponents ``j + k a`` (j >= 1, k >= 0, > 1) of the error in h."""
    alpha = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    cands = {2.0, 3.0, 4.0}
    for a in np.unique(alpha[alpha < 1.0]):
        for j in (1, 2, 3):
            cands |= {round(j + k * float(a), 12) for k in range(1, int(4 / a) + 1)}
    return sorted(c for c in cands if 1.0 < c <= 4.0)[:count]


def _extrapolate(vals: Sequence[np.ndarray], exps: Sequence[float]) -> np.ndarray:
    """Eliminate ``h^p`` for p in ``exps`` from runs at h, h/2, h/4, ... (len(exps) + 1 runs)."""
    r = 0.5 ** np.arange(len(vals))
    mat = np.vstack([np.ones(len(vals))] + [r**p for p in exps])
    lam = np.linalg.solve(mat, np.eye(len(vals))[0])
    return sum(lk * v for lk, v in zip(lam, vals, strict=True))


def _combine(vals: Sequence[np.ndarray], alpha, window: int = 0):
    """(value, error estimate) from runs at h, h/2, ... (see :func:`solve_fde`)."""
    exps = error_exponents(alpha, len(vals) - 2)
    fine = _extrapolate(vals[1:], exps)
    est = np.abs(fine - _extrapolate(vals[:-1], exps))
    if len(vals) >= 3:
        est = np.maximum(est, np.abs(fine - _extrapolate(vals[2:], exps[:-1])))
    if window > 0:  # envelope: cover the isolated zeros of the estimate
        est = maximum_filter1d(est, size=2 * window + 1, axis=0, mode="nearest")
    mag = np.abs(fine) if fine.ndim < 2 else np.max(np.abs(fine), axis=0, keepdims=True)
    return fine, np.maximum(est, _FLOOR * mag)


# --------------------------------------------------------------------------------------------
# public API


def _common_args(f, y0, alpha, t_stop, h, jac):
    if not callable(f):
        raise TypeError("f must be callable as f(t, y)")
    if jac is not None and not callable(jac):
        raise TypeError("jac must be None or callable as jac(t, y)")
    y0 = np.atleast_1d(np.asarray(y0, dtype=np.float64)).copy()
    if y0.ndim != 1 or y0.size == 0 or not np.all(np.isfinite(y0)):
        raise ValueError("y0 must be a finite scalar or 1-D array")
    alpha = orders("alpha", alpha, y0.size)
    t_stop = positive("t_stop", t_stop)
    h = positive("h", h)
    if h > t_stop:
        raise ValueError(f"h must be <= t_stop, got h={h!r}, t_stop={t_stop!r}")
    return y0, alpha, t_stop, h


def _levels(extrapolate: bool, levels) -> int:
    if not extrapolate:
        return 2
    if isinstance(levels, bool) or not isinstance(levels, int) or not 3 <= levels <= 6:
        raise ValueError(f"levels must be an integer in [3, 6], got {levels!r}")
    return levels


def solve_fde(f: Callable, y0, alpha, t_stop: float, h: float, jac: Callable | None = None,
              method: str = "pi_trap", extrapolate: bool = True, levels: int = 4):
    """Solve ``D^alpha y = f(t, y)`` on ``[0, t_stop]`` (ms); return ``(t, y, err_est)``.

    ``f(t, y)`` returns ``dy`` per unit ``ms^alpha`` (shape of ``y0``); ``jac(t, y)`` the (d, d)
    Jacobian (optional, else finite differences). ``alpha``: scalar or one order per component,
    each in (0, 1]. ``h`` (ms) is reduced so that ``t_stop / h`` is an integer. Runs steps
    ``h / 2^k``, ``k < levels`` (4 by default) and returns, on the grid of step ``h``
    (``t`` shape (n+1,), ``y`` and ``err_est`` shape (n+1, d)), the extrapolation of the
    ``levels - 1`` finest runs; ``err_est = |`` that ``-`` the same extrapolation from the
    ``levels - 1`` coarsest runs ``|``, an estimate of the coarser one's error. Without
    ``extrapolate``: the ``h/2`` run with ``err_est = |y_h - y_{h/2}|``.
    """
    y0, alpha, t_stop, h = _common_args(f, y0, alpha, t_stop, h, jac)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}")
    levels = _levels(extrapolate, levels)
    n = max(1, math.ceil(t_stop / h - 1e-9))
    h = t_stop / n
    prob = _Problem(f, jac, y0, alpha)
    vals = []
    for k in range(levels):
        segs, _ = _run(prob, y0, h / 2**k, t_stop)
        vals.append(segs[0].y[:: 2**k])
    y, err = _combine(vals, alpha, window=max(1, n // 32))
    return np.linspace(0.0, t_stop, n + 1), y, err


def _as_reset(reset, d: int) -> Callable[[np.ndarray], np.ndarray]:
    if callable(reset):
        def fn(y):
            out = np.asarray(reset(y.copy()), dtype=np.float64).reshape(-1)
            if out.shape != (d,):
                raise ValueError(f"reset must return {d} values, got shape {out.shape}")
            return out
        return fn
    v_reset = real_scalar("reset", reset)

    def fn(y):
        out = y.copy()
        out[0] = v_reset
        return out
    return fn


def solve_fde_spiking(f: Callable, y0, alpha, t_stop: float, h: float, threshold: float,
                      reset, reset_mode: str = "shift", jac: Callable | None = None,
                      extrapolate: bool = True, levels: int = 4,
                      max_spikes: int = 10_000) -> SpikingSolution:
    """Integrate ``D^alpha y = f(t, y)`` on ``[0, t_stop]`` (ms) with spikes when ``y[0]``
    reaches ``threshold``.

    ``reset``: a number (new ``y[0]``, other components kept) or a callable ``y -> y_plus``.
    ``reset_mode``: "shift" (memory kept, jump added; default) or "restart" (memory cleared).
    Steps ``h / 2^k``, ``k < levels``; each spike time is extrapolated like :func:`solve_fde`
    does for values (``spike_err`` likewise). Only spikes found in every run are returned (a
    warning is issued if the counts differ). ``y[0]`` must start below ``threshold``.
    """
    y0, alpha, t_stop, h = _common_args(f, y0, alpha, t_stop, h, jac)
    threshold = real_scalar("threshold", threshold)
    if reset_mode not in _RESET_MODES:
        raise ValueError(f"reset_mode must be one of {list(_RESET_MODES)}, got {reset_mode!r}")
    if y0[0] >= threshold:
        raise ValueError("y0[0] must be below threshold")
    levels = _levels(extrapolate, levels)
    reset_fn = _as_reset(reset, y0.size)
    prob = _Problem(f, jac, y0, alpha)
    runs, steps, segs = [], [], []
    for k in range(levels):
        segs, spikes = _run(prob, y0, h / 2**k, t_stop, threshold, reset_fn, reset_mode,
                            max_spikes)
        runs.append(spikes)
        steps.append(h / 2**k)
    k = min(len(s) for s in runs)
    if any(len(s) != k for s in runs):
        warnings.warn(f"spike counts differ between steps {steps}: "
                      f"{[len(s) for s in runs]}; keeping the first {k}", stacklevel=2)
    times, err = _combine([s[:k] for s in runs], alpha)
    t, y = _trajectory(segs)
    return SpikingSolution(times, err, t, y, runs, steps)


def _trajectory(segs: list[_Segment]) -> tuple[np.ndarray, np.ndarray]:
    t = np.concatenate([s.times() for s in segs])
    y = np.vstack([s.states() for s in segs])
    return t, y


def solve_ode_spiking(f: Callable, y0, t_stop: float, threshold: float, reset,
                      rtol: float = 1e-12, atol: float = 1e-12,
                      max_spikes: int = 10_000) -> SpikingSolution:
    """Integer-order reference: ``dy/dt = f(t, y)`` with DOP853 and threshold events.

    Same conventions as :func:`solve_fde_spiking` (``y[0]`` is the membrane, ``reset`` a number
    or a callable). ``spike_err`` compares with a run at tolerances ``100 rtol, 100 atol``.
    """
    if not callable(f):
        raise TypeError("f must be callable as f(t, y)")
    y0 = np.atleast_1d(np.asarray(y0, dtype=np.float64)).copy()
    if y0.ndim != 1 or not np.all(np.isfinite(y0)):
        raise ValueError("y0 must be a finite scalar or 1-D array")
    t_stop = positive("t_stop", t_stop)
    threshold = real_scalar("threshold", threshold)
    rtol, atol = positive("rtol", rtol), positive("atol", atol)
    if y0[0] >= threshold:
        raise ValueError("y0[0] must be below threshold")
    reset_fn = _as_reset(reset, y0.size)
    fine = _ode_run(f, y0, t_stop, threshold, reset_fn, rtol, atol, max_spikes)
    coarse = _ode_run(f, y0, t_stop, threshold, reset_fn, 100 * rtol, 100 * atol, max_spikes)
    k = min(len(fine[0]), len(coarse[0]))
    err = np.abs(fine[0][:k] - coarse[0][:k])
    return SpikingSolution(fine[0][:k], err, fine[1], fine[2], [fine[0], coarse[0]], [])


def _ode_run(f, y0, t_stop, threshold, reset_fn, rtol, atol, max_spikes):
    def event(t, y):
        return y[0] - threshold

    event.terminal, event.direction = True, 1.0

    def rhs(t, y):
        return np.asarray(f(t, y), dtype=np.float64).reshape(-1)

    t0, y_start, spikes, ts, ys = 0.0, y0.copy(), [], [], []
    while True:
        sol = solve_ivp(rhs, (t0, t_stop), y_start, method="DOP853", rtol=rtol, atol=atol,
                        events=event)
        if sol.status < 0:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        ts.append(sol.t)
        ys.append(sol.y.T)
        if sol.status != 1:
            break
        t_k, y_minus = float(sol.t_events[0][0]), sol.y_events[0][0]
        if len(spikes) >= max_spikes:
            raise RuntimeError(f"more than max_spikes={max_spikes} spikes before t_stop")
        spikes.append(t_k)
        y_plus = reset_fn(y_minus)
        if y_plus[0] >= threshold:
            raise ValueError("reset must bring component 0 below threshold")
        t0, y_start = t_k, y_plus  # the next segment starts with (t_k, y_plus)
    return np.array(spikes), np.concatenate(ts), np.vstack(ys)
