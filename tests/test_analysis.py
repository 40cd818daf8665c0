"""The analysis layer: I-V curves against closed forms, the firing-regime classifier on
hand-made trains, the Izhikevich (2004) patterns and the conductance presets, f-I curves
and rheobase of the LIF against the closed form, regime maps against separate
simulations (and run as one population), argument checks and the two new plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import fracsim as fs  # noqa: E402
import fracsim.engine.runner as runner  # noqa: E402
from fracsim.analysis import (  # noqa: E402
    burst_stats,
    classify,
    classify_many,
    fi_curve,
    iv_curves,
    regime_map,
    rheobase,
)
from fracsim.models.conductance import PRESETS  # noqa: E402
from fracsim.models.izhikevich import PATTERNS  # noqa: E402

V = np.linspace(-3.0, 3.0, 601)


# --------------------------------------------------------------------------------------------
# I-V curves


def test_iv_lif_is_linear_with_slope_one_over_r():
    c = iv_curves(fs.LIF(v_rest=-70.0, R=2.0), np.linspace(-90.0, -40.0, 51))
    np.testing.assert_allclose(c["steady_state"], (c["v"] + 70.0) / 2.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c["slope"]["steady_state"], 0.5, atol=1e-6)
    assert not c["negative_slope"]["steady_state"].any()
    assert c.units == {"v": "mV", "I": "nA"}


def test_iv_qif_is_the_parabola_with_negative_slope_above_its_vertex():
    m = fs.QIF(k=0.04, v_rest=-65.0, v_c=-50.0, R=2.0)
    v = np.linspace(-80.0, -30.0, 101)  # step 0.5 mV; vertex at -57.5 mV
    c = iv_curves(m, v)
    np.testing.assert_allclose(c["steady_state"], -0.04 * (v + 65.0) * (v + 50.0) / 2.0,
                               atol=1e-12)
    np.testing.assert_array_equal(c["negative_slope"]["steady_state"], v > -57.5)
    # zero current at the two fixed points
    assert c["steady_state"][np.searchsorted(v, -65.0)] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("model, expected", [
    (fs.AdLIF(a=3.0, v_rest=-65.0, R=0.5), lambda v: 4.0 * (v + 65.0) / 0.5),
    (fs.Izhikevich(b=0.25), lambda v: -(0.04 * v * v + 5.0 * v + 140.0 - 0.25 * v)),
])
def test_iv_adlif_and_izhikevich_closed_forms(model, expected):
    v = np.linspace(-90.0, 30.0, 121)
    c = iv_curves(model, v)
    np.testing.assert_allclose(c["steady_state"], expected(v), rtol=1e-12, atol=1e-12)
    if isinstance(model, fs.Izhikevich):  # dI/dv = -(0.08 v + 4.75) < 0 above -59.375 mV
        np.testing.assert_array_equal(c["negative_slope"]["steady_state"], v > -59.375)
        assert c.units["I"] == "mV/ms"


def test_iv_lnm_uses_its_steady_state_iv():
    lnm = pytest.importorskip("fracsim.models.lnm")
    m = lnm.LNM.preset("qif", k=0.04, v_rest=-65.0, v_c=-50.0, v_peak=0.0, R=2.0)
    v = np.linspace(-80.0, -30.0, 51)
    np.testing.assert_allclose(iv_curves(m, v)["steady_state"], m.steady_state_iv(v))


def test_iv_conductance_timescale_curves_are_cumulative_tanh_sums():
    """Bursting circuit: fast -2 @ 0, slow +2 @ 0, slow -1.5 @ -1.5, ultraslow +1.5 @ -1.5;
    R = 2 and v_rest = 0.5 so that both enter."""
    m = fs.Conductance.preset("tonic_bursting", R=2.0, v_rest=0.5)
    c = iv_curves(m, V)
    passive = (V - 0.5) / 2.0
    fast = passive - 2.0 * np.tanh(V)
    slow = fast + 2.0 * np.tanh(V) - 1.5 * np.tanh(V + 1.5)
    ultra = slow + 1.5 * np.tanh(V + 1.5)
    np.testing.assert_allclose(c["instantaneous"], fast, atol=1e-14)  # tau_f = 0
    np.testing.assert_allclose(c["fast"], fast, atol=1e-14)
    np.testing.assert_allclose(c["slow"], slow, atol=1e-14)
    np.testing.assert_allclose(c["ultraslow"], ultra, atol=1e-14)
    np.testing.assert_array_equal(c["steady_state"], c["ultraslow"])
    # the steady state is the model's own equilibrium current divided by R
    np.testing.assert_allclose(c["steady_state"], m.steady_current(V) / 2.0, atol=1e-14)
    # fast curve: dI/dv = 1/2 - 2 sech^2(v) < 0  <=>  |v| < acosh(2)
    np.testing.assert_array_equal(c["negative_slope"]["fast"], np.abs(V) < np.arccosh(2.0))
    # ultraslow curve: 1/2 - 1.5 sech^2(v + 1.5) + 1.5 sech^2(v + 1.5) > 0: monotone
    assert not c["negative_slope"]["ultraslow"].any()
    assert c["negative_slope"]["slow"].any() and c.units["I"] == "dimensionless"


def test_iv_conductance_filtered_fast_term_and_frozen_slow_filters():
    m = fs.Conductance.preset("tonic_bursting", tau_f=2.0)
    c = iv_curves(m, V)
    np.testing.assert_allclose(c["instantaneous"], V, atol=1e-14)  # passive only
    assert not c["negative_slope"]["instantaneous"].any()
    v0 = -1.2
    f = iv_curves(m, V, v0=v0)
    frozen_us = 1.5 * np.tanh(v0 + 1.5)
    frozen_slow = 2.0 * np.tanh(v0) - 1.5 * np.tanh(v0 + 1.5)
    np.testing.assert_allclose(f["fast"], V - 2.0 * np.tanh(V) + frozen_slow + frozen_us,
                               atol=1e-14)
    np.testing.assert_allclose(f["slow"], c["slow"] + frozen_us, atol=1e-14)
    np.testing.assert_allclose(f["instantaneous"], V - 2.0 * np.tanh(v0) + frozen_slow
                               + frozen_us, atol=1e-14)
    for name in ("fast", "slow"):  # a constant shift: same negative-slope regions
        np.testing.assert_array_equal(f["negative_slope"][name], c["negative_slope"][name])


def test_iv_argument_errors():
    with pytest.raises(ValueError, match="scalar parameters.*tau"):
        iv_curves(fs.LIF(tau=np.array([10.0, 20.0])))
    with pytest.raises(ValueError, match="v0"):
        iv_curves(fs.LIF(), v0=-60.0)
    with pytest.raises(ValueError, match="1-D"):
        iv_curves(fs.LIF(), np.zeros((3, 3)))

    class Odd(fs.NeuronModel):
        params = {}

    with pytest.raises(TypeError, match="Odd"):
        iv_curves(Odd())


# --------------------------------------------------------------------------------------------
# classifier: hand-made trains


def bursts(starts, n_spikes=4, isi=3.0):
    return np.concatenate([s + isi * np.arange(n_spikes) for s in starts])


HANDMADE = {
    "regular": (np.arange(5.0, 1000.0, 25.0), dict(t_stop=1000.0), "tonic_spiking"),
    "onset_only": (105.0 + 40.0 * np.arange(4), dict(t_stop=1000.0, onset=100.0),
                   "phasic_spiking"),
    "one_spike_at_onset": (np.array([112.0]), dict(t_stop=1000.0, onset=100.0),
                           "phasic_spiking"),
    "periodic_bursts": (bursts(np.arange(10.0, 1000.0, 100.0)), dict(t_stop=1000.0),
                        "tonic_bursting"),
    "bursts_at_onset": (bursts([110.0, 170.0, 230.0]), dict(t_stop=1000.0, onset=100.0),
                        "phasic_bursting"),
    "one_burst_at_onset": (120.0 + 4.0 * np.arange(5), dict(t_stop=1000.0, onset=100.0),
                           "phasic_bursting"),
    # an onset transient whose ISIs fill the gap between 4.4 and 17.6 ms, then doublets
    "doublets_after_transient": (
        30.0 + np.cumsum([0.0, 1.5, 2.0, 2.5, 3.8, 5.8, 14.6] + [4.4, 17.6] * 20),
        dict(t_stop=500.0, onset=20.0), "tonic_bursting"),
    "empty": (np.zeros(0), dict(t_stop=1000.0), "silent"),
    "only_before_onset": (np.arange(5.0, 100.0, 10.0), dict(t_stop=1000.0, onset=100.0),
                          "silent"),
    "poisson": (np.cumsum(np.random.default_rng(0).exponential(50.0, 60)),
                dict(t_stop=3000.0), "irregular"),
    "stops_mid_window": (np.arange(5.0, 600.0, 25.0), dict(t_stop=1000.0), "irregular"),
}


@pytest.mark.parametrize("kind", list(HANDMADE))
def test_classifier_on_handmade_trains(kind):
    times, kw, expected = HANDMADE[kind]
    times = times[times <= kw["t_stop"]]
    assert classify(np.random.default_rng(1).permutation(times), **kw) == expected


def test_classifier_criteria_are_tunable_and_checked():
    times = 105.0 + 40.0 * np.arange(4)  # 40 ms ISIs: spikes, or a burst if burst_isi > 40
    assert classify(times, 1000.0, onset=100.0) == "phasic_spiking"
    assert classify(times, 1000.0, onset=100.0, burst_isi=50.0) == "phasic_bursting"
    late = np.arange(5.0, 600.0, 25.0)  # silent for the last 40 %
    assert classify(late, 1000.0, quiet_fraction=0.3) == "phasic_spiking"
    assert classify(late, 1000.0, phasic_window=500.0, quiet_fraction=0.3) == "irregular"
    with pytest.raises(ValueError, match="burst_ratoi"):
        classify(times, 1000.0, burst_ratoi=2.0)
    with pytest.raises(ValueError, match="burst_ratio"):
        classify(times, 1000.0, burst_ratio=1.0)
    with pytest.raises(ValueError, match="t_stop"):
        classify(times, 50.0, onset=100.0)


def test_burst_stats_of_periodic_bursts():
    st = burst_stats(bursts(np.arange(10.0, 1000.0, 100.0)), 1000.0)
    assert st.n_bursts == 10 and st.spikes_per_burst == 4.0
    assert st.intra_isi == pytest.approx(3.0) and st.period == pytest.approx(100.0)
    assert st.inter_interval == pytest.approx(91.0)
    assert 3.0 < st.threshold < 91.0
    none = burst_stats(np.arange(5.0, 1000.0, 25.0), 1000.0)
    assert none.n_bursts == 0 and np.isnan(none.spikes_per_burst)


def test_classify_many_matches_classify():
    kinds = ["regular", "periodic_bursts", "empty", "poisson", "stops_mid_window"]
    trains = [HANDMADE[k][0][HANDMADE[k][0] <= 1000.0] for k in kinds]
    times = np.concatenate(trains)
    ids = np.concatenate([np.full(t.size, i) for i, t in enumerate(trains)])
    labels = classify_many(times, ids, len(kinds) + 1, 1000.0)
    assert list(labels) == [classify(t, 1000.0) for t in trains] + ["silent"]
    assert list(labels[:3]) == ["tonic_spiking", "tonic_bursting", "silent"]
    with pytest.raises(ValueError, match="ids"):
        classify_many(times, ids, 2, 1000.0)


# --------------------------------------------------------------------------------------------
# classifier: model patterns


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_classifier_labels_the_izhikevich_2004_patterns(name):
    model, proto = fs.Izhikevich.pattern(name)
    current = fs.step_current([proto["onset"]], [proto["amplitude"]])
    res = fs.simulate(model, proto["t_stop"], dt=proto["dt"], current=current,
                      v0=proto["v0"], record=(), progress=False)
    assert classify(res.spikes.times, proto["t_stop"], onset=proto["onset"]) == name


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_classifier_labels_the_conductance_presets(name):
    model = fs.Conductance.preset(name)
    pr = fs.Conductance.protocol(name)
    res = fs.simulate(model, pr["t_stop"], dt=pr["dt"], current=pr["current"], record=(),
                      progress=False, **pr["state0"])
    assert classify(res.spikes.times, pr["t_stop"], onset=pr["onset"]) == name


# --------------------------------------------------------------------------------------------
# f-I curve and rheobase


def count_runs(monkeypatch) -> list:
    """Record the number of populations of every network run."""
    calls = []
    real = runner.run_network

    def counting(net, *args, **kwargs):
        calls.append(len(net.populations))
        return real(net, *args, **kwargs)

    monkeypatch.setattr(runner, "run_network", counting)
    return calls


def test_fi_curve_of_the_lif_matches_the_closed_form_in_one_run(monkeypatch):
    calls = count_runs(monkeypatch)
    m = fs.LIF(tau=20.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, t_ref=2.0)
    currents = np.concatenate([[0.0, 10.0, 14.9], np.linspace(16.0, 60.0, 12)])
    i, rate = fi_curve(m, currents, t_stop=2000.0, dt=0.01)
    v_inf = -65.0 + currents
    with np.errstate(divide="ignore", invalid="ignore"):
        isi = 20.0 * np.log((v_inf + 65.0) / (v_inf + 50.0)) + 2.0
    exact = np.where(v_inf > -50.0, 1000.0 / isi, 0.0)
    np.testing.assert_array_equal(i, currents)
    assert np.max(np.abs(rate - exact)) < 1.0, np.abs(rate - exact)
    assert rate[:3].tolist() == [0.0, 0.0, 0.0] and rate[-1] > 100.0
    assert calls == [1]


def test_rheobase_of_the_lif(monkeypatch):
    calls = count_runs(monkeypatch)
    m = fs.LIF(tau=20.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0)
    r = rheobase(m, (0.0, 40.0), tol=1e-3, t_stop=1000.0, dt=0.1)
    assert 15.0 <= r <= 15.0 + 1e-3
    assert 2 <= len(calls) <= 6 and set(calls) == {1}
    with pytest.raises(ValueError, match="upper end"):
        rheobase(m, (0.0, 10.0))


# --------------------------------------------------------------------------------------------
# regime maps


def izh_separate(model, d, amp, proto):
    m = model.replace(d=d)
    cur = fs.step_current([0.0, proto["onset"]], [0.0, amp])
    res = fs.simulate(m, proto["t_stop"], dt=proto["dt"], current=cur, v0=proto["v0"],
                      u0=m.b * proto["v0"], record=(), progress=False)
    return res.spikes.times


def test_regime_map_equals_separate_simulations_in_one_run(monkeypatch):
    model, proto = fs.Izhikevich.pattern("tonic_bursting")
    ds, amps = np.array([0.05, 2.0, 20.0]), np.array([0.0, 2.0, 15.0])
    calls = count_runs(monkeypatch)
    rm = regime_map(model, {"d": ds, "current": amps}, onset=proto["onset"],
                    t_stop=proto["t_stop"], dt=proto["dt"],
                    state0={"v0": proto["v0"], "u0": model.b * proto["v0"]})
    assert calls == [1]  # one compiled run of one population
    assert rm.labels.shape == rm.n_spikes.shape == (3, 3) and rm.axes == ("d", "current")
    for i, d in enumerate(ds):
        for j, amp in enumerate(amps):
            t = izh_separate(model, d, amp, proto)
            assert rm.n_spikes[i, j] == t.size
            np.testing.assert_allclose(rm.train(i, j), t)
            assert rm.labels[i, j] == classify(t, proto["t_stop"], onset=proto["onset"])
    assert list(rm.labels[:, 2]) == ["tonic_spiking", "tonic_bursting", "tonic_spiking"]
    assert np.all(rm.labels[:, :2] == "silent") and rm.n_bursts[1, 2] == 4
    assert sum(rm.fractions().values()) == pytest.approx(1.0)


def test_regime_map_conductance_current_axis_from_rest():
    """Axes (slow_neg_offset, current), a step from the baseline, each point starting at its
    own resting state at the baseline."""
    model = fs.Conductance.preset("phasic_spiking")
    offsets, amps = np.array([-1.5, 0.0]), np.array([-1.5, -0.5])
    kw = dict(onset=200.0, baseline=-1.5, t_stop=1500.0, dt=0.1)
    rm = regime_map(model, {"ultraslow_pos_offset": offsets, "current": amps},
                    state0="rest", **kw)
    for i, off in enumerate(offsets):
        m = model.replace(ultraslow_pos_offset=off)
        for j, amp in enumerate(amps):
            cur = fs.step_current([0.0, kw["onset"]], [kw["baseline"], amp])
            res = fs.simulate(m, kw["t_stop"], dt=kw["dt"], current=cur, record=(),
                              progress=False, **m.resting_state(kw["baseline"]))
            assert rm.n_spikes[i, j] == len(res.spikes)
            assert rm.labels[i, j] == classify(res.spikes.times, kw["t_stop"],
                                               onset=kw["onset"])
    assert rm.labels[0, 0] == "silent" and rm.n_spikes[:, 1].min() > 0
    assert rm.units == {"ultraslow_pos_offset": "1", "current": "dimensionless"}


def test_regime_map_over_alpha_with_derived_tau():
    model = fs.LIF(tau=20.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0)
    alphas, amps = np.array([0.7, 0.9]), np.array([10.0, 30.0])
    rm = regime_map(model, {"alpha": alphas, "current": amps}, t_stop=300.0, dt=0.1,
                    derived={"tau": lambda alpha, current: 20.0 ** alpha},
                    memory=fs.SOE(1e-9))
    for i, a in enumerate(alphas):
        res = fs.simulate(model.replace(alpha=a, tau=20.0 ** a), 300.0, dt=0.1,
                          current=amps, n=2, memory=fs.SOE(1e-9), record=(), progress=False)
        np.testing.assert_array_equal(rm.n_spikes[i], res.spikes.counts(2))
    assert list(rm.labels[:, 0]) == ["silent", "silent"]
    assert list(rm.labels[:, 1]) == ["tonic_spiking", "tonic_spiking"]


@pytest.mark.parametrize("axes, kw, match", [
    ({"tau": [10.0, 20.0], "v_thresh": [-50.0]}, {}, "v_thresh"),
    ({"tau": [10.0, 20.0]}, {}, "two"),
    ({"tau": [[10.0, 20.0]], "current": [1.0]}, {}, "'tau'"),
    ({"tau": [10.0, np.nan], "current": [1.0]}, {}, "'tau'"),
    ({"tau": [], "current": [1.0]}, {}, "'tau'"),
    ({"tau": [10.0, -1.0], "current": [1.0]}, {}, "tau"),
    ({"tau": [10.0], "current": [1.0]}, {"current": 2.0}, "current"),
    ({"tau": [10.0], "current": [1.0, 2.0]}, {"state0": {"v0": np.zeros(3)}}, "state0"),
    ({"tau": [10.0], "current": [1.0]}, {"derived": {"tau": lambda **k: 1.0}}, "derived"),
    ({"tau": [10.0], "current": [1.0]}, {"classify_kwargs": {"lv": 1.0}}, "lv"),
])
def test_regime_map_bad_arguments_are_named(axes, kw, match):
    with pytest.raises(ValueError, match=match):
        regime_map(fs.LIF(), axes, t_stop=10.0, **kw)


# --------------------------------------------------------------------------------------------
# plots


def test_iv_and_regime_map_plots():
    import matplotlib.pyplot as plt

    fig, ax = fs.plot.iv(iv_curves(fs.Conductance.preset("tonic_bursting"), V))
    labels = ax.get_legend_handles_labels()[1]
    assert labels[:3] == ["fast = instantaneous (τ_f = 0)", "slow", "ultraslow"]
    assert "dimensionless" in ax.get_xlabel() and "dimensionless" in ax.get_ylabel()
    plt.close(fig)
    fig, ax = fs.plot.iv(iv_curves(fs.Conductance.preset("tonic_spiking"), V))  # no ultraslow
    assert ax.get_legend_handles_labels()[1][:2] == ["fast = instantaneous (τ_f = 0)",
                                                     "slow = ultraslow"]
    plt.close(fig)
    fig, ax = fs.plot.iv(iv_curves(fs.LIF(), np.linspace(-80, -40, 41)))
    assert ax.get_ylabel().endswith("(nA)") and ax.get_xlabel().endswith("(mV)")
    plt.close(fig)
    rm = regime_map(fs.LIF(), {"tau": [5.0, 10.0, 20.0], "current": [0.0, 20.0, 40.0]},
                    t_stop=200.0, dt=0.1)
    fig, ax = fs.plot.regime_map(rm)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["silent (33%)", "tonic spiking (67%)"]
    assert ax.get_xlabel() == "tau (ms)" and ax.get_ylabel() == "input current I (nA)"
    plt.close(fig)


def test_public_api():
    assert (fs.iv_curves, fs.classify, fs.fi_curve, fs.regime_map) == (
        iv_curves, classify, fi_curve, regime_map)
