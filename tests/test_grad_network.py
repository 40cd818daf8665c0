"""Network gradients (fracsim.grad.network): the forward recurrence is the engine's, and the
adjoint through synapses, delays and fractional histories equals central finite
differences of the same (relaxed) simulation."""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck import assert_network_gradient

import fracsim as fs
from fracsim.grad import network as G

DT = 0.5
SUR = fs.surrogate.Sigmoid(width=5.0)


def make(T=80, scheme="l1", alpha1=0.8, alpha2=None, delta=False, seed=0, memory=None,
         t_ref=0.0, reset="shift", drive=False, loss="mse", recurrent=False, poisson=False):
    """In (integer LIF driven by a fixed spike pattern) -> L1 (fractional) -> L2, with
    random delays into L1; loss: MSE of L2's v against a sinusoid (``loss="van_rossum"``:
    L2's spikes against a spike pattern); ``drive``: a time-varying current into L1 too;
    ``recurrent``: L1 -> L1 and L2 -> L1 too (cycles: the adjoint interleaves the layers);
    ``poisson``: Poisson inputs into L1 (through In's exponential synapse) and L2 (delta)."""
    rng = np.random.default_rng(seed)
    net = fs.Network(dt=DT, seed=0, scheme=scheme)
    n_in, n1, n2 = 6, 5, 4
    pattern = (rng.random((T, n_in)) < 0.2).astype(float)
    lif = dict(v_rest=-65.0, v_th=-50.0, v_reset=-65.0)
    inp = net.population(fs.LIF(tau=1.0, **lif), n_in, name="In", v0=-65.0,
                         current=fs.TimedArray(pattern * 40.0, DT))
    l1 = net.population(fs.LIF(tau=10.0 ** alpha1, alpha=alpha1, t_ref=t_ref, reset=reset,
                               **lif), n1,
                        name="L1",
                        v0=rng.uniform(-65, -55, n1), memory=memory or fs.FullMemory())
    if alpha2 is None:
        l2 = net.population(fs.LIF(tau=8.0, t_ref=t_ref, **lif), n2, name="L2",
                            v0=rng.uniform(-65, -55, n2))
    else:
        l2 = net.population(fs.LIF(tau=8.0, alpha=alpha2, reset=reset, **lif), n2, name="L2",
                            v0=rng.uniform(-65, -55, n2), memory=memory or fs.FullMemory())
    net.connect(inp, l1, rule="all_to_all", weight=lambda g, n: g.uniform(2, 8, n),
                delay=(0.5, 2.0), synapse="delta" if delta else fs.ExpSynapse(tau=5.0))
    net.connect(l1, l2, rule="all_to_all", weight=lambda g, n: g.uniform(2, 8, n), delay=1.0,
                synapse=fs.ExpSynapse(tau=3.0))
    if recurrent:
        net.connect(l1, l1, rule="all_to_all", weight=lambda g, n: g.uniform(-3, 2, n),
                    delay=(0.5, 1.5), synapse=fs.ExpSynapse(tau=4.0))
        net.connect(l2, l1, rule="all_to_all", weight=lambda g, n: g.uniform(-4, 2, n),
                    delay=1.5, synapse="delta")
    if drive:
        net.current(l1, fs.TimedArray(rng.uniform(0, 6, (T, n1)), DT))
    if poisson:
        net.poisson(l1, rate=150.0, weight=3.0, n_sources=2,
                    synapse="delta" if delta else fs.ExpSynapse(tau=5.0))
        net.poisson(l2, rate=np.linspace(50.0, 200.0, n2), weight=4.0, synapse="delta")
    if loss == "van_rossum":
        target = (rng.random((T, n2)) < 0.05).astype(float)
        return net, T * DT, fs.grad.loss.van_rossum(target, tau=5.0, dt=DT, on="L2.spikes")
    target = -60 + 5 * np.sin(np.arange(T)[:, None] * 0.2 + np.arange(n2))
    return net, T * DT, fs.grad.loss.mse(target, on="L2.v")


def _grads(cfg, names, **kw):
    """``value_and_grad`` of a freshly built :func:`make` network (its loss and length)."""
    net, t_stop, loss = make(**cfg)
    return fs.grad.value_and_grad(net, names, loss, t_stop, surrogate=SUR, **kw)


def _names(cfg, base):
    """``base`` plus L2's order when L2 is fractional in ``cfg``."""
    return base + (["L2.alpha"] if "alpha2" in cfg else [])


@pytest.mark.parametrize("delta, memory, t_ref, reset, drive", [
    (False, None, 0.0, "shift", False), (True, None, 0.0, "shift", True),
    (False, fs.SOE(tol=1e-8), 0.0, "shift", False), (False, None, 2.0, "shift", False),
    (False, None, 0.0, "jump", False), (False, fs.SOE(tol=1e-8), 1.0, "subtract", True)])
def test_forward_is_the_engine(delta, memory, t_ref, reset, drive):
    net, t_stop, _ = make(T=150, delta=delta, alpha2=0.6, memory=memory, t_ref=t_ref,
                          reset=reset, drive=drive)
    prob = G.build(net, t_stop, SUR)
    assert (prob.pops[1].soe and prob.pops[1].W < 10) == (memory is not None)
    fwd = G.forward(prob)["rec"]
    net2, _, _ = make(T=150, delta=delta, alpha2=0.6, memory=memory, t_ref=t_ref,
                      reset=reset, drive=drive)
    l1, l2 = net2.populations[1], net2.populations[2]
    res = net2.run(t_stop, record={"v": [l1, l2], "spikes": [l1, l2]}, progress=False)
    v = res.state["v"]
    np.testing.assert_allclose(v[:, :l1.n], fwd["L1.v"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(v[:, l1.n:], fwd["L2.v"], rtol=0, atol=1e-10)
    n_spk = int(fwd["L1.spikes"].sum() + fwd["L2.spikes"].sum())
    assert n_spk == res.spikes.times.shape[0] > 10


@pytest.mark.parametrize("cfg", [
    dict(scheme="l1", T=150),                          # fractional L1 -> integer L2
    dict(scheme="gl", T=150, alpha2=0.6),              # both fractional, GL
    dict(scheme="l1", T=140, alpha2=0.7, delta=True),  # delta synapses with delays
    dict(scheme="l1", T=150, alpha2=0.6, memory=fs.SOE(tol=1e-8)),  # exponential tails
    dict(scheme="gl", T=120, memory=fs.SOE(tol=1e-6)),
    dict(scheme="l1", T=150, t_ref=2.0),                # refractory periods (4 steps)
    dict(scheme="l1", T=150, alpha2=0.6, reset="jump"),  # the jump stays in the history
    dict(scheme="gl", T=150, alpha2=0.6, reset="subtract", memory=fs.SOE(tol=1e-8)),
    dict(scheme="l1", T=150, alpha2=0.6, drive=True),   # replayed drive of a learnable layer
    dict(scheme="l1", T=150, alpha2=0.6, loss="van_rossum"),  # a loss on spikes (recorded)
    dict(scheme="l1", T=150, alpha2=0.6, recurrent=True),  # cycles: L1 -> L1, L2 -> L1
])
def test_adjoint_equals_finite_differences_of_the_relaxed_network(cfg):
    names = _names(cfg, ["L1.alpha", "L1.tau", "L2.tau", "In->L1.weight", "L1->L2.weight"])
    names += ["L1->L1.weight", "L2->L1.weight"] if cfg.get("recurrent") else []
    val, g = _grads(cfg, names, relaxed=True)
    val_fd, g_fd = _grads(cfg, names, relaxed=True, method="finite_difference", eps=1e-5)
    assert val == val_fd
    for nm in names:
        a, b = np.atleast_1d(g[nm]), np.atleast_1d(g_fd[nm])
        assert a.shape == b.shape
        assert np.max(np.abs(a - b)) <= 1e-6 * np.max(np.abs(b)), (nm, a, b)
        assert np.max(np.abs(b)) > 0
    assert g["In->L1.weight"].shape == (30,) and np.ndim(g["L1.alpha"]) == 0


@pytest.mark.parametrize("relaxed", [True, False])
@pytest.mark.parametrize("cfg", [dict(scheme="l1", T=120, alpha2=0.7, delta=True),
                                 dict(scheme="gl", T=100),
                                 dict(scheme="l1", T=150, alpha2=0.6, memory=fs.SOE(tol=1e-8)),
                                 dict(scheme="l1", T=150, t_ref=2.0),
                                 dict(scheme="l1", T=150, alpha2=0.6, reset="jump"),
                                 dict(scheme="gl", T=120, alpha2=0.6, reset="subtract"),
                                 dict(scheme="l1", T=120, alpha2=0.7, recurrent=True)])
def test_forward_mode_equals_the_adjoint(cfg, relaxed):
    """Tangents (one pass per direction) give the adjoint's gradient, for the relaxed
    network and for hard spikes with the surrogate derivative (the same linearisation)."""
    names = _names(cfg, ["L1.alpha", "L2.tau", "In->L1.weight", "L1->L2.weight"])
    names += ["L2->L1.weight"] if cfg.get("recurrent") else []
    val, ga = _grads(cfg, names, relaxed=relaxed)
    val_f, gf = _grads(cfg, names, relaxed=relaxed, method="forward")
    assert val_f == pytest.approx(val, rel=1e-12)
    for nm in names:
        a, b = np.atleast_1d(ga[nm]), np.atleast_1d(gf[nm])
        assert np.max(np.abs(a - b)) <= 1e-9 * np.max(np.abs(a)), nm
    # jvp: the recorded arrays and their derivative along one direction
    net, t_stop, loss = make(**cfg)
    d_w = np.random.default_rng(1).standard_normal(ga["L1->L2.weight"].shape)
    rec, tan = fs.grad.jvp(net, {"L1->L2.weight": d_w, "L1.alpha": 0.5}, t_stop,
                           surrogate=SUR, relaxed=relaxed)
    assert rec["L2.v"].shape == tan["L2.v"].shape == (cfg["T"], 4)
    _, g_v = loss.value_and_grad(rec)
    directional = float(np.sum(g_v["L2.v"] * tan["L2.v"]))
    expect = float(ga["L1->L2.weight"] @ d_w + 0.5 * ga["L1.alpha"])
    assert directional == pytest.approx(expect, rel=1e-9)


@pytest.mark.parametrize("cfg", [dict(), dict(delta=True, memory=fs.SOE(tol=1e-8), T=150),
                                 dict(alpha2=0.7, t_ref=1.0)])
def test_poisson_inputs(cfg):
    """Poisson inputs (exponential and delta synapses): the gradient path draws the engine's
    events (same stream from the network's seed), so its forward pass is net.run's; the
    adjoint equals FD of the relaxed network (scalar parameters) and forward mode along a
    random direction of every parameter, the weights included."""
    cfg = dict(cfg, poisson=True)
    net, t_stop, _ = make(**cfg)
    prob = G.build(net, t_stop, SUR)
    assert prob.pops[1].pois[1].shape[0] > 20 and prob.pops[2].pois[1].shape[0] > 10
    fwd = G.forward(prob)["rec"]
    net, t_stop, _ = make(**cfg)
    l1, l2 = net.populations[1], net.populations[2]
    res = net.run(t_stop, record={"v": [l1, l2], "spikes": [l1, l2]}, progress=False)
    np.testing.assert_allclose(res.state["v"][:, :l1.n], fwd["L1.v"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.state["v"][:, l1.n:], fwd["L2.v"], rtol=0, atol=1e-10)
    n_spk = int(fwd["L1.spikes"].sum() + fwd["L2.spikes"].sum())
    assert n_spk == res.spikes.times.shape[0] > 0
    names = _names(cfg, ["L1.alpha", "L1.tau", "In->L1.weight", "L1->L2.weight"])
    assert_network_gradient(lambda: make(**cfg), names, SUR)


def test_hard_spikes_give_the_engines_loss_and_a_finite_surrogate_gradient():
    net, t_stop, loss = make(T=150)
    val, g = fs.grad.value_and_grad(net, ["L1->L2.weight", "L1.alpha"], loss, t_stop,
                                    surrogate=SUR)
    net2, _, _ = make(T=150)
    res = net2.run(t_stop, record={"v": net2.populations[2]}, progress=False)
    assert val == pytest.approx(loss.value({"L2.v": res.state["v"]}), rel=1e-12)
    assert np.all(np.isfinite(g["L1->L2.weight"])) and np.isfinite(g["L1.alpha"])
    # a synapse whose source never spiked gets no weight gradient
    net3, _, _ = make(T=150)
    fwd = G.forward(G.build(net3, t_stop, SUR))["rec"]
    silent = np.flatnonzero(fwd["L1.spikes"].sum(axis=0) == 0)
    pre = net.projections[1].pre
    assert np.all(g["L1->L2.weight"][np.isin(pre, silent)] == 0.0)


def test_network_gradient_errors_name_the_problem():
    net, t_stop, loss = make()
    with pytest.raises(ValueError, match="unknown parameter 'L3.tau'"):
        fs.grad.value_and_grad(net, ["L3.tau"], loss, t_stop, surrogate=SUR)
    with pytest.raises(ValueError, match=r"tangent\['L1.tau'\] must have shape \(\)"):
        fs.grad.jvp(net, {"L1.tau": np.ones(3)}, t_stop, surrogate=SUR)
    with pytest.raises(ValueError, match="unknown parameter 'X.alpha'"):
        fs.grad.jvp(net, {"X.alpha": 1.0}, t_stop, surrogate=SUR)
    with pytest.raises(TypeError, match="surrogate"):
        fs.grad.value_and_grad(net, ["L1.tau"], loss, t_stop)
    net, t_stop, loss = make()
    net.poisson(net.populations[1], rate=10.0, weight=1.0, n_sources=2,
                synapse=fs.CondSynapse(tau=5.0, e_rev=0.0))
    with pytest.raises(ValueError, match="Poisson input into L1: only delta and ExpSynapse"):
        fs.grad.value_and_grad(net, ["L1.tau"], loss, t_stop, surrogate=SUR)
    net = fs.Network(dt=DT)
    net.population(fs.Izhikevich(), 2, name="Z")
    with pytest.raises(TypeError, match="population Z: .*got Izhikevich"):
        fs.grad.value_and_grad(net, ["Z.tau"], loss, 10.0, surrogate=SUR)
    net = fs.Network(dt=DT)
    net.population(fs.LIF(alpha=0.7), 2, name="S", memory=fs.ShortMemory(steps=10))
    with pytest.raises(ValueError, match="FullMemory"):
        fs.grad.value_and_grad(net, ["S.tau"], loss, 10.0, surrogate=SUR)


@pytest.mark.parametrize("fft_min, sup", [(64, 1), (128, 1), (256, 2)])
def test_far_history_by_ffts_and_super_blocks_gives_the_same_gradient(monkeypatch, fft_min,
                                                                       sup):
    """Long runs sum the far history by FFTs between chunks and by super-block products
    within them (fracsim.fractional.far_sums): forced on a short run (chunks of 1, 2 or 4
    blocks, FFTs on column chunks of 2), the loss and every gradient agree with the
    block-by-block products to rounding (a wrong offset, lag or missing term would not)."""
    from fracsim.fractional import far_sums as FS

    cfg = dict(scheme="l1", T=300, alpha2=0.6)
    names = ["L1.alpha", "L2.alpha", "L1.tau", "In->L1.weight", "L1->L2.weight"]
    val, g = _grads(cfg, names)  # 300 steps: one chunk, super-blocks of one block
    monkeypatch.setattr(FS, "FFT_MIN", fft_min)
    monkeypatch.setattr(FS, "FFT_COLUMNS", 2)
    monkeypatch.setattr(FS, "_super_steps", lambda N, nb, P: min(sup * nb, P))
    val_s, g_s = _grads(cfg, names)
    assert val_s == pytest.approx(val, rel=1e-13)
    for nm in names:
        a, b = np.atleast_1d(g[nm]), np.atleast_1d(g_s[nm])
        assert np.max(np.abs(a - b)) <= 1e-11 * np.max(np.abs(a)), nm


@pytest.mark.parametrize("recurrent", [False, True])
def test_adjoint_passes_batched_or_interleaved_give_the_same_gradient(monkeypatch, recurrent):
    """A feed-forward network's adjoint goes layer by layer per block (the spike adjoints
    of a block in one batched product), a recurrent one step by step; forcing the
    interleaved passes on the feed-forward network changes only the rounding."""
    assert G._adjoint_passes(2, np.array([0, -1]), np.array([1, 0]))[0].shape == (3,)
    assert G._adjoint_passes(2, np.array([0, 1]), np.array([1, 0]))[0].tolist() == [0, 2]
    assert G._adjoint_passes(1, np.array([0]), np.array([0]))[0].tolist() == [0, 1]
    cfg = dict(scheme="l1", T=200, alpha2=0.6, recurrent=recurrent)
    names = ["L1.alpha", "L2.alpha", "L1.tau", "In->L1.weight", "L1->L2.weight"]
    val, g = _grads(cfg, names)
    interleaved = G._adjoint_passes
    monkeypatch.setattr(G, "_adjoint_passes", lambda P, src, dst: interleaved(
        P, np.concatenate([src, [0]]), np.concatenate([dst, [0]])))  # a loop: interleaved
    val_i, g_i = _grads(cfg, names)
    assert val_i == val
    for nm in names:
        a, b = np.atleast_1d(g[nm]), np.atleast_1d(g_i[nm])
        assert np.max(np.abs(a - b)) <= 1e-12 * np.max(np.abs(a)), nm
        if recurrent:  # interleaved either way: the same bits
            np.testing.assert_array_equal(a, b)


def _memory_bench():
    """``benchmarks/gradient_memory.py`` as a module (its network and peak measurement)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "gradient_memory.py"
    spec = importlib.util.spec_from_file_location("gradient_memory", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gradient_memory"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("memory", ["soe", "integer", "adlif-soe", "adlif-integer"])
@pytest.mark.parametrize("relaxed", [False, True])
def test_segment_checkpoints_give_the_tangents_gradient(memory, relaxed):
    """Runs long enough for segments of several blocks (SOE increments, and an AdLIF
    population's histories, regenerated per segment, the a^H of a segment's first W steps
    carried to the one before; block checkpoints regenerated by replay): the adjoint's
    directional derivative equals the forward-mode tangent's, and its scalar gradients
    central differences (relaxed)."""
    gm = _memory_bench()
    steps = 900
    net, t_stop, loss, params = gm.problem(memory, steps, n_hidden=12, n_in=8)
    prob = G.build(net, t_stop, SUR)
    assert G.segment_steps(prob) >= 2 * G.block_steps() and steps % G.segment_steps(prob)
    val, ga = fs.grad.value_and_grad(net, params, loss, t_stop, surrogate=SUR,
                                     relaxed=relaxed)
    rng = np.random.default_rng(3)
    direction = {nm: rng.standard_normal(np.shape(ga[nm])) for nm in params}
    net, _, _, _ = gm.problem(memory, steps, n_hidden=12, n_in=8)
    rec, tan = fs.grad.jvp(net, direction, t_stop, surrogate=SUR, relaxed=relaxed)
    v_rec, g_v = loss.value_and_grad(rec)
    assert v_rec == pytest.approx(val, rel=1e-12)
    directional = float(np.sum(g_v["O.v"] * tan["O.v"]))
    expect = sum(float(np.sum(ga[nm] * direction[nm])) for nm in params)
    assert directional == pytest.approx(expect, rel=1e-9)
    if relaxed:
        scalars = [nm for nm in params if np.ndim(ga[nm]) == 0]
        net, _, _, _ = gm.problem(memory, steps, n_hidden=12, n_in=8)
        _, g_fd = fs.grad.value_and_grad(net, scalars, loss, t_stop, surrogate=SUR,
                                         relaxed=True, method="finite_difference", eps=1e-5)
        for nm in scalars:
            assert float(ga[nm]) == pytest.approx(float(g_fd[nm]), rel=1e-6), nm


@pytest.mark.parametrize("memory", ["soe", "integer", "adlif-soe", "adlif-integer"])
def test_adjoint_memory_grows_like_the_square_root_of_the_steps(memory):
    """Peak NumPy memory of value_and_grad (tracemalloc): 4x the steps costs at most about
    2x (sqrt(4), plus the spikes), and well below one trajectory of the hidden layer's
    state (v, and w for AdLIF)."""
    gm = _memory_bench()
    gm.peak_bytes(memory, 200, 8)  # compiled and the FFT/scratch buffers not involved
    small, _ = gm.peak_bytes(memory, 1000, 128)
    large, _ = gm.peak_bytes(memory, 4000, 128)
    assert large < 2.2 * small, (small, large)
    n_state = 2 if memory.startswith("adlif") else 1
    assert large < 0.6 * n_state * 4000 * 128 * 8, large
