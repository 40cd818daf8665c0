"""Surrogate spike derivatives (incl. MPD-AGL's adaptive width) and losses with their gradients."""

import math

import numpy as np
import pytest
from numba import njit
from scipy.integrate import quad

from fracsim.grad import loss as L
from fracsim.grad import surrogate as S

FIXED = [S.Sigmoid, S.ArcTan, S.Triangle, S.Gaussian, S.Rectangle]
KINKS = {S.Triangle: (-1.0, 0.0, 1.0), S.Rectangle: (-0.5, 0.5)}  # in units of the width


def assert_fd(g, g_fd, rtol=1e-6):
    """Gradient equals finite differences to ``rtol`` relative to its largest entry."""
    g, g_fd = np.asarray(g), np.asarray(g_fd)
    assert g.shape == g_fd.shape
    scale = np.max(np.abs(g_fd))
    assert scale > 0
    np.testing.assert_allclose(g, g_fd, rtol=rtol, atol=rtol * scale)


@njit
def _eval_kernel(kind, params, xs, width_now):
    out = np.empty_like(xs)
    for i in range(xs.shape[0]):
        out[i] = S.surrogate_grad(kind, params, xs[i], width_now)
    return out


# ------------------------------------------------------------------------------- surrogates
@pytest.mark.parametrize("cls", FIXED)
@pytest.mark.parametrize("w", [0.3, 2.0])
def test_surrogate_normalised_and_symmetric(cls, w):
    s = cls(width=w)
    pts = [k * w for k in KINKS.get(cls, ())]
    if pts:
        integral = quad(lambda x: float(s.grad(x)), -2 * w, 2 * w, points=pts, limit=200)[0]
    else:
        integral = quad(lambda x: float(s.grad(x)), -np.inf, np.inf, limit=200)[0]
    assert integral == pytest.approx(1.0, rel=1e-8)
    assert s.relaxed(0.0) == pytest.approx(0.5, abs=1e-15)
    assert s.relaxed(-1e9 * w) == pytest.approx(0.0, abs=1e-8)
    assert s.relaxed(1e9 * w) == pytest.approx(1.0, abs=1e-8)
    x = np.linspace(-3 * w, 3 * w, 61)
    np.testing.assert_allclose(s.grad(x), s.grad(-x), rtol=1e-14, atol=0)
    assert np.all(np.diff(s.relaxed(x)) >= 0)


@pytest.mark.parametrize("cls", FIXED)
def test_surrogate_grad_is_derivative_of_relaxed(cls):
    w, h = 1.7, 1e-6
    x = np.random.default_rng(1).uniform(-4 * w, 4 * w, 400)
    for k in KINKS.get(cls, ()):
        x = x[np.abs(x - k * w) > 1e-3]
    fd = (cls(w).relaxed(x + h) - cls(w).relaxed(x - h)) / (2 * h)
    assert_fd(cls(w).grad(x), fd)


def test_surrogate_formulas_at_points():
    w = 2.0
    assert S.Sigmoid(w).grad(0.0) == pytest.approx(1 / (4 * w))
    assert S.ArcTan(w).grad(w) == pytest.approx(1 / (2 * math.pi * w))
    assert S.Triangle(w).grad(w / 2) == pytest.approx(0.5 / w)
    assert S.Triangle(w).grad(1.01 * w) == 0.0
    assert S.Gaussian(w).grad(w) == pytest.approx(math.exp(-0.5) / (math.sqrt(2 * math.pi) * w))
    assert S.Rectangle(w).grad(0.99 * w / 2) == pytest.approx(1 / w)
    assert S.Rectangle(w).grad(w / 2) == 0.0


def test_numba_kernel_matches_numpy():
    xs = np.linspace(-6.0, 6.0, 241)
    for cls in FIXED:
        s = cls(1.3)
        assert len(s.params) == S.N_PARAMS
        got = _eval_kernel(s.kind, s.params, xs, 99.0)  # width_now ignored by fixed kinds
        np.testing.assert_allclose(got, s.grad(xs), rtol=1e-13, atol=1e-300)
    for shape in ("rect", "triangle", "sigmoid", "arctan", "gaussian"):
        m = S.MPDAGL(shape=shape)
        got = _eval_kernel(m.kind, m.params, xs, 2.5)
        np.testing.assert_allclose(got, m.grad(xs, width=2.5), rtol=1e-13, atol=1e-300)
    assert np.all(_eval_kernel(S.KIND_NONE, (1.0, 0.0, 0.0, 0.0, 0.0), xs, 1.0) == 0.0)
    assert len({c.kind for c in FIXED} | {S.KIND_MPDAGL, S.KIND_NONE}) == 7


def test_surrogate_validation():
    for cls in FIXED:
        for bad in (0.0, -1.0, np.nan, np.inf):
            with pytest.raises(ValueError, match="width"):
                cls(width=bad)
        with pytest.raises(TypeError, match="width"):
            cls(width="wide")
        with pytest.raises(TypeError, match="width"):
            cls(width=True)
    for name in ("kappa", "w_min", "w_max"):
        with pytest.raises(ValueError, match=name):
            S.MPDAGL(**{name: -1.0})
    with pytest.raises(ValueError, match="w_max"):
        S.MPDAGL(w_min=2.0, w_max=1.0)
    with pytest.raises(ValueError, match="shape"):
        S.MPDAGL(shape="box")
    with pytest.raises(ValueError, match="statistic"):
        S.MPDAGL(statistic="iqr")
    with pytest.raises(ValueError, match="width"):
        S.MPDAGL().grad(np.ones(3), width=0.0)


# ---------------------------------------------------------------------------------- MPD-AGL
def test_mpdagl_width_is_the_documented_rule():
    rng = np.random.default_rng(2)
    v_th = -50.0
    v = v_th + rng.normal(1.0, 3.0, 1000) + rng.exponential(2.0, 1000)  # skewed, off-centre
    x = v - v_th
    m = S.MPDAGL(kappa=1.5, w_min=0.1, w_max=100.0)
    assert m.width(v, v_th) == pytest.approx(1.5 * np.sqrt(np.mean((x - x.mean()) ** 2)),
                                             rel=1e-13)
    mad = S.MPDAGL(kappa=1.5, statistic="mad")
    assert mad.width(v, v_th) == pytest.approx(
        1.5 * math.sqrt(math.pi / 2) * np.mean(np.abs(x - x.mean())), rel=1e-13)
    # Gaussian potentials: width = kappa * std, and "mad" estimates the same std
    g = v_th + rng.normal(0.0, 4.0, 400_000)
    assert S.MPDAGL(kappa=2.0).width(g, v_th) == pytest.approx(8.0, rel=5e-3)
    assert S.MPDAGL(kappa=2.0, statistic="mad").width(g, v_th) == pytest.approx(8.0, rel=5e-3)


def test_mpdagl_width_shift_and_per_neuron_thresholds():
    rng = np.random.default_rng(3)
    m = S.MPDAGL()
    v = rng.normal(-60.0, 2.0, 500)
    assert m.width(v + 7.0, -50.0) == pytest.approx(m.width(v, -50.0), rel=1e-12)
    v_th = rng.uniform(-55.0, -45.0, 500)  # heterogeneous thresholds: spread of v - v_th
    noise = rng.normal(0.0, 1.5, 500)
    assert m.width(v_th + noise, v_th) == pytest.approx(2 * np.std(noise), rel=1e-12)
    assert m.width(v_th + noise, v_th) < 0.5 * m.width(v_th + noise, -50.0)


def test_mpdagl_width_clipping():
    rng = np.random.default_rng(4)
    m = S.MPDAGL(kappa=2.0, w_min=0.5, w_max=10.0)
    assert m.width(np.full(100, -65.0), -50.0) == 0.5  # all at rest: spread 0
    assert m.width(np.array([-52.0]), -50.0) == 0.5  # one neuron: spread 0
    assert m.width(rng.normal(-50.0, 0.1, 1000), -50.0) == 0.5
    assert m.width(rng.normal(-50.0, 50.0, 1000), -50.0) == 10.0
    v = rng.normal(-50.0, 2.0, 1000)
    assert 0.5 < m.width(v, -50.0) < 10.0
    # per-step widths of a (T, N) record: rows are steps
    vt = np.stack([rng.normal(-50, s, 2000) for s in (0.01, 1.0, 3.0, 100.0)])
    w = m.width(vt, -50.0)
    assert w.shape == (4,)
    assert w[0] == 0.5 and w[3] == 10.0
    np.testing.assert_allclose(w[1:3], 2 * np.std(vt[1:3] + 50.0, axis=1), rtol=1e-12)


def test_mpdagl_keeps_a_constant_fraction_inside_the_support():
    rng = np.random.default_rng(5)
    z = rng.standard_normal(100_000)
    m, fixed = S.MPDAGL(kappa=2.0, w_min=1e-3, w_max=1e3), S.Rectangle(width=2.0)
    expected = math.erf(2.0 / (2 * math.sqrt(2)))  # 0.6827 for kappa = 2
    frac_adaptive, frac_fixed = [], []
    for scale in (0.2, 1.0, 5.0, 25.0):
        x = scale * z  # v - v_th for a population centred on the threshold
        frac_adaptive.append(np.mean(m.grad(x) > 0))
        frac_fixed.append(np.mean(fixed.grad(x) > 0))
    np.testing.assert_allclose(frac_adaptive, expected, atol=5e-3)
    assert max(frac_fixed) - min(frac_fixed) > 0.8  # a fixed width loses (almost) all of them


def test_mpdagl_grad_uses_per_step_width_as_a_constant():
    rng = np.random.default_rng(6)
    m = S.MPDAGL(shape="gaussian", kappa=1.0)
    x = rng.normal(0.0, 1.0, (3, 50)) * np.array([[0.5], [1.0], [3.0]])
    w = m.width(x)
    np.testing.assert_allclose(m.grad(x), S.Gaussian(1.0).grad(x / w[:, None]) / w[:, None],
                               rtol=1e-13)
    # no gradient through the width: grad is the derivative of relaxed at a frozen width
    h, wf = 1e-6, w[:, None]
    fd = (m.relaxed(x + h, width=wf) - m.relaxed(x - h, width=wf)) / (2 * h)
    assert_fd(m.grad(x, width=wf), fd)
    assert quad(lambda t: float(m.grad(t, width=2.3)), -np.inf, np.inf)[0] == pytest.approx(1.0)


@pytest.mark.parametrize("stat", ["std", "mad"])
def test_numba_adaptive_width_matches_numpy(stat):
    rng = np.random.default_rng(7)
    m = S.MPDAGL(kappa=1.7, w_min=0.2, w_max=30.0, statistic=stat)
    code = int(m.params[4])
    for sd in (0.01, 2.0, 80.0):
        v = rng.normal(-55.0, sd, 300)
        got = S.adaptive_width(v, -50.0, m.kappa, m.w_min, m.w_max, code)
        assert got == pytest.approx(m.width(v, -50.0), rel=1e-12)
        vth = rng.uniform(-52, -48, 300)
        got = S.adaptive_width(v, vth, m.kappa, m.w_min, m.w_max, code)
        assert got == pytest.approx(m.width(v, vth), rel=1e-12)
    assert S.adaptive_width(np.empty(0), -50.0, 1.0, 0.2, 3.0) == 0.2
    v = rng.normal(0.0, 1.0, 100)
    assert S.adaptive_width(v, 0.0, 1.0, 1e-3, 1e3) == pytest.approx(np.std(v), rel=1e-12)


# ------------------------------------------------------------------------------------ losses
def _spikes(rng, shape):
    return rng.uniform(0.0, 1.0, shape)  # relaxed spikes


def test_mse_gradient_and_value():
    rng = np.random.default_rng(10)
    rec = {"v": rng.normal(-60, 5, (20, 4)), "t": np.arange(20) * 0.1}
    target = rng.normal(-60, 5, (20, 1))  # broadcast over neurons
    w = rng.uniform(0, 2, (1, 4))
    loss = L.mse(target, on="v", weights=w)
    assert loss.value(rec) == pytest.approx(np.mean(w * (rec["v"] - target) ** 2))
    g = loss.grad(rec)
    assert set(g) == {"v"} and g["v"].shape == (20, 4)
    assert_fd(g["v"], L.numerical_grad(loss, rec, "v", eps=1e-5))
    val, g2 = loss.value_and_grad(rec)
    assert val == loss.value(rec) and np.array_equal(g2["v"], g["v"])
    assert L.mse(rec["v"]).value(rec) == 0.0
    with pytest.raises(ValueError, match="broadcast"):
        L.mse(np.zeros((3, 3))).value(rec)
    with pytest.raises(ValueError, match="weights"):
        L.mse(target, weights=-np.ones(4))
    with pytest.raises(ValueError, match="'u'"):
        L.mse(target, on="u").value(rec)


@pytest.mark.parametrize("shape", [(25, 6), (25, 3, 6)])
def test_readout_mse_gradients(shape):
    rng = np.random.default_rng(11)
    n_out, tau, dt = 2, 3.0, 0.5
    rec = {"spikes": _spikes(rng, shape)}
    target = rng.normal(0, 1, shape[:-1] + (n_out,))
    W, b = rng.normal(0, 1, (shape[-1], n_out)), rng.normal(0, 1, n_out)
    loss = L.readout_mse(target, tau, W=W, b=b, dt=dt)
    # trace and readout follow the documented recursion
    a, r = math.exp(-dt / tau), np.zeros(shape[1:])
    y = np.empty(shape[:-1] + (n_out,))
    for t in range(shape[0]):
        r = a * r + rec["spikes"][t]
        y[t] = r @ W + b
    np.testing.assert_allclose(loss.predict(rec), y, rtol=1e-12)
    assert loss.value(rec) == pytest.approx(np.mean((y - target) ** 2), rel=1e-12)
    assert_fd(loss.grad(rec)["spikes"], L.numerical_grad(loss, rec, "spikes"))
    pg = loss.param_grad(rec)
    assert set(pg) == {"W", "b"}
    assert_fd(pg["W"], L.numerical_grad(loss, rec, "W"))
    assert_fd(pg["b"], L.numerical_grad(loss, rec, "b"))


def test_readout_mse_default_weights_and_validation():
    rng = np.random.default_rng(12)
    rec = {"spikes": (rng.uniform(size=(10, 6)) < 0.3).astype(float)}
    loss = L.readout_mse(np.zeros((10, 3)), tau=5.0, dt=1.0)
    assert "W" not in loss.params
    loss.value(rec)
    W = loss.params["W"]
    np.testing.assert_array_equal(W, np.kron(np.ones((2, 1)), np.eye(3)) / 2)
    W += 1.0  # params are live: in-place updates change the loss
    assert loss.params["W"][0, 0] == 1.5
    assert_fd(loss.grad(rec)["spikes"], L.numerical_grad(loss, rec, "spikes"))
    with pytest.raises(ValueError, match="W"):
        L.readout_mse(np.zeros((10, 3)), 5.0, W=np.zeros((6, 2)), dt=1.0)
    with pytest.raises(ValueError, match="tau"):
        L.readout_mse(np.zeros((10, 3)), 0.0, dt=1.0)
    with pytest.raises(ValueError, match="dt"):
        L.readout_mse(np.zeros((10, 3)), 1.0, dt=-1.0)
    with pytest.raises(ValueError, match="rows"):
        L.readout_mse(np.zeros((10, 3)), 5.0, n_in=4, dt=1.0).value(rec)


def test_spike_count_ce():
    rng = np.random.default_rng(13)
    s = _spikes(rng, (15, 4))
    loss = L.spike_count_ce(2, scale=0.7)
    z = 0.7 * s.sum(axis=0)
    assert loss.value({"spikes": s}) == pytest.approx(np.log(np.exp(z).sum()) - z[2], rel=1e-12)
    assert_fd(loss.grad({"spikes": s})["spikes"], L.numerical_grad(loss, {"spikes": s}, "spikes"))
    sb = _spikes(rng, (15, 3, 4))
    lb = L.spike_count_ce(np.array([0, 3, 1]), scale=0.5)
    rec = {"spikes": sb}
    assert_fd(lb.grad(rec)["spikes"], L.numerical_grad(lb, rec, "spikes"))
    singles = [L.spike_count_ce(c, scale=0.5).value({"spikes": sb[:, i]})
               for i, c in enumerate([0, 3, 1])]
    assert lb.value(rec) == pytest.approx(np.mean(singles), rel=1e-12)
    with pytest.raises(ValueError, match="labels"):
        L.spike_count_ce(4).value({"spikes": s})
    with pytest.raises(TypeError, match="labels"):
        L.spike_count_ce(1.5)
    with pytest.raises(ValueError, match="shape"):
        lb.value({"spikes": s})


def test_van_rossum():
    rng = np.random.default_rng(14)
    tau, dt = 4.0, 0.5
    s, u = _spikes(rng, (40, 3)), (rng.uniform(size=(40, 3)) < 0.2).astype(float)
    loss = L.van_rossum(u, tau, dt)
    a, f, g, d2 = math.exp(-dt / tau), np.zeros(3), np.zeros(3), 0.0
    for t in range(40):
        f, g = a * f + s[t], a * g + u[t]
        d2 += dt / tau * np.sum((f - g) ** 2)
    assert loss.value({"spikes": s}) == pytest.approx(d2, rel=1e-12)
    assert_fd(loss.grad({"spikes": s})["spikes"], L.numerical_grad(loss, {"spikes": s}, "spikes"))
    assert loss.value({"spikes": u}) == 0.0
    # one unmatched spike: D^2 = (dt/tau) / (1 - a^2) -> 1/2 as dt/tau -> 0
    one = np.zeros((20_000, 1))
    one[10] = 1.0
    d2 = L.van_rossum(np.zeros_like(one), 10.0, 0.01).value({"spikes": one})
    assert d2 == pytest.approx(1e-3 / -math.expm1(-2e-3), rel=1e-10)
    assert d2 == pytest.approx(0.5, rel=2e-3)
    with pytest.raises(ValueError, match="shape"):
        loss.value({"spikes": s[:10]})


def test_custom_loss():
    rng = np.random.default_rng(15)
    rec = {"v": rng.normal(size=(8, 3)), "spikes": _spikes(rng, (8, 3))}
    loss = L.custom(lambda v: float(np.sum(np.sin(v))), lambda v: np.cos(v), on="v")
    assert_fd(loss.grad(rec)["v"], L.numerical_grad(loss, rec, "v"))
    pair = L.custom(lambda v, s: float(np.sum(v * s**2)), lambda v, s: (s**2, 2 * v * s),
                    on=("v", "spikes"))
    g = pair.grad(rec)
    assert_fd(g["v"], L.numerical_grad(pair, rec, "v"))
    assert_fd(g["spikes"], L.numerical_grad(pair, rec, "spikes"))
    bad = L.custom(lambda v: 0.0, lambda v: np.zeros(3), on="v")
    with pytest.raises(ValueError, match="shape"):
        bad.grad(rec)
    with pytest.raises(TypeError, match="grad_fn"):
        L.custom(lambda v: 0.0, None)
    with pytest.raises(ValueError, match="scalar"):
        L.custom(lambda v: v, lambda v: v).value(rec)


def test_numerical_grad_detects_a_wrong_gradient():
    rec = {"v": np.linspace(-1, 1, 7)}
    wrong = L.custom(lambda v: float(np.sum(v**3)), lambda v: 3 * v**2 + 1e-4, on="v")
    with pytest.raises(AssertionError):
        assert_fd(wrong.grad(rec)["v"], L.numerical_grad(wrong, rec, "v"))


def test_mse_by_steps_and_in_place_equal_the_whole_array():
    """The step-wise form simulators use (blocks of rows; nothing recorded) and the in-place
    gradient give the value and the gradient of the whole array."""
    rng = np.random.default_rng(12)
    x = rng.normal(-60, 5, (23, 4))
    target = rng.normal(-60, 5, (23, 1))
    for w in (None, rng.uniform(0, 2, (1, 4))):
        loss = L.mse(target, on="v", weights=w)
        val, g = loss.value_and_grad({"v": x})
        sw = loss.stepwise(x.shape)
        assert sw.key == "v"
        total, rows = 0.0, np.empty_like(x)
        for a in range(0, 23, 5):
            total += sw.partial(x[a:a + 5], a)
            sw.grad(x[a:a + 5], a, rows[a:a + 5])
        assert sw.finish(total) == pytest.approx(val, rel=1e-14)
        np.testing.assert_allclose(rows, g["v"], rtol=1e-14, atol=0)
        y = x.copy()
        val2, g2 = loss.value_and_grad({"v": y}, overwrite=True)
        assert val2 == pytest.approx(val, rel=1e-14)
        np.testing.assert_allclose(g2["v"], g["v"], rtol=1e-14, atol=0)
        if w is None:
            assert g2["v"] is y  # the gradient lives in the recorded array
    assert L.van_rossum(np.zeros((5, 2)), tau=2.0, dt=0.5).stepwise((5, 2)) is None
    bad = x.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"not finite at step 7, index \(2,\)"):
        L.mse(target).stepwise(x.shape).partial(bad[5:10], 5)
