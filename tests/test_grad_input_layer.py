"""fs.grad.InputLayer: a time-varying input I(t_n) = u[n] W_in + b_in with learnable W_in and
b_in; adjoint = forward = central finite differences, and the run reproduces fs.simulate."""

import numpy as np
import pytest
from _gradcheck import all_methods, assert_agree

import fracsim as fs
from fracsim.grad import api
from fracsim.grad.trajectory import run_primal

SIG = fs.surrogate.Sigmoid(width=1.0)
N_STEPS = 300
COND_TERMS = [("fast", -2.0, 0.0), ("slow", 2.0, 0.0), ("slow", -1.5, -1.5),
              ("ultraslow", 1.5, -1.5)]


def _inputs(n_steps, m, seed=0):
    """Smooth random inputs (N, M): sums of a few sines."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_steps)[:, None]
    return np.sin(rng.uniform(0.01, 0.08, m) * t + rng.uniform(0, 6, m))


def _layer(n_steps, m, n, scale, bias, seed=0):
    rng = np.random.default_rng(seed + 1)
    return fs.grad.InputLayer(_inputs(n_steps, m, seed), scale * rng.uniform(0.5, 1.5, (m, n)),
                              np.full(n, bias) + rng.uniform(-1, 1, n))


def _assert_agree(res, params, shapes):
    assert_agree(res, params, shapes=shapes)
    # every entry of W_in matters: no column or row was silently dropped
    if "W_in" in params:
        scale = np.max(np.abs(res["finite_difference"][1]["W_in"]))
        for m in ("adjoint", "forward"):
            assert np.all(np.abs(res[m][1]["W_in"]) > 1e-9 * scale)


@pytest.mark.parametrize("memory", [None, fs.SOE(1e-9)])
def test_lif_relaxed_input_layer_gradients_agree(memory):
    alpha = 0.75 if memory is not None else 1.0
    model = fs.LIF(tau=10.0, v_th=-52.0, alpha=alpha)
    layer = _layer(N_STEPS, 3, 2, scale=8.0, bias=12.0)
    t = np.arange(N_STEPS)[:, None]
    target = -60.0 + 5.0 * np.sin(0.05 * t + np.arange(2)[None, :])
    params = ["W_in", "b_in", "tau", "R"] + (["alpha"] if alpha < 1 else [])
    res = all_methods(model, params, fs.loss.mse(target, on="v"), t_stop=N_STEPS * 0.1,
                       dt=0.1, current=layer, n=2, surrogate=SIG, relaxed=True, scheme="l1",
                       memory=memory)
    _assert_agree(res, params, {"W_in": (3, 2), "b_in": (2,), "tau": ()})
    setup = api.build(model, N_STEPS * 0.1, 0.1, layer, 2, surrogate=SIG, relaxed=True,
                      memory=memory)
    assert run_primal(setup.prob).rec_s.sum() > 1.0  # relaxed spikes: the reset is in play


def test_conductance_input_layer_exact_gradients_agree():
    model = fs.Conductance(terms=COND_TERMS, tau_f=0.5, alpha=0.9)
    n_steps = 2000
    layer = _layer(n_steps, 2, 2, scale=0.8, bias=-1.0, seed=3)
    loss = fs.loss.mse(np.sin(0.01 * np.arange(n_steps))[:, None], on="v")
    params = ["W_in", "b_in", "tau_m", "slow_pos_gain", "alpha"]
    # this input drives the neuron through its fast positive-feedback region, where the loss
    # is strongly curved: the central difference's O(h^2) error is ~2e-6 at eps = 1e-5 and
    # ~2e-8 at eps = 1e-6 (adjoint and forward agree to 1e-14)
    res = all_methods(model, params, loss, t_stop=n_steps * 0.05, dt=0.05, current=layer, n=2,
                       scheme="l1", memory=fs.SOE(1e-9), v0=0.0, v_s0=0.2, v_us0=0.3, eps=1e-6)
    _assert_agree(res, params, {"W_in": (2, 2), "b_in": (2,)})


@pytest.mark.parametrize("model, memory", [
    (fs.LIF(tau=10.0, v_th=-52.0, alpha=0.8), fs.SOE(1e-9)),
    (fs.AdLIF(tau=10.0, a=0.5, b=2.0, v_th=-52.0), None)])
def test_input_layer_run_reproduces_simulate(model, memory):
    layer = _layer(N_STEPS, 3, 2, scale=8.0, bias=22.0)
    rec, tan = fs.grad.jvp(model, {"W_in": np.ones((3, 2))}, N_STEPS * 0.1, 0.1, layer, 2,
                           surrogate=SIG, memory=memory)
    res = fs.simulate(model, N_STEPS * 0.1, 0.1, fs.TimedArray(layer.u @ layer.W_in
                                                               + layer.b_in, 0.1), 2,
                      memory=memory)
    ref = res.state["v"]
    np.testing.assert_allclose(rec["v"], ref, rtol=0, atol=1e-12 * np.max(np.abs(ref)))
    assert len(res.spikes.times) > 2 and rec["spikes"].sum() == len(res.spikes.times)
    assert np.max(np.abs(tan["v"])) > 0


def test_input_layer_jvp_matches_adjoint():
    model = fs.LIF(tau=10.0, v_th=-52.0, alpha=0.75)
    layer = _layer(N_STEPS, 3, 2, scale=8.0, bias=12.0)
    kw = dict(t_stop=N_STEPS * 0.1, dt=0.1, current=layer, n=2, surrogate=SIG, relaxed=True,
              memory=fs.SOE(1e-9))
    rng = np.random.default_rng(5)
    direction = {"W_in": rng.normal(size=(3, 2)), "b_in": rng.normal(size=2)}
    rec, tan = fs.grad.jvp(model, direction, **kw)
    loss = fs.loss.mse(np.full((N_STEPS, 2), -58.0), on="v")
    _, g = fs.grad.value_and_grad(model, list(direction), loss, **kw)
    lhs = np.sum(loss.grad(rec)["v"] * tan["v"])
    rhs = sum(np.sum(g[p] * d) for p, d in direction.items())
    assert abs(lhs) > 0 and lhs == pytest.approx(rhs, rel=1e-10)


U = np.zeros((10, 3))
W = np.zeros((3, 1))


@pytest.mark.parametrize("make, err, words", [
    (lambda: fs.grad.InputLayer(np.zeros(10), W), ValueError, "InputLayer.u"),
    (lambda: fs.grad.InputLayer(U, np.zeros((2, 1))), ValueError, "InputLayer.W_in"),
    (lambda: fs.grad.InputLayer(U, np.zeros(3)), ValueError, "InputLayer.W_in"),
    (lambda: fs.grad.InputLayer(U, W, np.zeros(2)), ValueError, "InputLayer.b_in"),
    (lambda: fs.grad.InputLayer(U + np.nan, W), ValueError, "InputLayer.u"),
    (lambda: fs.grad.InputLayer(U, "w"), TypeError, "InputLayer.W_in"),
])
def test_bad_input_layer_is_rejected(make, err, words):
    with pytest.raises(err, match=words):
        make()


def _vg(**over):
    kw = dict(model=fs.LIF(alpha=0.8), params=["W_in"], loss=fs.loss.mse(np.zeros((10, 1))),
              t_stop=1.0, dt=0.1, surrogate=SIG, current=fs.grad.InputLayer(U, W))
    kw.update(over)
    return fs.grad.value_and_grad(**kw)


@pytest.mark.parametrize("over, words", [
    (dict(current=fs.grad.InputLayer(np.zeros((9, 3)), W)), "InputLayer.u has 9 rows"),
    (dict(n=2), "InputLayer.W_in has 1 columns"),
    (dict(current=1.0), "W_in"),
    (dict(current=1.0, params=["b_in"]), "b_in"),
    (dict(params=["current"]), "b_in"),
])
def test_bad_input_layer_use_is_rejected(over, words):
    with pytest.raises(ValueError, match=words):
        _vg(**over)
