r"""Checkpointed discrete adjoint of the recurrence in :mod:`.trajectory`.

With ``J`` the local Jacobian of step ``n`` (:mod:`.model_derivatives`; outputs
``z_{n+1}, q_n, s_n``, inputs ``z_n, H_n, θ, d_n``), ``g^z_n = dL/d rec_z[n]`` and
``g^s_n = dL/d rec_s[n]`` from the loss, the adjoint runs ``n = N-1 .. 0``::

    a^q_n = sum_{k=1}^{min(W, N-1-n)} c_k a^H_{n+k} + sum_j β_j V_j[n]
    (a^z_n, a^H_n, a^θ_n, a^d_n) = J^T (a^z_{n+1}, a^q_n, g^s_n)   (+ g^z_n on a^z_n)
    dL/dθ += a^θ_n + a^d_n dd_n/dθ + a^H_n dH_n/dalpha
    dL/dW_in[m, i] += u[n, m] R_i a^d_n[i]                  (InputLayer: I = u W_in + b_in)
    V_j[n-1] = λ_j V_j[n] + λ_j^(W+1) a^H_{n+W}                   (a^H_m = 0 for m >= N)

with ``a^z_N = 0``.  ``V_j[n] = sum_{m >= n+W+1} λ_j^(m-n) a^H_m`` is the adjoint of the SOE
states: O(K) per step; the exact window keeps the last ``W`` values of ``a^H`` (a ring of
``W + 1``).  With ``FullMemory`` (``W = N``, ``K = 0``) this is the adjoint of the full
convolution, O(N - n) at step ``n``.  ``dd/dR = I + I(t_n)``, ``dd/dI = R``.

Checkpointing (√T): the primal stores ``(z, U, tail)`` (and the ring if it wraps) every ``C``
steps (``C = ceil(sqrt(N))`` by default); the backward pass recomputes one segment at a time
from its checkpoint, keeping ``z_n``, ``H_n``, ``dH_n/dalpha`` of that segment only.  Memory of
the backward pass, in float64 per neuron (``nz`` state variables, ``K`` exponentials, ``W``
window)::

    checkpoints  ceil(N/C) (nz + K + 1 [+ W if the ring wraps])
    segment      C (nz + 2)
    adjoint      nz + (W + 1) + K
    FullMemory   + N (the increments q_m, the simulation's own state) + (N + 1) (a^H ring)

i.e. O(sqrt(N) (nz + K + W)) per neuron with SOE instead of O(N (nz + K + W)) for storing the
trajectory, and O(N) with FullMemory, whose history is its state.  (The recorded arrays the
loss reads, O(N nz) per neuron, are an input of the loss and are not counted.)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .model_derivatives import step
from .trajectory import Primal, Problem, drive, load, new_state, run_range


@njit(cache=True)
def _backward(code, ints, nz, P, frac, l1, newton, reset, hard, sk, sp, dt,
              alpha_slot, thr_slot, th, Ic, It, r_slot, ref,
              W, coef, dcoef, lam, beta, mu, gam, ha, dha, group,
              z, ring, U, tail, leave, val, grd, xs,
              widths, aparams, C, ck_z, ck_ring, ck_U, ck_tail, ck_until, wraps,
              gz_rec, gs_rec, need_alpha, gth, az, u, gW):
    N = gz_rec.shape[0]
    n_neur = z.shape[1]
    nl = nz + P + 2
    OUT = nl
    n_out = nz + 3
    K = U.shape[0]
    Wp = W + 1
    seg_z = np.zeros((C, nz, n_neur))
    seg_H = np.zeros((C, n_neur))
    seg_dHa = np.zeros((C, n_neur))
    seg_held = np.zeros((C, n_neur), dtype=np.bool_)
    until = np.zeros(n_neur, dtype=np.int64)
    aH = np.zeros((n_neur, Wp if frac else 1))
    V = np.zeros((K, n_neur))
    ao = np.zeros(n_out)
    a_in = np.zeros(nl)
    dummy3 = np.zeros((0, nz, n_neur))
    dummy2 = np.zeros((0, n_neur))
    n_ck = ck_z.shape[0]
    for c in range(n_ck - 1, -1, -1):
        lo = c * C
        hi = min(N, lo + C)
        z[:] = ck_z[c]
        if wraps:
            ring[:] = ck_ring[c]
        U[:] = ck_U[c]
        tail[:] = ck_tail[c]
        until[:] = ck_until[c]
        run_range(lo, hi, code, ints, nz, P, frac, l1, newton, reset, hard, sk, sp, dt,
                  alpha_slot, thr_slot, th, Ic, It, r_slot, ref,
                  W, coef, dcoef, lam, beta, mu, gam, ha, dha, group,
                  z, ring, U, tail, leave, val, grd, xs, until,
                  widths, False, aparams, dummy3, dummy2, False,
                  C, ck_z, ck_ring, ck_U, ck_tail, ck_until, False, wraps,
                  seg_z, seg_H, seg_dHa, seg_held, True, need_alpha)
        for n in range(hi - 1, lo - 1, -1):
            for i in range(n_neur):
                g = group[i]
                d, cur = drive(i, n, th, Ic, It, r_slot)
                load(val, grd, nl, nz, P, seg_z[n - lo], i, seg_H[n - lo, i], th, d)
                step(code, ints, val, grd, nz, P, frac, l1, newton, reset, hard, sk, sp,
                     widths[n], dt, ha[g], dha[g], coef[g, 0], dcoef[g, 0], alpha_slot,
                     thr_slot, seg_held[n - lo, i])
                aq = 0.0
                if frac:
                    for k in range(1, min(W, N - 1 - n) + 1):
                        aq += coef[g, k] * aH[i, (n + k) % Wp]
                    for j in range(K):
                        aq += beta[g, j] * V[j, i]
                for m in range(nz):
                    ao[m] = az[m, i]
                ao[nz] = aq
                ao[nz + 1] = gs_rec[n, i]
                ao[nz + 2] = 0.0
                for k in range(nl):
                    acc = 0.0
                    for o in range(n_out):
                        acc += ao[o] * grd[OUT + o, k]
                    a_in[k] = acc
                for m in range(nz):
                    az[m, i] = a_in[m] + gz_rec[n, m, i]
                a_h = a_in[nz]
                for p in range(P):
                    gth[p, i] += a_in[nz + 1 + p]
                a_d = a_in[nz + P + 1]
                gth[r_slot, i] += a_d * cur
                gth[P, i] += a_d * th[r_slot, i]
                if gW.shape[0] > 0:
                    g_in = a_d * th[r_slot, i]
                    for m in range(gW.shape[0]):
                        gW[m, i] += u[n, m] * g_in
                if need_alpha:
                    gth[alpha_slot, i] += a_h * seg_dHa[n - lo, i]
                if frac:
                    aH[i, n % Wp] = a_h
                    ahw = aH[i, (n + W) % Wp] if n + W <= N - 1 else 0.0
                    for j in range(K):
                        V[j, i] = lam[g, j] * V[j, i] + mu[g, j] * ahw


def backward(prob: Problem, primal: Primal, gz_rec: np.ndarray, gs_rec: np.ndarray,
             need_alpha: bool, need_w_in: bool = False):
    """``dL/dθ`` per neuron (``(P + 1, n)``, row ``P``: the input current), ``dL/dz_0``
    (``(nz, n)``) and, with ``need_w_in``, ``dL/dW_in = sum_n u[n]^T g_n`` (``(M, n)``, else
    ``(0, n)``; ``g_n = R dL/dd_n``, accumulated step by step), given the loss gradients on
    the recorded arrays."""
    z, ring, U, tail, leave, val, grd = new_state(prob)
    if prob.frac and not prob.wraps:
        ring[:] = primal.ring  # FullMemory: every increment, never overwritten
    gth = np.zeros((prob.P + 1, prob.n))
    az = np.zeros((prob.nz, prob.n))
    gW = np.zeros((prob.u.shape[1] if need_w_in else 0, prob.n))
    _backward(*prob.model_args(), *prob.input_args(), *prob.memory_args(),
              z, ring, U, tail, leave, val, grd, np.zeros(prob.n),
              primal.widths, prob.adaptive_params, prob.C, primal.ck_z, primal.ck_ring,
              primal.ck_U, primal.ck_tail, primal.ck_until, prob.wraps,
              np.ascontiguousarray(gz_rec), np.ascontiguousarray(gs_rec), need_alpha, gth, az,
              np.ascontiguousarray(prob.u), gW)
    return gth, az, gW
