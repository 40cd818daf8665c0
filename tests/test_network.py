"""Connectivity rules, weights and delays, spike delivery timing and synapse kinds.

Simulations use two network structures only (two LIF populations with delta synapses, and
the same with exponential and conductance channels on the target), so the event loop is
compiled at most twice.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import fracsim as fs

# --------------------------------------------------------------------------------------
# Connection rules (no simulation)
# --------------------------------------------------------------------------------------


def two_pops(n_a=200, n_b=300, seed=0, dt=0.1):
    net = fs.Network(dt=dt, seed=seed)
    a = net.population(fs.LIF(), n_a, name="A")
    b = net.population(fs.LIF(), n_b, name="B")
    return net, a, b


def assert_sorted_unique_pairs(proj, n_pre, n_post):
    flat = proj.pre * n_post + proj.post
    assert np.all(np.diff(flat) > 0)  # sorted by (pre, post), no duplicates
    assert proj.pre.min() >= 0 and proj.pre.max() < n_pre
    assert proj.post.min() >= 0 and proj.post.max() < n_post


def within_sigmas(count, n_trials, p, k=5.0):
    mean, sd = n_trials * p, np.sqrt(n_trials * p * (1 - p))
    return abs(count - mean) <= k * sd


@pytest.mark.parametrize("p", [0.02, 0.1, 0.5])
def test_pairwise_bernoulli_count_is_binomial(p):
    net, a, b = two_pops()
    proj = net.connect(a, b, p=p)
    assert within_sigmas(proj.n, 200 * 300, p), proj.n
    assert_sorted_unique_pairs(proj, 200, 300)
    # each source's out-degree is Binomial(300, p): check the mean and the spread
    out = np.bincount(proj.pre, minlength=200)
    assert abs(out.mean() - 300 * p) <= 5 * np.sqrt(300 * p * (1 - p) / 200)
    assert out.var() == pytest.approx(300 * p * (1 - p), rel=0.5)  # ~5 standard errors
    assert proj.src is a and proj.dst is b


def test_pairwise_bernoulli_seeds():
    n1 = two_pops(seed=5)
    n2 = two_pops(seed=5)
    n3 = two_pops(seed=6)
    p1, p2, p3 = (net.connect(a, b, p=0.1) for net, a, b in (n1, n2, n3))
    assert np.array_equal(p1.pre, p2.pre) and np.array_equal(p1.post, p2.post)
    assert not (p1.n == p3.n and np.array_equal(p1.pre, p3.pre)
                and np.array_equal(p1.post, p3.post))


def test_pairwise_bernoulli_extremes_and_autapses():
    net, a, _ = two_pops(n_a=50, n_b=10)
    assert net.connect(a, a, p=0.0).n == 0
    full = net.connect(a, a, p=1.0)
    assert full.n == 50 * 50
    assert np.sum(full.pre == full.post) == 50  # autapses allowed by default
    no_self = net.connect(a, a, p=1.0, autapses=False)
    assert no_self.n == 50 * 49
    assert not np.any(no_self.pre == no_self.post)


def test_pairwise_bernoulli_without_autapses_is_binomial_over_off_diagonal_pairs():
    net, a, _ = two_pops(n_a=400, n_b=10)
    proj = net.connect(a, a, p=0.3, autapses=False)
    assert not np.any(proj.pre == proj.post)
    assert within_sigmas(proj.n, 400 * 399, 0.3), proj.n


def test_autapses_false_on_overlapping_views_excludes_same_neuron():
    net, a, _ = two_pops(n_a=30, n_b=10)
    proj = net.connect(a[:20], a[10:], rule="all_to_all", autapses=False)
    assert proj.n == 20 * 20 - 10  # neurons 10..19 are on both sides
    assert not np.any(proj.pre == proj.post)
    assert proj.pre.min() == 0 and proj.pre.max() == 19
    assert proj.post.min() == 10 and proj.post.max() == 29


@pytest.mark.parametrize("autapses", [True, False])
def test_fixed_indegree_exact_and_distinct(autapses):
    net, a, b = two_pops(n_a=60, n_b=40)
    k = 12
    if autapses:
        proj = net.connect(a, b, indegree=k)
        n_post, n_pre = 40, 60
    else:
        proj = net.connect(a, a, rule="fixed_indegree", indegree=k, autapses=False)
        n_post, n_pre = 60, 60
        assert not np.any(proj.pre == proj.post)
    assert proj.n == n_post * k
    assert np.all(np.bincount(proj.post, minlength=n_post) == k)
    for j in range(n_post):
        src = proj.pre[proj.post == j]
        assert np.unique(src).shape[0] == k
    # sources uniform: mean out-degree n_post*k/n_pre, none exceeds n_post
    out = np.bincount(proj.pre, minlength=n_pre)
    assert out.sum() == n_post * k and out.max() <= n_post
    assert np.all(np.diff(proj.pre) >= 0)  # sorted by source


def test_fixed_indegree_all_sources():
    net, a, _ = two_pops(n_a=8, n_b=3)
    proj = net.connect(a, a, indegree=7, autapses=False)
    assert proj.n == 56 and not np.any(proj.pre == proj.post)
    with pytest.raises(ValueError, match="indegree must be <= 7"):
        net.connect(a, a, indegree=8, autapses=False)


def test_one_to_one_all_to_all_and_explicit():
    net, a, b = two_pops(n_a=5, n_b=5)
    o2o = net.connect(a, b, rule="one_to_one", weight=2.0)
    assert np.array_equal(o2o.pre, np.arange(5)) and np.array_equal(o2o.post, np.arange(5))
    assert np.all(o2o.weight == 2.0)
    a2a = net.connect(a, b[:3], rule="all_to_all")
    assert a2a.n == 15
    assert set(zip(a2a.pre.tolist(), a2a.post.tolist(), strict=True)) == {
        (i, j) for i in range(5) for j in range(3)
    }
    ex = net.connect(a, b, pre=np.array([4, 0, 2]), post=np.array([1, 1, 3]),
                     weight=np.array([0.1, 0.2, 0.3]))
    assert np.array_equal(ex.pre, [4, 0, 2]) and np.array_equal(ex.post, [1, 1, 3])
    assert np.array_equal(ex.weight, [0.1, 0.2, 0.3])


def test_views_map_to_population_local_indices():
    net, a, b = two_pops(n_a=30, n_b=20)
    proj = net.connect(a[10:20], b[[2, 5, 7]], rule="all_to_all")
    assert proj.n == 30
    assert set(proj.pre.tolist()) == set(range(10, 20))
    assert set(proj.post.tolist()) == {2, 5, 7}
    assert proj.src is a and proj.dst is b


def test_weights_scalar_array_matrix_callable_and_range():
    net, a, b = two_pops(n_a=40, n_b=50)
    assert np.all(net.connect(a, b, p=0.2, weight=-1.5).weight == -1.5)
    m = np.arange(40 * 50, dtype=float).reshape(40, 50)
    pm = net.connect(a, b, p=0.2, weight=m)
    assert np.array_equal(pm.weight, m[pm.pre, pm.post])
    calls = []

    def draw(rng, size):
        calls.append(size)
        return rng.normal(1.0, 0.1, size)

    pc = net.connect(a, b, p=0.2, weight=draw)
    assert calls == [pc.n] and pc.weight.shape == (pc.n,)
    assert abs(pc.weight.mean() - 1.0) < 5 * 0.1 / np.sqrt(pc.n)
    pu = net.connect(a, b, rule="all_to_all", weight=(2.0, 4.0))
    assert pu.n == 2000
    assert pu.weight.min() >= 2.0 and pu.weight.max() < 4.0
    # uniform on [2, 4): mean 3, sd 2/sqrt(12)
    assert abs(pu.weight.mean() - 3.0) < 5 * (2 / np.sqrt(12)) / np.sqrt(2000)
    assert abs(pu.weight.var() - 1 / 3) < 0.05
    arr = np.linspace(0, 1, 2000)
    pa = net.connect(a, b, rule="all_to_all", weight=arr)
    assert np.array_equal(pa.weight, arr)


def test_delay_quantization_floor_half_up():
    dt = 0.1
    net, a, b = two_pops(n_a=1, n_b=8, dt=dt)
    delays = np.array([0.1, 0.14, 0.16, 1.0, 2.34, 2.36, 5.0, 0.0999999999999])
    proj = net.connect(a, b, rule="all_to_all", delay=delays)
    assert proj.delay_steps.dtype.kind == "i"
    assert np.array_equal(proj.delay_steps, [1, 1, 2, 10, 23, 24, 50, 1])
    assert np.array_equal(proj.delay_steps, np.floor(delays / dt + 0.5).astype(int))
    # default delay: one step
    assert np.all(net.connect(a, b, rule="all_to_all").delay_steps == 1)
    # scalar, range and callable delays
    assert np.all(net.connect(a, b, rule="all_to_all", delay=0.75).delay_steps == 8)
    big, _, _ = two_pops(n_a=20, n_b=50, dt=dt)
    pop_a, pop_b = big.populations
    pr = big.connect(pop_a, pop_b, rule="all_to_all", delay=(1.0, 3.0))
    assert pr.delay_steps.min() >= 10 and pr.delay_steps.max() <= 30
    assert np.unique(pr.delay_steps).shape[0] == 21  # every step between 10 and 30 occurs
    pc = big.connect(pop_a, pop_b, p=0.5, delay=lambda rng, n: np.full(n, 0.45))
    assert np.all(pc.delay_steps == 5)


# --------------------------------------------------------------------------------------
# Delivery timing: one spike of A, recorded responses of B (one run, many checks)
# --------------------------------------------------------------------------------------

TAU_S = 5.0
EXP_W = 4.0
COND_W = 0.5
COND_EREV = {26: -80.0, 27: 0.0, 28: -65.0}  # B neuron -> reversal potential
DELTA_DELAYS = [None, 0.5, 1.0, 2.34, 5.0]  # None -> dt


def build_synapse_net(dt, r_target=1.0):
    """A: one LIF driven once above threshold; B: 30 silent LIF (v_th huge) receiving
    that spike through delta (various delays), exponential and conductance synapses."""
    net = fs.Network(dt=dt, seed=0)
    a = net.population(fs.LIF(tau=10.0), 1, name="A")
    net.current(a, 100.0, start=1.0, stop=3.0)  # one spike (first passage 1.625 ms)
    b = net.population(fs.LIF(tau=10.0, v_th=1e6, R=r_target), 30, name="B")
    delays = np.array([dt if d is None else d for d in DELTA_DELAYS])
    proj = {
        "delta": net.connect(a, b[:5], rule="all_to_all", weight=2.0, delay=delays),
        "hetero": net.connect(a, b[5:25], rule="all_to_all", weight=1.5, delay=(1.0, 3.0)),
        "exp": net.connect(a, b[25], rule="all_to_all", weight=EXP_W, delay=1.0,
                           synapse=fs.ExpSynapse(tau=TAU_S)),
    }
    # two projections through equal ExpSynapse objects share one channel: B[29] receives
    # 1.5 + 2.5 = EXP_W, exactly what B[25] receives through one projection
    for w in (1.5, 2.5):
        net.connect(a, b[29], rule="all_to_all", weight=w, delay=1.0,
                    synapse=fs.ExpSynapse(tau=TAU_S))
    for j, e in COND_EREV.items():
        proj[j] = net.connect(a, b[j], rule="all_to_all", weight=COND_W, delay=1.0,
                              synapse=fs.CondSynapse(tau=TAU_S, e_rev=e))
    res = net.run(40.0, record={"spikes": [a, b], "v": b})
    return res, proj


@pytest.fixture(scope="module")
def syn_run():
    return build_synapse_net(0.1)


@pytest.fixture(scope="module")
def syn_run_fine():
    return build_synapse_net(0.01)


def first_change(v):
    """Index of the first sample that differs from the previous one."""
    idx = np.flatnonzero(np.diff(v) != 0)
    return int(idx[0]) + 1 if idx.size else None


def test_source_spikes_exactly_once(syn_run):
    res, _ = syn_run
    assert len(res.spikes) == 1 and res.spikes.ids[0] == 0
    # drive from t = 1.0 ms, first passage 10 ln(100/85) = 1.625 ms -> crossing in the
    # 17th step after onset, spike recorded at its end
    assert res.spikes.times[0] == pytest.approx(1.0 + 1.7)


def test_delta_arrives_exactly_delay_steps_later(syn_run):
    res, proj = syn_run
    dt = 0.1
    t_spike = res.spikes.times[0]
    v = res.state["v"]
    assert np.array_equal(proj["delta"].delay_steps, [1, 5, 10, 23, 50])
    for j, d in enumerate(proj["delta"].delay_steps):
        k = int(round(t_spike / dt)) + int(d)
        assert first_change(v[:, j]) == k
        assert np.all(v[:k, j] == -65.0)
        assert v[k, j] == -65.0 + 2.0  # sampled after the arrival: the full jump


def test_heterogeneous_delays_arrive_on_their_own_step(syn_run):
    res, proj = syn_run
    dt = 0.1
    base = int(round(res.spikes.times[0] / dt))
    steps = proj["hetero"].delay_steps
    assert np.unique(steps).shape[0] > 5
    post = proj["hetero"].post
    assert np.array_equal(np.sort(post), np.arange(5, 25))
    v = res.state["v"]
    for d, j in zip(steps, post, strict=True):
        assert first_change(v[:, j]) == base + d
        assert v[base + d, j] == -65.0 + 1.5


def test_exp_and_cond_synapses_act_from_the_arrival_step(syn_run):
    res, _ = syn_run
    k = int(round(res.spikes.times[0] / 0.1)) + 10  # delay 1.0 ms = 10 steps
    v = res.state["v"]
    for j in (25, 26, 27):
        # the channel jumps at the start of step k; v (sampled before the step's update)
        # first moves at k + 1
        assert first_change(v[:, j]) == k + 1
        assert v[k, j] == -65.0
    assert v[k + 1, 25] > -65.0  # exp, positive weight: depolarizes
    assert v[k + 1, 26] < -65.0  # conductance toward -80: hyperpolarizes
    assert v[k + 1, 27] > -65.0  # conductance toward 0: depolarizes
    assert np.all(v[:, 28] == -65.0)  # e_rev == v == v_rest: no driving force


def test_equal_exp_synapses_share_a_channel(syn_run):
    v = syn_run[0].state["v"]
    assert v[:, 25].max() > -64.5
    assert np.array_equal(v[:, 29], v[:, 25])


def test_cond_synapse_pulls_toward_but_not_past_e_rev(syn_run):
    res, _ = syn_run
    v = res.state["v"]
    assert -80.0 < v[:, 26].min() < -65.5
    assert -65.0 < v[:, 27].max() < 0.0
    # the inhibitory and excitatory responses relax back toward rest afterwards
    assert abs(v[-1, 26] + 65.0) < abs(v[:, 26].min() + 65.0)
    assert abs(v[-1, 27] + 65.0) < abs(v[:, 27].max() + 65.0)


def discrete_response(dt, n, g0, e_rev=None, tau=10.0, tau_s=TAU_S, v_rest=-65.0, r=1.0):
    """The documented scheme for one synaptic event at sample 0: g held at its start-of-step
    value, exponential-Euler v, then g decays."""
    dm, ds = np.exp(-dt / tau), np.exp(-dt / tau_s)
    v, g, out = v_rest, g0, []
    for _ in range(n):
        out.append(v)
        drive = g if e_rev is None else g * (e_rev - v)
        v_inf = v_rest + r * drive
        v = v_inf + (v - v_inf) * dm
        g *= ds
    return np.array(out)


def test_exp_and_cond_follow_the_documented_scheme(syn_run_fine):
    res, _ = syn_run_fine
    dt = 0.01
    k = int(round(res.spikes.times[0] / dt)) + 100
    v = res.state["v"]
    n = v.shape[0] - k
    np.testing.assert_allclose(v[k:, 25], discrete_response(dt, n, EXP_W), atol=1e-11)
    for j, e in COND_EREV.items():
        np.testing.assert_allclose(v[k:, j], discrete_response(dt, n, COND_W, e), atol=1e-11)


def test_exp_synapse_psp_peak_matches_analytic(syn_run_fine):
    """tau dv/dt = -(v - v_rest) + w e^{-t/tau_s}: peak w ts/(tau-ts) (e^{-t*/tau} -
    e^{-t*/ts}) at t* = tau ts ln(tau/ts)/(tau - ts); here 1.0 mV.

    Tolerance: g is held at its start-of-step value over each step while v is integrated
    exactly, so each step injects g_n dt instead of the exact g_n ts (1 - e^{-dt/ts}): a
    relative excess of dt/(2 ts) = 1e-3 at dt = 0.01 ms, ts = 5 ms; sampling the peak on
    the grid costs only O(dt^2). We require 0 < error < dt/ts = 2e-3."""
    res, _ = syn_run_fine
    dt, tau = 0.01, 10.0
    t_star = tau * TAU_S * np.log(tau / TAU_S) / (tau - TAU_S)
    peak = EXP_W * TAU_S / (tau - TAU_S) * (np.exp(-t_star / tau) - np.exp(-t_star / TAU_S))
    assert peak == pytest.approx(1.0)
    v = res.state["v"][:, 25] + 65.0
    rel = v.max() / peak - 1.0
    assert 0.0 < rel < dt / TAU_S
    # the peak time too, to a couple of steps
    t_arrival = res.spikes.times[0] + 1.0
    assert abs(res.t[np.argmax(v)] - t_arrival - t_star) <= 2 * dt


def test_cond_synapse_psp_matches_ode(syn_run_fine):
    """Same tolerance argument as for the exponential synapse (leading error dt/(2 ts))."""
    res, _ = syn_run_fine
    dt, tau = 0.01, 10.0
    t_arrival = res.spikes.times[0] + 1.0
    for j, e in ((26, -80.0), (27, 0.0)):
        def rhs(t, y, e=e):
            return [(-(y[0] + 65.0) + COND_W * np.exp(-t / TAU_S) * (e - y[0])) / tau]

        sol = solve_ivp(rhs, (0.0, 30.0), [-65.0], rtol=1e-11, atol=1e-11,
                        dense_output=True)
        tt = np.linspace(0.0, 30.0, 30001)
        exact = sol.sol(tt)[0] + 65.0
        ext = np.argmax(np.abs(exact))
        sim = res.state["v"][:, j] + 65.0
        got = sim[np.argmax(np.abs(sim))]
        rel = got / exact[ext] - 1.0
        assert 0.0 < rel < dt / TAU_S, (j, rel)
        assert abs(res.t[np.argmax(np.abs(sim))] - t_arrival - tt[ext]) <= 2 * dt


def test_synaptic_weights_do_not_scale_with_R():
    """The docs (README conventions, fracsim/synapses.py, Network.connect) define the
    exponential-synapse weight as a current in mV of R*I and the conductance weight in
    units of the leak conductance (R*g_syn): a PSP in mV must not depend on R, exactly like
    a delta synapse. Changing R of the target must leave every synaptic response
    unchanged."""
    r1, _ = build_synapse_net(0.1, r_target=1.0)
    r2, _ = build_synapse_net(0.1, r_target=2.0)
    v1, v2 = r1.state["v"], r2.state["v"]
    np.testing.assert_array_equal(v1[:, :25], v2[:, :25])  # delta synapses
    psp = {name: (float(np.abs(v1[:, c] + 65.0).max()), float(np.abs(v2[:, c] + 65.0).max()))
           for name, c in (("ExpSynapse", 25), ("CondSynapse e_rev=-80", 26),
                              ("CondSynapse e_rev=0", 27))}
    # peak |v - v_rest| with R = 1 and with R = 2: must be equal
    assert all(abs(p2 - p1) < 1e-9 for p1, p2 in psp.values()), psp


# --------------------------------------------------------------------------------------
# Spike queue with many spikes in flight (delta-only structure)
# --------------------------------------------------------------------------------------


def counting_target(net, n=1, name="B"):
    """A LIF that integrates delta inputs without leak or spikes: v counts the input."""
    return net.population(fs.LIF(tau=1e9, v_rest=0.0, v_th=1e12, v_reset=-1.0), n,
                          name=name, v0=0.0)


def test_many_spikes_in_flight_and_ring_growth():
    """A fires every step; 50 distinct delays from one source make 50 segments arrive in
    every slot (more than the initial ring width): each delivery must still happen once,
    on its step."""
    dt, n_steps = 0.1, 300
    net = fs.Network(dt=dt, seed=0)
    a = net.population(fs.LIF(tau=10.0), 1, name="A", current=1e4)
    b = counting_target(net)
    d_steps = np.arange(1, 51)
    weights = 1.0 + d_steps / 64.0  # distinct, exactly representable
    net.connect(a, b, pre=np.zeros(50, dtype=int), post=np.zeros(50, dtype=int),
                weight=weights, delay=d_steps * dt)
    res = net.run(n_steps * dt, record={"spikes": a, "v": b})
    s = np.round(res.spikes.times / dt).astype(int)
    assert np.array_equal(s, np.arange(1, n_steps + 1))  # a spike at the end of every step
    k = np.arange(n_steps)
    expected = np.zeros(n_steps)
    for d, w in zip(d_steps, weights, strict=True):
        # arrivals at s + d <= k are visible in the sample of step k
        expected += w * np.clip(k - d, 0, None)
    np.testing.assert_allclose(res.state["v"][:, 0], expected, rtol=1e-6)
    assert res.state["v"][-1, 0] > 1e4  # a lot of deliveries, none lost


def test_ring_full_in_the_middle_of_a_neurons_segments_is_undone_and_resumed():
    """F (2 neurons) fire at steps n0-2 and n0-1 with delays D+1 and D+2: 4 segments land
    in slot n0+1+D; at n0, Q[0] (delay D) adds the 5th, filling the initial ring width
    (min(N, segments) = 5).  Q[1] fires at n0 too, with delays 1 and D: its first segment
    fits, its second finds the slot full, so the first push is undone, the ring doubles
    and the step resumes at Q[1] (not Q[0]).  Every delivery must happen once on its step
    and every spike be recorded once."""
    dt, n0, d = 0.1, 20, 10
    net = fs.Network(dt=dt, seed=0)
    f = net.population(fs.LIF(tau=10.0), 2, name="F")
    q = net.population(fs.LIF(tau=10.0), 2, name="Q")
    b = counting_target(net)
    net.current(f, 1e5, start=(n0 - 2) * dt, stop=n0 * dt)
    net.current(q, 1e5, start=n0 * dt, stop=(n0 + 1) * dt)
    syn = {}  # (source pop, local id) -> (delays in steps, weights)
    for j in range(2):
        syn[("F", j)] = (np.array([d + 1, d + 2]), np.array([1.0, 2.0]) + 4 * j)
    syn[("Q", 0)] = (np.array([d]), np.array([64.0]))
    syn[("Q", 1)] = (np.array([1, d]), np.array([16.0, 32.0]))
    for (name, j), (dl, w) in syn.items():
        src = f if name == "F" else q
        zeros = np.zeros(dl.shape[0], dtype=int)
        net.connect(src[j:j + 1], b, pre=zeros, post=zeros, weight=w, delay=dl * dt)
    n_steps = n0 + d + 10
    res = net.run(n_steps * dt, record={"spikes": [f, q], "v": b})
    assert net._compiled.ring.shape[1] == 10  # it grew exactly once
    steps = np.round(res.spikes.times / dt).astype(int)
    assert sorted(zip(res.spikes.ids.tolist(), steps.tolist(), strict=True)) == [
        (0, n0 - 1), (0, n0), (1, n0 - 1), (1, n0), (2, n0 + 1), (3, n0 + 1)]
    expected = np.zeros(n_steps)
    k = np.arange(n_steps)
    for gid, s_sp in zip(res.spikes.ids, steps, strict=True):
        dl, w = syn[("F", gid) if gid < 2 else ("Q", gid - 2)]
        for dd, ww in zip(dl, w, strict=True):
            expected += ww * (k >= s_sp + dd)  # visible in the sample of step s + d
    np.testing.assert_allclose(res.state["v"][:, 0], expected, rtol=1e-7)


def test_periodic_source_with_long_delay():
    dt, delay = 0.1, 10.0
    net = fs.Network(dt=dt, seed=0)
    a = net.population(fs.LIF(tau=10.0), 1, name="A", current=100.0)  # ISI ~1.7 ms
    b = counting_target(net)
    net.connect(a, b, rule="all_to_all", weight=0.5, delay=delay)
    res = net.run(40.0, record={"spikes": a, "v": b})
    s = np.round(res.spikes.times / dt).astype(int)
    assert s.shape[0] > 15  # about 6 spikes in flight at any time
    k = np.arange(res.t.shape[0])
    expected = 0.5 * np.sum((s[None, :] + 100) <= k[:, None], axis=1)
    np.testing.assert_allclose(res.state["v"][:, 0], expected, rtol=1e-6)


def test_unrecorded_sources_still_deliver():
    net = fs.Network(dt=0.1, seed=0)
    a = net.population(fs.LIF(tau=10.0), 3, name="A", current=100.0)
    b = counting_target(net)
    net.connect(a, b, rule="all_to_all", weight=0.25, delay=2.0)
    res = net.run(20.0, record={"v": b})
    assert len(res.spikes) == 0  # A's spikes are not recorded ...
    # ... but delivered: 3 sources x 10 spikes (ISI 1.7 ms) before 20 - 2 ms
    assert res.state["v"][-1, 0] == pytest.approx(0.25 * 3 * 10)


def test_delta_input_ignored_while_refractory():
    dt = 0.1
    net = fs.Network(dt=dt, seed=0)
    # B fires at 10 ms (v0 just below threshold pushed over by A's spike), then is
    # refractory for 5 ms; a second delta from A arrives during that window
    a = net.population(fs.LIF(tau=10.0), 1, name="A")
    net.current(a, 1e4, start=8.9, stop=9.1)  # two steps of drive: spikes at 9.0 and 9.1
    b = net.population(fs.LIF(tau=1e9, v_rest=-65.0, t_ref=5.0), 1, name="B", v0=-52.0)
    net.connect(a, b, rule="all_to_all", weight=5.0, delay=1.0)
    res = net.run(20.0, record={"spikes": [a, b], "v": b})
    ta = res.pop("A").spikes.times
    tb = res.pop("B").spikes.times
    assert np.allclose(ta, [9.0, 9.1])
    # first arrival at 10.0 lifts B to -47 >= -50 -> spike at 10.1; second arrival at 10.1
    # hits the reset neuron during its refractory period and is ignored
    assert np.allclose(tb, [10.1])
    v = res.state["v"][:, 0]
    assert np.all(v[103:152] == -65.0)  # held at reset through the refractory steps
    assert v[-1] == pytest.approx(-65.0)


def test_cannot_add_after_run():
    net = fs.Network(dt=0.1, seed=0)
    a = net.population(fs.LIF(), 2, name="A")
    b = counting_target(net)
    net.connect(a, b, rule="all_to_all")
    net.run(1.0)
    with pytest.raises(RuntimeError, match="after the network has run"):
        net.population(fs.LIF(), 1)
    with pytest.raises(RuntimeError, match="after the network has run"):
        net.connect(a, b, rule="all_to_all")
    with pytest.raises(RuntimeError, match="after the network has run"):
        net.poisson(a, rate=1.0, weight=1.0)
