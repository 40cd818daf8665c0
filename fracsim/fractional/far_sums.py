r"""Far history sums of a full memory, and their adjoint, for a run known in advance.

A full memory's history ``H_n = sum_{k<n} c_{n-k} q_k`` (increments ``q``, kernel ``c``)
is a causal convolution whose inputs appear one step at a time.  The steps are cut into
blocks of ``nb`` (the kernels sum a block's own lags step by step); the lags between
blocks are summed here, partitioned by three nested sizes, ``nb | sb | P`` (powers of two
times ``nb``): blocks, super-blocks of ``sb`` steps and chunks of ``P = FFT_MIN`` steps.
Each pair of steps ``k < n`` in different blocks is summed exactly once:

* **same super-block**: before block ``[m0, m1)`` runs, one product adds the lags from the
  super-block's earlier blocks ``[s0, m0)``;
* **same chunk**: before a super-block ``[s0, s1)`` runs, one product adds the lags from
  the chunk's earlier super-blocks ``[c0, s0)`` (large products, near BLAS' peak);
* **different chunks**: the dyadic tree over the chunks.  The node split at chunk ``s``
  (``h = s & -s``) takes the lags from its left half, steps ``a = (s-h) P .. m = s P``,
  to its right half, ``m .. b = min((s+h) P, N)``: an FFT convolution of length
  ``2L`` (``L = m - a``) per column chunk, ``O(n L log L)`` instead of the ``O(n L^2)``
  of a product (faster from ``L`` ~ 2048 steps on; ``benchmarks/far_sums.py``).

The adjoint is the transpose of the same partition, visited backwards: the sums
``F_k = sum_{n>k} c_{n-k} A_n`` of a block's later blocks (``A``: the adjoint of ``H``)
and the order term ``sum dc_{n-k} <q_k, A_n>`` (``dc = dc/dalpha``).  The forward pass adds
its sums into the rows of the increments' array that are not yet written (a step reads
its row as the far history, then stores its increment there); the adjoint collects them
in a ring (the largest left half of the tree, aligned: nothing wraps), as the rows below
still hold the increments.  The FFTs run on column chunks of :data:`FFT_COLUMNS`; the
buffers are allocated once per run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .memory import far_kernel

#: chunk size (steps): lags between chunks are convolved by FFT (a power of two times the
#: block).  On 2 cores, 2048 gave the fastest forward and adjoint passes of 2048 columns
#: at 4000 and 16000 steps among 1024, 2048, 4096 (``benchmarks/far_sums.py``).
FFT_MIN = 2048
#: columns (neurons) per FFT chunk, at most; fewer for long transforms, so that a chunk's
#: padded rows stay within FFT_ELEMENTS floats (the buffers stay small beside the run's)
FFT_COLUMNS = 64
FFT_ELEMENTS = 1 << 18
#: threads of the FFTs (NumPy's, on column chunks; the matrix products use BLAS' own)
FFT_WORKERS = 2
#: blocks per super-block (at most; a power of two)
SUPER = 4


def node(s: int, size: int, N: int) -> tuple[int, int, int] | None:  # noqa: N803
    """``(a, m, b)`` (steps) of the dyadic node split at unit ``s`` of ``size`` steps, or
    ``None`` (``s = 0``, or a split at or beyond the run's end ``N``)."""
    m = s * size
    if s <= 0 or m >= N:
        return None
    h = s & -s
    return (s - h) * size, m, min((s + h) * size, N)


_POOL: ThreadPoolExecutor | None = None
_SCRATCH: dict[str, np.ndarray] = {}


def _scratch(key: str, size: int) -> np.ndarray:
    """A flat float64 buffer of at least ``size`` shared by the runs of the process (grown,
    never shrunk; the passes use it one at a time)."""
    buf = _SCRATCH.get(key)
    if buf is None or buf.shape[0] < size:
        buf = _SCRATCH[key] = np.empty(size)
    return buf[:size]


def _pool() -> ThreadPoolExecutor:
    """The FFT threads (created on first use, kept for the process)."""
    global _POOL
    if _POOL is None or _POOL._max_workers < FFT_WORKERS:
        _POOL = ThreadPoolExecutor(max(1, FFT_WORKERS), thread_name_prefix="fracsim-fft")
    return _POOL


class _Workspace:
    """One FFT worker's buffers, grown to the largest ``(columns, L)`` asked for: the
    padded real rows, two spectra, the inverse transform and the order term's cross
    spectrum (nothing allocated per node)."""

    def __init__(self) -> None:
        self._x = self._z = np.empty(0)
        self._y = self._xq = self._cross = np.empty(0, dtype=np.complex128)

    def views(self, cols: int, L: int) -> tuple:  # noqa: N803
        real, cplx = cols * 2 * L, cols * (L + 1)
        if self._x.shape[0] < real:
            self._x, self._z = np.empty(real), np.empty(real)
        if self._y.shape[0] < cplx:
            self._y = np.empty(cplx, dtype=np.complex128)
            self._xq = np.empty(cplx, dtype=np.complex128)
        if self._cross.shape[0] < L + 1:
            self._cross = np.empty(L + 1, dtype=np.complex128)
        return (self._x[:real].reshape(cols, 2 * L), self._y[:cplx].reshape(cols, L + 1),
                self._z[:real].reshape(cols, 2 * L), self._xq[:cplx].reshape(cols, L + 1),
                self._cross[:L + 1])


_WORKSPACES: list[_Workspace] = []


def _workspace(worker: int) -> _Workspace:
    """FFT worker ``worker``'s buffers (shared by the runs: one pass at a time)."""
    while len(_WORKSPACES) <= worker:
        _WORKSPACES.append(_Workspace())
    return _WORKSPACES[worker]


def _pow2_at_most(x: int) -> int:
    p = 1
    while 2 * p <= x:
        p *= 2
    return p


def _super_steps(N: int, nb: int, P: int) -> int:  # noqa: N803
    """Steps per super-block: up to :data:`SUPER` blocks, at most ``N / 8`` steps (its
    buffers stay small beside the ``(N, n)`` increments on short runs) and the chunk."""
    return min(_pow2_at_most(max(1, min(SUPER, N // (8 * nb)))) * nb, P)


class FarSums:
    """The far sums of one population's full memory over ``N`` steps in blocks of ``nb``.

    ``coef``: the kernel ``c_0, c_1, ...`` (at least up to lag ``N - 1``); ``dcoef``:
    ``dc/dalpha`` likewise, for the adjoint's order term (``None``: no order term);
    ``n``: the neurons (columns).  Call :meth:`forward` before each block of the forward
    pass, :meth:`adjoint` before each block of the backward pass (last block first).
    """

    def __init__(self, coef: np.ndarray, N: int, nb: int, n: int,  # noqa: N803
                 dcoef: np.ndarray | None = None) -> None:
        self.N, self.nb, self.n = int(N), int(nb), int(n)
        self.P = _pow2_at_most(max(FFT_MIN // nb, 1)) * nb  # noqa: N806 - chunk
        self.sb = _super_steps(self.N, nb, self.P)
        if self.N <= self.P:
            self.H = self.sb  # noqa: N806 - ring rows: the super-blocks' only
        else:
            chunks = -(-self.N // self.P)
            self.H = _pow2_at_most(chunks - 1) * self.P  # the tree's largest left half
        size = 2 * max(self.H, min(self.P, self.N)) + 1
        self.c = self._extend(coef, size)
        self.dc = self._extend(dcoef, size) if dcoef is not None else None
        k = 1 if self.dc is None else 2
        cols = min(self.P, self.N)
        self._fac = _scratch("factor", k * self.sb * cols)  # Toeplitz factors (per product)
        self._tmp = _scratch("product", k * self.sb * self.n).reshape(k * self.sb, self.n)
        self._spec: dict[int, np.ndarray] = {}
        self.ring: np.ndarray | None = None

    @staticmethod
    def _extend(kernel: np.ndarray, size: int) -> np.ndarray:
        """The kernel with ``c_0 = 0`` (never a far lag), zero beyond its end."""
        out = np.zeros(size)
        k = min(size, kernel.shape[0])
        out[1:k] = kernel[1:k]
        return out

    # --------------------------------------------------------------- products
    def _factor(self, rows: int, cols: int) -> np.ndarray:
        """``T[r, t] = c_{cols+r-t}``: the sums of rows ``m .. m+rows-1`` over the lags
        from ``m-cols .. m-1`` are ``T @ q[m-cols:m]`` (the engine's block factor,
        :func:`fracsim.fractional.memory.far_kernel`, in the reused buffer)."""
        return far_kernel(self.c, cols, rows, out=self._fac[:rows * cols].reshape(rows, cols))

    def _adjoint_factor(self, rows: int, cols: int) -> np.ndarray:
        """``T^T`` of :meth:`_factor` (``(rows, cols)`` now the lags' rows and the later
        steps' columns) and, with ``dcoef``, below it the same with ``dc``."""
        kernels = (self.c,) if self.dc is None else (self.c, self.dc)
        out = self._fac[:len(kernels) * rows * cols].reshape(len(kernels) * rows, cols)
        for i, kern in enumerate(kernels):  # row t: kern_{rows-t} .. kern_{rows-t+cols-1}
            win = np.lib.stride_tricks.sliding_window_view(kern[1:rows + cols], cols)
            np.copyto(out[i * rows:(i + 1) * rows], win[::-1])
        return out

    def _forward_product(self, q: np.ndarray, lo: int, m: int, rows: int) -> None:
        """``q[m:m+rows] += sum over the lags from q[lo:m]``."""
        if m > lo and rows > 0:
            q[m:m + rows] += np.matmul(self._factor(rows, m - lo), q[lo:m],
                                       out=self._tmp[:rows])

    def _adjoint_product(self, qa: np.ndarray, lo: int, m: int, hi: int,
                         dst: np.ndarray) -> float:
        """``dst += F`` of the steps ``lo .. m-1`` over the lags to ``A[m:hi]``; returns
        their order term (``q`` in ``qa[lo:m]``)."""
        if hi <= m:
            return 0.0
        fac = self._adjoint_factor(m - lo, hi - m)
        res = np.matmul(fac, qa[m:hi], out=self._tmp[:fac.shape[0]])
        dst += res[:m - lo]
        return float(np.vdot(res[m - lo:], qa[lo:m])) if self.dc is not None else 0.0

    # -------------------------------------------------------------------- FFTs
    def _spectrum(self, L: int) -> np.ndarray:  # noqa: N803
        """``rfft(c_0 .. c_{2L-1})`` (cached per left half)."""
        spec = self._spec.get(L)
        if spec is None:
            spec = self._spec[L] = np.fft.rfft(self.c[:2 * L])
        return spec

    def _fft_columns(self, L: int) -> int:  # noqa: N803
        """Columns per FFT chunk for transforms of length ``2L``."""
        return max(1, min(FFT_COLUMNS, self.n, max(4, FFT_ELEMENTS // (2 * L))))

    def _columns(self, task, L: int) -> int:  # noqa: N803
        """``task(worker, chunks)`` over the column chunks, split between the
        :data:`FFT_WORKERS` threads (NumPy's FFTs and copies release the GIL; each worker
        has its own buffers and columns, so the result does not depend on the timing).
        Returns the number of workers used (``0 .. workers-1``)."""
        chunks = list(range(0, self.n, self._fft_columns(L)))
        workers = max(1, min(FFT_WORKERS, len(chunks)))
        if workers == 1:
            task(0, chunks)
            return 1
        futures = [_pool().submit(task, w, chunks[w::workers]) for w in range(workers)]
        for f in futures:
            f.result()
        return workers

    def _forward_fft(self, q: np.ndarray, a: int, m: int, b: int) -> None:
        L, R = m - a, b - m  # noqa: N806
        spec = self._spectrum(L)

        def task(worker: int, chunks: list[int]) -> None:
            cols = self._fft_columns(L)
            x, y, z, _, _ = _workspace(worker).views(cols, L)
            for c0 in chunks:
                c1 = min(c0 + cols, self.n)
                k = c1 - c0
                x[:k, :L] = q[a:m, c0:c1].T  # the columns as rows, zero-padded to 2L
                x[:k, L:] = 0.0
                np.fft.rfft(x[:k], axis=1, out=y[:k])
                y[:k] *= spec
                np.fft.irfft(y[:k], n=2 * L, axis=1, out=z[:k])
                q[m:b, c0:c1] += z[:k, L:L + R].T

        self._columns(task, L)

    def _adjoint_fft(self, qa: np.ndarray, a: int, m: int, b: int, dst: np.ndarray) -> float:
        L, R = m - a, b - m  # noqa: N806
        spec = self._spectrum(L).conj()
        order = self.dc is not None

        def task(worker: int, chunks: list[int]) -> None:
            cols = self._fft_columns(L)
            x, y, z, xq, cross = _workspace(worker).views(cols, L)
            cross[:] = 0.0
            for c0 in chunks:
                c1 = min(c0 + cols, self.n)
                k = c1 - c0
                x[:k, :L] = 0.0  # A's columns at positions L .. L+R-1 of 2L, as rows
                x[:k, L:L + R] = qa[m:b, c0:c1].T
                x[:k, L + R:] = 0.0
                np.fft.rfft(x[:k], axis=1, out=y[:k])
                if order:  # q's columns at 0 .. L-1: the cross spectrum
                    x[:k, :L] = qa[a:m, c0:c1].T
                    x[:k, L:] = 0.0
                    np.fft.rfft(x[:k], axis=1, out=xq[:k])
                    np.conjugate(xq[:k], out=xq[:k])
                    xq[:k] *= y[:k]
                    cross += xq[:k].sum(axis=0)
                y[:k] *= spec  # correlation with c
                np.fft.irfft(y[:k], n=2 * L, axis=1, out=z[:k])
                dst[:, c0:c1] += z[:k, :L].T

        used = self._columns(task, L)
        if not order:
            return 0.0
        cols = self._fft_columns(L)
        total = sum(_workspace(w).views(cols, L)[4] for w in range(used))
        corr = np.fft.irfft(total, n=2 * L)  # corr[lag] = sum_i sum_t q[a+t] A[a+t+lag]
        return float(self.dc[1:2 * L] @ corr[1:2 * L])

    # ---------------------------------------------------------------- passes
    def forward(self, q: np.ndarray, m0: int) -> None:
        """Before the block starting at step ``m0`` runs: complete the far sums of its
        rows ``q[m0:m0+nb]`` (``q``: ``(N, n)``, the increments in rows ``< m0``; the rows
        from ``m0`` on hold the sums added so far, zero at the start)."""
        N, P, sb = self.N, self.P, self.sb  # noqa: N806
        c0, s0 = m0 - m0 % P, m0 - m0 % sb
        if m0 == c0:
            nd = node(m0 // P, P, N)
            if nd is not None:
                self._forward_fft(q, *nd)
        if m0 == s0:
            self._forward_product(q, c0, s0, min(sb, N - s0))
        self._forward_product(q, s0, m0, min(self.nb, N - m0))

    def start_adjoint(self) -> None:
        """A zeroed ring for :meth:`adjoint` (allocated once)."""
        if self.ring is None:
            self.ring = np.zeros((self.H, self.n))
        else:
            self.ring[:] = 0.0

    def adjoint(self, qa: np.ndarray, m0: int, out: np.ndarray) -> float:
        """Before the backward pass of the block starting at ``m0``: its far adjoint sums
        into ``out[:rows]`` (the lags to every later block); returns the order term of the
        lags summed here (0 without ``dcoef``).  ``qa``: ``(N, n)``, ``A`` in the rows of
        the later blocks, the increments ``q`` in the others."""
        N, P, sb, H = self.N, self.P, self.sb, self.H  # noqa: N806
        m1 = min(m0 + self.nb, N)
        c0, s0 = m0 - m0 % P, m0 - m0 % sb
        c1, s1 = min(c0 + P, N), min(s0 + sb, N)
        term = 0.0
        if m1 == c1 < N:  # the tree's node split at the chunk's end
            nd = node(c1 // P, P, N)
            if nd is not None:
                a, m, _ = nd
                term += self._adjoint_fft(qa, *nd, self.ring[a % H:a % H + m - a])
        if m1 == s1:
            term += self._adjoint_product(qa, s0, s1, c1, self.ring[s0 % H:s0 % H + s1 - s0])
        rows = m1 - m0
        src = self.ring[m0 % H:m0 % H + rows]
        out[:rows] = src
        src[:] = 0.0
        return term + self._adjoint_product(qa, m0, m1, s1, out[:rows])
