"""Fractional membranes in the engine: order-1 reduction, convergence, memory strategies,
reset semantics, per-neuron orders and argument checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import gamma

import fracsim as fs

V_REST, TAU, DRIVE = -65.0, 10.0, 10.0  # LIF: v_inf = -55 mV, below a far threshold


def lif_trace(alpha, dt, t_stop, scheme, memory, **kw):
    m = fs.LIF(tau=TAU, v_rest=V_REST, v_th=kw.pop("v_th", 100.0), alpha=alpha, **kw)
    res = fs.simulate(m, t_stop, dt=dt, current=DRIVE, scheme=scheme, memory=memory,
                      v0=V_REST)
    return res.t, res.state["v"][:, 0]


def ml_series(z: float, a: float) -> float:
    """E_a(z) by its Taylor series (|z| < 2 here, 80 terms are ample)."""
    k = np.arange(80)
    return float(np.sum(z ** k / gamma(a * k + 1)))


def lif_exact(t: float, a: float) -> float:
    v_inf = V_REST + DRIVE
    return v_inf + (V_REST - v_inf) * ml_series(-(t ** a) / TAU, a)


@pytest.mark.parametrize("scheme", ["gl", "l1", "pi_trap"])
def test_order_one_reduces_to_the_integer_scheme(scheme):
    """alpha = 1 through the fractional path: GL is forward Euler, L1 backward Euler and
    the product-trapezoidal scheme the trapezoidal rule."""
    dt = 0.1
    _, v = lif_trace(1.0, dt, 50.0, scheme, fs.FullMemory())
    ref = np.empty_like(v)
    ref[0] = V_REST
    for k in range(1, v.shape[0]):
        if scheme == "gl":
            ref[k] = ref[k - 1] + dt * (V_REST - ref[k - 1] + DRIVE) / TAU
        elif scheme == "pi_trap":
            f_old = (V_REST - ref[k - 1] + DRIVE) / TAU
            ref[k] = (ref[k - 1] + dt / 2 * (f_old + (V_REST + DRIVE) / TAU)) / (
                1 + dt / (2 * TAU))
        else:
            ref[k] = (ref[k - 1] + dt * (V_REST + DRIVE) / TAU) / (1 + dt / TAU)
    np.testing.assert_allclose(v, ref, rtol=0, atol=1e-12)


def test_gl_order_one_izhikevich_equals_the_integer_kernel():
    """Izhikevich's integer scheme is forward Euler (v first, u with the new v): the GL
    path at alpha = 1 must reproduce it spike for spike."""
    model, spec = fs.Izhikevich.pattern("tonic_bursting")
    cur = fs.step_current([spec["onset"]], [spec["amplitude"]])
    kw = dict(t_stop=spec["t_stop"], dt=spec["dt"], current=cur, v0=spec["v0"])
    native = fs.simulate(model, **kw)
    frac = fs.simulate(model, scheme="gl", memory=fs.FullMemory(), **kw)
    assert native.spikes.times.size > 5
    np.testing.assert_array_equal(frac.spikes.times, native.spikes.times)
    np.testing.assert_allclose(frac.state["v"], native.state["v"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("scheme", ["gl", "l1", "pi_trap"])
@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.7, 0.9])
def test_order_on_the_mittag_leffler_problem(scheme, alpha):
    """At a fixed t > 0 the Mittag-Leffler solution is not smooth at 0: GL and L1 converge
    with order 1 on a uniform grid (NUMERICS.md; Stynes et al. 2017), the product
    trapezoidal rule with order 1 + alpha (Garrappa 2018)."""
    t_end, errs = 10.0, []
    dts = [0.1, 0.05, 0.025]
    for dt in dts:
        t, v = lif_trace(alpha, dt, t_end + dt, scheme, fs.FullMemory())
        errs.append(abs(v[-1] - lif_exact(t[-1], alpha)))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    theory = 1.0 + alpha if scheme == "pi_trap" else 1.0
    assert np.all(np.abs(orders - theory) <= 0.15), (errs, orders)


@pytest.mark.parametrize("scheme", ["l1", "pi_trap"])
@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.8])
def test_order_on_a_smooth_solution(scheme, alpha):
    """Manufactured ``v = v_rest + t^2``: ``R I(t) = tau 2 t^(2-a) / Γ(3-a) + t^2``.
    Implicit L1 converges with order 2 - alpha, the product trapezoidal rule with 2.
    The engine holds the input of step n at its value at t_n; the implicit steps
    evaluate F at t_{n+1}, so the input is given one step ahead."""
    t_end, errs = 2.0, []
    dts = [0.02, 0.01, 0.005]
    for dt in dts:
        def drive(t, dt=dt):
            s = t + dt
            return TAU * 2 * s ** (2 - alpha) / gamma(3 - alpha) + s ** 2

        m = fs.LIF(tau=TAU, v_rest=V_REST, v_th=100.0, alpha=alpha)
        res = fs.simulate(m, t_end + dt, dt=dt, current=drive, scheme=scheme,
                          memory=fs.FullMemory(), v0=V_REST)
        t, v = res.t, res.state["v"][:, 0]
        errs.append(abs(v[-1] - (V_REST + t[-1] ** 2)))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    theory = 2.0 if scheme == "pi_trap" else 2.0 - alpha
    assert np.all(np.abs(orders - theory) <= 0.15), (errs, orders)


def test_short_memory_error_decreases_with_length():
    """Truncating the history to L steps: the error against the full sum falls with L,
    roughly like L^(-alpha) (the bound in fracsim.fractional.memory)."""
    alpha, dt = 0.6, 0.1
    _, full = lif_trace(alpha, dt, 100.0, "l1", fs.FullMemory())
    errs = []
    for steps in (10, 40, 160, 640):
        _, v = lif_trace(alpha, dt, 100.0, "l1", fs.ShortMemory(steps=steps))
        errs.append(np.max(np.abs(v - full)))
    assert all(b < a for a, b in zip(errs, errs[1:], strict=False)), errs
    slope = np.polyfit(np.log([10, 40, 160, 640]), np.log(errs), 1)[0]
    assert -1.5 < slope < -0.3, (errs, slope)
    _, v = lif_trace(alpha, dt, 100.0, "l1", fs.ShortMemory(steps=1000))
    # L >= steps: the exact sum (FullMemory adds the far lags blockwise by a matrix
    # product, so the two agree to round-off, not bit for bit)
    np.testing.assert_allclose(v, full, rtol=1e-13)


def spiking_lif(alpha, reset, n=1, **kw):
    return fs.LIF(tau=TAU, v_rest=V_REST, v_th=-50.0, v_reset=-65.0, alpha=alpha,
                  reset=reset, **kw)


@pytest.mark.parametrize("scheme", ["gl", "l1", "pi_trap"])
def test_restart_reset_is_a_fresh_start(scheme):
    """With "restart" the trajectory after a spike is that of a new neuron started at
    v_reset at the spike time (history cleared)."""
    alpha, dt, cur = 0.7, 0.05, 40.0
    r = fs.simulate(spiking_lif(alpha, "restart"), 60.0, dt=dt, current=cur, scheme=scheme,
                    memory=fs.FullMemory(), v0=V_REST)
    spikes = r.spikes.times
    assert spikes.size >= 3
    isis = np.diff(spikes)
    np.testing.assert_allclose(isis, isis[0], atol=1e-9)  # every interval identical
    assert abs(spikes[0] - isis[0]) < 1e-9  # ... and equal to the first passage from rest


@pytest.mark.parametrize("scheme", ["gl", "l1"])
def test_jump_reset_keeps_the_history(scheme):
    """With "jump" the reset stays in the memory: intervals are not all equal to the
    first passage (the past keeps acting), unlike "restart"; at alpha = 1 both agree."""
    dt, cur = 0.05, 40.0
    kw = dict(t_stop=60.0, dt=dt, current=cur, memory=fs.FullMemory(), v0=V_REST,
              scheme=scheme)
    jump = fs.simulate(spiking_lif(0.7, "jump"), **kw).spikes.times
    restart = fs.simulate(spiking_lif(0.7, "restart"), **kw).spikes.times
    assert jump[0] == restart[0]  # identical until the first reset
    assert np.max(np.abs(np.diff(jump) - np.diff(restart)[0])) > 10 * dt
    j1 = fs.simulate(spiking_lif(1.0, "jump"), **kw).spikes.times
    r1 = fs.simulate(spiking_lif(1.0, "restart"), **kw).spikes.times
    np.testing.assert_allclose(j1, r1, rtol=0, atol=1e-9)


def test_jump_reset_recovers_in_steps_not_in_time():
    """The documented caveat of "jump": the reset's memory term pulls v back over a fixed
    number of steps, so intervals shrink as dt shrinks (no convergence in dt)."""
    isi = []
    for dt in (0.1, 0.01):
        m = spiking_lif(0.5, "jump")
        r = fs.simulate(m, 120.0, dt=dt, current=30.0, scheme="l1", memory=fs.FullMemory(),
                        record=())
        isi.append(np.diff(r.spikes.times)[0])
    assert isi[1] < 0.7 * isi[0], isi


def test_shift_reset_converges_and_schemes_agree():
    """With "shift" the spike times converge as dt -> 0, to the same limit for GL, L1 and
    the product trapezoidal rule."""
    times = {}
    for scheme in ("gl", "l1", "pi_trap"):
        for dt in (0.02, 0.005):
            m = spiking_lif(0.8, "shift")
            r = fs.simulate(m, 90.0, dt=dt, current=30.0, scheme=scheme,
                            memory=fs.SOE(1e-9), record=())
            times[scheme, dt] = r.spikes.times
    ref = times["pi_trap", 0.005]
    assert ref.size == 5
    for (scheme, dt), t in times.items():
        assert t.shape == ref.shape, (scheme, dt)
        assert np.max(np.abs(t - ref)) <= 4 * dt + 0.01, (scheme, dt, t, ref)


def test_pi_trap_rejects_short_memory():
    with pytest.raises(ValueError, match="ShortMemory"):
        fs.simulate(fs.LIF(alpha=0.5), 1.0, scheme="pi_trap", memory=fs.ShortMemory(10))


def test_pi_trap_rejects_history_resets():
    for reset in ("jump", "subtract"):
        with pytest.raises(ValueError, match="reset"):
            fs.simulate(spiking_lif(0.5, reset), 1.0, scheme="pi_trap")


def test_subtract_reset_keeps_the_overshoot():
    """At alpha = 1 (GL = forward Euler) "subtract" sets v to v - (v_th - v_reset)."""
    dt, cur = 0.5, 40.0
    m = spiking_lif(1.0, "subtract")
    r = fs.simulate(m, 30.0, dt=dt, current=cur, scheme="gl", memory=fs.FullMemory(),
                    v0=V_REST)
    v = r.state["v"][:, 0]
    k = int(round(r.spikes.times[0] / dt))  # first sample after the spike
    before = v[k - 1] + dt * (V_REST - v[k - 1] + cur) / TAU  # the crossing value
    assert before >= -50.0
    assert v[k] == pytest.approx(before - 15.0, abs=1e-12)
    assert v[k] > -65.0  # the overshoot is kept


def test_per_neuron_orders_match_separate_runs():
    alphas = np.array([0.4, 0.9, 0.4, 1.0])
    m = fs.LIF(tau=TAU, v_rest=V_REST, v_th=-50.0, alpha=alphas)
    both = fs.simulate(m, 50.0, dt=0.1, current=20.0, n=4, memory=fs.FullMemory())
    for i, a in enumerate(alphas):
        one = fs.simulate(fs.LIF(tau=TAU, v_rest=V_REST, v_th=-50.0, alpha=a), 50.0, dt=0.1,
                          current=20.0, memory=fs.FullMemory())
        # to round-off: the far sums of a full memory are matrix products, whose
        # rounding depends on the number of neurons of each order
        np.testing.assert_allclose(both.state["v"][:, i], one.state["v"][:, 0], rtol=1e-13)


@pytest.mark.parametrize("scheme", ["gl", "l1", "pi_trap"])
@pytest.mark.parametrize("reset", ["shift", "restart"])
def test_blocked_full_memory_equals_the_direct_sum(monkeypatch, scheme, reset):
    """FullMemory's far lags are summed per block of FAR_BLOCK steps by a matrix product;
    against the step-by-step sum (FAR_BLOCK = 0) the trajectories of spiking LIF neurons
    with two orders agree to round-off over several blocks, spikes included, also with
    "restart" (which clears a neuron's far sums mid-block)."""
    import fracsim.fractional.memory as memory

    def run():
        m = fs.LIF(tau=TAU, v_rest=V_REST, v_th=-50.0, alpha=np.array([0.5, 0.8, 0.5]),
                   reset=reset)
        net = fs.Network(dt=0.1, seed=0, scheme=scheme)
        pop = net.population(m, 3, current=np.array([60.0, 80.0, 100.0]),
                             memory=fs.FullMemory())
        a = net.run(23.3, record={"spikes": pop, "v": pop})  # ends mid-block
        b = net.run(20.0, record={"spikes": pop, "v": pop})  # grows the kernel
        return a, b

    blocked = run()
    monkeypatch.setattr(memory, "FAR_BLOCK", 0)
    direct = run()
    for x, y in zip(blocked, direct, strict=True):
        assert x.spikes.times.shape[0] > 5
        np.testing.assert_array_equal(x.spikes.times, y.spikes.times)
        np.testing.assert_array_equal(x.spikes.ids, y.spikes.ids)
        np.testing.assert_allclose(x.state["v"], y.state["v"], rtol=1e-12)


def test_full_memory_continues_across_runs():
    m = fs.LIF(tau=TAU, v_rest=V_REST, v_th=-50.0, alpha=0.6)
    whole = fs.simulate(m, 40.0, dt=0.1, current=20.0, memory=fs.FullMemory())
    net = fs.Network(dt=0.1, seed=0)
    pop = net.population(m, 1, current=20.0, memory=fs.FullMemory())
    a = net.run(15.0, record={"spikes": pop, "v": pop})
    b = net.run(25.0, record={"spikes": pop, "v": pop})
    np.testing.assert_array_equal(np.concatenate([a.state["v"], b.state["v"]]),
                                  whole.state["v"])


def test_fractional_run_is_bit_reproducible():
    m = fs.Izhikevich(alpha=0.8)
    runs = [fs.simulate(m, 100.0, dt=0.1, current=10.0, memory=fs.FullMemory(), n=3)
            for _ in range(2)]
    np.testing.assert_array_equal(runs[0].state["v"], runs[1].state["v"])


@pytest.mark.parametrize("bad, match", [
    (dict(alpha=0.0), "alpha"), (dict(alpha=1.5), "alpha"), (dict(alpha=np.nan), "alpha"),
    (dict(reset="soft"), "reset"),
])
def test_bad_model_orders_and_resets_are_named(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fs.LIF(**bad)


def test_bad_scheme_and_memory_are_named():
    with pytest.raises(ValueError, match="scheme"):
        fs.Network(dt=0.1, scheme="euler")
    with pytest.raises(ValueError, match="ShortMemory.steps"):
        fs.ShortMemory(steps=0)
    with pytest.raises(TypeError, match="ShortMemory.steps"):
        fs.ShortMemory(steps=2.5)
    for tol in (0.0, -1e-6, 0.5):
        with pytest.raises(ValueError, match="SOE.tol"):
            fs.SOE(tol=tol)
    with pytest.raises(TypeError, match="memory"):
        fs.simulate(fs.LIF(alpha=0.5), 1.0, memory="full")


def test_multi_term_with_repeated_order_is_a_rescaled_single_term():
    """``c1 D^a v + c2 D^a v = F`` is ``D^a v = F / (c1 + c2)``: an LIF with tau*(c1+c2)."""
    kw = dict(t_stop=60.0, dt=0.05, current=60.0, scheme="l1", memory=fs.FullMemory())
    two = fs.LIF(tau=TAU, v_rest=V_REST, v_th=-50.0, orders=((0.75, 0.6), (0.5, 0.6)))
    one = fs.LIF(tau=TAU * 1.25, v_rest=V_REST, v_th=-50.0, alpha=0.6)
    a, b = fs.simulate(two, **kw), fs.simulate(one, **kw)
    assert a.spikes.times.size >= 3
    np.testing.assert_array_equal(a.spikes.times, b.spikes.times)
    np.testing.assert_allclose(a.state["v"], b.state["v"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("memory", [fs.FullMemory(), fs.SOE(1e-10)])
def test_multi_term_order_on_a_smooth_solution(memory):
    """``tau (c1 D^a1 v + c2 D^a2 v) = -(v - v_rest) + R I`` with ``v = v_rest + t^2``:
    ``D^a t^2 = 2 t^(2-a) / Γ(3-a)``; implicit L1 converges with order 2 - max(a_i)."""
    terms = ((1.0, 0.5), (0.5, 0.8))
    errs = []
    for dt in (0.02, 0.01, 0.005):
        def drive(t, dt=dt):
            s = t + dt
            frac = sum(c * 2 * s ** (2 - a) / gamma(3 - a) for c, a in terms)
            return TAU * frac + s ** 2

        m = fs.LIF(tau=TAU, v_rest=V_REST, v_th=100.0, orders=terms)
        res = fs.simulate(m, 2.0 + dt, dt=dt, current=drive, scheme="l1", memory=memory,
                          v0=V_REST)
        errs.append(abs(res.state["v"][-1, 0] - (V_REST + res.t[-1] ** 2)))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(orders - 1.2) <= 0.15), (errs, orders)


@pytest.mark.parametrize("bad", [((1.0, 0.0),), ((0.0, 0.5),), ((1.0, 1.5),), (), "x",
                                 ((1.0, 0.5, 2.0),)])
def test_bad_multi_term_orders_are_named(bad):
    with pytest.raises((ValueError, TypeError), match="orders"):
        fs.LIF(orders=bad)
    with pytest.raises(ValueError, match="orders"):
        fs.LIF(alpha=0.5, orders=((1.0, 0.5), (1.0, 0.9)))


@pytest.mark.parametrize("scheme", ["gl", "l1", "pi_trap"])
@pytest.mark.parametrize("alpha", [0.5, 0.7, 0.9])
def test_first_spike_matches_the_reference(scheme, alpha):
    """First passage of the fractional LIF at dt = 0.01 ms within 0.1% of the exact
    Mittag-Leffler crossing time (``fs.reference``); spikes are reported on the grid."""
    from fracsim.reference import fractional_lif_first_spike

    cur = 30.0
    exact = fractional_lif_first_spike(alpha, TAU, V_REST, V_REST + cur, -50.0)
    m = fs.LIF(tau=TAU, v_rest=V_REST, v_th=-50.0, alpha=alpha)
    r = fs.simulate(m, exact + 2.0, dt=0.01, current=cur, scheme=scheme, record=())
    assert abs(r.spikes.times[0] - exact) <= 1e-3 * exact, (r.spikes.times[0], exact)


def test_shift_spike_train_matches_the_reference_solver():
    """Several spikes with reset="shift": the engine converges to ``solve_fde_spiking``.
    Each spike (and so each reset) lands on the step grid, up to dt late: the k-th spike
    time may be off by up to k dt."""
    from fracsim.reference import solve_fde_spiking

    alpha, cur, t_stop = 0.8, 30.0, 60.0

    def f(t, y):
        return np.array([(V_REST - y[0] + cur) / TAU])

    ref = solve_fde_spiking(f, [V_REST], alpha, t_stop, 0.05, threshold=-50.0,
                            reset=-65.0, reset_mode="shift")
    assert ref.spike_times.size >= 3
    m = fs.LIF(tau=TAU, v_rest=V_REST, v_th=-50.0, v_reset=-65.0, alpha=alpha)
    errs = []
    for dt in (0.02, 0.005):
        r = fs.simulate(m, t_stop, dt=dt, current=cur, scheme="pi_trap", record=())
        assert r.spikes.times.shape == ref.spike_times.shape
        err = np.abs(r.spikes.times - ref.spike_times)
        assert np.all(err <= dt * np.arange(1, err.size + 1)), (dt, r.spikes.times)
        errs.append(err.max())
    assert errs[1] < errs[0]


def test_soe_continued_runs_warn_beyond_the_fit_unless_t_max_covers_them():
    m = fs.LIF(tau=TAU, v_rest=V_REST, v_th=-50.0, alpha=0.6)
    net = fs.Network(dt=0.1, seed=0)
    pop = net.population(m, 1, current=20.0, memory=fs.SOE(1e-8))
    net.run(10.0)
    with pytest.warns(RuntimeWarning, match="t_max"):
        net.run(10.0)
    net = fs.Network(dt=0.1, seed=0)
    pop = net.population(m, 1, current=20.0, memory=fs.SOE(1e-8, t_max=20.0))
    a = net.run(10.0, record={"v": pop})
    b = net.run(10.0, record={"v": pop})  # no warning: the fit covers 20 ms
    whole = fs.simulate(m, 20.0, dt=0.1, current=20.0, memory=fs.FullMemory())
    v = np.concatenate([a.state["v"], b.state["v"]])
    assert np.max(np.abs(v - whole.state["v"])) <= 1e-8 * 15.0


@pytest.mark.parametrize("scheme", ["gl", "l1", "pi_trap"])
@pytest.mark.parametrize("tol", [1e-6, 1e-9])
def test_soe_error_against_full_memory_is_below_tol(scheme, tol):
    """SOE against the exact sum on the same scheme, for a spiking and a subthreshold
    neuron of each order: max |v_soe - v_full| <= tol * (voltage range); same spikes."""
    alphas = np.array([0.3, 0.5, 0.7, 0.9])
    m = fs.LIF(tau=TAU, v_rest=V_REST, v_th=-50.0, alpha=np.repeat(alphas, 2))
    cur = np.tile([30.0, 10.0], 4)
    kw = dict(t_stop=500.0, dt=0.1, current=cur, n=8, scheme=scheme)
    full = fs.simulate(m, memory=fs.FullMemory(), **kw)
    soe = fs.simulate(m, memory=fs.SOE(tol), **kw)
    v_full, v_soe = full.state["v"], soe.state["v"]
    span = v_full.max(axis=0) - v_full.min(axis=0)
    assert np.all(np.max(np.abs(v_soe - v_full), axis=0) <= tol * span)
    assert full.spikes.times.size > 20
    np.testing.assert_array_equal(soe.spikes.times, full.spikes.times)


@pytest.mark.parametrize("reset", ["shift", "jump"])
def test_implicit_step_without_solution_keeps_the_explicit_step(reset):
    """Fractional Izhikevich at dt = 0.1 ms: near a spike the implicit L1 equation (a
    quadratic in v) has no real root and Newton diverges; the step then keeps the
    explicit value, so v rises to the threshold.  Without the check this population
    stopped with NonFiniteStateError ("shift") or had neurons 'spiking' every other step
    from a state of -3.5e6 mV ("jump")."""
    n = 1000
    net = fs.Network(dt=0.1, seed=0, scheme="l1")
    m = fs.Izhikevich(a=0.02, b=0.2, c=-65.0, d=8.0, alpha=0.9, reset=reset)
    pop = net.population(m, n, memory=fs.SOE(tol=1e-8), v0=-65.0, u0=-13.0)
    net.current(pop, 6.0 + 8.0 * np.arange(n) / n)
    res = net.run(1000.0, record={"spikes": [pop], "v": pop[::50]}, progress=False)
    counts = np.bincount(res.spikes.ids, minlength=n)
    assert counts.min() >= 10
    assert counts.max() <= 2 * np.median(counts), counts.max()
    assert np.all(np.diff(counts[::50]) >= 0)  # more drive, not fewer spikes
    assert np.all(res.state["v"] > -100.0) and np.all(res.state["v"] < 100.0)
