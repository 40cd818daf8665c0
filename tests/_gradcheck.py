"""Shared checks of the gradient tests: every method on one problem, and their agreement
with central finite differences."""

import numpy as np

import fracsim as fs

RTOL = 1e-6


def all_methods(model, params, loss, **kw):
    """``{method: (value, grads)}`` for "adjoint", "forward" and "finite_difference"."""
    return {m: fs.grad.value_and_grad(model, params, loss, method=m, **kw)
            for m in ("adjoint", "forward", "finite_difference")}


def assert_agree(res, params, rtol=RTOL, shapes=None):
    """Same loss value for every method; adjoint and forward gradients equal the finite
    differences to ``rtol`` relative (to the largest entry), with the expected ``shapes``
    where given.  Returns the worst relative error."""
    shapes = shapes or {}
    vals = {m: v for m, (v, _) in res.items()}
    assert vals["adjoint"] == vals["forward"] == vals["finite_difference"]
    worst = 0.0
    for p in params:
        fd = res["finite_difference"][1][p]
        scale = np.max(np.abs(fd))
        assert scale > 0, f"{p}: zero gradient, the check would be empty"
        for m in ("adjoint", "forward"):
            g = res[m][1][p]
            assert g.shape == fd.shape == shapes.get(p, g.shape), (p, m, g.shape, fd.shape)
            err = np.max(np.abs(g - fd)) / scale
            worst = max(worst, err)
            assert err < rtol, f"{p} ({m}): relative error {err:.2e} vs finite differences"
    return worst
