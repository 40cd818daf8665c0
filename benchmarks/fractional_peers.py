"""Fractional-order benchmark problems in the peer simulators: BrainPy and pycaputo.

Run with the Python that has the peers installed (not fracsim's), for example::

    PY=/work/venv_frac_peers/bin/python
    $PY benchmarks/fractional_peers.py --sim brainpy_izh --memory 1000
    $PY benchmarks/fractional_peers.py --sim brainpy_izh --memory 1000 --float32
    $PY benchmarks/fractional_peers.py --sim brainpy_izh --stride 10 --memory 10000 --once
    $PY benchmarks/fractional_peers.py --sim pycaputo_lif --steps 8000

``benchmarks/fractional.py`` calls this script in subprocesses, one process per measurement;
it is not meant to be imported. The problems are described in detail in the docstring of
``benchmarks/fractional.py``; in short:

* ``brainpy_izh``: ``N`` uncoupled fractional Izhikevich neurons,
  ``brainpy.neurons.FractionalIzhikevich`` (``brainpy.dynold.neurons.fractional_models``)
  integrated by ``brainpy.fde.CaputoL1Schema`` with ``num_memory = --memory``, dt = 0.1 ms,
  ``--steps`` steps, constant input ``I_i = 6 + 8 i / N`` (mV/ms; ``--stride k``: only the
  neurons ``i = 0, k, 2k, ...`` of that population). a = 0.02, b = 0.2, c = -65, d = 8,
  V_th = 30 mV, tau = R = 1, V0 = -65, u0 = -13. The model's integrator is replaced by
  ``CaputoL1Schema(f=neu.derivative, alpha=[0.9, 1.0], ...)``, i.e. the *same class of
  integrator* with the orders given per variable: ``D^0.9 V = f(V, u) + I`` and
  ``du/dt = a (b V - u)`` (order 1, where the L1 weights vanish and the step is forward
  Euler). This is the problem fracsim solves (its
  ``u`` has integer order). ``--u-order 0.9`` keeps BrainPy's stock commensurate model
  (``D^0.9 u`` too). The work per step is the same either way: ``u``'s memory trace is
  still evaluated (its weights are zero at order 1).
  JAX runs float64 (``bm.enable_x64()``) unless ``--float32`` (BrainPy's default dtype).
  ``brainpy.check`` is turned off: with it on, ``CaputoL1Schema`` raises once
  ``t > num_memory * dt`` (it is meant to hold the whole run); with it off the memory is a
  ring of the last ``num_memory`` increments (a short memory of that length).
* ``pycaputo_lif``: one fractional LIF, ``CaputoLeakyIntegrateFireL1Method`` (L1, implicit,
  full memory; each step landing on the threshold is shortened so that it ends exactly at
  ``V_peak`` and costs an extra iteration), pycaputo's dimensional parameters
  ``LIFDim(current=2500 pA, C=100 pF ms^(a-1), gl=10 nS, e_leak=-50 mV, v_peak=20 mV,
  v_reset=-70 mV)``, alpha = 0.8, non-dimensionalised with ``V_ref = 20 mV``; fixed step
  ``dt`` (0.1 ms, i.e. ``0.1 / T_ref`` in pycaputo's time unit ``T_ref = (C/gl)^(1/a)`` ms)
  until ``t >= (steps - 1/2) dt``, starting at ``V = e_leak``.

Output: exactly one JSON line on stdout; all logging (and anything the libraries print)
goes to stderr. Keys:

* ``brainpy_izh``: ``first_s`` (wall time of the first ``runner.run`` of ``--steps`` steps in
  the process: tracing, XLA compilation and the run), ``compile_s`` (the tracing, lowering and
  XLA compilation time JAX itself reports for that first call, through
  ``jax.monitoring`` duration events ``/jax/core/compile/*``), ``run_wall_s`` (wall time of a
  second ``runner.run`` of the same length, continuing from ``t = steps * dt``: the same work
  per step), ``compile_timed_run_s`` (what JAX reports for compiling during that second call:
  ``DSRunner.run`` wraps its loop function anew at every call, so it is compiled again),
  ``run_s = run_wall_s - compile_timed_run_s`` (the run, compilation excluded),
  ``n_spikes`` (all neurons, first run, from t = 0; ``n_spikes_timed_run`` for the second),
  ``counts`` (spikes of each neuron in the first run),
  ``probe_spikes`` (spike times of the probe neuron in the first run, ms, as the end of the
  step in which ``V >= V_th``: a spike flagged at runner index ``i`` is given ``(i + 1) dt``),
  ``probe_t``/``probe_v`` (``V`` of the probe neuron after each of the first ``--trace``
  steps, at ``t = (i + 1) dt``), versions.
* ``pycaputo_lif``: ``run_s`` (wall time of iterating ``evolve`` over the whole run, after a
  20-step warm-up in the same process), ``n_iterations`` (pycaputo's iteration counter at
  the end: accepted steps plus one per spike), ``n_spikes``, ``spike_times`` (ms, the
  threshold crossings pycaputo lands on), ``t_end`` (ms), the mapping of the parameters.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# ----------------------------------------------------------- Izhikevich problem (part a)
IZH_ALPHA = 0.9
IZH_A, IZH_B, IZH_C, IZH_D = 0.02, 0.2, -65.0, 8.0
IZH_VPEAK = 30.0
IZH_V0, IZH_U0 = -65.0, -13.0
IZH_I_LO, IZH_I_SPAN = 6.0, 8.0  # I_i = 6 + 8 i / N  (mV/ms)
DT_MS = 0.1

# ----------------------------------------------------------------- LIF problem (part b)
LIF_ALPHA = 0.8
LIF_DIM = dict(current=2500.0, C=100.0, gl=10.0, e_leak=-50.0, v_peak=20.0, v_reset=-70.0)
LIF_V_REF = 20.0  # mV, pycaputo's voltage scale

SIMS = ("brainpy_izh", "pycaputo_lif")


def log(*args) -> None:
    print("[fractional_peers]", *args, file=sys.stderr, flush=True)


def claim_stdout():
    """Send fd 1 to stderr (libraries print there) and return a file on the original
    stdout, which only receives the final JSON line."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(saved, "w")


def izh_currents(n: int, stride: int = 1):
    """Input of neuron i = 0, stride, 2 stride, ... of the N-neuron population (mV/ms)."""
    import numpy as np

    return IZH_I_LO + IZH_I_SPAN * np.arange(0, n, stride) / n


def izh_probe(n: int, stride: int = 1) -> int:
    """Local index of the probe neuron (population index N/2, input I = 10)."""
    return (n // 2) // stride


# ------------------------------------------------------------------------------ BrainPy
def run_brainpy_izh(n: int, steps: int, memory: int, float32: bool, stride: int,
                    u_order: float, n_trace: int, once: bool = False) -> dict:
    import brainpy as bp
    import brainpy.math as bm
    import jax
    import numpy as np

    if not float32:
        bm.enable_x64()
    bm.set_platform("cpu")
    bm.set_dt(DT_MS)
    bp.check.turn_off()  # else CaputoL1Schema refuses t > num_memory * dt (see docstring)
    currents = izh_currents(n, stride)
    probe = izh_probe(n, stride)
    neu = bp.neurons.FractionalIzhikevich(
        currents.shape[0], alpha=IZH_ALPHA, num_memory=memory, a=IZH_A, b=IZH_B, c=IZH_C, d=IZH_D,
        f=0.04, g=5.0, h=140.0, R=1.0, tau=1.0, V_th=IZH_VPEAK,
        V_initializer=bp.init.OneInit(IZH_V0), u_initializer=bp.init.OneInit(IZH_U0))
    # the same integrator class, with one order per variable: [V, u]
    neu.integral = bp.fde.CaputoL1Schema(f=neu.derivative, alpha=[IZH_ALPHA, u_order],
                                         num_memory=memory, inits=[neu.V, neu.u])
    runner = bp.DSRunner(neu, monitors={"V": lambda: neu.V[probe], "spike": neu.spike},
                         inputs=("input", bm.asarray(currents)), progress_bar=False)
    duration = steps * DT_MS

    compile_events: list[tuple[str, float]] = []

    def on_event(name, secs, **_):
        if name.startswith("/jax/core/compile/"):
            compile_events.append((name, float(secs)))

    jax.monitoring.register_event_duration_secs_listener(on_event)

    def one_run():
        t0 = time.perf_counter()
        runner.run(duration)
        spikes = np.asarray(runner.mon["spike"])
        v = np.asarray(runner.mon["V"])
        return time.perf_counter() - t0, spikes, v

    first_s, spikes, v = one_run()
    jax_compile_s = sum(secs for _, secs in compile_events)
    n_events = len(compile_events)
    # the timed run continues from t = steps * dt (the same work per step). DSRunner.run
    # builds a new loop function at every call, so JAX traces and compiles it again: the
    # time JAX reports for that is subtracted from this run's wall time.
    wall_s, recompile_s, run_s, spikes2 = None, None, None, spikes
    if not once:
        wall_s, spikes2, _ = one_run()
        recompile_s = sum(secs for _, secs in compile_events[n_events:])
        run_s = wall_s - recompile_s
    idx = np.nonzero(spikes[:, probe])[0]
    return {
        "n": int(currents.shape[0]), "stride": stride, "steps": steps, "memory": memory,
        "dtype": "float32" if float32 else "float64", "u_order": u_order,
        "first_s": first_s, "run_s": run_s, "run_wall_s": wall_s,
        "compile_s": jax_compile_s, "compile_timed_run_s": recompile_s,
        "n_spikes": int(spikes.sum()), "n_spikes_timed_run": int(spikes2.sum()),
        "counts": spikes.sum(axis=0).astype(int).tolist(),
        "probe": probe, "probe_current": float(currents[probe]),
        "probe_spikes": ((idx + 1) * DT_MS).tolist(),
        "probe_t": ((np.arange(min(n_trace, v.shape[0])) + 1) * DT_MS).tolist(),
        "probe_v": v[:n_trace].astype(float).tolist(),
        "brainpy_version": bp.__version__, "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "jax_devices": str(jax.devices()),
    }


# ----------------------------------------------------------------------------- pycaputo
def run_pycaputo_lif(steps: int, dt_ms: float) -> dict:
    import importlib.metadata

    import numpy as np
    from pycaputo.controller import FixedController
    from pycaputo.derivatives import CaputoDerivative
    from pycaputo.events import StepAccepted
    from pycaputo.integrate_fire.lif import (
        CaputoLeakyIntegrateFireL1Method,
        LIFDim,
        LIFModel,
    )
    from pycaputo.stepping import evolve

    pd = LIFDim(**LIF_DIM)
    p = pd.nondim(LIF_ALPHA, V_ref=LIF_V_REF)
    t_ref = p.ref.T_ref  # ms per unit of pycaputo's time
    dt_hat = dt_ms / t_ref

    def method(n_steps: int):
        # a fixed step until t >= (n_steps - 1/2) dt: the same time span as n_steps plain
        # steps (make_fixed_controller would also stop after n_steps iterations, and
        # every spike costs pycaputo an extra iteration)
        control = FixedController(tstart=0.0, tfinal=(n_steps - 0.5) * dt_hat, nsteps=None,
                                  dt=dt_hat)
        return CaputoLeakyIntegrateFireL1Method(
            ds=(CaputoDerivative(LIF_ALPHA),), control=control, source=LIFModel(p),
            y0=(np.array([p.e_leak]),))

    def run(n_steps: int):
        spikes, last = [], None
        t0 = time.perf_counter()
        for ev in evolve(method(n_steps), dtinit=dt_hat):
            if isinstance(ev, StepAccepted):
                last = ev
                if ev.spiked:
                    spikes.append(ev.t)
        return time.perf_counter() - t0, spikes, last

    run(20)  # warm-up: lazy imports, first calls
    run_s, spikes, last = run(steps)
    return {
        "steps": steps, "dt_ms": dt_ms, "dt_nondim": dt_hat,
        "run_s": run_s, "n_iterations": int(last.iteration), "n_spikes": len(spikes),
        "spike_times": [float(t_ref * t) for t in spikes], "t_end": float(t_ref * last.t),
        "nondim": {"current": p.current, "e_leak": p.e_leak, "v_peak": p.v_peak,
                   "v_reset": p.v_reset, "T_ref_ms": t_ref, "V_ref_mV": p.ref.V_ref,
                   "I_ref_pA": p.ref.I_ref},
        "pycaputo_version": importlib.metadata.version("pycaputo"),
        "numpy_version": np.__version__,
    }


# --------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="fractional benchmark problems in BrainPy / "
                                             "pycaputo (one JSON line)")
    ap.add_argument("--sim", required=True, choices=SIMS)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=1000, help="brainpy_izh: neurons")
    ap.add_argument("--memory", type=int, default=1000, help="brainpy_izh: num_memory")
    ap.add_argument("--float32", action="store_true", help="brainpy_izh: JAX float32")
    ap.add_argument("--stride", type=int, default=1,
                    help="brainpy_izh: simulate only neurons 0, k, 2k, ... of the population")
    ap.add_argument("--once", action="store_true",
                    help="brainpy_izh: only the first run (for spike counts; no run_s)")
    ap.add_argument("--u-order", type=float, default=1.0,
                    help="brainpy_izh: order of u (1: fracsim's problem; 0.9: stock model)")
    ap.add_argument("--trace", type=int, default=100,
                    help="brainpy_izh: report V of the probe for this many steps")
    ap.add_argument("--dt", type=float, default=DT_MS, help="pycaputo_lif: step (ms)")
    args = ap.parse_args(argv)
    if min(args.steps, args.n, args.memory, args.stride) < 1:
        ap.error("--steps, --n, --memory and --stride must be >= 1")

    out = claim_stdout()
    log(f"{args.sim}: steps {args.steps}"
        + (f", n {args.n}, memory {args.memory}" if args.sim == "brainpy_izh" else ""))
    load0 = os.getloadavg()[0]
    if args.sim == "brainpy_izh":
        res = run_brainpy_izh(args.n, args.steps, args.memory, args.float32, args.stride,
                              args.u_order, args.trace, args.once)
        log(f"brainpy_izh: first {res['first_s']:.2f} s, run {res['run_s']} s, "
            f"{res['n_spikes']} spikes")
    else:
        res = run_pycaputo_lif(args.steps, args.dt)
        log(f"pycaputo_lif: run {res['run_s']:.3f} s, {res['n_spikes']} spikes, "
            f"{res['n_iterations']} iterations")
    res.update(sim=args.sim, loadavg=[load0, os.getloadavg()[0]])
    out.write(json.dumps(res) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
