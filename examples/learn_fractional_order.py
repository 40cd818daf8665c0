"""Learning the fractional order: recover alpha and tau of a fractional LIF from its voltage.

Methods.  A fractional LIF neuron, ``tau D^alpha v = -(v - v_rest) + R I(t)`` (Caputo order
alpha, tau in ms^alpha), with the true values ALPHA_TRUE = 0.7 and TAU_TRUE = 15 ms^alpha, is
driven by a sequence of current pulses (PULSE_TIMES, PULSE_AMPS) that keep it below threshold
(v_th = -40 mV, never reached), so the loss is a smooth function of the parameters and its
gradient is exact (no spike, no surrogate at work).  The run is the L1 scheme with SOE memory
(tol 1e-9), dt = DT over T_STOP ms.  Its voltage trace, plus Gaussian noise of NOISE_MV mV
(seed SEED), is the "measurement" (the spike train is empty in this subthreshold setting).
From the wrong start (ALPHA_0, TAU_0) we minimise the mean squared error between the
simulated and measured v with ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)``, bounds
ALPHA_BOUNDS and TAU_BOUNDS, the loss and its gradient with respect to (alpha, tau) computed by
``fs.grad.value_and_grad(method="adjoint")`` (the exact gradient of the discrete simulation,
including the alpha-derivative of the scheme's weights and of the SOE fit).

Prints every iteration, the recovered values and their errors; saves loss vs iteration and the
traces before/after to examples/output/learn_fractional_order.png.

Run: python examples/learn_fractional_order.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.optimize import minimize

import fracsim as fs

ALPHA_TRUE, TAU_TRUE = 0.7, 15.0  # the neuron that produced the measurement
ALPHA_0, TAU_0 = 0.9, 10.0  # the wrong start
ALPHA_BOUNDS, TAU_BOUNDS = (0.3, 0.99), (1.0, 60.0)
DT, T_STOP = 0.1, 200.0  # ms
PULSE_TIMES = [0.0, 10.0, 50.0, 90.0, 110.0, 150.0]  # ms
PULSE_AMPS = [0.0, 15.0, 0.0, 20.0, 5.0, 0.0]  # R I in mV (R = 1)
NOISE_MV, SEED = 0.2, 0
MAX_ITER = 40
SCHEME, MEMORY = "l1", fs.SOE(1e-9)
SURROGATE = fs.surrogate.Sigmoid(width=1.0)  # required for a model with a reset; unused here


def neuron(alpha: float, tau: float) -> fs.LIF:
    return fs.LIF(tau=tau, alpha=alpha, v_rest=-65.0, v_th=-40.0, v_reset=-65.0)


def measure(t_stop: float = T_STOP, noise: float = NOISE_MV, seed: int = SEED):
    """The "measured" voltage (T, 1) and spike count of the true neuron."""
    res = fs.simulate(neuron(ALPHA_TRUE, TAU_TRUE), t_stop, DT, current(), 1, scheme=SCHEME,
                      memory=MEMORY)
    rng = np.random.default_rng(seed)
    return res.state["v"] + noise * rng.standard_normal(res.state["v"].shape), len(
        res.spikes.times)


def current():
    return fs.step_current(PULSE_TIMES, PULSE_AMPS)


def fit(v_measured: np.ndarray, t_stop: float = T_STOP, max_iter: int = MAX_ITER,
        x0=(ALPHA_0, TAU_0), verbose: bool = True) -> dict:
    """Minimise MSE(v(alpha, tau), v_measured) by L-BFGS-B with adjoint gradients."""
    loss = fs.loss.mse(v_measured, on="v")
    history = []

    def f(x):
        val, g = fs.grad.value_and_grad(neuron(x[0], x[1]), ["alpha", "tau"], loss, t_stop, DT,
                                        current(), 1, scheme=SCHEME, memory=MEMORY,
                                        method="adjoint", surrogate=SURROGATE)
        return val, np.array([g["alpha"], g["tau"]])

    def callback(intermediate_result):
        x, val = intermediate_result.x, intermediate_result.fun
        history.append((x.copy(), val))
        if verbose:
            print(f"  iter {len(history) - 1:3d}   alpha = {x[0]:.6f}   tau = {x[1]:9.5f}   "
                  f"MSE = {val:.6e} mV^2")

    val0, _ = f(np.array(x0, dtype=float))
    history.append((np.array(x0, dtype=float), val0))
    if verbose:
        print(f"  start      alpha = {x0[0]:.6f}   tau = {x0[1]:9.5f}   MSE = {val0:.6e} mV^2")
    res = minimize(f, np.array(x0, dtype=float), jac=True, method="L-BFGS-B",
                   bounds=[ALPHA_BOUNDS, TAU_BOUNDS], callback=callback,
                   options=dict(maxiter=max_iter, ftol=1e-15, gtol=1e-10))
    return dict(alpha=float(res.x[0]), tau=float(res.x[1]), loss=float(res.fun),
                losses=np.array([h[1] for h in history]), path=np.array([h[0] for h in history]),
                message=str(res.message), nfev=int(res.nfev))


def main() -> None:
    v_meas, n_spikes = measure()
    print(f"measurement: fractional LIF alpha = {ALPHA_TRUE}, tau = {TAU_TRUE} ms^alpha, "
          f"{v_meas.shape[0]} steps of {DT} ms, noise {NOISE_MV} mV, {n_spikes} spikes")
    out = fit(v_meas)
    ea, et = out["alpha"] - ALPHA_TRUE, out["tau"] - TAU_TRUE
    print(f"stopped: {out['message']} ({out['nfev']} loss+gradient evaluations)")
    print(f"recovered alpha = {out['alpha']:.5f} (true {ALPHA_TRUE}; error {ea:+.2e}, "
          f"{abs(ea) / ALPHA_TRUE:.2%})")
    print(f"recovered tau   = {out['tau']:.4f} ms^alpha (true {TAU_TRUE}; error {et:+.2e}, "
          f"{abs(et) / TAU_TRUE:.2%})")
    print(f"final MSE = {out['loss']:.4e} mV^2 (noise floor NOISE_MV^2 = {NOISE_MV ** 2:.4e})")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(v_meas.shape[0]) * DT
    sim = {lab: fs.simulate(neuron(a, tau), T_STOP, DT, current(), 1, scheme=SCHEME,
                            memory=MEMORY).state["v"][:, 0]
           for lab, a, tau in [("start", ALPHA_0, TAU_0), ("fitted", out["alpha"], out["tau"])]}
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax0.semilogy(np.arange(len(out["losses"])), out["losses"], "o-", ms=3)
    ax0.axhline(NOISE_MV ** 2, color="0.5", ls="--", label="noise variance")
    ax0.set_xlabel("L-BFGS-B iteration")
    ax0.set_ylabel("MSE on v (mV$^2$)")
    ax0.legend()
    ax1.plot(t, v_meas[:, 0], color="0.6", lw=0.8, label="measured")
    ax1.plot(t, sim["start"], "--", color="#c0392b",
             label=f"start: alpha={ALPHA_0}, tau={TAU_0}")
    ax1.plot(t, sim["fitted"], color="#1f4e99",
             label=f"fitted: alpha={out['alpha']:.3f}, tau={out['tau']:.2f}")
    ax1.set_xlabel("t (ms)")
    ax1.set_ylabel("v (mV)")
    ax1.legend(fontsize=8)
    fig.tight_layout()
    path = Path(__file__).resolve().parent / "output" / "learn_fractional_order.png"
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=130)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
