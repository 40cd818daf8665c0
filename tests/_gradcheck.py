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


def assert_network_gradient(make_net, names, surrogate, rtol=RTOL, seed=3):
    """The network adjoint (relaxed) of ``names`` against central differences for the
    scalar ones and, for all of them at once, against forward mode: one ``jvp`` along a
    random direction gives the adjoint's directional derivative to 1e-9.  ``make_net()``
    builds a fresh ``(net, t_stop, loss)``; the loss reads recorded arrays of the net."""
    net, t_stop, loss = make_net()
    _, ga = fs.grad.value_and_grad(net, names, loss, t_stop, surrogate=surrogate,
                                   relaxed=True)
    scalars = [nm for nm in names if np.ndim(ga[nm]) == 0 or nm.endswith(".coef")]
    net, t_stop, loss = make_net()
    _, gf = fs.grad.value_and_grad(net, scalars, loss, t_stop, surrogate=surrogate,
                                   relaxed=True, method="finite_difference", eps=1e-5)
    for nm in scalars:
        scale = np.max(np.abs(gf[nm]))
        assert scale > 0, f"{nm}: zero gradient, the check would be empty"
        err = np.max(np.abs(ga[nm] - gf[nm])) / scale
        assert err <= rtol, f"{nm}: relative error {err:.2e} vs finite differences"
    rng = np.random.default_rng(seed)
    direction = {nm: rng.standard_normal(np.shape(ga[nm])) for nm in names}
    net, t_stop, loss = make_net()
    rec, tan = fs.grad.jvp(net, direction, t_stop, surrogate=surrogate, relaxed=True)
    _, g_rec = loss.value_and_grad(rec)
    along = sum(float(np.sum(g_rec[key] * tan[key])) for key in g_rec if key in tan)
    expect = sum(float(np.sum(ga[nm] * direction[nm])) for nm in names)
    assert abs(along - expect) <= 1e-9 * max(abs(expect), 1e-300), (along, expect)
    assert all(np.max(np.abs(ga[nm])) > 0 for nm in names), "a zero gradient"
