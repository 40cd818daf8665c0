"""Network gradients through populations of the other models (AdLIF, LNM, Conductance):
their forward pass is the engine's, and the adjoint equals central finite differences of
the same (relaxed) simulation for every model parameter, the weights and alpha; the
conductance neuron (no reset) gives exact gradients with hard spikes."""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck import assert_network_gradient

import fracsim as fs
from fracsim.grad import network as G

DT = 0.5
SUR = fs.surrogate.Sigmoid(width=5.0)
LIF = dict(v_rest=-65.0, v_th=-50.0, v_reset=-65.0)


def hidden_model(kind: str, alpha: float | None, t_ref: float = 0.0):
    kw = {} if alpha is None else {"alpha": alpha}
    if t_ref:
        kw["t_ref"] = t_ref
    tau = 10.0 if alpha is None else 10.0 ** alpha
    if kind == "adlif":
        return fs.AdLIF(tau=tau, tau_w=30.0, a=0.5, b=2.0, **LIF, **kw)
    if kind == "lnm":
        return fs.LNM(coef=[0.0, -1.0, 0.02], v_ref=-65.0, tau=tau, v_th=-50.0, v_reset=-65.0,
                      **kw)
    return fs.Conductance(**kw)


def make(kind: str, alpha: float | None = None, T: int = 150, delta: bool = False,  # noqa: N803
         seed: int = 0, soe: bool = False, t_ref: float = 0.0, poisson: bool = False):
    """In (integer LIF on a fixed spike pattern) -> H (``kind``; fractional: FullMemory, or
    ``soe``: an SOE memory whose exact window is shorter than the run; refractory period
    ``t_ref`` ms; ``poisson``: Poisson inputs too) -> O (integer LIF), random delays into H;
    loss: MSE of O's v against a sinusoid."""
    rng = np.random.default_rng(seed)
    net = fs.Network(dt=DT, seed=0, scheme="l1")
    pattern = (rng.random((T, 6)) < 0.2).astype(float)
    inp = net.population(fs.LIF(tau=1.0, **LIF), 6, name="In", v0=-65.0,
                         current=fs.TimedArray(pattern * 40.0, DT))
    mem = {} if alpha is None else {"memory": fs.SOE(tol=1e-8) if soe else fs.FullMemory()}
    h = net.population(hidden_model(kind, alpha, t_ref), 5, name="H", **mem)
    o = net.population(fs.LIF(tau=8.0, **LIF), 4, name="O", v0=rng.uniform(-65, -55, 4))
    net.connect(inp, h, rule="all_to_all", weight=lambda g, n: g.uniform(2, 8, n),
                delay=(0.5, 2.0), synapse="delta" if delta else fs.ExpSynapse(tau=5.0))
    net.connect(h, o, rule="all_to_all", weight=lambda g, n: g.uniform(2, 8, n), delay=1.0,
                synapse=fs.ExpSynapse(tau=3.0))
    if poisson:
        net.poisson(h, rate=100.0, weight=4.0, n_sources=2, synapse=fs.ExpSynapse(tau=2.0))
        net.poisson(h, rate=50.0, weight=3.0)
    target = -60 + 5 * np.sin(np.arange(T)[:, None] * 0.2 + np.arange(4))
    return net, T * DT, fs.grad.loss.mse(target, on="O.v")


@pytest.mark.parametrize("kind", ["adlif", "lnm", "cond"])
@pytest.mark.parametrize("alpha, soe", [(None, False), (0.8, False), (0.8, True)])
def test_forward_is_the_engine(kind, alpha, soe):
    """v of H and O to 1e-10 mV and the same spikes as net.run (the fractional
    conductance neuron at dt = 0.5 also takes the engine's explicit step where Newton
    fails), with a full memory and with SOE (window + exponential tail)."""
    net, t_stop, _ = make(kind, alpha, soe=soe)
    prob = G.build(net, t_stop, SUR)
    assert prob.pops[1].soe == soe and (not soe or prob.pops[1].W < prob.N // 4)
    fwd = G.forward(prob)["rec"]
    net2, _, _ = make(kind, alpha, soe=soe)
    h, o = net2.populations[1], net2.populations[2]
    res = net2.run(t_stop, record={"v": [h, o], "spikes": [h, o]}, progress=False)
    v = res.state["v"]
    np.testing.assert_allclose(v[:, :h.n], fwd["H.v"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(v[:, h.n:], fwd["O.v"], rtol=0, atol=1e-10)
    assert int(fwd["H.spikes"].sum() + fwd["O.spikes"].sum()) == res.spikes.times.shape[0]
    if kind != "cond":
        assert fwd["H.spikes"].sum() > 10


def _assert_close(g, g_fd, names, rel=1e-6):
    for nm in names:
        a, b = np.atleast_1d(g[nm]), np.atleast_1d(g_fd[nm])
        assert a.shape == b.shape, nm
        assert np.max(np.abs(a - b)) <= rel * np.max(np.abs(b)), (nm, a, b)


@pytest.mark.parametrize("kind, alpha, delta, soe", [
    (kind, *case) for kind in ("adlif", "lnm")
    for case in ((None, False, False), (0.8, False, False), (0.8, True, False))]
    + [("adlif", 0.8, False, True), ("lnm", 0.8, True, True)])
def test_adjoint_equals_finite_differences_of_the_relaxed_network(kind, alpha, delta, soe):
    net, t_stop, loss = make(kind, alpha, delta=delta, soe=soe)
    names = [nm for nm in G.parameter_names(G.build(net, t_stop, SUR)) if nm.startswith("H.")]
    names += ["In->H.weight", "H->O.weight"]
    assert ("H.coef" in names) == (kind == "lnm") and ("H.alpha" in names) == (alpha is not None)
    net, t_stop, loss = make(kind, alpha, delta=delta, soe=soe)
    val, g = fs.grad.value_and_grad(net, names, loss, t_stop, surrogate=SUR, relaxed=True)
    net, t_stop, loss = make(kind, alpha, delta=delta, soe=soe)
    val_fd, g_fd = fs.grad.value_and_grad(net, names, loss, t_stop, surrogate=SUR, relaxed=True,
                                          method="finite_difference", eps=1e-5)
    assert val == val_fd
    _assert_close(g, g_fd, names)
    if kind == "lnm":
        assert g["H.coef"].shape == (3,) and np.all(g["H.coef"] != 0)
    for nm in names:
        assert np.max(np.abs(g_fd[nm])) > 0, nm


def cond_net(alpha: float | None, delta: bool, T: int = 600, soe: bool = False):  # noqa: N803
    """In (fixed spike pattern) -> H (conductance neurons, tau_f = 0.2 ms), loss: MSE of
    H's v (smooth: no reset, exact gradients with hard input spikes)."""
    rng = np.random.default_rng(0)
    dt = 0.1
    net = fs.Network(dt=dt, seed=0, scheme="l1")
    pattern = (rng.random((T, 4)) < 0.05).astype(float)
    inp = net.population(fs.LIF(tau=1.0, **LIF), 4, name="In", v0=-65.0,
                         current=fs.TimedArray(pattern * 300.0, dt))
    kw = {} if alpha is None else {"alpha": alpha}
    mem = {} if alpha is None else {"memory": fs.SOE(tol=1e-8) if soe else fs.FullMemory()}
    h = net.population(fs.Conductance(tau_f=0.2, **kw), 3, name="H", current=-1.0, **mem)
    net.connect(inp, h, rule="all_to_all", weight=lambda g, n: g.uniform(0.5, 2.0, n),
                delay=(0.1, 0.5), synapse="delta" if delta else fs.ExpSynapse(tau=2.0))
    target = np.sin(0.01 * np.arange(T))[:, None] * np.ones(3)
    return net, T * dt, fs.grad.loss.mse(target, on="H.v")


@pytest.mark.parametrize("alpha, delta, soe", [(None, False, False), (None, True, False),
                                               (0.85, False, False), (0.85, True, False),
                                               (0.85, False, True)])
def test_conductance_network_gradient_is_exact(alpha, delta, soe):
    """Hard spikes, no surrogate needed: the adjoint equals central differences of the
    simulation itself, for every conductance parameter (gains, offsets, time constants,
    alpha) and the input weights, full memory or SOE; the loss is net.run's."""
    net, t_stop, loss = cond_net(alpha, delta, soe=soe)
    names = [nm for nm in G.parameter_names(G.build(net, t_stop, SUR)) if nm.startswith("H.")]
    names = [nm for nm in names if nm != "H.v_spike"] + ["In->H.weight"]
    assert "H.slow_pos_gain" in names and "H.fast_neg_offset" in names
    net, t_stop, loss = cond_net(alpha, delta, soe=soe)
    val, g = fs.grad.value_and_grad(net, names, loss, t_stop, surrogate=SUR)
    net, t_stop, loss = cond_net(alpha, delta, soe=soe)
    _, g_fd = fs.grad.value_and_grad(net, names, loss, t_stop, surrogate=SUR,
                                     method="finite_difference", eps=1e-6)
    _assert_close(g, g_fd, names)
    assert np.max(np.abs(g["In->H.weight"])) > 0
    net, t_stop, loss = cond_net(alpha, delta, soe=soe)
    res = net.run(t_stop, record={"v": net.populations[1]}, progress=False)
    assert val == pytest.approx(loss.value({"H.v": res.state["v"]}), rel=1e-12)


REFRACTORY = [("adlif", None, False, False), ("lnm", None, False, True),
              ("adlif", 0.8, False, True), ("lnm", 0.8, True, False)]


@pytest.mark.parametrize("kind, alpha, soe, poisson", REFRACTORY)
def test_refractory_generic_populations(kind, alpha, soe, poisson):
    """Refractory periods (t_ref = 2 ms: 4 held steps) in AdLIF and LNM populations (and
    Poisson inputs into them): the forward pass is net.run's (same spikes, holds included),
    the adjoint equals central differences of the relaxed network (every model parameter)
    and forward mode along a random direction of all parameters and the input weights (the
    holds' onsets are events: not differentiated, as for LIF)."""
    kw = dict(soe=soe, t_ref=2.0, poisson=poisson)
    net, t_stop, _ = make(kind, alpha, **kw)
    prob = G.build(net, t_stop, SUR)
    assert (prob.pops[1].pois[1].shape[0] > 20) == poisson
    fwd = G.forward(prob)["rec"]
    net2, _, _ = make(kind, alpha, **kw)
    h, o = net2.populations[1], net2.populations[2]
    res = net2.run(t_stop, record={"v": [h, o], "spikes": [h, o]}, progress=False)
    np.testing.assert_allclose(res.state["v"][:, :h.n], fwd["H.v"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.state["v"][:, h.n:], fwd["O.v"], rtol=0, atol=1e-10)
    assert int(fwd["H.spikes"].sum() + fwd["O.spikes"].sum()) == res.spikes.times.shape[0]
    s = fwd["H.spikes"]
    gaps = [np.diff(np.flatnonzero(s[:, i])) for i in range(s.shape[1])]
    assert s.sum() > 10 and min(g.min() for g in gaps if g.size) >= 5  # 4 held steps
    names = [nm for nm in G.parameter_names(prob) if nm.startswith("H.")] + ["In->H.weight"]
    assert_network_gradient(lambda: make(kind, alpha, **kw), names, SUR)


@pytest.mark.parametrize("relaxed", [True, False])
@pytest.mark.parametrize("kind, alpha, soe", [("adlif", None, False), ("adlif", 0.8, False),
                                              ("lnm", None, False), ("lnm", 0.8, False),
                                              ("cond", 0.8, False), ("lnm", 0.8, True)])
def test_forward_mode_equals_the_adjoint(kind, alpha, soe, relaxed):
    """Tangents (NumPy per step, one pass per direction, the step's Jacobian applied
    forwards) give the adjoint's gradient, relaxed or with hard spikes and the surrogate,
    full memory or SOE; ``jvp`` along a coefficient direction is the adjoint's directional
    derivative."""
    net, t_stop, loss = make(kind, alpha, soe=soe)
    names = [nm for nm in G.parameter_names(G.build(net, t_stop, SUR)) if nm.startswith("H.")]
    names += ["H->O.weight"]
    net, t_stop, loss = make(kind, alpha, soe=soe)
    val, ga = fs.grad.value_and_grad(net, names, loss, t_stop, surrogate=SUR, relaxed=relaxed)
    net, t_stop, loss = make(kind, alpha, soe=soe)
    val_f, gf = fs.grad.value_and_grad(net, names, loss, t_stop, surrogate=SUR,
                                       relaxed=relaxed, method="forward")
    assert val_f == pytest.approx(val, rel=1e-12)
    _assert_close(gf, ga, names, rel=1e-9)
    if kind == "lnm":
        net, t_stop, loss = make(kind, alpha, soe=soe)
        direction = {"H.coef": np.array([0.3, -1.0, 20.0]), "H.tau": 0.5}
        rec, tan = fs.grad.jvp(net, direction, t_stop, surrogate=SUR, relaxed=relaxed)
        _, g_v = loss.value_and_grad(rec)
        assert float(np.sum(g_v["O.v"] * tan["O.v"])) == pytest.approx(
            float(ga["H.coef"] @ direction["H.coef"] + 0.5 * ga["H.tau"]), rel=1e-9)


def test_generic_populations_refuse_what_is_not_differentiated():
    net, t_stop, loss = make("adlif")
    with pytest.raises(ValueError, match=r"tangent\['H.coef'\]|unknown parameter 'H.coef'"):
        fs.grad.jvp(net, {"H.coef": np.ones(3)}, t_stop, surrogate=SUR)
    net, t_stop, loss = make("lnm")
    with pytest.raises(ValueError, match=r"tangent\['H.coef'\] must have shape \(3,\)"):
        fs.grad.jvp(net, {"H.coef": np.ones(2)}, t_stop, surrogate=SUR)
    net = fs.Network(dt=DT)
    net.population(fs.AdLIF(alpha=0.8), 2, name="A", memory=fs.ShortMemory(steps=8))
    with pytest.raises(ValueError, match="population A: .*fs.FullMemory.. and fs.SOE"):
        fs.grad.value_and_grad(net, ["A.a"], loss, t_stop, surrogate=SUR)
    net = fs.Network(dt=DT)
    net.population(fs.AdLIF(alpha=0.8, reset="restart"), 2, name="C", memory=fs.FullMemory())
    with pytest.raises(ValueError, match="population C: .*restart"):
        fs.grad.value_and_grad(net, ["C.a"], loss, t_stop, surrogate=SUR)
    net, t_stop, loss = make("lnm")
    with pytest.raises(ValueError, match="unknown parameter 'H.R'"):
        fs.grad.value_and_grad(net, ["H.R"], loss, t_stop, surrogate=SUR)
