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
a^A_post[m+1+D]``, a sparse mat-vec) and the history adjoint ``a^q_m = sum_{n>m} c_{n-m}
a^H_n``; weights get ``dL/dw_syn = sum_m s_pre[m] a^A_post[m + 1 + D]`` (work proportional
to the spikes), the order ``dL/dalpha = sum_n <a^H_n, sum_k dc_k/dalpha q_{n-k}> + (terms
of h^a and c_0)``, the first sum taken as ``sum_m <q_m, b_m>``, ``b_m = sum_{n>m}
dc_{n-m}/dalpha a^H_n``, beside ``a^q_m``.  The history sums of a full memory (``H``
forward; ``a^q`` and the order term backward) are evaluated by blocks of
:func:`block_steps` steps: a block's own lags in the step kernels, the lags between
blocks by :class:`fracsim.fractional.far_sums.FarSums` (matrix products within chunks of
2048 steps, FFT convolutions between chunks: ``O(n N log^2 N)`` instead of ``O(n N^2)``
for the long runs; the same sums to rounding); with SOE the adjoint carries the states'
adjoints ``V_j[n-1] = lam_j V_j[n] + lam_j^(W+1) a^H_{n+W}`` (O(K) per step) and the
order's derivative takes the fit's ``dbeta/dalpha``
(:func:`fracsim.grad.alpha.soe_derivative`) through ``sum_m <q_m, V_j[m]>``.  Populations
that no learnable parameter can influence (e.g. an input layer) are simulated forward only.
A feed-forward network (no cycle between populations with an adjoint) is differentiated
layer by layer within each block, targets first, so that a block's spike adjoints are one
vectorised product per delay group (:func:`_adjoint_passes`); a recurrent one step by step.

Memory (checkpointing): the adjoint replays each block of :func:`block_steps` steps from
the state of the populations that need an adjoint (``v``, channels, refractory counters)
at its start (:func:`_replay`: for a fractional population ``v' = v^+ + q`` where no
spike was sent, so no history sum is redone) and overwrites ``q_n`` by ``a^H_n`` as it
passes step ``n``.  A full memory's increments ``q`` are the simulation's own state
(``N x n`` floats, which the forward pass needs anyway): its populations are checkpointed
per block.  Every other population (integer order, SOE) is checkpointed per segment of
:func:`segment_steps` ``L ~ sqrt(N S)`` steps (two levels, as the classic sqrt(T)
scheme): the forward keeps its state (and with SOE its tail states ``U`` and the window of
``W`` increments: ``S = K + W`` rows) once per segment and only a window of increments
while it runs; the adjoint regenerates a segment's block checkpoints and, with SOE, its
``L`` increments (:func:`_soe_reforward`, the forward's operations and bits) before it
passes the segment, so these populations keep ``O(sqrt(N S))`` rows per neuron instead of
``N``.  The spikes are kept (CSR by step: an int32 index per spike and one pointer per
step, with ``v'`` of a fractional neuron's spikes).  Nothing else grows with the number of
steps: no ``v``, ``d`` or ``H`` trajectory, and a loss that is a sum over steps of one
population's ``v`` (``fs.grad.loss.mse``) is summed by blocks in the forward, its gradient
rows recomputed from the replay, so its ``(N, n)`` array is never stored (the relaxed model
keeps every step's spike values, which its arrivals need).  Measured:
``benchmarks/gradient_memory.py``.

Populations of the other models (``fs.AdLIF``, ``fs.LNM`` with ``coef=``,
``fs.Conductance``; "generic") step by the differentiable one-step map of the
one-population gradients (:mod:`.model_derivatives`, dual numbers: the same operations as
the model's kernel, the Jacobian of the step actually run), checkpointed as LIF
populations (state ``z``, ``v`` first: delta arrivals add to it); with a full memory the
forward also keeps their histories ``H_n`` (``N x n``, beside the increments), with SOE
the adjoint regenerates a segment's histories with its increments
(:func:`.network_kernels._gp_soe_reforward`); the adjoint replays a block from them and
transposes each step's Jacobian onto ``(a^z_{n+1}, a^q_n, a^s_n)``
(:func:`.network_kernels._gp_step_backward`), the drive's adjoint going to the synapses as
for LIF.  Their parameters are every model parameter but ``R`` and ``t_ref``
(``"E.tau"``, ``"E.a"``, ``"E.coef"`` (``(degree + 1,)``), ``"E.fast_neg_gain"``,
``"E.alpha"``, ...): a scalar for a shared value, ``(n,)`` per neuron.  The conductance
neuron has no reset and its spikes carry no gradient: with a loss on its ``v`` the
gradient is exact.

Scope of this version: LIF populations (integer order, or fractional GL/L1 with
``FullMemory`` or ``SOE`` and one order per population), resets "shift", "jump" and
"subtract" (the engine's semantics, :mod:`fracsim.fractional.stepper`), refractory periods
(held steps as in the engine; their onsets are events, not differentiated); generic
populations at integer order or with ``FullMemory`` or ``SOE``, with refractory periods
(the engine's holds, :func:`fracsim.grad.model_derivatives.step`); ``ExpSynapse`` and
delta synapses with any delays, constant and time-varying currents, Poisson inputs (the
events ``net.run`` draws from the network's seed, reproduced by
:func:`.network_kernels._poisson_events` and delivered as arrivals: inputs, not
parameters), fixed-width surrogates; forward mode (tangents, one pass per direction; a
generic population's step Jacobian applied forwards) in :mod:`.network_forward`.
Parameters: ``"<pop>.tau"``,
``"<pop>.alpha"`` (LIF), the generic ones above, ``"<src>-><dst>.weight"``
(``"<src>-><dst>[k].weight"`` for the k-th of several projections between the same
populations), gradients shaped like the parameter (a weight gradient has one entry per
synapse, in the projection's order).  The per-step loops of a block (forward and adjoint)
are compiled Numba functions over typed lists of the populations' and delay groups' arrays
(:mod:`.network_kernels`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from numba.typed import List

from ..engine.rng import seed_state
from ..engine.runner import CurrentPlan
from ..fractional import memory as fmem
from ..fractional.far_sums import FarSums
from ..fractional.weights import kernel
from ..inputs import evaluate
from ..models.lif import LIF
from ..synapses import ExpSynapse
from . import surrogate as S
from .alpha import kernel_derivative, soe_derivative
from .loss import Loss, Stepwise
from .model_derivatives import Spec, n_registers, spec_of, theta_of
from .network_kernels import (
    _RESETS,
    RESET_JUMP,
    RESET_SHIFT,
    _backward_pass,
    _forward_block,
    _gp_replay,
    _gp_soe_reforward,
    _poisson_events,
    _replay,
    _scatter,
    _soe_reforward,
    _spike_adjoint_block,
)


# ------------------------------------------------------------------------- problem
@dataclasses.dataclass
class _Group:
    """The synapses of one projection with one delay, in CSR order by source."""

    delay: int
    ptr: np.ndarray  # (n_src + 1,) uint32 (uint64 beyond 2^32 synapses)
    post: np.ndarray
    widx: np.ndarray  # index into the projection's weight array; empty: the identity
    w: np.ndarray  # current weights of these synapses (a view when widx is the identity)

    @property
    def index(self):
        """``widx`` for NumPy indexing (a full slice for the identity)."""
        return self.widx if self.widx.shape[0] else slice(None)


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
    currents: CurrentPlan
    t_grid: np.ndarray
    chan_decay: np.ndarray  # (C,)
    alpha: float | None  # None: integer order
    tau_shared: bool
    ref: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    rows_cache: tuple = (-1, None)  # (first step, rows) of the current block
    reset: int = RESET_SHIFT  # the integer-order LIF always resets to v_reset
    coef: np.ndarray | None = None  # c_0 .. c_W (W = N for a full memory)
    ha: float = 1.0
    memory: object = None  # FullMemory or SOE (fractional populations)
    W: int = 0  # noqa: N815 - exact window (SOE: a few steps; FullMemory: N)
    lam: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))  # SOE decays
    beta: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    mu: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))  # lam^(W+1)
    gam: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))  # dbeta/dalpha
    # a population of another model (AdLIF, LNM, Conductance): its differentiable step
    spec: Spec | None = None
    model: object = None
    #: Poisson input events (CSR by step): ``(ptr (N + 1,), neuron, ring row (0 delta,
    #: 1 + channel), value)``; ``ptr`` of length 1: none
    pois: tuple = dataclasses.field(default_factory=lambda: (
        np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)))
    th: np.ndarray | None = None  # (P, n) parameters in the spec's slots
    z0: np.ndarray | None = None  # (nz, n) initial state

    @property
    def generic(self) -> bool:
        """Stepped by the differentiable step of :mod:`.model_derivatives`, not LIF's."""
        return self.spec is not None

    @property
    def nz(self) -> int:
        return self.spec.nz if self.generic else 1

    def slots(self, attr: str) -> list[int]:
        """Rows of ``th`` holding the generic parameter ``attr`` (``coef``: every
        coefficient's)."""
        if attr == "coef":
            return [j for j, s in enumerate(self.spec.names) if s.startswith("coef[")]
        return [self.spec.names.index(attr)]

    def per_neuron(self, attr: str) -> bool:
        """The generic parameter ``attr`` has one value per neuron (else one, shared)."""
        return attr != "coef" and np.ndim(self.model._values[attr]) == 1

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
        """External drive of step ``n`` (the engine's: constant part plus the neuron's
        time-varying column)."""
        d = p.currents.iconst.copy()
        if p.currents.n_cols:
            m0, rows = self.current_rows(p, n)
            d += rows[n - m0, p.currents.icol]
        return d

    def current_rows(self, p: _Pop, n: int) -> tuple[int, np.ndarray]:
        """``(m0, rows)``: the time-varying input columns of the block of
        :func:`block_steps` steps that holds step ``n`` (evaluated once per block: no
        ``(N, columns)`` array)."""
        nb = block_steps()
        m0 = n - n % nb
        if p.rows_cache[0] != m0:
            buf = p.rows_cache[1]
            if buf is None or buf.shape[0] < nb:
                buf = np.zeros((nb, p.currents.n_cols))
            p.rows_cache = (m0, p.currents.rows(p.t_grid[m0:m0 + nb], buf))
        return p.rows_cache

    def set_alpha(self, k: int, alpha: float) -> None:
        """Order of population ``k``: its kernel (and SOE fit, refitted as the engine
        would, with the fit's alpha-derivative ``gam``)."""
        p = self.pops[k]
        p.alpha = float(alpha)
        p.ha = self.dt ** p.alpha
        if p.generic:
            p.th[p.spec.alpha_slot] = p.alpha
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


def _generic_spec(pop) -> Spec:
    """The differentiable step of a population of another model (AdLIF, LNM, Conductance),
    or an error naming what is not supported."""
    from .api import _check_model

    try:
        _check_model(pop.model)
    except (TypeError, ValueError) as err:
        raise type(err)(f"population {pop.name}: {err}") from None
    return spec_of(pop.model, set(pop.model.state_vars))  # the initial state is given


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

    if net._compiled is not None:
        raise ValueError("the network has already run; build a new one to differentiate "
                         "(gradients start from its initial state)")
    t_stop = positive_float("t_stop", t_stop)
    dt = net.dt
    n_steps = int(round(t_stop / dt))
    if n_steps < 1:
        raise ValueError(f"t_stop must be at least one step (dt = {dt} ms), got {t_stop}")
    if not isinstance(surrogate, S.Surrogate) or isinstance(surrogate, S.MPDAGL):
        raise TypeError("surrogate must be a fixed-width fs.surrogate object (Sigmoid, ArcTan, "
                        f"Triangle, Gaussian, Rectangle), got {surrogate!r}")
    scheme = net.scheme
    t_grid = np.arange(n_steps) * dt
    pops = []
    index = {id(p): k for k, p in enumerate(net.populations)}
    chans = [[] for _ in net.populations]
    # channels in the engine's order of first use: projections, then Poisson inputs
    for what, dst, syn in ([(f"projection {pr.src.name}->{pr.dst.name}", pr.dst, pr.synapse)
                            for pr in net.projections]
                           + [(f"Poisson input into {inp.target.name}", inp.target,
                               inp.synapse) for inp in net.poisson_inputs]):
        if isinstance(syn, ExpSynapse):
            if syn not in chans[index[id(dst)]]:
                chans[index[id(dst)]].append(syn)
        elif syn != "delta":
            raise ValueError(f"{what}: only delta and ExpSynapse synapses can be "
                             f"differentiated, got {syn}")
    for k, pop in enumerate(net.populations):
        m = pop.model
        gspec = None
        if type(m) is not LIF:
            gspec = _generic_spec(pop)
        elif pop.memory is not None and m.reset not in _RESETS:
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
        plan = CurrentPlan(net, pop)
        for spec in plan.specs:  # evaluate once by pieces: bad currents fail here
            for m0 in range(0, n_steps, 1024):
                evaluate(spec, t_grid[m0:m0 + 1024], f"current into {pop.name}")
        lif = {key: (m.value(key, pop.n) if gspec is None else np.zeros(pop.n))
               for key in ("tau", "v_rest", "v_th", "v_reset")}  # a generic one: unused
        p = _Pop(name=pop.name, n=pop.n, **lif, v0=pop.init[0].copy(),
                 currents=plan, t_grid=t_grid,
                 chan_decay=np.array([np.exp(-dt / c.tau) for c in chans[k]]),
                 alpha=alpha, tau_shared=gspec is None and np.ndim(m._values["tau"]) == 0,
                 memory=pop.memory,
                 ref=np.asarray(m.refractory_steps(pop.n, dt)).astype(np.int64),
                 reset=_RESETS.get(m.reset, RESET_SHIFT) if pop.memory is not None
                 else RESET_JUMP)
        if gspec is not None:
            p.spec, p.model, p.reset = gspec, m, gspec.reset
            p.th = theta_of(m, gspec, pop.n)
            p.z0 = np.array(pop.init, dtype=np.float64).copy()
            p.tau = np.ones(pop.n)
        pops.append(p)
    prob = Problem(dt=dt, N=n_steps, scheme=scheme, pops=pops, projs=[], sur=surrogate,
                   relaxed=bool(relaxed))
    _poisson_inputs(net, prob, index, chans)
    for k, p in enumerate(pops):
        if p.alpha is not None:
            prob.set_alpha(k, p.alpha)
    for name, pr in zip(_projection_names(net), net.projections, strict=True):
        src, dst = index[id(pr.src)], index[id(pr.dst)]
        target = (-1 if pr.synapse == "delta"
                  else chans[dst].index(pr.synapse))
        groups = []
        weight = np.asarray(pr.weight, dtype=np.float64)  # never written: set_weights replaces
        itype = np.uint32 if pr.pre.shape[0] < 2**32 else np.uint64  # unsigned: no
        # negative-index handling in the kernels' inner loops
        for d in np.unique(pr.delay_steps):
            sel = np.flatnonzero(pr.delay_steps == d)
            order = sel[np.argsort(pr.pre[sel], kind="stable")]
            ptr = np.searchsorted(pr.pre[order], np.arange(pr.src.n + 1)).astype(itype)
            ident = order.shape[0] == weight.shape[0] and np.all(order[1:] > order[:-1])
            widx = np.zeros(0, dtype=itype) if ident else order.astype(itype)
            groups.append(_Group(delay=int(d), ptr=ptr, post=pr.post[order].astype(itype),
                                 widx=widx, w=weight if ident else weight[order]))
            del sel, order
        prob.projs.append(_Proj(name=name, src=src, dst=dst, target=target,
                                weight=weight, groups=groups))
    return prob


def _poisson_inputs(net, prob: Problem, index: dict, chans: list) -> None:
    """The Poisson events ``net.run`` would draw (the engine's stream from the network's
    seed, :func:`.network_kernels._poisson_events`) as each target population's ``pois``:
    inputs that no parameter moves, delivered like arrivals at the start of their step."""
    if not net.poisson_inputs:
        return
    inps = net.poisson_inputs
    lam = np.concatenate([inp.rate * inp.n_sources * prob.dt * 1e-3 for inp in inps])
    pop = np.concatenate([np.full(inp.local.shape[0], index[id(inp.target)]) for inp in inps])
    loc = np.concatenate([inp.local for inp in inps]).astype(np.int64)
    row = np.concatenate([np.full(inp.local.shape[0], 0 if inp.synapse == "delta" else
                                  1 + chans[index[id(inp.target)]].index(inp.synapse))
                          for inp in inps]).astype(np.int64)
    w = np.concatenate([np.full(inp.local.shape[0], inp.weight) for inp in inps])
    rng = seed_state(net._engine_seed)
    count = _poisson_events(lam, prob.N, rng.copy(), False, np.zeros(1, np.int64),
                            np.zeros(1, np.int64), np.zeros(1, np.int64))
    ptr = np.zeros(prob.N + 1, dtype=np.int64)
    src, cnt = np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.int64)
    _poisson_events(lam, prob.N, rng, True, ptr, src, cnt)
    step = np.repeat(np.arange(prob.N), np.diff(ptr))
    for k, p in enumerate(prob.pops):
        sel = np.flatnonzero(pop[src] == k)  # in the engine's order: by step, then source
        if not sel.shape[0]:
            continue
        m = src[sel]
        p.pois = (np.searchsorted(step[sel], np.arange(prob.N + 1)).astype(np.int64),
                  loc[m], row[m], cnt[sel] * w[m])


def parameter_names(prob: Problem) -> dict[str, tuple]:
    """Learnable names -> ("pop", k, attribute) or ("proj", j)."""
    out = {}
    for k, p in enumerate(prob.pops):
        if p.generic:  # every model parameter but R (the currents' gain) and t_ref
            for nm in p.spec.names:
                nm = "coef" if nm.startswith("coef[") else nm
                if nm not in ("R", "alpha"):
                    out[f"{p.name}.{nm}"] = ("pop", k, nm)
        else:
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
        g.w = pr.weight[g.index]


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


def ring_depth(prob: Problem) -> int:
    """Slots of the arrival rings: a spike of step ``m`` arrives at ``m + 1 + D``, so the
    longest delay ``D`` plus two steps (the forward passes, the tangents and the adjoint's
    spike-adjoint ring use the same)."""
    return max([g.delay for pr in prob.projs for g in pr.groups] + [0]) + 2


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
            reads: Sequence[str] | None = None, stream: Stepwise | None = None) -> dict:
    """Simulate; returns the recorded arrays ``reads`` (default: all of
    :func:`recordable`) but ``stream.key``, whose loss ``stream`` is summed block by block
    instead (``"value"``; nothing recorded), and, with ``keep``, what the checkpointed
    adjoint replays the populations in ``dep`` from: their state (``v``, channels,
    refractory counters) at the start of every block of ``nb`` steps for a full memory,
    else of every segment of :func:`segment_steps` steps (with an SOE population's tail
    states and window of increments), the spikes of every
    population (indices per step, their values in the relaxed model) and, for fractional
    populations, ``v'`` of the neurons that spiked (the increments ``q`` are the
    simulation's own state)."""
    N = prob.N  # noqa: N806
    pops, projs = prob.pops, prob.projs
    dep = dep or [False] * len(pops)
    depth = ring_depth(prob)
    reads = set(recordable(prob) if reads is None else reads)
    nb = block_steps()
    ks = _stream_pop(prob, stream)
    if ks is not None:
        reads.discard(stream.key)
        vblk, partial = np.empty((min(nb, N), pops[ks].n)), 0.0
    rec_v = [np.empty((N, p.n)) if f"{p.name}.v" in reads else None for p in pops]
    rec_s = [np.zeros((N, p.n)) if f"{p.name}.spikes" in reads or (keep and prob.relaxed)
             else None for p in pops]
    seg = segment_steps(prob)
    every = {k: nb if p.alpha is not None and not p.soe else seg for k, p in enumerate(pops)}
    ckpt = {k: {"v": np.empty((-(-N // every[k]),) + ((p.nz,) if p.generic else ()) + (p.n,)),
                "G": np.empty((-(-N // every[k]), p.chan_decay.shape[0], p.n)),
                "until": np.empty((-(-N // every[k]), p.n), dtype=np.int64)}
            for k, p in enumerate(pops) if keep and dep[k]}
    vp_ev = {k: None for k, p in enumerate(pops) if keep and dep[k] and p.alpha is not None}
    q_hist, far_out = {}, {}
    for k, p in enumerate(pops):
        if p.alpha is not None and p.soe:  # the window's W rows before the block + the block
            q_hist[k] = np.zeros((p.W + min(nb, N), p.n))
            if keep and dep[k]:  # and per segment: its tail states and window
                ckpt[k]["U"] = np.empty((-(-N // seg), p.lam.shape[0], p.n))
                ckpt[k]["win"] = np.empty((-(-N // seg), p.W, p.n))
        elif p.alpha is not None:
            q_hist[k] = np.zeros((N, p.n))
            far_out[k] = np.empty((min(nb, N), p.n))
    far_sums = {k: FarSums(pops[k].coef, N, nb, pops[k].n) for k in far_out}
    theta, sk, sp, decay, zero, zero2, scratch = _kernel_constants(prob)
    P = len(pops)  # noqa: N806
    fr = [p.alpha is not None for p in pops]
    nch = [p.chan_decay.shape[0] for p in pops]
    ring = [np.zeros((1 + nch[k], depth, p.n)) for k, p in enumerate(pops)]  # delta, channels
    z = [p.z0.copy() if p.generic else p.v0.copy()[None, :] for p in pops]  # state, v first
    v = [zk[0] for zk in z]
    Hs = [np.zeros((N, p.n)) if p.generic and fr[k] and not p.soe and keep and dep[k]
          else zero2 for k, p in enumerate(pops)]  # a generic full memory's H_n (replay)
    gpi, gpf, gints, gval, ggrd, th = generic_arrays(prob)
    G = [np.zeros((nch[k], p.n)) for k, p in enumerate(pops)]  # noqa: N806
    U = [np.zeros((p.lam.shape[0], p.n)) for p in pops]  # noqa: N806 - SOE states
    until = [np.zeros(p.n, dtype=np.int64) for p in pops]  # refractory until this step
    rows_now = [np.zeros((1, 0)) for _ in pops]
    grp = [(pr, g) for k in range(P) for pr in projs if pr.src == k for g in pr.groups]
    ev_ptr = [np.zeros(min(nb, N) + 1, dtype=np.int64) for _ in pops]
    ev_idx = [np.empty(min(nb, N) * p.n, dtype=np.int64) for p in pops]
    ev_vp = [np.empty(min(nb, N) * p.n) for p in pops]
    events = [[] for _ in pops]  # per block: (indices, v') of the spikes
    itype = [np.int32 if p.n < 2**31 else np.int64 for p in pops]  # the stored indices
    lists = {key: _typed(val) for key, val in dict(
        v=v, G=G, until=until, ring=ring, chan_decay=[p.chan_decay for p in pops],
        iconst=[p.currents.iconst for p in pops], icol=[p.currents.icol for p in pops],
        coef=[p.coef if fr[k] else zero[k] for k, p in enumerate(pops)],
        q=[q_hist[k] if fr[k] else zero2 for k in range(P)],
        far=[far_out[k] if k in far_out else zero2 for k in range(P)], U=U,
        beta=[p.beta for p in pops], lam=[p.lam for p in pops], mu=[p.mu for p in pops],
        tau=[p.tau for p in pops], v_rest=[p.v_rest for p in pops],
        v_th=[p.v_th for p in pops], v_reset=[p.v_reset for p in pops], decay=decay,
        ref=[p.ref for p in pops], rec_v=[a if a is not None else zero2 for a in rec_v],
        rec_s=[a if a is not None else zero2 for a in rec_s],
        d_row=[np.zeros(p.n) for p in pops], h_row=scratch,
        s_row=[np.zeros(p.n) for p in pops], vp_row=[np.zeros(p.n) for p in pops],
        ev_ptr=ev_ptr, ev_idx=ev_idx, ev_vp=ev_vp, g_ptr=[g.ptr for _, g in grp] or [_U1],
        g_post=[g.post for _, g in grp] or [_U1], g_w=[g.w for _, g in grp] or [_F1], z=z,
        th=th, gints=gints, gval=gval, ggrd=ggrd, Hs=Hs,
        **{f"p_{key}": [p.pois[j] for p in pops]
           for j, key in enumerate(("ptr", "idx", "row", "val"))}).items()}
    flags = dict(
        frac=np.array(fr), soe=np.array([fr[k] and p.soe for k, p in enumerate(pops)]),
        W=np.array([p.W for p in pops], dtype=np.int64),
        ha=np.array([p.ha for p in pops], dtype=np.float64),
        reset=np.array([p.reset for p in pops], dtype=np.int64),
        rec_v_on=np.array([a is not None for a in rec_v]),
        rec_s_on=np.array([a is not None for a in rec_s]),
        timed=np.array([p.currents.n_cols > 0 for p in pops]),
        g_srcpop=np.array([pr.src for pr, _ in grp], dtype=np.int64),
        g_dst=np.array([pr.dst for pr, _ in grp], dtype=np.int64),
        g_target=np.array([pr.target for pr, _ in grp], dtype=np.int64),
        g_delay=np.array([g.delay for _, g in grp], dtype=np.int64))
    qoff = np.zeros(P, dtype=np.int64)  # row of step n in q[k]: n - qoff[k]
    vb = vblk if ks is not None else zero2
    for m0 in range(0, N, nb):
        m1 = min(m0 + nb, N)
        for k, p in enumerate(pops):
            if fr[k] and p.soe:  # rows m0 - W .. m0 + nb - 1; slide the window down
                if m0:
                    q_hist[k][:p.W] = q_hist[k][nb:nb + p.W].copy()
                qoff[k] = m0 - p.W
        for k, ck in ckpt.items():
            if m0 % every[k]:
                continue
            ck["v"][m0 // every[k]] = z[k] if pops[k].generic else v[k]
            ck["G"][m0 // every[k]] = G[k]
            ck["until"][m0 // every[k]] = until[k]
            if "U" in ck:
                ck["U"][m0 // seg] = U[k]
                ck["win"][m0 // seg] = q_hist[k][:pops[k].W]
        for k, p in enumerate(pops):
            if k in far_out:  # far lags: completed in the block's rows of q (the rows
                far_sums[k].forward(q_hist[k], m0)  # to come), read before the block writes
                far_out[k][:m1 - m0] = q_hist[k][m0:m1]
            if p.currents.n_cols:
                rows_now[k] = prob.current_rows(p, m0)[1]
        _forward_block(m0, m1, nb, depth, prob.relaxed, theta, sk, sp, flags["frac"],
                       flags["soe"], flags["W"], flags["ha"], flags["reset"], qoff,
                       flags["rec_v_on"], flags["rec_s_on"], flags["timed"],
                       -1 if ks is None else ks, lists["v"], lists["G"], lists["until"],
                       lists["ring"], lists["chan_decay"], lists["iconst"], lists["icol"],
                       _typed(rows_now), lists["coef"], lists["q"], lists["far"], lists["U"],
                       lists["beta"], lists["lam"], lists["mu"], lists["tau"],
                       lists["v_rest"], lists["v_th"], lists["v_reset"], lists["decay"],
                       lists["ref"], lists["rec_v"], lists["rec_s"], vb, lists["d_row"],
                       lists["h_row"], lists["s_row"], lists["vp_row"], lists["ev_ptr"],
                       lists["ev_idx"], lists["ev_vp"], flags["g_srcpop"], flags["g_dst"],
                       flags["g_target"], flags["g_delay"], lists["g_ptr"], lists["g_post"],
                       lists["g_w"], prob.dt, gpi, gpf, lists["z"], lists["th"],
                       lists["gints"], lists["gval"], lists["ggrd"], lists["Hs"],
                       lists["p_ptr"], lists["p_idx"], lists["p_row"], lists["p_val"])
        for k in range(P):
            cnt = ev_ptr[k][m1 - m0]
            events[k].append((np.diff(ev_ptr[k][:m1 - m0 + 1]), ev_idx[k][:cnt].astype(itype[k]),
                              ev_vp[k][:cnt].copy() if k in vp_ev else None))
        if ks is not None:
            partial += stream.partial(vblk[:m1 - m0], m0)
    rec = {"t": np.arange(N) * prob.dt} if "t" in reads else {}
    for k, p in enumerate(pops):
        for var, arr in (("v", rec_v[k]), ("spikes", rec_s[k])):
            if f"{p.name}.{var}" in reads:
                rec[f"{p.name}.{var}"] = arr
    # spike values of every step (1 for a hard spike; the relaxed model needs them all)
    spk = rec_s if prob.relaxed else None
    # the spikes as CSR by step (one index array per population)
    act_ptr, act_idx = [], []
    for k in range(P):
        ptr = np.zeros(N + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(np.concatenate([e[0] for e in events[k]]))
        act_ptr.append(ptr)
        act_idx.append(np.concatenate([e[1] for e in events[k]]))
        if k in vp_ev:
            vp_ev[k] = np.concatenate([e[2] for e in events[k]])
        events[k] = None
    return {"rec": rec, "q": q_hist, "Hs": Hs, "act_ptr": act_ptr, "act_idx": act_idx, "spk": spk,
            "ckpt": ckpt, "vp_ev": vp_ev,
            "value": stream.finish(partial) if ks is not None else None}


def generic_arrays(prob: Problem) -> tuple:
    """What the kernels take for the populations of other models (:func:`_forward_block`):
    ``gpi`` ``(P, 8)`` int64 (code, nz, parameters, Newton steps, reset, alpha slot,
    threshold slot, generic?), ``gpf`` ``(P, 3)`` (``dh^a/dalpha``, ``c_0``,
    ``dc_0/dalpha``) and per population the model's int parameters, value and gradient
    registers and parameter rows (placeholders for LIF populations)."""
    P = len(prob.pops)  # noqa: N806
    gpi, gpf = np.zeros((P, 8), dtype=np.int64), np.zeros((P, 3))
    gints, gval, ggrd, th = [], [], [], []
    for k, p in enumerate(prob.pops):
        if not p.generic:
            gints.append(np.zeros(1, dtype=np.int64))
            gval.append(np.zeros(1))
            ggrd.append(np.zeros((1, 1)))
            th.append(np.zeros((1, 1)))
            continue
        sp = p.spec
        gpi[k] = (sp.code, sp.nz, sp.P, sp.newton, sp.reset, sp.alpha_slot, sp.thr_slot, 1)
        if p.alpha is not None:
            gpf[k] = (p.ha * math.log(prob.dt), p.coef[0],
                      kernel_derivative(prob.scheme, p.alpha, np.arange(1))[0])
        nr = n_registers(sp)
        gints.append(sp.ints)
        gval.append(np.zeros(nr))
        ggrd.append(np.zeros((nr, sp.nl)))
        th.append(p.th)
    return gpi, gpf, gints, gval, ggrd, th


def _stream_pop(prob: Problem, stream: Stepwise | None) -> int | None:
    """The population whose ``v`` the step-wise loss ``stream`` reads."""
    if stream is None:
        return None
    return [f"{p.name}.v" for p in prob.pops].index(stream.key)


def stepwise_loss(prob: Problem, loss: Loss) -> Stepwise | None:
    """``loss`` as a sum over steps of one population's ``v`` (then neither the forward
    nor the adjoint keeps that ``(N, n)`` array), or ``None``."""
    reads = tuple(getattr(loss, "reads", ()))
    names = {f"{p.name}.v": p for p in prob.pops}
    if len(reads) != 1 or reads[0] not in names:
        return None
    return loss.stepwise((prob.N, names[reads[0]].n))


# ------------------------------------------------------------------------- adjoint
def block_steps() -> int:
    """Steps per block: the far history of a full memory is summed per block (as the
    engine, :data:`fracsim.fractional.memory.FAR_BLOCK`), and the adjoint checkpoints and
    replays by the same blocks."""
    return fmem.FAR_BLOCK or 1


def segment_steps(prob: Problem) -> int:
    """Steps per checkpoint segment (a multiple of :func:`block_steps`) of the
    populations with an adjoint and no full memory (integer order, SOE): the forward keeps
    their state once per segment of ``L`` steps (with SOE, the tail states and the window
    of increments too: ``S = K + W`` rows), the adjoint regenerates a segment's block
    checkpoints (and an SOE population's ``L`` increments) from it.  ``L ~ sqrt(N S)``
    (SOE) or ``sqrt(N nb)`` (integer order) minimises the rows kept per neuron,
    ``(N / L) S + L`` or ``(N / L + L / nb)`` states, which grow like ``sqrt(N)``, not
    ``N``."""
    nb = block_steps()
    soe = [p.lam.shape[0] + p.W for p in prob.pops if p.alpha is not None and p.soe]
    size = max(soe) if soe else nb
    return nb * max(1, round(math.sqrt(prob.N * size) / nb))


def _block_arrivals(prob: Problem, fwd: dict, dep: list[bool], m0: int, m1: int,
                    arr: dict) -> dict:
    """The arrivals of steps ``m0 .. m1-1`` into the populations in ``dep``, added in the
    forward pass' order (source step, population, projection, delay group; then the
    Poisson events), into ``arr``: per population ``(delta (rows, n), channels (rows, C,
    n))`` buffers (zeroed here)."""
    pops, projs = prob.pops, prob.projs
    for dl, ch in arr.values():
        dl[:m1 - m0] = 0.0
        ch[:m1 - m0] = 0.0
    groups = [(pr, g) for k in range(len(pops)) for pr in projs if pr.src == k and dep[pr.dst]
              for g in pr.groups]
    dmax = max([g.delay for _, g in groups] + [0])
    act_ptr, act_idx, spk = fwd["act_ptr"], fwd["act_idx"], fwd["spk"]
    ones = {}
    for m in range(max(0, m0 - 1 - dmax), m1 - 1):
        for pr, g in groups:
            t = m + 1 + g.delay
            if t < m0 or t >= m1:
                continue
            act = act_idx[pr.src][act_ptr[pr.src][m]:act_ptr[pr.src][m + 1]]
            if not act.shape[0]:
                continue
            if spk is not None:
                s = spk[pr.src][m]
            else:
                s = ones.get(pr.src)
                if s is None:
                    s = ones[pr.src] = np.ones(pops[pr.src].n)
            dl, ch = arr[pr.dst]
            _scatter(act, s, g.ptr, g.post, g.w, dl[t - m0] if pr.target < 0
                     else ch[t - m0, pr.target])
    for k, (dl, ch) in arr.items():
        ptr, idx, row, val = pops[k].pois
        if ptr.shape[0] == 1:
            continue
        lo, hi = ptr[m0], ptr[m1]
        if hi > lo:  # the block's Poisson events, in the forward pass' order
            steps = np.repeat(np.arange(m1 - m0), np.diff(ptr[m0:m1 + 1]))
            r, i, x = row[lo:hi], idx[lo:hi], val[lo:hi]
            d = r == 0
            np.add.at(dl, (steps[d], i[d]), x[d])
            np.add.at(ch, (steps[~d], r[~d] - 1, i[~d]), x[~d])
    return arr


def _block_events(fwd: dict, k: int, m0: int, m1: int, relaxed_s) -> tuple:
    """Spikes of population ``k`` in steps ``m0 .. m1-1`` as CSR by step: ``(ptr, index,
    value, v')``."""
    full = fwd["act_ptr"][k]
    lo, hi = full[m0], full[m1]
    ptr = full[m0:m1 + 1] - lo
    idx = fwd["act_idx"][k][lo:hi]
    if relaxed_s is not None:
        steps = np.repeat(np.arange(m0, m1), np.diff(ptr))
        val = relaxed_s[steps, idx]
    else:
        val = np.ones(idx.shape[0])
    vp = fwd["vp_ev"].get(k)
    return ptr, idx, val, (vp[lo:hi] if vp is not None else np.zeros(idx.shape[0]))


def _replay_block(prob: Problem, fwd: dict, k: int, m0: int, m1: int, state: tuple,
                  arr: tuple, q: np.ndarray, qo: int, bf: dict, srow: np.ndarray,
                  vprow: np.ndarray, sk: int, sp: np.ndarray, decay: np.ndarray) -> None:
    """:func:`_replay` of population ``k``'s steps ``m0 .. m1-1`` from ``state = (v, G,
    until)`` at step ``m0`` (advanced in place) into its block buffers ``bf``."""
    p = prob.pops[k]
    ptr, eidx, eval_, evp = _block_events(fwd, k, m0, m1,
                                          fwd["spk"][k] if prob.relaxed else None)
    _replay(p.alpha is not None, m0, m1, *state, p.chan_decay, arr[0], arr[1],
            p.currents.iconst, p.currents.icol, prob.current_rows(p, m0)[1], q, qo, ptr, eidx,
            eval_, evp, p.tau, p.v_rest, p.v_th, p.v_reset, decay, prob.relaxed, sk, sp, p.ref,
            p.reset, bf["v"], bf["d"], bf["vp"], bf["held"], bf["sig"], srow, vprow)


def _gp_replay_block(prob: Problem, k: int, m0: int, m1: int, state: tuple, arr: tuple,
                     Hs: np.ndarray, ho: int, bf: dict, gen: tuple, srow: np.ndarray,  # noqa: N803
                     vprow: np.ndarray, sk: int, sp: np.ndarray, q: np.ndarray,
                     qo: int) -> None:
    """:func:`_gp_replay` of generic population ``k``'s steps ``m0 .. m1-1`` from ``state
    = (z, G, until)`` at step ``m0`` (advanced in place), with ``H_n`` in row ``n - ho`` of
    ``Hs``, into its block buffers ``bf["z"]``, ``bf["d"]``, ``bf["held"]`` (and the
    increments into ``q``, step ``n`` in row ``n - qo``; ``qo >= m1``: a scratch row)."""
    p = prob.pops[k]
    gpi, gpf, gints, gval, ggrd, th = gen
    _gp_replay(m0, m1, *state, p.chan_decay,
               arr[0], arr[1], p.currents.iconst, p.currents.icol,
               prob.current_rows(p, m0)[1], Hs, ho, th[k], gpi[k, 0], gints[k], gpi[k, 1],
               gpi[k, 2], p.alpha is not None, prob.scheme == "l1", gpi[k, 3], gpi[k, 4],
               not prob.relaxed, sk, sp, prob.dt,
               p.ha, gpf[k, 0], gpf[k, 1], gpf[k, 2], gpi[k, 5], gpi[k, 6], gval[k], ggrd[k],
               bf["z"], bf["d"], srow, vprow, q, qo, p.ref, bf["held"])


def _segment(prob: Problem, fwd: dict, s0: int, s1: int, seg: int, seg_dl: list, qa: dict,
             arr: dict, blk: dict, buf: dict, srow: list, vprow: list, theta: float, sk: int,
             sp: np.ndarray, decay: list, gen: tuple, Hseg: dict) -> None:  # noqa: N803
    """Steps ``s0 .. s1-1`` of the populations ``seg_dl`` again from their segment
    checkpoint, block by block with the arrivals of the stored spikes, keeping their state
    at each block's start in ``blk[k]``: an integer-order population by :func:`_replay`
    (:func:`_gp_replay` for a generic one; into its block buffers, which the adjoint's
    replay overwrites), an SOE population by :func:`_soe_reforward`
    (:func:`_gp_soe_reforward`, which also writes its histories ``H_n`` into
    ``Hseg[k]``, row ``n - s0``), whose increments ``q_{s0} .. q_{s1-1}`` go to rows
    ``W ..`` of its segment buffer ``qa[k]`` (rows ``s0 - W .. s0 + seg + W - 1``).  The
    history adjoints ``a^H`` of the ``W`` steps after the previous segment's start move
    first to the buffer's last ``W`` rows, where this segment's adjoint reads them."""
    nb = block_steps()
    gpi, gpf, gints, gval, ggrd, th = gen
    ckpt = fwd["ckpt"]
    zero2 = np.zeros((1, 1))
    for k in seg_dl:
        p, ck = prob.pops[k], ckpt[k]
        state = (ck["v"][s0 // seg].copy(), ck["G"][s0 // seg].copy(),
                 ck["until"][s0 // seg].copy())
        mask = [j == k for j in range(len(prob.pops))]
        if p.alpha is not None:
            q, W = qa[k], p.W  # noqa: N806
            q[seg + W:seg + 2 * W] = q[W:2 * W].copy()  # a^H of steps s0 + seg .. + W - 1
            q[:W] = ck["win"][s0 // seg]
            U = ck["U"][s0 // seg].copy()  # noqa: N806
            rows = [np.zeros(p.n) for _ in range(4)]
        for b0 in range(s0, s1, nb):
            b1 = min(b0 + nb, s1)
            for key, val in zip(("v", "G", "until"), state, strict=True):
                blk[k][key][(b0 - s0) // nb] = val
            if b1 == s1 and p.alpha is None:
                break  # the last block's end state is not needed
            _block_arrivals(prob, fwd, mask, b0, b1, {k: arr[k]})
            if p.generic and p.alpha is None:
                _gp_replay_block(prob, k, b0, b1, state, arr[k], zero2, 0, buf[k], gen,
                                 srow[k], vprow[k], sk, sp, np.zeros((1, p.n)), b1)
            elif p.generic:
                _gp_soe_reforward(b0, b1, *state, p.chan_decay, arr[k][0], arr[k][1],
                                  p.currents.iconst, p.currents.icol,
                                  prob.current_rows(p, b0)[1], Hseg[k], s0, q, s0 - W, U,
                                  p.beta, p.lam, p.mu, W, p.coef, th[k], gpi[k, 0], gints[k],
                                  gpi[k, 1], gpi[k, 2], prob.scheme == "l1", gpi[k, 3],
                                  gpi[k, 4], not prob.relaxed, sk, sp, prob.dt, p.ha,
                                  gpf[k, 0], gpf[k, 1], gpf[k, 2], gpi[k, 5], gpi[k, 6],
                                  gval[k], ggrd[k], p.ref, rows[0], rows[2], rows[3])
            elif p.alpha is None:
                _replay_block(prob, fwd, k, b0, b1, state, arr[k], zero2, 0, buf[k], srow[k],
                              vprow[k], sk, sp, decay[k])
            else:
                _soe_reforward(b0, b1, *state, p.chan_decay, arr[k][0], arr[k][1],
                               p.currents.iconst, p.currents.icol, prob.current_rows(p, b0)[1],
                               q, s0 - W, U, p.beta, p.lam, p.mu, W, p.coef, p.ha, theta,
                               p.tau, p.v_rest, p.v_th, p.v_reset, decay[k], prob.relaxed, sk,
                               sp, p.ref, p.reset, *rows)


#: the per-population lists :func:`_backward_pass` takes, in its argument order
_BLOCK_LISTS = ("vk", "dd", "vpb", "sgb", "held", "a_v", "a_s_ring", "a_G", "chan_decay", "gv",
                "gs", "qa", "coef", "dcoef", "far", "V", "beta", "lam", "mu", "soe_acc",
                "v_rest", "v_th", "v_reset", "tau", "kap", "inv_den", "decay", "g_tau", "a_d",
                "a_q", "b_q", "fc", "zero")


_U1, _F1 = np.zeros(1, dtype=np.uint32), np.zeros(1)  # placeholders: a network without synapses


def _typed(arrays) -> List:
    """A Numba typed list of (C-contiguous) arrays."""
    out = List()
    for a in arrays:
        out.append(np.ascontiguousarray(a))
    return out


def backward(prob: Problem, fwd: dict, grads: dict, names: Sequence[str],
             dep: list[bool], stream: Stepwise | None = None) -> dict[str, np.ndarray]:
    """Gradients of the loss (its gradients ``grads`` w.r.t. the recorded arrays, or the
    step-wise loss ``stream``, whose gradient rows come from the replayed ``v``).  Runs
    the blocks of :func:`block_steps` steps from the last: each block is replayed from its
    checkpoint (:func:`_replay`), its far history products formed, then differentiated
    step by step (:func:`_backward_pass`).  The increments ``q`` of a fractional
    population are overwritten by the history adjoint ``a^H`` as the adjoint passes them
    (``fwd["q"]`` is consumed)."""
    N, dt = prob.N, prob.dt  # noqa: N806
    pops, projs = prob.pops, prob.projs
    qa, ckpt = dict(fwd["q"]), fwd["ckpt"]
    depth = ring_depth(prob)
    table = parameter_names(prob)
    want = {table[nm] for nm in names}
    nb = block_steps()
    rows = min(nb, N)
    dl = [k for k in range(len(pops)) if dep[k]]  # populations with an adjoint
    pos = {k: d for d, k in enumerate(dl)}
    theta, sk, sp, decay, zero, zero2, scratch = _kernel_constants(prob)
    fr = {k: pops[k].alpha is not None for k in dl}
    full = {k: fr[k] and not pops[k].soe for k in dl}
    seg = segment_steps(prob)
    seg_dl = [k for k in dl if not full[k]]  # checkpointed per segment
    for k in seg_dl:  # SOE: a segment's rows s0 - W .. s0 + L + W - 1 (the last W: a^H)
        if fr[k]:
            qa[k] = np.zeros((seg + 2 * pops[k].W, pops[k].n))
    # a generic SOE population's histories of the segment (a generic full memory's: the
    # forward's, fwd["Hs"]), step n in row n - hoff
    Hseg = {k: np.zeros((seg, pops[k].n)) for k in seg_dl if fr[k] and pops[k].generic}  # noqa: N806
    hoff = np.zeros(len(dl), dtype=np.int64)
    qscr = {k: np.zeros((1, pops[k].n)) for k in dl if pops[k].generic}  # not kept
    qoff = np.zeros(len(dl), dtype=np.int64)  # row of step n in qa: n - qoff
    dcoef = {k: kernel_derivative(prob.scheme, pops[k].alpha,
                                  np.arange(min(pops[k].W, N) + 1)) for k in dl if fr[k]}
    g_tau = [np.zeros(pops[k].n) for k in dl]
    g_pop = np.zeros((len(dl), 3))
    g_w = {j: np.zeros(pr.weight.shape[0]) for j, pr in enumerate(projs)
           if ("proj", j) in want}
    ks = _stream_pop(prob, stream)
    if ks is not None and not dep[ks]:
        ks = None  # no parameter moves it: no gradient to pass on
    gv, gv_kind = [], []
    for k in dl:
        g = grads.get(f"{pops[k].name}.v")
        if k == ks:
            g, kind = np.empty((rows, pops[k].n)), 2  # the block's loss gradient rows
        else:
            kind = 0 if g is None else 1
        gv.append(np.zeros((1, 1)) if g is None else g)
        gv_kind.append(kind)
    gs = [grads.get(f"{pops[k].name}.spikes") for k in dl]
    buf = {k: {"v": np.empty((rows, pops[k].n)), "d": np.empty((rows, pops[k].n)),
               "vp": np.empty((rows, pops[k].n)), "sig": np.empty((rows, pops[k].n)),
               "held": np.empty((rows, pops[k].n), dtype=np.bool_)} for k in dl}
    for k in dl:  # a generic population: its replayed states (v: row 0 of each)
        if pops[k].generic:
            buf[k]["z"] = np.empty((rows, pops[k].nz, pops[k].n))
            buf[k]["v"] = buf[k]["z"][:, 0, :]
    far_out = {k: np.zeros((rows, pops[k].n)) for k in dl if full[k]}
    far_sums = {k: FarSums(pops[k].coef, N, nb, pops[k].n,
                           dcoef[k] if ("pop", k, "alpha") in want else None) for k in far_out}
    for fs_k in far_sums.values():
        fs_k.start_adjoint()
    arr = {k: (np.zeros((rows, pops[k].n)), np.zeros((rows, pops[k].chan_decay.shape[0],
                                                       pops[k].n))) for k in dl}
    srow, vprow = [np.zeros(p.n) for p in pops], [np.zeros(p.n) for p in pops]
    a_z = [np.zeros((pops[k].nz, pops[k].n)) for k in dl]  # state adjoints (v: row 0)
    a_v = [az[0] for az in a_z]
    a_G = [np.zeros((pops[k].chan_decay.shape[0], pops[k].n)) for k in dl]  # noqa: N806
    a_s_ring = [np.zeros((rows + depth, pops[k].n)) for k in dl]  # a block + the delays
    soe_acc = [np.zeros(pops[k].lam.shape[0]) for k in dl]
    V = [np.zeros((pops[k].lam.shape[0], pops[k].n)) for k in dl]  # noqa: N806
    kap = [1.0 / pops[k].tau for k in dl]
    inv_den = [1.0 / ((pops[k].coef[0] if fr[k] else 1.0) + theta * pops[k].ha * kk)
               for k, kk in zip(dl, kap, strict=True)]
    # delay groups of the projections into populations with an adjoint
    grp = [(j, pr, g) for j, pr in enumerate(projs) if dep[pr.dst] for g in pr.groups]
    wi = {j: i for i, j in enumerate(g_w)}
    act_ptr, act_idx = fwd["act_ptr"], fwd["act_idx"]
    spk = ([s if s is not None else np.zeros((1, p.n)) for s, p in zip(fwd["spk"], pops,
                                                                        strict=True)]
           if prob.relaxed else [np.ones((1, p.n)) for p in pops])
    gen = generic_arrays(prob)
    gp_lists = (gen[0][dl], gen[1][dl],
                _typed(buf[k]["z"] if pops[k].generic else np.zeros((1, 1, 1)) for k in dl),
                _typed(Hseg[k] if k in Hseg else fwd["Hs"][k] for k in dl), hoff,
                _typed(gen[5][k] for k in dl),
                _typed(gen[2][k] for k in dl), _typed(gen[3][k] for k in dl),
                _typed(gen[4][k] for k in dl), _typed(a_z),
                _typed(np.zeros(pops[k].nz + 3) for k in dl),
                _typed(np.zeros((pops[k].spec.P, pops[k].n)) if pops[k].generic
                       else np.zeros((1, 1)) for k in dl))
    gth = gp_lists[-1]
    lists = dict(
        vk=_typed(buf[k]["v"] for k in dl), dd=_typed(buf[k]["d"] for k in dl),
        vpb=_typed(buf[k]["vp"] for k in dl), sgb=_typed(buf[k]["sig"] for k in dl),
        held=_typed(buf[k]["held"] for k in dl),
        a_v=_typed(a_v), a_s_ring=_typed(a_s_ring), a_G=_typed(a_G),
        chan_decay=_typed(pops[k].chan_decay for k in dl), gv=_typed(gv),
        gs=_typed(g if g is not None else np.zeros((1, pops[k].n)) for g, k in zip(gs, dl,
                                                                                  strict=True)),
        qa=_typed(qa[k] if fr[k] else zero2 for k in dl),
        coef=_typed(pops[k].coef if fr[k] else np.zeros(1) for k in dl),
        dcoef=_typed(dcoef[k] if fr[k] else np.zeros(1) for k in dl),
        far=_typed(far_out[k] if full[k] else zero2 for k in dl), V=_typed(V),
        beta=_typed(pops[k].beta for k in dl), lam=_typed(pops[k].lam for k in dl),
        mu=_typed(pops[k].mu for k in dl), soe_acc=_typed(soe_acc),
        v_rest=_typed(pops[k].v_rest for k in dl), v_th=_typed(pops[k].v_th for k in dl),
        v_reset=_typed(pops[k].v_reset for k in dl), tau=_typed(pops[k].tau for k in dl),
        kap=_typed(kap), inv_den=_typed(inv_den), decay=_typed(decay[k] for k in dl),
        g_tau=_typed(g_tau), a_d=_typed(np.zeros(pops[k].n) for k in dl),
        a_q=_typed(np.zeros(pops[k].n) for k in dl), b_q=_typed(np.zeros(pops[k].n) for k in dl),
        fc=_typed(np.zeros(pops[k].n) for k in dl), zero=_typed(zero[k] for k in dl),
        g_ptr=_typed([g.ptr for _, _, g in grp] or [_U1]),
        g_post=_typed([g.post for _, _, g in grp] or [_U1]),
        g_w=_typed([g.w for _, _, g in grp] or [_F1]),
        g_widx=_typed([g.widx for _, _, g in grp] or [_U1]),
        act_ptr=_typed(act_ptr), act_idx=_typed(act_idx), spk=_typed(spk),
        g_wout=_typed(g_w.values()) if g_w else _typed([np.zeros(1)]))
    ints = dict(
        frac=np.array([fr[k] for k in dl]), soe=np.array([fr[k] and pops[k].soe for k in dl]),
        W=np.array([pops[k].W for k in dl], dtype=np.int64),
        ha=np.array([pops[k].ha for k in dl], dtype=np.float64),
        reset=np.array([pops[k].reset for k in dl], dtype=np.int64),
        gv_kind=np.array(gv_kind, dtype=np.int64),
        gs_kind=np.array([g is not None for g in gs]),
        g_dst=np.array([pos[pr.dst] for _, pr, _ in grp], dtype=np.int64),
        g_src=np.array([pos.get(pr.src, -1) for _, pr, _ in grp], dtype=np.int64),
        g_srcpop=np.array([pr.src for _, pr, _ in grp], dtype=np.int64),
        g_target=np.array([pr.target for _, pr, _ in grp], dtype=np.int64),
        g_delay=np.array([g.delay for _, _, g in grp], dtype=np.int64),
        g_wi=np.array([wi.get(j, -1) for j, _, _ in grp], dtype=np.int64))
    pass_ptr, pass_pop = _adjoint_passes(len(dl), ints["g_src"], ints["g_dst"])
    batched = pass_ptr.shape[0] > 2  # spike adjoints by blocks: targets' adjoint per step
    g_blk = _typed([np.zeros((pops[pr.dst].n, rows)) if batched and s >= 0 else np.zeros((1, 1))
                    for (_, pr, _), s in zip(grp, ints["g_src"], strict=True)]
                   or [np.zeros((1, 1))])
    in_pass = [np.isin(np.arange(len(dl)), pass_pop[pass_ptr[ip]:pass_ptr[ip + 1]])
               for ip in range(pass_ptr.shape[0] - 1)]
    spmm = [[gi for gi in range(len(grp)) if ip_in[ints["g_dst"][gi]] and ints["g_src"][gi] >= 0]
            for ip_in in in_pass]  # per pass: the groups whose spike adjoints are batched
    blk = {k: {"v": np.empty((seg // nb,) + ((pops[k].nz,) if pops[k].generic else ())
                             + (pops[k].n,)),
               "G": np.empty((seg // nb, pops[k].chan_decay.shape[0], pops[k].n)),
               "until": np.empty((seg // nb, pops[k].n), dtype=np.int64)} for k in seg_dl}
    seg_now = -1
    for m0 in range(((N - 1) // nb) * nb, -1, -nb):
        m1 = min(m0 + nb, N)
        if seg_dl and m0 // seg != seg_now:  # a new segment: its block checkpoints again
            seg_now = m0 // seg
            s0 = seg_now * seg
            _segment(prob, fwd, s0, min(s0 + seg, N), seg, seg_dl, qa, arr, blk, buf, srow,
                     vprow, theta, sk, sp, decay, gen, Hseg)
            for k in seg_dl:
                qoff[pos[k]] = s0 - pops[k].W if fr[k] else 0
                hoff[pos[k]] = s0 if k in Hseg else 0
        _block_arrivals(prob, fwd, dep, m0, m1, arr)
        for k in dl:  # replay the block from its checkpoint
            ck = ckpt[k] if full[k] else blk[k]
            b = m0 // nb if full[k] else (m0 - seg_now * seg) // nb
            state = (ck["v"][b].copy(), ck["G"][b].copy(), ck["until"][b].copy())
            if pops[k].generic:
                _gp_replay_block(prob, k, m0, m1, state, arr[k],
                                 Hseg[k] if k in Hseg else fwd["Hs"][k], int(hoff[pos[k]]),
                                 buf[k], gen, srow[k], vprow[k], sk, sp, qscr[k], N)
            else:
                _replay_block(prob, fwd, k, m0, m1, state, arr[k], qa[k] if fr[k] else zero2,
                              int(qoff[pos[k]]), buf[k], srow[k], vprow[k], sk, sp, decay[k])
            if full[k]:  # a^q's lags beyond the block (their order term to alpha's)
                g_pop[pos[k], 2] += far_sums[k].adjoint(qa[k], m0, far_out[k])
        if ks is not None:
            stream.grad(buf[ks]["v"][:m1 - m0], m0, gv[pos[ks]][:m1 - m0])
        for ip in range(pass_ptr.shape[0] - 1):
            _backward_pass(m0, m1, N, prob.relaxed, theta, sk, sp, dt,
                           ints["frac"], ints["soe"], ints["W"], ints["ha"], ints["reset"],
                           ints["gv_kind"], ints["gs_kind"], qoff,
                           *[lists[key] for key in _BLOCK_LISTS], g_pop, ints["g_dst"],
                           ints["g_src"], ints["g_srcpop"], ints["g_target"], ints["g_delay"],
                           ints["g_wi"], lists["g_ptr"], lists["g_post"], lists["g_w"],
                           lists["g_widx"], lists["act_ptr"], lists["act_idx"], lists["spk"],
                           lists["g_wout"], pass_pop[pass_ptr[ip]:pass_ptr[ip + 1]],
                           in_pass[ip], batched, g_blk, *gp_lists)
            for gi in (spmm[ip] if batched else ()):  # the pass' spike adjoints at once
                shift = m0 - 1 - int(ints["g_delay"][gi])  # step m0 + r: source step + shift
                _spike_adjoint_block(lists["g_ptr"][gi], lists["g_post"][gi],
                                     lists["g_w"][gi], g_blk[gi], max(0, -shift), m1 - m0,
                                     shift, a_s_ring[ints["g_src"][gi]])
    out = {}
    for nm in names:
        kind = table[nm]
        if kind[0] == "proj":
            out[nm] = g_w[kind[1]]
            continue
        k, attr = kind[1], kind[2]
        p, d = pops[k], pos[kind[1]]
        if p.generic:  # the order's history term (+ the SOE tail's, as for LIF)
            hist = g_pop[d, 2] + (float(p.gam @ soe_acc[d]) if p.soe else 0.0)
            out[nm] = _generic_grad(p, attr, gth[d], hist)
        elif attr == "tau":
            out[nm] = np.array(g_tau[d].sum()) if p.tau_shared else g_tau[d]
        else:  # history lags (+ the SOE tail through the fit's dbeta/dalpha), h^a, c_0
            val = g_pop[d, 2] + (float(p.gam @ soe_acc[d]) if p.soe else 0.0)
            val += g_pop[d, 0] * p.ha * np.log(dt) + g_pop[d, 1] * dcoef[k][0]
            out[nm] = np.array(val)
    return out


def _generic_grad(p: _Pop, attr: str, gth: np.ndarray, hist: float) -> np.ndarray:
    """The gradient of parameter ``attr`` of a generic population from its per-neuron
    slot gradients ``gth`` ``(P, n)`` (``hist``: the order's history term)."""
    if attr == "coef":
        return np.array([gth[j].sum() for j in p.slots(attr)])
    j = p.slots(attr)[0]
    if attr == "alpha":
        return np.array(gth[j].sum() + hist)
    return gth[j].copy() if p.per_neuron(attr) else np.array(gth[j].sum())


def _adjoint_passes(P: int, g_src: np.ndarray, g_dst: np.ndarray) -> tuple:  # noqa: N803
    """The passes of :func:`_backward_pass` as ``(pass_ptr, pass_pop)``: one population
    per pass, the targets of every delay group before its source, when the groups between
    populations with an adjoint form no cycle (feed-forward: the spike adjoints of a block
    in one batched product); else one pass of all, interleaved step by step.  Ties: the
    interleaved order (last population first)."""
    edges = {(int(a), int(b)) for a, b in zip(g_src, g_dst, strict=True) if a >= 0}
    order, left = [], list(range(P - 1, -1, -1))
    while left:  # a population goes once every target of its groups has
        ready = [d for d in left if all(b in order for a, b in edges if a == d)]
        if not ready:
            return np.array([0, P], dtype=np.int64), np.arange(P - 1, -1, -1, dtype=np.int64)
        order.append(ready[0])
        left.remove(ready[0])
    return np.arange(P + 1, dtype=np.int64), np.array(order, dtype=np.int64)


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
    stream = stepwise_loss(prob, loss)
    fwd = forward(prob, dep, keep=True, reads=reads, stream=stream)
    if stream is not None:  # summed by blocks; gradient rows from the adjoint's replay
        val, grads = fwd["value"], {}
    else:
        val, grads = loss.value_and_grad(fwd["rec"], overwrite=True)  # ours: reuse them
    fwd["rec"] = None  # the loss has read it
    return float(val), backward(prob, fwd, grads, names, dep, stream)


def _get(prob: Problem, kind: tuple) -> np.ndarray:
    if kind[0] == "proj":
        return prob.projs[kind[1]].weight.copy()
    p = prob.pops[kind[1]]
    if p.generic and kind[2] != "alpha":
        if kind[2] == "coef":
            return np.array([p.th[j, 0] for j in p.slots("coef")])
        row = p.th[p.slots(kind[2])[0]]
        return row.copy() if p.per_neuron(kind[2]) else np.array(row[0])
    if kind[2] == "tau":
        return np.array(p.tau[0]) if p.tau_shared else p.tau.copy()
    return np.array(p.alpha)


def _put(prob: Problem, kind: tuple, value: np.ndarray) -> None:
    if kind[0] == "proj":
        set_weights(prob, kind[1], value)
        return
    p = prob.pops[kind[1]]
    if p.generic and kind[2] != "alpha":
        for c, j in enumerate(p.slots(kind[2])):  # coef: one value per slot
            p.th[j] = value[c] if kind[2] == "coef" else value
    elif kind[2] == "tau":
        p.tau = np.broadcast_to(value, (p.n,)).astype(np.float64)
    else:
        prob.set_alpha(kind[1], float(value))


def _loss_value(prob: Problem, loss: Loss, reads) -> float:
    """The loss of one forward run, evaluated as the adjoint evaluates it."""
    stream = stepwise_loss(prob, loss)
    fwd = forward(prob, reads=reads, stream=stream)
    return float(fwd["value"] if stream is not None else loss.value(fwd["rec"]))


def _finite_differences(prob: Problem, names, loss: Loss, eps: float, reads):
    table = parameter_names(prob)
    val = _loss_value(prob, loss, reads)
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
                vals.append(_loss_value(prob, loss, reads))
            g[idx] = (vals[0] - vals[1]) / (2 * h)
        _put(prob, kind, base)
        out[nm] = g
    return val, out
