"""Result objects, save/load, recording, continuation, determinism and the NaN guard."""

from __future__ import annotations

import numpy as np
import pytest

import fracsim as fs

T_STOP = 200.0


def random_network(seed, runs=(T_STOP,), record_v=True):
    """80 E + 20 I LIF neurons, random connectivity, weights and delays, Poisson drive.
    Runs for the given successive durations and returns (net, [results])."""
    net = fs.Network(dt=0.1, seed=seed)
    e = net.population(fs.LIF(tau=20.0), 80, name="E", v0=np.linspace(-65.0, -51.0, 80))
    i = net.population(fs.LIF(tau=10.0, t_ref=1.0), 20, name="I")
    net.connect(e, i, p=0.2, weight=(0.5, 2.0), delay=(1.0, 3.0))
    net.connect(i, e, p=0.2, weight=(-3.0, -1.0), delay=(0.5, 2.0))
    net.connect(e, e, indegree=5, weight=lambda rng, n: rng.normal(1.0, 0.3, n),
                delay=(1.0, 5.0), autapses=False)
    net.poisson(e, rate=50.0, weight=2.0, n_sources=20)
    net.poisson(i, rate=30.0, weight=1.5, n_sources=20)
    record = {"spikes": [e, i], "v": e[:5]} if record_v else {"spikes": [e, i]}
    return net, [net.run(t, record=record) for t in runs]


@pytest.fixture(scope="module")
def reference_run():
    return random_network(1)[1][0]


# --------------------------------------------------------------------------------------
# Determinism and continuation
# --------------------------------------------------------------------------------------


def test_same_seed_gives_bit_identical_spikes(reference_run):
    res = reference_run
    again = random_network(1)[1][0]
    assert len(res.spikes) > 100  # the network is active
    assert np.array_equal(res.spikes.times, again.spikes.times)
    assert np.array_equal(res.spikes.ids, again.spikes.ids)
    assert np.array_equal(res.state["v"], again.state["v"])


def test_different_seed_gives_different_spikes(reference_run):
    other = random_network(2)[1][0]
    same_len = len(other.spikes) == len(reference_run.spikes)
    assert not (same_len and np.array_equal(other.spikes.times, reference_run.spikes.times)
                and np.array_equal(other.spikes.ids, reference_run.spikes.ids))


def test_run_twice_continues_and_equals_one_long_run(reference_run):
    net, (r1, r2) = random_network(1, runs=(73.0, T_STOP - 73.0))
    assert r1.t_start == 0.0 and r1.t_stop == pytest.approx(73.0)
    assert r2.t_start == r1.t_stop
    assert r2.t_stop == pytest.approx(T_STOP) and net.t == pytest.approx(T_STOP)
    assert r2.t[0] == pytest.approx(73.0) and r2.spikes.times.min() > 73.0
    times = np.concatenate([r1.spikes.times, r2.spikes.times])
    ids = np.concatenate([r1.spikes.ids, r2.spikes.ids])
    assert np.array_equal(times, reference_run.spikes.times)
    assert np.array_equal(ids, reference_run.spikes.ids)
    assert np.array_equal(np.vstack([r1.state["v"], r2.state["v"]]), reference_run.state["v"])
    np.testing.assert_allclose(np.concatenate([r1.t, r2.t]), reference_run.t, atol=1e-9)


def test_seed_none_picks_a_seed_that_reproduces_the_run():
    net, (res,) = random_network(None, runs=(50.0,), record_v=False)
    assert isinstance(net.seed, int) and net.seed >= 0
    _, (again,) = random_network(net.seed, runs=(50.0,), record_v=False)
    assert len(res.spikes) > 0
    assert np.array_equal(res.spikes.times, again.spikes.times)
    assert np.array_equal(res.spikes.ids, again.spikes.ids)


def test_more_spikes_than_the_spike_buffer():
    """100 neurons firing every step for 1000 steps: 100 000 spikes, more than the
    65 536-entry buffer the loop fills before handing back; none may be lost."""
    res = fs.simulate(fs.LIF(tau=10.0), 100.0, dt=0.1, current=1e4, n=100, record=())
    assert len(res.spikes) == 100 * 1000
    assert np.all(res.spikes.counts(100) == 1000)
    steps = np.round(res.spikes.times / 0.1).astype(int)
    assert np.array_equal(steps, np.repeat(np.arange(1, 1001), 100))
    assert np.array_equal(res.spikes.ids, np.tile(np.arange(100), 1000))


def test_spike_times_sorted_and_on_the_grid(reference_run):
    t = reference_run.spikes.times
    assert np.all(np.diff(t) >= 0)
    steps = t / 0.1
    assert np.allclose(steps, np.round(steps), atol=1e-6)
    assert t.min() > 0.0 and t.max() <= T_STOP + 1e-9


# --------------------------------------------------------------------------------------
# Result access
# --------------------------------------------------------------------------------------


def test_per_population_access_and_rates(reference_run):
    res = reference_run
    assert res.populations == {"E": (0, 80), "I": (80, 20)}
    e, i = res.pop("E"), res["I"]
    assert e.n == 80 and i.n == 20
    assert len(e.spikes) + len(i.spikes) == len(res.spikes)
    in_e = res.spikes.ids < 80
    assert np.array_equal(e.spikes.times, res.spikes.times[in_e])
    assert np.array_equal(e.spikes.ids, res.spikes.ids[in_e])
    assert np.array_equal(i.spikes.ids, res.spikes.ids[~in_e] - 80)  # local ids
    assert i.spikes.ids.min() >= 0 and i.spikes.ids.max() < 20
    # recorded states: v of E[:5] only
    assert e.state["v"].shape == (2000, 5)
    assert np.array_equal(e.state_ids["v"], np.arange(5))
    assert "v" not in i.state
    assert np.array_equal(res.state_ids["v"], np.arange(5))
    # rates (Hz) from counts
    rates = res.rates()
    assert rates["E"] == pytest.approx(len(e.spikes) / (80 * T_STOP * 1e-3))
    assert rates["I"] == pytest.approx(len(i.spikes) / (20 * T_STOP * 1e-3))
    assert rates["E"] > 0 and rates["I"] > 0
    # a Population object works as a key; unknown names raise KeyError
    net = fs.Network(dt=0.1, seed=0)
    pop_e = net.population(fs.LIF(), 80, name="E")
    assert np.array_equal(res.pop(pop_e).spikes.times, e.spikes.times)
    with pytest.raises(KeyError, match="no population 'X'"):
        res.pop("X")


def test_spike_train_helpers(reference_run):
    sp = reference_run.spikes
    counts = sp.counts(100)
    assert counts.shape == (100,) and counts.sum() == len(sp)
    for neuron in (0, 42, 85):
        assert sp.of(neuron).shape[0] == counts[neuron]
        assert np.all(np.diff(sp.of(neuron)) > 0)


def test_save_load_round_trip(reference_run, tmp_path):
    res = reference_run
    path = res.save(tmp_path / "run")
    assert path == tmp_path / "run.npz" and path.exists()
    back = fs.load(path)
    assert np.array_equal(back.t, res.t)
    assert np.array_equal(back.spikes.times, res.spikes.times)
    assert np.array_equal(back.spikes.ids, res.spikes.ids)
    assert back.spikes.ids.dtype.kind == "i"
    assert back.state.keys() == res.state.keys()
    assert np.array_equal(back.state["v"], res.state["v"])
    assert np.array_equal(back.state_ids["v"], res.state_ids["v"])
    assert back.populations == res.populations
    assert (back.t_start, back.t_stop, back.dt) == (res.t_start, res.t_stop, res.dt)
    assert back.rates() == res.rates()
    assert np.array_equal(back["I"].spikes.times, res["I"].spikes.times)
    # a name that already ends in .npz is kept
    p2 = res.save(tmp_path / "again.npz")
    assert p2 == tmp_path / "again.npz"
    assert np.array_equal(fs.load(p2).spikes.ids, res.spikes.ids)


def test_save_load_without_states(tmp_path):
    res = fs.simulate(fs.LIF(), 50.0, dt=0.1, current=30.0, record=())
    assert res.state == {} and len(res.spikes) > 0
    back = fs.load(res.save(tmp_path / "spikes_only.npz"))
    assert back.state == {}
    assert np.array_equal(back.spikes.times, res.spikes.times)
    assert back.populations == {"LIF": (0, 1)}


# --------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("every", [1, 7, 100, 1000])
def test_record_every_k_steps(every):
    m = fs.LIF(tau=10.0)
    currents = np.array([12.0, 30.0])
    full = fs.simulate(m, 100.0, dt=0.1, current=currents, n=2)
    sub = fs.simulate(m, 100.0, dt=0.1, current=currents, n=2, record_every=every)
    n_samples = -(-1000 // every)
    assert sub.state["v"].shape == (n_samples, 2)
    np.testing.assert_allclose(sub.t, np.arange(n_samples) * every * 0.1, atol=1e-9)
    assert np.array_equal(sub.state["v"], full.state["v"][::every])
    assert np.array_equal(sub.spikes.times, full.spikes.times)  # spikes unaffected


def test_record_every_across_two_runs():
    net = fs.Network(dt=0.1, seed=0)
    p = net.population(fs.LIF(tau=10.0), 2, name="P", current=np.array([12.0, 30.0]))
    r1 = net.run(10.0, record={"v": p}, record_every=3)
    r2 = net.run(10.0, record={"v": p[1]}, record_every=3)
    assert r1.state["v"].shape == (34, 2) and r2.state["v"].shape == (34, 1)
    np.testing.assert_allclose(r2.t, 10.0 + np.arange(34) * 0.3, atol=1e-9)
    full = fs.simulate(fs.LIF(tau=10.0), 20.0, dt=0.1, current=np.array([12.0, 30.0]), n=2)
    assert np.array_equal(r2.state["v"][:, 0], full.state["v"][100::3, 1])
    assert np.array_equal(r2.state_ids["v"], [1])
    # the population's final state is readable after the run
    assert p.state("v")[1] == net.populations[0].state("v")[1]


def test_population_state_before_and_after_run():
    net = fs.Network(dt=0.1, seed=0)
    p = net.population(fs.AdLIF(), 3, name="P", v0=np.array([-70.0, -60.0, -55.0]), w0=1.5)
    assert np.array_equal(p.state("v"), [-70.0, -60.0, -55.0])
    assert np.array_equal(p.state("w"), [1.5, 1.5, 1.5])
    with pytest.raises(ValueError, match="not 'u'"):
        p.state("u")
    res = net.run(5.0, record={"v": p, "w": p})
    # after the run: one more step than the last sample
    assert p.state("v").shape == (3,)
    assert np.all(p.state("v") != res.state["v"][-1])
    assert np.all(np.abs(p.state("w")) < 1.5)  # decayed toward a (v - v_rest) = 0


# --------------------------------------------------------------------------------------
# NaN guard
# --------------------------------------------------------------------------------------


def test_nonfinite_guard_names_step_time_and_neuron():
    """Neuron 3 of the second population gets R*I = inf from t = 5 ms on (R = 10,
    I = 1e308): its exponential-Euler update is inf - inf = NaN in step 50 (t_50 = 5 ms)."""
    net = fs.Network(dt=0.1, seed=0)
    net.population(fs.LIF(), 4, name="P0", current=20.0)
    p1 = net.population(fs.LIF(R=10.0), 6, name="P1", current=10.0)
    net.current(p1[3], 1e308, start=5.0)
    with pytest.raises(fs.NonFiniteStateError) as info:
        net.run(20.0)
    err = info.value
    assert err.step == 50
    assert err.time == pytest.approx(5.0)
    assert err.neuron == 4 + 3
    assert err.population == "P1" and err.local == 3
    assert "step 50" in str(err) and "'P1'" in str(err)
    assert isinstance(err, FloatingPointError)


def izhikevich_blowup_step(current, dt, a=0.02, b=0.2, c=-65.0, d=8.0, n_max=10_000):
    """First step whose Euler update makes v or u non-finite (plain-Python loop)."""
    v, u = c, b * c
    for n in range(n_max):
        v = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
        u = u + dt * a * (b * v - u)
        if not (np.isfinite(v) and np.isfinite(u)):
            return n
        if v >= 30.0:
            v = c
            u = u + d
    return None


def test_nonfinite_guard_izhikevich_large_dt():
    dt, drive = 0.5, -1000.0
    expected = izhikevich_blowup_step(drive, dt)
    assert expected is not None and expected > 5
    current = np.array([0.0, 5.0, 0.0, drive, 10.0])
    with pytest.raises(fs.NonFiniteStateError) as info:
        fs.simulate(fs.Izhikevich(), 200.0, dt=dt, current=current, n=5)
    err = info.value
    assert err.neuron == 3 and err.local == 3 and err.population == "Izhikevich"
    assert err.step == expected
    assert err.time == pytest.approx(expected * dt)


def test_overflow_to_inf_is_not_swallowed_by_the_reset():
    """QIF neuron 1 gets R*I = 10 * 1e308 = inf: its forward-Euler v is +inf, which is
    >= v_peak, so the kernel resets it to v_reset and the stored state is finite again.
    The kernel's finite flag is False but ``first_nonfinite`` finds nothing and returns 0,
    which the loop reads as "0 spikes": the guard stays silent and every spike of the
    population in that step is dropped (neuron 0 fires 21 times alone, 0 times here).
    Either the guard must fire for neuron 1, or neuron 0's spikes must be kept."""
    q = fs.QIF(R=10.0)
    alone = fs.simulate(q, 200.0, dt=0.1, current=np.array([5.0, 0.0]), n=2, record=())
    n0 = alone.spikes.counts(2)[0]
    assert n0 > 10
    try:
        res = fs.simulate(q, 200.0, dt=0.1, current=np.array([5.0, 1e308]), n=2, record=())
    except fs.NonFiniteStateError as err:
        assert err.neuron == 1 and err.step == 0
    else:
        assert res.spikes.counts(2)[0] == n0, "spikes of neuron 0 were dropped"
