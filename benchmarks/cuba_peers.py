"""CUBA benchmark network (Brette et al. 2007) in the peer simulators: Brian2 and NEST.

Run with the Python that has the peers installed (not fracsim's), for example::

    /work/venv_peers/bin/python benchmarks/cuba_peers.py --sim brian2_standalone --duration 1
    /work/venv_peers/bin/python benchmarks/cuba_peers.py --sim brian2_cython --duration 10
    /work/venv_peers/bin/python benchmarks/cuba_peers.py --sim nest --duration 10 --threads 2

``benchmarks/cuba.py`` calls this script in subprocesses; it is not meant to be imported.

The network: 4000 LIF neurons (3200 excitatory, 800 inhibitory); every neuron projects to
every neuron with probability 0.02 (autapses allowed); current-based exponential synapses
(jump 1.62 mV / -9 mV, decay 5 ms / 10 ms); ``taum dv/dt = ge + gi - (v - El)`` with
El = -49 mV, threshold v > -50 mV, reset -60 mV, refractory 5 ms (v clamped), dt = 0.1 ms,
synaptic delay 0.1 ms (one step), initial v uniform in [-60, -50) mV from the simulator's
seeded generator, no external input.

Output: exactly one JSON line on stdout; all logging (and anything the simulators print)
goes to stderr. Keys:

* ``build_s``: wall time to get ready to run. brian2_standalone: network description plus
  code generation plus compilation of the C++ project. brian2_cython: network creation and
  connection plus a one-step warm-up run (which compiles every Cython code object; see
  ``note`` for whether the cache was cold). nest: node creation plus connection.
* ``run_s``: wall time of the simulation proper. brian2_standalone: running the compiled
  binary (``device.run``; the binary also draws the synapses and writes results).
  brian2_cython: ``run(duration)`` after the warm-up. nest: ``Prepare`` + ``Run`` +
  ``Cleanup``, i.e. what ``nest.Simulate`` does.
* ``run_internal_s``: the time loop alone where the simulator reports it (Brian2's own
  measurement of the network run inside the binary; NEST's ``Run`` call without the
  ``Prepare`` step that finalises the connection tables).
* ``n_spikes``, ``rate_hz`` (spikes / (4000 * duration)), counted over ``duration`` only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

N_E = 3200
N_I = 800
N = N_E + N_I
P_CONN = 0.02
DT_MS = 0.1
DELAY_MS = 0.1
TAU_M = 20.0
TAU_E = 5.0
TAU_I = 10.0
E_L = -49.0
V_TH = -50.0
V_RESET = -60.0
T_REF = 5.0
W_E = 1.62  # mV jump of ge
W_I = -9.0  # mV jump of gi
C_M = 250.0  # pF, NEST only: I_syn = C_m * g / tau_m turns mV jumps into pA

SIMS = ("brian2_standalone", "brian2_cython", "nest")


def log(*args) -> None:
    print("[cuba_peers]", *args, file=sys.stderr, flush=True)


def claim_stdout():
    """Send fd 1 to stderr (simulators and compilers print there) and return a file on the
    original stdout, which only receives the final JSON line."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(saved, "w")


# ------------------------------------------------------------------------------- Brian2
def brian2_network(b2, seed: int):
    """Create the CUBA network with the current Brian2 device; returns (objects, monitor)."""
    ms, mV = b2.ms, b2.mV
    b2.defaultclock.dt = DT_MS * ms
    b2.seed(seed)
    ns = {
        "El": E_L * mV, "Vt": V_TH * mV, "Vr": V_RESET * mV,
        "taum": TAU_M * ms, "taue": TAU_E * ms, "taui": TAU_I * ms,
        "we": W_E * mV, "wi": W_I * mV,
    }
    model = """
    dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
    dge/dt = -ge / taue : volt
    dgi/dt = -gi / taui : volt
    """
    group = b2.NeuronGroup(N, model, threshold="v > Vt", reset="v = Vr",
                           refractory=T_REF * ms, method="exact", namespace=ns, name="cuba")
    group.v = "Vr + rand() * (Vt - Vr)"
    group.ge = 0 * mV
    group.gi = 0 * mV
    exc = b2.Synapses(group[:N_E], group, on_pre="ge += we", delay=DELAY_MS * ms,
                      namespace=ns, name="syn_e")
    exc.connect(p=P_CONN)
    inh = b2.Synapses(group[N_E:], group, on_pre="gi += wi", delay=DELAY_MS * ms,
                      namespace=ns, name="syn_i")
    inh.connect(p=P_CONN)
    mon = b2.SpikeMonitor(group, name="spikes")
    return [group, exc, inh, mon], mon


def run_brian2_standalone(duration_s: float, seed: int, workdir: str) -> dict:
    import brian2 as b2

    project = os.path.join(workdir, "standalone")
    b2.set_device("cpp_standalone", build_on_run=False, directory=project)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    t0 = time.perf_counter()
    objects, mon = brian2_network(b2, seed)
    net = b2.Network(*objects)
    net.run(duration_s * b2.second)
    t1 = time.perf_counter()
    b2.device.build(directory=project, compile=True, run=False, with_output=False)
    t2 = time.perf_counter()
    b2.device.run(directory=project, with_output=False)
    t3 = time.perf_counter()
    n_spikes = int(mon.num_spikes)
    internal = getattr(b2.device, "_last_run_time", None)
    return {
        "threads": 1,
        "brian2_version": b2.__version__,
        "build_s": t2 - t0,
        "codegen_s": t1 - t0,
        "compile_s": t2 - t1,
        "run_s": t3 - t2,
        "run_binary_s": b2.device.timers.get("run_binary"),
        "run_internal_s": None if internal is None else float(internal),
        "n_spikes": n_spikes,
        "compile_flags": " ".join(b2.prefs.codegen.cpp.extra_compile_args_gcc),
        "note": "cpp_standalone, openmp off, default compiler flags; run_s includes "
                "synapse generation and writing results inside the binary",
    }


def run_brian2_cython(duration_s: float, seed: int, workdir: str) -> dict:
    import brian2 as b2

    cache = os.path.join(workdir, "cython_cache")
    cold = not (os.path.isdir(cache) and os.listdir(cache))
    os.makedirs(cache, exist_ok=True)
    b2.prefs.codegen.target = "cython"
    b2.prefs.codegen.runtime.cython.cache_dir = cache
    t0 = time.perf_counter()
    objects, mon = brian2_network(b2, seed)
    net = b2.Network(*objects)
    t1 = time.perf_counter()
    net.run(DT_MS * b2.ms)  # warm-up: compiles every code object
    t2 = time.perf_counter()
    before = int(mon.num_spikes)
    net.run(duration_s * b2.second)
    t3 = time.perf_counter()
    return {
        "threads": 1,
        "brian2_version": b2.__version__,
        "build_s": t2 - t0,
        "setup_s": t1 - t0,
        "warmup_s": t2 - t1,
        "run_s": t3 - t2,
        "run_internal_s": None,
        "n_spikes": int(mon.num_spikes) - before,
        "cache": "cold" if cold else "warm",
        "note": ("cold Cython cache (empty dir): build_s includes compiling every code object"
                 if cold else "warm Cython cache (reused dir): build_s excludes C compilation")
                + "; run(duration) follows a one-step warm-up run",
    }


# --------------------------------------------------------------------------------- NEST
def run_nest(duration_s: float, seed: int, threads: int) -> dict:
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:  # older PyNEST
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT_MS, "local_num_threads": threads,
                          "rng_seed": max(int(seed), 1)})
    scale = C_M / TAU_M  # pA per mV of g
    params = {
        "C_m": C_M, "tau_m": TAU_M, "E_L": E_L, "V_th": V_TH, "V_reset": V_RESET,
        "t_ref": T_REF, "tau_syn_ex": TAU_E, "tau_syn_in": TAU_I, "I_e": 0.0,
    }
    t0 = time.perf_counter()
    pop = nest.Create("iaf_psc_exp", N, params=params)
    pop.V_m = nest.random.uniform(V_RESET, V_TH)
    rec = nest.Create("spike_recorder")
    rule = {"rule": "pairwise_bernoulli", "p": P_CONN, "allow_autapses": True}
    nest.Connect(pop[:N_E], pop, rule,
                 {"synapse_model": "static_synapse", "weight": W_E * scale, "delay": DELAY_MS})
    nest.Connect(pop[N_E:], pop, rule,
                 {"synapse_model": "static_synapse", "weight": W_I * scale, "delay": DELAY_MS})
    nest.Connect(pop, rec)
    t1 = time.perf_counter()
    nest.Prepare()
    t2 = time.perf_counter()
    nest.Run(duration_s * 1000.0)
    t3 = time.perf_counter()
    nest.Cleanup()
    t4 = time.perf_counter()
    return {
        "threads": threads,
        "nest_version": getattr(nest, "__version__", None),
        "build_s": t1 - t0,
        "prepare_s": t2 - t1,
        "run_s": t4 - t1,
        "run_internal_s": t3 - t2,
        "n_spikes": int(rec.n_events),
        "n_synapses": int(nest.GetKernelStatus("num_connections")) - N,
        "note": "iaf_psc_exp, weights 250*1.62/20 and 250*(-9)/20 pA; run_s = Prepare+Run+"
                "Cleanup (= Simulate), run_internal_s = Run only",
    }


# --------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="CUBA network in Brian2 / NEST (one JSON line)")
    ap.add_argument("--sim", required=True, choices=SIMS)
    ap.add_argument("--duration", type=float, required=True, help="simulated time (s)")
    ap.add_argument("--threads", type=int, default=1, help="NEST threads (Brian2: always 1)")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--workdir", default=None,
                    help="Brian2 project / Cython cache directory (default: a new temp dir, "
                         "removed afterwards)")
    args = ap.parse_args(argv)
    if args.duration <= 0:
        ap.error("--duration must be > 0")
    if args.threads < 1:
        ap.error("--threads must be >= 1")

    out = claim_stdout()
    tmp = None
    workdir = args.workdir
    if workdir is None and args.sim.startswith("brian2"):
        tmp = workdir = tempfile.mkdtemp(prefix="cuba_brian2_")
    elif workdir is not None:
        os.makedirs(workdir, exist_ok=True)
    try:
        log(f"{args.sim}: duration {args.duration} s, seed {args.seed}, threads {args.threads}")
        if args.sim == "brian2_standalone":
            res = run_brian2_standalone(args.duration, args.seed, workdir)
        elif args.sim == "brian2_cython":
            res = run_brian2_cython(args.duration, args.seed, workdir)
        else:
            res = run_nest(args.duration, args.seed, args.threads)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    record = {"sim": args.sim, "threads": res.pop("threads"), "duration_s": args.duration,
              "seed": args.seed}
    record.update(res)
    record["rate_hz"] = record["n_spikes"] / (N * args.duration)
    log(f"{args.sim}: build {record['build_s']:.2f} s, run {record['run_s']:.2f} s, "
        f"rate {record['rate_hz']:.2f} Hz")
    out.write(json.dumps(record) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
