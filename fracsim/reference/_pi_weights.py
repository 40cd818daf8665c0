r"""Product-integration weights for piecewise-linear integrands against ``(t - s)^(a-1)``.

For an interval ``[p, q]`` of length ``l`` whose right end lies ``B = t - q >= 0`` before the
target time ``t`` (so ``A = t - p = B + l``), and the linear interpolant of ``F`` between its
ends, the exact integrals are

    int_p^q (t-s)^(a-1) (q-s)/l ds = w_a,        int_p^q (t-s)^(a-1) (s-p)/l ds = w_b.

With ``rho = l / A`` and ``(1 - y)^(a-1) = sum_m c_m y^m``, ``c_m = (1-a)_m / m!`` (all >= 0):

    w_a = A^a sum_m c_m rho^(m+1) / ((m+1)(m+2)),     w_b = A^a sum_m c_m rho^(m+1) / (m+2).

These positive series are used for ``rho <= 1/2`` (no cancellation even for distant targets,
where the textbook closed form ``(k+1)^(a+1) - 2 k^(a+1) + (k-1)^(a+1)`` loses ``2 log10 k``
digits); for ``rho > 1/2`` the closed form ``I0 = (A^a - B^a)/a``,
``w_b = (A I0 - (A^(a+1) - B^(a+1))/(a+1)) / l``, ``w_a = I0 - w_b`` is used.
Weights are in units where the step is 1; multiply by ``h^a / Gamma(a)`` for the integral
``(1/Gamma(a)) int (t-s)^(a-1) F(s) ds``. At ``a = 1``: ``w_a = w_b = l / 2`` (trapezoid).

The uniform-grid weights (step 1, target ``t_n``, node ``t_j``, ``k = n - j``) follow:
local ``a_0 = w_b(0, 1) = 1/(a(a+1))``, interior ``a_k = w_b(k, 1) + w_a(k-1, 1)``, and the
first node ``b_k = w_a(k-1, 1)``; ``h^a a_k / Gamma(a)`` are the weights of the fractional
trapezoidal (PI) rule of Diethelm, Ford & Freed (2002) written in this stable form.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# (rho upper bound, number of series terms so that rho^M c_M < 1e-18)
_BANDS = ((1.0 / 64, 11), (1.0 / 8, 21), (0.5, 62))


@lru_cache(maxsize=32)
def _coefs(a: float, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Series coefficients c_m/((m+1)(m+2)) and c_m/(m+2), m = 0..M-1."""
    c = np.ones(m)
    for i in range(1, m):
        c[i] = c[i - 1] * (i - a) / i
    k = np.arange(m, dtype=np.float64)
    return c / ((k + 1) * (k + 2)), c / (k + 2)


def interval_weights(b, ell, a: float) -> tuple[np.ndarray, np.ndarray]:
    """(w_a, w_b) for intervals of length ``ell`` ending ``b`` >= 0 before the target."""
    b = np.asarray(b, dtype=np.float64)
    ell = np.broadcast_to(np.asarray(ell, dtype=np.float64), b.shape)
    big_a = b + ell
    rho = ell / big_a
    wa = np.empty(b.shape)
    wb = np.empty(b.shape)
    near = rho > 0.5
    if np.any(near):
        an, bn, ln = big_a[near], b[near], ell[near]
        i0 = (an**a - bn**a) / a
        wbn = (an * i0 - (an ** (a + 1) - bn ** (a + 1)) / (a + 1)) / ln
        wb[near] = wbn
        wa[near] = i0 - wbn
    lo = 0.0
    for hi, m in _BANDS:
        sel = (rho > lo) & (rho <= hi)
        lo = hi
        if not np.any(sel):
            continue
        r = rho[sel]
        ca, cb = _coefs(a, m)
        sa = np.zeros(r.shape)
        sb = np.zeros(r.shape)
        for i in range(m - 1, -1, -1):  # Horner in rho
            sa = sa * r + ca[i]
            sb = sb * r + cb[i]
        scale = big_a[sel] ** a * r
        wa[sel] = scale * sa
        wb[sel] = scale * sb
    return wa, wb


@lru_cache(maxsize=16)
def uniform_weights(a: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit-step weights ``a_k`` (k = 0..n, ``a_0`` local) and first-node ``b_k`` (b_0 = 0)."""
    k = np.arange(n + 1, dtype=np.float64)
    wa, wb = interval_weights(k, 1.0, a)  # interval ending k steps before the target
    lag = np.empty(n + 1)
    lag[0] = wb[0]
    lag[1:] = wb[1:] + wa[:-1]
    first = np.zeros(n + 1)
    first[1:] = wa[:-1]
    lag.setflags(write=False)
    first.setflags(write=False)
    return lag, first
