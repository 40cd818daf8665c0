r"""Differentiable one-step maps of the models, written in dual-number form (:mod:`.dual`).

Each function below repeats, operation for operation, the kernel of the model's module in
:mod:`fracsim.models` (so values agree with ``fs.simulate`` to rounding) while carrying the
gradient with respect to the step's local inputs.  Register layout of one step (``nz`` state
variables, ``P`` model parameters)::

    0 .. nz-1          z_n        state at the start of the step (v first)
    nz                 H_n        history term of the fractional scheme (unused at integer order)
    nz+1 .. nz+P       theta      the model's parameters (layout: ``Spec.names``)
    nz+P+1             d_n        the drive of the step (R I_n)
    NL = nz+P+2 ..     outputs:   z_{n+1} (nz), q_n (history entry), s_n (spike), x_n (v - v_th
                                  before the reset, for MPD-AGL's width)
    NL+nz+3 ..         scratch

Integer order (``alpha = 1`` without ``memory=``): the model's own integrator (LIF/AdLIF:
exponential Euler; LNM: exponential Euler for degree 1, forward Euler otherwise; Conductance:
explicit midpoint).  Fractional (GL/L1, :mod:`fracsim.fractional.stepper`)::

    dv = (h^a F(v_n) - H_n) / c_0                          (GL: the step; L1: initial guess)
    L1, Newton (1 step for a linear F, 2 otherwise):  dv -= (c_0 dv - h^a F + H_n) / (c_0 - h^a F_v)
        (2 steps: the explicit dv where the last residual or correction says Newton failed,
        as the engine, :data:`fracsim.fractional.stepper.NEWTON_RTOL`)
    v = v_n + dv;  other variables by the model's ``aux``;  s = spike(v - v_th);  reset

with ``h^a`` and ``c_0`` duals in ``alpha`` (``d h^a/da = h^a ln h``, ``dc_0/da`` from
:mod:`.alpha`).  The Newton iterations themselves are differentiated (``F_v`` is a dual, so
its gradient carries ``F_vv``): the Jacobian is that of the discrete map actually run, not of
the converged implicit equation.  Reset semantics and history entries ``q_n``:

* "shift" (default): ``v <- v - s (v - v_reset)``, ``q = dv - s (v - v_th)`` (hard ``s``: the
  engine's ``v_reset`` and ``min(v, v_th) - v_n``);
* "jump": ``v <- v - s (v - v_reset)``, ``q = v_{n+1} - v_n``;
* "subtract": ``v <- v - s (v_th - v_reset)``, ``q = v_{n+1} - v_n``;
* the conductance neuron has no reset: ``q = dv``, ``s`` carries no gradient.

"restart" (the history is cleared) is not differentiable and is refused by the API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..fractional.stepper import NEWTON_RTOL
from . import dual as D

LIF, ADLIF, LNM, COND = 0, 1, 2, 3
R_NONE, R_SHIFT, R_JUMP, R_SUBTRACT = 0, 1, 2, 3
RESET_CODES = {"shift": R_SHIFT, "jump": R_JUMP, "subtract": R_SUBTRACT}
N_SCRATCH = 64


@dataclass
class Spec:
    """How one model maps onto the differentiable step."""

    code: int
    names: list  # model parameter slots (theta rows)
    state_vars: tuple
    ints: np.ndarray  # LNM: (degree,); Conductance: (n_terms, timescale_0, ...)
    r_slot: int  # slot of R (input gain)
    alpha_slot: int
    thr_slot: int  # spike threshold
    init_deps: list  # (state row, theta slot) pairs: x0[row] = theta[slot] (default state)
    reset: int
    newton: int

    @property
    def nz(self) -> int:
        return len(self.state_vars)

    @property
    def P(self) -> int:  # noqa: N802 - the standard symbol
        return len(self.names)

    @property
    def nl(self) -> int:
        return self.nz + self.P + 2


def spec_of(model, given_state: set[str]) -> Spec:
    """The :class:`Spec` of a model (``given_state``: state variables the user set)."""
    from ..models import LIF as LIFModel
    from ..models import LNM as LNMModel
    from ..models import AdLIF, Conductance

    reset = RESET_CODES.get(model.reset, -1)
    if isinstance(model, Conductance):
        names = ["tau_m", "tau_f", "tau_s", "tau_us", "v_rest", "R", "v_spike", "alpha"]
        ts = {"fast": 0, "slow": 1, "ultraslow": 2}
        for name, _ in model.terms:
            names += [f"{name}_gain", f"{name}_offset"]
        ints = np.array([len(model.terms)] + [ts[t] for _, t in model.terms], dtype=np.int64)
        deps = [] if "v" in given_state else [(r, 4) for r in range(4)]
        return Spec(COND, names, model.state_vars, ints, 5, 7, 6, deps, R_NONE, 2)
    if type(model) is LIFModel:
        names = ["tau", "v_rest", "v_th", "v_reset", "R", "alpha"]
        deps = [] if "v" in given_state else [(0, 1)]
        return Spec(LIF, names, model.state_vars, np.zeros(1, np.int64), 4, 5, 2, deps,
                    reset, 1)
    if type(model) is AdLIF:
        names = ["tau", "tau_w", "a", "b", "v_rest", "v_th", "v_reset", "R", "alpha"]
        deps = [] if "v" in given_state else [(0, 4)]
        return Spec(ADLIF, names, model.state_vars, np.zeros(1, np.int64), 7, 8, 5, deps,
                    reset, 1)
    if type(model) is LNMModel:
        names = ["tau", "v_ref", "v_th", "v_reset", "R", "alpha"]
        names += [f"coef[{k}]" for k in range(model.degree + 1)]
        deps = [] if "v" in given_state else [(0, 1)]
        return Spec(LNM, names, model.state_vars, np.array([model.degree], dtype=np.int64),
                    4, 5, 2, deps, reset, 1 if model.degree == 1 else 2)
    raise TypeError(
        "fs.grad supports fs.LIF, fs.AdLIF, fs.LNM and fs.Conductance, got "
        f"{type(model).__name__}")


def theta_of(model, spec: Spec, n: int) -> np.ndarray:
    """The parameter rows ``theta`` float64[P, n] (per-neuron values broadcast)."""
    th = np.empty((spec.P, n))
    for p, name in enumerate(spec.names):
        if name.startswith("coef["):
            th[p] = model.coef[int(name[5:-1])]
        else:
            th[p] = model.value(name, n)
    return th


# ------------------------------------------------------------------------------ integer order
@njit(cache=True)
def _lif_int(val, grd, nz, TH, DR, OUT, T, dt, hard, sk, sp, w, held):
    tau, vrest, vth, vr = TH, TH + 1, TH + 2, TH + 3
    D.kdiv(val, grd, T, -dt, tau)
    D.exp_(val, grd, T, T)  # decay = exp(-dt / tau)
    D.add(val, grd, T + 1, vrest, DR)  # v_inf = v_rest + d
    D.sub(val, grd, T + 2, 0, T + 1)
    D.fma(val, grd, T + 2, T + 2, T, T + 1)  # v_inf + (v0 - v_inf) decay
    if held:  # refractory: v held at v_reset
        D.cpy(val, grd, T + 2, vr)
    D.sub(val, grd, OUT + nz + 2, T + 2, vth)
    D.spike(val, grd, OUT + nz + 1, OUT + nz + 2, hard, sk, sp, w)
    D.reset_to(val, grd, OUT, T + 2, OUT + nz + 1, vr, hard)
    D.cst(val, grd, OUT + nz, 0.0)


@njit(cache=True)
def _adlif_w(val, grd, d, TH, v, wreg, T, dt):
    """``w_inf + (w - w_inf) exp(-dt / tau_w)``, ``w_inf = a (v - v_rest)`` (into ``d``)."""
    D.sub(val, grd, T, v, TH + 4)
    D.mul(val, grd, T, TH + 2, T)  # w_inf
    D.kdiv(val, grd, T + 1, -dt, TH + 1)
    D.exp_(val, grd, T + 1, T + 1)
    D.sub(val, grd, d, wreg, T)
    D.fma(val, grd, d, d, T + 1, T)


@njit(cache=True)
def _adlif_int(val, grd, nz, TH, DR, OUT, T, dt, hard, sk, sp, w, held):
    tau, b, vrest, vth, vr = TH, TH + 3, TH + 4, TH + 5, TH + 6
    _adlif_w(val, grd, T, TH, 0, 1, T + 1, dt)  # w_new in T
    D.sub(val, grd, T + 3, vrest, 1)
    D.add(val, grd, T + 3, T + 3, DR)  # v_inf = v_rest - w + d
    D.kdiv(val, grd, T + 4, -dt, tau)
    D.exp_(val, grd, T + 4, T + 4)
    D.sub(val, grd, T + 5, 0, T + 3)
    D.fma(val, grd, T + 5, T + 5, T + 4, T + 3)
    if held:  # refractory: v held at v_reset (w evolves)
        D.cpy(val, grd, T + 5, vr)
    D.sub(val, grd, OUT + nz + 2, T + 5, vth)
    D.spike(val, grd, OUT + nz + 1, OUT + nz + 2, hard, sk, sp, w)
    D.reset_to(val, grd, OUT, T + 5, OUT + nz + 1, vr, hard)
    D.add_s(val, grd, OUT + 1, T, OUT + nz + 1, b, hard)
    D.cst(val, grd, OUT + nz, 0.0)


@njit(cache=True)
def _lnm_poly(val, grd, f, g, v, TH, deg, T):
    """``f_theta(v)`` into ``f`` and ``f_theta'(v)`` into ``g`` (Horner in ``u = v - v_ref``);
    uses ``T``, ``T + 1``."""
    C = TH + 6
    D.sub(val, grd, T, v, TH + 1)  # u
    D.cpy(val, grd, f, C + deg)
    for k in range(deg - 1, -1, -1):
        D.fma(val, grd, f, f, T, C + k)
    D.mulk(val, grd, g, C + deg, float(deg))
    for k in range(deg - 1, 0, -1):
        D.mulk(val, grd, T + 1, C + k, float(k))
        D.fma(val, grd, g, g, T, T + 1)


@njit(cache=True)
def _lnm_int(val, grd, nz, TH, DR, OUT, T, dt, hard, sk, sp, w, deg, held):
    tau, vref, vth, vr = TH, TH + 1, TH + 2, TH + 3
    V = T + 6
    if deg == 1:
        c0, c1 = TH + 6, TH + 7
        D.mulk(val, grd, T, c1, dt)
        D.div(val, grd, T, T, tau)
        D.exp_(val, grd, T, T)  # decay = exp(c1 dt / tau)
        D.div(val, grd, T + 1, c0, c1)
        D.sub(val, grd, T + 1, vref, T + 1)  # v_base = v_ref - c0 / c1
        D.kdiv(val, grd, T + 2, -1.0, c1)  # gain = -1 / c1
        D.fma(val, grd, T + 3, T + 2, DR, T + 1)  # v_inf
        D.sub(val, grd, V, 0, T + 3)
        D.fma(val, grd, V, V, T, T + 3)
    else:
        _lnm_poly(val, grd, T + 2, T + 3, 0, TH, deg, T)
        D.kdiv(val, grd, T + 4, dt, tau)  # dt / tau
        D.add(val, grd, T + 5, T + 2, DR)
        D.fma(val, grd, V, T + 4, T + 5, 0)  # v0 + dt/tau (f + d)
    if held:  # refractory: v held at v_reset
        D.cpy(val, grd, V, vr)
    D.sub(val, grd, OUT + nz + 2, V, vth)
    D.spike(val, grd, OUT + nz + 1, OUT + nz + 2, hard, sk, sp, w)
    D.reset_to(val, grd, OUT, V, OUT + nz + 1, vr, hard)
    D.cst(val, grd, OUT + nz, 0.0)


@njit(cache=True)
def _cond_currents(val, grd, out, slope, v, xf, xs, xus, TH, ints, which, instant, T):
    """``sum_j R g_j tanh(v_x - delta_j)`` over the terms ``which`` selects (0 all, 1 the
    instantaneous fast ones, 2 the others) into ``out``; ``slope``: its ``v``-derivative
    through the instantaneous fast terms (if ``slope >= 0``).  Uses ``T .. T + 2``."""
    D.cst(val, grd, out, 0.0)
    if slope >= 0:
        D.cst(val, grd, slope, 0.0)
    for t in range(ints[0]):
        ts = ints[1 + t]
        on_v = instant and ts == 0
        if (which == 1 and not on_v) or (which == 2 and on_v):
            continue
        vx = v if on_v else (xf if ts == 0 else (xs if ts == 1 else xus))
        D.mul(val, grd, T, TH + 5, TH + 8 + 2 * t)  # R g
        D.sub(val, grd, T + 1, vx, TH + 9 + 2 * t)
        D.tanh_(val, grd, T + 1, T + 1)
        D.fma(val, grd, out, T, T + 1, out)
        if slope >= 0 and on_v:
            D.mul(val, grd, T + 2, T + 1, T + 1)
            D.mulk(val, grd, T + 2, T + 2, -1.0)
            D.addk(val, grd, T + 2, T + 2, 1.0)
            D.mul(val, grd, T + 2, T, T + 2)  # R g (1 - th^2)
            D.add(val, grd, slope, slope, T + 2)


@njit(cache=True)
def _cond_int(val, grd, nz, TH, DR, OUT, T, dt, ints):
    instant = val[TH + 1] == 0.0
    h = 0.5 * dt
    IM, BASE, ITF, ITS, ITUS = T, T + 1, T + 2, T + 3, T + 4
    VFM, VSM, VUSM, CF, CQ, VMID, X = T + 5, T + 6, T + 7, T + 8, T + 9, T + 10, T + 11
    S = T + 12
    D.kdiv(val, grd, IM, 1.0, TH)
    D.add(val, grd, BASE, TH + 4, DR)
    if instant:
        D.cst(val, grd, ITF, 0.0)
    else:
        D.kdiv(val, grd, ITF, 1.0, TH + 1)
    D.kdiv(val, grd, ITS, 1.0, TH + 2)
    D.kdiv(val, grd, ITUS, 1.0, TH + 3)
    for src, inv, mid in ((1, ITF, VFM), (2, ITS, VSM), (3, ITUS, VUSM)):
        D.sub(val, grd, X, 0, src)
        D.mulk(val, grd, X, X, h)
        D.fma(val, grd, mid, X, inv, src)  # v_x + h (v - v_x) / tau_x
    _cond_currents(val, grd, CF, -1, 0, VFM, VSM, VUSM, TH, ints, 2, instant, S)
    _cond_currents(val, grd, CQ, -1, 0, 1, 2, 3, TH, ints, 1, instant, S)
    D.sub(val, grd, X, BASE, 0)
    D.sub(val, grd, X, X, CF)
    D.sub(val, grd, X, X, CQ)
    D.mulk(val, grd, X, X, h)
    D.fma(val, grd, VMID, X, IM, 0)  # v_mid
    _cond_currents(val, grd, CQ, -1, VMID, 1, 2, 3, TH, ints, 1, instant, S)
    D.sub(val, grd, X, BASE, VMID)
    D.sub(val, grd, X, X, CF)
    D.sub(val, grd, X, X, CQ)
    D.mulk(val, grd, X, X, dt)
    D.fma(val, grd, OUT, X, IM, 0)  # v_new
    if instant:
        D.cpy(val, grd, OUT + 1, OUT)
    else:
        D.sub(val, grd, X, VMID, VFM)
        D.mulk(val, grd, X, X, dt)
        D.fma(val, grd, OUT + 1, X, ITF, 1)
    for src, inv, mid in ((2, ITS, VSM), (3, ITUS, VUSM)):
        D.sub(val, grd, X, VMID, mid)
        D.mulk(val, grd, X, X, dt)
        D.fma(val, grd, OUT + src, X, inv, src)
    vs = val[TH + 6]
    D.cst(val, grd, OUT + nz + 1, 1.0 if (val[0] < vs and val[OUT] >= vs) else 0.0)
    D.sub(val, grd, OUT + nz + 2, OUT, TH + 6)
    D.cst(val, grd, OUT + nz, 0.0)


# ---------------------------------------------------------------------------- fractional parts
@njit(cache=True)
def _rhs(code, ints, val, grd, F, FV, v, TH, DR, T):
    """``F`` of ``D^a v = F`` at the dual ``v`` (other variables at the step start) and its
    ``v``-derivative ``F_v``, as duals; scratch from ``T``."""
    if code == LIF or code == ADLIF:
        D.kdiv(val, grd, T, 1.0, TH)  # 1 / tau
        vrest = TH + 1 if code == LIF else TH + 4
        D.sub(val, grd, F, vrest, v)
        if code == ADLIF:
            D.sub(val, grd, F, F, 1)
        D.add(val, grd, F, F, DR)
        D.mul(val, grd, F, F, T)
        D.mulk(val, grd, FV, T, -1.0)
    elif code == LNM:
        _lnm_poly(val, grd, T + 1, T + 2, v, TH, ints[0], T + 3)
        D.kdiv(val, grd, T, 1.0, TH)
        D.add(val, grd, F, T + 1, DR)
        D.mul(val, grd, F, F, T)
        D.mul(val, grd, FV, T + 2, T)
    else:
        instant = val[TH + 1] == 0.0
        _cond_currents(val, grd, T + 1, T + 2, v, 1, 2, 3, TH, ints, 0, instant, T + 3)
        D.kdiv(val, grd, T, 1.0, TH)
        D.sub(val, grd, F, TH + 4, v)
        D.add(val, grd, F, F, DR)
        D.sub(val, grd, F, F, T + 1)
        D.mul(val, grd, F, F, T)
        D.cst(val, grd, FV, -1.0)
        D.sub(val, grd, FV, FV, T + 2)
        D.mul(val, grd, FV, FV, T)


@njit(cache=True)
def _aux(code, val, grd, OUT, v, TH, T, dt):
    """The non-membrane variables after the step (into ``OUT + 1 ..``), from ``z_n`` and the
    membrane value ``v`` before any reset."""
    if code == ADLIF:
        _adlif_w(val, grd, OUT + 1, TH, 0, 1, T, dt)
    elif code == COND:
        instant = val[TH + 1] == 0.0
        VM = T
        D.add(val, grd, VM, 0, v)
        D.mulk(val, grd, VM, VM, 0.5)
        for src, tau in ((1, TH + 1), (2, TH + 2), (3, TH + 3)):
            if src == 1 and instant:
                D.cpy(val, grd, OUT + 1, v)
                continue
            D.kdiv(val, grd, T + 1, 1.0, tau)
            D.mulk(val, grd, T + 1, T + 1, -dt)
            D.exp_(val, grd, T + 1, T + 1)  # exp(-dt / tau_x)
            D.sub(val, grd, T + 2, src, VM)
            D.fma(val, grd, OUT + src, T + 2, T + 1, VM)


@njit(cache=True)
def _frac(code, ints, val, grd, nz, TH, DR, OUT, T, dt, l1, newton, reset, hard, sk, sp, w,
          ha, dha, c0, dc0, alpha_slot, thr_slot, held):
    H = nz
    HA, C0, F, FV, DV, VV, R, DN, X, VP = T, T + 1, T + 2, T + 3, T + 4, T + 5, T + 6, T + 7, \
        T + 8, T + 9
    M = T + 12
    a = TH + alpha_slot
    D.cst(val, grd, HA, ha)
    grd[HA, a] = dha
    D.cst(val, grd, C0, c0)
    grd[C0, a] = dc0
    _rhs(code, ints, val, grd, F, FV, 0, TH, DR, M)
    D.mul(val, grd, DV, HA, F)
    D.sub(val, grd, DV, DV, H)
    D.div(val, grd, DV, DV, C0)  # (h^a F - H) / c0
    if l1:
        DVEX = T + 10  # noqa: N806 - the explicit value, kept where Newton fails
        D.cpy(val, grd, DVEX, DV)
        corr_prev, conv, res = math.inf, True, 0.0
        for _ in range(newton):
            D.add(val, grd, VV, 0, DV)
            _rhs(code, ints, val, grd, F, FV, VV, TH, DR, M)
            D.mul(val, grd, R, C0, DV)
            D.mul(val, grd, X, HA, F)
            D.sub(val, grd, R, R, X)
            D.add(val, grd, R, R, H)
            res = val[R]
            D.mul(val, grd, X, HA, FV)
            D.sub(val, grd, DN, C0, X)
            D.div(val, grd, R, R, DN)
            conv = abs(val[R]) <= abs(corr_prev)
            corr_prev = val[R]
            D.sub(val, grd, DV, DV, R)
        if newton > 1 and not (conv and abs(res) <= NEWTON_RTOL * (
                abs(val[C0] * val[DV]) + abs(val[H]) + 1.0)):
            D.cpy(val, grd, DV, DVEX)  # the engine's rule (fracsim.fractional.stepper)
    if held:  # refractory: v held (a zero increment), as the engine
        D.cst(val, grd, DV, 0.0)
    D.add(val, grd, VP, 0, DV)  # v = v0 + dv
    _aux(code, val, grd, OUT, VP, TH, M, dt)
    S, XS = OUT + nz + 1, OUT + nz + 2
    thr = TH + thr_slot
    D.sub(val, grd, XS, VP, thr)
    if code == COND:  # no reset: upward crossings, no gradient
        vs = val[thr]
        D.cst(val, grd, S, 1.0 if (val[0] < vs and val[VP] >= vs) else 0.0)
        D.cpy(val, grd, OUT, VP)
        D.cpy(val, grd, OUT + nz, DV)
        return
    D.spike(val, grd, S, XS, hard, sk, sp, w)
    vr = TH + 6 if code == ADLIF else TH + 3
    if code == ADLIF:
        D.add_s(val, grd, OUT + 1, OUT + 1, S, TH + 3, hard)  # w += b
    if reset == R_SUBTRACT:
        D.sub_s(val, grd, OUT, VP, S, thr, vr, hard)
    else:
        D.reset_to(val, grd, OUT, VP, S, vr, hard)
    if reset == R_SHIFT:
        D.shift_q(val, grd, OUT + nz, DV, VP, thr, S, 0, hard)
    else:
        D.sub(val, grd, OUT + nz, OUT, 0)


@njit(cache=True)
def step(code, ints, val, grd, nz, P, frac, l1, newton, reset, hard, sk, sp, w, dt,
         ha, dha, c0, dc0, alpha_slot, thr_slot, held=False):
    """One step of one neuron on the seeded registers (see the module docstring);
    ``held``: refractory in this step (the engine's hold: integer order ``v = v_reset``
    before the spike test, fractional a zero increment; the other variables evolve)."""
    TH = nz + 1
    DR = nz + P + 1
    OUT = nz + P + 2
    T = OUT + nz + 3
    if frac:
        _frac(code, ints, val, grd, nz, TH, DR, OUT, T, dt, l1, newton, reset, hard, sk, sp, w,
              ha, dha, c0, dc0, alpha_slot, thr_slot, held)
    elif code == LIF:
        _lif_int(val, grd, nz, TH, DR, OUT, T, dt, hard, sk, sp, w, held)
    elif code == ADLIF:
        _adlif_int(val, grd, nz, TH, DR, OUT, T, dt, hard, sk, sp, w, held)
    elif code == LNM:
        _lnm_int(val, grd, nz, TH, DR, OUT, T, dt, hard, sk, sp, w, ints[0], held)
    else:
        _cond_int(val, grd, nz, TH, DR, OUT, T, dt, ints)


def n_registers(spec: Spec) -> int:
    """Size of the register file of one step."""
    return spec.nl + spec.nz + 3 + N_SCRATCH

