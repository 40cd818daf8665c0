"""Far history sums of a full memory (fracsim.fractional.far_sums): the block-by-block
forward sums and the adjoint's transposed sums and order term equal the direct sums over
every pair of steps in different blocks, whichever mix of FFTs, super-block and block
products does them."""

from __future__ import annotations

import numpy as np
import pytest

from fracsim.fractional import far_sums as FS


def _direct(c, dc, q, A, nb):
    """``H_n = sum_{k < block(n)} c_{n-k} q_k``, ``F_k = sum_{n >= end(k)} c_{n-k} A_n``
    and ``sum_k sum_{n >= end(k)} dc_{n-k} <q_k, A_n>``."""
    N = q.shape[0]  # noqa: N806
    H, F = np.zeros_like(q), np.zeros_like(q)  # noqa: N806
    term = 0.0
    for n in range(N):
        m0 = n - n % nb
        H[n] = c[n - np.arange(m0)] @ q[:m0]
        m1 = min(m0 + nb, N)
        lags = np.arange(m1, N) - n
        F[n] = c[lags] @ A[m1:]
        term += (dc[lags] @ A[m1:]) @ q[n]
    return H, F, term


def _passes(c, dc, q, A, nb):
    """The forward pass (the rows read before each block) and the backward pass."""
    N, n = q.shape  # noqa: N806
    fwd = FS.FarSums(c, N, nb, n)
    work, H = np.zeros_like(q), np.zeros_like(q)  # noqa: N806
    for m0 in range(0, N, nb):
        fwd.forward(work, m0)
        H[m0:m0 + nb] = work[m0:m0 + nb]
        work[m0:m0 + nb] = q[m0:m0 + nb]  # the block's steps store their increments
    adj = FS.FarSums(c, N, nb, n, dcoef=dc)
    adj.start_adjoint()
    qa, F, term = q.copy(), np.zeros_like(q), 0.0  # noqa: N806
    for m0 in range(((N - 1) // nb) * nb, -1, -nb):
        term += adj.adjoint(qa, m0, F[m0:m0 + nb])
        qa[m0:m0 + nb] = A[m0:m0 + nb]  # the block's steps store their adjoints
    return H, F, term, adj


@pytest.mark.parametrize("N, nb, n, fft_min, columns", [
    (1, 4, 3, 8, 64), (37, 4, 3, 8, 64), (64, 4, 5, 8, 2), (100, 4, 7, 4, 3),
    (129, 8, 7, 16, 64), (300, 16, 5, 32, 2), (1000, 4, 3, 32, 64), (777, 2, 3, 64, 64),
    (500, 4, 3, 10 ** 6, 64)])
def test_far_sums_equal_the_direct_sums(monkeypatch, N, nb, n, fft_min, columns):  # noqa: N803
    monkeypatch.setattr(FS, "FFT_MIN", fft_min)
    monkeypatch.setattr(FS, "FFT_COLUMNS", columns)
    rng = np.random.default_rng(N)
    c = rng.standard_normal(N + 1) / (1.0 + np.arange(N + 1)) ** 1.6
    dc = rng.standard_normal(N + 1)
    q, A = rng.standard_normal((N, n)), rng.standard_normal((N, n))  # noqa: N806
    H, F, term, adj = _passes(c, dc, q, A, nb)  # noqa: N806
    Hd, Fd, term_d = _direct(c, dc, q, A, nb)  # noqa: N806
    assert np.max(np.abs(H - Hd)) <= 1e-13 * max(np.max(np.abs(Hd)), 1.0)
    assert np.max(np.abs(F - Fd)) <= 1e-13 * max(np.max(np.abs(Fd)), 1.0)
    assert term == pytest.approx(term_d, rel=1e-12, abs=1e-12)
    if N > adj.P:  # the tree's ring: its largest left half
        assert adj.H >= adj.P and adj.H % adj.P == 0


def test_partition_sizes():
    """Chunks and super-blocks are powers of two times the block and nest."""
    t = FS.FarSums(np.ones(20001), 20000, 64, 1)
    assert (t.P, t.sb) == (FS.FFT_MIN, 4 * 64)
    assert t.H == 8 * FS.FFT_MIN  # 10 chunks: the top node's left half is 8 chunks
    assert FS.node(6, 2048, 20000) == (4 * 2048, 6 * 2048, 8 * 2048)
    assert FS.node(8, 2048, 20000) == (0, 8 * 2048, 20000)
    assert FS.node(0, 2048, 20000) is None and FS.node(10, 2048, 20000) is None
    short = FS.FarSums(np.ones(301), 300, 64, 1)
    assert (short.sb, short.H) == (64, 64)
