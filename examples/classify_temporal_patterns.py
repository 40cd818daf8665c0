"""A spiking classifier of temporal spike patterns with a learnable fractional order per layer.

Methods.  Data: N_CLASSES classes of spatio-temporal input patterns on N_IN channels
(generated here, seed DATA_SEED): class c has a template in which channel j fires once at
a time drawn uniformly in [5, 45] ms; a sample is its class template with every spike
jittered by Gaussian noise (JITTER ms), dropped with probability P_DROP, plus on each
channel an extra spike at a uniform random time with probability P_EXTRA.  The patterns
differ only in *when* the channels fire (every channel fires about once in every class),
so the task needs the network's temporal integration.

Network (one ``fs.Network`` per batch; each sample is its own block, the weights are
shared): In (N_IN integer-order LIF per sample, driven so that it spikes exactly on the
sample's input spikes) -> H (N_HIDDEN fractional LIF, order ALPHA_0[0]) -> Out (N_CLASSES
fractional LIF, order ALPHA_0[1]), dense weights W1, W2 through exponential synapses
(TAU_S ms, delay 1 step), L1 scheme with full memory, dt = DT ms for T_STOP ms.  The
prediction is the output neuron with the most spikes; the loss is the softmax
cross-entropy of the output spike counts (``fs.grad.loss.spike_count_ce``).  W1, W2 and the
two orders (fspikeDE-style learnable alpha per layer) are trained with Adam (plain NumPy,
ITERS full-batch steps on N_TRAIN samples per class; learning rates LR_W and LR_ALPHA,
alpha clipped to ALPHA_BOUNDS), gradients by ``fs.grad.value_and_grad(net, ...)``: the
discrete adjoint through the synapses, the delays and the fractional histories, spikes
through a Sigmoid(SURROGATE_WIDTH mV) surrogate.  Reported: loss, train and test accuracy
(N_TEST fresh samples per class), the learned orders.

Run: python examples/classify_temporal_patterns.py
"""

from __future__ import annotations

import time

import numpy as np

import fracsim as fs

N_CLASSES, N_IN, N_HIDDEN = 3, 16, 24
DT, T_STOP = 0.5, 60.0  # ms
JITTER, P_DROP, P_EXTRA = 2.0, 0.1, 0.2
N_TRAIN, N_TEST = 20, 20  # samples per class
TAU, TAU_S, IN_AMP = 10.0, 5.0, 40.0  # tau in ms^alpha; synaptic tau (ms); input drive (mV)
ALPHA_0 = (0.6, 0.6)
ALPHA_BOUNDS = (0.3, 0.99)
LR_W, LR_ALPHA, ITERS = 0.1, 0.005, 150
W1_MAX, W2_MAX = 20.0, 10.0  # initial weights uniform in [0, max] (mV)
SURROGATE_WIDTH = 2.0
DATA_SEED, INIT_SEED = 7, 0
LIF = dict(v_rest=-65.0, v_th=-50.0, v_reset=-65.0)


def templates(seed: int = DATA_SEED) -> np.ndarray:
    """Spike time (ms) of each channel in each class's template, ``(N_CLASSES, N_IN)``."""
    return np.random.default_rng(seed).uniform(5.0, 45.0, (N_CLASSES, N_IN))


def samples(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(patterns, labels)``: patterns ``(B, T, N_IN)`` of 0/1 per step, labels ``(B,)``."""
    rng = np.random.default_rng(seed)
    tpl = templates()
    n_steps = int(round(T_STOP / DT))
    labels = np.repeat(np.arange(N_CLASSES), n_per_class)
    pats = np.zeros((labels.shape[0], n_steps, N_IN))
    for b, c in enumerate(labels):
        times = tpl[c] + JITTER * rng.standard_normal(N_IN)
        keep = rng.random(N_IN) >= P_DROP
        extra = rng.random(N_IN) < P_EXTRA
        for j in range(N_IN):
            for t, on in ((times[j], keep[j]), (rng.uniform(0, T_STOP), extra[j])):
                k = int(t / DT)
                if on and 0 <= k < n_steps:
                    pats[b, k, j] = 1.0
    return pats, labels


def build(params: dict, pats: np.ndarray):
    """The batch as one network (block-diagonal projections); returns ``(net, Out)``."""
    B, n_steps, _ = pats.shape  # noqa: N806
    net = fs.Network(dt=DT, seed=0, scheme="l1")
    drive = pats.transpose(1, 0, 2).reshape(n_steps, B * N_IN) * IN_AMP
    inp = net.population(fs.LIF(tau=1.0, **LIF), B * N_IN, name="In", v0=LIF["v_rest"],
                         current=fs.TimedArray(drive, DT))
    a_h, a_o = (float(a) for a in params["alpha"])
    hid = net.population(fs.LIF(tau=TAU, alpha=a_h, **LIF), B * N_HIDDEN, name="H",
                         v0=LIF["v_rest"], memory=fs.FullMemory())
    out = net.population(fs.LIF(tau=TAU, alpha=a_o, **LIF), B * N_CLASSES, name="Out",
                         v0=LIF["v_rest"], memory=fs.FullMemory())
    syn = fs.ExpSynapse(tau=TAU_S)
    for src, dst, w in ((inp, hid, params["W1"]), (hid, out, params["W2"])):
        n_pre, n_post = w.shape
        j, i = np.divmod(np.arange(n_pre * n_post), n_post)
        b = np.repeat(np.arange(B), n_pre * n_post)
        net.connect(src, dst, pre=b * n_pre + np.tile(j, B), post=b * n_post + np.tile(i, B),
                    weight=np.tile(w.ravel(), B), delay=DT, synapse=syn)
    return net, out


def count_loss(labels: np.ndarray) -> fs.grad.loss.Loss:
    """Spike-count cross-entropy of each sample's output block of ``Out.spikes``."""
    ce = fs.grad.loss.spike_count_ce(labels, on="s")
    B = labels.shape[0]  # noqa: N806

    def fn(s):
        return ce.value({"s": s.reshape(s.shape[0], B, N_CLASSES)})

    def grad_fn(s):
        return ce.grad({"s": s.reshape(s.shape[0], B, N_CLASSES)})["s"].reshape(s.shape)

    return fs.grad.loss.custom(fn, grad_fn, on="Out.spikes")


def accuracy(params: dict, pats: np.ndarray, labels: np.ndarray) -> float:
    net, out = build(params, pats)
    res = net.run(T_STOP, record={"spikes": out}, progress=False)
    counts = np.zeros((labels.shape[0], N_CLASSES))
    ids = res.spikes.ids - out.start
    np.add.at(counts, (ids // N_CLASSES, ids % N_CLASSES), 1.0)
    pred = np.argmax(counts + 1e-9 * np.arange(N_CLASSES)[::-1], axis=1)  # ties: lowest
    return float(np.mean(pred == labels))


class Adam:
    def __init__(self, params: dict, lrs: dict):
        self.lrs, self.t = lrs, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict, grads: dict, b1=0.9, b2=0.999, eps=1e-8) -> None:
        self.t += 1
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            mh, vh = self.m[k] / (1 - b1 ** self.t), self.v[k] / (1 - b2 ** self.t)
            params[k] = params[k] - self.lrs[k] * mh / (np.sqrt(vh) + eps)


def train(iters: int = ITERS, n_train: int = N_TRAIN, n_test: int = N_TEST,
          verbose: bool = True) -> dict:
    rng = np.random.default_rng(INIT_SEED)
    params = {"W1": rng.uniform(0.0, W1_MAX, (N_IN, N_HIDDEN)),
              "W2": rng.uniform(0.0, W2_MAX, (N_HIDDEN, N_CLASSES)),
              "alpha": np.array(ALPHA_0, dtype=float)}
    x_tr, y_tr = samples(n_train, seed=1)
    x_te, y_te = samples(n_test, seed=2)
    opt = Adam(params, {"W1": LR_W, "W2": LR_W, "alpha": LR_ALPHA})
    loss = count_loss(y_tr)
    sur = fs.surrogate.Sigmoid(width=SURROGATE_WIDTH)
    B = y_tr.shape[0]  # noqa: N806
    acc0 = (accuracy(params, x_tr, y_tr), accuracy(params, x_te, y_te))
    losses, alphas = [], []
    t0 = time.perf_counter()
    for it in range(iters):
        net, _ = build(params, x_tr)
        val, g = fs.grad.value_and_grad(
            net, ["In->H.weight", "H->Out.weight", "H.alpha", "Out.alpha"], loss, T_STOP,
            surrogate=sur)
        grads = {"W1": g["In->H.weight"].reshape(B, N_IN, N_HIDDEN).sum(axis=0),
                 "W2": g["H->Out.weight"].reshape(B, N_HIDDEN, N_CLASSES).sum(axis=0),
                 "alpha": np.array([float(g["H.alpha"]), float(g["Out.alpha"])])}
        opt.step(params, grads)
        params["alpha"] = np.clip(params["alpha"], *ALPHA_BOUNDS)
        losses.append(val)
        alphas.append(params["alpha"].copy())
        if verbose and (it % 10 == 0 or it == iters - 1):
            print(f"  iter {it:3d}  loss {val:.4f}  alpha (H, Out) = "
                  f"({params['alpha'][0]:.3f}, {params['alpha'][1]:.3f})")
    acc = (accuracy(params, x_tr, y_tr), accuracy(params, x_te, y_te))
    return dict(losses=np.array(losses), alphas=np.array(alphas), params=params,
                acc_before=acc0, acc_after=acc, seconds=time.perf_counter() - t0)


def main() -> None:
    print(f"{N_CLASSES} classes of temporal patterns on {N_IN} channels; In -> H "
          f"({N_HIDDEN}) -> Out ({N_CLASSES}), fractional LIF (L1, full memory), "
          f"{N_TRAIN}/{N_TEST} samples per class for training/test, {ITERS} Adam steps")
    r = train()
    print(f"loss {r['losses'][0]:.4f} -> {r['losses'][-1]:.4f}; accuracy train "
          f"{r['acc_before'][0]:.2f} -> {r['acc_after'][0]:.2f}, test {r['acc_before'][1]:.2f}"
          f" -> {r['acc_after'][1]:.2f} (chance {1 / N_CLASSES:.2f}); learned alpha: hidden "
          f"{r['params']['alpha'][0]:.3f}, output {r['params']['alpha'][1]:.3f}; "
          f"{r['seconds']:.1f} s")


if __name__ == "__main__":
    main()
