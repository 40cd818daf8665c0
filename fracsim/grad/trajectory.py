r"""The differentiable forward recurrence of one population of uncoupled neurons.

It is the discrete simulation ``fs.simulate`` runs (same integrator, scheme, memory arrays
from :func:`fracsim.fractional.memory.build_arrays`, same SOE fit), step ``n = 0 .. N-1``::

    d_n      = R (I + I(t_n))                                   drive
    H_n      = sum_{k=1}^{min(n, W)} c_k q_{n-k} + sum_j β_j U_j[n]      history (fractional)
    (z_{n+1}, q_n, s_n) = Φ(z_n, H_n, θ, d_n)                   one step (model_derivatives)
    U_j[n+1] = λ_j U_j[n] + λ_j^(W+1) q_{n-W}                   (n >= W; SOE states)

``z`` the model's state (``v`` first), ``q_n`` the step's history entry, ``s_n`` its spike
(0/1, or ``sigma(v - v_th)`` in the relaxed model), ``W`` the exact window (the whole run for
``FullMemory``, a few steps for ``SOE``), ``K`` exponentials.  The recorded arrays are
sampled like ``fs.simulate``'s: ``rec[var][n]`` is ``z_n`` at the *start* of step ``n``
(``n = 0 .. N-1``) and ``rec["spikes"][n] = s_n``.

Checkpoints: the primal pass stores ``(z, ring, U, tail)`` every ``C`` steps (``ring`` only if
it wraps, i.e. ``W < N``: with ``FullMemory`` the ring holds every increment ``q_m``, never
overwritten, and is itself the state, O(N n) floats, as in the simulation).  A segment
``[n0, n0 + C)`` is recomputed from its checkpoint storing ``z_n``, ``H_n`` and ``dH_n/dalpha``
(:mod:`.adjoint`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..fractional.memory import advance  # the engine's own SOE update (same bits)
from . import dual as D
from .model_derivatives import step
from .surrogate import adaptive_width


@dataclass
class Problem:
    """Flat arrays of one differentiable run (built by :func:`fracsim.grad.api.build`)."""

    code: int
    ints: np.ndarray
    nz: int
    P: int  # noqa: N815 - model parameter slots; slot P is the input current
    frac: bool
    l1: bool
    newton: int
    reset: int
    hard: bool
    sk: int  # surrogate kind
    sp: np.ndarray  # surrogate params float64[5]
    adaptive: bool
    adaptive_params: np.ndarray  # kappa, w_min, w_max, stat
    dt: float
    N: int  # noqa: N815
    n: int
    th: np.ndarray  # (P, n)
    x0: np.ndarray  # (nz, n)
    Ic: np.ndarray  # noqa: N815 - constant current per neuron (n,)
    It: np.ndarray  # noqa: N815 - time-varying current (N, n) or (0, n)
    r_slot: int
    alpha_slot: int
    thr_slot: int
    init_deps: np.ndarray  # (m, 2) int64: x0[row] = theta[slot]
    W: int  # noqa: N815
    coef: np.ndarray  # (G, W+1)
    dcoef: np.ndarray  # (G, W+1)
    lam: np.ndarray  # (G, K)
    beta: np.ndarray
    mu: np.ndarray
    gam: np.ndarray  # (G, K) dβ/dalpha fit
    ha: np.ndarray  # (G,)
    dha: np.ndarray
    group: np.ndarray  # (n,)
    C: int  # noqa: N815 - checkpoint interval
    n_regs: int
    nl: int
    u: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # InputLayer u (N, M)
    #: refractory period in steps per neuron (``round(t_ref / dt)``; empty: none)
    ref: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        if self.ref.shape[0] != self.n:
            self.ref = np.zeros(self.n, dtype=np.int64)

    @property
    def K(self) -> int:  # noqa: N802
        return self.lam.shape[1]

    @property
    def wraps(self) -> bool:
        return self.frac and self.W < self.N

    def model_args(self) -> tuple:
        return (self.code, self.ints, self.nz, self.P, self.frac, self.l1, self.newton,
                self.reset, self.hard, self.sk, self.sp, self.dt, self.alpha_slot,
                self.thr_slot)

    def input_args(self) -> tuple:
        return (self.th, self.Ic, self.It, self.r_slot, self.ref)

    def memory_args(self) -> tuple:
        return (self.W, self.coef, self.dcoef, self.lam, self.beta, self.mu, self.gam,
                self.ha, self.dha, self.group)


# -------------------------------------------------------------------------- shared kernels
@njit(cache=True)
def drive(i, n, th, Ic, It, r_slot):
    """``d_n`` of neuron ``i`` and ``dd/dR`` (the current itself)."""
    r = th[r_slot, i]
    cur = Ic[i]
    d = r * Ic[i]
    if It.shape[0] > 0:
        d += r * It[n, i]
        cur += It[n, i]
    return d, cur


@njit(cache=True)
def history(i, n, W, ring, coef, g, tail):
    """``H_n`` of neuron ``i`` (exact window plus the exponential tail)."""
    slot = n % W
    h = tail[i]
    for k in range(1, min(n, W) + 1):
        idx = slot - k
        idx = idx + W if idx < 0 else idx
        h += coef[g, k] * ring[i, idx]
    return h


@njit(cache=True)
def history_alpha(i, n, W, ring, dcoef, gam, U, g):
    """``dH_n/dalpha`` at fixed increments: ``sum_k dc_k/da q_{n-k} + sum_j γ_j U_j``."""
    slot = n % W
    h = 0.0
    for j in range(U.shape[0]):
        h += gam[g, j] * U[j, i]
    for k in range(1, min(n, W) + 1):
        idx = slot - k
        idx = idx + W if idx < 0 else idx
        h += dcoef[g, k] * ring[i, idx]
    return h


@njit(cache=True)
def load(val, grd, nl, nz, P, z, i, H, th, d):
    """Put the inputs of neuron ``i`` into the registers (identity gradients)."""
    for m in range(nz):
        val[m] = z[m, i]
    val[nz] = H
    for p in range(P):
        val[nz + 1 + p] = th[p, i]
    val[nz + P + 1] = d
    D.seed(val, grd, nl)


@njit(cache=True)
def run_range(lo, hi, code, ints, nz, P, frac, l1, newton, reset, hard, sk, sp, dt,
              alpha_slot, thr_slot, th, Ic, It, r_slot, ref,
              W, coef, dcoef, lam, beta, mu, gam, ha, dha, group,
              z, ring, U, tail, leave, val, grd, xs, until,
              widths, adaptive, aparams,
              rec_z, rec_s, record,
              C, ck_z, ck_ring, ck_U, ck_tail, ck_until, save, wraps,
              seg_z, seg_H, seg_dHa, seg_held, store, need_alpha):
    """Advance steps ``lo .. hi-1``.  ``record``: write ``rec_z``/``rec_s``; ``save``: store a
    checkpoint before every step ``n % C == 0``; ``store``: keep ``z_n``, ``H_n``,
    ``dH_n/dalpha`` and the held flags of the segment (index ``n - lo``); ``adaptive`` with
    ``record``: compute MPD-AGL's width of each step into ``widths`` (later passes read
    them).  Neuron ``i`` is held (refractory) while ``until[i] > n``; a threshold crossing
    starts ``ref[i]`` held steps (the engine's rule; the onsets are events, not
    differentiated).  Returns the first step whose new state is not finite, or -1."""
    n_neur = z.shape[1]
    nl = nz + P + 2
    OUT = nl
    zero1 = np.zeros(1)
    for n in range(lo, hi):
        if save and n % C == 0:
            c = n // C
            ck_z[c] = z
            if wraps:
                ck_ring[c] = ring
            ck_U[c] = U
            ck_tail[c] = tail
            ck_until[c] = until
        w_now = widths[n]
        for i in range(n_neur):
            g = group[i]
            d, _ = drive(i, n, th, Ic, It, r_slot)
            H = history(i, n, W, ring, coef, g, tail) if frac else 0.0
            if record:
                for m in range(nz):
                    rec_z[n, m, i] = z[m, i]
            if store:
                for m in range(nz):
                    seg_z[n - lo, m, i] = z[m, i]
                seg_H[n - lo, i] = H
                seg_dHa[n - lo, i] = (history_alpha(i, n, W, ring, dcoef, gam, U, g)
                                      if need_alpha and frac else 0.0)
            held = until[i] > n
            if store:
                seg_held[n - lo, i] = held
            load(val, grd, nl, nz, P, z, i, H, th, d)
            step(code, ints, val, grd, nz, P, frac, l1, newton, reset, hard, sk, sp, w_now,
                 dt, ha[g], dha[g], coef[g, 0], dcoef[g, 0], alpha_slot, thr_slot, held)
            if val[OUT + nz + 2] >= 0.0 and ref[i] > 0:
                until[i] = n + 1 + ref[i]
            ok = True
            for m in range(nz):
                z[m, i] = val[OUT + m]
                ok = ok and abs(val[OUT + m]) < math.inf
            if not ok:
                return n
            if record:
                rec_s[n, i] = val[OUT + nz + 1]
            xs[i] = val[OUT + nz + 2]
            if frac:
                slot = n % W
                leave[i] = ring[i, slot] if n >= W else 0.0
                ring[i, slot] = val[OUT + nz]
        if frac:
            advance(U, lam, mu, beta, tail, leave, group)
        if record and adaptive:
            widths[n] = adaptive_width(xs, zero1, aparams[0], aparams[1], aparams[2],
                                       int(aparams[3]))
    return -1


@dataclass
class Primal:
    """Result of the primal pass: the recorded arrays and the checkpoints."""

    rec_z: np.ndarray  # (N, nz, n)
    rec_s: np.ndarray  # (N, n)
    widths: np.ndarray  # (N,)
    ck_z: np.ndarray
    ck_ring: np.ndarray
    ck_U: np.ndarray  # noqa: N815
    ck_tail: np.ndarray
    ck_until: np.ndarray  # refractory counters
    ring: np.ndarray  # final ring (FullMemory: every increment)


def new_state(prob: Problem):
    """Fresh ``z, ring, U, tail, leave`` and the register file."""
    n = prob.n
    z = prob.x0.copy()
    ring = np.zeros((n, prob.W))
    U = np.zeros((prob.K, n))
    tail = np.zeros(n)
    leave = np.zeros(n)
    val = np.zeros(prob.n_regs)
    grd = np.zeros((prob.n_regs, prob.nl))
    return z, ring, U, tail, leave, val, grd


class NonFiniteError(FloatingPointError):
    """The differentiated simulation produced a non-finite state."""


def run_primal(prob: Problem, checkpoints: bool = True) -> Primal:
    """Run the whole simulation, recording every step and (optionally) storing checkpoints."""
    z, ring, U, tail, leave, val, grd = new_state(prob)
    N, n, C = prob.N, prob.n, prob.C
    n_ck = -(-N // C) if checkpoints else 0
    rec_z = np.zeros((N, prob.nz, n))
    rec_s = np.zeros((N, n))
    widths = np.ones(N)
    ck_z = np.zeros((n_ck, prob.nz, n))
    ck_ring = np.zeros((n_ck if prob.wraps else 0, n, prob.W))
    ck_U = np.zeros((n_ck, prob.K, n))
    ck_tail = np.zeros((n_ck, n))
    ck_until = np.zeros((n_ck, n), dtype=np.int64)
    empty3 = np.zeros((0, prob.nz, n))
    empty2 = np.zeros((0, n))
    bad = run_range(0, N, *prob.model_args(), *prob.input_args(), *prob.memory_args(),
                    z, ring, U, tail, leave, val, grd, np.zeros(n),
                    np.zeros(n, dtype=np.int64), widths, prob.adaptive, prob.adaptive_params,
                    rec_z, rec_s, True,
                    C, ck_z, ck_ring, ck_U, ck_tail, ck_until, checkpoints, prob.wraps,
                    empty3, empty2, empty2, np.zeros((0, n), dtype=np.bool_), False, False)
    if bad >= 0:
        raise NonFiniteError(
            f"the simulation became non-finite at step {bad} (t = {bad * prob.dt:g} ms)")
    return Primal(rec_z, rec_s, widths, ck_z, ck_ring, ck_U, ck_tail, ck_until, ring)
