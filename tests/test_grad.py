"""fs.grad.value_and_grad / jvp: adjoint = forward = central finite differences, and the
differentiated recurrence reproduces fs.simulate."""

import numpy as np
import pytest
from _gradcheck import all_methods, assert_agree

import fracsim as fs
from fracsim.fractional.weights import kernel_at
from fracsim.grad import api
from fracsim.grad.alpha import kernel_derivative, soe_derivative
from fracsim.grad.trajectory import run_primal

SIG = fs.surrogate.Sigmoid(width=1.0)


def _target(n_steps, n, base=-60.0, amp=5.0):
    t = np.arange(n_steps)[:, None]
    return base + amp * np.sin(0.05 * t + np.arange(n)[None, :])


def _setup(model, t_stop, dt, current, n, **kw):
    sur = kw.pop("surrogate", SIG if model.has_reset else None)
    return api.build(model, t_stop, dt, current, n, surrogate=sur, **kw)


# ------------------------------------------------------------------ reproduction of simulate
COND_TERMS = [("fast", -2.0, 0.0), ("slow", 2.0, 0.0), ("slow", -1.5, -1.5),
              ("ultraslow", 1.5, -1.5)]
REPRO = [
    ("lif-int", fs.LIF(tau=10.0), dict(current=np.array([20.0, 30.0])), None, None),
    ("lif-l1-full", fs.LIF(tau=10.0, alpha=0.7), dict(current=25.0), "l1", fs.FullMemory()),
    ("lif-gl-soe", fs.LIF(tau=10.0, alpha=np.array([0.6, 0.9])), dict(current=30.0), "gl",
     fs.SOE(1e-9)),
    ("lif-l1-soe-jump", fs.LIF(tau=10.0, alpha=0.8, reset="jump"), dict(current=25.0), "l1",
     fs.SOE(1e-9)),
    ("lif-gl-full-subtract", fs.LIF(tau=10.0, alpha=0.8, reset="subtract"),
     dict(current=fs.step_current([0.0, 20.0], [25.0, 35.0])), "gl", fs.FullMemory()),
    ("adlif-int", fs.AdLIF(tau=10.0, a=0.5, b=2.0), dict(current=25.0), None, None),
    ("adlif-l1-soe", fs.AdLIF(tau=10.0, a=0.5, b=2.0, alpha=0.8), dict(current=25.0), "l1",
     fs.SOE(1e-9)),
    ("lnm-int-deg2", fs.LNM(coef=(0.0, -1.0, 0.02), v_th=-52.0), dict(current=18.0), None,
     None),
    ("lnm-l1-full-deg3", fs.LNM(coef=(0.0, -1.0, 0.02, -0.0005), v_th=-52.0, alpha=0.8),
     dict(current=18.0), "l1", fs.FullMemory()),
    ("cond-int", fs.Conductance(terms=COND_TERMS),
     dict(current=-2.0, v0=0.0, v_s0=0.2, v_us0=0.3), None, None),
    ("cond-l1-soe", fs.Conductance(terms=COND_TERMS, tau_f=0.2, alpha=0.9),
     dict(current=-2.0, v0=0.0, v_s0=0.2, v_us0=0.3), "l1", fs.SOE(1e-9)),
    # refractory holds (integer: v = v_reset; fractional: zero increments)
    ("lif-int-ref", fs.LIF(tau=10.0, t_ref=2.0), dict(current=np.array([20.0, 30.0])), None,
     None),
    ("adlif-l1-soe-ref", fs.AdLIF(tau=10.0, a=0.5, b=2.0, alpha=0.8,
                                  t_ref=np.array([1.0, 3.0])), dict(current=60.0), "l1",
     fs.SOE(1e-9)),
    ("lnm-l1-full-deg3-ref", fs.LNM(coef=(0.0, -1.0, 0.02, -0.0005), v_th=-52.0, alpha=0.8,
                                    t_ref=1.5), dict(current=35.0), "l1", fs.FullMemory()),
]


@pytest.mark.parametrize("name, model, kw, scheme, memory", REPRO, ids=[r[0] for r in REPRO])
def test_trajectory_reproduces_simulate(name, model, kw, scheme, memory):
    kw = dict(kw)
    current = kw.pop("current")
    v0 = kw.pop("v0", None)
    dt = 0.05 if name.startswith("cond") else 0.1
    t_stop = 100.0 if name.startswith("cond") else 50.0
    res = fs.simulate(model, t_stop, dt, current, 2, scheme=scheme or "l1", memory=memory,
                      v0=v0, **kw)
    setup = _setup(model, t_stop, dt, current, 2, scheme=scheme or "l1", memory=memory, v0=v0,
                   init=kw)
    pr = run_primal(setup.prob)
    ref = res.state["v"]
    np.testing.assert_allclose(pr.rec_z[:, 0, :], ref, rtol=0, atol=1e-12 * np.max(np.abs(ref)))
    steps, ids = np.nonzero(pr.rec_s)
    order = np.lexsort((ids, steps))
    got = np.stack([steps[order], ids[order]])
    sim_order = np.lexsort((res.spikes.ids, res.spikes.times))
    # the engine stamps a spike of step n with the time of the new state, t_{n+1}
    want = np.stack([np.round(res.spikes.times[sim_order] / dt).astype(int) - 1,
                     res.spikes.ids[sim_order]])
    np.testing.assert_array_equal(got, want)
    if model.has_reset:
        assert got.shape[1] > 0  # the reset path is exercised
    if isinstance(memory, fs.SOE):
        assert setup.prob.K > 0 and setup.prob.wraps  # the exponential states are in use
    if name.endswith("-ref"):  # the holds are in use: no two spikes closer than t_ref
        ref = setup.prob.ref
        assert ref.max() > 0
        for i in range(2):
            gaps = np.diff(np.flatnonzero(pr.rec_s[:, i]))
            assert gaps.size and gaps.min() > ref[i]


# -------------------------------------------------------------- adjoint = forward = FD
N_STEPS = 300
LIF_P = ["tau", "v_rest", "v_th", "v_reset", "R", "current"]
ADLIF_P = ["tau", "tau_w", "a", "b", "v_rest", "v_th", "v_reset", "R", "current"]
LNM_P = ["tau", "v_ref", "v_th", "v_reset", "R", "coef", "current"]
I2 = np.array([20.0, 24.0])
CASES = [
    ("lif-int", fs.LIF(tau=np.array([10.0, 12.0]), v_th=-52.0), LIF_P, dict(current=I2)),
    ("lif-l1-full", fs.LIF(tau=10.0, v_th=-52.0, alpha=np.array([0.7, 0.85])),
     LIF_P + ["alpha"], dict(current=I2, scheme="l1", memory=fs.FullMemory())),
    ("lif-gl-full", fs.LIF(tau=10.0, v_th=-52.0, alpha=0.75), LIF_P + ["alpha"],
     dict(current=I2, scheme="gl", memory=fs.FullMemory())),
    ("lif-l1-soe", fs.LIF(tau=10.0, v_th=-52.0, alpha=0.7), LIF_P + ["alpha"],
     dict(current=I2, scheme="l1", memory=fs.SOE(1e-9))),
    ("lif-gl-soe", fs.LIF(tau=10.0, v_th=-52.0, alpha=np.array([0.6, 0.85])),
     LIF_P + ["alpha"], dict(current=I2, scheme="gl", memory=fs.SOE(1e-9))),
    ("lif-l1-soe-jump", fs.LIF(tau=10.0, v_th=-52.0, alpha=0.8, reset="jump"),
     LIF_P + ["alpha"], dict(current=I2, scheme="l1", memory=fs.SOE(1e-9))),
    ("lif-gl-full-subtract", fs.LIF(tau=10.0, v_th=-52.0, alpha=0.8, reset="subtract"),
     LIF_P + ["alpha"], dict(current=I2, scheme="gl", memory=fs.FullMemory())),
    ("lif-l1-short", fs.LIF(tau=10.0, v_th=-52.0, alpha=0.8), LIF_P + ["alpha"],
     dict(current=I2, scheme="l1", memory=fs.ShortMemory(40))),
    ("adlif-int", fs.AdLIF(tau=10.0, a=0.5, b=2.0, v_th=-52.0), ADLIF_P, dict(current=I2)),
    ("adlif-l1-soe", fs.AdLIF(tau=10.0, a=0.5, b=2.0, v_th=-52.0, alpha=0.8),
     ADLIF_P + ["alpha"], dict(current=I2, scheme="l1", memory=fs.SOE(1e-9))),
    ("lnm-int-deg2", fs.LNM(coef=(0.0, -1.0, 0.02), v_th=-52.0), LNM_P,
     dict(current=np.array([15.0, 18.0]))),
    ("lnm-int-deg1", fs.LNM(coef=(0.5, -1.0), v_th=-52.0), LNM_P,
     dict(current=np.array([15.0, 18.0]))),
    ("lnm-l1-full-deg3", fs.LNM(coef=(0.0, -1.0, 0.02, -0.0005), v_th=-52.0, alpha=0.8),
     LNM_P + ["alpha"], dict(current=np.array([15.0, 18.0]), scheme="l1",
                             memory=fs.FullMemory())),
    ("lnm-gl-soe-deg2", fs.LNM(coef=(0.0, -1.0, 0.02), v_th=-52.0, alpha=0.7),
     LNM_P + ["alpha"], dict(current=np.array([15.0, 18.0]), scheme="gl",
                             memory=fs.SOE(1e-9))),
    ("lif-int-ref", fs.LIF(tau=np.array([10.0, 12.0]), v_th=-52.0, t_ref=2.0), LIF_P,
     dict(current=I2)),
    ("lif-l1-soe-ref", fs.LIF(tau=10.0, v_th=-52.0, alpha=0.7, t_ref=1.0), LIF_P + ["alpha"],
     dict(current=I2, scheme="l1", memory=fs.SOE(1e-9))),
    ("adlif-int-ref", fs.AdLIF(tau=10.0, a=0.5, b=2.0, v_th=-52.0, t_ref=2.0), ADLIF_P,
     dict(current=I2)),
    ("lnm-gl-full-deg2-ref", fs.LNM(coef=(0.0, -1.0, 0.02), v_th=-52.0, alpha=0.7, t_ref=1.0),
     LNM_P + ["alpha"], dict(current=np.array([15.0, 18.0]), scheme="gl",
                             memory=fs.FullMemory())),
]


@pytest.mark.parametrize("name, model, params, kw", CASES, ids=[c[0] for c in CASES])
def test_relaxed_gradients_agree(name, model, params, kw):
    loss = fs.loss.mse(_target(N_STEPS, 2), on="v")
    args = dict(t_stop=N_STEPS * 0.1, dt=0.1, n=2, surrogate=SIG, relaxed=True, **kw)
    res = all_methods(model, params, loss, **args)
    assert_agree(res, params)
    setup = _setup(model, N_STEPS * 0.1, 0.1, kw["current"], 2, relaxed=True,
                   scheme=kw.get("scheme", "l1"), memory=kw.get("memory"))
    pr = run_primal(setup.prob)
    assert pr.rec_s.sum() > 1.0  # relaxed spikes happened: the reset is differentiated
    if isinstance(kw.get("memory"), fs.SOE):
        assert setup.prob.K > 0 and setup.prob.wraps
    # per-neuron parameters give per-neuron gradients, shared ones a scalar
    for p in params:
        g = res["adjoint"][1][p]
        if p == "coef":
            assert g.shape == (len(model.coef),)
        elif p == "current" or np.ndim(model._values.get(p, 0.0)) == 1:
            assert g.shape == (2,)
        else:
            assert g.shape == ()


COND_P = ["tau_m", "tau_f", "tau_s", "tau_us", "v_rest", "R", "fast_neg_gain",
          "fast_neg_offset", "slow_pos_gain", "slow_neg_offset", "ultraslow_pos_gain",
          "current"]


@pytest.mark.parametrize("alpha, scheme, memory, tau_f, state0", [
    (1.0, "l1", None, 0.5, True), (1.0, "l1", None, 0.0, True),
    (0.85, "l1", fs.SOE(1e-9), 0.5, True), (0.85, "gl", fs.FullMemory(), 0.0, True),
    (0.9, "l1", fs.SOE(1e-9), 0.5, False)])
def test_conductance_exact_gradient(alpha, scheme, memory, tau_f, state0):
    """No reset, smooth loss on v: the gradient is exact (no surrogate, no relaxation)."""
    model = fs.Conductance(terms=COND_TERMS, tau_f=tau_f, alpha=alpha)
    params = [p for p in COND_P if not (p == "tau_f" and tau_f == 0.0)]
    if alpha < 1:
        params.append("alpha")
    n_steps = 2000
    loss = fs.loss.mse(np.sin(0.01 * np.arange(n_steps))[:, None], on="v")
    init = dict(v0=0.0, v_s0=0.2, v_us0=0.3) if state0 else {}  # else: all at v_rest
    res = all_methods(model, params, loss, t_stop=n_steps * 0.05, dt=0.05, current=-1.0,
                       scheme=scheme, memory=memory, **init)
    assert_agree(res, params)


def test_soe_alpha_gradient_matches_full_memory():
    """The SOE alpha-derivative (exact window + fitted tail derivative) equals the exact
    full-memory one to about the SOE tolerance."""
    model = fs.LIF(tau=10.0, v_th=-52.0, alpha=0.6)
    loss = fs.loss.mse(_target(1500, 1), on="v")
    kw = dict(t_stop=150.0, dt=0.1, current=20.0, surrogate=SIG, relaxed=True)
    _, g_full = fs.grad.value_and_grad(model, ["alpha", "tau"], loss, memory=fs.FullMemory(),
                                       **kw)
    _, g_soe = fs.grad.value_and_grad(model, ["alpha", "tau"], loss, memory=fs.SOE(1e-10),
                                      **kw)
    for p in ("alpha", "tau"):
        assert abs(g_soe[p] - g_full[p]) < 1e-6 * abs(g_full[p])


@pytest.mark.parametrize("scheme", ["gl", "l1"])
@pytest.mark.parametrize("alpha", [0.3, 0.8])
def test_kernel_alpha_derivative(scheme, alpha):
    k = np.array([0, 1, 2, 5, 63, 64, 65, 1000, 10**5], dtype=float)
    h = 1e-6
    fd = (kernel_at(scheme, alpha + h, k) - kernel_at(scheme, alpha - h, k)) / (2 * h)
    an = kernel_derivative(scheme, alpha, k)
    np.testing.assert_allclose(an, fd, rtol=1e-7, atol=1e-12)
    # GL: c_0 = 1 for every alpha; L1: c_0 = 1 / Γ(2 - alpha)
    assert (an[0] == 0.0) == (scheme == "gl") and np.all(an[1:] != 0.0)


def test_soe_tail_derivative_fit():
    from fracsim.fractional.memory import build_arrays

    for scheme in ("gl", "l1"):
        arr = build_arrays(np.array([0.5]), 0.1, scheme, fs.SOE(1e-9), 3000)
        w = arr.coef.shape[1] - 1
        gam, err = soe_derivative(scheme, 0.5, w, arr.lam[0], arr.horizon + 1)
        assert arr.lam.shape[1] > 10 and err < 1e-7
        k = np.arange(w + 1, 3001, dtype=float)
        fit = np.exp(np.multiply.outer(k, np.log(arr.lam[0]))) @ gam
        exact = kernel_derivative(scheme, 0.5, k)
        scale = kernel_at(scheme, 0.5, k) * (1 + np.log(k))
        assert np.max(np.abs(fit - exact) / scale) < 1e-7


def test_loss_on_spikes_and_other_states():
    model = fs.AdLIF(tau=10.0, a=0.5, b=2.0, v_th=-52.0, alpha=0.8)
    n_steps = 300
    rng = np.random.default_rng(0)
    target = (rng.random((n_steps, 2)) < 0.03).astype(float)
    loss = fs.loss.van_rossum(target, tau=5.0, dt=0.1)
    params = ["tau", "b", "v_th", "alpha", "current"]
    res = all_methods(model, params, loss, t_stop=30.0, dt=0.1, current=I2, n=2,
                       surrogate=SIG, relaxed=True, scheme="l1", memory=fs.SOE(1e-9))
    assert_agree(res, params)
    loss_w = fs.loss.mse(np.full((n_steps, 2), 1.0), on="w")
    res = all_methods(model, params, loss_w, t_stop=30.0, dt=0.1, current=I2, n=2,
                       surrogate=SIG, relaxed=True, scheme="l1", memory=fs.SOE(1e-9))
    assert_agree(res, params)


def test_time_varying_current():
    model = fs.LIF(tau=10.0, v_th=-52.0, alpha=0.8)
    cur = fs.TimedArray(np.array([[18.0, 22.0], [26.0, 20.0], [22.0, 28.0]]), dt=10.0)
    params = ["tau", "R", "alpha"]
    res = all_methods(model, params, fs.loss.mse(_target(N_STEPS, 2), on="v"),
                       t_stop=30.0, dt=0.1, current=cur, n=2, surrogate=SIG, relaxed=True,
                       scheme="gl", memory=fs.FullMemory())
    assert_agree(res, params)


# ------------------------------------------------------------- hard threshold + surrogate
@pytest.mark.parametrize("surrogate", [fs.surrogate.Sigmoid(2.0), fs.surrogate.MPDAGL()])
@pytest.mark.parametrize("memory", [None, fs.SOE(1e-9)])
def test_surrogate_gradient_adjoint_equals_forward(surrogate, memory):
    """With a hard threshold the gradient is the surrogate gradient; adjoint and forward
    compute the same one (FD does not apply: the map is piecewise constant in spike times)."""
    alpha = 0.8 if memory is not None else 1.0
    model = fs.LIF(tau=10.0, v_th=-52.0, alpha=alpha)
    loss = fs.loss.mse(_target(N_STEPS, 3), on="v")
    params = ["tau", "v_th", "v_reset", "current"] + (["alpha"] if alpha < 1 else [])
    kw = dict(t_stop=30.0, dt=0.1, current=np.array([20.0, 24.0, 30.0]), n=3,
              surrogate=surrogate, memory=memory)
    va, ga = fs.grad.value_and_grad(model, params, loss, method="adjoint", **kw)
    vf, gf = fs.grad.value_and_grad(model, params, loss, method="forward", **kw)
    res = fs.simulate(model, 30.0, 0.1, kw["current"], 3, memory=memory)
    assert va == vf == pytest.approx(np.mean((res.state["v"] - _target(N_STEPS, 3)) ** 2),
                                     rel=1e-12)
    assert len(res.spikes.times) > 3
    for p in params:
        np.testing.assert_allclose(ga[p], gf[p], rtol=1e-9, atol=1e-12 * np.max(np.abs(gf[p])))
    # the spike derivative matters: without it (surrogate width -> 0) the threshold gradient
    # is zero, with it it is not
    assert np.all(np.abs(ga["v_th"]) > 0)


def test_mpdagl_width_follows_rule():
    model = fs.LIF(tau=10.0, v_th=-52.0)
    sur = fs.surrogate.MPDAGL(kappa=2.0, w_min=0.1, w_max=50.0)
    setup = _setup(model, 10.0, 0.1, np.array([18.0, 22.0, 26.0, 30.0]), 4, surrogate=sur)
    pr = run_primal(setup.prob)
    # widths from the pre-reset membrane potentials v_pre = rec_v[n+1] unless a reset
    x = pr.rec_z[1:, 0, :] - (-52.0)
    spiking = pr.rec_s[:-1] > 0
    rows = ~np.any(spiking, axis=1)
    want = sur.width(x[rows], 0.0)
    np.testing.assert_allclose(pr.widths[:-1][rows], want, rtol=1e-12)
    assert np.ptp(pr.widths) > 0


# ----------------------------------------------------------------------- jvp, checkpoints
def test_jvp_matches_trajectory_differences_and_adjoint():
    model = fs.LIF(tau=10.0, v_th=-52.0, alpha=0.75)
    kw = dict(t_stop=20.0, dt=0.1, current=I2, n=2, surrogate=SIG, relaxed=True,
              memory=fs.SOE(1e-9))
    direction = {"tau": 1.0, "alpha": 0.5, "current": np.array([0.3, -0.2])}
    rec, tan = fs.grad.jvp(model, direction, **kw)
    h = 1e-6

    def traj(sign):
        m = model.replace(tau=10.0 + sign * h, alpha=0.75 + sign * 0.5 * h)
        r, _ = fs.grad.jvp(m, {"tau": 1.0}, **{**kw, "current": I2 + sign * h * np.array(
            [0.3, -0.2])})
        return r["v"]

    fd = (traj(1) - traj(-1)) / (2 * h)
    assert np.max(np.abs(fd)) > 0.1
    np.testing.assert_allclose(tan["v"], fd, atol=1e-6 * np.max(np.abs(fd)))
    target = _target(200, 2)
    loss = fs.loss.mse(target, on="v")
    _, g = fs.grad.value_and_grad(model, list(direction), loss, **kw)
    gz = loss.grad(rec)["v"]
    lhs = np.sum(gz * tan["v"])
    rhs = sum(np.sum(g[p] * np.asarray(d)) for p, d in direction.items())
    assert lhs == pytest.approx(rhs, rel=1e-10)


@pytest.mark.parametrize("memory", [fs.FullMemory(), fs.SOE(1e-9)])
def test_checkpoint_interval_does_not_change_gradient(memory):
    model = fs.LIF(tau=10.0, v_th=-52.0, alpha=0.7)
    loss = fs.loss.mse(_target(N_STEPS, 2), on="v")
    kw = dict(t_stop=30.0, dt=0.1, current=I2, n=2, surrogate=SIG, memory=memory)
    grads = [fs.grad.value_and_grad(model, ["tau", "alpha"], loss, checkpoint=c, **kw)[1]
             for c in (1, 7, None, N_STEPS)]
    for g in grads[1:]:
        for p in ("tau", "alpha"):
            assert g[p] == pytest.approx(grads[0][p], rel=1e-12)
    setup = _setup(model, 30.0, 0.1, I2, 2, memory=memory)
    pr = run_primal(setup.prob)
    assert setup.prob.C == 18 and pr.ck_z.shape == (17, 1, 2)  # ceil(sqrt(300)) = 18


# ---------------------------------------------------------------------------- bad input
def _vg(**over):
    kw = dict(model=fs.LIF(alpha=0.8), params=["tau"], loss=fs.loss.mse(np.zeros((10, 1))),
              t_stop=1.0, dt=0.1, surrogate=SIG)
    kw.update(over)
    return fs.grad.value_and_grad(**kw)


@pytest.mark.parametrize("over, err, words", [
    (dict(params=["tau", "v_threshold"]), ValueError, "v_threshold"),
    (dict(params=["tau", "tau"]), ValueError, "twice"),
    (dict(params="tau"), TypeError, "params"),
    (dict(params=["t_ref"]), ValueError, "t_ref"),
    (dict(method="backprop"), ValueError, "method"),
    (dict(scheme="pi_trap"), ValueError, "pi_trap"),
    (dict(surrogate=None), ValueError, "surrogate"),
    (dict(surrogate="sigmoid"), TypeError, "surrogate"),
    (dict(relaxed=True, surrogate=fs.surrogate.MPDAGL()), ValueError, "relaxed"),
    (dict(relaxed="yes"), TypeError, "relaxed"),
    (dict(current=np.ones(3)), ValueError, "current"),
    (dict(n=2, model=fs.LIF(tau=np.ones(3), alpha=0.8)), ValueError, "tau"),
    (dict(checkpoint=0), ValueError, "checkpoint"),
    (dict(loss=lambda r: 0.0), TypeError, "loss"),
    (dict(loss=fs.loss.mse(np.zeros((10, 1)), on="w")), ValueError, "'w'"),
    (dict(params=["alpha"], model=fs.LIF()), ValueError, "alpha"),
    (dict(params=["current"], current=fs.step_current([0.0, 0.5], [1.0, 2.0])), ValueError,
     "current"),
    (dict(model=fs.LIF(alpha=0.8, reset="restart")), ValueError, "restart"),
    (dict(model=fs.QIF()), TypeError, "QIF"),
    (dict(model=fs.LNM(factors=(0.04, -65.0, -45.0))), ValueError, "factors"),
    (dict(model=fs.Conductance(terms=COND_TERMS), params=["tau_m"],
          loss=fs.loss.mse(np.zeros((10, 1)), on="spikes")), ValueError, "spikes"),
    (dict(model=fs.Conductance(terms=COND_TERMS), params=["tau_m"], relaxed=True), ValueError,
     "relaxed"),
    (dict(model=fs.Conductance(terms=COND_TERMS), params=["tau_f"]), ValueError, "tau_f"),
    (dict(t_stop=-1.0), ValueError, "t_stop"),
    (dict(memory="soe"), TypeError, "memory"),
    (dict(eps=0.0), ValueError, "eps"),
])
def test_bad_arguments_are_rejected(over, err, words):
    with pytest.raises(err, match=words):
        _vg(**over)


def test_bad_jvp_direction():
    with pytest.raises(ValueError, match="tangent\\['tau'\\]"):
        fs.grad.jvp(fs.LIF(), {"tau": np.ones(2)}, t_stop=1.0, n=3, surrogate=SIG)
    with pytest.raises(ValueError, match="coef"):
        fs.grad.jvp(fs.LNM(coef=(0.0, -1.0)), {"coef": 1.0}, t_stop=1.0, surrogate=SIG)
    with pytest.raises(ValueError, match="nope"):
        fs.grad.jvp(fs.LIF(), {"nope": 1.0}, t_stop=1.0, surrogate=SIG)
    with pytest.raises(TypeError, match="tangent"):
        fs.grad.jvp(fs.LIF(), ["tau"], t_stop=1.0, surrogate=SIG)
