"""The reference solvers against mpmath, closed forms, scipy and themselves.

Bounds are the measured values (noted beside each) with a safety factor of about 3-10.
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from scipy.special import erfcx

from fracsim.reference import (
    fractional_lif_first_spike,
    fractional_lif_voltage,
    mittag_leffler,
    solve_fde,
    solve_fde_spiking,
    solve_ode_spiking,
)
from fracsim.reference.fde import error_exponents

# LIF used throughout: tau D^a v = -(v - v_inf), v0 = v_reset = -65, v_th = -50 (mV), tau in ms^a
TAU, V_RESET, V_INF, V_TH = 20.0, -65.0, -40.0, -50.0


def lif_rhs(t, y):
    return -(y - V_INF) / TAU


# ---------------------------------------------------------------------------- Mittag-Leffler


def mp_ml(z: float, a: float, b: float = 1.0) -> mp.mpf:
    """E_{a,b}(z) at 40 digits: Talbot inversion of s^(a-b)/(s^a - z) for z <= 0, else the
    (positive-term) Taylor series."""
    with mp.workdps(40):
        a, b, z = mp.mpf(a), mp.mpf(b), mp.mpf(z)
        if z <= 0:
            return mp.invertlaplace(lambda s: s ** (a - b) / (s**a - z), 1, method="talbot")
        total, k = mp.mpf(0), 0
        while True:
            term = z**k / mp.gamma(a * k + b)
            total += term
            k += 1
            if term < mp.mpf(10) ** -45 * total and k > 10:
                return total


ML_POINTS = [(a, z) for a in (0.3, 0.5, 0.7, 0.9)
             for z in (-1e4, -300.0, -20.0, -1.5, -0.1, 0.7, 3.0, min(10.0, 0.5 * 400**a))]


def test_mittag_leffler_vs_mpmath():
    rel = [abs(mittag_leffler(z, a) - float(mp_ml(z, a))) / abs(float(mp_ml(z, a)))
           for a, z in ML_POINTS]
    assert max(rel) < 2e-14  # measured 5.0e-15 (alpha = 0.7, z = 10); 3.7e-16 for z <= 0


@pytest.mark.parametrize("a,b,z", [(0.3, 0.3, -50.0), (0.8, 0.8, -2.0), (0.6, 2.0, -1e3),
                                   (0.99, 1.0, -10.0), (1.5, 1.0, -30.0), (1.2, 1.7, 4.0)])
def test_mittag_leffler_two_parameter_vs_mpmath(a, b, z):
    ref = float(mp_ml(z, a, b)) if (z <= 0 and a <= 1) else float(_mp_series(z, a, b))
    assert abs(mittag_leffler(z, a, b) - ref) <= 3e-14 * abs(ref)  # measured <= 7e-15


def _mp_series(z, a, b):
    with mp.workdps(80):
        return mp.nsum(lambda k: mp.mpf(z) ** k / mp.gamma(mp.mpf(a) * k + b), [0, mp.inf])


def test_mittag_leffler_identities():
    z = np.concatenate([-np.logspace(-8, 6, 200), np.linspace(1e-6, 20.0, 100)])
    # alpha = 1/2: E(z) = exp(z^2) erfc(-z) = erfcx(-z)
    e_half = mittag_leffler(z, 0.5)
    assert np.max(np.abs(e_half / erfcx(-z) - 1)) < 1e-14  # measured 2.7e-15
    # alpha = 1, beta = 1: exp; alpha = 1, beta = 2: (e^z - 1) / z
    assert np.array_equal(mittag_leffler(z, 1.0), np.exp(z))
    zz = z[np.abs(z) < 700]
    assert np.max(np.abs(mittag_leffler(zz, 1.0, 2.0) / (np.expm1(zz) / zz) - 1)) < 1e-14
    # alpha = 2: cosh(sqrt z), cos(sqrt(-z))
    zp, zn = z[z > 0], z[z < 0]
    assert np.max(np.abs(mittag_leffler(zp, 2.0) / np.cosh(np.sqrt(zp)) - 1)) < 1e-14
    assert np.max(np.abs(mittag_leffler(zn, 2.0) - np.cos(np.sqrt(-zn)))) < 1e-12  # 3e-14
    # z = 0, scalars, shapes, infinities
    assert mittag_leffler(0.0, 0.4, 2.5) == pytest.approx(1 / math.gamma(2.5), rel=1e-15)
    assert isinstance(mittag_leffler(-1.0, 0.5), float)
    assert mittag_leffler(np.zeros((2, 3)) - 1.0, 0.5).shape == (2, 3)
    assert mittag_leffler(-np.inf, 0.7) == 0.0 and mittag_leffler(30.0, 0.2) == np.inf


def test_mittag_leffler_completely_monotone_on_negative_axis():
    x = np.logspace(-6, 6, 2000)
    for a in (0.1, 0.5, 0.9, 0.999):
        e = mittag_leffler(-x, a)
        assert np.all(np.diff(e) < 0) and np.all(e > 0) and e[0] < 1


@pytest.mark.parametrize("kw,name", [
    (dict(alpha=0.0), "alpha"), (dict(alpha=2.5), "alpha"), (dict(alpha=np.nan), "alpha"),
    (dict(alpha=0.5, beta=0.0), "beta"), (dict(alpha=0.5, beta=-1.0), "beta"),
])
def test_mittag_leffler_rejects_bad_parameters(kw, name):
    with pytest.raises(ValueError, match=name):
        mittag_leffler(-1.0, **kw)


# ---------------------------------------------------------------------------- exact LIF


LIF_CASES = [(-65.0, -40.0, -50.0, 20.0), (-70.0, -54.9, -55.0, 10.0), (0.0, 1.0, 1e-9, 3.0),
             (-65.0, -40.0, -40.0001, 5.0)]


@pytest.mark.parametrize("v0,v_inf,v_th,tau", LIF_CASES)
def test_lif_first_spike_alpha_one_closed_form(v0, v_inf, v_th, tau):
    with mp.workdps(30):  # tau ln((v_inf - v0) / (v_inf - v_th)), without cancellation
        exact = float(tau * mp.log(mp.mpf(v_inf - v0) / mp.mpf(v_inf - v_th)))
    got = fractional_lif_first_spike(1.0, tau, v0, v_inf, v_th)
    assert got == pytest.approx(exact, rel=1e-14)  # measured <= 5e-16


@pytest.mark.parametrize("v0,v_inf,v_th,tau", LIF_CASES)
def test_lif_first_spike_alpha_half_vs_mpmath(v0, v_inf, v_th, tau):
    # E_{1/2}(-x) = exp(x^2) erfc(x): t* = (tau x*)^2 with exp(x*^2) erfc(x*) = r
    with mp.workdps(40):
        r = mp.mpf(v_th - v_inf) / mp.mpf(v0 - v_inf)
        x0 = (1 - r) * mp.sqrt(mp.pi) / 2 if r > 0.9 else 1 / (r * mp.sqrt(mp.pi))
        x = mp.findroot(lambda x: mp.exp(x**2) * mp.erfc(x) - r, x0, tol=mp.mpf(10) ** -60)
        exact = float((tau * x) ** 2)
    got = fractional_lif_first_spike(0.5, tau, v0, v_inf, v_th)
    assert got == pytest.approx(exact, rel=1e-13)  # measured <= 3e-15


@pytest.mark.parametrize("a", [0.2, 0.5, 0.8, 0.99])
def test_lif_first_spike_is_the_threshold_crossing(a):
    t = fractional_lif_first_spike(a, TAU, V_RESET, V_INF, V_TH)
    assert fractional_lif_voltage(t, a, TAU, V_RESET, V_INF) == pytest.approx(V_TH, abs=1e-11)
    before = fractional_lif_voltage(t * (1 - 1e-9), a, TAU, V_RESET, V_INF)
    assert before < V_TH
    # smaller alpha: slower approach (heavier tail of E_a), later spike than alpha = 1
    assert t > fractional_lif_first_spike(1.0, TAU, V_RESET, V_INF, V_TH)


def test_lif_first_spike_edge_cases():
    assert fractional_lif_first_spike(0.5, TAU, -65.0, -55.0, -50.0) == math.inf  # v_inf < v_th
    assert fractional_lif_first_spike(0.5, TAU, -65.0, -50.0, -50.0) == math.inf  # = v_inf
    assert fractional_lif_first_spike(0.5, TAU, -50.0, -40.0, -50.0) == 0.0
    down = fractional_lif_first_spike(0.7, TAU, -40.0, -65.0, -50.0)  # downward passage
    assert fractional_lif_voltage(down, 0.7, TAU, -40.0, -65.0) == pytest.approx(-50.0)
    with pytest.raises(ValueError, match="alpha"):
        fractional_lif_first_spike(1.5, TAU, -65.0, -40.0, -50.0)
    with pytest.raises(ValueError, match="tau"):
        fractional_lif_voltage(1.0, 0.5, -1.0, -65.0, -40.0)
    with pytest.raises(ValueError, match="t must"):
        fractional_lif_voltage(-1.0, 0.5, TAU, -65.0, -40.0)


# ---------------------------------------------------------------------------- solve_fde


@pytest.mark.parametrize("a,bound", [(0.3, 2e-4), (0.5, 5e-5), (0.8, 2e-6), (1.0, 1e-11)])
def test_solve_fde_mittag_leffler_error_within_estimate(a, bound):
    # D^a y = -y, y(0) = 1: y = E_a(-t^a); 64 steps on [0, 2] (x8 with the extrapolation runs)
    t, y, err = solve_fde(lambda t, y: -y, 1.0, a, 2.0, 2.0 / 64)
    true = np.abs(y[:, 0] - mittag_leffler(-t**a, a))
    assert np.all(true <= err[:, 0])  # measured true/est <= 0.29 (0.3), 0.06, 0.09, 0.07
    assert true.max() < bound  # measured 3.3e-5, 9.9e-6, 1.6e-7, 6.0e-12 (max near t = 0)
    late = t >= 0.5
    assert true[late].max() < {0.3: 1e-6, 0.5: 3e-8, 0.8: 1e-9, 1.0: 1e-11}[a]
    # measured at t >= 0.5: 2.3e-7, 6.2e-9, 2.5e-10, 6.0e-12


@pytest.mark.parametrize("a", [0.3, 0.5, 0.8])
def test_solve_fde_observed_orders_on_mittag_leffler(a):
    # uniform grid, y ~ t^a near 0: error c1 h^(1+a) + c2 h^2 + ... at fixed t (here t = 2)
    exact = mittag_leffler(-(2.0**a), a)
    ns = (32, 64, 128, 256)
    vals = np.array([solve_fde(lambda t, y: -y, 1.0, a, 2.0, 2.0 / n,
                               extrapolate=False)[1][-1, 0] for n in ns])  # steps 1/n
    raw = np.log2(np.abs((vals[:-1] - exact) / (vals[1:] - exact)))
    assert np.all(np.abs(raw - (1 + a)) < 0.06)  # measured 1+a + (0.004 .. 0.04)
    p1 = 1 + a
    r1 = (2**p1 * vals[1:] - vals[:-1]) / (2**p1 - 1)  # h^(1+a) eliminated: next term is h^2
    second = np.log2(np.abs((r1[:-1] - exact) / (r1[1:] - exact)))
    assert np.all(np.abs(second - 2.0) < 0.12)  # measured 2.01 .. 2.07
    assert error_exponents(a, 2) == sorted({1 + a, min(1 + 2 * a, 2.0)})


@pytest.mark.parametrize("a", [0.3, 0.6, 0.9])
def test_solve_fde_nonlinear_manufactured(a):
    # exact y = 1 + t^a + t^2a; f(t, y) = D^a y_exact - y^2 + y_exact^2 (nonlinear in y)
    g1, g2 = math.gamma(1 + a), math.gamma(1 + 2 * a) / math.gamma(1 + a)

    def exact(t):
        return 1 + t**a + t ** (2 * a)

    def f(t, y):
        return g1 + g2 * t**a - y**2 + exact(t) ** 2

    t, y, err = solve_fde(f, 1.0, a, 2.0, 2.0 / 40, jac=lambda t, y: -2 * y.reshape(1, 1))
    true = np.abs(y[:, 0] - exact(t))
    assert np.all(true <= err[:, 0])  # measured true/est <= 0.13, 0.04, 0.15
    assert true.max() < 5e-5  # measured 3.2e-6 (0.3), 9.6e-8, 2.8e-8


def test_solve_fde_nonlinear_self_convergence():
    # D^a y = 1 - y^2, y(0) = 0 (tanh at a = 1): f ~ const - c t^(2a), leading error h^(1+2a)
    a = 0.4
    t_ref, y_ref, e_ref = solve_fde(lambda t, y: 1 - y**2, 0.0, a, 2.0, 2.0 / 256)
    for n in (16, 64):
        t, y, err = solve_fde(lambda t, y: 1 - y**2, 0.0, a, 2.0, 2.0 / n)
        true = np.abs(y[:, 0] - y_ref[:: 256 // n, 0])
        assert np.all(true <= err[:, 0] + e_ref[:: 256 // n, 0])  # measured ratio <= 0.05
    raw = [solve_fde(lambda t, y: 1 - y**2, 0.0, a, 2.0, 2.0 / n, extrapolate=False)[1][-1, 0]
           for n in (32, 64, 128)]
    order = math.log2(abs(raw[0] - y_ref[-1, 0]) / abs(raw[1] - y_ref[-1, 0]))
    assert abs(order - (1 + 2 * a)) < 0.1  # measured 1.80
    t1, y1, _ = solve_fde(lambda t, y: 1 - y**2, 0.0, 1.0, 2.0, 0.05)
    assert np.max(np.abs(y1[:, 0] - np.tanh(t1))) < 1e-9  # measured 1.1e-11


@pytest.mark.parametrize("kw,name", [
    (dict(alpha=0.0), "alpha"), (dict(alpha=1.2), "alpha"), (dict(alpha=[0.5, 0.5, 1.0]), "alpha"),
    (dict(h=0.0), "h"), (dict(h=-0.1), "h"), (dict(h=5.0), "h"), (dict(t_stop=-1.0), "t_stop"),
    (dict(method="l1"), "method"), (dict(levels=2), "levels"),
])
def test_solve_fde_rejects_bad_arguments(kw, name):
    args = dict(f=lambda t, y: -y, y0=[1.0, 0.0], alpha=0.5, t_stop=1.0, h=0.1)
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        solve_fde(**args)


# ---------------------------------------------------------------------------- spikes


@pytest.mark.parametrize("a,h", [(0.5, 0.5), (0.8, 0.1)])
def test_fde_first_spike_vs_exact_lif(a, h):
    exact = fractional_lif_first_spike(a, TAU, V_RESET, V_INF, V_TH)  # 490.27 ms, 40.19 ms
    sol = solve_fde_spiking(lif_rhs, V_RESET, a, 1.05 * exact, h, V_TH, V_RESET)
    assert len(sol.spike_times) == 1
    rel = abs(sol.spike_times[0] - exact) / exact
    assert rel < 1e-8  # target 1e-6; measured 8.0e-12 (a = 0.5), 3.5e-12 (a = 0.8)
    assert abs(sol.spike_times[0] - exact) <= sol.spike_err[0]
    # trajectory below threshold agrees with the exact voltage (finest run, no extrapolation)
    below = sol.t < sol.runs[-1][0]
    v_exact = fractional_lif_voltage(sol.t[below], a, TAU, V_RESET, V_INF)
    assert np.max(np.abs(sol.y[below, 0] - v_exact)) < 2e-3  # measured 5.8e-4, 3.3e-6
    at = sol.t == sol.runs[-1][0]  # both sides of the reset are listed
    assert np.allclose(sol.y[at, 0], [V_TH, V_RESET], rtol=0, atol=1e-9)


def test_restart_interspike_intervals_equal_first_spike_time():
    # "restart" clears the memory: every ISI is the first-passage time from v_reset
    a = 0.7
    t1 = fractional_lif_first_spike(a, TAU, V_RESET, V_INF, V_TH)  # 72.08 ms
    sol = solve_fde_spiking(lif_rhs, V_RESET, a, 3.5 * t1, 0.25, V_TH, V_RESET,
                            reset_mode="restart")
    isi = np.diff(np.concatenate([[0.0], sol.spike_times]))
    assert len(isi) == 3
    assert np.max(np.abs(isi / t1 - 1)) < 1e-8  # measured 3e-11
    assert np.all(np.abs(sol.spike_times - t1 * np.arange(1, 4)) <= sol.spike_err)


def test_shift_and_restart_differ_for_fractional_order():
    a = 0.7
    t1 = fractional_lif_first_spike(a, TAU, V_RESET, V_INF, V_TH)
    kw = dict(t_stop=3.5 * t1, h=0.25, threshold=V_TH, reset=V_RESET)
    jump = solve_fde_spiking(lif_rhs, V_RESET, a, reset_mode="shift", **kw)
    restart = solve_fde_spiking(lif_rhs, V_RESET, a, reset_mode="restart", **kw)
    assert jump.spike_times[0] == pytest.approx(restart.spike_times[0], rel=1e-10)
    # the memory of the earlier drive fades after the reset: jump ISIs lengthen (adaptation)
    assert len(jump.spike_times) == 2 and len(restart.spike_times) == 3
    assert jump.spike_times[1] - restart.spike_times[1] > 40.0  # 188.70 vs 144.16 ms
    assert np.all(jump.spike_err < 1e-6)


def test_shift_semantics_vs_independent_l1_scheme():
    # The "shift" reference is D^a (v - sum J_k H(t - t_k)) = f: an L1 scheme whose history
    # holds the increments of v *without* the reset jumps must converge to it (first order),
    # while an L1 scheme that keeps the jumps in the history (and enforces D^a v = f) does not.
    a, dt = 0.7, 0.02
    t1 = fractional_lif_first_spike(a, TAU, V_RESET, V_INF, V_TH)
    ref = solve_fde_spiking(lif_rhs, V_RESET, a, 2.7 * t1, 0.25, V_TH, V_RESET).spike_times
    without = _l1_spikes(a, dt, 2.7 * t1, keep_jump_in_history=False)
    with_jump = _l1_spikes(a, dt, 2.7 * t1, keep_jump_in_history=True)
    assert len(without) == len(ref) == 2
    assert np.max(np.abs(without - ref)) < 3 * dt  # measured 0.04 ms at dt = 0.02
    assert len(with_jump) > 4  # the reset is undone by its own history term: 10 spikes here


def _l1_spikes(a, dt, t_stop, keep_jump_in_history):
    """Implicit L1 for tau D^a v = -(v - v_inf), spike-time = first grid time above v_th."""
    n = int(round(t_stop / dt))
    k = np.arange(n + 1, dtype=float)
    b = (k + 1) ** (1 - a) - k ** (1 - a)
    g = dt**a * math.gamma(2 - a) / TAU
    v_prev, dv, spikes = V_RESET, np.zeros(n + 1), []
    for i in range(1, n + 1):
        hist = b[i - 1:0:-1] @ dv[1:i]
        v = (v_prev - hist + g * V_INF) / (1 + g)
        dv[i] = v - v_prev
        if v >= V_TH:
            spikes.append(i * dt)
            if keep_jump_in_history:
                dv[i] = V_RESET - v_prev
            v = V_RESET
        v_prev = v
    return np.array(spikes)


def test_ode_reference_isi_closed_form():
    isi = TAU * math.log((V_INF - V_RESET) / (V_INF - V_TH))  # 18.3258 ms
    sol = solve_ode_spiking(lif_rhs, V_RESET, 100.0, V_TH, V_RESET)
    assert len(sol.spike_times) == 5
    assert np.max(np.abs(sol.spike_times - isi * np.arange(1, 6))) < 1e-9  # measured 4.6e-11
    assert np.all(sol.spike_err < 1e-7)
    # the trajectory lists both sides of each reset
    at_spike = np.isclose(sol.t, sol.spike_times[0], rtol=0, atol=1e-12)
    assert at_spike.sum() == 2 and sol.y[at_spike, 0][-1] == V_RESET


def test_alpha_one_jump_equals_restart_equals_ode():
    isi = TAU * math.log((V_INF - V_RESET) / (V_INF - V_TH))
    kw = dict(t_stop=80.0, h=0.2, threshold=V_TH, reset=V_RESET)
    jump = solve_fde_spiking(lif_rhs, V_RESET, 1.0, reset_mode="shift", **kw)
    restart = solve_fde_spiking(lif_rhs, V_RESET, 1.0, reset_mode="restart", **kw)
    assert len(jump.spike_times) == len(restart.spike_times) == 4
    assert np.max(np.abs(jump.spike_times - restart.spike_times)) < 1e-11  # measured 3e-14
    ode = solve_ode_spiking(lif_rhs, V_RESET, 80.0, V_TH, V_RESET)
    assert np.all(np.abs(jump.spike_times - ode.spike_times) <= jump.spike_err)
    assert np.max(np.abs(jump.spike_times - ode.spike_times)) < 5e-8  # measured 3e-9 .. 1.2e-8
    assert np.all(np.abs(jump.spike_times - isi * np.arange(1, 5)) <= jump.spike_err)


def izhikevich(t, y, i_ext=10.0):
    v, u = y
    return np.array([0.04 * v * v + 5 * v + 140 - u + i_ext, 0.02 * (0.2 * v - u)])


def izh_reset(y):
    return np.array([-65.0, y[1] + 8.0])


def test_mixed_order_izhikevich_alpha_one_vs_ode():
    # v of order 1 here (membrane), u of order 1: must match DOP853 with events
    ode = solve_ode_spiking(izhikevich, [-65.0, -13.0], 40.0, 30.0, izh_reset)
    fde = solve_fde_spiking(izhikevich, [-65.0, -13.0], [1.0, 1.0], 40.0, 0.05, 30.0, izh_reset,
                            jac=lambda t, y: np.array([[0.08 * y[0] + 5, -1.0], [0.004, -0.02]]))
    assert len(ode.spike_times) == len(fde.spike_times) == 2
    diff = np.abs(fde.spike_times - ode.spike_times)
    assert np.all(diff <= fde.spike_err)  # measured 1.7e-7, 2.7e-7 vs est 1.4e-5, 3.5e-5
    assert np.max(diff) < 1e-5


def test_fractional_izhikevich_converges_and_modes_differ():
    runs = {}
    for mode in ("shift", "restart"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            runs[mode] = solve_fde_spiking(izhikevich, [-65.0, -13.0], [0.8, 1.0], 40.0, 0.05,
                                           30.0, izh_reset, reset_mode=mode)
    j, r = runs["shift"], runs["restart"]
    assert j.spike_times[0] == pytest.approx(r.spike_times[0], abs=1e-12)
    assert abs(j.spike_times[1] - r.spike_times[1]) > 1.0
    assert np.all(j.spike_err < 1e-3) and np.all(r.spike_err < 1e-3)  # measured <= 4e-4


@pytest.mark.parametrize("kw,name", [
    (dict(reset_mode="subtract"), "reset_mode"), (dict(h=0.0), "h"), (dict(alpha=1.5), "alpha"),
    (dict(y0=-40.0), "y0"), (dict(reset=np.nan), "reset"),
])
def test_solve_fde_spiking_rejects_bad_arguments(kw, name):
    args = dict(f=lif_rhs, y0=V_RESET, alpha=0.5, t_stop=10.0, h=0.1, threshold=V_TH,
                reset=V_RESET)
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        solve_fde_spiking(**args)
