"""External inputs: constant, per-neuron, step, TimedArray, callables, gating; Poisson.

Deterministic inputs are checked against a plain-Python LIF loop fed with the drive the
docs promise (the value of step n is the input at t_n = n dt, zero outside
[start, stop)); all of them share one run of one network.
"""

from __future__ import annotations

import numpy as np
import pytest

import fracsim as fs

DT = 0.1
T_STOP = 60.0
N_STEPS = 600
STEP = np.arange(N_STEPS)  # step index n
T_N = STEP * DT  # t_n, as the grid is built: n * dt
LIF_MODEL = fs.LIF(tau=10.0)

TIMED = np.array([0.0, 25.0, 40.0, 18.0])  # 10 ms bins; the last value is held
TIMED_2D = np.array([[0.0, 30.0], [30.0, 0.0], [20.0, 45.0], [0.0, 0.0]])  # 15 ms bins


def wave(t):
    return 20.0 + 15.0 * np.sin(2 * np.pi * t / 25.0)


def wave2(t):
    return np.stack([np.full_like(t, 22.0), 40.0 * (t > 30.0)], axis=1)


# (description, expected drive per step for each of the 10 neurons)
EXPECTED_DRIVE = {
    0: ("step current on at 10 ms, off at 30 ms", np.where((STEP >= 100) & (STEP < 300),
                                                            30.0, 0.0)),
    1: ("TimedArray, 10 ms bins, last value held", TIMED[np.minimum(STEP // 100, 3)]),
    2: ("callable of t", wave(T_N)),
    3: ("constant gated to [5, 25) ms", np.where((STEP >= 50) & (STEP < 250), 30.0, 0.0)),
    4: ("constant plus a step at 20 ms (currents add)", 5.0 + np.where(STEP >= 200, 25.0, 0.0)),
    5: ("2-D TimedArray, column 0", TIMED_2D[np.minimum(STEP // 150, 3), 0]),
    6: ("2-D TimedArray, column 1", TIMED_2D[np.minimum(STEP // 150, 3), 1]),
    7: ("step current gated to [15, 45) ms", np.where((STEP >= 150) & (STEP < 450), 35.0, 0.0)),
    8: ("per-neuron callable, column 0", np.full(N_STEPS, 22.0)),
    9: ("per-neuron callable, column 1, plus a constant per-neuron array entry",
        40.0 * (T_N > 30.0) + 3.0),
}


@pytest.fixture(scope="module")
def inputs_run():
    net = fs.Network(dt=DT, seed=0)
    p = net.population(LIF_MODEL, 10, name="P")
    net.current(p[0], fs.step_current([10.0, 30.0], [30.0, 0.0]))
    net.current(p[1], fs.TimedArray(TIMED, dt=10.0))
    net.current(p[2], wave)
    net.current(p[3], 30.0, start=5.0, stop=25.0)
    net.current(p[4], 5.0)
    net.current(p[4], fs.step_current([20.0], [25.0]))
    net.current(p[5:7], fs.TimedArray(TIMED_2D, dt=15.0))
    net.current(p[7], fs.step_current([0.0], [35.0]), start=15.0, stop=45.0)
    net.current(p[8:10], wave2)
    net.current(p[8:10], np.array([0.0, 3.0]))
    res = net.run(T_STOP, record={"spikes": p, "v": p})
    return res


def lif_reference(drive, v0=-65.0, model=LIF_MODEL, dt=DT):
    """Exponential Euler LIF, no refractory period: (v samples, spike times)."""
    decay = np.exp(-dt / model.tau)
    v, trace, spikes = v0, [], []
    for n, d in enumerate(drive):
        trace.append(v)
        v_inf = model.v_rest + model.R * d
        v = v_inf + (v - v_inf) * decay
        if v >= model.v_th:
            spikes.append(n + 1)
            v = model.v_reset
    return np.array(trace), np.array(spikes, dtype=np.int64) * dt


@pytest.mark.parametrize("neuron", sorted(EXPECTED_DRIVE))
def test_time_varying_inputs_follow_the_documented_drive(inputs_run, neuron):
    res = inputs_run
    what, drive = EXPECTED_DRIVE[neuron]
    ref_v, ref_spikes = lif_reference(drive)
    assert ref_spikes.shape[0] >= 1, what  # the case is not vacuous
    assert np.array_equal(res.spikes.of(neuron), ref_spikes), what
    np.testing.assert_allclose(res.state["v"][:, neuron], ref_v, rtol=0, atol=1e-9,
                               err_msg=what)


def test_gated_input_is_off_outside_its_window(inputs_run):
    res = inputs_run
    # neuron 3: input only in [5, 25): nothing before 5 ms, no spike after 25 ms
    v3 = res.state["v"][:, 3]
    assert np.all(v3[:51] == -65.0)
    assert res.spikes.of(3).max() <= 25.0
    # neuron 7: input only in [15, 45)
    assert np.all(res.state["v"][:151, 7] == -65.0)
    assert res.spikes.of(7).min() > 15.0 and res.spikes.of(7).max() <= 45.0


def test_step_current_and_timed_array_evaluation():
    sc = fs.step_current([10.0, 30.0], [2.0, -1.0])
    t = np.array([0.0, 9.99, 10.0, 29.9, 30.0, 1e6])
    np.testing.assert_array_equal(sc(t), [0.0, 0.0, 2.0, 2.0, -1.0, -1.0])
    ta = fs.TimedArray(np.array([1.0, 2.0, 3.0]), dt=0.5)
    np.testing.assert_array_equal(ta(np.array([0.0, 0.49, 0.5, 1.0, 1.49, 7.0])),
                                  [1.0, 1.0, 2.0, 3.0, 3.0, 3.0])
    # grid times computed as n * dt hit the bin they name, despite rounding (0.1 * 3)
    ta2 = fs.TimedArray(np.arange(10.0), dt=0.1)
    np.testing.assert_array_equal(ta2(np.arange(10) * 0.1), np.arange(10.0))


def test_simulate_accepts_every_input_form():
    """Scalar, per-neuron array, step current, TimedArray and callable through simulate."""
    m = fs.LIF(tau=10.0)
    forms = {
        "scalar": (30.0, np.full(N_STEPS, 30.0)),
        "step": (fs.step_current([20.0], [30.0]), np.where(STEP >= 200, 30.0, 0.0)),
        "timed": (fs.TimedArray(TIMED, 10.0), TIMED[np.minimum(STEP // 100, 3)]),
        "callable": (wave, wave(T_N)),
    }
    for name, (cur, drive) in forms.items():
        res = fs.simulate(m, T_STOP, dt=DT, current=cur)
        assert np.array_equal(res.spikes.times, lif_reference(drive)[1]), name
    res = fs.simulate(m, T_STOP, dt=DT, current=np.array([20.0, 30.0, 40.0]), n=3)
    for i, c in enumerate([20.0, 30.0, 40.0]):
        assert np.array_equal(res.spikes.of(i), lif_reference(np.full(N_STEPS, c))[1])


def test_inputs_continue_across_runs():
    """A time-varying input is evaluated on absolute time in a second run."""
    net = fs.Network(dt=DT, seed=0)
    p = net.population(LIF_MODEL, 1, name="P")
    net.current(p, fs.step_current([10.0, 30.0], [30.0, 0.0]))
    r1 = net.run(20.0)
    r2 = net.run(40.0)
    times = np.concatenate([r1.spikes.times, r2.spikes.times])
    assert r1.spikes.times.shape[0] >= 1 and r2.spikes.times.shape[0] >= 1
    assert np.array_equal(times, lif_reference(EXPECTED_DRIVE[0][1])[1])


# --------------------------------------------------------------------------------------
# Poisson input
# --------------------------------------------------------------------------------------


def counter_population(net, n, name="P"):
    """LIF with no leak to speak of (tau = 1e9 ms) and no threshold: v counts events."""
    model = fs.LIF(tau=1e9, v_rest=0.0, v_th=1e12, v_reset=-1.0)
    return net.population(model, n, name=name, v0=0.0)


def test_poisson_counts_mean_and_variance():
    n, rate, k, t_stop = 2000, 20.0, 10, 500.0
    net = fs.Network(dt=0.1, seed=3)
    p = counter_population(net, n)
    net.poisson(p, rate=rate, weight=1.0, n_sources=k)
    net.run(t_stop, record={})
    v = p.state("v")
    counts = np.round(v)
    # each event adds exactly 1 (decay over the run: factor e^{-5e-7})
    assert np.max(np.abs(v - counts)) < 1e-3
    lam = k * rate * t_stop / 1000.0  # 100 events expected per neuron
    assert abs(counts.mean() - lam) <= 5 * np.sqrt(lam / n)
    # sample variance of Poisson(lam): standard error sqrt((lam + 2 lam^2) / n)
    assert abs(counts.var(ddof=1) - lam) <= 5 * np.sqrt((lam + 2 * lam**2) / n)
    # the count distribution is Poisson: P(0 events) ~ e^{-lam} ~ 0, tails thin
    assert counts.min() > lam - 6 * np.sqrt(lam) and counts.max() < lam + 6 * np.sqrt(lam)


def test_poisson_per_neuron_rates_and_arrival_times():
    groups = np.array([0.0, 5.0, 20.0, 80.0])  # Hz
    per = 400
    rates = np.repeat(groups, per)
    k, t_stop, every = 5, 400.0, 500
    net = fs.Network(dt=0.1, seed=11)
    p = counter_population(net, rates.shape[0])
    net.poisson(p, rate=rates, weight=1.0, n_sources=k)
    res = net.run(t_stop, record={"v": p}, record_every=every)
    final = np.round(p.state("v"))
    for g, r in enumerate(groups):
        c = final[g * per:(g + 1) * per]
        lam = k * r * t_stop / 1000.0
        if lam == 0:
            assert np.all(c == 0)
        else:
            assert abs(c.mean() - lam) <= 5 * np.sqrt(lam / per), (r, c.mean(), lam)
    # events are spread uniformly in time: the 80 Hz group's mean count grows linearly
    samples = np.round(res.state["v"][:, 3 * per:])
    assert res.t.shape[0] == 8
    # the sample at the start of step m includes that step's events: events in [0, t_m + dt)
    lam_t = k * 80.0 * (res.t + 0.1) / 1000.0
    assert np.all(np.abs(samples.mean(axis=1) - lam_t) <= 5 * np.sqrt(lam_t / per))


def test_poisson_into_a_view_only_drives_that_view():
    net = fs.Network(dt=0.1, seed=2)
    p = counter_population(net, 20)
    net.poisson(p[5:10], rate=50.0, weight=0.5, n_sources=4)
    net.run(200.0, record={})
    v = p.state("v")
    assert np.all(v[:5] == 0.0) and np.all(v[10:] == 0.0)
    assert np.all(v[5:10] > 0.0)
    # weight 0.5 per event: twice the count is an integer; 40 events expected
    assert np.max(np.abs(2 * v[5:10] - np.round(2 * v[5:10]))) < 1e-3
    assert 10 < np.mean(2 * v[5:10]) < 80


def test_current_plan_rows_by_pieces_equal_the_whole_grid():
    """The gradients' per-block evaluation of currents (CurrentPlan.rows on a piece of the
    grid) gives the rows of the whole grid: shared and per-neuron specs, two inputs on one
    neuron, the input gain, gates."""
    from fracsim.engine.runner import CurrentPlan

    net = fs.Network(dt=0.5)
    pop = net.population(fs.LIF(tau=10.0, R=2.0), 5, name="P")
    ta = fs.TimedArray(np.arange(40.0).reshape(20, 2), 1.0)
    net.current(pop[3:5], ta)
    net.current(pop[1:4], wave, start=2.0, stop=7.0)
    net.current(pop, 1.5)
    plan = CurrentPlan(net, pop)
    t = np.arange(30) * 0.5
    whole = plan.rows(t)
    assert whole.shape == (30, 4) == (30, plan.n_cols)  # none; wave; wave + ta0; ta1
    pieces = np.vstack([plan.rows(t[a:a + 7]) for a in range(0, 30, 7)])
    np.testing.assert_array_equal(pieces, whole)
    d = whole[:, plan.icol]
    gate = (t >= 2.0 - 1e-9) & (t < 7.0 - 1e-9)
    np.testing.assert_allclose(d[:, 3], 2.0 * (ta(t)[:, 0] + wave(t) * gate), rtol=1e-15)
    np.testing.assert_array_equal(d[:, 4], 2.0 * ta(t)[:, 1])
    assert np.all(d[:, 0] == 0.0) and np.array_equal(d[:, 1], d[:, 2])
    assert np.all(plan.iconst == 3.0)
