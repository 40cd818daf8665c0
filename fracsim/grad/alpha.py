r"""Derivatives of the scheme weights with respect to the order ``alpha``.

Exact weights (:mod:`fracsim.fractional.weights`), ``p = 1 - a``:

* L1: ``c_k = D_k / Γ(2-a)``, ``D_k = (k+1)^p - k^p = k^p expm1(p L)``, ``L = log1p(1/k)``::

      dc_k/da = -(dD_k/dp) / Γ(2-a) + c_k ψ(2-a),
      dD_k/dp = k^p ln(k) expm1(p L) + k^p L exp(p L)       (k >= 1; D_0 = 1, dD_0/dp = 0)

  (both terms of ``dD_k/dp`` are >= 0: no cancellation).
* GL: ``c_k = Γ(k+1-a) / (Γ(1-a) Γ(k+1))``::

      dc_k/da = c_k (ψ(1-a) - ψ(k+1-a)) = -c_k sum_{j=0}^{k-1} 1/(j+1-a)

  (the finite sum for ``k < 64``, digamma differences above).
* ``h^a``: ``d h^a / da = h^a ln h``.

**SOE tail.**  The memory keeps ``c_k ≈ sum_j β_j λ_j^k`` for lags beyond the exact window
``W`` (:func:`fracsim.fractional.soe.soe_kernel`, reused through
:func:`fracsim.fractional.memory.build_arrays`: the run is the one ``fs.simulate`` makes).
The fit is refitted at every ``alpha``; its decays ``λ_j`` do not depend on ``alpha``
(geometric nodes set by ``n_max`` and ``tol`` only) and its weights ``β_j(alpha)`` are a
(non-negative) least-squares fit.  We take the decays as fixed and represent the derivative of
the *exact* tail with the same exponentials::

    dc_k/da ≈ sum_j γ_j λ_j^k,     γ = argmin sum_k w_k (sum_j γ_j λ_j^k - dc_k/da)^2

over the lags ``W < k <= n_max`` (every lag up to ``W + 2000``, 400 log-spaced per decade
beyond), weights ``w_k = 1 / (c_k (1 + ln k))^2`` (the scale of ``dc_k/da ≈ -c_k ln k``).  Then
``dH_n/da = sum_{k<=W} (dc_k/da) q_{n-k} + sum_j γ_j U_j[n]``: the same states ``U_j``, no
extra memory.  :func:`soe_derivative` returns the fit's measured error
``max_k |sum_j γ_j λ_j^k - dc_k/da| / (c_k (1 + ln k))``; this is the derivative of the
exact kernel's tail (the discrete SOE simulation's kernel differs from the exact one by
``tol``, and so does its ``alpha``-derivative, up to the fit's own error): it is verified
against the exact full-memory gradient and against central differences of the SOE simulation
(refitted at ``alpha ± h``) in the tests.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gamma

from ..fractional.weights import kernel_at

_FINITE_SUM_BELOW = 64


def kernel_derivative(scheme: str, alpha: float, k: np.ndarray) -> np.ndarray:
    """``dc_k/dalpha`` of the GL or L1 kernel at integer lags ``k >= 0`` (``0 < alpha < 1``)."""
    k = np.asarray(k, dtype=np.float64)
    c = kernel_at(scheme, alpha, k)
    if scheme == "l1":
        p = 1.0 - alpha
        dd = np.zeros_like(k)
        pos = k > 0
        kp = k[pos]
        lg = np.log1p(1.0 / kp)
        pw = kp**p
        dd[pos] = pw * np.log(kp) * np.expm1(p * lg) + pw * lg * np.exp(p * lg)
        return -dd / gamma(2.0 - alpha) + c * digamma(2.0 - alpha)
    if scheme == "gl":
        out = np.empty_like(k)
        small = k < _FINITE_SUM_BELOW
        j = np.arange(_FINITE_SUM_BELOW)
        partial = np.concatenate(([0.0], np.cumsum(1.0 / (j + 1.0 - alpha))))
        out[small] = -c[small] * partial[k[small].astype(np.int64)]
        big = ~small
        out[big] = c[big] * (digamma(1.0 - alpha) - digamma(k[big] + 1.0 - alpha))
        return out
    raise ValueError(f"scheme must be 'gl' or 'l1' for alpha derivatives, got {scheme!r}")


def _fit_lags(lo: int, hi: int) -> np.ndarray:
    """Lags ``lo..hi`` (all up to 2000 past ``lo``, then 400 log-spaced per decade)."""
    dense_hi = min(hi, lo + 2000)
    lags = np.arange(lo, dense_hi + 1, dtype=np.float64)
    if hi > dense_hi:
        n_log = int(400 * np.log10(hi / dense_hi)) + 2
        lags = np.unique(np.concatenate([lags, np.round(np.geomspace(dense_hi, hi, n_log))]))
    return lags


def soe_derivative(scheme: str, alpha: float, width: int, lam: np.ndarray,
                   n_max: int) -> tuple[np.ndarray, float]:
    """``γ_j`` with ``sum_j γ_j λ_j^k ≈ dc_k/dalpha`` for ``width < k <= n_max`` and the
    measured scaled error (see the module docstring).  ``lam``: the fit's decays (K,)."""
    lam = np.asarray(lam, dtype=np.float64)
    if lam.size == 0 or n_max <= width:
        return np.zeros(lam.size), 0.0
    k = _fit_lags(width + 1, n_max)
    c = kernel_at(scheme, alpha, k)
    target = kernel_derivative(scheme, alpha, k)
    scale = c * (1.0 + np.log(k))
    basis = np.exp(np.multiply.outer(k, np.log(lam)))  # (lags, K)
    gam, *_ = np.linalg.lstsq(basis / scale[:, None], target / scale, rcond=1e-15)
    err = float(np.max(np.abs(basis @ gam - target) / scale))
    return gam, err
