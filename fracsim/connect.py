"""Connection rules (NEST's names, Brian2's ``p=``) and weight/delay generation.

Each rule returns local ``(pre, post)`` index arrays, sorted by ``pre`` then ``post``:

* ``"pairwise_bernoulli"`` (``p``): each ordered pair independently with probability p;
* ``"fixed_indegree"`` (``indegree``): each target gets exactly K distinct sources;
* ``"one_to_one"``: ``pre[i] -> post[i]`` (equal sizes);
* ``"all_to_all"``: every pair;
* ``"explicit"``: user-given ``pre``/``post`` arrays.

Delays are rounded to whole steps, ``steps = floor(d / dt + 1/2)``, and must be >= dt.
"""

from __future__ import annotations

import numpy as np

from ._validate import finite_array

RULES = ("pairwise_bernoulli", "fixed_indegree", "one_to_one", "all_to_all", "explicit")


def pairwise_bernoulli(n_pre: int, n_post: int, p: float, rng: np.random.Generator,
                       autapses: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each of the n_pre*n_post pairs independently with probability ``p``.

    Draws geometric gaps between successive chosen pairs in the flattened index space:
    exact Bernoulli sampling at O(#connections) cost.
    """
    total = n_pre * n_post
    if p <= 0.0 or total == 0:
        flat = np.empty(0, dtype=np.int64)
    elif p >= 1.0:
        flat = np.arange(total, dtype=np.int64)
    else:
        chunks = []
        pos = -1
        expected = int(total * p + 10 * np.sqrt(total * p) + 16)
        while True:
            gaps = rng.geometric(p, size=expected)
            idx = pos + np.cumsum(gaps)
            chunks.append(idx[idx < total])
            if idx[-1] >= total:
                break
            pos = int(idx[-1])
            expected = max(16, expected // 4)
        flat = np.concatenate(chunks)
    pre, post = np.divmod(flat, n_post)
    if not autapses:
        keep = pre != post
        pre, post = pre[keep], post[keep]
    return pre, post


def fixed_indegree(n_pre: int, n_post: int, k: int, rng: np.random.Generator,
                   autapses: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each target gets exactly ``k`` distinct sources chosen uniformly."""
    avail = n_pre - (0 if autapses else 1)
    if k > avail:
        raise ValueError(f"indegree must be <= {avail} (number of possible sources), got {k}")
    pre = np.empty(n_post * k, dtype=np.int64)
    for j in range(n_post):
        if autapses:
            src = rng.choice(n_pre, size=k, replace=False)
        else:
            src = rng.choice(n_pre - 1, size=k, replace=False)
            src[src >= j] += 1
        pre[j * k:(j + 1) * k] = np.sort(src)
    post = np.repeat(np.arange(n_post, dtype=np.int64), k)
    order = np.lexsort((post, pre))
    return pre[order], post[order]


def synapse_values(name: str, spec, pre: np.ndarray, post: np.ndarray,
                   rng: np.random.Generator, n_pre: int, n_post: int) -> np.ndarray:
    """Per-synapse values from a scalar, a per-synapse array, an (n_pre, n_post) matrix,
    a ``(lo, hi)`` uniform range, or a callable ``f(rng, size) -> array``."""
    m = pre.shape[0]
    if callable(spec):
        out = np.asarray(spec(rng, m), dtype=np.float64)
        if out.shape != (m,):
            raise ValueError(f"{name}: the callable returned shape {out.shape}, expected ({m},)")
    elif isinstance(spec, tuple):
        if len(spec) != 2:
            raise ValueError(f"{name}: a tuple means a uniform range (lo, hi), got {spec!r}")
        lo, hi = (float(finite_array(name, v)) for v in spec)
        if not hi >= lo:
            raise ValueError(f"{name}: uniform range needs lo <= hi, got ({lo}, {hi})")
        out = rng.uniform(lo, hi, size=m)
    else:
        arr = finite_array(name, spec) if np.ndim(spec) <= 1 else np.asarray(spec, float)
        if arr.ndim == 0:
            out = np.full(m, float(arr))
        elif arr.ndim == 1:
            if arr.shape[0] != m:
                raise ValueError(
                    f"{name} has {arr.shape[0]} entries but the rule made {m} synapses"
                )
            out = arr.astype(np.float64)
        elif arr.shape == (n_pre, n_post):
            out = arr[pre, post].astype(np.float64)
        else:
            raise ValueError(
                f"{name}: a matrix must have shape (n_pre, n_post) = ({n_pre}, {n_post}), "
                f"got {arr.shape}"
            )
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return out


def delay_steps(delays_ms: np.ndarray, dt: float) -> np.ndarray:
    """Quantize delays (ms) to steps: ``floor(d/dt + 1/2)``; raise if any d < dt."""
    if delays_ms.size and delays_ms.min() < dt * (1 - 1e-9):
        raise ValueError(
            f"delay must be >= dt = {dt} ms (one step), got a minimum of {delays_ms.min():g} ms"
        )
    return np.floor(delays_ms / dt + 0.5).astype(np.int64)
