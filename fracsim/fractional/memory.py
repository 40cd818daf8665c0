r"""Memory strategies for the history term of a fractional (Caputo) membrane.

Every scheme in :mod:`fracsim.fractional.weights` that works on increments writes the
Caputo derivative as a discrete convolution (``q_m = v_m - v_{m-1}``, step ``h`` in ms)

    D^a v(t_n) ≈ h^(-a) [ c_0 q_n + H_n ],     H_n = sum_{k=1}^{n-1} c_k q_{n-k},

and a strategy decides how ``H_n`` is evaluated.  All three use the same per-neuron
arrays, so the engine has one code path (:func:`history_pass` and :func:`push`):

* :class:`FullMemory`: every increment is kept (a ring of ``W >= n_steps`` rows, so it never
  wraps): the exact sum, O(n) work per step and neuron.  It is evaluated by blocks of
  ``B = FAR_BLOCK`` steps (aligned to multiples of ``B``): for the steps of the block
  starting at ``n0`` the part of the sum over increments before ``n0`` is one matrix
  product, ``far[b] = sum_{m < n0} c_{n0+b-m} q_m`` (:func:`fill_far`, BLAS, before the
  block runs), and only the block's own ``b`` increments are summed per step.  Same sum,
  another order of the additions (round-off level), several times faster for long runs.
* :class:`ShortMemory`: only the last ``L`` increments (Podlubny's short-memory principle):
  O(L) per step (GL and L1 only: truncating the Volterra history of ``F`` of "pi_trap"
  would drop the integral that makes up ``v`` itself, and is refused).  Dropping
  ``k > L`` changes ``H_n`` by ``sum_{k>L} c_k q_{n-k}``; as ``c_k`` is positive and
  decreasing (GL, L1), Abel summation bounds it by ``c_{L+1} * TV`` with TV the total
  variation of ``v`` before ``t_{n-L}``; with ``c_k ~ k^(-a) / Γ(1-a)`` the error on
  ``D^a v`` is about ``M (L h)^(-a) / Γ(1-a)`` (``M`` a bound on the variation): it decays
  only like ``L^(-a)``.  The error this makes on ``v`` accumulates over the run and is
  larger still: measured (``validation/results/memory.md``) it decays like ``L^(-0.14)``
  to ``L^(-0.33)`` for alpha 0.3-0.8 over 10^4 steps, and it changes spike trains
  completely; it is there to show why SOE exists.
* :class:`SOE`: the tail ``k > k0`` of the kernel is a sum of exponentials
  ``c_k ≈ sum_j β_j λ_j^k`` (:func:`fracsim.fractional.soe.soe_kernel`), so the whole past
  lives in ``K`` numbers per neuron, ``U_j = sum_{k > W} λ_j^k q_{n-k}``, updated in O(K)
  by ``U_j <- λ_j U_j + λ_j^(W+1) q_{n-W}`` after ``q_n`` is known; the last ``W >= 1``
  increments stay exact in a short ring (``W`` at least the fit's exact window ``k0``).

Arrays of one population (``size`` neurons, ``G`` distinct orders, ring width ``W``,
``K`` exponentials); the neuron index is contiguous everywhere, so every per-step pass
over the population vectorises:

* ``ring``  float64[W, size]  increments, ``q_m`` in row ``m % W``; entries before a
  neuron's history starts are zero (initially, and zeroed by :func:`clear`)
* ``coef``  float64[G, W + 1] ``c_0 .. c_W`` of each order group
* ``lam``, ``beta``, ``mu``   float64[G, K]  ``λ_j``, ``β_j``, ``λ_j^(W+1)``
* ``soe``   float64[K, size]  the states ``U_j``
* ``tail``  float64[size]     ``sum_j β_j U_j``, summed when the states are advanced
* ``hist``  float64[size]     ``H_n`` of the current step (:func:`history_pass`)
* ``far``   float64[B, size]  FullMemory: the block's far sums (``B = 0`` rows otherwise)
* ``far_n0`` int64[1]         first step of the block ``far`` was computed for (-1: none)
* ``leave`` float64[size]     the increment that left the exact window this step
* ``first`` int64[size]       step from which the neuron's history counts (0, or the
  step after a "restart" reset)
* ``group`` int64[size]       order group of the neuron
* ``ha``    float64[G]        ``h^a``

A step of the population is three passes: :func:`history_pass` (``H_n`` of every neuron),
the neuron loop (the local solve, then :func:`push` of ``q_n``), :func:`advance` (the
exponential states and the next tail).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.special import gamma

from .._validate import positive_float, positive_int

#: steps per block of a full memory's far sums (:func:`fill_far`)
FAR_BLOCK = 64


@dataclass(frozen=True)
class FullMemory:
    """The exact history sum over every past step (O(n) per step and neuron)."""

    kind = "full"


@dataclass(frozen=True)
class ShortMemory:
    """The history truncated to the last ``steps`` steps (short-memory principle)."""

    steps: int
    """number of past steps kept, >= 1"""

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", positive_int("ShortMemory.steps", self.steps))

    kind = "short"


@dataclass(frozen=True)
class SOE:
    """The kernel tail approximated by a sum of exponentials with relative error ``tol``."""

    tol: float = 1e-9
    """relative accuracy of the kernel approximation, in (0, 0.1)"""
    t_max: float | None = None
    """time (ms) the fit must cover; default: the length of the first run.  A later run
    that goes beyond it is warned about (the fit is not verified there)."""

    def __post_init__(self) -> None:
        tol = self.tol
        if isinstance(tol, bool) or not isinstance(tol, int | float | np.floating):
            raise TypeError(f"SOE.tol must be a number in (0, 0.1), got {tol!r}")
        if not 0.0 < float(tol) < 0.1:
            raise ValueError(f"SOE.tol must be in (0, 0.1), got {tol!r}")
        object.__setattr__(self, "tol", float(tol))
        if self.t_max is not None:
            object.__setattr__(self, "t_max", positive_float("SOE.t_max", self.t_max))

    kind = "soe"


Memory = FullMemory | ShortMemory | SOE


def check_memory(memory) -> Memory:
    """Validate a ``memory=`` argument."""
    if isinstance(memory, FullMemory | ShortMemory | SOE):
        return memory
    raise TypeError(
        "memory must be fs.FullMemory(), fs.ShortMemory(steps=L) or fs.SOE(tol=...), "
        f"got {memory!r}"
    )


@njit(cache=True)
def history_pass(n, slot, ring, coef, tail, group, hist, far, far_n0):
    """``H_n`` of every neuron at step ``n`` into ``hist``: the exponential tail
    ``sum_j β_j U_j`` (``tail``, summed by the previous :func:`advance`) plus the exact window
    ``sum_{k=1}^{min(n, W)} c_k q_{n-k}``, added in the order k = 1, 2, ... for each neuron
    (``slot = n % W``; entries before a neuron's history starts are zero).  A blocked full
    memory (``far`` has rows) sums only the lags ``k <= b = n - n0`` of its block and adds
    ``far[b]`` for the rest."""
    w, size = ring.shape
    if far.shape[0] > 0:
        b = n - far_n0[0]
        kmax = b
        for i in range(size):
            hist[i] = tail[i] + far[b, i]
    else:
        kmax = min(n, w)
        for i in range(size):
            hist[i] = tail[i]
    one_group = coef.shape[0] == 1
    for k in range(1, kmax + 1):
        idx = slot - k
        idx = idx + w if idx < 0 else idx
        row = ring[idx]
        if one_group:
            ck = coef[0, k]
            for i in range(size):
                hist[i] += ck * row[i]
        else:
            for i in range(size):
                hist[i] += coef[group[i], k] * row[i]


@njit(inline="always", cache=True)
def push(i, slot, q, ring, leave):
    """Store ``q_n`` of neuron ``i`` (``slot = n % W``) and note the increment leaving the
    exact window, ``q_{n-W}`` (zero before the neuron's history reaches it), in ``leave[i]``
    for :func:`advance`."""
    leave[i] = ring[slot, i]
    ring[slot, i] = q


@njit(cache=True)
def advance(soe, lam, mu, beta, tail, leave, group):
    """After a step of the whole population: ``U_j <- λ_j U_j + λ_j^(W+1) q_{n-W}`` and the
    next step's tail ``sum_j β_j U_j``, one exponential at a time across all neurons (the
    neuron index is contiguous: the loops vectorise, and each neuron's tail is summed in a
    fixed order, j = 0, 1, ...)."""
    kk, size = soe.shape
    if kk == 0:
        return
    for i in range(size):
        tail[i] = 0.0
    if lam.shape[0] == 1:
        # four exponentials per pass over the neurons: the tail is loaded and stored a
        # quarter as often, and still summed in the order j = 0, 1, ... (same bits)
        j = 0
        while j + 4 <= kk:
            l0, l1, l2, l3 = lam[0, j], lam[0, j + 1], lam[0, j + 2], lam[0, j + 3]
            m0, m1, m2, m3 = mu[0, j], mu[0, j + 1], mu[0, j + 2], mu[0, j + 3]
            b0, b1, b2, b3 = beta[0, j], beta[0, j + 1], beta[0, j + 2], beta[0, j + 3]
            r0, r1, r2, r3 = soe[j], soe[j + 1], soe[j + 2], soe[j + 3]
            for i in range(size):
                q = leave[i]
                u0 = l0 * r0[i] + m0 * q
                u1 = l1 * r1[i] + m1 * q
                u2 = l2 * r2[i] + m2 * q
                u3 = l3 * r3[i] + m3 * q
                r0[i] = u0
                r1[i] = u1
                r2[i] = u2
                r3[i] = u3
                t = tail[i]
                t += b0 * u0
                t += b1 * u1
                t += b2 * u2
                t += b3 * u3
                tail[i] = t
            j += 4
        for jr in range(j, kk):
            lj, mj, bj = lam[0, jr], mu[0, jr], beta[0, jr]
            for i in range(size):
                u = lj * soe[jr, i] + mj * leave[i]
                soe[jr, i] = u
                tail[i] += bj * u
    else:
        for j in range(kk):
            for i in range(size):
                g = group[i]
                u = lam[g, j] * soe[j, i] + mu[g, j] * leave[i]
                soe[j, i] = u
                tail[i] += beta[g, j] * u


@njit(cache=True)
def clear(i, n, ring, soe, tail, first, leave, far):
    """Forget the history of neuron ``i``: it restarts at step ``n + 1``."""
    first[i] = n + 1
    tail[i] = 0.0
    leave[i] = 0.0
    for k in range(ring.shape[0]):
        ring[k, i] = 0.0
    for b in range(far.shape[0]):
        far[b, i] = 0.0
    for j in range(soe.shape[0]):
        soe[j, i] = 0.0


@dataclass
class FractionalArrays:
    """The memory arrays of one fractional population (see the module docstring)."""

    ring: np.ndarray
    coef: np.ndarray
    lam: np.ndarray
    beta: np.ndarray
    mu: np.ndarray
    soe: np.ndarray
    first: np.ndarray
    group: np.ndarray
    ha: np.ndarray
    base: np.ndarray  # pi_trap: v at the origin plus the jumps since (float64[size])
    f0: np.ndarray  # pi_trap: F at the origin (float64[size])
    tail: np.ndarray  # sum_j β_j U_j of each neuron for the coming step (float64[size])
    leave: np.ndarray  # increment leaving the exact window in this step (float64[size])
    hist: np.ndarray  # H_n of each neuron in the current step (float64[size])
    a0: np.ndarray  # pi_trap: weight a0_m of F_0, m = 0..horizon + 1 (float64[G, .])
    horizon: int  # steps up to which the strategy is exact / within tol
    far: np.ndarray  # FullMemory: far sums of the current block (float64[B, size])
    far_n0: np.ndarray  # first step of that block, -1 before the first (int64[1])

    def as_args(self) -> tuple:
        """In the order of :data:`fracsim.fractional.stepper.ARRAYS`."""
        return (self.ring, self.coef, self.lam, self.beta, self.mu, self.soe, self.first,
                self.group, self.ha, self.base, self.f0, self.a0, self.tail, self.leave,
                self.hist, self.far, self.far_n0)

    @property
    def width(self) -> int:
        """``W``, the number of increments kept exactly (rows of ``ring``)."""
        return self.ring.shape[0]


def build_arrays(alpha: np.ndarray, dt: float, scheme: str, memory: Memory,
                 n_steps: int, terms: tuple = ()) -> FractionalArrays:
    """Memory arrays for neurons of orders ``alpha`` (float64[size]) run for ``n_steps``.

    ``terms``: ``((c_1, a_1), (c_2, a_2), ...)`` for a multi-term membrane
    ``sum_i c_i D^(a_i) v = F`` (GL and L1 only; ``alpha`` is then ignored).  All terms
    convolve the same increments, so they merge into one kernel
    ``C_k = sum_i c_i h^(-a_i) c_k^(i)`` (and one exponential sum), with ``h^a`` -> 1.
    """
    from .weights import kernel

    size = alpha.shape[0]
    n_steps = max(int(n_steps), 1)
    if terms:
        orders, group = np.array([1.0]), np.zeros(size, dtype=np.int64)
        parts = [(c * dt ** (-a), a) for c, a in terms]
    else:
        orders, group = np.unique(alpha, return_inverse=True)
    groups = [[(1.0, float(a))] for a in orders] if not terms else [parts]
    fits: list[list] = [[] for _ in groups]
    if memory.kind == "full":
        width = n_steps
    elif memory.kind == "short":
        width = memory.steps
    else:
        from .soe import soe_kernel

        if memory.t_max is not None:
            n_steps = max(n_steps, int(np.ceil(memory.t_max / dt - 1e-9)))
        fits = [[(c, soe_kernel(scheme, a, n_steps + 1, memory.tol)) for c, a in g]
                for g in groups]
        width = max([1] + [f.exact.shape[0] for g in fits for _, f in g])
    coef = np.stack([sum(c * kernel(scheme, a, width + 1) for c, a in g) for g in groups])
    n_exp = max([0] + [sum(f.decay.shape[0] for _, f in g) for g in fits])
    lam = np.zeros((len(groups), n_exp))
    beta = np.zeros_like(lam)
    for gi, g in enumerate(fits):
        j = 0
        for c, f in g:
            kk = f.decay.shape[0]
            lam[gi, j:j + kk] = f.decay
            beta[gi, j:j + kk] = c * f.weight
            j += kk
    if terms:
        ha = np.ones(1)
        a0 = np.zeros((1, 1))
    elif scheme == "pi_trap":
        ha = dt ** orders / gamma(orders + 2.0)
        a0 = _first_weights(orders, n_steps)
    else:
        ha = dt ** orders
        a0 = np.zeros((orders.shape[0], 1))
    return FractionalArrays(
        ring=np.zeros((width, size)), coef=coef, lam=lam, beta=beta, mu=lam ** (width + 1),
        soe=np.zeros((n_exp, size)), first=np.zeros(size, dtype=np.int64),
        group=group.astype(np.int64), ha=ha, base=np.zeros(size), f0=np.zeros(size), a0=a0,
        tail=np.zeros(size), leave=np.zeros(size), hist=np.zeros(size), horizon=n_steps,
        far=np.zeros((FAR_BLOCK if memory.kind == "full" else 0, size)),
        far_n0=np.full(1, -1, dtype=np.int64),
    )


def block_end(arr: FractionalArrays, n: int) -> int | None:
    """First step after the block holding step ``n`` (None: the memory is not blocked)."""
    nb = arr.far.shape[0]
    return None if nb == 0 else n - n % nb + nb


def far_kernel(coef: np.ndarray, n0: int, rows: int, out: np.ndarray | None = None) -> np.ndarray:
    """``toe[b, m] = c_{n0+b-m}`` for ``b < rows``, ``m < n0`` (rows contiguous): the
    matrix whose product with the increments ``q[:n0]`` gives a block's far sums
    ``sum_{m < n0} c_{n0+b-m} q_m``.  Built from windows of the reversed kernel ``coef``
    (``c_0, c_1, ...``, at least ``n0 + rows`` long); into ``out[:rows, :n0]`` if given
    (a reused buffer: nothing allocated)."""
    rev = coef[n0 + rows - 1::-1]
    win = np.lib.stride_tricks.sliding_window_view(rev, n0)[rows - 1::-1]
    if out is None:
        return np.ascontiguousarray(win)
    dst = out[:rows, :n0]
    np.copyto(dst, win)
    return dst


def fill_far(arr: FractionalArrays, n: int) -> None:
    """Far sums of the block holding step ``n`` (``n0 = n - n % B``):
    ``far[b, i] = sum_{m < n0} c_{n0+b-m} q_m[i]`` for the block's steps up to the
    horizon; one matrix product per order group over the ring rows ``0 .. n0-1``."""
    nb = arr.far.shape[0]
    n0 = n - n % nb
    arr.far_n0[0] = n0
    arr.far[:] = 0.0
    rows = min(nb, arr.coef.shape[1] - n0)  # steps of the block within the kernel's range
    if n0 == 0 or rows <= 0:
        return
    q = arr.ring[:n0]
    groups = arr.coef.shape[0]
    for g in range(groups):
        toe = far_kernel(arr.coef[g], n0, rows)
        if groups == 1:
            np.matmul(toe, q, out=arr.far[:rows])
        else:
            cols = np.flatnonzero(arr.group == g)
            arr.far[:rows, cols] = toe @ q[:, cols]


def _first_weights(orders: np.ndarray, n_steps: int) -> np.ndarray:
    """``a0_m`` of each order for ``m = 0 .. n_steps + 1`` (``m = 0`` unused)."""
    from .weights import pi_trapezoid_first

    m = np.arange(1, n_steps + 2)
    return np.stack([np.concatenate([[0.0], pi_trapezoid_first(float(a), m)])
                     for a in orders])


def extend(arr: FractionalArrays, scheme: str, memory: Memory, orders: np.ndarray,
           n_total: int, terms: tuple = (), dt: float = 1.0) -> None:
    """Make ``arr`` hold a run that ends at step ``n_total`` (a continued run): a full
    memory grows its ring and kernel, the product-trapezoidal ``a0`` table grows."""
    from .weights import kernel

    if n_total <= arr.horizon:
        return
    width = arr.width
    if memory.kind == "full" and n_total > width:
        ring = np.zeros((n_total, arr.ring.shape[1]))
        ring[:width] = arr.ring  # full memory never wraps: row m holds q_m
        arr.ring = ring
        if terms:
            arr.coef = sum(c * dt ** (-a) * kernel(scheme, a, n_total + 1)
                           for c, a in terms)[None, :]
        else:
            arr.coef = np.stack([kernel(scheme, float(a), n_total + 1) for a in orders])
    if scheme == "pi_trap":
        arr.a0 = _first_weights(orders, n_total)
    arr.horizon = n_total
