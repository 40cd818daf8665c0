r"""Gradients of a network's simulation: the discrete adjoint through synapses and delays.

``fs.grad.value_and_grad(net, params, loss, t_stop, ...)`` with a :class:`fracsim.Network`
lands here.  The differentiated recurrence is the engine's (``net.run``), step
``n = 0 .. N-1``, populations in creation order::

    A^c_n    = sum_{syn -> c} w_syn s_pre[n - 1 - D_syn]          arrivals (spike queue)
    G^c_n    = e^(-dt/tau_c) G^c_{n-1} + A^c_n                    exponential channel c
    v_n^+    = v_n + A^delta_n                                     delta synapses
    d_n      = I_n + sum_c G^c_n                                   drive (I: R times currents)
    v'_n     = step(v_n^+, d_n, H_n)                               LIF, see below
    s_n      = [v'_n >= v_th]                 (surrogate derivative sigma'(v'_n - v_th))
    v_{n+1}  = v'_n - s_n (v'_n - v_reset)                         reset ("shift")
    q_n      = (v'_n - v_n^+) - s_n (v'_n - v_th)                  history entry (fractional)

with ``D_syn >= 1`` the delay in steps (a spike of step ``m`` arrives at the start of step
``m + 1 + D``), the recorded ``"<pop>.v"[n] = v_n^+`` and ``"<pop>.spikes"[n] = s_n``.
``step``: integer order, exponential Euler ``v' = v_inf + (v - v_inf) e^(-dt/tau)``,
``v_inf = v_rest + d``; fractional (``scheme`` "gl" or "l1"), with
``H_n = sum_{k=1}^{n} c_k q_{n-k}`` (``FullMemory``) or, with ``SOE``, the exact window
``sum_{k<=W} c_k q_{n-k}`` plus the tail ``beta . U[n]`` of the engine's fit
(``U_j <- lam_j U_j + lam_j^(W+1) q_{n-W}``), ``h^a`` and ``theta = 1`` for L1 (implicit,
exact for the linear ``F``), 0 for GL::

    v' = v + dv,   dv = (h^a (v_rest - v + d) / tau - H_n) / (c_0 + theta h^a / tau)

The adjoint runs ``n = N-1 .. 0`` with ``a^v``, ``a^G`` carried backwards, the spike
adjoint ``a^s_m`` collected from the arrivals it causes (``a^s_pre[m] += sum_syn w_syn
a^A_post[m+1+D]``, a sparse mat-vec)
and the history adjoint ``a^q_m = sum_{n>m} c_{n-m} a^H_n``; weights get
``dL/dw_syn = sum_m s_pre[m] a^A_post[m + 1 + D]`` (work proportional to the spikes), the
order ``dL/dalpha = sum_n <a^H_n, sum_k dc_k/dalpha q_{n-k}> + (terms of h^a and c_0)`` (the
first sum as a cross-correlation of ``a^H`` and ``q`` over the lags, by FFT).  Both history
convolutions (``H`` forward, ``a^q`` backward) of a full memory are evaluated by blocks of
:data:`fracsim.fractional.memory.FAR_BLOCK` steps, the far lags by one matrix product per
block, as in the engine; with SOE the adjoint carries the states' adjoints
``V_j[n-1] = lam_j V_j[n] + lam_j^(W+1) a^H_{n+W}`` (O(K) per step) and the order's
derivative takes the fit's ``dbeta/dalpha`` (:func:`fracsim.grad.alpha.soe_derivative`)
through ``sum_m <q_m, V_j[m]>``.  Populations that no learnable parameter can influence (e.g. an
input layer) are simulated forward only.

Scope of this version: LIF populations (integer order, or fractional GL/L1 with
``FullMemory`` or ``SOE`` and one order per population), resets "shift", "jump" and
"subtract" (the engine's semantics, :mod:`fracsim.fractional.stepper`), refractory periods
(held steps as in the engine; their onsets are events, not differentiated),
``ExpSynapse`` and delta synapses with any delays, constant and time-varying currents (no
Poisson inputs), fixed-width surrogates; forward mode (tangents, one pass per direction) in
:mod:`.network_forward`.  Parameters: ``"<pop>.tau"``, ``"<pop>.alpha"``,
``"<src>-><dst>.weight"`` (``"<src>-><dst>[k].weight"`` for the k-th of several projections
between the same populations), gradients shaped like the parameter (a weight gradient has
one entry per synapse, in the projection's order).  Memory: the trajectory (``v^+``, ``d``,
``H``, ``q``) and the history adjoint ``a^H`` of the populations that need an adjoint are
kept, O(N n) floats (no checkpointing yet).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from numba import njit
from scipy import fft as sfft
from scipy import sparse

from ..fractional import memory as fmem
from ..fractional.weights import kernel
from ..models.lif import LIF
from ..synapses import ExpSynapse
from . import surrogate as S
from .alpha import kernel_derivative, soe_derivative
from .loss import Loss

#: reset semantics of a population (fracsim.fractional.stepper): codes for the kernels
RESET_SHIFT, RESET_JUMP, RESET_SUBTRACT = 0, 1, 2
_RESETS = {"shift": RESET_SHIFT, "jump": RESET_JUMP, "subtract": RESET_SUBTRACT}


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
    """``gw[widx[s]] += spike[j] a_arr[post[s]]`` for the synapses of the active sources."""
    for a in range(active.shape[0]):
        j = active[a]
        sj = spike[j]
        for s in range(ptr[j], ptr[j + 1]):
            gw[widx[s]] += sj * a_arr[post[s]]


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


@njit(cache=True)
def _step_forward(frac, v, d, far_row, coef, q, n, b, ha, theta, tau, v_rest, v_th, v_reset,
                  decay, relaxed, sk, sp, s_out, h_out, until, ref, held, reset):
    """One step of a population (see the module docstring): ``v`` (v_n^+ in, v_{n+1} out),
    ``s_out`` the spikes; fractional: ``h_out = H_n`` (the far sums ``far_row`` plus the
    block's own ``b`` lags) and ``q[n]``.  Refractory neurons (``until[i] > n``; ``held``
    records it) are held: ``v' = v_reset`` (integer order) or ``v' = v_n^+`` (fractional,
    ``q_n = 0``), no spike; a threshold crossing starts ``ref[i]`` held steps."""
    size = v.shape[0]
    if frac:
        for i in range(size):
            h_out[i] = far_row[i]
        for kk in range(1, b + 1):
            c = coef[kk]
            for i in range(size):
                h_out[i] += c * q[n - kk, i]
    for i in range(size):
        vk = v[i]
        hd = until[i] > n
        held[i] = hd
        if hd:
            if frac:
                q[n, i] = 0.0
            else:
                v[i] = v_reset[i]
            s_out[i] = 0.0
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
        if reset == RESET_SUBTRACT:
            vn = vp - sv * (v_th[i] - v_reset[i])
        elif relaxed:
            vn = vp - sv * (vp - v_reset[i])
        else:
            vn = v_reset[i] if sv > 0.0 else vp
        if frac:  # shift: the continuous increment up to threshold; jump/subtract: all of it
            if reset == RESET_SHIFT:
                q[n, i] = (vp - vk) - sv * x if relaxed or sv == 0.0 else v_th[i] - vk
            else:
                q[n, i] = vn - vk
        v[i] = vn
        s_out[i] = sv


@njit(cache=True)
def _step_backward(frac, vk, d, h, a_v, a_s, gv, far_row, a_h, n, m1, coef, ha, theta, kap,
                   inv_den, v_rest, v_th, v_reset, decay, tau, dt, relaxed, sk, sp, a_d, g_tau,
                   scratch, held, reset):
    """Adjoint of one step of a population: ``a_v`` (adjoint of v_{n+1} in, of v_n^+ out,
    with the loss's ``gv``), ``a_d`` the drive's adjoint, ``a_h[n]`` (fractional) and the
    per-neuron ``g_tau``; returns the step's ``(dL/dh^a, dL/dc_0)`` (fractional).
    ``kap = 1/tau``, ``inv_den = 1 / (c_0 + theta h^a kap)`` per neuron.  A held neuron
    passes nothing on (integer order: ``v_{n+1} = v_reset``) or its ``a_v`` unchanged
    (fractional: ``v_{n+1} = v_n^+``)."""
    size = vk.shape[0]
    g_ha = 0.0
    g_c0 = 0.0
    w = sp[0]
    if frac:  # a^q_n = far + sum_{m=n+1}^{m1-1} c_{m-n} a^H_m
        for i in range(size):
            scratch[i] = far_row[i]
        for m in range(n + 1, m1):
            c = coef[m - n]
            for i in range(size):
                scratch[i] += c * a_h[m, i]
        for i in range(size):
            if held[i]:
                a_d[i] = 0.0
                a_h[n, i] = 0.0
                a_v[i] += gv[i]
                continue
            rhs = v_rest[i] - vk[i] + d[i]
            dv = (ha * kap[i] * rhs - h[i]) * inv_den[i]
            vp = vk[i] + dv
            x = vp - v_th[i]
            sv = _relaxed(sk, x, w) if relaxed else (1.0 if x >= 0.0 else 0.0)
            sig = S.surrogate_grad(sk, sp, x, w)
            a_q = scratch[i]
            if reset == RESET_SHIFT:
                a_vp = (a_v[i] * (1.0 - sv - sig * (vp - v_reset[i])) + a_s[i] * sig
                        + a_q * (1.0 - sv - sig * x))
            elif reset == RESET_JUMP:  # q_n = v_{n+1} - v_n^+
                a_vp = (a_v[i] + a_q) * (1.0 - sv - sig * (vp - v_reset[i])) + a_s[i] * sig
            else:  # subtract: v_{n+1} = v' - s (v_th - v_reset), q_n = v_{n+1} - v_n^+
                a_vp = (a_v[i] + a_q) * (1.0 - sig * (v_th[i] - v_reset[i])) + a_s[i] * sig
            a_dv = a_vp * inv_den[i]
            a_v[i] = a_vp - a_dv * ha * kap[i] - a_q + gv[i]
            a_d[i] = a_dv * ha * kap[i]
            a_h[n, i] = -a_dv
            r = rhs - theta * dv
            g_tau[i] -= a_dv * ha * r * kap[i] * kap[i]
            g_ha += a_dv * kap[i] * r
            g_c0 -= a_dv * dv
        return g_ha, g_c0
    for i in range(size):
        if held[i]:
            a_d[i] = 0.0
            a_v[i] = gv[i]
            continue
        v_inf = v_rest[i] + d[i]
        e = decay[i]
        vp = v_inf + (vk[i] - v_inf) * e
        x = vp - v_th[i]
        sv = _relaxed(sk, x, w) if relaxed else (1.0 if x >= 0.0 else 0.0)
        sig = S.surrogate_grad(sk, sp, x, w)
        if reset == RESET_SUBTRACT:
            a_vp = a_v[i] * (1.0 - sig * (v_th[i] - v_reset[i])) + a_s[i] * sig
        else:
            a_vp = a_v[i] * (1.0 - sv - sig * (vp - v_reset[i])) + a_s[i] * sig
        a_d[i] = a_vp * (1.0 - e)
        g_tau[i] += a_vp * (vk[i] - v_inf) * e * dt / (tau[i] * tau[i])
        a_v[i] = a_vp * e + gv[i]
    return g_ha, g_c0


# ------------------------------------------------------------------------- problem
@dataclasses.dataclass
class _Group:
    """The synapses of one projection with one delay, in CSR order by source."""

    delay: int
    ptr: np.ndarray  # (n_src + 1,)
    post: np.ndarray
    widx: np.ndarray  # index into the projection's weight array
    w: np.ndarray  # current weights of these synapses


@dataclasses.dataclass
class _Proj:
    name: str
    src: int
    dst: int
    target: int  # channel index of dst, or -1 for delta
    weight: np.ndarray
    groups: list


@dataclasses.dataclass
class _Pop:
    name: str
    n: int
    tau: np.ndarray
    v_rest: np.ndarray
    v_th: np.ndarray
    v_reset: np.ndarray
    v0: np.ndarray
    iconst: np.ndarray
    icol: np.ndarray
    itime: np.ndarray
    chan_decay: np.ndarray  # (C,)
    alpha: float | None  # None: integer order
    tau_shared: bool
    ref: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    reset: int = RESET_SHIFT  # the integer-order LIF always resets to v_reset
    coef: np.ndarray | None = None  # c_0 .. c_W (W = N for a full memory)
    ha: float = 1.0
    memory: object = None  # FullMemory or SOE (fractional populations)
    W: int = 0  # noqa: N815 - exact window (SOE: a few steps; FullMemory: N)
    lam: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))  # SOE decays
    beta: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    mu: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))  # lam^(W+1)
    gam: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))  # dbeta/dalpha

    @property
    def soe(self) -> bool:
        """An exponential tail (the exact window shorter than the run)."""
        return self.lam.shape[0] > 0


@dataclasses.dataclass
class Problem:
    dt: float
    N: int  # noqa: N815
    scheme: str
    pops: list
    projs: list
    sur: S.Surrogate
    relaxed: bool = False  # smooth spikes s = sigma(v' - v_th) in the forward pass too

    def drive(self, p: _Pop, n: int) -> np.ndarray:
        d = p.iconst.copy()
        if p.itime.shape[1]:
            d += p.itime[n, p.icol]
        return d

    def set_alpha(self, k: int, alpha: float) -> None:
        """Order of population ``k``: its kernel (and SOE fit, refitted as the engine
        would, with the fit's alpha-derivative ``gam``)."""
        p = self.pops[k]
        p.alpha = float(alpha)
        p.ha = self.dt ** p.alpha
        if p.memory is None or p.memory.kind == "full":
            p.coef = kernel(self.scheme, p.alpha, self.N + 1)
            p.W = self.N
            return
        arr = fmem.build_arrays(np.full(1, p.alpha), self.dt, self.scheme, p.memory, self.N)
        p.coef = arr.coef[0]
        p.W = p.coef.shape[0] - 1
        live = arr.lam[0] > 0
        p.lam, p.beta, p.mu = arr.lam[0][live], arr.beta[0][live], arr.mu[0][live]
        p.gam = (soe_derivative(self.scheme, p.alpha, p.W, p.lam, arr.horizon + 1)[0]
                 if p.lam.shape[0] else np.zeros(0))
        if p.W >= self.N:  # every lag exact: the full-memory path
            p.lam = p.beta = p.mu = p.gam = np.zeros(0)


def _projection_names(net) -> list[str]:
    names, seen = [], {}
    for pr in net.projections:
        base = f"{pr.src.name}->{pr.dst.name}"
        seen[base] = seen.get(base, 0) + 1
    count = {}
    for pr in net.projections:
        base = f"{pr.src.name}->{pr.dst.name}"
        if seen[base] == 1:
            names.append(base)
        else:
            names.append(f"{base}[{count.get(base, 0)}]")
            count[base] = count.get(base, 0) + 1
    return names


def build(net, t_stop: float, surrogate, relaxed: bool = False) -> Problem:
    """Validate ``net`` for differentiation and flatten it (see the module docstring)."""
    from .._validate import positive_float
    from ..engine.runner import _currents

    if net._compiled is not None:
        raise ValueError("the network has already run; build a new one to differentiate "
                         "(gradients start from its initial state)")
    t_stop = positive_float("t_stop", t_stop)
    dt = net.dt
    n_steps = int(round(t_stop / dt))
    if n_steps < 1:
        raise ValueError(f"t_stop must be at least one step (dt = {dt} ms), got {t_stop}")
    if net.poisson_inputs:
        raise ValueError("gradients of networks with Poisson inputs are not supported yet "
                         "(use a TimedArray current with a fixed spike pattern)")
    if not isinstance(surrogate, S.Surrogate) or isinstance(surrogate, S.MPDAGL):
        raise TypeError("surrogate must be a fixed-width fs.surrogate object (Sigmoid, ArcTan, "
                        f"Triangle, Gaussian, Rectangle), got {surrogate!r}")
    scheme = net.scheme
    t_grid = np.arange(n_steps) * dt
    pops = []
    index = {id(p): k for k, p in enumerate(net.populations)}
    chans = [[] for _ in net.populations]
    for pr in net.projections:
        if isinstance(pr.synapse, ExpSynapse):
            if pr.synapse not in chans[index[id(pr.dst)]]:
                chans[index[id(pr.dst)]].append(pr.synapse)
        elif pr.synapse != "delta":
            raise ValueError(f"projection {pr.src.name}->{pr.dst.name}: only delta and "
                             f"ExpSynapse synapses can be differentiated, got {pr.synapse}")
    for k, pop in enumerate(net.populations):
        m = pop.model
        if type(m) is not LIF:
            raise ValueError(f"population {pop.name}: network gradients support fs.LIF "
                             f"populations only (got {type(m).__name__})")
        if pop.memory is not None and m.reset not in _RESETS:
            raise ValueError(f"population {pop.name}: reset must be one of {sorted(_RESETS)} "
                             f"for network gradients, got {m.reset!r}")
        if m.orders:
            raise ValueError(f"population {pop.name}: multi-term orders are not supported")
        alpha = None
        if pop.memory is not None:
            if pop.memory.kind not in ("full", "soe"):
                raise ValueError(f"population {pop.name}: network gradients support "
                                 f"fs.FullMemory() and fs.SOE() for fractional populations, "
                                 f"got {pop.memory}")
            if scheme not in ("gl", "l1"):
                raise ValueError(f"scheme must be 'gl' or 'l1' for network gradients, got "
                                 f"{scheme!r}")
            a = np.unique(m.value("alpha", pop.n))
            if a.shape[0] != 1:
                raise ValueError(f"population {pop.name}: one order per population (got "
                                 f"{a.shape[0]} distinct alphas)")
            alpha = float(a[0])
        iconst, icol, itime = _currents(net, k, pop, t_grid)
        p = _Pop(name=pop.name, n=pop.n, tau=m.value("tau", pop.n),
                 v_rest=m.value("v_rest", pop.n), v_th=m.value("v_th", pop.n),
                 v_reset=m.value("v_reset", pop.n), v0=pop.init[0].copy(),
                 iconst=iconst, icol=icol, itime=itime,
                 chan_decay=np.array([np.exp(-dt / c.tau) for c in chans[k]]),
                 alpha=alpha, tau_shared=np.ndim(m._values["tau"]) == 0, memory=pop.memory,
                 ref=np.asarray(m.refractory_steps(pop.n, dt)).astype(np.int64),
                 reset=_RESETS.get(m.reset, RESET_SHIFT) if pop.memory is not None
                 else RESET_JUMP)
        pops.append(p)
    prob = Problem(dt=dt, N=n_steps, scheme=scheme, pops=pops, projs=[], sur=surrogate,
                   relaxed=bool(relaxed))
    for k, p in enumerate(pops):
        if p.alpha is not None:
            prob.set_alpha(k, p.alpha)
    for name, pr in zip(_projection_names(net), net.projections, strict=True):
        src, dst = index[id(pr.src)], index[id(pr.dst)]
        target = (-1 if pr.synapse == "delta"
                  else chans[dst].index(pr.synapse))
        groups = []
        for d in np.unique(pr.delay_steps):
            sel = np.flatnonzero(pr.delay_steps == d)
            order = sel[np.argsort(pr.pre[sel], kind="stable")]
            ptr = np.searchsorted(pr.pre[order], np.arange(pr.src.n + 1)).astype(np.int64)
            groups.append(_Group(delay=int(d), ptr=ptr, post=pr.post[order].astype(np.int64),
                                 widx=order.astype(np.int64),
                                 w=pr.weight[order].astype(np.float64)))
        prob.projs.append(_Proj(name=name, src=src, dst=dst, target=target,
                                weight=pr.weight.astype(np.float64).copy(), groups=groups))
    return prob


def parameter_names(prob: Problem) -> dict[str, tuple]:
    """Learnable names -> ("pop", k, attribute) or ("proj", j)."""
    out = {}
    for k, p in enumerate(prob.pops):
        out[f"{p.name}.tau"] = ("pop", k, "tau")
        if p.alpha is not None:
            out[f"{p.name}.alpha"] = ("pop", k, "alpha")
    for j, pr in enumerate(prob.projs):
        out[f"{pr.name}.weight"] = ("proj", j)
    return out


def set_weights(prob: Problem, j: int, weight: np.ndarray) -> None:
    pr = prob.projs[j]
    pr.weight = np.asarray(weight, dtype=np.float64).copy()
    for g in pr.groups:
        g.w = pr.weight[g.widx]


# ------------------------------------------------------------------------- forward
def _dependent(prob: Problem, names: Sequence[str]) -> list[bool]:
    """Populations whose trajectory a learnable parameter can change."""
    table = parameter_names(prob)
    dep = [False] * len(prob.pops)
    for nm in names:
        kind = table[nm]
        if kind[0] == "pop":
            dep[kind[1]] = True
        else:
            dep[prob.projs[kind[1]].dst] = True
    changed = True
    while changed:
        changed = False
        for pr in prob.projs:
            if dep[pr.src] and not dep[pr.dst]:
                dep[pr.dst] = changed = True
    return dep


def _history_far(coef: np.ndarray, q: np.ndarray, n0: int, rows: int) -> np.ndarray:
    """``far[b] = sum_{m < n0} c_{n0+b-m} q_m`` for ``b < rows`` (one matrix product)."""
    if n0 == 0:
        return np.zeros((rows, q.shape[1]))
    return fmem.far_kernel(coef, n0, rows) @ q[:n0]  # the engine's far sums (fill_far)


def _kernel_constants(prob: Problem) -> tuple:
    """What the step kernels take besides the state: ``theta`` (1 for L1, 0 for GL), the
    surrogate's kind and parameters, ``exp(-dt/tau)`` per population, zero placeholders
    (1-D per population, 2-D) and a scratch row per population."""
    pops = prob.pops
    return (1.0 if prob.scheme == "l1" else 0.0, prob.sur.kind,
            np.array(prob.sur.params, dtype=np.float64),
            [np.exp(-prob.dt / p.tau) for p in pops], [np.zeros(p.n) for p in pops],
            np.zeros((1, 1)), [np.zeros(p.n) for p in pops])


def recordable(prob: Problem) -> list[str]:
    """The arrays a loss can read: ``"<pop>.v"``, ``"<pop>.spikes"`` (``(N, n)``), ``"t"``."""
    return [f"{p.name}.{var}" for p in prob.pops for var in ("v", "spikes")] + ["t"]


def forward(prob: Problem, dep: list[bool] | None = None, keep: bool = False,
            reads: Sequence[str] | None = None) -> dict:
    """Simulate; returns the recorded arrays ``reads`` (default: all of
    :func:`recordable`) and, with ``keep``, the trajectory of the populations in ``dep``
    for the adjoint (``v^+``, ``d``, ``H``; ``q`` is the simulation's own state)."""
    N, dt = prob.N, prob.dt  # noqa: N806
    pops, projs = prob.pops, prob.projs
    dep = dep or [False] * len(pops)
    depth = max([g.delay for pr in projs for g in pr.groups] + [0]) + 2
    # arrival rings per (pop, target): target -1 delta, else channel
    ring = [{t: np.zeros((depth, p.n)) for t in [-1] + list(range(p.chan_decay.shape[0]))}
            for p in pops]
    v = [p.v0.copy() for p in pops]
    G = [np.zeros((p.chan_decay.shape[0], p.n)) for p in pops]
    reads = set(recordable(prob) if reads is None else reads)
    rec_v = [np.empty((N, p.n)) if f"{p.name}.v" in reads or (keep and dep[k]) else None
             for k, p in enumerate(pops)]
    rec_s = [np.zeros((N, p.n)) if f"{p.name}.spikes" in reads or (keep and prob.relaxed)
             else None for p in pops]
    active = [[None] * N for _ in pops]
    traj = {}
    q_hist, far = {}, {}
    nb = fmem.FAR_BLOCK or 1
    for k, p in enumerate(pops):
        if p.alpha is not None:
            q_hist[k] = np.zeros((N, p.n))
        if keep and dep[k]:
            traj[k] = {"d": np.empty((N, p.n)),
                       "H": np.empty((N, p.n)) if p.alpha is not None else None}
    theta, sk, sp, decay, zero, zero2, scratch = _kernel_constants(prob)
    spk_now = [np.zeros(p.n) for p in pops]
    U = [np.zeros((p.lam.shape[0], p.n)) for p in pops]  # noqa: N806 - SOE states
    until = [np.zeros(p.n, dtype=np.int64) for p in pops]  # refractory until this step
    held = [np.zeros((N, p.n), dtype=np.bool_) if keep and dep[k] and np.any(p.ref > 0)
            else None for k, p in enumerate(pops)]
    held_now = [np.zeros(p.n, dtype=np.bool_) for p in pops]
    for n in range(N):
        slot = n % depth
        for k, p in enumerate(pops):
            r = ring[k]
            v[k] += r[-1][slot]
            r[-1][slot] = 0.0
            for c in range(p.chan_decay.shape[0]):
                G[k][c] += r[c][slot]
                r[c][slot] = 0.0
            if rec_v[k] is not None:
                rec_v[k][n] = v[k]
        for k, p in enumerate(pops):
            d = prob.drive(p, n)
            if G[k].shape[0]:
                d += G[k].sum(axis=0) if G[k].shape[0] > 1 else G[k][0]
                G[k] *= p.chan_decay[:, None]
            frac = p.alpha is not None
            if frac and p.soe:  # exact window of W lags + the exponential tail beta . U
                b = min(n, p.W)
                far_row = p.beta @ U[k]
            elif frac:
                b = n % nb
                if b == 0:  # far lags by block: one matrix product
                    far[k] = _history_far(p.coef, q_hist[k], n, min(nb, N - n))
                far_row = far[k][b]
            else:
                b, far_row = 0, zero[k]
            h_row = traj[k]["H"][n] if keep and dep[k] and frac else scratch[k]
            s = spk_now[k]
            hrow = held[k][n] if held[k] is not None else held_now[k]
            _step_forward(frac, v[k], d, far_row, p.coef if frac else zero[k],
                          q_hist[k] if frac else zero2, n, b, p.ha, theta, p.tau, p.v_rest,
                          p.v_th, p.v_reset, decay[k], prob.relaxed, sk, sp, s, h_row,
                          until[k], p.ref, hrow, p.reset)
            if frac and p.soe and n >= p.W:  # U_j <- lam_j U_j + lam_j^(W+1) q_{n-W}
                U[k] *= p.lam[:, None]
                U[k] += p.mu[:, None] * q_hist[k][n - p.W]
            if keep and dep[k]:
                traj[k]["d"][n] = d
            if rec_s[k] is not None:
                rec_s[k][n] = s
            act = np.flatnonzero(s)
            active[k][n] = act
            if act.shape[0]:
                for pr in projs:
                    if pr.src != k:
                        continue
                    for g in pr.groups:
                        _scatter(act, s, g.ptr, g.post, g.w, ring[pr.dst][pr.target][
                            (n + 1 + g.delay) % depth])
    rec = {"t": np.arange(N) * dt} if "t" in reads else {}
    for k, p in enumerate(pops):
        if keep and dep[k]:
            traj[k]["v"] = rec_v[k]
        for var, arr in (("v", rec_v[k]), ("spikes", rec_s[k])):
            if f"{p.name}.{var}" in reads:
                rec[f"{p.name}.{var}"] = arr
    # spike values of every step (1 for a hard spike; the relaxed model needs them all)
    spk = rec_s if prob.relaxed else None
    return {"rec": rec, "traj": traj, "q": q_hist, "active": active, "depth": depth,
            "spk": spk, "held": held}


# ------------------------------------------------------------------------- adjoint
def _correlate_lags(a: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``R[k] = sum_n sum_i a[n, i] q[n - k, i]`` for ``k = 0 .. N-1`` (FFT, chunked)."""
    N = a.shape[0]  # noqa: N806
    size = 1 << int(np.ceil(np.log2(2 * N)))
    acc = np.zeros(size // 2 + 1, dtype=np.complex128)
    step = max(1, (1 << 19) // size)  # neurons per chunk: a few MB of spectra
    for lo in range(0, a.shape[1], step):  # time made contiguous: fast transforms
        fa = sfft.rfft(np.ascontiguousarray(a[:, lo:lo + step].T), size, axis=1, workers=-1)
        fq = sfft.rfft(np.ascontiguousarray(q[:, lo:lo + step].T), size, axis=1, workers=-1)
        acc += np.einsum("if,if->f", fa, np.conj(fq))
    return sfft.irfft(acc, size)[:N]


def backward(prob: Problem, fwd: dict, grads: dict, names: Sequence[str],
             dep: list[bool]) -> dict[str, np.ndarray]:
    """Gradients of the loss (its gradients ``grads`` w.r.t. the recorded arrays)."""
    N, dt = prob.N, prob.dt  # noqa: N806
    pops, projs = prob.pops, prob.projs
    traj, qh, active, depth = fwd["traj"], fwd["q"], fwd["active"], fwd["depth"]
    table = parameter_names(prob)
    want = {table[nm] for nm in names}
    nb = fmem.FAR_BLOCK or 1
    a_v = {k: np.zeros(p.n) for k, p in enumerate(pops) if dep[k]}
    a_G = {k: np.zeros((p.chan_decay.shape[0], p.n)) for k, p in enumerate(pops) if dep[k]}
    a_s_ring = {k: np.zeros((depth, p.n)) for k, p in enumerate(pops) if dep[k]}
    a_H = {k: np.zeros((N, p.n)) for k, p in enumerate(pops) if dep[k] and p.alpha is not None}
    far_b = {}
    g_tau = {k: np.zeros(p.n) for k, p in enumerate(pops) if dep[k]}
    g_ha = dict.fromkeys(a_H, 0.0)
    g_c0 = dict.fromkeys(a_H, 0.0)
    g_w = {j: np.zeros(pr.weight.shape[0]) for j, pr in enumerate(projs)
           if ("proj", j) in want}
    gv = {k: grads.get(f"{p.name}.v") for k, p in enumerate(pops)}
    gs = {k: grads.get(f"{p.name}.spikes") for k, p in enumerate(pops)}
    theta, sk, sp, decay, zero, zero2, scratch = _kernel_constants(prob)
    ones = [np.ones(p.n) for p in pops]
    never = [np.zeros(p.n, dtype=np.bool_) for p in pops]
    a_d_buf = [np.zeros(p.n) for p in pops]
    V = [np.zeros((p.lam.shape[0], p.n)) for p in pops]  # noqa: N806 - SOE adjoint states
    soe_acc = [np.zeros(p.lam.shape[0]) for p in pops]
    kap = [1.0 / p.tau for p in pops]
    inv_den = [1.0 / ((p.coef[0] if p.alpha is not None else 1.0) + theta * p.ha * kk)
               for p, kk in zip(pops, kap, strict=True)]
    idx = np.int32 if max([g.post.shape[0] for pr in projs for g in pr.groups] + [0]) < 2**31 \
        else np.int64  # 32-bit indices: a third less memory traffic per synapse
    mats = {id(g): sparse.csr_matrix((g.w, g.post.astype(idx), g.ptr.astype(idx)),
                                     shape=(pops[pr.src].n, pops[pr.dst].n))
            for pr in projs if dep[pr.src] and dep[pr.dst] for g in pr.groups}
    for n in range(N - 1, -1, -1):
        slot = n % depth
        a_arr = {}
        for k in range(len(pops) - 1, -1, -1):
            if not dep[k]:
                continue
            p = pops[k]
            frac = p.alpha is not None
            a_s = a_s_ring[k][slot]
            if gs[k] is not None:
                a_s += gs[k][n]
            if frac and p.soe:  # a^q_n = sum_{k<=W} c_k a^H_{n+k} + beta . V[n]
                m1 = min(n + p.W + 1, N)
                far_row = p.beta @ V[k]
                soe_acc[k] += V[k] @ qh[k][n]  # sum_m <q_m, V_j[m]>: the gamma term
            elif frac:
                m0 = n - n % nb
                m1 = min(m0 + nb, N)
                if n == m1 - 1:  # a^q's lags beyond the block: one matrix product
                    far_b[k] = _adjoint_far(p.coef, a_H[k], m0, m1, N)
                far_row = far_b[k][n - m0]
            else:
                m1, far_row = 0, zero[k]
            a_d = a_d_buf[k]
            gh, gc = _step_backward(
                frac, traj[k]["v"][n], traj[k]["d"][n], traj[k]["H"][n] if frac else zero[k],
                a_v[k], a_s, gv[k][n] if gv[k] is not None else zero[k],
                far_row, a_H[k] if frac else zero2, n, m1,
                p.coef if frac else zero[k], p.ha, theta, kap[k], inv_den[k], p.v_rest, p.v_th,
                p.v_reset, decay[k], p.tau, dt, prob.relaxed, sk, sp, a_d, g_tau[k], scratch[k],
                fwd["held"][k][n] if fwd["held"][k] is not None else never[k], p.reset)
            a_s[:] = 0.0
            if frac and p.soe:  # V_j[n-1] = lam_j V_j[n] + lam_j^(W+1) a^H_{n+W}
                V[k] *= p.lam[:, None]
                if n + p.W < N:
                    V[k] += p.mu[:, None] * a_H[k][n + p.W]
            if frac:
                g_ha[k] += gh
                g_c0[k] += gc
            a_vn = a_v[k]  # adjoint of v_n^+ = v_n (+ delta arrivals)
            if a_G[k].shape[0]:
                a_G[k] = a_G[k] * p.chan_decay[:, None] + a_d
            a_arr[k] = a_vn
        # arrivals of step n: credit their weights and the spikes that caused them
        for j, pr in enumerate(projs):
            k = pr.dst
            if not dep[k]:
                continue
            a_A = a_arr[k] if pr.target < 0 else a_G[k][pr.target]
            for g in pr.groups:
                m = n - 1 - g.delay
                if m < 0:
                    continue
                if j in g_w:
                    act = active[pr.src][m]
                    if act.shape[0]:
                        spk = (fwd["spk"][pr.src][m] if fwd["spk"] is not None
                               else ones[pr.src])
                        _weight_grad(act, spk, g.ptr, g.post, g.widx, a_A, g_w[j])
                if dep[pr.src]:  # a^s_pre[m] += W a^A_post[n]: CSR (rows = sources)
                    a_s_ring[pr.src][m % depth] += mats[id(g)] @ a_A
    out = {}
    for nm in names:
        kind = table[nm]
        if kind[0] == "proj":
            out[nm] = g_w[kind[1]]
            continue
        k, attr = kind[1], kind[2]
        p = pops[k]
        if attr == "tau":
            out[nm] = np.array(g_tau[k].sum()) if p.tau_shared else g_tau[k]
        else:
            dc = kernel_derivative(prob.scheme, p.alpha, np.arange(min(p.W, N) + 1))
            if p.soe:  # window lags directly, the tail through the fit's dbeta/dalpha
                val = sum(float(dc[kk] * np.sum(a_H[k][kk:] * qh[k][:N - kk]))
                          for kk in range(1, min(p.W, N - 1) + 1))
                val += float(p.gam @ soe_acc[k])
            else:
                corr = _correlate_lags(a_H[k], qh[k])  # R[k] = sum_n <a_H[n], q[n-k]>
                val = float(dc[1:N] @ corr[1:N])
            val += g_ha[k] * p.ha * np.log(dt) + g_c0[k] * dc[0]
            out[nm] = np.array(val)
    return out


def _adjoint_far(coef: np.ndarray, a_h: np.ndarray, m0: int, m1: int, N: int) -> np.ndarray:  # noqa: N803
    """``far[r] = sum_{m >= m1} c_{m - m0 - r} a_h[m]`` for the block's steps ``m0 + r < m1``
    (one matrix product)."""
    rows, cnt = m1 - m0, N - m1
    if cnt <= 0:
        return np.zeros((rows, a_h.shape[1]))
    # row r needs c_{rows - r + j}, j = 0 .. cnt-1: windows of c_1 .. c_{rows + cnt - 1}
    win = np.lib.stride_tricks.sliding_window_view(coef[1:rows + cnt], cnt)
    return np.ascontiguousarray(win[::-1]) @ a_h[m1:N]


# ---------------------------------------------------------------------------- API
def value_and_grad(net, params, loss: Loss, t_stop: float, *, method: str = "adjoint",
                   surrogate=None, relaxed: bool = False, eps: float = 1e-6):
    """Loss of ``net.run(t_stop)`` and its gradient w.r.t. ``params`` (module docstring)."""
    from .._validate import choice, positive_float

    choice("method", method, ("adjoint", "forward", "finite_difference"))
    eps = positive_float("eps", eps)
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a fracsim.grad.loss object, got {type(loss).__name__}")
    prob = build(net, t_stop, surrogate, relaxed)
    table = parameter_names(prob)
    if isinstance(params, str):
        params = [params]
    names = list(params)
    if not names:
        raise ValueError("params must name at least one parameter")
    for nm in names:
        if nm not in table:
            raise ValueError(f"unknown parameter {nm!r}; learnable: {sorted(table)}")
    if len(set(names)) != len(names):
        raise ValueError(f"params has duplicates: {names}")
    reads = tuple(getattr(loss, "reads", ()))
    unknown = [key for key in reads if key not in recordable(prob)]
    if unknown:
        raise ValueError(f"the loss reads {unknown}, which a network does not record; it "
                         f"records {recordable(prob)}")
    if method == "finite_difference":
        return _finite_differences(prob, names, loss, eps, reads)
    if method == "forward":
        from .network_forward import value_and_grad_forward

        return value_and_grad_forward(prob, names, loss)
    dep = _dependent(prob, names)
    fwd = forward(prob, dep, keep=True, reads=reads)
    val, grads = loss.value_and_grad(fwd["rec"])
    fwd["rec"] = None  # the loss has read it
    return float(val), backward(prob, fwd, grads, names, dep)


def _get(prob: Problem, kind: tuple) -> np.ndarray:
    if kind[0] == "proj":
        return prob.projs[kind[1]].weight.copy()
    p = prob.pops[kind[1]]
    if kind[2] == "tau":
        return np.array(p.tau[0]) if p.tau_shared else p.tau.copy()
    return np.array(p.alpha)


def _put(prob: Problem, kind: tuple, value: np.ndarray) -> None:
    if kind[0] == "proj":
        set_weights(prob, kind[1], value)
        return
    p = prob.pops[kind[1]]
    if kind[2] == "tau":
        p.tau = np.broadcast_to(value, (p.n,)).astype(np.float64)
    else:
        prob.set_alpha(kind[1], float(value))


def _finite_differences(prob: Problem, names, loss: Loss, eps: float, reads):
    table = parameter_names(prob)
    val = float(loss.value(forward(prob, reads=reads)["rec"]))
    out = {}
    for nm in names:
        kind = table[nm]
        base = _get(prob, kind)
        g = np.zeros(base.shape)
        for idx in np.ndindex(base.shape):
            h = eps * max(1.0, abs(float(base[idx])))
            vals = []
            for sgn in (1.0, -1.0):
                x = base.copy()
                x[idx] += sgn * h
                _put(prob, kind, x)
                vals.append(float(loss.value(forward(prob, reads=reads)["rec"])))
            g[idx] = (vals[0] - vals[1]) / (2 * h)
        _put(prob, kind, base)
        out[nm] = g
    return val, out
