"""Convolution kernels of the fractional schemes, in one unified convolution form.

Grid ``t_n = n h`` (``h`` in ms), Caputo order ``0 < a <= 1``. Every scheme's history is a
discrete convolution of a per-step sequence ``q`` with a kernel ``c_k`` (dimensionless):

* GL and L1 (increment form), ``dv_m = v_m - v_{m-1}``::

      D^a v(t_n) ~ h^(-a) * sum_{k=0}^{n-1} c_k dv_{n-k}

  - L1: ``c_k = ((k+1)^(1-a) - k^(1-a)) / Γ(2-a)``.
  - GL: the Grünwald–Letnikov sum ``h^(-a) sum_{k=0}^{n} g_k (v_{n-k} - v_0)`` with
    ``g_0 = 1``, ``g_k = g_{k-1} (1 - (a+1)/k)`` equals the form above with the partial sums
    ``c_k = sum_{j<=k} g_j = Γ(k+1-a) / (Γ(1-a) Γ(k+1))`` (summation by parts:
    ``v_{n-k} - v_0 = sum_{m=1}^{n-k} dv_m``; ``sum_j g_j z^j = (1-z)^a``, so
    ``sum_k c_k z^k = (1-z)^(a-1)``). ``c_k -> k^(-a)/Γ(1-a)``.
  - At ``a = 1`` both give ``c_0 = 1`` and ``c_k = 0`` for ``k >= 1``.

* Product integration (fractional Adams–Bashforth–Moulton) on the Volterra form
  ``v(t) = v_0 + 1/Γ(a) ∫_0^t (t-s)^(a-1) F(s) ds`` with ``F_j = F(t_j, v_j)``:

  - predictor (``F`` piecewise constant, left end):
    ``v_n^P = v_0 + h^a sum_{j=0}^{n-1} r_{n-1-j} F_j``, ``r_k = ((k+1)^a - k^a) / Γ(a+1)``.
  - corrector (``F`` piecewise linear):
    ``v_n = v_0 + h^a/Γ(a+2) [a0_n F_0 + sum_{j=1}^{n} t_{n-j} F_j]`` with ``t_0 = 1``,
    ``t_k = (k+1)^(a+1) - 2 k^(a+1) + (k-1)^(a+1)`` (k >= 1) and
    ``a0_n = (n-1)^(a+1) - (n-1-a) n^a`` (Diethelm, Ford & Freed 2002; Garrappa 2018).
  - At ``a = 1``: forward Euler (``r_k = 1``) and the trapezoidal rule (``t_k = 2``,
    ``a0_n = 1``, prefactor ``h/2``).

Differences of powers are evaluated without cancellation (``k^p expm1(p log1p(1/k))`` for
first differences, positive binomial series for second differences and ``a0_n``, a
Stirling-difference expansion for the GL gamma ratio), so the kernels keep ~1e-15 relative
accuracy up to ``k = 1e7`` and beyond.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.special import gamma, rgamma

SCHEMES = ("gl", "l1", "pi_rect", "pi_trap")

# Stirling: ln Γ(w) = (w - 1/2) ln w - w + ln(2π)/2 + sum_m B_2m / (2m (2m-1) w^(2m-1))
_BERNOULLI_2M = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)
_GL_ASYMPTOTIC_FROM = 10  # k >= this: Stirling difference (remainder < 1e-16)


def check_alpha(alpha: float) -> float:
    """Return ``alpha`` as a float, or raise ValueError unless ``0 < alpha <= 1``."""
    if isinstance(alpha, bool | np.bool_) or not isinstance(alpha, numbers.Real):
        raise ValueError(f"alpha must be a real number in (0, 1], got {alpha!r}")
    alpha = float(alpha)
    if not 0.0 < alpha <= 1.0:  # also rejects NaN
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    return alpha


def check_n(name: str, n: int, minimum: int = 1) -> int:
    """Return ``n`` as an int, or raise ValueError unless it is an integer >= ``minimum``."""
    if isinstance(n, bool | np.bool_) or not isinstance(n, numbers.Integral) or n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    return int(n)


def check_scheme(scheme: str) -> str:
    """Return ``scheme`` or raise ValueError unless it is one of :data:`SCHEMES`."""
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    return scheme


def _pow_diff(k: np.ndarray, p: float) -> np.ndarray:
    """``(k+1)^p - k^p`` for integers ``k >= 0``, to a few ulp (no cancellation)."""
    k = np.asarray(k, dtype=np.float64)
    out = np.ones_like(k)
    pos = k > 0
    kp = k[pos]
    out[pos] = kp**p * np.expm1(p * np.log1p(1.0 / kp))
    return out


def _binomial_series(p: float, x: np.ndarray, first: int, step: int, sign: float) -> np.ndarray:
    """``sum_{m = first, first+step, ...} binom(p, m) (sign x)^m`` to ~1e-17 relative, x <= 1/2.

    Used only where every term is >= 0 (the callers' ``p`` and ``sign``), so the sum carries
    no cancellation; ``|binom(p, m+1)/binom(p, m)| <= 1`` bounds the number of terms.
    """
    out = np.empty_like(x)
    lo = 0.0
    for hi in (1.0 / 64.0, 1.0 / 8.0, 0.5):  # bands of x: fewer terms for small x
        band = (x > lo) & (x <= hi)
        lo = hi
        if not np.any(band):
            continue
        n_terms = int(np.ceil(np.log(1e-17) / (step * np.log(hi)))) + 1
        coefs = []
        coef = 1.0
        for j in range(first):  # binom(p, first)
            coef *= (p - j) / (j + 1)
        for t in range(n_terms):
            coefs.append(coef * sign ** (first + t * step))
            for j in range(first + t * step, first + (t + 1) * step):
                coef *= (p - j) / (j + 1)
        xb = x[band]
        y = xb**step
        acc = np.full_like(xb, coefs[-1])
        for c in reversed(coefs[:-1]):  # Horner in y = x^step
            acc = acc * y + c
        out[band] = acc * xb**first
    return out


def _second_diff(k: np.ndarray, p: float) -> np.ndarray:
    """``(k+1)^p - 2 k^p + (k-1)^p`` for integers ``k >= 1`` and ``1 < p <= 2``."""
    k = np.asarray(k, dtype=np.float64)
    out = np.empty_like(k)
    one = k == 1
    out[one] = 2.0 * math.expm1((p - 1.0) * math.log(2.0))  # 2^p - 2
    big = ~one
    if np.any(big):
        x = 1.0 / k[big]  # k^p * 2 sum_{m>=1} binom(p, 2m) x^(2m), all terms >= 0
        out[big] = 2.0 * k[big] ** p * _binomial_series(p, x, 2, 2, 1.0)
    return out


def _gl_values(k: np.ndarray, alpha: float) -> np.ndarray:
    """GL ``c_k = Γ(k+1-a) / (Γ(1-a) Γ(k+1))`` at integers ``k >= 0`` (relative error ~1e-15)."""
    k = np.asarray(k, dtype=np.float64)
    out = np.empty_like(k)
    small = k < _GL_ASYMPTOTIC_FROM
    if np.any(small):  # c_0 = 1, c_k = c_{k-1} (1 - a/k)
        j = np.arange(1.0, _GL_ASYMPTOTIC_FROM)
        table = np.cumprod(np.concatenate(([1.0], 1.0 - alpha / j)))
        out[small] = table[k[small].astype(np.int64)]
    al, be = 1.0 - alpha, 1.0  # ln Γ(z+al) - ln Γ(z+be) by a Stirling difference
    for band, n_terms in ((~small & (k < 1000), len(_BERNOULLI_2M)), (k >= 1000, 3)):
        z = k[band]  # remainder of the Bernoulli series < 1e-17 in both bands
        if not z.size:
            continue
        lg = (al - be) * np.log(z) + (
            (z + al - 0.5) * np.log1p(al / z) - (z + be - 0.5) * np.log1p(be / z) - (al - be)
        )
        u, v = 1.0 / (z + al), 1.0 / (z + be)
        u2, v2 = u * u, v * v
        for m, b2m in enumerate(_BERNOULLI_2M[:n_terms], start=1):
            lg += b2m / (2 * m * (2 * m - 1)) * (u - v)  # (z+al)^(1-2m) - (z+be)^(1-2m)
            u, v = u * u2, v * v2
        out[band] = np.exp(lg) * rgamma(1.0 - alpha)
    return out


def kernel_at(scheme: str, alpha: float, k: np.ndarray) -> np.ndarray:
    """Kernel values ``c_k`` of ``scheme`` at integer lags ``k >= 0`` (any shape; float64).

    Same values as :func:`kernel`, for arbitrary (e.g. sampled, large) ``k``.
    """
    scheme = check_scheme(scheme)
    alpha = check_alpha(alpha)
    k = np.asarray(k, dtype=np.float64)
    if np.any(k < 0) or np.any(k != np.floor(k)):
        raise ValueError("k must hold integers >= 0")
    if scheme == "l1":
        return _pow_diff(k, 1.0 - alpha) / gamma(2.0 - alpha)
    if scheme == "gl":
        return _gl_values(k, alpha)
    if scheme == "pi_rect":
        return _pow_diff(k, alpha) / gamma(alpha + 1.0)
    out = np.ones_like(k)  # pi_trap
    pos = k > 0
    out[pos] = _second_diff(k[pos], alpha + 1.0)
    return out


def l1_kernel(alpha: float, n: int) -> np.ndarray:
    """L1 kernel ``c_0..c_{n-1}``, ``c_k = ((k+1)^(1-a) - k^(1-a))/Γ(2-a)``."""
    return kernel_at("l1", alpha, np.arange(check_n("n", n)))


def gl_kernel(alpha: float, n: int) -> np.ndarray:
    """GL kernel in increment form ``c_0..c_{n-1}``, ``c_k = Γ(k+1-a)/(Γ(1-a) Γ(k+1))``."""
    return kernel_at("gl", alpha, np.arange(check_n("n", n)))


def pi_rectangle_weights(alpha: float, n: int) -> np.ndarray:
    """Predictor weights ``r_0..r_{n-1}``, ``r_k = ((k+1)^a - k^a)/Γ(a+1)``."""
    return kernel_at("pi_rect", alpha, np.arange(check_n("n", n)))


def pi_trapezoid_weights(alpha: float, n: int) -> np.ndarray:
    """Corrector weights ``t_0..t_{n-1}`` (``t_0 = 1``; without the ``1/Γ(a+2)`` factor)."""
    return kernel_at("pi_trap", alpha, np.arange(check_n("n", n)))


def pi_trapezoid_first(alpha: float, n: np.ndarray) -> np.ndarray:
    """Corrector weight of ``F_0``: ``a0_n = (n-1)^(a+1) - (n-1-a) n^a`` for steps ``n >= 1``.

    Evaluated as ``n^(a+1) sum_{m>=2} binom(a+1, m) (-1/n)^m`` (all terms >= 0) for n >= 2.
    """
    alpha = check_alpha(alpha)
    n = np.asarray(n, dtype=np.float64)
    if np.any(n < 1) or np.any(n != np.floor(n)):
        raise ValueError("n must hold integers >= 1")
    p = alpha + 1.0
    out = np.empty_like(n)
    small = n < 2
    ns = n[small]
    out[small] = (ns - 1.0) ** p - (ns - 1.0 - alpha) * ns**alpha
    nb = n[~small]
    if nb.size:
        out[~small] = nb**p * _binomial_series(p, 1.0 / nb, 2, 1, -1.0)
    return out


def kernel(scheme: str, alpha: float, n: int) -> np.ndarray:
    """Kernel ``c_0..c_{n-1}``: "gl", "l1", "pi_rect" (``r_k``) or "pi_trap" (``t_k``)."""
    return kernel_at(scheme, alpha, np.arange(check_n("n", n)))
