"""The multi-timescale conductance neuron: against solve_ivp, presets, fractional order,
per-neuron term parameters, argument checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import fracsim as fs
from fracsim.models.conductance import PRESETS

ERR_500MS_DT001 = 1e-3  # |v - v_ivp| bound; measured 6.4e-4 (v spans about 4 units)


def ivp_reference(model, current, state0, t_stop, rtol=1e-10):
    """solve_ivp (DOP853, rtol 1e-10) of the same equations, spike times by events."""
    gains = [(getattr(model, f"{n}_gain"), getattr(model, f"{n}_offset"), ts)
             for n, ts in model.terms]
    idx = {"fast": 1, "slow": 2, "ultraslow": 3}

    def f(t, y):
        v = y[0]
        xs = [v if ts == "fast" and model.tau_f == 0 else y[idx[ts]] for _, _, ts in gains]
        cur = sum(g * np.tanh(x - d) for (g, d, _), x in zip(gains, xs, strict=True))
        dv = (model.v_rest - v + model.R * current(t) - model.R * cur) / model.tau_m
        dvf = 0.0 if model.tau_f == 0 else (v - y[1]) / model.tau_f
        return [dv, dvf, (v - y[2]) / model.tau_s, (v - y[3]) / model.tau_us]

    def crossing(t, y):
        return y[0] - model.v_spike

    crossing.direction = 1
    y0 = [state0["v0"], state0["v_f0"], state0["v_s0"], state0["v_us0"]]
    return solve_ivp(f, (0.0, t_stop), y0, method="DOP853", rtol=rtol, atol=rtol * 1e-2,
                     dense_output=True, events=crossing)


def test_midpoint_matches_solve_ivp_trajectory_and_spike_times():
    """alpha = 1, tonic spiking, 500 ms at dt = 0.01 ms: spike times within 0.1 ms (they
    agree far better), trajectory within the second-order scheme's error."""
    model = fs.Conductance.preset("tonic_spiking")
    state0 = model.resting_state(-1.5)
    amp = -0.5

    def current(t):
        return amp

    res = fs.simulate(model, 500.0, dt=0.01, current=amp, **state0)
    ref = ivp_reference(model, current, state0, 500.0)
    t_ref = ref.t_events[0]
    assert t_ref.size >= 6
    t_sim = res.spikes.times
    assert t_sim.shape == t_ref.shape
    # a spike is reported at the end of the crossing step: in [t, t + dt)
    assert np.all(np.abs(t_sim - t_ref) <= 0.1)
    assert np.all((t_sim - t_ref >= -1e-6) & (t_sim - t_ref <= 0.01 + 1e-6))
    v_ref = ref.sol(res.t)[0]
    assert np.max(np.abs(res.state["v"][:, 0] - v_ref)) < ERR_500MS_DT001


def test_midpoint_is_second_order():
    model = fs.Conductance.preset("tonic_spiking")
    state0 = model.resting_state(-1.5)
    ref = ivp_reference(model, lambda t: -0.5, state0, 60.0, rtol=1e-13)
    errs = []
    for dt in (0.08, 0.04, 0.02):
        res = fs.simulate(model, 60.0, dt=dt, current=-0.5, **state0)
        errs.append(np.max(np.abs(res.state["v"][:, 0] - ref.sol(res.t)[0])))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(orders - 2.0) < 0.15), (errs, orders)


@pytest.mark.parametrize("name, lo, hi", [("tonic_spiking", 40, 50),
                                          ("phasic_spiking", 5, 20),
                                          ("tonic_bursting", 20, 40)])
def test_presets_spike_as_documented(name, lo, hi):
    """Spike counts of the preset protocols (their regimes: see the classifier tests)."""
    model = fs.Conductance.preset(name)
    pr = fs.Conductance.protocol(name)
    res = fs.simulate(model, pr["t_stop"], dt=pr["dt"], current=pr["current"], record=(),
                      **pr["state0"])
    st = res.spikes.times
    assert lo <= st.size <= hi
    if name == "phasic_spiking":
        assert st.max() < pr["onset"] + 1000.0  # silent for the last 1.5 s
    if name == "tonic_spiking":
        assert st.min() >= pr["onset"] and st.max() > pr["t_stop"] - 100.0
    if name == "tonic_bursting":
        isi = np.diff(st)
        assert np.sum(isi > 1000.0) >= 2  # quiet periods between bursts
        assert np.median(isi) < 100.0  # dense spikes inside bursts


def test_fractional_conductance_runs_and_soe_matches_full():
    model = fs.Conductance.preset("tonic_spiking", alpha=0.9)
    state0 = model.resting_state(-1.5)
    kw = dict(t_stop=400.0, dt=0.02, current=-0.5, scheme="l1", **state0)
    full = fs.simulate(model, memory=fs.FullMemory(), **kw)
    soe = fs.simulate(model, memory=fs.SOE(1e-9), **kw)
    assert full.spikes.times.size >= 3
    np.testing.assert_array_equal(soe.spikes.times, full.spikes.times)
    span = np.ptp(full.state["v"])
    assert np.max(np.abs(soe.state["v"] - full.state["v"])) <= 1e-9 * span


def test_order_one_fractional_path_matches_rk4_to_its_order():
    """alpha = 1 through the product-trapezoidal scheme converges to the RK4 trajectory."""
    model = fs.Conductance.preset("tonic_spiking")
    state0 = model.resting_state(-1.5)
    ref = fs.simulate(model, 40.0, dt=0.005, current=-0.5, **state0)
    errs = []
    for dt in (0.02, 0.01):
        r = fs.simulate(model, 40.0, dt=dt, current=-0.5, scheme="pi_trap",
                        memory=fs.FullMemory(), **state0)
        k = int(round(dt / 0.005))
        errs.append(np.max(np.abs(r.state["v"][:, 0] - ref.state["v"][::k, 0])))
    assert errs[1] < errs[0] / 1.8, errs


def test_per_neuron_term_parameters_match_separate_runs():
    gains = np.array([-1.0, -1.5, -2.0])
    model = fs.Conductance(terms=[("fast", -2.0, 0.0), ("slow", 2.0, 0.0),
                                  ("slow", gains, -1.5), ("ultraslow", 1.5, -1.5)])
    assert "slow_neg_gain" in model.params
    res = fs.simulate(model, 300.0, dt=0.05, current=-2.0, n=3)
    for i, g in enumerate(gains):
        one = model.replace(slow_neg_gain=g)
        r = fs.simulate(one, 300.0, dt=0.05, current=-2.0)
        np.testing.assert_array_equal(res.state["v"][:, i], r.state["v"][:, 0])


def test_term_names_and_replace():
    model = fs.Conductance(terms=[("fast", -2.0, 0.0), ("slow", 2.0, 0.0),
                                  ("slow", -1.5, -0.88), ("slow", -1.0, 0.5)])
    assert [n for n, _ in model.terms] == ["fast_neg", "slow_pos", "slow_neg", "slow_neg2"]
    changed = model.replace(slow_neg_offset=-1.0, tau_s=40.0)
    assert changed.slow_neg_offset == -1.0 and changed.tau_s == 40.0
    assert changed.slow_neg2_gain == -1.0
    named = fs.Conductance(terms=[("na", "fast", -2.0, 0.0), ("k", "slow", 2.0, 0.0)])
    assert named.na_gain == -2.0 and named.k_offset == 0.0


@pytest.mark.parametrize("terms, match", [
    ([("medium", -2.0, 0.0)], "timescale"),
    ([("fast", np.nan, 0.0)], "gain"),
    ([("fast", -2.0)], "terms"),
    ([], "terms"),
    ("fast", "terms"),
    ([("a", "fast", -2.0, 0.0), ("a", "slow", 2.0, 0.0)], "twice"),
])
def test_bad_terms_are_named(terms, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fs.Conductance(terms=terms)


def test_bad_parameters_and_resets_are_named():
    with pytest.raises(ValueError, match="tau_s"):
        fs.Conductance(tau_s=0.0)
    with pytest.raises(ValueError, match="tau_f"):
        fs.Conductance(tau_f=-1.0)
    with pytest.raises(ValueError, match="reset"):
        fs.Conductance(reset="restart")
    with pytest.raises(TypeError, match="unknown"):
        fs.Conductance(slow_gain=1.0)
    with pytest.raises(ValueError, match="preset"):
        fs.Conductance.preset("chaotic")


def test_presets_table_is_complete():
    assert set(PRESETS) >= {"tonic_spiking", "phasic_spiking", "tonic_bursting"}


@pytest.mark.parametrize("alpha", [1.0, 0.8])
def test_conductance_neurons_drive_each_other_in_a_network(alpha):
    """Spikes (upward crossings) of a tonic conductance neuron drive a resting one through
    an exponential synapse; without the projection the target stays silent."""
    counts = []
    for connected in (False, True):
        net = fs.Network(dt=0.05, seed=0)
        model = fs.Conductance.preset("tonic_spiking", alpha=alpha)
        src = net.population(model, 1, name="src", current=-0.5,
                             **model.resting_state(-1.5))
        dst = net.population(model, 1, name="dst", current=-1.0,
                             **model.resting_state(-1.0))
        if connected:
            net.connect(src, dst, rule="all_to_all", weight=1.5, delay=1.0,
                        synapse=fs.ExpSynapse(tau=20.0))
        res = net.run(1500.0, record={"spikes": [src, dst]})
        assert res.pop("src").spikes.times.size >= 5
        counts.append(res.pop("dst").spikes.times.size)
    assert counts[0] == 0 and counts[1] >= 3, counts
