r"""Forward mode: tangents propagated with the recurrence of :mod:`.trajectory`.

For ``ncol`` parameter directions ``E`` (``(P + 1, ncol, n)`` per neuron; row ``P`` is the
input current), tangents ``Ż = dz/dθ · E`` obey, with the local Jacobian ``J`` of the step::

    Ḣ_n     = sum_{k=1}^{min(n, W)} c_k q̇_{n-k} + sum_j β_j U̇_j[n] + (dH_n/dalpha) E_alpha
    ḋ_n     = (I + I(t_n)) E_R + R E_I  (+ R u[n] E_W_in for an InputLayer)
    (ż_{n+1}, q̇_n, ṡ_n) = J (ż_n, Ḣ_n, E_θ, ḋ_n)
    U̇_j[n+1] = λ_j U̇_j[n] + λ_j^(W+1) q̇_{n-W}

from ``ż_0`` (the default initial state follows ``v_rest``/``v_ref``).  ``value_and_grad``
with ``method="forward"`` uses ``E = I`` (one column per parameter slot; neurons are
uncoupled, so each neuron's own ``P + 1`` slots cover every per-neuron parameter) and
accumulates ``dL/dθ = sum_n g^z_n ż_n + g^s_n ṡ_n``; ``jvp`` uses one column and returns
the tangent trajectory.  Memory: ``ncol (nz + W + K)`` floats per neuron (with
``FullMemory``, ``W = N``: the tangent of every increment).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .model_derivatives import step
from .trajectory import Problem, advance, drive, history, history_alpha, load, new_state


@njit(cache=True)
def _tangents(code, ints, nz, P, frac, l1, newton, reset, hard, sk, sp, dt,
              alpha_slot, thr_slot, th, Ic, It, r_slot, ref,
              W, coef, dcoef, lam, beta, mu, gam, ha, dha, group,
              z, ring, U, tail, leave, val, grd,
              widths, E, deps, need_alpha, gz_rec, gs_rec, acc, out_z, out_s, write_out,
              u, EW):
    N = widths.shape[0]
    n_neur = z.shape[1]
    ncol = E.shape[1]
    nl = nz + P + 2
    OUT = nl
    K = U.shape[0]
    Tz = np.zeros((nz, ncol, n_neur))
    Tring = np.zeros((n_neur, W, ncol))
    TU = np.zeros((K, ncol, n_neur))
    Tleave = np.zeros((ncol, n_neur))
    Tin = np.zeros((nl, ncol))
    Tout = np.zeros((nz + 2, ncol))
    until = np.zeros(n_neur, dtype=np.int64)  # refractory holds (as the primal)
    for r in range(deps.shape[0]):
        for c in range(ncol):
            for i in range(n_neur):
                Tz[deps[r, 0], c, i] += E[deps[r, 1], c, i]
    for n in range(N):
        w_now = widths[n]
        for i in range(n_neur):
            g = group[i]
            d, cur = drive(i, n, th, Ic, It, r_slot)
            H = 0.0
            for c in range(ncol):
                Tin[nz, c] = 0.0
            if frac:
                H = history(i, n, W, ring, coef, g, tail)
                slot = n % W
                for k in range(1, min(n, W) + 1):
                    idx = slot - k
                    idx = idx + W if idx < 0 else idx
                    ck = coef[g, k]
                    for c in range(ncol):
                        Tin[nz, c] += ck * Tring[i, idx, c]
                for j in range(K):
                    bj = beta[g, j]
                    for c in range(ncol):
                        Tin[nz, c] += bj * TU[j, c, i]
                if need_alpha:
                    dha_n = history_alpha(i, n, W, ring, dcoef, gam, U, g)
                    for c in range(ncol):
                        Tin[nz, c] += dha_n * E[alpha_slot, c, i]
            for c in range(ncol):
                for m in range(nz):
                    Tin[m, c] = Tz[m, c, i]
                for p in range(P):
                    Tin[nz + 1 + p, c] = E[p, c, i]
                Tin[nz + P + 1, c] = E[r_slot, c, i] * cur + E[P, c, i] * th[r_slot, i]
                if EW.shape[0] > 0:
                    du = 0.0
                    for m in range(EW.shape[0]):
                        du += u[n, m] * EW[m, c, i]
                    Tin[nz + P + 1, c] += du * th[r_slot, i]
            load(val, grd, nl, nz, P, z, i, H, th, d)
            step(code, ints, val, grd, nz, P, frac, l1, newton, reset, hard, sk, sp, w_now,
                 dt, ha[g], dha[g], coef[g, 0], dcoef[g, 0], alpha_slot, thr_slot,
                 until[i] > n)
            if val[OUT + nz + 2] >= 0.0 and ref[i] > 0:
                until[i] = n + 1 + ref[i]
            for o in range(nz + 2):
                for c in range(ncol):
                    s = 0.0
                    for k in range(nl):
                        s += grd[OUT + o, k] * Tin[k, c]
                    Tout[o, c] = s
            for c in range(ncol):
                a = gs_rec[n, i] * Tout[nz + 1, c]
                for m in range(nz):
                    a += gz_rec[n, m, i] * Tz[m, c, i]
                acc[c, i] += a
            if write_out:
                for m in range(nz):
                    out_z[n, m, i] = Tz[m, 0, i]
                out_s[n, i] = Tout[nz + 1, 0]
            for m in range(nz):
                z[m, i] = val[OUT + m]
                for c in range(ncol):
                    Tz[m, c, i] = Tout[m, c]
            if frac:
                slot = n % W
                leave[i] = ring[i, slot] if n >= W else 0.0
                ring[i, slot] = val[OUT + nz]
                for c in range(ncol):
                    Tleave[c, i] = Tring[i, slot, c] if n >= W else 0.0
                    Tring[i, slot, c] = Tout[nz, c]
        if frac:
            advance(U, lam, mu, beta, tail, leave, group)
            for j in range(K):
                for c in range(ncol):
                    for i in range(n_neur):
                        g = group[i]
                        TU[j, c, i] = lam[g, j] * TU[j, c, i] + mu[g, j] * Tleave[c, i]


def tangents(prob: Problem, widths: np.ndarray, E: np.ndarray, gz_rec: np.ndarray,
             gs_rec: np.ndarray, need_alpha: bool, trajectory: bool = False, EW=None):  # noqa: N803
    """Run the tangent recurrence for the directions ``E`` (``(P + 1, ncol, n)``) and, for an
    InputLayer, ``EW`` (``(M, ncol, n)``: directions of ``W_in``, ``ḋ_n += R u[n] EW``).

    Returns ``acc`` (``(ncol, n)``: ``sum_n g^z_n ż_n + g^s_n ṡ_n`` per neuron) and, with
    ``trajectory`` (``ncol == 1``), the tangents of the recorded arrays ``(N, nz, n)`` and
    ``(N, n)``."""
    z, ring, U, tail, leave, val, grd = new_state(prob)
    ncol = E.shape[1]
    if EW is None or prob.u.shape[1] == 0:
        EW = np.zeros((0, ncol, prob.n))
    acc = np.zeros((ncol, prob.n))
    shape = (prob.N, prob.nz, prob.n) if trajectory else (0, prob.nz, prob.n)
    out_z = np.zeros(shape)
    out_s = np.zeros(shape[:1] + (prob.n,))
    _tangents(*prob.model_args(), *prob.input_args(), *prob.memory_args(),
              z, ring, U, tail, leave, val, grd, widths, np.ascontiguousarray(E),
              prob.init_deps, need_alpha, np.ascontiguousarray(gz_rec),
              np.ascontiguousarray(gs_rec), acc, out_z, out_s, trajectory,
              np.ascontiguousarray(prob.u), np.ascontiguousarray(EW))
    return acc, out_z, out_s
