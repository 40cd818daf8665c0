"""Single-neuron dynamics against closed forms and independent reference loops.

Every simulation here goes through ``fs.simulate`` (one population, no synapses), so each
model compiles one event loop; durations are short and ``record=()`` is used when only
spikes matter.
"""

from __future__ import annotations

import numpy as np
import pytest

import fracsim as fs

# --------------------------------------------------------------------------------------
# LIF
# --------------------------------------------------------------------------------------

# ISIs from 2.9 to 30 ms. Spikes are detected on the grid (no interpolation of the
# crossing), so each interval is the analytic one rounded up to a multiple of dt: over
# 1 s that bias is about (1000/ISI) * dt/2 / ISI spikes, below 1 for ISI > ~2.3 ms.
LIF_CURRENTS = np.array([16.0, 20.0, 30.0, 45.0, 60.0])


@pytest.mark.parametrize(
    ("t_ref", "v_reset"),
    [(0.0, -65.0), (2.0, -65.0), (3.0, -70.0)],
    ids=["no_ref", "t_ref=2", "t_ref=3,v_reset=-70"],
)
def test_lif_constant_current_matches_analytic_isi(t_ref, v_reset):
    dt, t_stop = 0.01, 1000.0
    m = fs.LIF(tau=10.0, v_rest=-65.0, v_th=-50.0, v_reset=v_reset, t_ref=t_ref)
    k = LIF_CURRENTS.shape[0]
    # start at v_reset so that the first interval is a full inter-spike interval too
    res = fs.simulate(m, t_stop, dt=dt, current=LIF_CURRENTS, n=k, v0=v_reset, record=())
    counts = res.spikes.counts(k)
    for i, current in enumerate(LIF_CURRENTS):
        isi = m.isi(current)
        v_inf = -65.0 + current
        assert isi == pytest.approx(
            10.0 * np.log((v_inf - v_reset) / (v_inf + 50.0)) + t_ref, rel=1e-12
        )
        # spike count over 1 s: exact up to one spike
        assert abs(counts[i] - t_stop / isi) <= 1.0, (current, counts[i], t_stop / isi)
        # each interval is the analytic one, the first passage rounded up to the grid;
        # the first spike has no refractory period before it
        times = res.spikes.of(i)
        assert times.shape[0] == counts[i] > 5
        assert isi - t_ref - 1e-9 <= times[0] <= isi - t_ref + dt + 1e-9
        intervals = np.diff(times)
        assert np.all(intervals >= isi - 1e-9)
        assert np.all(intervals <= isi + dt + 1e-9)


def test_lif_per_neuron_parameters():
    taus = np.array([5.0, 10.0, 20.0, 40.0])
    m = fs.LIF(tau=taus, t_ref=1.0)
    res = fs.simulate(m, 500.0, dt=0.01, current=40.0, n=4, record=())
    counts = res.spikes.counts(4)
    for i, tau in enumerate(taus):
        isi = fs.LIF(tau=tau, t_ref=1.0).isi(40.0)
        assert abs(counts[i] - 500.0 / isi) <= 1.0
    assert np.all(np.diff(counts) < 0)  # slower membranes fire less


def test_lif_subthreshold_is_the_exact_exponential_relaxation():
    # exponential Euler is exact for a constant input: v(t_n) = v_inf + (v0 - v_inf) e^{-t_n/tau}
    dt, tau = 0.1, 20.0
    m = fs.LIF(tau=tau)
    currents = np.array([5.0, 10.0, -10.0, 0.0])
    v0 = np.array([-70.0, -60.0, -50.5, -65.0])
    res = fs.simulate(m, 100.0, dt=dt, current=currents, n=4, v0=v0)
    t = res.t[:, None]
    v_inf = -65.0 + currents
    expected = v_inf + (v0 - v_inf) * np.exp(-t / tau)
    assert res.state["v"].shape == (1000, 4)
    np.testing.assert_allclose(res.state["v"], expected, rtol=0, atol=1e-10)
    assert len(res.spikes) == 0
    assert np.all(res.state["v"][:, 3] == -65.0)  # at rest stays exactly at rest
    assert m.isi(10.0) == np.inf
    assert m.isi(15.0) == np.inf  # v_inf == v_th: never reached


def test_lif_refractory_holds_v_at_reset_for_round_t_ref_over_dt_steps():
    dt, t_ref = 0.1, 2.04  # round(20.4) = 20 steps
    m = fs.LIF(tau=10.0, t_ref=t_ref)
    res = fs.simulate(m, 40.0, dt=dt, current=30.0)
    v = res.state["v"][:, 0]
    k = int(round(res.spikes.times[0] / dt))  # sample index at the spike time t_{n+1}
    assert v[k - 1] < -50.0  # below threshold at the start of the crossing step
    assert np.all(v[k:k + 21] == -65.0)  # reset, then held through 20 refractory steps
    assert v[k + 21] > -65.0
    # the second spike comes one full analytic ISI (rounded to the grid) later
    isi2 = res.spikes.times[1] - res.spikes.times[0]
    assert m.isi(30.0) - 0.04 - 1e-9 <= isi2 <= m.isi(30.0) - 0.04 + dt + 1e-9


# --------------------------------------------------------------------------------------
# QIF
# --------------------------------------------------------------------------------------

QIF_CURRENTS = np.array([3.0, 5.0, 10.0, 20.0])


@pytest.mark.parametrize("t_ref", [0.0, 2.0])
def test_qif_period_matches_closed_form(t_ref):
    m = fs.QIF(t_ref=t_ref)
    k = QIF_CURRENTS.shape[0]
    res = fs.simulate(m, 1000.0, dt=0.01, current=QIF_CURRENTS, n=k, record=())
    for i, current in enumerate(QIF_CURRENTS):
        times = res.spikes.of(i)
        assert times.shape[0] >= 5
        period = m.period(current)
        # independent evaluation of the closed form
        q = current / 0.04 - 7.5**2
        s = np.sqrt(q)
        closed = 10.0 / (0.04 * s) * (np.arctan(57.5 / s) - np.arctan(-7.5 / s)) + t_ref
        assert period == pytest.approx(closed, rel=1e-12)
        assert np.mean(np.diff(times)) == pytest.approx(period, rel=0.01)
        # it starts at v_reset = v_rest, so the first spike is one period (without the
        # refractory part) in as well
        assert times[0] == pytest.approx(period - t_ref, rel=0.01)


def test_qif_below_rheobase_settles_at_the_stable_fixed_point():
    m = fs.QIF()
    currents = np.array([0.0, 1.0, 1.5])  # rheobase: k ((v_c - v_rest)/2)^2 = 2.25
    res = fs.simulate(m, 600.0, dt=0.1, current=currents, n=3)
    assert len(res.spikes) == 0
    # k (v - m)^2 = k ((v_c - v_rest)/2)^2 - R I, stable root below the midpoint m
    v_star = -57.5 - np.sqrt(7.5**2 - currents / 0.04)
    np.testing.assert_allclose(res.state["v"][-1], v_star, atol=1e-6)
    assert all(m.period(c) == np.inf for c in currents)
    assert m.period(2.25) == np.inf


# --------------------------------------------------------------------------------------
# Izhikevich
# --------------------------------------------------------------------------------------

PATTERNS = ["tonic_spiking", "phasic_spiking", "tonic_bursting", "phasic_bursting"]


def izhikevich_reference(a, b, c, d, v0, current_of_step, n_steps, dt):
    """Izhikevich's 2004 Euler loop in plain Python: v first, u with the new v, spike at
    v >= 30 recorded at t_{n+1}, then v = c and u += d. Returns (spike times, v samples at
    the start of each step)."""
    v, u = v0, b * v0
    spikes, trace = [], []
    for n in range(n_steps):
        trace.append(v)
        i_n = current_of_step(n)
        v = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + i_n)
        u = u + dt * a * (b * v - u)
        if v >= 30.0:
            spikes.append((n + 1) * dt)
            v = c
            u = u + d
    return np.array(spikes), np.array(trace)


def run_pattern(name, t_stop=None):
    model, proto = fs.Izhikevich.pattern(name)
    dt = proto["dt"]
    t_stop = proto["t_stop"] if t_stop is None else t_stop
    res = fs.simulate(
        model, t_stop, dt=dt, v0=proto["v0"], record=("v", "u"),
        current=fs.step_current([proto["onset"]], [proto["amplitude"]]),
    )
    n_steps = int(round(t_stop / dt))
    onset, amp = proto["onset"], proto["amplitude"]
    ref_spikes, ref_v = izhikevich_reference(
        model.a, model.b, model.c, model.d, proto["v0"],
        lambda n: amp if n * dt >= onset else 0.0, n_steps, dt,
    )
    return model, proto, res, ref_spikes, ref_v


@pytest.mark.parametrize("name", PATTERNS)
def test_izhikevich_pattern_matches_reference_loop(name):
    model, proto, res, ref_spikes, ref_v = run_pattern(name)
    assert proto["dt"] == 0.25
    assert res.t.shape[0] == int(round(proto["t_stop"] / 0.25))
    assert ref_spikes.shape[0] >= 1
    assert np.array_equal(res.spikes.times, ref_spikes)
    assert np.all(res.spikes.ids == 0)
    np.testing.assert_allclose(res.state["v"][:, 0], ref_v, rtol=0, atol=1e-9)
    # default u0 = b v0
    assert res.state["u"][0, 0] == pytest.approx(model.b * proto["v0"])


def test_izhikevich_tonic_spiking_shape():
    _, proto, res, _, _ = run_pattern("tonic_spiking")
    times = res.spikes.times
    assert times.shape[0] >= 4
    assert times[0] > proto["onset"]
    isi = np.diff(times)
    # after a short adaptation transient (first two intervals) the rhythm is regular
    assert isi[0] < isi[-1]
    steady = isi[2:]
    assert steady.shape[0] >= 2
    assert np.ptp(steady) <= 0.05 * steady.mean()
    # and stays regular: continue the same protocol for 400 ms
    _, _, res_long, ref_long, _ = run_pattern("tonic_spiking", t_stop=400.0)
    assert np.array_equal(res_long.spikes.times, ref_long)
    isi_long = np.diff(res_long.spikes.times)[2:]
    assert isi_long.shape[0] >= 10
    assert np.ptp(isi_long) <= 0.05 * isi_long.mean()


def test_izhikevich_phasic_spiking_shape():
    _, proto, res, _, _ = run_pattern("phasic_spiking")
    assert len(res.spikes) == 1
    assert proto["onset"] < res.spikes.times[0] < proto["onset"] + 50.0


def test_izhikevich_tonic_bursting_shape():
    _, proto, res, _, _ = run_pattern("tonic_bursting")
    times = res.spikes.times
    assert times[0] > proto["onset"]
    isi = np.diff(times)
    short, long = isi[isi < 15.0], isi[isi >= 15.0]
    # bimodal intervals: short intra-burst, long inter-burst, nothing in between
    assert short.max() <= 8.0
    assert long.min() >= 30.0
    bursts = np.split(times, np.flatnonzero(isi >= 15.0) + 1)
    assert len(bursts) >= 3
    assert all(len(burst) >= 4 for burst in bursts)


def test_izhikevich_phasic_bursting_shape():
    _, proto, res, _, _ = run_pattern("phasic_bursting")
    times = res.spikes.times
    assert times.shape[0] >= 3
    assert np.all(np.diff(times) < 15.0)  # one burst of closely spaced spikes
    assert proto["onset"] < times[0] < proto["onset"] + 25.0
    assert proto["t_stop"] - times[-1] > 100.0  # then silence to the end


def test_izhikevich_unknown_pattern():
    with pytest.raises(ValueError, match="pattern must be one of"):
        fs.Izhikevich.pattern("nope")


# --------------------------------------------------------------------------------------
# AdLIF
# --------------------------------------------------------------------------------------


def test_adlif_without_adaptation_is_exactly_lif():
    kw = dict(tau=10.0, v_rest=-65.0, v_th=-50.0, v_reset=-68.0, t_ref=1.0)
    currents = np.array([18.0, 25.0, 40.0])
    lif = fs.simulate(fs.LIF(**kw), 300.0, dt=0.1, current=currents, n=3, record=())
    ad = fs.simulate(fs.AdLIF(a=0.0, b=0.0, **kw), 300.0, dt=0.1, current=currents, n=3,
                     record=())
    assert len(lif.spikes) > 30
    assert np.array_equal(lif.spikes.times, ad.spikes.times)
    assert np.array_equal(lif.spikes.ids, ad.spikes.ids)


def test_adlif_spike_triggered_adaptation_lengthens_isis():
    dt, b, tau_w = 0.1, 3.0, 100.0
    m = fs.AdLIF(tau=10.0, tau_w=tau_w, a=0.0, b=b)
    res = fs.simulate(m, 500.0, dt=dt, current=30.0, record=("v", "w"))
    times = res.spikes.times
    isi = np.diff(times)
    assert isi.shape[0] >= 5
    # intervals lengthen until w saturates, then stay put (up to the dt grid)
    assert np.all(np.diff(isi[:8]) > 0)
    assert np.all(np.diff(isi) >= -dt - 1e-9)
    assert isi[-1] > 1.5 * isi[0]
    # the first interval starts with w = b, decaying over the interval: bracketed by LIF
    # intervals with a frozen w = b (upper) and w = b e^{-isi/tau_w} (lower)
    lif = fs.LIF(tau=10.0)
    assert lif.isi(30.0 - b * np.exp(-isi[0] / tau_w)) - 1e-9 <= isi[0]
    assert isi[0] <= lif.isi(30.0 - b) + dt + 1e-9
    plain = fs.simulate(lif, 500.0, dt=dt, current=30.0, record=())
    assert len(res.spikes) < 0.8 * len(plain.spikes)
    # with a = 0, w is a sum of decaying jumps b e^{-(t - t_s)/tau_w} on the grid
    steps = np.round(times / dt).astype(int)
    k = np.arange(res.t.shape[0])
    decay = np.exp(-dt / tau_w)
    expected = np.zeros_like(res.t)
    for s in steps:
        expected += np.where(k >= s, b * decay ** (k - s), 0.0)
    np.testing.assert_allclose(res.state["w"][:, 0], expected, rtol=1e-9, atol=1e-12)


def test_adlif_subthreshold_adaptation_fixed_point():
    # a > 0, no spikes: v* = v_rest + R I / (1 + a), w* = a (v* - v_rest)
    a, current = 1.0, 10.0
    m = fs.AdLIF(tau=10.0, tau_w=50.0, a=a, b=0.0)
    res = fs.simulate(m, 1000.0, dt=0.1, current=current, record=("v", "w"))
    assert len(res.spikes) == 0
    v_star = -65.0 + current / (1.0 + a)
    assert res.state["v"][-1, 0] == pytest.approx(v_star, abs=1e-6)
    assert res.state["w"][-1, 0] == pytest.approx(a * (v_star + 65.0), abs=1e-6)
    # adaptation pulls v back down after the initial overshoot toward -65 + I
    assert res.state["v"][:, 0].max() > v_star + 1.0
