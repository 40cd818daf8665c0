r"""Local forward-mode differentiation of one neuron step: a register file of dual numbers.

One step of a neuron is a short straight-line program of scalar operations.  Its local
Jacobian is computed by running that program on *dual numbers*: register ``r`` holds a value
``val[r]`` and its gradient ``grd[r, :]`` with respect to the ``NL`` local inputs of the step
(the state ``z_n``, the history term ``H_n``, the parameters ``theta`` and the drive ``d``; the
layout is in :mod:`fracsim.grad.model_derivatives`).  Every operation below sets
``val[dst]`` and ``grd[dst, :]`` by the chain rule, e.g. for ``dst = a * b``::

    val[dst] = val[a] val[b],   grd[dst, k] = val[a] grd[b, k] + val[b] grd[a, k]

``dst`` may alias an operand (values are read before anything is written).  The Jacobian of
the step is then read off the output registers, exactly (to rounding): the same Jacobian
serves the forward tangents (:mod:`fracsim.grad.forward`) and the adjoint
(:mod:`fracsim.grad.adjoint`), so the two are consistent by construction.

Spikes.  ``spike`` sets ``s = H(x)`` (hard threshold, ``x = v - v_th``) or ``s = sigma(x)``
(relaxed) and in both cases ``ds/dx = sigma'(x)`` from :mod:`fracsim.grad.surrogate`.  Resets
are written in the relaxed form ``v <- v - s (v - v_reset)`` (:func:`reset_to`), whose value
with a hard ``s`` in {0, 1} is the engine's select (taken exactly), and whose derivative is the
surrogate gradient of the reset.  No allocation: all registers are preallocated by the caller.
"""

from __future__ import annotations

import math

from numba import njit

from .surrogate import (
    KIND_ARCTAN,
    KIND_GAUSSIAN,
    KIND_MPDAGL,
    KIND_RECT,
    KIND_SIGMOID,
    KIND_TRIANGLE,
    surrogate_grad,
)

_SQRT_HALF = math.sqrt(0.5)


@njit(cache=True)
def relaxed_value(kind, params, x, width_now):
    """The smooth step ``sigma(x)`` whose derivative is ``surrogate_grad(kind, params, x, .)``
    (same formulas as :meth:`fracsim.grad.surrogate.Surrogate.relaxed`)."""
    if kind == KIND_MPDAGL:
        k = int(params[3])
        w = width_now
    else:
        k = kind
        w = params[0]
    z = x / w
    if k == KIND_SIGMOID:
        if z >= 0.0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)
    elif k == KIND_ARCTAN:
        return 0.5 + math.atan(z) / math.pi
    elif k == KIND_TRIANGLE:
        zc = min(max(z, -1.0), 1.0)
        return 0.5 * (1.0 + zc) ** 2 if zc <= 0.0 else 1.0 - 0.5 * (1.0 - zc) ** 2
    elif k == KIND_GAUSSIAN:
        return 0.5 * (1.0 + math.erf(z * _SQRT_HALF))
    elif k == KIND_RECT:
        return min(max(z + 0.5, 0.0), 1.0)
    return 1.0 if x >= 0.0 else 0.0


@njit(cache=True)
def seed(val, grd, nl):
    """Registers ``0 .. nl-1`` are the local inputs: identity gradients."""
    for r in range(nl):
        for k in range(nl):
            grd[r, k] = 0.0
        grd[r, r] = 1.0


@njit(cache=True)
def cst(val, grd, d, c):
    val[d] = c
    for k in range(grd.shape[1]):
        grd[d, k] = 0.0


@njit(cache=True)
def cpy(val, grd, d, a):
    val[d] = val[a]
    for k in range(grd.shape[1]):
        grd[d, k] = grd[a, k]


@njit(cache=True)
def add(val, grd, d, a, b):
    val[d] = val[a] + val[b]
    for k in range(grd.shape[1]):
        grd[d, k] = grd[a, k] + grd[b, k]


@njit(cache=True)
def sub(val, grd, d, a, b):
    val[d] = val[a] - val[b]
    for k in range(grd.shape[1]):
        grd[d, k] = grd[a, k] - grd[b, k]


@njit(cache=True)
def mul(val, grd, d, a, b):
    va, vb = val[a], val[b]
    val[d] = va * vb
    for k in range(grd.shape[1]):
        grd[d, k] = va * grd[b, k] + vb * grd[a, k]


@njit(cache=True)
def div(val, grd, d, a, b):
    """``a / b``."""
    vb = val[b]
    q = val[a] / vb
    val[d] = q
    for k in range(grd.shape[1]):
        grd[d, k] = (grd[a, k] - q * grd[b, k]) / vb


@njit(cache=True)
def mulk(val, grd, d, a, c):
    """``a * c`` for a constant ``c``."""
    val[d] = val[a] * c
    for k in range(grd.shape[1]):
        grd[d, k] = grd[a, k] * c


@njit(cache=True)
def addk(val, grd, d, a, c):
    """``a + c`` for a constant ``c``."""
    val[d] = val[a] + c
    for k in range(grd.shape[1]):
        grd[d, k] = grd[a, k]


@njit(cache=True)
def kdiv(val, grd, d, c, a):
    """``c / a`` for a constant ``c``."""
    va = val[a]
    q = c / va
    val[d] = q
    for k in range(grd.shape[1]):
        grd[d, k] = -q / va * grd[a, k]


@njit(cache=True)
def fma(val, grd, d, a, b, c):
    """``a * b + c``."""
    va, vb = val[a], val[b]
    val[d] = va * vb + val[c]
    for k in range(grd.shape[1]):
        grd[d, k] = va * grd[b, k] + vb * grd[a, k] + grd[c, k]


@njit(cache=True)
def exp_(val, grd, d, a):
    e = math.exp(val[a])
    val[d] = e
    for k in range(grd.shape[1]):
        grd[d, k] = e * grd[a, k]


@njit(cache=True)
def tanh_(val, grd, d, a):
    t = math.tanh(val[a])
    val[d] = t
    s = 1.0 - t * t
    for k in range(grd.shape[1]):
        grd[d, k] = s * grd[a, k]


@njit(cache=True)
def sel(val, grd, d, cond, a, b):
    """``a if cond else b`` (``cond`` a plain bool)."""
    src = a if cond else b
    cpy(val, grd, d, src)


@njit(cache=True)
def spike(val, grd, d, x, hard, kind, params, width_now):
    """``s = H(x)`` (hard) or ``sigma(x)`` (relaxed), ``ds = sigma'(x) dx`` in both cases."""
    vx = val[x]
    sg = surrogate_grad(kind, params, vx, width_now)
    val[d] = (1.0 if vx >= 0.0 else 0.0) if hard else relaxed_value(kind, params, vx, width_now)
    for k in range(grd.shape[1]):
        grd[d, k] = sg * grd[x, k]


@njit(cache=True)
def reset_to(val, grd, d, x, s, t, hard):
    """``x - s (x - t)``; with ``hard`` the value is ``t if s else x`` exactly."""
    vx, vs, vt = val[x], val[s], val[t]
    if hard:
        val[d] = vt if vs > 0.5 else vx
    else:
        val[d] = vx - vs * (vx - vt)
    for k in range(grd.shape[1]):
        grd[d, k] = grd[x, k] - vs * (grd[x, k] - grd[t, k]) - (vx - vt) * grd[s, k]


@njit(cache=True)
def add_s(val, grd, d, x, s, b, hard):
    """``x + s b``; with ``hard`` the value is ``x + b if s else x`` exactly."""
    vx, vs, vb = val[x], val[s], val[b]
    if hard:
        val[d] = vx + vb if vs > 0.5 else vx
    else:
        val[d] = vx + vs * vb
    for k in range(grd.shape[1]):
        grd[d, k] = grd[x, k] + vs * grd[b, k] + vb * grd[s, k]


@njit(cache=True)
def sub_s(val, grd, d, x, s, a, b, hard):
    """``x - s (a - b)``; with ``hard`` the value is ``x - (a - b) if s else x`` exactly."""
    vx, vs, vab = val[x], val[s], val[a] - val[b]
    if hard:
        val[d] = vx - vab if vs > 0.5 else vx
    else:
        val[d] = vx - vs * vab
    for k in range(grd.shape[1]):
        grd[d, k] = grd[x, k] - vs * (grd[a, k] - grd[b, k]) - vab * grd[s, k]


@njit(cache=True)
def shift_q(val, grd, d, dv, v, thr, s, v0, hard):
    """History entry of a "shift" reset: ``dv - s (v - v_th)``; with ``hard`` the value is the
    engine's ``(min(v, v_th) - v0) if s else dv`` (equal to it when ``s = 1``, ``v >= v_th``)."""
    vdv, vv, vt, vs = val[dv], val[v], val[thr], val[s]
    if hard:
        val[d] = (min(vv, vt) - val[v0]) if vs > 0.5 else vdv
    else:
        val[d] = vdv - vs * (vv - vt)
    for k in range(grd.shape[1]):
        grd[d, k] = grd[dv, k] - vs * (grd[v, k] - grd[thr, k]) - (vv - vt) * grd[s, k]
