"""Mackey-Glass prediction (one step and HORIZON_MULTI steps ahead) with one population of
spiking neurons.

Methods.  The Mackey-Glass series ``dx/dt = BETA x(t - TAU) / (1 + x(t - TAU)^POWER) - GAMMA x``
(TAU = 17, chaotic) is integrated by classical RK4 with step MG_H = 0.1 and a constant history
x = 1.2 for t <= 0 (the delayed value at the half step is the mean of its two grid
neighbours), sampled every MG_SAMPLE = 1 time unit after a washout of MG_WASHOUT samples, and
standardised (zero mean, unit variance).  Sample k is the input u[k] of one population of
N_NEURONS uncoupled neurons, held for HOLD simulation steps of DT ms: the neurons receive
``I_i(t) = u(t) W_in[0, i] + b_in[i]`` (``fs.grad.InputLayer``).  The prediction of
x[k + horizon] (horizon 1: one step ahead; HORIZON_MULTI = 6 samples: the classic
"x(t + 6) from the present" multi-step task, a direct prediction, not iterated) is a linear
readout of the membrane potentials at the end of sample k,
``y_k = ((v - V_CENTER) / V_SCALE) W_out + b_out``.  W_in, b_in, W_out, b_out are trained with
Adam (plain NumPy, learning rate LR, ITERS full-batch steps) on the MSE over the first N_TRAIN
predictions (the first N_SKIP excluded: initial transient), gradients by
``fs.grad.value_and_grad(method="adjoint")`` through the simulation (conductance neurons:
exact gradients, no surrogate; LIF and AdLIF: hard threshold with a sigmoid surrogate
derivative).  Reported: NRMSE = RMSE / std(x) on the N_TEST following predictions, and spike
sparsity (spikes per neuron per simulation step) on the whole run.

Models (one time scale of about 1 ms for the membrane, so the comparison is like for like):
conductance neuron with fast negative and slow positive feedback (``tonic_spiking`` preset,
tau_m = 1 ms, tau_s = 50 ms); LIF (tau = 1 ms, dimensionless v: rest 0, threshold 1, reset 0);
AdLIF (the same LIF with adaptation tau_w = 50 ms, a = 0.5, b = 0.2).

Run: python examples/mackey_glass.py
"""

from __future__ import annotations

import time

import numpy as np

import fracsim as fs

# Mackey-Glass
BETA, GAMMA, POWER, TAU = 0.2, 0.1, 10, 17.0
MG_H, MG_SAMPLE, MG_WASHOUT = 0.1, 1.0, 300
# task and network
N_NEURONS, N_SKIP, N_TRAIN, N_TEST = 16, 20, 400, 200
DT, HOLD = 0.1, 5  # ms, simulation steps per sample
HORIZONS = (1, 6)  # samples ahead: one-step and multi-step prediction
HORIZON_MULTI = HORIZONS[1]
LR, ITERS = 0.02, 150
MODELS = ("conductance", "lif", "adlif")
SURROGATE = fs.surrogate.Sigmoid(width=0.1)


def mackey_glass(n_samples: int, tau: float = TAU, h: float = MG_H, sample: float = MG_SAMPLE,
                 washout: int = MG_WASHOUT, x0: float = 1.2) -> np.ndarray:
    """``n_samples`` standardised samples of the Mackey-Glass series (RK4, delay ``tau``)."""
    lag = int(round(tau / h))
    every = int(round(sample / h))
    n_steps = (n_samples + washout) * every
    x = np.empty(n_steps + lag + 1)
    x[: lag + 1] = x0  # history: x = x0 for t <= 0

    def f(xt, xd):
        return BETA * xd / (1.0 + xd ** POWER) - GAMMA * xt

    for k in range(lag, lag + n_steps):
        d0, d1 = x[k - lag], x[k - lag + 1]
        dm = 0.5 * (d0 + d1)
        k1 = f(x[k], d0)
        k2 = f(x[k] + 0.5 * h * k1, dm)
        k3 = f(x[k] + 0.5 * h * k2, dm)
        k4 = f(x[k] + h * k3, d1)
        x[k + 1] = x[k] + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6.0
    s = x[lag::every][washout: washout + n_samples]
    return (s - s.mean()) / s.std()


def make_model(kind: str):
    """(model, V_CENTER, V_SCALE, baseline current, input scale) of one model kind."""
    if kind == "conductance":
        return fs.Conductance.preset("tonic_spiking"), 0.0, 1.0, -1.7, 0.5
    if kind == "lif":
        return fs.LIF(tau=1.0, v_rest=0.0, v_th=1.0, v_reset=0.0), 0.5, 0.5, 1.0, 0.5
    if kind == "adlif":
        return (fs.AdLIF(tau=1.0, v_rest=0.0, v_th=1.0, v_reset=0.0, tau_w=50.0, a=0.5, b=0.2),
                0.5, 0.5, 1.2, 0.5)
    raise ValueError(f"kind must be one of {MODELS}, got {kind!r}")


class Adam:
    def __init__(self, shapes, lr):
        self.lr, self.t = lr, 0
        self.m = {k: np.zeros(s) for k, s in shapes.items()}
        self.v = {k: np.zeros(s) for k, s in shapes.items()}

    def step(self, params, grads, b1=0.9, b2=0.999, eps=1e-8):
        self.t += 1
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            mh = self.m[k] / (1 - b1 ** self.t)
            vh = self.v[k] / (1 - b2 ** self.t)
            params[k] = params[k] - self.lr * mh / (np.sqrt(vh) + eps)


def run(kind: str, seed: int = 0, n: int = N_NEURONS, n_train: int = N_TRAIN,
        n_test: int = N_TEST, iters: int = ITERS, lr: float = LR, hold: int = HOLD,
        horizon: int = 1, verbose: bool = True) -> dict:
    """Train on one seed to predict ``horizon`` samples ahead; returns losses, test NRMSE
    and sparsity."""
    if not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"horizon must be an integer >= 1 (samples ahead), got {horizon!r}")
    model, v_center, v_scale, base, in_scale = make_model(kind)
    n_samples = N_SKIP + n_train + n_test + horizon
    x = mackey_glass(n_samples)
    u = np.repeat(x[:-horizon], hold)[:, None]  # (N, 1): sample k held for `hold` steps
    n_steps = u.shape[0]
    t_stop = n_steps * DT
    target = x[horizon:]  # y_k predicts x[k + horizon]
    train = slice(N_SKIP, N_SKIP + n_train)
    test = slice(N_SKIP + n_train, N_SKIP + n_train + n_test)
    rng = np.random.default_rng(seed)
    p = dict(W_in=in_scale * rng.standard_normal((1, n)),
             b_in=base + 0.3 * rng.standard_normal(n),
             W_out=0.1 * rng.standard_normal((n, 1)), b_out=np.zeros(1))

    def features(v):  # (n_samples - horizon, n): v at the end of each sample's window
        return (v[hold - 1:: hold] - v_center) / v_scale

    seen = {}

    def readout_loss(W_out, b_out):
        def fn(v):
            seen["v"] = v  # the run's v, reused for the readout's own gradient
            y = features(v) @ W_out[:, 0] + b_out[0]
            return float(np.mean((y[train] - target[train]) ** 2))

        def grad_fn(v):
            y = features(v) @ W_out[:, 0] + b_out[0]
            e = np.zeros_like(y)
            e[train] = 2.0 * (y[train] - target[train]) / n_train
            gv = np.zeros_like(v)
            gv[hold - 1:: hold] = np.outer(e, W_out[:, 0]) / v_scale
            return gv
        return fs.loss.custom(fn, grad_fn, on="v")

    def simulate(p):
        layer = fs.grad.InputLayer(u, p["W_in"], p["b_in"])
        res = fs.simulate(model, t_stop, DT, fs.TimedArray(layer.current(), DT), n)
        return res.state["v"], len(res.spikes.times)

    opt = Adam({k: v.shape for k, v in p.items()}, lr)
    losses = []
    kw = dict(surrogate=SURROGATE) if model.has_reset else {}
    t0 = time.perf_counter()
    for it in range(iters):
        layer = fs.grad.InputLayer(u, p["W_in"], p["b_in"])
        loss = readout_loss(p["W_out"], p["b_out"])
        val, g = fs.grad.value_and_grad(model, ["W_in", "b_in"], loss, t_stop, DT, layer, n,
                                        method="adjoint", **kw)
        # readout gradients (the readout is outside the simulation): from the same run
        F = features(seen["v"])
        y = F @ p["W_out"][:, 0] + p["b_out"][0]
        e = 2.0 * (y[train] - target[train]) / n_train
        g["W_out"] = (F[train].T @ e)[:, None]
        g["b_out"] = np.array([e.sum()])
        losses.append(val)
        opt.step(p, g)
        if verbose and (it % 25 == 0 or it == iters - 1):
            print(f"  [{kind:11s} +{horizon}] iter {it:4d}  train MSE {val:.5f}")
    v, n_spk = simulate(p)
    y = features(v) @ p["W_out"][:, 0] + p["b_out"][0]
    nrmse = float(np.sqrt(np.mean((y[test] - target[test]) ** 2)) / np.std(target[test]))
    return dict(kind=kind, seed=seed, horizon=horizon, losses=np.array(losses), nrmse=nrmse,
                sparsity=n_spk / (n * n_steps), seconds=time.perf_counter() - t0)


def main() -> None:
    print(f"Mackey-Glass tau = {TAU}, {HORIZONS} samples ahead; {N_NEURONS} neurons, "
          f"{N_TRAIN} training and {N_TEST} test samples, {HOLD} steps of {DT} ms per sample, "
          f"Adam lr {LR}, {ITERS} iterations")
    rows = [run(kind, horizon=h) for h in HORIZONS for kind in MODELS]
    print(f"\n{'model':12s} {'ahead':>5s} {'train MSE start -> end':>24s} {'test NRMSE':>11s} "
          f"{'spikes/neuron/step':>19s} {'time (s)':>9s}")
    for r in rows:
        print(f"{r['kind']:12s} {r['horizon']:5d} {r['losses'][0]:11.4f} -> "
              f"{r['losses'][-1]:8.4f} {r['nrmse']:11.4f} {r['sparsity']:19.4f} "
              f"{r['seconds']:9.1f}")


if __name__ == "__main__":
    main()
