"""Compiled kernels of the network gradients (:mod:`fracsim.grad.network`): one step of a
population forward (:func:`_step_forward`) and backward (:func:`_step_backward`), the
replay of a checkpointed block (:func:`_replay`), spike scatter, weight gradients and the
spike adjoint over a projection's synapses, and the per-block loops of the forward pass and
of the adjoint (:func:`_forward_block`, :func:`_backward_pass`) over typed lists of the
populations' and delay groups' arrays.  Equations: the docstring of
:mod:`fracsim.grad.network`."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..engine.rng import next_exponential
from . import surrogate as S
from .model_derivatives import step as model_step
from .trajectory import load

#: reset semantics of a population (fracsim.fractional.stepper): codes for the kernels
RESET_SHIFT, RESET_JUMP, RESET_SUBTRACT = 0, 1, 2
_RESETS = {"shift": RESET_SHIFT, "jump": RESET_JUMP, "subtract": RESET_SUBTRACT}


# ------------------------------------------------------------------ Poisson inputs
@njit(cache=True)
def _poisson_events(lam, N, rng, fill, ptr, src, cnt):  # noqa: N803
    """The engine's Poisson events (:mod:`fracsim.engine.codegen`: the same draws from the
    same stream ``rng``, advanced in place): pooled source ``m`` (``lam[m]`` events per
    step) has its first event at an exponential time, then exponential intervals; the
    events in ``[n, n + 1)`` arrive at the start of step ``n``.  Returns the number of
    (step, source) pairs with events; with ``fill``, writes them as CSR by step (``ptr``
    ``(N + 1,)``, ``src`` the source, ``cnt`` its number of events in that step)."""
    M = lam.shape[0]  # noqa: N806
    nxt = np.empty(M)
    for m in range(M):
        nxt[m] = next_exponential(rng) / lam[m] if lam[m] > 0 else 1e300
    e = 0
    for n in range(N):
        if fill:
            ptr[n] = e
        for m in range(M):
            t = nxt[m]
            if t < n + 1:
                c = 0
                while t < n + 1:
                    c += 1
                    t += next_exponential(rng) / lam[m]
                nxt[m] = t
                if fill:
                    src[e] = m
                    cnt[e] = c
                e += 1
    if fill:
        ptr[N] = e
    return e


@njit(inline="always", cache=True)
def _poisson_arrive(n, p_ptr, p_idx, p_row, p_val, ring, slot):
    """Population's Poisson events of step ``n`` into its arrival ring (row ``p_row``: 0
    delta, ``1 + c`` channel ``c``) at ``slot``, after the step's spikes (``p_ptr`` of
    length 1: no Poisson input)."""
    if p_ptr.shape[0] == 1:
        return
    for e in range(p_ptr[n], p_ptr[n + 1]):
        ring[p_row[e], slot, p_idx[e]] += p_val[e]


# ------------------------------------------------------------------ spike-driven kernels
@njit(cache=True)
def _scatter(active, spike, ptr, post, wsyn, out):
    """``out[post[s]] += wsyn[s] spike[j]`` for the synapses ``s`` of the active sources
    ``j`` (``spike`` 1 for a hard spike, ``sigma(x)`` in the relaxed model)."""
    for a in range(active.shape[0]):
        j = active[a]
        sj = spike[j]
        for s in range(ptr[j], ptr[j + 1]):
            out[post[s]] += wsyn[s] * sj


@njit(cache=True)
def _weight_grad(active, spike, ptr, post, widx, a_arr, gw):
    """``gw[widx[s]] += spike[j] a_arr[post[s]]`` for the synapses of the active sources
    (``widx`` empty: the identity)."""
    ident = widx.shape[0] == 0
    for a in range(active.shape[0]):
        j = active[a]
        sj = spike[j]
        for s in range(ptr[j], ptr[j + 1]):
            gw[s if ident else widx[s]] += sj * a_arr[post[s]]


@njit(cache=True)
def _relaxed(kind, x, w):
    """The smooth step ``sigma(x)`` of the fixed-width surrogate ``kind`` (as its NumPy
    ``relaxed``)."""
    z = x / w
    if kind == S.KIND_SIGMOID:
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
    if kind == S.KIND_ARCTAN:
        return 0.5 + math.atan(z) / math.pi
    if kind == S.KIND_TRIANGLE:
        zc = min(max(z, -1.0), 1.0)
        return 0.5 * (1.0 + zc) ** 2 if zc <= 0.0 else 1.0 - 0.5 * (1.0 - zc) ** 2
    if kind == S.KIND_GAUSSIAN:
        return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    return min(max(z + 0.5, 0.0), 1.0)  # rectangle


@njit(inline="always", cache=True)
def _after_reset(reset, relaxed, vp, sv, v_th, v_reset):
    """``v_{n+1}`` from ``v'`` and the spike value ``sv`` (the engine's resets)."""
    if reset == RESET_SUBTRACT:
        return vp - sv * (v_th - v_reset)
    if relaxed:
        return vp - sv * (vp - v_reset)
    return v_reset if sv > 0.0 else vp


@njit(cache=True)
def _step_forward(frac, v, d, far_row, coef, q, n, qn, b, ha, theta, tau, v_rest, v_th,
                  v_reset, decay, relaxed, sk, sp, s_out, h_out, until, ref, reset, vp_out):
    """One step of a population (see the module docstring): ``v`` (v_n^+ in, v_{n+1} out),
    ``s_out`` the spikes, ``vp_out`` the pre-reset ``v'``; fractional: ``h_out = H_n`` (the
    far sums ``far_row`` plus the block's own ``b`` lags) and ``q_n`` (row ``qn`` of ``q``: a
    full memory keeps every step's row, ``qn = n``; an SOE population a window of rows).
    Refractory neurons (``until[i] > n``) are held: ``v' = v_reset`` (integer order) or
    ``v' = v_n^+`` (fractional, ``q_n = 0``), no spike; a threshold crossing starts
    ``ref[i]`` held steps."""
    size = v.shape[0]
    if frac:
        for i in range(size):
            h_out[i] = far_row[i]
        for kk in range(1, b + 1):
            c = coef[kk]
            for i in range(size):
                h_out[i] += c * q[qn - kk, i]
    for i in range(size):
        vk = v[i]
        if until[i] > n:
            if frac:
                q[qn, i] = 0.0
            else:
                v[i] = v_reset[i]
            s_out[i] = 0.0
            vp_out[i] = vk
            continue
        if frac:
            kap = 1.0 / tau[i]
            dv = (ha * kap * (v_rest[i] - vk + d[i]) - h_out[i]) / (coef[0] + theta * ha * kap)
            vp = vk + dv
        else:
            v_inf = v_rest[i] + d[i]
            vp = v_inf + (vk - v_inf) * decay[i]
        x = vp - v_th[i]
        if x >= 0.0 and ref[i] > 0:
            until[i] = n + 1 + ref[i]
        sv = _relaxed(sk, x, sp[0]) if relaxed else (1.0 if x >= 0.0 else 0.0)
        vn = _after_reset(reset, relaxed, vp, sv, v_th[i], v_reset[i])
        if frac:  # shift: the continuous increment up to threshold; jump/subtract: all of it
            if reset == RESET_SHIFT:
                q[qn, i] = (vp - vk) - sv * x if relaxed or sv == 0.0 else v_th[i] - vk
            else:
                q[qn, i] = vn - vk
        v[i] = vn
        s_out[i] = sv
        vp_out[i] = vp


@njit(inline="always", cache=True)
def _drive(G, chan_decay, iconst, icol, itime, r, timed, out):
    """A step's drive ``out = I_const (+ itime[r, icol]) + sum_c G_c`` (the channels after
    the step's arrivals), then the channels' decay ``G_c *= chan_decay_c``: one function for
    the forward pass and the adjoint's replay, so that both give the same bits."""
    nc = G.shape[0]
    for i in range(out.shape[0]):
        dd = iconst[i]
        if timed:
            dd += itime[r, icol[i]]
        if nc:
            g = G[0, i]
            for c in range(1, nc):
                g += G[c, i]
            dd += g
        out[i] = dd
    for c in range(nc):
        cd = chan_decay[c]
        for i in range(out.shape[0]):
            G[c, i] *= cd


@njit(inline="always", cache=True)
def _arrive(v, G, delta, chan):  # noqa: N803
    """A step's arrivals from the replayed buffers: ``v += delta``, ``G += chan``."""
    for i in range(v.shape[0]):
        v[i] += delta[i]
    for c in range(G.shape[0]):
        for i in range(v.shape[0]):
            G[c, i] += chan[c, i]


@njit(inline="always", cache=True)
def _soe_tail(U, beta, out):  # noqa: N803
    """The exponential tail of the history, ``out = beta . U`` per neuron."""
    for i in range(out.shape[0]):
        acc = 0.0
        for j in range(U.shape[0]):
            acc += beta[j] * U[j, i]
        out[i] = acc


@njit(inline="always", cache=True)
def _soe_advance(U, lam, mu, q, row):  # noqa: N803
    """The tail states after a step, ``U_j <- lam_j U_j + lam_j^(W+1) q_{n-W}`` (the
    increment leaving the exact window: row ``row`` of ``q``)."""
    for j in range(U.shape[0]):
        lj = lam[j]
        mj = mu[j]
        for i in range(U.shape[1]):
            U[j, i] = U[j, i] * lj + mj * q[row, i]


@njit(cache=True)
def _replay(frac, m0, m1, v, G, until, chan_decay, arr_delta, arr_chan, iconst, icol, itime,
            q, qo, ev_ptr, ev_idx, ev_s, ev_vp, tau, v_rest, v_th, v_reset, decay, relaxed, sk, sp,
            ref, reset, vk_out, d_out, vp_out, held_out, sg_out, srow, vprow):
    """Steps ``m0 .. m1-1`` of a population again, from its checkpoint (``v``, channels
    ``G``, ``until`` at the start of step ``m0``; updated in place): the block's arrivals
    ``arr_delta`` (rows = steps), ``arr_chan`` (step, channel, neuron) and currents
    (``itime``: the block's rows) give the drive exactly as :func:`_step_forward`; an
    integer-order population steps again, a fractional one takes ``v' = v_n^+ + q_n``
    where no spike was sent (``q_n``, row ``n - qo`` of ``q``, is that increment) and the
    stored ``v'`` of its
    spikes (events ``ev_*``, CSR by step), so no history sum is needed.  Writes ``v_n^+``,
    ``d_n``, ``v'_n``, the held flags and the surrogate derivative ``sigma'(v'_n - v_th)``
    (fixed-width ``sk``) per step."""
    size = v.shape[0]
    timed = itime.shape[1] > 0
    w = sp[0]
    for n in range(m0, m1):
        r = n - m0
        _arrive(v, G, arr_delta[r], arr_chan[r])
        _drive(G, chan_decay, iconst, icol, itime, r, timed, d_out[r])
        for e in range(ev_ptr[r], ev_ptr[r + 1]):
            srow[ev_idx[e]] = ev_s[e]
            vprow[ev_idx[e]] = ev_vp[e]
        for i in range(size):
            vk = v[i]
            vk_out[r, i] = vk
            hd = until[i] > n
            held_out[r, i] = hd
            if hd:
                if not frac:
                    v[i] = v_reset[i]
                vp_out[r, i] = vk
                sg_out[r, i] = S.surrogate_grad(sk, sp, vk - v_th[i], w)
                continue
            if frac:
                vp = vprow[i] if srow[i] != 0.0 else vk + q[n - qo, i]
            else:
                v_inf = v_rest[i] + d_out[r, i]
                vp = v_inf + (vk - v_inf) * decay[i]
            x = vp - v_th[i]
            if x >= 0.0 and ref[i] > 0:
                until[i] = n + 1 + ref[i]
            sv = _relaxed(sk, x, w) if relaxed else (1.0 if x >= 0.0 else 0.0)
            v[i] = _after_reset(reset, relaxed, vp, sv, v_th[i], v_reset[i])
            vp_out[r, i] = vp
            sg_out[r, i] = S.surrogate_grad(sk, sp, x, w)
        for e in range(ev_ptr[r], ev_ptr[r + 1]):
            srow[ev_idx[e]] = 0.0


@njit(cache=True)
def _soe_reforward(m0, m1, v, G, until, chan_decay, arr_delta, arr_chan, iconst, icol, itime,
                   q, qo, U, beta, lam, mu, W, coef, ha, theta, tau, v_rest, v_th, v_reset,
                   decay, relaxed, sk, sp, ref, reset, d_row, h_row, s_row, vp_row):  # noqa: N803
    """Steps ``m0 .. m1-1`` of an SOE population again, from its state at step ``m0``
    (``v``, channels ``G``, ``until``, tail states ``U`` and the window of increments
    ``q_{m0-W} .. q_{m0-1}`` in rows ``m0-W-qo ..``; all updated in place): the block's
    arrivals and currents as :func:`_replay`, then the history and the step exactly as
    :func:`_forward_block` (same operations, same bits), writing ``q_n`` into row
    ``n - qo``.  The adjoint regenerates a segment's increments so (O(K) per step) instead
    of keeping every step's."""
    timed = itime.shape[1] > 0
    for n in range(m0, m1):
        r = n - m0
        _arrive(v, G, arr_delta[r], arr_chan[r])
        _drive(G, chan_decay, iconst, icol, itime, r, timed, d_row)
        _soe_tail(U, beta, h_row)
        _step_forward(True, v, d_row, h_row, coef, q, n, n - qo, min(n, W), ha, theta, tau,
                      v_rest, v_th, v_reset, decay, relaxed, sk, sp, s_row, h_row, until, ref,
                      reset, vp_row)
        if n >= W:
            _soe_advance(U, lam, mu, q, n - W - qo)


@njit(cache=True)
def _step_backward(frac, vk, d, vpr, sgr, a_v, a_s, gv, far_c, qa, n, qo, m1, coef, dcoef,
                   ha, theta, kap, inv_den, v_rest, v_th, v_reset, decay, tau, dt, relaxed, sk,
                   sp, a_d, g_tau, a_q, b_q, held, reset):
    """Adjoint of one step of a population from its replayed ``v_n^+`` (``vk``), drive
    ``d``, ``v'`` (``vpr``) and surrogate derivative ``sigma'(v' - v_th)`` (``sgr``, from the
    replay): ``a_v`` (adjoint of v_{n+1} in, of v_n^+ out, with the loss's
    ``gv``), ``a_d`` the drive's adjoint and the per-neuron ``g_tau``.  Fractional: ``qa``
    holds ``q_m`` for ``m <= n`` and ``a^H_m`` for ``m > n`` (step ``m`` in row ``m - qo``);
    the step reads ``q_n`` and writes ``a^H_n`` in its place.
    ``a^q_n = far_c + sum_{m=n+1}^{m1-1} c_{m-n} a^H_m``, likewise ``b_n`` with
    ``dc/dalpha`` over the same lags (the far lags' order term is summed by the caller),
    and the step returns
    ``(dL/dh^a, dL/dc_0, <q_n, b_n>)``: the last sums to the order's history term
    ``sum_{m>n} dc_{m-n} <a^H_m, q_n>``.  ``kap = 1/tau``, ``inv_den = 1 / (c_0 + theta h^a
    kap)`` per neuron.  A held neuron passes nothing on (integer order: ``v_{n+1} =
    v_reset``) or its ``a_v`` unchanged (fractional: ``v_{n+1} = v_n^+``)."""
    size = vk.shape[0]
    g_ha = 0.0
    g_c0 = 0.0
    g_corr = 0.0
    w = sp[0]
    if frac:
        for i in range(size):
            a_q[i] = far_c[i]
            b_q[i] = 0.0
        for m in range(n + 1, m1):
            c = coef[m - n]
            e = dcoef[m - n]
            for i in range(size):
                ah = qa[m - qo, i]
                a_q[i] += c * ah
                b_q[i] += e * ah
        for i in range(size):
            g_corr += qa[n - qo, i] * b_q[i]
            if held[i]:
                a_d[i] = 0.0
                qa[n - qo, i] = 0.0
                a_v[i] += gv[i]
                continue
            rhs = v_rest[i] - vk[i] + d[i]
            vp = vpr[i]
            dv = vp - vk[i]
            x = vp - v_th[i]
            sv = _relaxed(sk, x, w) if relaxed else (1.0 if x >= 0.0 else 0.0)
            sig = sgr[i]
            aq = a_q[i]
            if reset == RESET_SHIFT:
                a_vp = (a_v[i] * (1.0 - sv - sig * (vp - v_reset[i])) + a_s[i] * sig
                        + aq * (1.0 - sv - sig * x))
            elif reset == RESET_JUMP:  # q_n = v_{n+1} - v_n^+
                a_vp = (a_v[i] + aq) * (1.0 - sv - sig * (vp - v_reset[i])) + a_s[i] * sig
            else:  # subtract: v_{n+1} = v' - s (v_th - v_reset), q_n = v_{n+1} - v_n^+
                a_vp = (a_v[i] + aq) * (1.0 - sig * (v_th[i] - v_reset[i])) + a_s[i] * sig
            a_dv = a_vp * inv_den[i]
            a_v[i] = a_vp - a_dv * ha * kap[i] - aq + gv[i]
            a_d[i] = a_dv * ha * kap[i]
            qa[n - qo, i] = -a_dv
            r = rhs - theta * dv
            g_tau[i] -= a_dv * ha * r * kap[i] * kap[i]
            g_ha += a_dv * kap[i] * r
            g_c0 -= a_dv * dv
        return g_ha, g_c0, g_corr
    for i in range(size):
        if held[i]:
            a_d[i] = 0.0
            a_v[i] = gv[i]
            continue
        v_inf = v_rest[i] + d[i]
        e = decay[i]
        vp = vpr[i]
        x = vp - v_th[i]
        sv = _relaxed(sk, x, w) if relaxed else (1.0 if x >= 0.0 else 0.0)
        sig = sgr[i]
        if reset == RESET_SUBTRACT:
            a_vp = a_v[i] * (1.0 - sig * (v_th[i] - v_reset[i])) + a_s[i] * sig
        else:
            a_vp = a_v[i] * (1.0 - sv - sig * (vp - v_reset[i])) + a_s[i] * sig
        a_d[i] = a_vp * (1.0 - e)
        g_tau[i] += a_vp * (vk[i] - v_inf) * e * dt / (tau[i] * tau[i])
        a_v[i] = a_vp * e + gv[i]
    return g_ha, g_c0, g_corr


@njit(fastmath={"reassoc", "contract"}, cache=True)
def _spike_adjoint(ptr, post, w, a_arr, out):
    """``out[j] += sum_s w[s] a_arr[post[s]]`` over the synapses ``s`` of each source ``j``
    (CSR by source, unsigned indices; the sum may be reassociated: vectorised)."""
    for j in range(ptr.shape[0] - 1):
        acc = 0.0
        for s in range(ptr[j], ptr[j + 1]):
            acc += w[s] * a_arr[post[s]]
        out[j] += acc


@njit(fastmath={"reassoc", "contract"}, cache=True)
def _spike_adjoint_block(ptr, post, w, a_blk, r0, r1, shift, ring):
    """The spike adjoints of a block's steps at once: ``ring[(r + shift) % D, j] +=
    sum_s w[s] a_blk[post[s], r]`` for ``r0 <= r < r1`` and every source ``j`` (``a_blk``:
    ``(targets, rows)``, the targets' adjoint per step of the block).  The sum over the
    synapses runs along whole rows of ``a_blk`` into a buffer of its own (one per block:
    no aliasing, vectorised)."""
    depth = ring.shape[0]
    acc = np.empty(a_blk.shape[1])
    for j in range(ptr.shape[0] - 1):
        acc[:] = 0.0
        for s in range(ptr[j], ptr[j + 1]):
            ws = w[s]
            row = a_blk[post[s]]
            for r in range(acc.shape[0]):
                acc[r] += ws * row[r]
        for r in range(r0, r1):
            ring[(r + shift) % depth, j] += acc[r]


@njit(cache=True)
def _backward_pass(m0, m1, N, relaxed, theta, sk, sp, dt,  # noqa: N803
                   frac, soe, W, ha, reset, gv_kind, gs_kind, qoff,  # noqa: N803
                   vk, dd, vpb, sgb, held, a_v, a_s_ring, a_G, chan_decay, gv, gs, qa, coef,
                   dcoef, far, V, beta, lam, mu, soe_acc, v_rest, v_th, v_reset,
                   tau, kap, inv_den, decay, g_tau, a_d, a_q, b_q, fc, zero, g_pop,
                   g_dst, g_src, g_srcpop, g_target, g_delay, g_wi, g_ptr, g_post, g_w,
                   g_widx, act_ptr, act_idx, spk, g_wout, pops, in_pass, batched, g_blk,
                   gpi, gpf, zb, Hs, hoff, th, gints, gval, ggrd, a_z, a_out, gth):
    """The adjoint of steps ``m1-1 .. m0`` of the populations ``pops`` (in that order;
    the lists are indexed by the populations that need an adjoint, in creation order;
    ``g_pop`` collects ``(dL/dh^a, dL/dc_0, history term)`` per population) and of the
    arrivals into them (``in_pass``) of each delay group ``g_*``: the weights' gradients
    and the spike adjoints of the sources, as the module docstring.

    One pass of every population interleaves them step by step, spike adjoints included.
    Populations may also go one per pass, targets before sources, when no adjoint flows
    back within a block (``batched``): a delay group whose source has an adjoint then
    stores its targets' adjoint per step in ``g_blk[gi]`` ``(targets, rows)``, and the
    caller adds the block's spike adjoints at once (:func:`_spike_adjoint_block`).  The
    spike adjoint ring of a population (``a_s_ring``, indexed by step modulo its depth)
    holds a block's steps and the delays beyond.  A population of another model
    (``gpi[d, 7]``, as :func:`_forward_block`) steps back by :func:`_gp_step_backward`
    from its replayed states ``zb[d]`` and histories ``Hs[d]`` (step ``n`` in row
    ``n - hoff[d]``; ``a_v[d]`` is row 0 of its state adjoint
    ``a_z[d]``; parameter gradients into ``gth[d]``)."""
    depth = a_s_ring[0].shape[0]
    for n in range(m1 - 1, m0 - 1, -1):
        r = n - m0
        slot = n % depth
        for d in pops:
            a_s = a_s_ring[d][slot]
            if gs_kind[d]:
                a_s += gs[d][n]
            q2 = qa[d]
            if frac[d] and soe[d]:  # a^q_n = sum_{k<=W} c_k a^H_{n+k} + beta . V[n]
                end = min(n + W[d] + 1, N)
                Vd = V[d]  # noqa: N806
                K = Vd.shape[0]  # noqa: N806
                bd = beta[d]
                fcd = fc[d]
                for i in range(Vd.shape[1]):
                    acc = 0.0
                    for j in range(K):
                        acc += bd[j] * Vd[j, i]
                    fcd[i] = acc
                sa = soe_acc[d]
                for j in range(K):  # sum_m <q_m, V_j[m]>: the gamma term
                    acc = 0.0
                    for i in range(Vd.shape[1]):
                        acc += Vd[j, i] * q2[n - qoff[d], i]
                    sa[j] += acc
                frow = fc[d]
            elif frac[d]:  # far[d]: the block's far rows of a^q (the far lags' order
                end = m1  # term is FarSums', added to g_pop by the caller)
                frow = far[d][r]
            else:
                end = 0
                frow = zero[d]
            if gv_kind[d] == 1:
                gvrow = gv[d][n]
            elif gv_kind[d] == 2:
                gvrow = gv[d][r]
            else:
                gvrow = zero[d]
            if gpi[d, 7]:
                gh = gc = 0.0
                hrow = Hs[d][n - hoff[d]] if frac[d] else zero[d]
                gq = _gp_step_backward(
                    zb[d][r], dd[d][r], hrow, a_z[d], a_s, gvrow,
                    frow, q2, n, qoff[d], end, coef[d], dcoef[d], th[d], gpi[d, 0], gints[d],
                    gpi[d, 1], gpi[d, 2], frac[d], theta > 0.0, gpi[d, 3], gpi[d, 4],
                    not relaxed, sk, sp, dt, ha[d], gpf[d, 0], gpf[d, 1], gpf[d, 2], gpi[d, 5],
                    gpi[d, 6], gval[d], ggrd[d], a_out[d], gth[d], a_d[d], a_q[d], b_q[d],
                    held[d][r])
            else:
                gh, gc, gq = _step_backward(
                    frac[d], vk[d][r], dd[d][r], vpb[d][r], sgb[d][r], a_v[d], a_s, gvrow,
                    frow, q2, n, qoff[d], end, coef[d], dcoef[d], ha[d], theta, kap[d],
                    inv_den[d], v_rest[d], v_th[d], v_reset[d], decay[d], tau[d], dt, relaxed,
                    sk, sp, a_d[d], g_tau[d], a_q[d], b_q[d], held[d][r], reset[d])
            a_s[:] = 0.0
            if frac[d] and soe[d]:  # V_j[n-1] = lam_j V_j[n] + lam_j^(W+1) a^H_{n+W}
                Vd = V[d]  # noqa: N806
                for j in range(Vd.shape[0]):
                    lj = lam[d][j]
                    for i in range(Vd.shape[1]):
                        Vd[j, i] *= lj
                if n + W[d] < N:
                    for j in range(Vd.shape[0]):
                        mj = mu[d][j]
                        for i in range(Vd.shape[1]):
                            Vd[j, i] += mj * q2[n + W[d] - qoff[d], i]
            if frac[d]:
                g_pop[d, 0] += gh
                g_pop[d, 1] += gc
                g_pop[d, 2] += gq
            aG = a_G[d]  # noqa: N806
            ad = a_d[d]
            for c in range(aG.shape[0]):
                cd = chan_decay[d][c]
                for i in range(aG.shape[1]):
                    aG[c, i] = aG[c, i] * cd + ad[i]
        # arrivals of step n: credit their weights and the spikes that caused them
        for gi in range(g_dst.shape[0]):
            m = n - 1 - g_delay[gi]
            d = g_dst[gi]
            if m < 0 or not in_pass[d]:
                continue
            a_A = a_v[d] if g_target[gi] < 0 else a_G[d][g_target[gi]]  # noqa: N806
            wi = g_wi[gi]
            if wi >= 0:
                sp_pop = g_srcpop[gi]
                lo, hi = act_ptr[sp_pop][m], act_ptr[sp_pop][m + 1]
                if hi > lo:
                    _weight_grad(act_idx[sp_pop][lo:hi],
                                 spk[sp_pop][m] if relaxed else spk[sp_pop][0], g_ptr[gi],
                                 g_post[gi], g_widx[gi], a_A, g_wout[wi])
            if g_src[gi] < 0:
                continue
            if batched:  # a^A_post[n], for the pass' spike adjoints
                blk = g_blk[gi]
                for i in range(a_A.shape[0]):
                    blk[i, r] = a_A[i]
            else:  # a^s_pre[m] += W a^A_post[n]
                _spike_adjoint(g_ptr[gi], g_post[gi], g_w[gi], a_A,
                               a_s_ring[g_src[gi]][m % depth])


@njit(cache=True)
def _forward_block(m0, m1, nb, depth, relaxed, theta, sk, sp, frac, soe, W, ha, reset,  # noqa: N803
                   qoff, rec_v_on, rec_s_on, timed, ks, v, G, until, ring, chan_decay, iconst,
                   icol, rows, coef, q, far, U, beta, lam, mu, tau, v_rest, v_th, v_reset,
                   decay, ref, rec_v, rec_s, vblk, d_row, h_row, s_row, vp_row, ev_ptr,
                   ev_idx, ev_vp, g_srcpop, g_dst, g_target, g_delay, g_ptr, g_post, g_w,
                   dt, gpi, gpf, z, th, gints, gval, ggrd, Hs, p_ptr, p_idx, p_row, p_val):
    """Steps ``m0 .. m1-1`` of every population (lists in creation order): arrivals
    from the rings (``ring[k][0]`` delta, ``[1 + c]`` channel ``c``), drive, the step
    (:func:`_step_forward`; far history rows ``far[k]`` of the block, or the SOE tail),
    recording, the spikes as events per step (``ev_*``: CSR over the block's steps, with
    ``v'``) and their scatter into the targets' rings through the delay groups ``g_*``:
    the per-step loop of :func:`forward`, compiled.  A population of another model
    (``gpi[k, 7]``; ``v[k]`` is row 0 of its state ``z[k]``) steps by :func:`_gp_step`
    (``gpi``: code, nz, P, Newton steps, reset, alpha and threshold slots; ``gpf``:
    ``dh^a/dalpha``, ``c_0``, ``dc_0/dalpha``), its histories stored in ``Hs[k]`` (if
    that has a row per step).  Poisson inputs: events ``p_*`` (CSR by step, per
    population) added to the rings before the step's arrivals are read."""
    P = len(v)  # noqa: N806
    no_flags = np.zeros(0, dtype=np.bool_)
    for n in range(m0, m1):
        r = n - m0
        slot = n % depth
        for k in range(P):
            rk = ring[k]
            vk = v[k]
            Gk = G[k]  # noqa: N806
            _poisson_arrive(n, p_ptr[k], p_idx[k], p_row[k], p_val[k], rk, slot)
            for i in range(vk.shape[0]):
                vk[i] += rk[0, slot, i]
                rk[0, slot, i] = 0.0
            for c in range(Gk.shape[0]):
                for i in range(vk.shape[0]):
                    Gk[c, i] += rk[1 + c, slot, i]
                    rk[1 + c, slot, i] = 0.0
            if rec_v_on[k]:
                rec_v[k][n] = vk
            if k == ks:
                vblk[r] = vk
        for k in range(P):
            vk = v[k]
            Gk = G[k]  # noqa: N806
            dk = d_row[k]
            _drive(Gk, chan_decay[k], iconst[k], icol[k], rows[k], r, timed[k], dk)
            hk = h_row[k]
            if frac[k] and soe[k]:  # exact window of W lags + the exponential tail beta . U
                b = min(n, W[k])
                _soe_tail(U[k], beta[k], hk)
                frow = hk
            elif frac[k]:
                b = n % nb
                frow = far[k][r]
            else:
                b = 0
                frow = hk
            if gpi[k, 7]:
                _gp_history(frac[k], frow, coef[k], q[k], n - qoff[k], b, hk)
                if frac[k] and Hs[k].shape[0] > 1:
                    Hs[k][n] = hk
                _gp_step(z[k], dk, hk, th[k], gpi[k, 0], gints[k], gpi[k, 1], gpi[k, 2],
                         frac[k], theta > 0.0, gpi[k, 3], gpi[k, 4], not relaxed, sk, sp, dt,
                         ha[k], gpf[k, 0], gpf[k, 1], gpf[k, 2], gpi[k, 5], gpi[k, 6],
                         gval[k], ggrd[k], q[k], n - qoff[k], s_row[k], vp_row[k], n,
                         until[k], ref[k], no_flags)
            else:
                _step_forward(frac[k], vk, dk, frow, coef[k], q[k], n, n - qoff[k], b, ha[k],
                              theta, tau[k], v_rest[k], v_th[k], v_reset[k], decay[k], relaxed,
                              sk, sp, s_row[k], hk, until[k], ref[k], reset[k], vp_row[k])
            if frac[k] and soe[k] and n >= W[k]:
                _soe_advance(U[k], lam[k], mu[k], q[k], n - W[k] - qoff[k])
            sk_row = s_row[k]
            if rec_s_on[k]:
                rec_s[k][n] = sk_row
            ep = ev_ptr[k]
            ei = ev_idx[k]
            ev = ev_vp[k]
            vpk = vp_row[k]
            cnt = ep[r]
            for i in range(vk.shape[0]):
                if sk_row[i] != 0.0:
                    ei[cnt] = i
                    ev[cnt] = vpk[i]
                    cnt += 1
            ep[r + 1] = cnt
            if cnt > ep[r]:
                act = ei[ep[r]:cnt]
                for gi in range(g_srcpop.shape[0]):
                    if g_srcpop[gi] != k:
                        continue
                    _scatter(act, sk_row, g_ptr[gi], g_post[gi], g_w[gi],
                             ring[g_dst[gi]][1 + g_target[gi], (n + 1 + g_delay[gi]) % depth])


# ------------------------------------------------- populations of the other models (generic)
@njit(cache=True)
def _gp_history(frac, far_row, coef, q, qn, b, h_out):
    """``H_n = far_row + sum_{k=1}^{b} c_k q_{n-k}`` into ``h_out`` (as :func:`_step_forward`)."""
    if not frac:
        h_out[:] = 0.0
        return
    for i in range(h_out.shape[0]):
        h_out[i] = far_row[i]
    for kk in range(1, b + 1):
        c = coef[kk]
        for i in range(h_out.shape[0]):
            h_out[i] += c * q[qn - kk, i]


@njit(cache=True)
def _gp_step(z, d, H, th, code, ints, nz, P, frac, l1, newton, reset, hard, sk, sp, dt,  # noqa: N803
             ha, dha, c0, dc0, alpha_slot, thr_slot, val, grd, q, qn, s_out, vp_out, n, until,
             ref, held_out):
    """One step ``n`` of a population of another model (:mod:`.model_derivatives`, the
    differentiable step of one-population gradients, value part): ``z`` (state ``(nz, n)``,
    ``v`` first, arrivals added) in, ``z_{n+1}`` out; the drive ``d``, the history ``H``
    (fractional), parameters ``th`` ``(P, n)``; writes the spikes, ``v'`` and (fractional)
    ``q_n`` into row ``qn`` of ``q``.  Neurons with ``until[i] > n`` are held (the engine's
    refractory hold, flags into ``held_out`` if it has a row); a threshold crossing starts
    ``ref[i]`` held steps."""
    nl = nz + P + 2
    out = nl
    flags = held_out.shape[0] > 0
    for i in range(z.shape[1]):
        hd = until[i] > n
        if flags:
            held_out[i] = hd
        load(val, grd, nl, nz, P, z, i, H[i], th, d[i])
        model_step(code, ints, val, grd, nz, P, frac, l1, newton, reset, hard, sk, sp, sp[0],
                   dt, ha, dha, c0, dc0, alpha_slot, thr_slot, hd)
        x = val[out + nz + 2]
        if x >= 0.0 and ref[i] > 0:
            until[i] = n + 1 + ref[i]
        vp_out[i] = x + th[thr_slot, i]
        for m in range(nz):
            z[m, i] = val[out + m]
        s_out[i] = val[out + nz + 1]
        if frac:
            q[qn, i] = val[out + nz]


@njit(cache=True)
def _gp_replay(m0, m1, z, G, until, chan_decay, arr_delta, arr_chan, iconst, icol, itime,  # noqa: N803
               Hs, ho, th, code, ints, nz, P, frac, l1, newton, reset, hard, sk, sp, dt, ha,
               dha, c0, dc0, alpha_slot, thr_slot, val, grd, zb, dd, srow, vprow, q, qo, ref,
               held_out):
    """Steps ``m0 .. m1-1`` of a generic population again from its checkpoint ``z``, ``G``,
    ``until`` (updated in place), with the block's arrivals and the stored histories
    (``H_n`` in row ``n - ho`` of ``Hs``): writes the state after the arrivals ``zb[r]``
    (``(nz, n)``), the drive ``dd[r]``, the held flags ``held_out[r]`` and (fractional)
    the increment ``q_n`` into row ``n - qo`` of ``q`` (``qo >= m1``: into row 0 of a
    scratch ``q``, the increments not kept)."""
    timed = itime.shape[1] > 0
    for n in range(m0, m1):
        r = n - m0
        _arrive(z[0], G, arr_delta[r], arr_chan[r])
        _drive(G, chan_decay, iconst, icol, itime, r, timed, dd[r])
        zb[r] = z
        hrow = Hs[n - ho] if frac else dd[r]
        _gp_step(z, dd[r], hrow, th, code, ints, nz, P, frac, l1, newton,
                 reset, hard, sk, sp, dt, ha, dha, c0, dc0, alpha_slot, thr_slot, val, grd,
                 q, max(n - qo, 0), srow, vprow, n, until, ref, held_out[r])


@njit(cache=True)
def _gp_soe_reforward(m0, m1, z, G, until, chan_decay, arr_delta, arr_chan, iconst, icol,  # noqa: N803
                      itime, Hs, ho, q, qo, U, beta, lam, mu, W, coef, th, code, ints, nz, P,
                      l1, newton, reset, hard, sk, sp, dt, ha, dha, c0, dc0, alpha_slot,
                      thr_slot, val, grd, ref, d_row, s_row, vp_row):  # noqa: N803
    """Steps ``m0 .. m1-1`` of a generic SOE population again from its state at step
    ``m0`` (``z``, ``G``, ``until``, tail states ``U``, the window of increments in rows
    ``m0 - W - qo ..`` of ``q``; all updated in place), as :func:`_forward_block` (same
    operations, same bits): writes ``H_n`` into row ``n - ho`` of ``Hs`` and ``q_n`` into
    row ``n - qo`` of ``q``, as :func:`_soe_reforward` for LIF."""
    timed = itime.shape[1] > 0
    no_flags = np.zeros(0, dtype=np.bool_)
    for n in range(m0, m1):
        r = n - m0
        _arrive(z[0], G, arr_delta[r], arr_chan[r])
        _drive(G, chan_decay, iconst, icol, itime, r, timed, d_row)
        hk = Hs[n - ho]
        _soe_tail(U, beta, hk)
        _gp_history(True, hk, coef, q, n - qo, min(n, W), hk)
        _gp_step(z, d_row, hk, th, code, ints, nz, P, True, l1, newton, reset, hard, sk, sp,
                 dt, ha, dha, c0, dc0, alpha_slot, thr_slot, val, grd, q, n - qo, s_row,
                 vp_row, n, until, ref, no_flags)
        if n >= W:
            _soe_advance(U, lam, mu, q, n - W - qo)


@njit(cache=True)
def _gp_step_backward(zn, d, Hrow, a_z, a_s, gv, far_c, qa, n, qo, m1, coef, dcoef, th,  # noqa: N803
                      code, ints, nz, P, frac, l1, newton, reset, hard, sk, sp, dt, ha, dha,
                      c0, dc0, alpha_slot, thr_slot, val, grd, a_out, gth, a_d, a_q, b_q,
                      held):
    """Adjoint of one step of a generic population from its replayed state ``zn`` (after
    the arrivals), drive ``d``, history ``Hrow`` and held flags ``held``: the step's
    Jacobian ``J`` (dual numbers) transposed onto ``(a^z_{n+1}, a^q_n, a^s_n)``: ``a_z``
    (in: of ``z_{n+1}``; out: of ``z_n^+``, with the loss's ``gv`` on ``v``), ``gth +=
    dL/dtheta`` (every parameter slot; ``alpha``'s through ``h^a`` and ``c_0``), ``a_d``
    the drive's adjoint; fractional: ``a^q_n`` and ``b_n`` as :func:`_step_backward`,
    ``a^H_n`` written over ``q_n``; returns ``<q_n, b_n>``."""
    nl = nz + P + 2
    out = nl
    n_out = nz + 3
    g_corr = 0.0
    if frac:
        for i in range(zn.shape[1]):
            a_q[i] = far_c[i]
            b_q[i] = 0.0
        for m in range(n + 1, m1):
            c = coef[m - n]
            e = dcoef[m - n]
            for i in range(zn.shape[1]):
                ah = qa[m - qo, i]
                a_q[i] += c * ah
                b_q[i] += e * ah
        for i in range(zn.shape[1]):
            g_corr += qa[n - qo, i] * b_q[i]
    for i in range(zn.shape[1]):
        load(val, grd, nl, nz, P, zn, i, Hrow[i] if frac else 0.0, th, d[i])
        model_step(code, ints, val, grd, nz, P, frac, l1, newton, reset, hard, sk, sp, sp[0],
                   dt, ha, dha, c0, dc0, alpha_slot, thr_slot, held[i])
        for m in range(nz):
            a_out[m] = a_z[m, i]
        a_out[nz] = a_q[i] if frac else 0.0
        a_out[nz + 1] = a_s[i]
        a_out[nz + 2] = 0.0
        for k in range(nl):
            acc = 0.0
            for o in range(n_out):
                acc += a_out[o] * grd[out + o, k]
            if k < nz:
                a_z[k, i] = acc
            elif k == nz:
                if frac:
                    qa[n - qo, i] = acc
            elif k < nz + 1 + P:
                gth[k - nz - 1, i] += acc
            else:
                a_d[i] = acc
        a_z[0, i] += gv[i]
    return g_corr


@njit(cache=True)
def _gp_tangent_step(z, dz, d, dd, H, dH, th, dth, code, ints, nz, P, frac, l1, newton,  # noqa: N803
                     reset, hard, sk, sp, dt, ha, dha, c0, dc0, alpha_slot, thr_slot, val,
                     grd, s, ds, q_row, dq_row, n, until, ref):
    """Forward mode of step ``n`` of a generic population: the step (as :func:`_gp_step`,
    refractory holds included) and the tangents of its outputs, ``J (dz, dH, dtheta, dd)``
    with ``J`` the step's Jacobian (dual numbers): ``z``, ``dz`` advanced in place; the
    spikes ``s``, ``ds`` and (fractional) the increments ``q_row``, ``dq_row``."""
    nl = nz + P + 2
    out = nl
    t_out = np.empty(nz + 2)
    for i in range(z.shape[1]):
        hd = until[i] > n
        load(val, grd, nl, nz, P, z, i, H[i], th, d[i])
        model_step(code, ints, val, grd, nz, P, frac, l1, newton, reset, hard, sk, sp, sp[0],
                   dt, ha, dha, c0, dc0, alpha_slot, thr_slot, hd)
        if val[out + nz + 2] >= 0.0 and ref[i] > 0:
            until[i] = n + 1 + ref[i]
        for o in range(nz + 2):
            acc = 0.0
            for m in range(nz):
                acc += grd[out + o, m] * dz[m, i]
            acc += grd[out + o, nz] * dH[i]
            for p in range(P):
                acc += grd[out + o, nz + 1 + p] * dth[p, i]
            acc += grd[out + o, nz + P + 1] * dd[i]
            t_out[o] = acc
        for m in range(nz):
            dz[m, i] = t_out[m]
        dq_row[i] = t_out[nz]
        ds[i] = t_out[nz + 1]
        for m in range(nz):
            z[m, i] = val[out + m]
        q_row[i] = val[out + nz]
        s[i] = val[out + nz + 1]
