"""Fast versions of the training examples in examples/: the loss decreases and the learned
parameters move toward the truth."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_learn_fractional_order_fast():
    ex = _load("learn_fractional_order")
    t_stop = 120.0  # the first two pulses (1200 steps) of the 200 ms trace
    v_meas, n_spikes = ex.measure(t_stop=t_stop)
    assert n_spikes == 0 and v_meas.shape == (1200, 1)
    out = ex.fit(v_meas, t_stop=t_stop, max_iter=10, verbose=False)
    losses = out["losses"]
    assert losses[-1] < losses[0] / 20  # L-BFGS-B with the adjoint gradient makes progress
    assert np.all(np.diff(losses) <= 0)
    # alpha moves from 0.9 most of the way to the true 0.7 (measured: 0.689 after 10
    # iterations), tau from 10 toward 15 (13.7)
    assert abs(out["alpha"] - ex.ALPHA_TRUE) < 0.1 * abs(ex.ALPHA_0 - ex.ALPHA_TRUE)
    assert abs(out["tau"] - ex.TAU_TRUE) < 0.5 * abs(ex.TAU_0 - ex.TAU_TRUE)


def test_mackey_glass_fast():
    ex = _load("mackey_glass")
    # the delay-differential integrator converges at second order (RK4 with the half-step
    # delayed value interpolated linearly): differences between h, h/2, h/4 shrink by ~4
    a, b, c = (ex.mackey_glass(300, h=h) for h in (0.1, 0.05, 0.025))
    assert abs(a.mean()) < 1e-12 and abs(a.std() - 1) < 1e-12
    d1, d2 = np.max(np.abs(a - b)), np.max(np.abs(b - c))
    assert d1 < 1e-2 and 3.0 < d1 / d2 < 5.0
    assert np.ptp(a[-100:]) > 2.0  # still oscillating after 600 time units
    for kind in ("conductance", "lif"):
        out = ex.run(kind, n=8, n_train=150, n_test=100, iters=20, verbose=False)
        losses = out["losses"]
        assert losses[-1] < losses[0] / 3, (kind, losses[0], losses[-1])  # Adam makes progress
        assert np.isfinite(out["nrmse"]) and 0 < out["sparsity"] < 0.5
    # multi-step: the readout targets x[k + 6], a harder task; Adam makes progress there too
    out = ex.run("lif", n=8, n_train=150, n_test=100, iters=20, verbose=False,
                 horizon=ex.HORIZON_MULTI)
    assert out["horizon"] == 6 and out["losses"][-1] < 0.8 * out["losses"][0]
    with pytest.raises(ValueError, match="horizon"):
        ex.run("lif", horizon=0)


def test_classify_temporal_patterns_fast():
    ex = _load("classify_temporal_patterns")
    pats, labels = ex.samples(2, seed=3)
    assert pats.shape == (3 * 2, 120, ex.N_IN) and np.array_equal(labels, [0, 0, 1, 1, 2, 2])
    assert 0.7 * ex.N_IN < pats[0].sum() < 1.5 * ex.N_IN  # about one spike per channel
    out = ex.train(iters=6, n_train=4, n_test=4, verbose=False)
    losses = out["losses"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]  # Adam makes progress
    # both orders are learnable and move (within their bounds)
    assert np.all(out["alphas"][-1] != np.array(ex.ALPHA_0))
    assert np.all((out["alphas"] >= ex.ALPHA_BOUNDS[0]) & (out["alphas"] <= ex.ALPHA_BOUNDS[1]))
