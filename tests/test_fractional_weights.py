"""Scheme kernels (GL, L1, product integration) and their sum-of-exponentials compression.

Kernels are checked against their classic forms, 50-digit mpmath values, sum rules and the
polynomials the product-integration rules integrate exactly; the SOE fits against dense
kernel values and against the direct history sum they replace.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from scipy.special import gamma

from fracsim.fractional import (
    SCHEMES,
    build_soe_kernel,
    full_history,
    gl_kernel,
    kernel,
    kernel_at,
    l1_kernel,
    pi_rectangle_weights,
    pi_trapezoid_first,
    pi_trapezoid_weights,
    soe,
    soe_history,
    soe_kernel,
)

ALPHAS = (0.1, 0.3, 0.5, 0.7, 0.9)

# --------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------


def _mp_kernel(scheme: str, a: float, k: int):
    a, k = mp.mpf(a), mp.mpf(k)
    if scheme == "l1":
        return ((k + 1) ** (1 - a) - k ** (1 - a)) / mp.gamma(2 - a) if k else 1 / mp.gamma(2 - a)
    if scheme == "gl":
        return mp.rf(k + 1, -a) * mp.rgamma(1 - a)  # Γ(k+1-a) / (Γ(k+1) Γ(1-a))
    if scheme == "pi_rect":
        return ((k + 1) ** a - k**a) / mp.gamma(a + 1)
    return (k + 1) ** (a + 1) - 2 * k ** (a + 1) + (k - 1) ** (a + 1) if k else mp.mpf(1)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_kernels_match_50_digit_values_up_to_3e7(scheme):
    ks = [0, 1, 2, 3, 7, 9, 10, 11, 63, 64, 65, 999, 1000, 1001, 12345, 10**6, 10**7, 3 * 10**7]
    with mp.workdps(50):
        for a in (0.01, 0.3, 0.5, 0.9, 0.999):
            got = kernel_at(scheme, a, np.array(ks))
            want = np.array([float(_mp_kernel(scheme, a, k)) for k in ks])
            np.testing.assert_allclose(got, want, rtol=5e-15, atol=0)


def test_trapezoid_first_weight_matches_50_digit_values():
    n = np.array([1, 2, 3, 4, 5, 8, 9, 64, 65, 100, 10**5, 10**7])
    with mp.workdps(50):
        for a in (0.01, 0.3, 0.5, 0.9, 0.999):
            A = mp.mpf(a)  # noqa: N806
            want = [float((mp.mpf(int(m)) - 1) ** (A + 1) - (int(m) - 1 - A) * mp.mpf(int(m)) ** A)
                    for m in n]
            np.testing.assert_allclose(pi_trapezoid_first(a, n), want, rtol=5e-15, atol=0)
    assert pi_trapezoid_first(0.4, np.array([1]))[0] == pytest.approx(0.4, rel=1e-15)


@pytest.mark.parametrize("a", (0.2, 0.5, 0.8))
def test_gl_increment_form_equals_classic_grunwald_letnikov(a):
    rng = np.random.default_rng(7)
    n = 300
    v = np.cumsum(rng.standard_normal(n + 1))  # v_0 .. v_n
    g = np.ones(n + 1)
    for k in range(1, n + 1):
        g[k] = g[k - 1] * (1.0 - (a + 1.0) / k)
    classic = np.sum(g * (v[::-1] - v[0]))  # Σ_{k=0}^n g_k (v_{n-k} - v_0)
    dv = np.diff(v)  # dv_m = v_m - v_{m-1}, m = 1..n
    increment = np.sum(gl_kernel(a, n) * dv[::-1])  # Σ_{k=0}^{n-1} c_k dv_{n-k}
    assert increment == pytest.approx(classic, rel=1e-12, abs=1e-12 * np.sum(np.abs(g)))
    assert np.allclose(gl_kernel(a, n), np.cumsum(g[:n]), rtol=1e-13, atol=0)


def test_order_one_limits():
    np.testing.assert_array_equal(gl_kernel(1.0, 6), [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(l1_kernel(1.0, 6), [1, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(pi_rectangle_weights(1.0, 6), np.ones(6), rtol=1e-15)
    np.testing.assert_allclose(pi_trapezoid_weights(1.0, 6), [1, 2, 2, 2, 2, 2], rtol=1e-15)
    np.testing.assert_allclose(pi_trapezoid_first(1.0, np.arange(1, 7)), np.ones(6), rtol=1e-15)
    # and continuously: the history coefficients of GL/L1 vanish like (1 - a)
    assert np.max(np.abs(l1_kernel(1 - 1e-9, 100)[1:])) < 2e-9
    assert np.max(np.abs(gl_kernel(1 - 1e-9, 100)[1:])) < 2e-9


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("a", ALPHAS)
def test_kernels_positive_and_decreasing(scheme, a):
    c = kernel(scheme, a, 5000)
    assert np.all(c > 0)
    assert np.all(np.diff(c[1:]) < 0)  # completely monotone for k >= 1
    far = kernel_at(scheme, a, np.geomspace(1e3, 1e7, 40).round())
    assert np.all(np.diff(far) < 0)


@pytest.mark.parametrize("a", ALPHAS)
def test_sum_rules_and_asymptotics(a):
    n = 4096
    # L1 telescopes, Σ_{k<n} c_k = n^(1-a)/Γ(2-a); PI rectangle: Σ_{k<n} r_k = n^a/Γ(a+1)
    assert np.sum(l1_kernel(a, n)) == pytest.approx(n ** (1 - a) / gamma(2 - a), rel=1e-12)
    assert np.sum(pi_rectangle_weights(a, n)) == pytest.approx(n**a / gamma(a + 1), rel=1e-12)
    # GL partial sums: Σ_{k<n} c_k = Γ(n+1-a)/(Γ(2-a) Γ(n)), and c_k Γ(1-a) k^a -> 1
    with mp.workdps(30):  # Γ(n+1-a)/Γ(n) = rf(n, 1-a)
        want = float(mp.rf(n, 1 - mp.mpf(a)) / mp.gamma(2 - mp.mpf(a)))
    assert np.sum(gl_kernel(a, n)) == pytest.approx(want, rel=1e-12)
    k = 1e7
    ratio = kernel_at("gl", a, np.array([k]))[0] * gamma(1 - a) * k**a
    assert ratio == pytest.approx(1.0 - a * (1 - a) / (2 * k), rel=1e-12)
    # trapezoid second differences telescope: Σ_{k<n} t_k = n^(a+1) - (n-1)^(a+1)
    assert np.sum(pi_trapezoid_weights(a, n)) == pytest.approx(
        n ** (a + 1) - (n - 1) ** (a + 1), rel=1e-12
    )


def _corrector(a: float, h: float, f: np.ndarray) -> float:
    """``v_n - v_0`` of the product trapezoidal rule for samples ``F_0..F_n``."""
    n = f.size - 1
    t = pi_trapezoid_weights(a, n)  # t_0..t_{n-1}; j = 1..n uses t_{n-j}
    return h**a / gamma(a + 2) * (pi_trapezoid_first(a, np.array([n]))[0] * f[0]
                                  + np.sum(t[::-1] * f[1:]))


def _predictor(a: float, h: float, f: np.ndarray) -> float:
    """``v_n^P - v_0`` of the product rectangle rule for samples ``F_0..F_n`` (uses n-1)."""
    n = f.size - 1
    return h**a * np.sum(pi_rectangle_weights(a, n)[::-1] * f[:n])


@pytest.mark.parametrize("a", ALPHAS + (1.0,))
@pytest.mark.parametrize("n", (1, 2, 7, 500))
def test_product_integration_is_exact_where_it_should_be(a, n):
    h = 0.37
    t = h * np.arange(n + 1)
    tn = t[-1]
    one = np.ones(n + 1)
    # I^a[1](t) = t^a/Γ(a+1): both rules; I^a[t](t) = t^(a+1)/Γ(a+2): the corrector only
    assert _predictor(a, h, one) == pytest.approx(tn**a / gamma(a + 1), rel=1e-12)
    assert _corrector(a, h, one) == pytest.approx(tn**a / gamma(a + 1), rel=1e-12)
    assert _corrector(a, h, 2.0 - 3.0 * t) == pytest.approx(
        2.0 * tn**a / gamma(a + 1) - 3.0 * tn ** (a + 1) / gamma(a + 2), rel=1e-11
    )
    if n > 1:  # the rectangle rule is only first order on F = t
        assert _predictor(a, h, t) != pytest.approx(tn ** (a + 1) / gamma(a + 2), rel=1e-3)


def test_product_integration_at_order_one_is_euler_and_trapezoid():
    rng = np.random.default_rng(3)
    f, h = rng.standard_normal(41), 0.05
    assert _predictor(1.0, h, f) == pytest.approx(h * np.sum(f[:-1]), rel=1e-13)
    assert _corrector(1.0, h, f) == pytest.approx(h * (np.sum(f) - 0.5 * (f[0] + f[-1])),
                                                  rel=1e-13)


@pytest.mark.parametrize("a", (0.3, 0.7))
def test_product_trapezoid_is_second_order_on_a_quadratic(a):
    def err(n):  # I^a[t^2](1) = 2/Γ(a+3)
        t = np.linspace(0.0, 1.0, n + 1)
        return abs(_corrector(a, 1.0 / n, t**2) - 2.0 / gamma(a + 3))

    orders = [np.log2(err(n) / err(2 * n)) for n in (64, 128, 256)]
    assert np.allclose(orders, 2.0, atol=0.05)


def test_dispatch_and_argument_checks():
    np.testing.assert_array_equal(kernel("gl", 0.4, 9), gl_kernel(0.4, 9))
    np.testing.assert_array_equal(kernel("l1", 0.4, 9), l1_kernel(0.4, 9))
    np.testing.assert_array_equal(kernel("pi_rect", 0.4, 9), pi_rectangle_weights(0.4, 9))
    np.testing.assert_array_equal(kernel("pi_trap", 0.4, 9), pi_trapezoid_weights(0.4, 9))
    for bad in (0.0, -0.2, 1.0000001, float("nan"), "0.5", True):
        with pytest.raises(ValueError, match=r"alpha .*\(0, 1\]"):
            kernel("gl", bad, 5)
        with pytest.raises(ValueError, match="alpha"):
            soe_kernel("l1", bad, 100, 1e-6)
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="n must be an integer >= 1"):
            l1_kernel(0.5, bad)
    for bad in ("GL", "caputo", None):
        with pytest.raises(ValueError, match="scheme must be one of"):
            kernel(bad, 0.5, 5)
        with pytest.raises(ValueError, match="scheme"):
            soe_kernel(bad, 0.5, 100, 1e-6)
    for bad in (0.0, -1e-6, 0.1, 1.0, float("nan"), "x"):
        with pytest.raises(ValueError, match=r"tol .*\(0, 0.1\)"):
            soe_kernel("gl", 0.5, 100, bad)
    with pytest.raises(ValueError, match="n_max"):
        soe_kernel("gl", 0.5, 0, 1e-6)
    with pytest.raises(ValueError, match="k0"):
        soe_kernel("pi_trap", 0.5, 1000, 1e-6, k0=0)


# --------------------------------------------------------------------------------------
# Sum of exponentials
# --------------------------------------------------------------------------------------

FITS = [("gl", 0.3, 1e-6), ("l1", 0.5, 1e-9), ("pi_rect", 0.7, 1e-9), ("pi_trap", 0.9, 1e-9),
        ("pi_trap", 0.2, 1e-6), ("l1", 0.05, 1e-9), ("gl", 0.995, 1e-9)]


@pytest.mark.parametrize(("scheme", "a", "tol"), FITS)
def test_soe_tail_relative_error_on_every_lag(scheme, a, tol):
    n_max = 100_000
    fit = soe_kernel(scheme, a, n_max, tol)
    assert fit.method == "compressed" and 5 < fit.K <= 40 and fit.k0 == 2
    assert np.all(fit.weight > 0) and np.all((fit.decay > 0) & (fit.decay < 1))
    k = np.arange(fit.k0 + 1, n_max + 1)
    err = np.max(np.abs(fit.values(k) / kernel_at(scheme, a, k) - 1.0))
    assert err <= tol
    assert err == pytest.approx(fit.max_rel_error, rel=1e-3)
    np.testing.assert_array_equal(fit.values(np.arange(fit.k0 + 1)), kernel(scheme, a, 3))


@pytest.mark.parametrize(("scheme", "a", "tol"), FITS[:4])
def test_soe_history_matches_full_history_within_the_bound(scheme, a, tol):
    rng = np.random.default_rng(11)
    n = 3000
    q = rng.standard_normal((n, 3)) * rng.uniform(0.1, 10.0, (n, 1))  # varied scales
    q[rng.integers(0, n, 20), 0] += 30.0  # a few jumps (resets)
    c = kernel(scheme, a, n)
    fit = soe_kernel(scheme, a, n, tol)
    diff = np.abs(soe_history(q, fit) - full_history(q, c))
    bound = tol * full_history(np.abs(q), c)
    assert np.all(diff <= bound + 1e-13 * np.max(bound))
    ratio = np.divide(diff, bound, out=np.zeros_like(diff), where=bound > 0)
    assert np.max(ratio) > 0.05  # the tail is really in use (measured 0.12-0.24)
    # first steps: only the exact window, so no error at all
    np.testing.assert_allclose(soe_history(q[:3], fit), full_history(q[:3], c), rtol=1e-15)


def test_full_history_is_the_convolution():
    q = np.array([0.0, 1.0, -2.0, 4.0])
    c = np.array([9.0, 0.5, 0.25, 0.125])
    np.testing.assert_allclose(full_history(q, c), [0.0, 0.0, 0.5, -1.0 + 0.25])


@pytest.mark.parametrize("scheme", SCHEMES)
def test_soe_size_at_a_million_steps(scheme):
    """K and the verified error (build times are measured in validation/soe_kernel.py)."""
    fit = build_soe_kernel(scheme, 0.5, 10**6, 1e-9)
    assert fit.K <= 40  # measured 37 (gl, l1, pi_rect) and 38 (pi_trap)
    assert fit.max_rel_error <= 1e-9
    k = np.unique(np.geomspace(3, 10**6, 3000).round())  # independent spot check
    assert np.max(np.abs(fit.values(k) / kernel_at(scheme, 0.5, k) - 1)) <= 1e-9


def test_soe_beyond_a_million_steps_is_sampled_but_holds():
    fit = soe_kernel("l1", 0.5, 10**7, 1e-6)
    assert fit.K <= 35 and fit.max_rel_error <= 1e-6  # measured K = 30
    k = np.random.default_rng(5).integers(3, 10**7 + 1, 20000)
    assert np.max(np.abs(fit.values(k) / kernel_at("l1", 0.5, k) - 1)) <= 1e-6


def test_soe_special_cases():
    assert soe_kernel("gl", 0.5, 10**4, 1e-6) is soe_kernel("gl", 0.5, 10**4, 1e-6)  # cached
    for scheme in ("gl", "l1"):  # order 1: no history at all
        fit = soe_kernel(scheme, 1.0, 10**4, 1e-6)
        assert fit.K == 0 and fit.k0 == 0 and fit.c0 == 1.0
    fit = soe_kernel("pi_trap", 1.0, 10**4, 1e-6)  # constant tail t_k = 2
    np.testing.assert_array_equal(fit.decay, [1.0])
    np.testing.assert_array_equal(fit.values(np.arange(6)), [1, 2, 2, 2, 2, 2])
    fit = soe_kernel("l1", 0.5, 10, 1e-6)  # short runs: every lag exact
    assert fit.K == 0 and fit.k0 == 10 and fit.max_rel_error == 0.0
    np.testing.assert_array_equal(fit.exact, l1_kernel(0.5, 11)[1:])
    fit = soe_kernel("gl", 0.5, 10**5, 1e-9, k0=8)
    assert fit.k0 == 8 and fit.max_rel_error <= 1e-9


def test_soe_falls_back_to_the_verified_quadrature(monkeypatch):
    bad = (1, np.array([0.01]), np.array([1.0]))  # one node: fails the check
    monkeypatch.setattr(soe, "_compress", lambda *args: bad)
    fit = build_soe_kernel("gl", 0.5, 10**5, 1e-9)
    assert fit.method == "quadrature" and fit.max_rel_error <= 1e-9 and fit.K > 60
    monkeypatch.setattr(soe, "_compress", lambda *args: None)
    fit = build_soe_kernel("pi_trap", 0.3, 10**5, 1e-6)
    assert fit.method == "quadrature" and fit.max_rel_error <= 1e-6
    monkeypatch.setattr(soe, "_reference_nodes", lambda *args: (np.array([1.0]), np.ones(1)))
    with pytest.raises(RuntimeError, match="cannot reach tol"):
        build_soe_kernel("gl", 0.5, 10**5, 1e-9)


def test_soe_fits_are_kept_on_disk(tmp_path, monkeypatch):
    """A verified fit is written to the cache directory and read back identically."""
    from fracsim.fractional import soe as soe_module

    monkeypatch.setenv("FRACSIM_CACHE_DIR", str(tmp_path))
    soe_module._soe_cached.cache_clear()
    first = soe_kernel("l1", 0.55, 5000, 1e-7)
    files = list((tmp_path / "soe").glob("*.npz"))
    assert len(files) == 1
    soe_module._soe_cached.cache_clear()
    again = soe_kernel("l1", 0.55, 5000, 1e-7)
    soe_module._soe_cached.cache_clear()
    for name in ("decay", "weight", "exact"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert (again.c0, again.max_rel_error, again.n_max, again.method) == (
        first.c0, first.max_rel_error, first.n_max, first.method)
