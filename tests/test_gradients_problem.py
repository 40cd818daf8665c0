"""The gradient benchmark's problem (benchmarks/gradients_problem.py) as fracsim runs it.

No torch: the peer's side is checked by ``benchmarks/gradients.py --check``.  Here: the
problem is deterministic in its seed, fracsim's forward of the batch-as-one-network equals a
direct NumPy evaluation of the documented discrete semantics (spike for spike), the batch
copies are independent, and the loss on the recorded arrays is the documented MSE.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


problem = _load("gradients_problem")
driver = _load("gradients")  # imports gradients_problem: the module above

TINY = {"batch": 3, "n_in": 20, "n1": 5, "n2": 4}


def test_problem_is_deterministic_and_prefix_stable():
    a = problem.make_problem(60, seed=7, **TINY)
    b = problem.make_problem(60, seed=7, **TINY)
    for key in ("inputs", "w1", "w2", "v1_0", "v2_0", "target"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    c = problem.make_problem(60, seed=8, **TINY)
    assert not np.array_equal(a.inputs, c.inputs)
    assert not np.array_equal(a.w1, c.w1)
    short = problem.make_problem(25, seed=7, **TINY)  # a shorter run is a prefix
    np.testing.assert_array_equal(short.inputs, a.inputs[:25])
    np.testing.assert_array_equal(short.target, a.target[:25])
    np.testing.assert_array_equal(short.w2, a.w2)
    # samples get different input trains
    assert not np.array_equal(a.inputs[:, 0], a.inputs[:, 1])
    with pytest.raises(ValueError, match="scheme"):
        problem.make_problem(10, scheme="pi_trap")


def test_block_diagonal_reproduces_the_matrix_per_sample():
    w = np.arange(6.0).reshape(2, 3)
    pre, post, weight = driver.block_diagonal(w, 2)
    dense = np.zeros((4, 6))
    dense[pre, post] = weight
    np.testing.assert_array_equal(dense[:2, :3], w)
    np.testing.assert_array_equal(dense[2:, 3:], w)
    assert not dense[:2, 3:].any() and not dense[2:, :3].any()


def test_fracsim_forward_is_the_documented_discretisation():
    # scheme "l1" (the benchmark's); "gl" is checked by `benchmarks/gradients.py --check`
    # (each scheme is one more compiled loop structure, ~10 s)
    prob = problem.make_problem(80, scheme="l1", **TINY)
    fr = driver.run_fracsim(prob, record_l1=True)
    ref = problem.forward_numpy(prob)
    assert ref["s1"].sum() >= 3 and ref["s2"].sum() >= 3  # the spike path is exercised
    np.testing.assert_array_equal(fr["s1"], ref["s1"])
    np.testing.assert_array_equal(fr["s2"], ref["s2"])
    np.testing.assert_allclose(fr["v1"], ref["v1"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(fr["v2"], ref["v2"], rtol=0, atol=1e-10)
    # the loss: fs.grad.loss.mse on the recorded (T, B*n2) array = the documented mean
    direct = float(np.mean((ref["v2"] - prob.target) ** 2))
    assert fr["loss"] == pytest.approx(direct, rel=1e-12)
    assert fr["loss_numpy"] == pytest.approx(direct, rel=1e-12)


def test_batch_copies_are_independent():
    prob = problem.make_problem(80, **TINY)
    base = driver.run_fracsim(prob)
    changed = problem.make_problem(80, **TINY)
    changed.inputs[:, 1] = 1 - changed.inputs[:, 1]  # only sample 1's inputs change
    other = driver.run_fracsim(changed)
    for b in (0, 2):
        np.testing.assert_array_equal(other["v2"][:, b], base["v2"][:, b])
        np.testing.assert_array_equal(other["s1"][:, b], base["s1"][:, b])
    assert not np.array_equal(other["v2"][:, 1], base["v2"][:, 1])
