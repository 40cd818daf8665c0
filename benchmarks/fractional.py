r"""Fractional-order benchmark: fracsim's Caputo neurons side by side with BrainPy and pycaputo.

How to run (from the repository root, with the Python that has fracsim installed)::

    python benchmarks/fractional.py --repeats 3

This prints two markdown tables and writes them to ``--out`` (default
``benchmarks/results/fractional.md``), with every raw number in a JSON file beside it
(``fractional.json``; ``--json FILE`` to choose). The peers run under another Python
(``--peer-python``; default ``$FRACSIM_FRAC_PEER_PYTHON``, else
``/work/venv_frac_peers/bin/python`` if it exists) through
``benchmarks/fractional_peers.py``; without it, or if a peer fails to import, only the rows
that can run are shown, with a note saying what was skipped. Quick check:
``python benchmarks/fractional.py --repeats 1 --izh-steps 2000 --lif-steps 500 2000 --no-peers``.
Re-print the tables from saved numbers:
``python benchmarks/fractional.py --render benchmarks/results/fractional.json``.

Every measurement runs in a fresh process, one at a time: fracsim rows in one worker process
per row (a short warm-up run compiles the loop, then ``--repeats`` timed runs, each on a
freshly built network); peer rows in one process per repeat. Medians over repeats. The
machine is shared (2 cores, other jobs may run): the load average is recorded.

Part (a): a population of fractional Izhikevich neurons
--------------------------------------------------------
``N = 1000`` uncoupled neurons, ``D^0.9 v = 0.04 v^2 + 5 v + 140 - u + I_i`` (Caputo, order
0.9, ``tau = 1 ms^0.9``), ``du/dt = a (b v - u)`` (order 1), a = 0.02, b = 0.2, c = -65 mV,
d = 8, spike when ``v >= 30 mV``, then ``v <- c``, ``u <- u + d``; ``v0 = -65``,
``u0 = -13``; constant input ``I_i = 6 + 8 i / N`` mV/ms (i = 0..N-1; all neurons fire);
dt = 0.1 ms, 10^4 steps (1 s). The probe neuron is ``i = N/2`` (I = 10).

* fracsim: ``fs.Izhikevich(a, b, c, d, alpha=0.9, reset="jump")``, scheme ``"l1"`` (implicit
  L1, two Newton steps), memory ``SOE(tol=1e-8)``, ``FullMemory()`` or ``ShortMemory(1000)``.
* BrainPy 2.8 ``bp.neurons.FractionalIzhikevich`` (``brainpy.dynold.neurons.fractional_models``)
  stepped by ``bp.fde.CaputoL1Schema`` with ``num_memory`` L = 1000 and 4000 (the last L
  increments, a short memory; ``brainpy.check`` off), float64 (``bm.enable_x64()``), and
  L = 1000 in float32 (BrainPy's default dtype), run by ``bp.DSRunner``.

What is the same: the equations, parameters, initial state, input, dt, the L1 weights
``b_k = (k+1)^(1-a) - k^(1-a)`` over the past increments of ``v``, the truncation to the last
L increments (fracsim ``ShortMemory(L)`` = BrainPy ``num_memory=L``), the threshold test
``v >= 30`` after the step and the reset. The reset is the one BrainPy uses: the jump
``c - v_n`` is the step's increment and stays in the Caputo history (fracsim
``reset="jump"``). Stock BrainPy makes ``u`` fractional as well (``tau D^a u = a (b V - u)``,
L1 on both variables); fracsim's ``u`` has integer order. To solve one problem, BrainPy's
integrator is replaced by the same ``CaputoL1Schema`` built with orders ``[0.9, 1.0]`` for
``[V, u]`` (at order 1 its weights vanish and the ``u`` step is forward Euler); the work per
step is unchanged (the ``u`` memory product is still computed). What remains different is
numerics, not the problem: BrainPy's L1 step is explicit (``F`` at ``t_{n}``, forward Euler
for ``u`` with the old ``V``); fracsim's is implicit (``F`` at ``t_{n+1}``) and updates ``u``
by Euler with the new ``v``; BrainPy's SOE-free memory is a dense (L x N) product per step,
fracsim's SOE keeps K exponentials per neuron. Note that with the "jump" reset (the
convention of Teka et al. 2014 and of BrainPy) the recovery after a spike takes a fixed
number of *steps*, so spike trains depend on dt and do not converge as dt -> 0 (fracsim's
``"shift"`` reset does); and near the spike ``v`` blows up, so a tiny change before a
crossing (1e-12) changes later spike times by milliseconds. Accuracy is therefore measured
where it is well defined (before the first spike) and memory truncation by the firing rate.

Part (b): one fractional LIF neuron vs pycaputo
-----------------------------------------------
pycaputo's model (``pycaputo.integrate_fire.lif``) in its dimensional form
``C D^a V = -g_L (V - E_L) + I`` with ``LIFDim(current=I=2500 pA, C=100 pF ms^(a-1),
gl=10 nS, e_leak=-50 mV, v_peak=20 mV, v_reset=-70 mV)``, a = 0.8, ``V(0) = E_L``; spike at
``V >= v_peak``, then ``V <- v_reset``. pycaputo integrates the non-dimensional form
(``LIFDim.nondim(a, V_ref=20 mV)``): ``t^ = t / T_ref`` with ``T_ref = (C/gl)^(1/a)`` ms
(= 10^1.25 = 17.78 ms), ``V^ = V / V_ref``, ``I^ = I / (gl V_ref)``, ``E_L^ = E_L / V_ref``:
``D^a V^ = I^ - (V^ - E_L^)`` (because ``D^a_t = (gl/C) D^a_t^``). Dividing the dimensional
form by ``gl`` gives fracsim's ``tau D^a v = -(v - v_rest) + R I``, so the mapping is

    tau = C / gl = 10 ms^a,  v_rest = E_L = -50 mV,  R I = I / gl = 250 mV (R = 1, current=250),
    v_th = v_peak = 20 mV,  v_reset = -70 mV,  v0 = E_L,  dt = 0.1 ms = dt^ * T_ref
    (pycaputo: dt^ = 0.1 / 17.78 = 0.005623, its values are mapped back with T_ref, V_ref).

The reset: pycaputo's L1 history sums ``h_k (V^-_{k+1} - V^+_k)``, the increments *between*
resets: the jump is not in the derivative. That is fracsim's ``reset="shift"`` (the
default) and the reference solver's default reset (``v = v0 + sum of jumps + I^a F``);
fracsim's ``"jump"`` (jump kept in the history) is a different, dt-dependent model.
fracsim rows: ``fs.LIF(tau=10, v_rest=-50, v_th=20, v_reset=-70, R=1, alpha=0.8,
reset="shift")`` with ``current=250``, ``v0=-50``, dt = 0.1 ms, 2000 and 8000 steps,
schemes ``"l1"`` (implicit L1, the same scheme as pycaputo's) and ``"pi_trap"`` (product
trapezoid, order 1 + a), each with ``FullMemory()`` and ``SOE(tol=1e-8)``. pycaputo:
``CaputoLeakyIntegrateFireL1Method`` (implicit L1, full memory, solved exactly for the linear
right-hand side) with a fixed step dt^ over the same time span ``[0, steps * dt]``. pycaputo
shortens the step that crosses ``v_peak`` so that it ends on the threshold (linear
estimate) and then restarts from there with dt: its grid shifts at every spike and it
needs ``steps + spikes`` iterations; fracsim keeps the uniform grid, resets at the end of
the crossing step and reports that time as the spike time (a resolution of dt).

Columns
-------
* simulator / config: who and with which numerics (see above).
* steps: number of time steps of dt = 0.1 ms; N: neurons.
* run (s): median over ``--repeats`` of the wall time of one simulation, compilation
  excluded. fracsim: the ``net.run`` / ``fs.simulate`` call on a freshly built network in a
  process whose loop is already compiled (a 10-step warm-up run with the same population);
  it includes turning the population into arrays and, for ``SOE``, getting the fitted
  exponential sum: fracsim caches fits per (scheme, alpha, steps, tol) in memory and on
  disk (in its cache directory); the in-memory cache is cleared before every timed run,
  so the fit comes from the disk cache, as in any process after the first use of that
  configuration. The first full-length run in the worker (new cache directory: the fit is
  computed) is reported separately in the notes and targets ("first run"). BrainPy:
  ``runner.run(steps * dt)`` after a first run of the same length in the same process (it
  continues the state; same work per step), minus the tracing/compilation time JAX reports
  for that call (``DSRunner.run`` builds its loop function anew at every call, so JAX
  compiles it again every time). pycaputo: iterating
  ``evolve`` over the whole span after a 20-step warm-up in the same process.
* loop (s): fracsim only: the time loop alone as fracsim reports it (``Result.wall_time``).
* compile (s): first-call cost of the compiler, median over repeats. fracsim: wall time of
  the warm-up run (10 steps, same population) in a fresh process whose Numba/fracsim cache
  directories are new and empty (cold cache). BrainPy: tracing, lowering and XLA compilation
  time of the first ``runner.run`` as reported by JAX (``jax.monitoring`` events
  ``/jax/core/compile/*``); the JSON also has the whole first call. pycaputo: none (NumPy).
* <peer> / run, <peer> / loop: the peer's run time divided by this row's run (loop) time
  (above 1: faster than the peer). Part (a): the peer is BrainPy L = 1000 float64; part (b):
  pycaputo at the same number of steps.
* spikes: spikes of all neurons in the run (part (a): from t = 0; BrainPy: its first run);
  rate (Hz): spikes / (N * steps * dt).
* runaway neurons (their spikes): part (a), neurons firing more than 3x the median spike
  count of the population, with their spike count (included in spikes and rate). In
  fracsim's implicit L1 these are neurons whose state went non-physical (see the notes).
* Δrate vs own full memory: part (a), memory truncation measured on a 100-neuron subset
  (neurons 0, 10, ..., 990): the row's spike count of those neurons minus the count of the
  same simulator (same scheme, dtype float64) run with full memory (fracsim ``FullMemory``;
  BrainPy ``num_memory = steps``), relative to the latter, leaving out neurons that run
  away in either run.
* t1 - t1_ref: first spike of the probe neuron minus the reference's exact first threshold
  crossing (part (a): Izhikevich probe, I = 10; part (b): the LIF, whose exact value is
  ``t* = (tau x*)^(1/a)`` with ``E_a(-x*) = (v_th - v_inf)/(v0 - v_inf)``, Mittag-Leffler).
  fracsim and BrainPy report the end of the crossing step (``(n + 1) dt``), pycaputo its
  interpolated crossing.
* max abs v err: part (a), ``max |v(t_k) - v_ref(t_k)|`` of the probe neuron over the steps
  ``t_k = k dt <= 0.8 t1_ref`` (before the first spike).
* spike train vs reference: part (b), ``max_k |t_k - t_k,ref|`` over the spikes both have,
  with the counts ``n / n_ref`` in ``[0, steps * dt]``.

Reference solutions: ``fracsim.reference`` (``solve_fde`` / ``solve_fde_spiking``: implicit
product-trapezoid with Richardson extrapolation over h, h/2, h/4, h = dt/8 for (a) and 0.05 ms
for (b), error estimates in the JSON; ``fractional_lif_first_spike`` for the exact LIF
first spike). If that package cannot be imported, fracsim's own ``FullMemory`` ``"pi_trap"``
run at dt/8 is used instead and a note says so.

This script is a tool, not part of the test suite; nothing imports it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS_SCRIPT = HERE / "fractional_peers.py"
DEFAULT_PEER_PYTHON = "/work/venv_frac_peers/bin/python"
DEFAULT_OUT = HERE / "results" / "fractional.md"
sys.path.insert(0, str(HERE))
from _subprocess import run_json  # noqa: E402
from fractional_peers import (  # noqa: E402  (the problem constants live in one place)
    DT_MS,
    IZH_A,
    IZH_ALPHA,
    IZH_B,
    IZH_C,
    IZH_D,
    IZH_U0,
    IZH_V0,
    IZH_VPEAK,
    LIF_ALPHA,
    LIF_DIM,
    izh_currents,
    izh_probe,
)

SOE_TOL = 1e-8
SHORT_L = 1000
SUBSET_STRIDE = 10  # Δrate: neurons 0, 10, 20, ... of the population
RUNAWAY = 3.0  # a neuron firing > 3x the median count of its population "runs away"
N_TRACE = 100  # probe samples reported by every row (t = dt .. 100 dt)
WARMUP_STEPS = 10
REF_IZH_REFINE = 8  # reference step for (a): dt / 8
REF_LIF_H = 0.05  # ms, reference step for (b) (extrapolated over h, h/2, h/4)

# LIF in fracsim's form (see the module docstring for the mapping)
LIF_TAU = LIF_DIM["C"] / LIF_DIM["gl"]  # ms^alpha
LIF_V_REST = LIF_DIM["e_leak"]
LIF_RI = LIF_DIM["current"] / LIF_DIM["gl"]  # mV (R = 1)
LIF_V_TH = LIF_DIM["v_peak"]
LIF_V_RESET = LIF_DIM["v_reset"]

# row key -> (label, kind, options)
IZH_ROWS = {
    "fracsim_soe": (f"fracsim L1, SOE(tol={SOE_TOL:g})", "fracsim", {"memory": "soe"}),
    "fracsim_full": ("fracsim L1, FullMemory", "fracsim", {"memory": "full"}),
    "fracsim_short": (f"fracsim L1, ShortMemory({SHORT_L})", "fracsim", {"memory": "short"}),
    "brainpy_1000": ("BrainPy CaputoL1Schema, L=1000", "brainpy",
                     {"memory": 1000, "float32": False}),
    "brainpy_4000": ("BrainPy CaputoL1Schema, L=4000", "brainpy",
                     {"memory": 4000, "float32": False}),
    "brainpy_1000_f32": ("BrainPy CaputoL1Schema, L=1000, float32", "brainpy",
                         {"memory": 1000, "float32": True}),
}
IZH_PEER = "brainpy_1000"
LIF_ROWS = {
    "lif_l1_full": ("fracsim L1, FullMemory", "fracsim", {"scheme": "l1", "memory": "full"}),
    "lif_l1_soe": (f"fracsim L1, SOE(tol={SOE_TOL:g})", "fracsim",
                   {"scheme": "l1", "memory": "soe"}),
    "lif_pi_full": ("fracsim PI trapezoid, FullMemory", "fracsim",
                    {"scheme": "pi_trap", "memory": "full"}),
    "lif_pi_soe": (f"fracsim PI trapezoid, SOE(tol={SOE_TOL:g})", "fracsim",
                   {"scheme": "pi_trap", "memory": "soe"}),
    "pycaputo": ("pycaputo CaputoLeakyIntegrateFireL1Method", "pycaputo", {}),
}
LIF_PEER = "pycaputo"
ROWS = (*IZH_ROWS, *LIF_ROWS)


def log(msg: str) -> None:
    print(f"[fractional] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ fracsim (in workers)
def fracsim_memory(kind: str):
    import fracsim as fs

    if kind == "soe":
        return fs.SOE(tol=SOE_TOL)
    if kind == "short":
        return fs.ShortMemory(SHORT_L)
    if kind == "full":
        return fs.FullMemory()
    raise ValueError(f"unknown memory {kind!r}")


def clear_soe_cache() -> None:
    """Forget the exponential sums fitted in this process (fracsim's in-memory cache): a
    timed run then gets its fit from fracsim's on-disk cache, as any later process would."""
    try:
        from fracsim.fractional import soe
    except ImportError:
        return
    for name in ("_soe_cached", "soe_kernel"):
        fn = getattr(soe, name, None)
        if hasattr(fn, "cache_clear"):
            fn.cache_clear()


def soe_size(scheme: str, alpha: float, steps: int) -> dict | None:
    """K and k0 of the exponential sum fracsim fits for this run (None if unavailable)."""
    try:
        from fracsim.fractional.soe import soe_kernel

        k = soe_kernel(scheme, alpha, steps + 1, SOE_TOL)
        return {"K": int(k.K), "k0": int(k.k0)}
    except Exception as exc:  # noqa: BLE001 - informational only
        return {"error": str(exc)}


def izh_model():
    import fracsim as fs

    return fs.Izhikevich(a=IZH_A, b=IZH_B, c=IZH_C, d=IZH_D, v_peak=IZH_VPEAK,
                         alpha=IZH_ALPHA, reset="jump")


def izh_network(memory: str, n: int, stride: int = 1):
    import fracsim as fs

    currents = izh_currents(n, stride)
    net = fs.Network(dt=DT_MS, seed=0, scheme="l1")
    pop = net.population(izh_model(), currents.shape[0], v0=IZH_V0, u0=IZH_U0,
                         current=currents, memory=fracsim_memory(memory))
    return net, pop


def worker_izh(memory: str, steps: int, n: int, repeats: int) -> dict:
    """Warm-up (compile) then ``repeats`` timed runs of the Izhikevich population."""
    import numba
    import numpy as np

    import fracsim

    probe = izh_probe(n)
    net, pop = izh_network(memory, n)
    t0 = time.perf_counter()
    net.run(WARMUP_STEPS * DT_MS, record={"spikes": pop, "v": pop[probe:probe + 1]},
            progress=False)
    out = {"compile_s": time.perf_counter() - t0, "build_s": [], "run_s": [], "loop_s": [],
           "n_spikes": [], "fracsim_version": fracsim.__version__,
           "numba_version": numba.__version__, "numpy_version": np.__version__}
    if memory == "soe":  # first use of this length: the exponential sum is fitted
        clear_soe_cache()
        net, pop = izh_network(memory, n)
        t0 = time.perf_counter()
        net.run(steps * DT_MS, record={"spikes": pop, "v": pop[probe:probe + 1]},
                progress=False)
        out["first_full_s"] = time.perf_counter() - t0
    for rep in range(repeats):
        clear_soe_cache()
        t0 = time.perf_counter()
        net, pop = izh_network(memory, n)
        t1 = time.perf_counter()
        res = net.run(steps * DT_MS, record={"spikes": pop, "v": pop[probe:probe + 1]},
                      progress=False)
        t2 = time.perf_counter()
        out["build_s"].append(t1 - t0)
        out["run_s"].append(t2 - t1)
        out["loop_s"].append(res.wall_time)
        out["n_spikes"].append(int(res.spikes.times.shape[0]))
        if rep == 0:
            v = res.state["v"][:, 0]
            out.update(
                n_steps=int(res.t.shape[0]),
                counts=np.bincount(res.spikes.ids, minlength=n).astype(int).tolist(),
                probe=probe,
                probe_spikes=res.spikes.times[res.spikes.ids == probe].tolist(),
                probe_t=res.t[1:N_TRACE + 1].tolist(),
                probe_v=v[1:N_TRACE + 1].tolist(),
            )
        del net, pop, res
    if memory == "soe":
        out["soe"] = soe_size("l1", IZH_ALPHA, steps)
    return out


def lif_model():
    import fracsim as fs

    return fs.LIF(tau=LIF_TAU, v_rest=LIF_V_REST, v_th=LIF_V_TH, v_reset=LIF_V_RESET, R=1.0,
                  alpha=LIF_ALPHA, reset="shift")


def worker_lif(scheme: str, memory: str, steps: int, repeats: int) -> dict:
    """Warm-up (compile) then ``repeats`` timed ``fs.simulate`` calls of the single LIF."""
    import numba
    import numpy as np

    import fracsim
    import fracsim as fs

    model = lif_model()

    def sim(n_steps):
        return fs.simulate(model, n_steps * DT_MS, dt=DT_MS, current=LIF_RI, n=1,
                           v0=LIF_V_REST, scheme=scheme, memory=fracsim_memory(memory),
                           record=("v",), progress=False)

    t0 = time.perf_counter()
    sim(WARMUP_STEPS)
    out = {"compile_s": time.perf_counter() - t0, "run_s": [], "loop_s": [], "n_spikes": [],
           "fracsim_version": fracsim.__version__, "numba_version": numba.__version__,
           "numpy_version": np.__version__}
    if memory == "soe":  # first use of this length: the exponential sum is fitted
        clear_soe_cache()
        t0 = time.perf_counter()
        sim(steps)
        out["first_full_s"] = time.perf_counter() - t0
    for rep in range(repeats):
        clear_soe_cache()
        t0 = time.perf_counter()
        res = sim(steps)
        out["run_s"].append(time.perf_counter() - t0)
        out["loop_s"].append(res.wall_time)
        out["n_spikes"].append(int(res.spikes.times.shape[0]))
        if rep == 0:
            out.update(n_steps=int(res.t.shape[0]), spike_times=res.spikes.times.tolist())
    if memory == "soe":
        out["soe"] = soe_size(scheme, LIF_ALPHA, steps)
    return out


def worker_reference(izh_steps: int, n: int, lif_t_stop: float) -> dict:
    """Reference values for the accuracy columns, and fracsim's full-memory subset run."""
    import numpy as np

    import fracsim as fs

    out: dict = {"izh": {}, "lif": {}, "notes": []}
    try:
        from fracsim import reference as ref

        have_ref = all(hasattr(ref, f) for f in
                       ("solve_fde", "solve_fde_spiking", "fractional_lif_first_spike"))
    except ImportError as exc:
        have_ref = False
        out["notes"].append(f"fracsim.reference not importable ({exc})")
    i_probe = float(izh_currents(n)[izh_probe(n)])

    def f_izh(t, y):
        v, u = y
        return np.array([0.04 * v * v + 5.0 * v + 140.0 - u + i_probe,
                         IZH_A * (IZH_B * v - u)])

    def jac_izh(t, y):
        return np.array([[0.08 * y[0] + 5.0, -1.0], [IZH_A * IZH_B, -IZH_A]])

    y0 = [IZH_V0, IZH_U0]
    orders = [IZH_ALPHA, 1.0]
    h = DT_MS / REF_IZH_REFINE
    t0 = time.perf_counter()
    if have_ref:
        sol = ref.solve_fde_spiking(f_izh, y0, orders, 10.0, h, IZH_VPEAK,
                                    lambda y: np.array([IZH_C, y[1] + IZH_D]), jac=jac_izh)
        t1 = float(sol.spike_times[0])
        n_w = int(math.floor(0.8 * t1 / DT_MS + 1e-9))
        _, y, err = ref.solve_fde(f_izh, y0, orders, n_w * DT_MS, h, jac=jac_izh)
        out["izh"] = {
            "method": f"fracsim.reference.solve_fde(_spiking), PI trapezoid, h = dt/"
                      f"{REF_IZH_REFINE}, extrapolated",
            "t1": t1, "t1_err_est": float(sol.spike_err[0]),
            "v_t": (np.arange(n_w + 1) * DT_MS).tolist(),
            "v": y[::REF_IZH_REFINE, 0].tolist(),
            "v_err_est": float(err[::REF_IZH_REFINE, 0].max()),
        }
    else:
        model = fs.Izhikevich(a=IZH_A, b=IZH_B, c=IZH_C, d=IZH_D, v_peak=IZH_VPEAK,
                              alpha=IZH_ALPHA, reset="shift")
        r = fs.simulate(model, 10.0, dt=h, current=i_probe, v0=IZH_V0, u0=IZH_U0,
                        scheme="pi_trap", memory=fs.FullMemory(), progress=False)
        t1 = float(r.spikes.times[0])
        n_w = int(math.floor(0.8 * t1 / DT_MS + 1e-9))
        out["izh"] = {
            "method": f"fracsim FullMemory pi_trap at dt/{REF_IZH_REFINE} (u: Euler), "
                      "fallback",
            "t1": t1, "t1_err_est": h,
            "v_t": (np.arange(n_w + 1) * DT_MS).tolist(),
            "v": r.state["v"][: n_w * REF_IZH_REFINE + 1:REF_IZH_REFINE, 0].tolist(),
            "v_err_est": None,
        }
        out["notes"].append("part (a) reference: fracsim FullMemory pi_trap at dt/8 "
                            "(fracsim.reference unavailable)")
    out["izh"]["time_s"] = time.perf_counter() - t0

    # fracsim's own full memory on the Δrate subset
    t0 = time.perf_counter()
    net, pop = izh_network("full", n, SUBSET_STRIDE)
    res = net.run(izh_steps * DT_MS, record={"spikes": pop}, progress=False)
    out["izh"]["fracsim_full_subset_counts"] = np.bincount(
        res.spikes.ids, minlength=pop.n).astype(int).tolist()
    out["izh"]["fracsim_full_subset_s"] = time.perf_counter() - t0

    # part (b): the exact first spike and the spike train of the "shift"/pycaputo model
    t0 = time.perf_counter()
    v_inf = LIF_V_REST + LIF_RI
    if have_ref:
        t1 = ref.fractional_lif_first_spike(LIF_ALPHA, LIF_TAU, LIF_V_REST, v_inf, LIF_V_TH)

        def f_lif(t, y):
            return np.array([(LIF_V_REST - y[0] + LIF_RI) / LIF_TAU])

        def jac_lif(t, y):
            return np.array([[-1.0 / LIF_TAU]])

        # the solver's default reset keeps the jump out of the derivative (pycaputo's and
        # fracsim's "shift" model; named "jump" in early versions, "shift" now)
        sol = ref.solve_fde_spiking(f_lif, [LIF_V_REST], LIF_ALPHA, lif_t_stop, REF_LIF_H,
                                    LIF_V_TH, LIF_V_RESET, jac=jac_lif)
        out["lif"] = {
            "t1": float(t1), "t1_method": "Mittag-Leffler (fractional_lif_first_spike)",
            "method": f"fracsim.reference.solve_fde_spiking, PI trapezoid, h = {REF_LIF_H} "
                      "ms, extrapolated, default reset (jump kept out of the derivative)",
            "spike_times": sol.spike_times.tolist(),
            "spike_err_est": float(np.max(sol.spike_err)) if sol.spike_err.size else 0.0,
            "run_counts": [len(s) for s in sol.runs],
        }
    else:
        hh = DT_MS / REF_IZH_REFINE
        r = fs.simulate(lif_model(), lif_t_stop, dt=hh, current=LIF_RI, v0=LIF_V_REST,
                        scheme="pi_trap", memory=fs.FullMemory(), progress=False)
        out["lif"] = {
            "t1": float(r.spikes.times[0]), "t1_method": "fracsim pi_trap dt/8 (fallback)",
            "method": "fracsim FullMemory pi_trap at dt/8, reset 'shift' (fallback)",
            "spike_times": r.spikes.times.tolist(), "spike_err_est": hh, "run_counts": [],
        }
        out["notes"].append("part (b) reference: fracsim FullMemory pi_trap at dt/8 "
                            "(fracsim.reference unavailable)")
    out["lif"]["time_s"] = time.perf_counter() - t0
    return out


# ---------------------------------------------------------------------- orchestration
def worker_cmd(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def cold_cache_run(cmd: list[str]) -> tuple[dict | None, str]:
    """Run a fracsim worker with new, empty Numba and fracsim cache directories."""
    cache = tempfile.mkdtemp(prefix="fracsim_fractional_cache_")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, FRACSIM_CACHE_DIR=cache)
    try:
        return run_json(cmd, env=env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def med(values):
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def measure_fracsim_izh(key: str, steps: int, n: int, repeats: int) -> dict:
    opts = IZH_ROWS[key][2]
    log(f"{IZH_ROWS[key][0]}: {steps} steps x {repeats}, N = {n}")
    res, err = cold_cache_run(worker_cmd("--worker", "izh", "--memory", opts["memory"],
                                         "--izh-steps", str(steps), "--n", str(n),
                                         "--repeats", str(repeats)))
    if res is None:
        return {"error": f"{IZH_ROWS[key][0]} failed: {err}"}
    return {"run_s": med(res["run_s"]), "loop_s": med(res["loop_s"]),
            "compile_s": res["compile_s"], "n_spikes": med(res["n_spikes"]), "raw": res}


def measure_fracsim_lif(key: str, steps: int, repeats: int) -> dict:
    opts = LIF_ROWS[key][2]
    log(f"{LIF_ROWS[key][0]}: {steps} steps x {repeats}")
    res, err = cold_cache_run(worker_cmd("--worker", "lif", "--scheme", opts["scheme"],
                                         "--memory", opts["memory"], "--lif-steps",
                                         str(steps), "--repeats", str(repeats)))
    if res is None:
        return {"error": f"{LIF_ROWS[key][0]} failed: {err}"}
    return {"run_s": med(res["run_s"]), "loop_s": med(res["loop_s"]),
            "compile_s": res["compile_s"], "n_spikes": med(res["n_spikes"]), "raw": res}


def brainpy_cmd(python: str, steps: int, n: int, memory: int, float32: bool,
                stride: int = 1, once: bool = False) -> list[str]:
    cmd = [python, str(PEERS_SCRIPT), "--sim", "brainpy_izh", "--steps", str(steps),
           "--n", str(n), "--memory", str(memory), "--stride", str(stride),
           "--trace", str(N_TRACE)]
    return cmd + (["--float32"] if float32 else []) + (["--once"] if once else [])


def measure_brainpy(python: str, key: str, steps: int, n: int, repeats: int) -> dict:
    label, _, opts = IZH_ROWS[key]
    runs = []
    for i in range(repeats):
        log(f"{label}: {steps} steps, N = {n} ({i + 1}/{repeats})")
        res, err = run_json(brainpy_cmd(python, steps, n, opts["memory"], opts["float32"]))
        if res is None:
            return {"error": f"{label} failed: {err}", "raw": runs}
        runs.append(res)
    return {"run_s": med([r["run_s"] for r in runs]),
            "compile_s": med([r["compile_s"] for r in runs]),
            "first_s": med([r["first_s"] for r in runs]),
            "n_spikes": med([r["n_spikes"] for r in runs]), "raw": runs}


def measure_pycaputo(python: str, steps: int, repeats: int) -> dict:
    runs = []
    for i in range(repeats):
        log(f"pycaputo: {steps} steps ({i + 1}/{repeats})")
        res, err = run_json([python, str(PEERS_SCRIPT), "--sim", "pycaputo_lif",
                             "--steps", str(steps), "--dt", str(DT_MS)])
        if res is None:
            return {"error": f"pycaputo ({steps} steps) failed: {err}", "raw": runs}
        runs.append(res)
    return {"run_s": med([r["run_s"] for r in runs]), "n_spikes": med([r["n_spikes"]
                                                                       for r in runs]),
            "raw": runs}


def peer_available(python: str, module: str) -> str:
    """Empty string if ``python -c 'import module'`` works, else the reason."""
    try:
        proc = subprocess.run([python, "-c", f"import {module}"], capture_output=True,
                              text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if proc.returncode:
        return (proc.stderr.strip().splitlines() or ["import failed"])[-1]
    return ""


def resolve_peer_python(arg: str | None) -> str | None:
    if arg:
        return arg
    env = os.environ.get("FRACSIM_FRAC_PEER_PYTHON")
    if env:
        return env
    return DEFAULT_PEER_PYTHON if os.path.exists(DEFAULT_PEER_PYTHON) else None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# --------------------------------------------------------------------------- accuracy
def first_spike_error(spikes: list[float] | None, t1_ref: float | None):
    if not spikes or t1_ref is None:
        return None, None
    return spikes[0], spikes[0] - t1_ref


def max_v_error(t: list[float] | None, v: list[float] | None, ref: dict) -> float | None:
    """max |v - v_ref| at the reference's grid times t_k = k dt, k >= 1."""
    if not t or not v or not ref.get("v_t"):
        return None
    ref_t, ref_v = ref["v_t"], ref["v"]
    errs = []
    for tk, vk in zip(t, v, strict=False):
        k = round(tk / DT_MS)
        if abs(tk - k * DT_MS) < 1e-9 and 1 <= k < len(ref_t):
            errs.append(abs(vk - ref_v[k]))
    return max(errs) if errs else None


def spike_train_error(spikes: list[float] | None, ref_spikes: list[float], t_stop: float):
    """(max |t_k - t_k,ref| over common spikes, n, n_ref) within [0, t_stop]."""
    if spikes is None:
        return None
    ref_in = [s for s in ref_spikes if s <= t_stop]
    own = [s for s in spikes if s <= t_stop]
    k = min(len(own), len(ref_in))
    err = max((abs(a - b) for a, b in zip(own[:k], ref_in[:k], strict=True)), default=None)
    return {"max_abs": err, "n": len(own), "n_ref": len(ref_in)}


def runaways(counts: list[int]) -> list[int]:
    """Neurons firing more than RUNAWAY x the median count of their population."""
    med_count = max(statistics.median(counts), 1.0) if counts else 0.0
    return [i for i, c in enumerate(counts) if c > RUNAWAY * med_count]


def subset_drate(counts: list[int], full: list[int], stride: int) -> dict:
    """Spike count of neurons 0, stride, ... relative to the full-memory run of the same
    neurons, leaving out neurons that run away in either run."""
    own = counts[::stride]
    bad = set(runaways(own)) | set(runaways(full))
    keep = [j for j in range(min(len(own), len(full))) if j not in bad]
    a, b = sum(own[j] for j in keep), sum(full[j] for j in keep)
    return {"drate": (a - b) / b if b else None, "subset_spikes": a, "subset_full_spikes": b,
            "subset_excluded": sorted(j * stride for j in bad)}


def add_accuracy(data: dict) -> None:
    """Fill each row's accuracy entries from its raw data and the references."""
    ref = data.get("reference") or {}
    izh_ref, lif_ref = ref.get("izh") or {}, ref.get("lif") or {}
    full_fs = izh_ref.get("fracsim_full_subset_counts")
    full_bp = (data.get("brainpy_full_subset") or {}).get("counts")
    for key, row in data["izh"].items():
        if "error" in row:
            continue
        raw = row["raw"] if isinstance(row["raw"], dict) else row["raw"][0]
        acc = {}
        t1, dt1 = first_spike_error(raw.get("probe_spikes"), izh_ref.get("t1"))
        acc["t1"], acc["t1_err"] = t1, dt1
        acc["v_err"] = max_v_error(raw.get("probe_t"), raw.get("probe_v"), izh_ref)
        counts = raw.get("counts")
        full = full_fs if IZH_ROWS[key][1] == "fracsim" else full_bp
        if counts:
            bad = runaways(counts)
            acc["runaways"] = bad
            acc["runaway_spikes"] = int(sum(counts[i] for i in bad))
            if full:
                acc.update(subset_drate(counts, full, SUBSET_STRIDE))
        row["accuracy"] = acc
    for steps, rows in data["lif"].items():
        for row in rows.values():
            if "error" in row:
                continue
            raw = row["raw"] if isinstance(row["raw"], dict) else row["raw"][0]
            spikes = raw.get("spike_times")
            t1, dt1 = first_spike_error(spikes, lif_ref.get("t1"))
            row["accuracy"] = {
                "t1": t1, "t1_err": dt1,
                "train": (spike_train_error(spikes, lif_ref["spike_times"],
                                            int(steps) * DT_MS)
                          if lif_ref.get("spike_times") is not None else None),
            }


# ------------------------------------------------------------------------------ report
def fmt(x) -> str:
    """Three significant digits (trailing zeros kept), no exponent for small times."""
    if x is None:
        return "n/a"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if x >= 1 else f"{x:#.3g}"


def fmt_err(x, unit: str = "") -> str:
    if x is None:
        return "n/a"
    if x == 0:
        return "0"
    return (f"{x:+.3g}" if abs(x) >= 1e-3 else f"{x:+.2e}") + unit


def ratio(ref, val) -> str:
    if not ref or not val:
        return "n/a"
    r = ref / val
    return f"{r:.0f}" if r >= 100 else (f"{r:.1f}" if r >= 10 else f"{r:.2f}")


def markdown(data: dict) -> str:
    meta = data["meta"]
    n, izh_steps = meta["n"], meta["izh_steps"]
    izh_ref = (data.get("reference") or {}).get("izh") or {}
    t_w = (len(izh_ref.get("v_t", [])) - 1) * DT_MS if izh_ref.get("v_t") else None
    lines = [
        "## Fractional-order benchmark (Caputo neurons, dt = 0.1 ms)",
        "",
        f"{meta['cpu']}, {meta['cores']} cores (shared: 1-min load average "
        f"{meta['load'][0]:.2f} at the start, {meta['load'][1]:.2f} at the end); "
        f"{meta['date']}; median of {meta['repeats']} repeat(s); versions: "
        f"{meta['versions']}.",
        "",
        f"### (a) {n} fractional Izhikevich neurons (alpha = {IZH_ALPHA} on v), "
        f"{izh_steps} steps",
        "",
        "| simulator / config | steps | N | run (s) | loop (s) | compile (s) "
        "| BrainPy L=1000 / run | BrainPy L=1000 / loop | spikes | rate (Hz) "
        "| runaway neurons (their spikes) | Δrate vs own full memory | t1 − t1_ref (ms) "
        f"| max abs v err, t ≤ {fmt(t_w)} ms (mV) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    izh = data.get("izh", {})
    peer_a = (izh.get(IZH_PEER) or {}).get("run_s")
    for key, (label, _, _) in IZH_ROWS.items():
        row = izh.get(key)
        if row is None or "error" in row:
            continue
        acc = row.get("accuracy", {})
        rate = row["n_spikes"] / (n * izh_steps * DT_MS * 1e-3) if row.get("n_spikes") else None
        drate = acc.get("drate")
        run_away = ("n/a" if acc.get("runaways") is None else
                    f"{len(acc['runaways'])} ({acc['runaway_spikes']})"
                    if acc["runaways"] else "0")
        lines.append(
            f"| {label} | {izh_steps} | {n} | {fmt(row['run_s'])} | {fmt(row.get('loop_s'))} "
            f"| {fmt(row.get('compile_s'))} | {ratio(peer_a, row['run_s'])} "
            f"| {ratio(peer_a, row.get('loop_s'))} | {row['n_spikes']:.0f} | {fmt(rate)} "
            f"| {run_away} | {'n/a' if drate is None else f'{100 * drate:+.1f} %'} "
            f"| {fmt_err(acc.get('t1_err'))} | {fmt_err(acc.get('v_err')).lstrip('+')} |")
    lif = data.get("lif", {})
    lines += [
        "",
        f"### (b) one fractional LIF neuron (alpha = {LIF_ALPHA}), full memory, vs pycaputo",
        "",
        "| simulator / config | steps | N | run (s) | loop (s) | compile (s) | pycaputo / run "
        "| pycaputo / loop | spikes | first spike (ms) | t1 − t1_exact (ms) "
        "| spike train vs reference: max abs Δt_k (ms) (n / n_ref) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for steps in meta["lif_steps"]:
        rows = lif.get(str(steps), {})
        peer_b = (rows.get(LIF_PEER) or {}).get("run_s")
        for key, (label, kind, _) in LIF_ROWS.items():
            row = rows.get(key)
            if row is None or "error" in row:
                continue
            acc = row.get("accuracy", {})
            tr = acc.get("train") or {}
            train = (f"{fmt_err(tr.get('max_abs')).lstrip('+')} ({tr['n']} / {tr['n_ref']})"
                     if tr else "n/a")
            lines.append(
                f"| {label} | {steps} | 1 | {fmt(row['run_s'])} | {fmt(row.get('loop_s'))} "
                f"| {fmt(row.get('compile_s')) if kind != 'pycaputo' else '—'} "
                f"| {ratio(peer_b, row['run_s'])} | {ratio(peer_b, row.get('loop_s'))} "
                f"| {row['n_spikes']:.0f} | {fmt(acc.get('t1'))} | {fmt_err(acc.get('t1_err'))} "
                f"| {train} |")
    lines += ["", "run: one simulation, compilation excluded (fracsim: the whole call, incl. "
              "building arrays and loading the SOE fit from fracsim's disk cache; BrainPy: "
              "the second runner.run minus the re-compilation JAX reports; pycaputo: "
              "iterating evolve); loop: fracsim's time loop alone; compile: first-call "
              "compile (fracsim cold cache; BrainPy as reported by JAX); <peer> / run > 1: "
              "faster than the peer. Details: module docstring of benchmarks/fractional.py."]
    lines += ["", "### Targets", ""] + targets(data)
    notes = list(data.get("notes", []))
    notes += standing_notes(data)
    if notes:
        lines += ["", "### Notes", ""] + [f"* {note}" for note in notes]
    return "\n".join(lines) + "\n"


def targets(data: dict) -> list[str]:
    out = []
    izh = data.get("izh", {})
    soe = izh.get("fracsim_soe") or {}
    for peer_key, what in ((IZH_PEER, "float64"), ("brainpy_1000_f32", "float32")):
        peer = izh.get(peer_key) or {}
        if "run_s" in soe and peer.get("run_s"):
            r_run, r_loop = peer["run_s"] / soe["run_s"], peer["run_s"] / soe["loop_s"]
            first = (soe.get("raw") or {}).get("first_full_s")
            verdict = "met" if r_run >= 10 else "NOT met"
            out.append(f"* (a) fracsim SOE ≥ 10× faster than BrainPy at L = 1000 ({what}): "
                       f"{r_run:.1f}× on run, {r_loop:.1f}× on loop"
                       + (f", {peer['run_s'] / first:.1f}× on the first run (fit computed)"
                          if first else "") + f": **{verdict}**.")
    rows = data.get("lif", {}).get(str(max(data["meta"]["lif_steps"])), {})
    peer = (rows.get(LIF_PEER) or {}).get("run_s")
    if peer:
        parts, met = [], []
        for key, (label, kind, _) in LIF_ROWS.items():
            row = rows.get(key) or {}
            if kind != "fracsim" or "run_s" not in row:
                continue
            r_run, r_loop = peer / row["run_s"], peer / row["loop_s"]
            first = (row.get("raw") or {}).get("first_full_s")
            parts.append(f"{label}: {r_run:.0f}× (run), {r_loop:.0f}× (loop)"
                         + (f", {peer / first:.0f}× (first run, fit computed)" if first
                            else ""))
            if r_run >= 100:
                met.append(label)
        steps = max(data["meta"]["lif_steps"])
        verdict = (f"**met** on run by {', '.join(met)}" if met else
                   "**NOT met** on run by any fracsim row")
        out.append(f"* (b) fracsim ≥ 100× faster than pycaputo at {steps} steps: "
                   + "; ".join(parts) + f". {verdict}.")
    return out or ["* not measured (rows missing)"]


PROBLEM_NOTES = [
    "(a) One problem for both: D^0.9 v = 0.04 v^2 + 5 v + 140 - u + I, du/dt = a (b v - u) "
    "(order 1), reset v <- c, u <- u + d at v >= 30 with the jump c - v_n kept in the L1 "
    "history (fracsim reset=\"jump\", BrainPy's only reset). Stock BrainPy "
    "FractionalIzhikevich also makes u fractional (L1 on V and u); here its integrator is "
    "the same CaputoL1Schema built with orders [0.9, 1.0] for [V, u] (same work per step). "
    "Remaining differences are numerical: BrainPy's L1 step is explicit (F at t_n; u by "
    "forward Euler with V_n), fracsim's implicit (F at t_(n+1), 2 Newton steps; u by Euler "
    "with v_(n+1)). fracsim ShortMemory(L) and BrainPy num_memory = L keep the same last L "
    "increments with the same weights.",
    "(a) With the \"jump\" reset the recovery after a spike takes a fixed number of steps, "
    "so spike trains depend on dt; and v blows up before a crossing, so perturbations of "
    "1e-12 change later spike times by ms. Hence accuracy = first spike and v before it; "
    "memory truncation = Δrate.",
    "(b) Mapping pycaputo LIFDim(I = 2500 pA, C = 100 pF ms^(a-1), gl = 10 nS, E_L = -50 mV, "
    "V_peak = 20 mV, V_r = -70 mV), a = 0.8 -> fracsim LIF(tau = C/gl = 10 ms^a, "
    "v_rest = E_L, R = 1, current = I/gl = 250 mV, v_th = V_peak, v_reset = V_r), v0 = E_L; "
    "pycaputo steps dt^ = dt / T_ref with T_ref = (C/gl)^(1/a) ms (V_ref = 20 mV, "
    "I_ref = gl V_ref). Reset: pycaputo's history holds the increments between resets, i.e. "
    "fracsim reset=\"shift\" (used here) and the reference's default; pycaputo ends the "
    "crossing step on the threshold (and restarts its grid there), fracsim resets at the "
    "end of the crossing step on the uniform grid.",
]


def standing_notes(data: dict) -> list[str]:
    """Notes that follow from the measured data (method facts, sizes, references)."""
    notes = list(PROBLEM_NOTES)
    ref = data.get("reference") or {}
    izh_ref, lif_ref = ref.get("izh") or {}, ref.get("lif") or {}
    if izh_ref.get("t1") is not None:
        notes.append(
            f"(a) reference ({izh_ref.get('method')}): probe first spike t1_ref = "
            f"{izh_ref['t1']:.6f} ms (error estimate {izh_ref.get('t1_err_est', 0):.1e}), "
            f"v_ref error estimate {izh_ref.get('v_err_est') or 0:.1e} mV. fracsim and "
            "BrainPy flag the spike at the end of the crossing step, so t1 − t1_ref is "
            "quantised to dt = 0.1 ms; the v error is at the common grid times k dt.")
    izh = data.get("izh", {})
    for key in ("fracsim_soe",):
        raw = (izh.get(key) or {}).get("raw") or {}
        if isinstance(raw, dict) and raw.get("soe"):
            s = raw["soe"]
            if "K" in s:
                first = raw.get("first_full_s")
                notes.append(f"(a) fracsim SOE(tol={SOE_TOL:g}) for alpha = {IZH_ALPHA}, "
                             f"{data['meta']['izh_steps']} steps: K = {s['K']} exponentials "
                             f"and an exact window of k0 = {s['k0']} steps per neuron"
                             + (f"; first run of this length (fit computed, cold cache): "
                                f"{fmt(first)} s" if first else "") + ".")
    bp = izh.get(IZH_PEER) or {}
    if isinstance(bp.get("raw"), list) and bp["raw"]:
        r0 = bp["raw"][0]
        notes.append(
            f"(a) BrainPy {r0.get('brainpy_version')} / JAX {r0.get('jax_version')} on "
            f"{r0.get('jax_devices')}: whole first runner.run (tracing + compile + run) "
            f"median {fmt(bp.get('first_s'))} s at L = 1000; DSRunner.run re-traces and "
            "re-compiles its loop at every call (JAX-reported "
            f"{fmt(med([r.get('compile_timed_run_s') for r in bp['raw']]))} s in the timed "
            "call, subtracted). XLA may use both cores; fracsim's loop and pycaputo run on "
            "one.")
    wild = {IZH_ROWS[k][0]: (row.get("accuracy") or {}).get("runaways")
            for k, row in izh.items() if "error" not in row}
    wild = {k: v for k, v in wild.items() if v}
    if wild:
        notes.append(
            "(a) Runaway neurons (more than 3x the median spike count): "
            + "; ".join(f"{k}: neurons {', '.join(map(str, v[:8]))}" for k, v in wild.items())
            + ". Their state is not physical: checked on neuron 487 alone (FullMemory), the "
            "implicit L1 step that would pass the blow-up of v (from v = -3.9 mV) returned "
            "v = -3.5e6 mV (the implicit quadratic has no real root there and the two Newton "
            "steps diverge), after which u ~ 6e6 and the neuron 'spikes' every other step; the "
            "state stays finite, so no NonFiniteStateError is raised (with reset=\"shift\" "
            "the same population stops with NonFiniteStateError; the explicit \"gl\" scheme "
            "and BrainPy's explicit L1 overshoot upwards and spike normally). The spikes and "
            "rate columns include these neurons; Δrate leaves them out.")
    full_bp = data.get("brainpy_full_subset") or {}
    if full_bp.get("counts"):
        notes.append(
            f"(a) Δrate baselines (neurons 0, {SUBSET_STRIDE}, ..., subset of "
            f"{len(full_bp['counts'])}): fracsim FullMemory "
            f"{sum(izh_ref.get('fracsim_full_subset_counts') or [0])} spikes, BrainPy "
            f"num_memory = {data['meta']['izh_steps']} (float64) {sum(full_bp['counts'])} "
            "spikes. The float32 row is compared with the float64 baseline.")
    if lif_ref.get("t1") is not None:
        notes.append(
            f"(b) exact first spike t1 = {lif_ref['t1']:.6f} ms ({lif_ref.get('t1_method')}); "
            f"spike-train reference: {lif_ref.get('method')}, error estimate "
            f"{lif_ref.get('spike_err_est', 0):.1e} ms.")
    for steps, rows in data.get("lif", {}).items():
        pc = rows.get(LIF_PEER) or {}
        if isinstance(pc.get("raw"), list) and pc["raw"]:
            r0 = pc["raw"][0]
            notes.append(
                f"(b) pycaputo {r0.get('pycaputo_version')} at {steps} steps: dt^ = "
                f"{r0['dt_nondim']:.6g} (T_ref = {r0['nondim']['T_ref_ms']:.4f} ms), "
                f"{r0['n_iterations']} iterations to t = {r0['t_end']:.2f} ms "
                f"(steps + one per spike, shortened steps at spikes).")
    for steps, rows in data.get("lif", {}).items():
        peer = (rows.get(LIF_PEER) or {}).get("run_s")
        for key in ("lif_l1_soe", "lif_pi_soe"):
            row = rows.get(key) or {}
            raw = row.get("raw") or {}
            if not isinstance(raw, dict) or not raw.get("soe") or "K" not in raw["soe"]:
                continue
            text = (f"(b) {LIF_ROWS[key][0]} at {steps} steps: K = {raw['soe']['K']}, "
                    f"k0 = {raw['soe']['k0']}")
            first = raw.get("first_full_s")
            if first:
                text += (f"; first run of this length (exponential sum fitted, cold cache) "
                         f"{fmt(first)} s")
                if peer:
                    text += f", pycaputo / that = {ratio(peer, first)}"
            notes.append(text + ".")
    return notes


# -------------------------------------------------------------------------------- main
def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="fractional benchmark: fracsim vs BrainPy and pycaputo (markdown tables)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per row (median)")
    ap.add_argument("--izh-steps", type=int, default=10_000,
                    help="steps of the Izhikevich population (default 10000)")
    ap.add_argument("--n", type=int, default=1000, help="Izhikevich neurons (default 1000)")
    ap.add_argument("--lif-steps", type=int, nargs="+", default=[2000, 8000],
                    help="steps of the single LIF (default: 2000 8000)")
    ap.add_argument("--peer-python", default=None,
                    help="Python with brainpy and pycaputo (default: "
                         "$FRACSIM_FRAC_PEER_PYTHON, else "
                         f"{DEFAULT_PEER_PYTHON} if it exists)")
    ap.add_argument("--no-peers", action="store_true", help="fracsim rows only")
    ap.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS),
                    help="which rows to measure (default: all)")
    ap.add_argument("--out", default=None,
                    help="write the markdown here (default when measuring: benchmarks/"
                         "results/fractional.md; '-' for none; with --render: none)")
    ap.add_argument("--json", default=None,
                    help="write raw numbers here (default: --out with suffix .json)")
    ap.add_argument("--render", default=None, metavar="JSON",
                    help="only re-print (and --out) the tables of an earlier run's JSON")
    ap.add_argument("--worker", choices=("izh", "lif", "reference"), help=argparse.SUPPRESS)
    ap.add_argument("--memory", default="soe", help=argparse.SUPPRESS)
    ap.add_argument("--scheme", default="l1", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    if args.izh_steps < 1 or args.n < 2 or any(s < 1 for s in args.lif_steps):
        ap.error("--izh-steps and --lif-steps must be >= 1, --n >= 2")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    if args.worker == "izh":
        print(json.dumps(worker_izh(args.memory, args.izh_steps, args.n, args.repeats)),
              flush=True)
        return 0
    if args.worker == "lif":
        print(json.dumps(worker_lif(args.scheme, args.memory, args.lif_steps[0],
                                    args.repeats)), flush=True)
        return 0
    if args.worker == "reference":
        print(json.dumps(worker_reference(args.izh_steps, args.n,
                                          max(args.lif_steps) * DT_MS)), flush=True)
        return 0

    if args.render:
        data = json.loads(Path(args.render).read_text())
        add_accuracy(data)  # from the raw numbers, with this script's definitions
        table = markdown(data)
        print(table, end="")
        if args.out not in (None, "", "-"):
            Path(args.out).write_text(table)
        return 0
    out_path = None if args.out in ("", "-") else Path(args.out or DEFAULT_OUT)

    load0 = os.getloadavg()[0]
    notes: list[str] = []
    versions = {"python": platform.python_version()}
    peer_rows = [k for k in args.rows if (IZH_ROWS.get(k) or LIF_ROWS.get(k))[1] != "fracsim"]
    peer_python = None
    if peer_rows and not args.no_peers:
        peer_python = resolve_peer_python(args.peer_python)
        if peer_python is None:
            notes.append("Peers skipped: no peer Python (set --peer-python or "
                         "FRACSIM_FRAC_PEER_PYTHON to a Python with brainpy and pycaputo).")
            peer_rows = []
    elif peer_rows:
        notes.append("Peers skipped (--no-peers).")
        peer_rows = []
    for module, keys in (("brainpy", [k for k in IZH_ROWS if IZH_ROWS[k][1] == "brainpy"]),
                         ("pycaputo", ["pycaputo"])):
        if any(k in peer_rows for k in keys):
            reason = peer_available(peer_python, module)
            if reason:
                notes.append(f"{module} skipped: importing it with {peer_python} failed "
                             f"({reason}).")
                peer_rows = [k for k in peer_rows if k not in keys]
    rows = [k for k in args.rows
            if (IZH_ROWS.get(k) or LIF_ROWS.get(k))[1] == "fracsim" or k in peer_rows]

    log("references (fracsim.reference) and fracsim's full-memory subset")
    reference, err = run_json(worker_cmd("--worker", "reference", "--izh-steps",
                                         str(args.izh_steps), "--n", str(args.n),
                                         "--lif-steps", *map(str, args.lif_steps)))
    if reference is None:
        notes.append(f"reference worker failed: {err}; accuracy columns are n/a")
        reference = {}
    notes += reference.get("notes", [])

    izh: dict[str, dict] = {}
    for key in IZH_ROWS:
        if key not in rows:
            continue
        if IZH_ROWS[key][1] == "fracsim":
            izh[key] = measure_fracsim_izh(key, args.izh_steps, args.n, args.repeats)
        else:
            izh[key] = measure_brainpy(peer_python, key, args.izh_steps, args.n,
                                       args.repeats)
    brainpy_full = None
    if any(IZH_ROWS[k][1] == "brainpy" for k in izh):
        log(f"BrainPy num_memory = {args.izh_steps}, subset of neurons (Δrate baseline)")
        brainpy_full, err = run_json(brainpy_cmd(peer_python, args.izh_steps, args.n,
                                                 args.izh_steps, False, SUBSET_STRIDE,
                                                 once=True))
        if brainpy_full is None:
            notes.append(f"BrainPy full-memory baseline failed: {err}")
    lif: dict[str, dict] = {}
    for steps in args.lif_steps:
        lrows = lif.setdefault(str(steps), {})
        for key in LIF_ROWS:
            if key not in rows:
                continue
            if LIF_ROWS[key][1] == "fracsim":
                lrows[key] = measure_fracsim_lif(key, steps, args.repeats)
            else:
                lrows[key] = measure_pycaputo(peer_python, steps, args.repeats)

    for row in [*izh.values(), *(r for rs in lif.values() for r in rs.values())]:
        if "error" in row:
            notes.append(row["error"])
            continue
        raw = row["raw"]
        if isinstance(raw, dict):
            versions.update(fracsim=raw.get("fracsim_version"),
                            numba=raw.get("numba_version"), numpy=raw.get("numpy_version"))
        elif raw:
            for k in ("brainpy_version", "jax_version", "pycaputo_version"):
                if raw[0].get(k):
                    versions[k.removesuffix("_version")] = raw[0][k]
            if raw[0].get("numpy_version"):
                versions["numpy (peers)"] = raw[0]["numpy_version"]
    try:
        import scipy

        versions["scipy"] = scipy.__version__
    except ImportError:
        pass

    data = {
        "meta": {
            "cpu": cpu_name(), "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
            "repeats": args.repeats, "n": args.n, "izh_steps": args.izh_steps,
            "lif_steps": args.lif_steps, "peer_python": peer_python, "rows": rows,
            "load": [load0, os.getloadavg()[0]],
            "versions": ", ".join(f"{k} {v}" for k, v in versions.items() if v),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        },
        "reference": reference,
        "izh": izh,
        "brainpy_full_subset": brainpy_full,
        "lif": lif,
        "notes": notes,
    }
    add_accuracy(data)
    table = markdown(data)
    print(table, end="")
    if out_path:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(table)
        log(f"wrote {out_path}")
    json_path = args.json or (str(out_path.with_suffix(".json")) if out_path else None)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(data, indent=1) + "\n")
        log(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
