"""Bad input raises ValueError/TypeError naming the parameter, before anything runs."""

from __future__ import annotations

import numpy as np
import pytest

import fracsim as fs


def net2():
    net = fs.Network(dt=0.1, seed=0)
    a = net.population(fs.LIF(), 4, name="A")
    b = net.population(fs.LIF(), 3, name="B")
    return net, a, b


def connect(**kw):
    net, a, b = net2()
    return net.connect(a, b, **kw)


def poisson(**kw):
    net, a, _ = net2()
    return net.poisson(a, **kw)


def run(t_stop=10.0, **kw):
    net, a, _ = net2()
    return net.run(t_stop, **kw)


def current(value, **kw):
    net, a, _ = net2()
    return net.current(a, value, **kw)


def sim(**kw):
    kw.setdefault("t_stop", 10.0)
    return fs.simulate(fs.LIF(), **kw)


CASES = [
    # time step, duration, sizes, seeds
    ("dt zero", lambda: fs.Network(dt=0.0), ValueError, r"dt must be > 0"),
    ("dt negative", lambda: sim(dt=-0.1), ValueError, r"dt must be > 0"),
    ("dt nan", lambda: fs.Network(dt=np.nan), ValueError, r"dt must be finite"),
    ("dt inf", lambda: sim(dt=np.inf), ValueError, r"dt must be finite"),
    ("t_stop zero", lambda: run(0.0), ValueError, r"t_stop must be > 0"),
    ("t_stop negative", lambda: sim(t_stop=-5.0), ValueError, r"t_stop must be > 0"),
    ("t_stop nan", lambda: run(np.nan), ValueError, r"t_stop must be finite"),
    ("t_stop below one step", lambda: sim(t_stop=0.04, dt=0.1), ValueError,
     r"t_stop must be at least one step"),
    ("n zero", lambda: sim(n=0), ValueError, r"n must be an integer >= 1"),
    ("n negative", lambda: fs.Network().population(fs.LIF(), -3), ValueError,
     r"n must be an integer >= 1"),
    ("n float", lambda: sim(n=2.5), TypeError, r"n must be an integer"),
    ("n bool", lambda: sim(n=True), TypeError, r"n must be an integer"),
    ("seed negative", lambda: fs.Network(seed=-1), ValueError,
     r"seed must be a non-negative integer"),
    ("seed negative simulate", lambda: sim(seed=-7), ValueError,
     r"seed must be a non-negative integer"),
    ("seed float", lambda: fs.Network(seed=1.5), ValueError, r"seed must be"),
    ("record_every zero", lambda: sim(record_every=0), ValueError,
     r"record_every must be an integer >= 1"),
    ("progress not bool", lambda: run(progress="yes"), TypeError, r"progress must be"),
    # model parameters
    ("tau zero", lambda: fs.LIF(tau=0.0), ValueError, r"LIF\.tau must be > 0"),
    ("tau negative", lambda: fs.AdLIF(tau=-1.0), ValueError, r"AdLIF\.tau must be > 0"),
    ("tau_w zero", lambda: fs.AdLIF(tau_w=0.0), ValueError, r"AdLIF\.tau_w must be > 0"),
    ("QIF tau negative", lambda: fs.QIF(tau=-2.0), ValueError, r"QIF\.tau must be > 0"),
    ("QIF k zero", lambda: fs.QIF(k=0.0), ValueError, r"QIF\.k must be > 0"),
    ("tau array with a zero", lambda: fs.LIF(tau=np.array([1.0, 0.0])), ValueError,
     r"LIF\.tau must be > 0"),
    ("t_ref negative", lambda: fs.LIF(t_ref=-1.0), ValueError, r"LIF\.t_ref must be >= 0"),
    ("R zero", lambda: fs.LIF(R=0.0), ValueError, r"LIF\.R must be > 0"),
    ("tau nan", lambda: fs.LIF(tau=np.nan), ValueError, r"LIF\.tau must be finite"),
    ("v_th inf", lambda: fs.LIF(v_th=np.inf), ValueError, r"LIF\.v_th must be finite"),
    ("Izhikevich a nan", lambda: fs.Izhikevich(a=np.nan), ValueError,
     r"Izhikevich\.a must be finite"),
    ("nan in a per-neuron array", lambda: fs.QIF(v_reset=np.array([-65.0, np.nan])),
     ValueError, r"QIF\.v_reset must be finite"),
    ("2-D parameter", lambda: fs.LIF(tau=np.ones((2, 2))), ValueError, r"tau must be a scalar"),
    ("bool parameter", lambda: fs.LIF(tau=True), TypeError, r"LIF\.tau"),
    ("string parameter", lambda: fs.LIF(tau="fast"), TypeError, r"LIF\.tau"),
    ("unknown parameter", lambda: fs.LIF(taux=1.0), TypeError, r"unknown parameter.*taux"),
    ("unknown Izhikevich parameter", lambda: fs.Izhikevich(e=1.0), TypeError,
     r"unknown parameter.*'e'"),
    ("v_th <= v_reset", lambda: fs.LIF(v_th=-70.0), ValueError, r"v_th must be greater"),
    ("QIF v_c <= v_rest", lambda: fs.QIF(v_c=-70.0), ValueError, r"v_c must be greater"),
    ("Izhikevich c >= v_peak", lambda: fs.Izhikevich(c=40.0), ValueError, r"Izhikevich\.c"),
    ("per-neuron array wrong length", lambda: fs.simulate(fs.LIF(tau=np.ones(3)), 10.0, n=4),
     ValueError, r"LIF\.tau has 3 entries but the population has 4"),
    ("model not a model", lambda: fs.Network().population("LIF", 2), TypeError,
     r"model must be a fracsim neuron model"),
    # initial state
    ("v0 wrong length", lambda: sim(n=4, v0=np.zeros(3)), ValueError,
     r"v0 has 3 entries but the population has 4"),
    ("v0 nan", lambda: sim(v0=np.nan), ValueError, r"v0 must be finite"),
    ("u0 for LIF", lambda: sim(u0=1.0), TypeError, r"initial values for \['u'\]"),
    ("w0 wrong length", lambda: fs.simulate(fs.AdLIF(), 10.0, n=2, w0=np.zeros(5)),
     ValueError, r"w0 has 5 entries"),
    ("duplicate population name", lambda: net2()[0].population(fs.LIF(), 1, name="A"),
     ValueError, r"name 'A' is already used"),
    # inputs
    ("current wrong length", lambda: sim(n=4, current=np.ones(3)), ValueError,
     r"current into LIF has 3 entries but the population has 4"),
    ("current nan", lambda: sim(current=np.nan), ValueError, r"current into LIF must be finite"),
    ("2-D current not wrapped", lambda: sim(current=np.ones((5, 1))), TypeError,
     r"fs\.TimedArray"),
    ("callable wrong shape", lambda: sim(n=4, current=lambda t: np.zeros((t.size, 3))),
     ValueError, r"current into LIF: the time-varying current returned shape"),
    ("callable nan", lambda: sim(current=lambda t: np.full(t.size, np.nan)), ValueError,
     r"current into LIF: the time-varying current has NaN"),
    ("TimedArray wrong width", lambda: sim(n=2, current=fs.TimedArray(np.zeros((4, 3)), 1.0)),
     ValueError, r"returned shape \(100, 3\); expected \(100,\) or \(100, 2\)"),
    ("TimedArray nan", lambda: fs.TimedArray(np.array([1.0, np.nan]), 1.0), ValueError,
     r"TimedArray\.values must be finite"),
    ("TimedArray empty", lambda: fs.TimedArray(np.zeros(0), 1.0), ValueError,
     r"TimedArray\.values must be a non-empty"),
    ("TimedArray dt zero", lambda: fs.TimedArray(np.ones(3), 0.0), ValueError,
     r"TimedArray\.dt must be > 0"),
    ("step_current decreasing", lambda: fs.step_current([5.0, 1.0], [1.0, 2.0]), ValueError,
     r"step_current\.times must be >= 0 and strictly increasing"),
    ("step_current negative time", lambda: fs.step_current([-1.0], [1.0]), ValueError,
     r"step_current\.times must be >= 0"),
    ("step_current lengths", lambda: fs.step_current([1.0, 2.0], [1.0]), ValueError,
     r"step_current\.times and amplitudes must have the same length"),
    ("step_current nan", lambda: fs.step_current([1.0], [np.nan]), ValueError,
     r"step_current\.amplitudes must be finite"),
    ("stop <= start", lambda: current(1.0, start=5.0, stop=2.0),
     ValueError, r"stop \(2\.0\) must be greater than start \(5\.0\)"),
    # connectivity
    ("p above 1", lambda: connect(p=1.5), ValueError, r"p must be in \[0, 1\], got 1\.5"),
    ("p negative", lambda: connect(p=-0.1), ValueError, r"p must be in \[0, 1\]"),
    ("p nan", lambda: connect(p=np.nan), ValueError, r"p must be finite"),
    ("no rule", lambda: connect(), ValueError, r"connect needs a rule"),
    ("unknown rule", lambda: connect(rule="small_world"), ValueError,
     r"rule must be one of .*'small_world'"),
    ("bernoulli without p", lambda: connect(rule="pairwise_bernoulli"), ValueError,
     r"needs p"),
    ("indegree without K", lambda: connect(rule="fixed_indegree"), ValueError,
     r"needs indegree"),
    ("indegree too large", lambda: connect(indegree=5), ValueError, r"indegree must be <= 4"),
    ("indegree negative", lambda: connect(indegree=-1), ValueError, r"indegree must be"),
    ("one_to_one sizes", lambda: connect(rule="one_to_one"), ValueError,
     r"one_to_one needs equal sizes, got src 4 and dst 3"),
    ("explicit missing post", lambda: connect(pre=[0, 1]), ValueError,
     r"explicit connections need both pre and post"),
    ("explicit lengths", lambda: connect(pre=[0, 1], post=[0]), ValueError,
     r"pre and post must be 1-D arrays of equal length"),
    ("explicit out of range", lambda: connect(pre=[0, 4], post=[0, 1]), ValueError,
     r"pre indices must be in \[0, 4\)"),
    ("explicit post out of range", lambda: connect(pre=[0, 1], post=[0, 3]), ValueError,
     r"post indices must be in \[0, 3\)"),
    ("explicit float indices", lambda: connect(pre=[0.0, 1.0], post=[0, 1]), TypeError,
     r"pre and post must be integer"),
    ("weight array wrong length", lambda: connect(rule="all_to_all", weight=np.ones(5)),
     ValueError, r"weight has 5 entries but the rule made 12 synapses"),
    ("weight matrix wrong shape", lambda: connect(rule="all_to_all", weight=np.ones((3, 4))),
     ValueError, r"weight: a matrix must have shape \(n_pre, n_post\) = \(4, 3\)"),
    ("weight nan", lambda: connect(rule="all_to_all", weight=np.nan), ValueError,
     r"weight must be finite"),
    ("weight nan in matrix", lambda: connect(rule="all_to_all",
                                             weight=np.full((4, 3), np.nan)),
     ValueError, r"weight must be finite"),
    ("weight range reversed", lambda: connect(rule="all_to_all", weight=(2.0, 1.0)),
     ValueError, r"weight: uniform range needs lo <= hi"),
    ("weight tuple of 3", lambda: connect(rule="all_to_all", weight=(1.0, 2.0, 3.0)),
     ValueError, r"weight: a tuple means a uniform range"),
    ("weight callable shape", lambda: connect(rule="all_to_all",
                                              weight=lambda rng, n: np.ones(n + 1)),
     ValueError, r"weight: the callable returned shape \(13,\), expected \(12,\)"),
    ("delay below dt", lambda: connect(rule="all_to_all", delay=0.05), ValueError,
     r"delay must be >= dt = 0\.1 ms"),
    ("delay zero", lambda: connect(rule="all_to_all", delay=0.0), ValueError,
     r"delay must be >= dt"),
    ("delay negative in array",
     lambda: connect(rule="all_to_all", delay=np.r_[np.ones(11), -1.0]),
     ValueError, r"delay must be >= dt"),
    ("delay range below dt", lambda: connect(rule="all_to_all", delay=(0.0, 0.01)),
     ValueError, r"delay must be >= dt"),
    ("delay nan", lambda: connect(rule="all_to_all", delay=np.nan), ValueError,
     r"delay must be finite"),
    ("delay inf", lambda: connect(rule="all_to_all", delay=np.inf), ValueError,
     r"delay must be finite"),
    ("unknown synapse", lambda: connect(rule="all_to_all", synapse="alpha"), ValueError,
     r"synapse must be 'delta'"),
    ("CondSynapse negative weight", lambda: connect(
        rule="all_to_all", weight=-0.5, synapse=fs.CondSynapse(tau=5.0, e_rev=0.0)),
     ValueError, r"weight must be >= 0 for CondSynapse"),
    ("CondSynapse one negative weight", lambda: connect(
        rule="all_to_all", weight=np.r_[np.ones(11), -1e-3],
        synapse=fs.CondSynapse(tau=5.0, e_rev=0.0)),
     ValueError, r"weight must be >= 0 for CondSynapse"),
    ("ExpSynapse tau zero", lambda: fs.ExpSynapse(tau=0.0), ValueError,
     r"ExpSynapse\.tau must be > 0"),
    ("CondSynapse tau negative", lambda: fs.CondSynapse(tau=-1.0, e_rev=0.0), ValueError,
     r"CondSynapse\.tau must be > 0"),
    ("CondSynapse e_rev nan", lambda: fs.CondSynapse(tau=1.0, e_rev=np.nan), ValueError,
     r"CondSynapse\.e_rev must be finite"),
    ("src not a population", lambda: net2()[0].connect("A", net2()[2], p=0.1), TypeError,
     r"src must be a Population"),
    ("src of another network", lambda: net2()[0].connect(net2()[1], net2()[2], p=0.1),
     ValueError, r"src belongs to another Network"),
    # Poisson input
    ("poisson rate negative", lambda: poisson(rate=-1.0, weight=1.0), ValueError,
     r"rate must be >= 0"),
    ("poisson rate nan", lambda: poisson(rate=np.nan, weight=1.0), ValueError,
     r"rate must be finite"),
    ("poisson rate wrong length", lambda: poisson(rate=np.ones(3), weight=1.0), ValueError,
     r"rate has 3 entries"),
    ("poisson n_sources zero", lambda: poisson(rate=1.0, weight=1.0, n_sources=0),
     ValueError, r"n_sources must be an integer >= 1"),
    ("poisson weight array", lambda: poisson(rate=1.0, weight=np.ones(4)), ValueError,
     r"weight of a Poisson input must be a scalar"),
    ("poisson weight nan", lambda: poisson(rate=1.0, weight=np.nan), ValueError,
     r"weight must be finite"),
    ("poisson CondSynapse negative weight", lambda: poisson(
        rate=1.0, weight=-1.0, synapse=fs.CondSynapse(tau=5.0, e_rev=0.0)),
     ValueError, r"weight must be >= 0 for CondSynapse"),
    # recording
    ("record unknown variable", lambda: sim(record=("w",)), ValueError,
     r"has no state variable 'w'"),
    ("record population of another network", lambda: run(record={"u": net2()[1]}), ValueError,
     r"record\['u'\] names a population of another Network"),
    ("record not a dict", lambda: run(record=["v"]), TypeError, r"record must be a dict"),
    ("record target a string", lambda: run(record={"v": "A"}), TypeError,
     r"record\['v'\] must be a population"),
]


@pytest.mark.parametrize(("func", "exc", "match"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_raises(func, exc, match):
    with pytest.raises(exc, match=match):
        func()


def test_record_wrong_variable_in_own_network():
    net, a, b = net2()
    with pytest.raises(ValueError, match=r"record: A \(LIF\) has no state variable 'u'"):
        net.run(10.0, record={"u": [a, b[:2]]})
    # nothing ran: the clock did not move and the network can still be extended
    assert net.t == 0.0
    net.population(fs.LIF(), 1, name="C")


def test_errors_are_raised_before_anything_runs():
    net, a, b = net2()
    net.current(a, lambda t: np.zeros((t.size, 2)))  # wrong width, found at run time
    with pytest.raises(ValueError, match="current into A"):
        net.run(10.0)
    assert net.t == 0.0
    net.population(fs.LIF(), 1, name="C")  # still open


def test_per_neuron_arrays_of_different_lengths_name_the_parameters():
    """Two per-neuron arrays of different lengths in one model are a shape mismatch: the
    error must say which parameters disagree (today numpy's broadcast error leaks out of
    the cross-parameter check ``v_th > v_reset``)."""
    with pytest.raises(ValueError, match=r"v_th|v_reset|different lengths"):
        fs.LIF(v_th=np.full(3, -50.0), v_reset=np.full(4, -65.0))
    with pytest.raises(ValueError, match=r"v_c|v_rest|different lengths"):
        fs.QIF(v_c=np.full(3, -50.0), v_rest=np.full(4, -65.0))


def test_empty_step_current_is_rejected_or_zero():
    """``fs.step_current([], [])`` must either be rejected with a ValueError naming
    step_current.times or behave as a zero current; it must not crash with IndexError."""
    try:
        sc = fs.step_current([], [])
    except ValueError as err:
        assert "step_current" in str(err)
    else:
        np.testing.assert_array_equal(sc(np.array([0.0, 1.0])), [0.0, 0.0])
