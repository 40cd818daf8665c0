r"""The gradient benchmark's problem, defined once for fracsim and for the PyTorch peer.

NumPy only (no fracsim, no torch): ``benchmarks/gradients.py`` (fracsim's Python) and
``benchmarks/gradients_torch.py`` (the torch venv) both import it, so the two sides run on
the very same arrays.  Everything is a deterministic function of ``(seed, T, sizes)``, and
the arrays of a shorter run are prefixes of those of a longer one (inputs, target).

The network (B independent samples; sizes ``n_in``, ``n1``, ``n2``; step ``dt`` ms)::

    In  (n_in per sample)  --W1, ExpSynapse(tau_s), delay dt-->  L1 (n1 fractional LIF, alpha1)
    L1  (n1 per sample)    --W2, ExpSynapse(tau_s), delay dt-->  L2 (n2 fractional LIF, alpha2)

``W1`` (n_in, n1) and ``W2`` (n1, n2) are shared by all samples (dense, all-to-all within a
sample, nothing between samples); the samples differ by their input trains and their
initial potentials.  Discrete semantics (fracsim's engine, README "Conventions" and
"Fractional-order membranes"; step ``n`` advances ``t_n -> t_{n+1}``, ``n = 0 .. T-1``):

* **Inputs.** ``S0[n, b, j] in {0, 1}``: input ``j`` of sample ``b`` spikes in step ``n``
  (i.e. at ``t_{n+1}``), Bernoulli with probability ``rate_in dt``.  In fracsim it is an
  integer-order LIF (tau 1 ms, rest = reset = -65, threshold -50 mV) at rest, driven by a
  ``TimedArray`` current of ``in_amp`` mV in exactly the steps where ``S0 = 1`` and 0
  elsewhere: it then sits at exactly ``-65`` mV and crosses threshold in those steps only.
* **Synapses.** A spike of step ``m`` with a delay of ``D = round(delay/dt) >= 1`` steps is
  delivered at the start of step ``m + 1 + D`` (``D = 1``: step ``m + 2``) into the target's
  exponential channel ``g`` (mV of ``R I``): ``g <- g + w``.  The step uses the channel value
  after that step's arrivals as its drive, ``d_n = g_n``, then ``g`` decays by
  ``exp(-dt/tau_s)``.  So ``g_n = exp(-dt/tau_s) g_{n-1} + A_n``, ``A_n = S_pre[n-1-D] W``.
* **Fractional LIF** ``tau D^a v = -(v - v_rest) + d`` (tau in ms^a), ``F(v) = (v_rest - v
  + d) / tau``, increment form ``c_0 q_n + H_n = h^a F``, ``H_n = sum_{k=1}^{n} c_k q_{n-k}``
  (full memory: every past increment), ``h = dt``:

  - ``"gl"``:  ``dv = (h^a F(v_n) - H_n) / c_0`` (explicit; ``c_0 = 1``),
    ``c_k = Γ(k+1-a) / (Γ(1-a) Γ(k+1))`` (``c_k = c_{k-1} (1 - a/k)``);
  - ``"l1"``:  ``dv = (h^a F(v_n) - H_n) / c_0``, then one Newton step (exact for the linear
    F) ``dv -= (c_0 dv - h^a F(v_n + dv) + H_n) / (c_0 + h^a / tau)``,
    ``c_k = ((k+1)^(1-a) - k^(1-a)) / Γ(2-a)``;
  - ``v' = v_n + dv``; spike ``s_n = [v' >= v_th]``; reset "shift" (fracsim's default):
    ``v_{n+1} = v' - s_n (v' - v_reset)`` and history entry ``q_n = dv - s_n (v' - v_th)``
    (= ``min(v', v_th) - v_n`` on a spike: the reset itself is not remembered);
  - no refractory period (``t_ref = 0``).

* **Loss.** ``L = mean_{n, b, i} (V2[n, b, i] - target[n, b, i])^2`` (mV^2) with
  ``V2[n] = v2_n`` the L2 potential at the *start* of step ``n`` (``V2[0] = v2_0``), i.e.
  what ``net.run(record={"v": L2})`` records; ``target`` a smooth per-neuron sinusoid.
* **Gradients** (the peer's, and what fracsim's adjoint is to give): ``dL/dW1``, ``dL/dW2``
  (summed over the samples, the weights being shared), ``dL/dalpha1``, ``dL/dalpha2``
  (scalars, one order per layer).  Spikes go through a surrogate derivative: forward
  ``s = H(x)``, ``x = v' - v_th``, backward ``ds/dx = sigma'(x)`` with fracsim's
  ``fs.surrogate.Sigmoid(width)``: ``sigma'(x) = S (1 - S) / w``, ``S = 1/(1 + exp(-x/w))``.
  The reset and the history entry are differentiated as written above (``s`` times
  differentiable quantities; nothing is detached), like ``fracsim/grad/model_derivatives.py``.
  ``relaxed=True`` uses ``s = S`` in the forward pass too (a smooth model whose gradient
  central finite differences can check).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# ------------------------------------------------------------------------------ constants
DT = 0.5  # ms (not 1: h^alpha = 1 would hide the d(h^alpha)/d(alpha) term)
V_REST = -65.0
V_TH = -50.0
V_RESET = -65.0
TAU = 10.0  # ms^alpha, both layers
TAU_S = 5.0  # ms, synaptic channel
DELAY_STEPS = 1
ALPHA1 = 0.8
ALPHA2 = 0.6
RATE_IN = 20.0  # Hz per input
IN_AMP = 100.0  # mV: drive of an input neuron in a step where it spikes
IN_TAU = 1.0  # ms
SURROGATE_WIDTH = 5.0  # mV, fs.surrogate.Sigmoid(width)
SEED = 2026

DEFAULT_SIZES = {"batch": 16, "n_in": 100, "n1": 128, "n2": 128}


@dataclass
class Problem:
    """All arrays and constants of one instance (shapes in the field comments)."""

    T: int  # noqa: N815 - the number of steps
    batch: int
    n_in: int
    n1: int
    n2: int
    scheme: str
    seed: int
    inputs: np.ndarray  # (T, B, n_in) uint8: S0
    w1: np.ndarray  # (n_in, n1) mV
    w2: np.ndarray  # (n1, n2) mV
    v1_0: np.ndarray  # (B, n1) mV
    v2_0: np.ndarray  # (B, n2) mV
    target: np.ndarray  # (T, B, n2) mV
    alpha1: float = ALPHA1
    alpha2: float = ALPHA2
    dt: float = DT
    tau: float = TAU
    tau_s: float = TAU_S
    v_rest: float = V_REST
    v_th: float = V_TH
    v_reset: float = V_RESET
    delay_steps: int = DELAY_STEPS
    width: float = SURROGATE_WIDTH
    meta: dict = field(default_factory=dict)

    @property
    def decay_s(self) -> float:
        return float(np.exp(-self.dt / self.tau_s))

    def describe(self) -> dict:
        """The scalar definition (for JSON output)."""
        return {
            "T": self.T, "batch": self.batch, "n_in": self.n_in, "n1": self.n1,
            "n2": self.n2, "scheme": self.scheme, "seed": self.seed, "dt": self.dt,
            "alpha1": self.alpha1, "alpha2": self.alpha2, "tau": self.tau,
            "tau_s": self.tau_s, "v_rest": self.v_rest, "v_th": self.v_th,
            "v_reset": self.v_reset, "delay_steps": self.delay_steps,
            "surrogate": f"Sigmoid(width={self.width})", "rate_in": RATE_IN,
            "input_spikes": int(self.inputs.sum()),
        }


def _streams(seed: int) -> list[np.random.Generator]:
    """Independent generators for inputs, weights, initial states and target."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]


def make_problem(T: int, *, batch: int = 16, n_in: int = 100, n1: int = 128, n2: int = 128,  # noqa: N803
                 scheme: str = "l1", seed: int = SEED, alpha1: float = ALPHA1,
                 alpha2: float = ALPHA2) -> Problem:
    """The benchmark instance with ``T`` steps (deterministic in ``seed``)."""
    if scheme not in ("gl", "l1"):
        raise ValueError(f"scheme must be 'gl' or 'l1', got {scheme!r}")
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    g_in, g_w1, g_w2, g_v, g_tg = _streams(seed)
    # inputs: one uniform per (step, sample, input), generated step-major, so that the trains
    # of T steps are the first T steps of any longer run
    inputs = (g_in.random((T, batch, n_in)) < RATE_IN * 1e-3 * DT).astype(np.uint8)
    # weights (mV per spike into a 5 ms current channel), scaled with the fan-in
    w1 = g_w1.normal(1.7, 1.5, (n_in, n1)) * (100.0 / n_in)
    w2 = g_w2.normal(2.2, 1.5, (n1, n2)) * (128.0 / n1)
    v1_0 = g_v.uniform(-65.0, -55.0, (batch, n1))
    v2_0 = g_v.uniform(-65.0, -55.0, (batch, n2))
    period = g_tg.uniform(50.0, 200.0, n2)  # ms
    phase = g_tg.uniform(0.0, 2 * np.pi, (batch, n2))
    t = np.arange(T) * DT
    target = -58.0 + 4.0 * np.sin(2 * np.pi * t[:, None, None] / period[None, None, :]
                                  + phase[None])
    return Problem(T=T, batch=batch, n_in=n_in, n1=n1, n2=n2, scheme=scheme, seed=seed,
                   inputs=inputs, w1=w1, w2=w2, v1_0=v1_0, v2_0=v2_0, target=target,
                   alpha1=float(alpha1), alpha2=float(alpha2))


def mse(v2: np.ndarray, target: np.ndarray) -> float:
    """``mean((v2 - target)^2)`` over all entries (v2, target: (T, B, n2))."""
    d = np.asarray(v2, dtype=np.float64) - target
    return float(np.mean(d * d))


# ------------------------------------------------------------------ NumPy reference forward
def kernel(scheme: str, alpha: float, n: int) -> np.ndarray:
    """``c_0 .. c_{n-1}`` of the scheme (plain formulas; the check for the other two)."""
    from math import gamma

    k = np.arange(n, dtype=np.float64)
    if scheme == "gl":
        return np.cumprod(np.concatenate(([1.0], 1.0 - alpha / k[1:])))
    p = 1.0 - alpha
    out = np.ones(n)
    kp = k[1:]
    out[1:] = kp**p * np.expm1(p * np.log1p(1.0 / kp))
    return out / gamma(2.0 - alpha)


def forward_numpy(prob: Problem) -> dict:
    """A direct NumPy evaluation of the discrete model above (hard spikes), O(T^2 N):
    ``{"v1", "v2": (T, B, n) at the start of each step, "s1", "s2": (T, B, n) spikes of each
    step}``.  Small instances only (tests)."""
    T, B = prob.T, prob.batch  # noqa: N806
    out = {}
    decay = prob.decay_s
    spikes_pre = prob.inputs.astype(np.float64)
    layers = ((prob.w1, prob.v1_0, prob.alpha1), (prob.w2, prob.v2_0, prob.alpha2))
    for li, (w, v0, alpha) in enumerate(layers, start=1):
        n = w.shape[1]
        c = kernel(prob.scheme, alpha, T + 1)
        ha = prob.dt ** alpha
        q = np.zeros((T, B, n))
        v = v0.copy()
        g = np.zeros((B, n))
        rec_v = np.zeros((T, B, n))
        rec_s = np.zeros((T, B, n))
        for step in range(T):
            src = step - 1 - prob.delay_steps
            if src >= 0:
                g = g + spikes_pre[src] @ w
            rec_v[step] = v
            d = g
            g = g * decay
            hist = np.tensordot(c[step:0:-1], q[:step], axes=(0, 0)) if step else 0.0
            f = (prob.v_rest - v + d) / prob.tau
            dv = (ha * f - hist) / c[0]
            if prob.scheme == "l1":
                f = (prob.v_rest - (v + dv) + d) / prob.tau
                dv = dv - (c[0] * dv - ha * f + hist) / (c[0] + ha / prob.tau)
            vp = v + dv
            s = vp >= prob.v_th
            q[step] = np.where(s, np.minimum(vp, prob.v_th) - v, dv)
            v = np.where(s, prob.v_reset, vp)
            rec_s[step] = s
        out[f"v{li}"], out[f"s{li}"] = rec_v, rec_s
        spikes_pre = rec_s
    return out


def status_mb(key: str) -> float:
    """``VmHWM``/``VmRSS`` of this process from /proc/self/status (MB): the memory probe
    both sides of the benchmark use."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
MMAP_THRESHOLD = 128 * 1024


def fixed_mmap_threshold() -> bool:
    """Make glibc serve every allocation >= 128 KiB with its own mmap (returned to the OS
    when freed); both sides of the benchmark call it before measuring.  With glibc's default
    *dynamic* threshold, the per-step temporaries of torch's history accumulator (block x
    neurons, a few MB) are carved up by the small tensors autograd keeps, and the heap grows
    by about one temporary per step: at T = 1000 the peak RSS was 4.5 GB for 0.36 GB of
    saved tensors.  Fixing the threshold measures what each side itself needs (fracsim's
    per-run arrays are then also returned to the OS between repeats)."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False
