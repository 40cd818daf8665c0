"""The gradient benchmark's peer: PyTorch autograd BPTT through the same discrete network.

Run with a Python that has torch (not fracsim's; torch is no dependency of fracsim)::

    python3 -m venv /work/venv_torch && /work/venv_torch/bin/pip install torch==2.13.0 numpy
    PY=/work/venv_torch/bin/python
    $PY benchmarks/gradients_torch.py --steps 1000            # loss, gradients, time, memory
    $PY benchmarks/gradients_torch.py --steps 50 --batch 2 --n-in 6 --n1 4 --n2 4 --fd

``benchmarks/gradients.py`` calls it in a fresh subprocess per configuration (so that the
peak memory of one does not hide in another's).  The problem (network, inputs, discrete
semantics, loss, surrogate) is defined in ``benchmarks/gradients_problem.py`` and shared
with fracsim's side; this file only writes it in torch:

* float64 throughout; the parameters ``W1``, ``W2``, ``alpha1``, ``alpha2`` are leaf tensors
  and the scheme's weights ``c_k(alpha)`` (GL: ``cumprod(1 - alpha/k)``; L1: ``((k+1)^(1-a) -
  k^(1-a)) / Γ(2-a)`` written as ``k^p expm1(p log1p(1/k))``, ``p = 1 - a``, and
  ``exp(lgamma(2 - a))``) and ``h^alpha`` are torch functions of alpha, so autograd
  differentiates the scheme itself.
* Full memory: ``H_n = sum_{k=1}^{n} c_k q_{n-k}`` over every past increment, evaluated in
  blocks of ``--block`` steps so that autograd does not store a copy of the history per step
  (that would be O(T^2 N) memory): the increments of each finished block are stacked once
  into ``Q_j`` (block x neurons); at the start of block ``b`` its steps get
  ``sum_{j<b} K_{b-j} Q_j`` (``K_d`` the Toeplitz block of lags ``d*block - block+1 ..
  d*block + block-1``, one ``addmm`` per past block), and inside the block each new ``q_n``
  is added to the later steps of the block (``inblock += C_in[:, r] q_n``).  Per-step
  slices are taken with ``unbind`` where possible (one backward node; an indexing slice
  would write a zero tensor of the whole array in every step's backward).  Same sum, same
  O(T^2 N) work as the plain loop, O(T N) saved tensors.
* The layers are feed-forward with a delay, so layer 1 is run over all steps, then layer 2
  (``A = S_pre @ W`` for all steps in one matmul each): the same arithmetic as
  interleaving the layers step by step.
* Spikes: ``s = H(x)`` forward, ``sigma'(x)`` of ``fs.surrogate.Sigmoid(width)`` backward (a
  ``torch.autograd.Function``); ``--relaxed``: ``s = sigmoid(x / width)`` forward as well.

Output: exactly one JSON line on stdout (logs on stderr).  Keys: ``loss``; ``grads``:
``alpha1``, ``alpha2`` (floats) and the norms/sums of ``W1``, ``W2`` gradients (the arrays go
to ``--grads-out FILE.npz``); ``forward_s``/``backward_s`` (median over ``--repeats`` timed
runs) and the lists of all; ``peak_rss_mb`` (the process's VmHWM), ``base_rss_mb`` (VmRSS
before the first run: interpreter, torch, problem arrays), ``peak_increase_mb`` (their
difference: what the forward + backward cost); ``saved_mb`` (distinct storages autograd
saved for backward, measured with ``torch.autograd.graph.saved_tensors_hooks`` in the first
run, which is untimed when ``--repeats > 1``); ``mmap_threshold_fixed`` (glibc's mmap
threshold fixed at 128 KiB, see :func:`fixed_mmap_threshold`; ``--default-malloc`` keeps
glibc's default); ``spike_rates_hz`` per layer; ``fd`` (with
``--fd``: central finite differences of the loss vs autograd for both alphas and a few
weights, relaxed model); versions, threads, CPU affinity, load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gradients_problem import (  # noqa: E402
    Problem,
    fixed_mmap_threshold,
    make_problem,
    status_mb,
)


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ the model
class _Spike(torch.autograd.Function):
    """Heaviside forward, ``fs.surrogate.Sigmoid(width)`` derivative backward."""

    @staticmethod
    def forward(ctx, x, width):
        ctx.save_for_backward(x)
        ctx.width = width
        return (x >= 0.0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        w = ctx.width
        e = torch.exp(-x.abs() / w)  # S (1 - S) / w, stable for any |x|
        return grad * (e / ((1.0 + e) ** 2 * w)), None


def kernel(scheme: str, alpha: torch.Tensor, n: int) -> torch.Tensor:
    """``c_0 .. c_{n-1}`` as a differentiable function of ``alpha`` (0-d tensor)."""
    k = torch.arange(1, n, dtype=torch.float64)
    if scheme == "gl":
        return torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1.0 - alpha / k, 0)])
    p = 1.0 - alpha
    rest = k**p * torch.expm1(p * torch.log1p(1.0 / k))
    one = torch.ones(1, dtype=torch.float64)
    return torch.cat([one, rest]) / torch.exp(torch.lgamma(2.0 - alpha))


def layer(prob: Problem, drive_in: torch.Tensor, v0: torch.Tensor, alpha: torch.Tensor,
          relaxed: bool, block: int):
    """Run one fractional LIF layer over all steps.

    ``drive_in``: (T, B, N) the synaptic arrivals ``A_n`` of each step.  Returns the
    potentials at the start of each step and the spikes of each step, both (T, B, N).
    """
    T = prob.T  # noqa: N806
    B, N = v0.shape  # noqa: N806
    M = B * N  # noqa: N806
    nb = -(-T // block)
    c = kernel(prob.scheme, alpha, nb * block + 1)
    c0 = c[0]
    ha = torch.pow(torch.tensor(prob.dt, dtype=torch.float64), alpha)
    r = torch.arange(block)
    # K[d][r, col] = c[d*block + r - col] (d >= 1: every lag >= 1); C_in[r', r] = c[r' - r]
    lags = torch.arange(nb)[:, None, None] * block + r[None, :, None] - r[None, None, :]
    kblocks = torch.unbind(c[lags.clamp(min=0)])  # one backward node for all blocks
    diff = r[:, None] - r[None, :]
    c_in = torch.where(diff > 0, c[diff.clamp(min=0)], torch.zeros((), dtype=torch.float64))
    inv_tau = 1.0 / prob.tau
    decay = prob.decay_s
    drives = drive_in.unbind(0)  # per-step views with one backward node (indexing
    # drive_in[n] would make every step's backward write a zero tensor of the whole
    # (T, B, N) arrival array: O(T^2 N) memory traffic)
    vs, ss, qblocks = [], [], []
    v = v0
    g = torch.zeros_like(v0)
    for b in range(nb):
        n0 = b * block
        past = torch.zeros(block, M, dtype=torch.float64)
        for j in range(b):
            past = torch.addmm(past, kblocks[b - j], qblocks[j])
        past_rows = past.unbind(0)
        inblock = None  # sum over the block's earlier steps, for each step of the block
        qs = []
        for rr in range(min(block, T - n0)):
            n = n0 + rr
            g = g * decay + drives[n] if n else drives[0]
            vs.append(v)
            hist = past_rows[rr] if inblock is None else past_rows[rr] + inblock[rr]
            hist = hist.view(B, N)
            f = (prob.v_rest - v + g) * inv_tau
            dv = (ha * f - hist) / c0
            if prob.scheme == "l1":
                f = (prob.v_rest - (v + dv) + g) * inv_tau
                dv = dv - (c0 * dv - ha * f + hist) / (c0 + ha * inv_tau)
            vp = v + dv
            x = vp - prob.v_th
            s = torch.sigmoid(x / prob.width) if relaxed else _Spike.apply(x, prob.width)
            v = vp - s * (vp - prob.v_reset)
            q = (dv - s * x).reshape(1, M)
            ss.append(s)
            qs.append(q)
            if rr < block - 1:
                contrib = c_in[:, rr:rr + 1] * q
                inblock = contrib if inblock is None else inblock + contrib
        if b < nb - 1:
            qblocks.append(torch.cat(qs, 0))
    # note: g is decayed after use in fracsim; here g_n = decay g_{n-1} + A_n is the value
    # after the arrivals of step n, the same sequence
    return torch.stack(vs), torch.stack(ss)


def arrivals(prob: Problem, spikes: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``A_n = spikes[n - 1 - D] @ w`` (zero for ``n < 1 + D``), shape (T, B, N_post)."""
    T, B, _ = spikes.shape  # noqa: N806
    lag = 1 + prob.delay_steps
    a = (spikes[:T - lag].reshape(-1, spikes.shape[2]) @ w).reshape(T - lag, B, w.shape[1])
    return torch.cat([torch.zeros(lag, B, w.shape[1], dtype=torch.float64), a])


def loss_fn(prob: Problem, params: dict, relaxed: bool = False, block: int = 64,
            record: dict | None = None) -> torch.Tensor:
    """The benchmark loss as a torch scalar (graph attached to ``params``)."""
    s0 = torch.from_numpy(prob.inputs.astype(np.float64))
    v1_0 = torch.from_numpy(prob.v1_0)
    v2_0 = torch.from_numpy(prob.v2_0)
    _, s1 = layer(prob, arrivals(prob, s0, params["W1"]), v1_0, params["alpha1"], relaxed,
                  block)
    v2, s2 = layer(prob, arrivals(prob, s1, params["W2"]), v2_0, params["alpha2"], relaxed,
                   block)
    target = torch.from_numpy(prob.target)
    if record is not None:
        record["s1"], record["s2"], record["v2"] = s1.detach(), s2.detach(), v2.detach()
    return torch.mean((v2 - target) ** 2)


def leaf_params(prob: Problem) -> dict:
    return {
        "W1": torch.tensor(prob.w1, requires_grad=True),
        "W2": torch.tensor(prob.w2, requires_grad=True),
        "alpha1": torch.tensor(prob.alpha1, dtype=torch.float64, requires_grad=True),
        "alpha2": torch.tensor(prob.alpha2, dtype=torch.float64, requires_grad=True),
    }


# ------------------------------------------------------------------------------ measurements
class SavedBytes:
    """Bytes of the distinct storages autograd saves for backward (a pack hook)."""

    def __init__(self):
        self.storages: dict[int, int] = {}

    def pack(self, t):
        st = t.untyped_storage()
        self.storages[st.data_ptr()] = st.nbytes()
        return t

    @staticmethod
    def unpack(t):
        return t

    @property
    def mb(self) -> float:
        return sum(self.storages.values()) / 2**20


def measure(prob: Problem, repeats: int, relaxed: bool, block: int) -> dict:
    base = status_mb("VmRSS")
    fwd, bwd, out = [], [], {}
    for rep in range(max(1, repeats + (1 if repeats > 1 else 0))):
        params = leaf_params(prob)
        record = {}
        hook = SavedBytes() if rep == 0 else None
        t0 = time.perf_counter()
        if hook is not None:
            with torch.autograd.graph.saved_tensors_hooks(hook.pack, hook.unpack):
                loss = loss_fn(prob, params, relaxed, block, record)
        else:
            loss = loss_fn(prob, params, relaxed, block, record)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        if hook is not None:
            out["saved_mb"] = hook.mb
        timed = repeats == 1 or rep > 0
        log(f"run {rep}: forward {t1 - t0:.3f} s, backward {t2 - t1:.3f} s"
            + ("" if timed else " (untimed: saved-tensor accounting)"))
        if timed:
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
        out["loss"] = float(loss.detach())
        out["_grads"] = {k: p.grad.detach().numpy().copy() for k, p in params.items()}
        out["_record"] = record
        del loss, params
    out.update(forward_s=float(np.median(fwd)), backward_s=float(np.median(bwd)),
               forward_all_s=fwd, backward_all_s=bwd,
               peak_rss_mb=status_mb("VmHWM"), base_rss_mb=base)
    out["peak_increase_mb"] = out["peak_rss_mb"] - base
    return out


def finite_differences(prob: Problem, block: int, eps: float = 1e-4) -> dict:
    """Finite differences of the relaxed loss vs autograd: both alphas, and of each weight
    matrix its entry of largest gradient and two random entries of nonzero gradient.  Fourth
    order central stencil ``(8 (L(+h) - L(-h)) - (L(+2h) - L(-2h))) / (12 h)``,
    ``h = eps * max(1, |p|)``: truncation ~h^4, rounding ~1e-16 L / h."""
    params = leaf_params(prob)
    loss = loss_fn(prob, params, True, block)
    loss.backward()
    rng = np.random.default_rng(0)
    picks = [("alpha1", None), ("alpha2", None)]
    for name in ("W1", "W2"):
        g = params[name].grad.numpy()
        picks.append((name, np.unravel_index(int(np.argmax(np.abs(g))), g.shape)))
        nz = np.flatnonzero(np.abs(g) > 1e-3 * np.abs(g).max())
        for flat in rng.choice(nz, size=min(2, nz.size), replace=False):
            picks.append((name, np.unravel_index(int(flat), g.shape)))
    rows = []
    for name, idx in picks:
        idx = None if idx is None else tuple(int(i) for i in idx)
        auto = float(params[name].grad[idx] if idx is not None else params[name].grad)
        base = float(params[name][idx] if idx is not None else params[name])
        h = eps * max(1.0, abs(base))
        vals = {}
        for m in (1, -1, 2, -2):
            p2 = {k: v.detach().clone() for k, v in params.items()}
            with torch.no_grad():
                if idx is None:
                    p2[name] = torch.tensor(base + m * h, dtype=torch.float64)
                else:
                    p2[name][idx] = base + m * h
                vals[m] = float(loss_fn(prob, p2, True, block))
        fd = (8.0 * (vals[1] - vals[-1]) - (vals[2] - vals[-2])) / (12.0 * h)
        rel = abs(fd - auto) / max(abs(auto), abs(fd), 1e-300)
        rows.append({"param": name, "index": idx, "autograd": auto, "fd": fd, "rel_err": rel})
    return {"loss": float(loss.detach()), "rows": rows,
            "max_rel_err": max(r["rel_err"] for r in rows), "eps": eps}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="PyTorch BPTT peer of benchmarks/gradients.py")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--scheme", choices=("gl", "l1"), default="l1")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--n-in", type=int, default=100)
    ap.add_argument("--n1", type=int, default=128)
    ap.add_argument("--n2", type=int, default=128)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs (median)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--block", type=int, default=64, help="history block (steps)")
    ap.add_argument("--relaxed", action="store_true", help="sigmoid spikes in the forward too")
    ap.add_argument("--fd", action="store_true",
                    help="finite-difference check of the gradients (relaxed model)")
    ap.add_argument("--grads-out", default=None, help="write the gradients (npz) here")
    ap.add_argument("--record-out", default=None, help="write spikes and V2 (npz) here")
    ap.add_argument("--default-malloc", action="store_true",
                    help="keep glibc's dynamic mmap threshold (see fixed_mmap_threshold)")
    args = ap.parse_args(argv)
    mmap_fixed = False if args.default_malloc else fixed_mmap_threshold()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    load0 = os.getloadavg()[0]
    kw = {} if args.seed is None else {"seed": args.seed}
    prob = make_problem(args.steps, batch=args.batch, n_in=args.n_in, n1=args.n1, n2=args.n2,
                        scheme=args.scheme, **kw)
    res = {"peer": "torch", "problem": prob.describe(), "relaxed": args.relaxed,
           "block": args.block, "mmap_threshold_fixed": mmap_fixed}
    if args.fd:
        res["fd"] = finite_differences(prob, args.block)
    m = measure(prob, args.repeats, args.relaxed, args.block)
    grads, record = m.pop("_grads"), m.pop("_record")
    res.update(m)
    res["grads"] = {
        "alpha1": float(grads["alpha1"]), "alpha2": float(grads["alpha2"]),
        "W1_norm": float(np.linalg.norm(grads["W1"])),
        "W2_norm": float(np.linalg.norm(grads["W2"])),
        "W1_sum": float(grads["W1"].sum()), "W2_sum": float(grads["W2"].sum()),
    }
    sim_s = prob.T * prob.dt * 1e-3
    res["spike_rates_hz"] = {
        "L1": float(record["s1"].sum()) / (prob.batch * prob.n1 * sim_s),
        "L2": float(record["s2"].sum()) / (prob.batch * prob.n2 * sim_s),
    }
    if args.grads_out:
        np.savez(args.grads_out, **grads)
    if args.record_out:
        np.savez(args.record_out, **{k: v.numpy() for k, v in record.items()})
    res.update(torch=torch.__version__, numpy=np.__version__, threads=torch.get_num_threads(),
               affinity=sorted(os.sched_getaffinity(0)), cpu_count=os.cpu_count(),
               loadavg=[load0, os.getloadavg()[0]], python=sys.version.split()[0],
               interop_threads=torch.get_num_interop_threads())
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
