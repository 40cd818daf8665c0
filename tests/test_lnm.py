"""Learnable Neuron Model: the LIF and QIF presets against fs.LIF / fs.QIF spike for spike
(integer and fractional order), the polynomial kernels against reference loops, the
stability report, the I-V curve and argument checks.

All integer-order LNM runs share one compiled loop; the fractional ones one per scheme.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fracsim as fs
from fracsim.errors import NonFiniteStateError
from fracsim.models import lnm as lnm_kernels
from fracsim.models.lnm import LNM

# bistable cubic: f = -(v + 70)(v + 60)(v + 50) / 100 = u - 0.01 u^3 with u = v + 60
CUBIC = (0.0, 1.0, 0.0, -0.01)


def same_run(a: fs.Result, b: fs.Result) -> None:
    """Identical spike trains (times and ids) and, if recorded, identical traces."""
    assert a.spikes.times.size > 0
    np.testing.assert_array_equal(a.spikes.times, b.spikes.times)
    np.testing.assert_array_equal(a.spikes.ids, b.spikes.ids)
    if "v" in a.state:
        np.testing.assert_array_equal(a.state["v"], b.state["v"])


# --------------------------------------------------------------------------------------
# presets reproduce the classic models exactly
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", [0.1, 0.01])
@pytest.mark.parametrize(("t_ref", "v_reset"), [(0.0, -65.0), (2.04, -70.0)])
def test_lif_preset_gives_the_lif_spike_trains(dt, t_ref, v_reset):
    kw = dict(tau=12.0, v_rest=-65.0, v_th=-50.0, v_reset=v_reset, t_ref=t_ref, R=1.5)
    currents = np.array([5.0, 9.9, 13.0, 20.0, 31.0, 47.5])  # rheobase 15 mV / R = 10
    run = dict(t_stop=300.0, dt=dt, current=currents, n=6)
    lif = fs.simulate(fs.LIF(**kw), **run)
    lnm = fs.simulate(LNM.preset("lif", **kw), **run)
    same_run(lif, lnm)
    counts = lnm.spikes.counts(6)
    assert counts[0] == counts[1] == 0 and np.all(np.diff(counts[2:]) > 0)
    assert counts[-1] > 30


def test_lif_preset_with_per_neuron_parameters_and_a_time_varying_current():
    kw = dict(tau=np.array([5.0, 10.0, 20.0, 40.0]), v_th=np.array([-50.0, -52.0, -48.0, -50.0]),
              t_ref=np.array([0.0, 1.0, 2.0, 0.5]), v_reset=-68.0)
    cur = fs.step_current([0.0, 50.0, 120.0], [25.0, 60.0, 18.0])
    run = dict(t_stop=200.0, dt=0.1, current=cur, n=4, v0=np.array([-70.0, -60.0, -55.0, -65.0]))
    same_run(fs.simulate(fs.LIF(**kw), **run), fs.simulate(LNM.preset("lif", **kw), **run))


@pytest.mark.parametrize("dt", [0.1, 0.01])
@pytest.mark.parametrize("t_ref", [0.0, 2.0])
def test_qif_preset_gives_the_qif_spike_trains(dt, t_ref):
    kw = dict(tau=8.0, k=0.05, v_rest=-62.0, v_c=-48.0, v_peak=10.0, v_reset=-58.0,
              t_ref=t_ref)
    currents = np.array([1.0, 3.0, 5.0, 10.0, 20.0])  # rheobase k ((v_c - v_rest)/2)^2 = 2.45
    run = dict(t_stop=300.0, dt=dt, current=currents, n=5)
    qif = fs.simulate(fs.QIF(**kw), **run)
    lnm = fs.simulate(LNM.preset("qif", **kw), **run)
    same_run(qif, lnm)
    counts = lnm.spikes.counts(5)
    assert counts[0] == 0 and np.all(np.diff(counts[1:]) > 0)


def test_qif_preset_defaults_and_per_neuron_peak():
    kw = dict(v_peak=np.array([0.0, 20.0, -20.0]), t_ref=1.0)
    run = dict(t_stop=200.0, dt=0.05, current=np.array([4.0, 8.0, 12.0]), n=3)
    same_run(fs.simulate(fs.QIF(**kw), **run), fs.simulate(LNM.preset("qif", **kw), **run))


def test_from_model_equals_preset():
    lif = fs.LIF(tau=15.0, v_rest=-70.0, v_th=-52.0, t_ref=1.0, alpha=0.9, reset="restart")
    m = LNM.from_model(lif)
    assert m.coef == (0.0, -1.0) and m.v_ref == -70.0 and m.degree == 1
    assert (m.tau, m.v_th, m.v_reset, m.t_ref, m.alpha, m.reset) == (
        15.0, -52.0, -65.0, 1.0, 0.9, "restart")
    np.testing.assert_array_equal(m.pack(3, 0.1), LNM.preset(
        "lif", tau=15.0, v_rest=-70.0, v_th=-52.0, t_ref=1.0, alpha=0.9).pack(3, 0.1))
    q = LNM.from_model(fs.QIF(k=0.02, v_rest=-60.0, v_c=-40.0, v_peak=5.0))
    assert q.factors == (0.02, -60.0, -40.0) and q.v_th == 5.0 and q.degree == 2
    # coef: the expansion of 0.02 u (u - 20) about v_ref = v_rest
    np.testing.assert_allclose(q.coef, (0.0, -0.4, 0.02), rtol=1e-15, atol=0)


# --------------------------------------------------------------------------------------
# fractional order
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["gl", "l1", "pi_trap"])
def test_fractional_lif_preset_equals_fractional_lif(scheme):
    kw = dict(tau=10.0, v_th=-50.0, t_ref=1.0, alpha=0.7)
    currents = np.array([10.0, 16.0, 25.0, 40.0])
    run = dict(t_stop=150.0, dt=0.1, current=currents, n=4, scheme=scheme,
               memory=fs.SOE(1e-9))
    lif = fs.simulate(fs.LIF(**kw), **run)
    lnm = fs.simulate(LNM.preset("lif", **kw), **run)
    assert lnm.spikes.times.size >= 8
    np.testing.assert_array_equal(lif.spikes.times, lnm.spikes.times)
    np.testing.assert_array_equal(lif.spikes.ids, lnm.spikes.ids)
    np.testing.assert_allclose(lnm.state["v"], lif.state["v"], rtol=0, atol=1e-12)


def test_fractional_qif_preset_equals_fractional_qif():
    kw = dict(alpha=0.8, t_ref=0.5)
    run = dict(t_stop=150.0, dt=0.05, current=np.array([3.0, 8.0, 15.0]), n=3, scheme="l1",
               memory=fs.SOE(1e-9))
    qif = fs.simulate(fs.QIF(**kw), **run)
    lnm = fs.simulate(LNM.preset("qif", **kw), **run)
    same_run(qif, lnm)


def test_linear_membrane_only_for_degree_one():
    assert LNM.linear_membrane is False  # the class default
    assert LNM.preset("lif").linear_membrane is True
    assert LNM(coef=(1.0, -2.0)).linear_membrane is True
    assert LNM.preset("qif").linear_membrane is False
    assert LNM(coef=CUBIC, v_ref=-60.0).linear_membrane is False


def test_rhs_is_f_theta_over_tau_with_its_derivative():
    v = np.linspace(-90.0, -30.0, 13)
    x = np.zeros((1, 1))
    for model in (LNM(coef=(0.5, -1.2, 0.03, 0.002, 1e-4), v_ref=-55.0, tau=7.0),
                  LNM(coef=CUBIC, v_ref=-60.0, tau=3.0), LNM.preset("qif", tau=4.0),
                  LNM(coef=(2.0, -0.5), tau=5.0)):
        p = tuple(model.pack(1, 0.1)[:, 0])
        got = np.array([lnm_kernels.rhs(vi, x, p, 0, 1.5) for vi in v])
        f = model.f_theta(v)
        np.testing.assert_allclose(got[:, 0], (f + 1.5) / model.tau, rtol=1e-13, atol=1e-13)
        h = 1e-5  # the derivative against a central difference of the numpy f_theta
        fd = (model.f_theta(v + h) - model.f_theta(v - h)) / (2 * h) / model.tau
        np.testing.assert_allclose(got[:, 1], fd, rtol=1e-7, atol=1e-9)


def test_cubic_fractional_schemes_run_and_soe_matches_full_memory():
    """A bistable cubic at alpha = 0.8: SOE within its tolerance of the exact history sum,
    and the trajectories settle at the stable fixed points -70 / -50 mV (or spike)."""
    m = LNM(coef=CUBIC, v_ref=-60.0, v_th=-45.0, v_reset=-75.0, alpha=0.8)
    run = dict(t_stop=300.0, dt=0.1, current=np.array([0.0, 0.0, 1.0, 30.0]), n=4,
               v0=np.array([-63.0, -57.0, -66.0, -60.0]), scheme="l1")
    full = fs.simulate(m, memory=fs.FullMemory(), **run)
    soe = fs.simulate(m, memory=fs.SOE(1e-9), **run)
    np.testing.assert_array_equal(full.spikes.times, soe.spikes.times)
    assert np.max(np.abs(full.state["v"] - soe.state["v"])) <= 1e-9 * 40.0
    end = full.state["v"][-1]
    assert abs(end[0] + 70.0) < 0.2 and abs(end[1] + 50.0) < 0.2  # either side of -60
    assert full.spikes.counts(4)[:3].sum() == 0 and full.spikes.counts(4)[3] >= 3


# --------------------------------------------------------------------------------------
# general polynomials at integer order: forward Euler with Horner's rule
# --------------------------------------------------------------------------------------


def euler_reference(coef, v_ref, tau, v_th, v_reset, current, v0, dt, n_steps):
    """Forward Euler in Python floats, the same operations as the kernel."""
    c = list(coef) + [0.0] * (5 - len(coef))
    v, out, spikes = float(v0), [], []
    for n in range(n_steps):
        u = v - v_ref
        f = (((c[4] * u + c[3]) * u + c[2]) * u + c[1]) * u + c[0]
        v = v + (dt / tau) * (f + current)
        if v >= v_th:
            spikes.append((n + 1) * dt)
            v = v_reset
        out.append(v)
    return np.array(out), np.array(spikes)


@pytest.mark.parametrize("coef", [CUBIC, (1.0, 0.3, 0.02, 0.0, 2e-5), (0.0, -1.0, 0.05)],
                         ids=["cubic", "quartic", "quadratic"])
def test_polynomial_step_is_forward_euler_with_horner(coef):
    dt, tau, n_steps = 0.05, 6.0, 4000
    m = LNM(coef=coef, v_ref=-60.0, tau=tau, v_th=-52.0, v_reset=-68.0)
    currents = np.array([0.0, 4.0, 12.0])
    res = fs.simulate(m, n_steps * dt, dt=dt, current=currents, n=3, v0=-64.0)
    total = 0
    for i, cur in enumerate(currents):
        v, spikes = euler_reference(coef, -60.0, tau, -52.0, -68.0, cur, -64.0, dt, n_steps)
        np.testing.assert_array_equal(res.state["v"][1:, i], v[:-1])
        np.testing.assert_allclose(res.spikes.of(i), spikes, rtol=0, atol=1e-9)
        total += spikes.size
    assert total > 0


# --------------------------------------------------------------------------------------
# stability report and runaway warning
# --------------------------------------------------------------------------------------


def test_cubic_fixed_points_and_stability():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = LNM(coef=CUBIC, v_ref=-60.0, v_th=-40.0)
    st = m.stability
    # roots of u - 0.01 u^3: u = -10, 0, 10; f'(u) = 1 - 0.03 u^2 = -2, 1, -2
    np.testing.assert_allclose(st.fixed_points, [-70.0, -60.0, -50.0], atol=1e-10)
    np.testing.assert_allclose(st.slopes, [-2.0, 1.0, -2.0], atol=1e-10)
    np.testing.assert_array_equal(st.stable, [True, False, True])
    assert st.diverges_below is False and np.isnan(st.escape_below)
    assert "-70 mV (stable), -60 mV (unstable), -50 mV (stable)" in st.summary
    # only the fixed points below threshold are reported
    low = LNM(coef=CUBIC, v_ref=-60.0, v_th=-55.0).stability
    np.testing.assert_allclose(low.fixed_points, [-70.0, -60.0], atol=1e-10)
    np.testing.assert_array_equal(low.stable, [True, False])
    assert len(repr(m)) < 120 and "coef=(0, 1, 0, -0.01)" in repr(m)


def test_presets_report_their_classic_fixed_points():
    st = LNM.preset("lif", v_rest=-70.0).stability
    np.testing.assert_allclose(st.fixed_points, [-70.0], atol=1e-12)
    assert list(st.stable) == [True] and not st.diverges_below
    st = LNM.preset("qif").stability  # k (v + 65)(v + 50): rest -65 stable, -50 unstable
    np.testing.assert_array_equal(st.fixed_points, [-65.0, -50.0])
    np.testing.assert_allclose(st.slopes, [-0.6, 0.6], rtol=1e-12)
    assert list(st.stable) == [True, False] and not st.diverges_below


@pytest.mark.parametrize(("coef", "escape"), [
    ((0.0, -1.0, 0.0, 0.01), -70.0),  # odd degree, c_3 > 0: runs away below u = -10
    ((1.0, 0.0, -0.01), -70.0),  # even degree, c_2 < 0: below the lower root u = -10
    ((0.0, 0.5), -60.0),  # unstable line
    ((-1.0, 0.0, -0.01), -45.0),  # no real root: f < 0 everywhere, escape below v_th
])
def test_runaway_polynomials_warn_naming_the_coefficients(coef, escape):
    with pytest.warns(RuntimeWarning, match=r"coef=\(.*\).*runs away to -inf"):
        m = LNM(coef=coef, v_ref=-60.0, v_th=-45.0, v_reset=-62.0)
    assert m.stability.diverges_below is True
    assert m.stability.escape_below == pytest.approx(escape, abs=1e-9)


def test_runaway_really_diverges_and_the_safe_side_settles():
    with pytest.warns(RuntimeWarning):
        m = LNM(coef=(0.0, -1.0, 0.0, 0.01), v_ref=-60.0, v_th=-45.0, v_reset=-62.0)
    # between the unstable -70 and -50 the stable -60 attracts
    ok = fs.simulate(m, 200.0, dt=0.1, v0=-68.0)
    assert abs(ok.state["v"][-1, 0] + 60.0) < 1e-6
    with pytest.raises(NonFiniteStateError):
        fs.simulate(m, 100.0, dt=0.1, v0=-72.0, record=())


def test_no_fixed_point_below_threshold_fires_without_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = LNM(coef=(3.0, 0.0, 0.01), v_ref=-60.0, v_th=-40.0)  # f = 3 + 0.01 u^2 > 0
    assert m.stability.fixed_points.size == 0 and not m.stability.diverges_below
    assert "fires without input" in m.stability.summary
    assert fs.simulate(m, 200.0, dt=0.1, record=()).spikes.times.size >= 3


# --------------------------------------------------------------------------------------
# I-V curve
# --------------------------------------------------------------------------------------


def test_steady_state_iv_closed_forms():
    v = np.linspace(-90.0, -20.0, 71)
    lif = LNM.preset("lif", v_rest=-70.0, R=2.0)
    np.testing.assert_allclose(lif.steady_state_iv(v), (v + 70.0) / 2.0, rtol=1e-14, atol=1e-13)
    qif = LNM.preset("qif", k=0.04, v_rest=-65.0, v_c=-50.0, R=0.5)
    np.testing.assert_allclose(qif.steady_state_iv(v), -0.04 * (v + 65.0) * (v + 50.0) / 0.5,
                               rtol=1e-14, atol=1e-12)
    # the same parabola from expanded coefficients (Horner) agrees to rounding
    horner = LNM(coef=qif.coef, v_ref=-65.0, R=0.5, v_th=0.0)
    np.testing.assert_allclose(horner.steady_state_iv(v), qif.steady_state_iv(v), atol=1e-12)
    # per-neuron R: a trailing neuron axis
    per = LNM.preset("lif", R=np.array([1.0, 4.0]))
    iv = per.steady_state_iv(v)
    assert iv.shape == (71, 2)
    np.testing.assert_allclose(iv[:, 1], (v + 65.0) / 4.0, rtol=1e-14, atol=1e-13)
    # the holding current keeps a subthreshold neuron exactly where it is
    assert LNM(coef=CUBIC, v_ref=-60.0).steady_state_iv(-55.0) == pytest.approx(
        -(5.0 - 0.01 * 125.0), rel=1e-14)


# --------------------------------------------------------------------------------------
# construction, validation, display
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("coef", [
    (1.0,), (0.0, 1.0, 0.0, 0.0, 0.0, 1e-5), (0.0, np.nan), (0.0, -1.0, np.inf),
    (0.0, -1.0, 0.0), (1.0, 0.0), [], 3.0, "01", (0.0, "a"), (True, -1.0),
    np.ones((2, 2)), {0: 1.0, 1: -1.0}, [(0.0, 1.0), 2.0],
])
def test_bad_coef_is_named(coef):
    with pytest.raises((ValueError, TypeError), match="LNM.coef"):
        LNM(coef=coef)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(v_th=-70.0), "v_th"), (dict(v_th=-65.0), "v_th"), (dict(tau=0.0), "tau"),
    (dict(tau=-1.0), "tau"), (dict(t_ref=-1.0), "t_ref"), (dict(R=0.0), "R"),
    (dict(alpha=1.2), "alpha"), (dict(v_ref=np.array([-65.0, -60.0])), "v_ref"),
    (dict(v_rest=-65.0), "v_rest"), (dict(coef=(0.0, -1.0), factors=(1.0, 0.0, 1.0)), "factors"),
    (dict(factors=(0.0, -65.0, -50.0)), "factors"), (dict(factors=(1.0, 2.0)), "factors"),
    (dict(reset="soft"), "reset"),
])
def test_bad_parameters_are_named(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        LNM(**kwargs)


def test_bad_presets_and_models_are_named():
    with pytest.raises(ValueError, match="preset"):
        LNM.preset("izhikevich")
    with pytest.raises(ValueError, match=r"preset\('qif'\).*v_c"):
        LNM.preset("qif", v_rest=-50.0, v_c=-60.0)
    with pytest.raises(TypeError, match="preset.*v_peak"):
        LNM.preset("lif", v_peak=0.0)
    with pytest.raises(ValueError, match="v_rest"):
        LNM.preset("lif", v_rest=np.array([-65.0, -70.0]))
    with pytest.raises(ValueError, match="QIF.k"):
        LNM.from_model(fs.QIF(k=np.array([0.04, 0.05])))
    with pytest.raises(TypeError, match="from_model"):
        LNM.from_model(fs.AdLIF())


def test_defaults_replace_and_repr():
    m = LNM()
    assert m.coef == (0.0, -1.0) and m.factors is None and m.v_ref == -65.0
    np.testing.assert_array_equal(m.initial_state(3), np.full((1, 3), -65.0))
    r = m.replace(tau=5.0)
    assert r.coef == m.coef and r.tau == 5.0
    q = LNM.preset("qif", alpha=0.5).replace(v_th=10.0)
    assert q.factors == (0.04, -65.0, -50.0) and q.v_th == 10.0 and q.alpha == 0.5
    h = q.replace(coef=CUBIC)
    assert h.factors is None and h.coef == CUBIC and h.degree == 3
    assert "factors=(0.04, -65, -50)" in repr(q) and len(repr(q)) < 120
    assert "coef" in LNM.describe()
