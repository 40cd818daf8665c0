"""CUBA benchmark: fracsim side by side with Brian2 (cpp_standalone, Cython) and NEST.

How to run (from the repository root, with the Python that has fracsim installed)::

    python benchmarks/cuba.py --repeats 3 --out benchmarks/results/cuba.md

This prints a markdown table and writes it to ``--out``, with every raw timing in a JSON
file beside it (``cuba.json``; ``--json FILE`` to choose). The peers run under another
Python (``--peer-python``; default ``$FRACSIM_PEER_PYTHON``, else ``/work/venv_peers/bin/python``
if it exists) through ``benchmarks/cuba_peers.py``; without it, or if a peer fails to
import, only the rows that can run are shown, with a note saying what was skipped.
Quick check: ``python benchmarks/cuba.py --repeats 1 --durations 1 --no-peers``. Re-print
a table from saved timings: ``python benchmarks/cuba.py --render benchmarks/results/cuba.json``.

The network (Brette et al. 2007, CUBA): 4000 LIF neurons, 3200 excitatory and 800
inhibitory, pairwise-Bernoulli connections with p = 0.02 from every neuron to every neuron
(autapses allowed), current-based exponential synapses (ge jumps 1.62 mV and decays with
5 ms, gi jumps -9 mV and decays with 10 ms), ``taum dv/dt = ge + gi - (v - El)`` with
taum = 20 ms, El = -49 mV, threshold -50 mV, reset -60 mV, refractory 5 ms, dt = 0.1 ms,
every synaptic delay 0.1 ms (one step), initial v uniform in [-60, -50) mV, no input.
Every measurement runs in a fresh process, one at a time (do not load the machine
meanwhile).

Columns of the main table:

* simulator: fracsim; Brian2 2.x ``cpp_standalone`` (one thread); Brian2 runtime Cython;
  NEST ``iaf_psc_exp`` with 1 and 2 threads.
* duration (s): simulated (biological) time.
* run (s): median over ``--repeats`` of the wall time of the run call alone, compilation
  excluded. fracsim: ``net.run(duration)`` on a freshly built network, in a process that
  already ran the same structure once (so the loop is compiled); it includes turning the
  network into arrays. Brian2 standalone: running the compiled binary (which also draws the
  synapses and writes the results). Brian2 Cython: ``run(duration)`` after a one-step
  warm-up run. NEST: ``Prepare`` + ``Run`` + ``Cleanup`` (what ``Simulate`` does).
* loop (s): median time of the time loop alone as the simulator reports it, where it does
  (fracsim's ``Result.wall_time``; Brian2 standalone's own network run time; NEST's ``Run``).
* build (s): median time to get ready to run. fracsim: creating the population and drawing
  the connections (compilation is in the second table). Brian2 standalone: code generation
  and C++ compilation. Brian2 Cython: creating and connecting the network plus the warm-up
  run, with an empty Cython cache (so it compiles every code object). NEST: creating and
  connecting the network.
* rate (Hz): spikes / (4000 neurons * duration), median over repeats.
* B2-SA run / run: Brian2 standalone's run time divided by this row's (above 1 means faster
  than Brian2 standalone at the same duration); B2-SA loop / loop: the same for loop times.

Second table: fracsim's first-call compile time, i.e. the wall time of the first
``net.run`` (1 ms) in a fresh process, with ``NUMBA_CACHE_DIR`` and ``FRACSIM_CACHE_DIR``
pointing at a new empty directory (cold cache), then in another fresh process reusing that
directory (warm cache); medians over ``--repeats``.

This script is a tool, not part of the test suite; nothing imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _subprocess import run_json  # noqa: E402

HERE = Path(__file__).resolve().parent
PEERS_SCRIPT = HERE / "cuba_peers.py"
DEFAULT_PEER_PYTHON = "/work/venv_peers/bin/python"

N_E, N_I = 3200, 800
N = N_E + N_I
P_CONN = 0.02
DT, DELAY = 0.1, 0.1  # ms
TAU_M, TAU_E, TAU_I = 20.0, 5.0, 10.0  # ms
E_L, V_TH, V_RESET, T_REF = -49.0, -50.0, -60.0, 5.0  # mV, ms
W_E, W_I = 1.62, -9.0  # mV

# row key -> (label, peer --sim, NEST threads, python module the peer needs)
PEERS = {
    "brian2_standalone": ("Brian2 cpp_standalone", "brian2_standalone", 1, "brian2"),
    "brian2_cython": ("Brian2 Cython", "brian2_cython", 1, "brian2"),
    "nest_1": ("NEST 1 thread", "nest", 1, "nest"),
    "nest_2": ("NEST 2 threads", "nest", 2, "nest"),
}
ROWS = ("fracsim", *PEERS)


def log(msg: str) -> None:
    print(f"[cuba] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ fracsim (in workers)
def build_fracsim(seed: int):
    """The CUBA network in fracsim; returns (net, population)."""
    import numpy as np

    import fracsim as fs

    v0 = np.random.default_rng(seed).uniform(V_RESET, V_TH, N)
    net = fs.Network(dt=DT, seed=seed)
    lif = fs.LIF(tau=TAU_M, v_rest=E_L, v_th=V_TH, v_reset=V_RESET, t_ref=T_REF)
    pop = net.population(lif, n=N, name="cuba", v0=v0)
    net.connect(pop[:N_E], pop, p=P_CONN, weight=W_E, delay=DELAY,
                synapse=fs.ExpSynapse(tau=TAU_E))
    net.connect(pop[N_E:], pop, p=P_CONN, weight=W_I, delay=DELAY,
                synapse=fs.ExpSynapse(tau=TAU_I))
    return net, pop


def worker_compile(seed: int) -> dict:
    """Time the first ``net.run`` (1 ms) of a process; the caller sets the cache dirs."""
    t0 = time.perf_counter()
    import fracsim

    t1 = time.perf_counter()
    net, pop = build_fracsim(seed)
    t2 = time.perf_counter()
    net.run(1.0, record={"spikes": [pop]}, progress=False)
    t3 = time.perf_counter()
    return {"import_s": t1 - t0, "build_s": t2 - t1, "first_run_s": t3 - t2,
            "fracsim_version": fracsim.__version__}


def worker_run(seed: int, duration_s: float, repeats: int) -> dict:
    """One warm-up run, then ``repeats`` x (build a fresh network, time ``net.run``)."""
    import numba
    import numpy as np

    import fracsim

    net, pop = build_fracsim(seed)
    t0 = time.perf_counter()
    net.run(1.0, record={"spikes": [pop]}, progress=False)
    warm = time.perf_counter() - t0
    out = {"warmup_s": warm, "build_s": [], "run_s": [], "loop_s": [], "n_spikes": [],
           "fracsim_version": fracsim.__version__, "numba_version": numba.__version__,
           "numpy_version": np.__version__}
    for _ in range(repeats):
        t0 = time.perf_counter()
        net, pop = build_fracsim(seed)
        t1 = time.perf_counter()
        res = net.run(duration_s * 1000.0, record={"spikes": [pop]}, progress=False)
        t2 = time.perf_counter()
        out["build_s"].append(t1 - t0)
        out["run_s"].append(t2 - t1)
        out["loop_s"].append(getattr(res, "wall_time", None))
        out["n_spikes"].append(len(res.spikes.times))
        del net, pop, res
    return out


# ---------------------------------------------------------------------- orchestration
def worker_cmd(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def measure_fracsim_compile(seed: int, repeats: int) -> dict:
    cold, warm, raw = [], [], []
    for i in range(repeats):
        cache = tempfile.mkdtemp(prefix="fracsim_cuba_cache_")
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, FRACSIM_CACHE_DIR=cache)
        try:
            for kind, bucket in (("cold", cold), ("warm", warm)):
                log(f"fracsim first-call compile, {kind} cache ({i + 1}/{repeats})")
                res, err = run_json(worker_cmd("--worker", "compile", "--seed", str(seed)),
                                    env=env)
                if res is None:
                    return {"error": f"fracsim compile worker failed: {err}"}
                bucket.append(res["first_run_s"])
                raw.append({"cache": kind, **res})
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return {"cold_s": statistics.median(cold), "warm_s": statistics.median(warm), "raw": raw}


def measure_fracsim_run(seed: int, duration: float, repeats: int) -> dict:
    log(f"fracsim run, {duration:g} s x {repeats}")
    res, err = run_json(worker_cmd("--worker", "run", "--seed", str(seed),
                                   "--durations", str(duration), "--repeats", str(repeats)))
    if res is None:
        return {"error": f"fracsim run worker failed: {err}"}
    loops = [x for x in res["loop_s"] if x is not None]
    return {
        "run_s": statistics.median(res["run_s"]),
        "build_s": statistics.median(res["build_s"]),
        "loop_s": statistics.median(loops) if loops else None,
        "rate_hz": statistics.median(res["n_spikes"]) / (N * duration),
        "raw": res,
    }


def peer_available(python: str, module: str) -> str:
    """Empty string if ``python -c 'import module'`` works, else the reason."""
    env = dict(os.environ, PYNEST_QUIET="1")
    try:
        proc = subprocess.run([python, "-c", f"import {module}"], capture_output=True,
                              text=True, timeout=300, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if proc.returncode:
        return (proc.stderr.strip().splitlines() or ["import failed"])[-1]
    return ""


def measure_peer(python: str, key: str, seed: int, duration: float, repeats: int) -> dict:
    label, sim, threads, _ = PEERS[key]
    runs = []
    for i in range(repeats):
        log(f"{label}, {duration:g} s ({i + 1}/{repeats})")
        cmd = [python, str(PEERS_SCRIPT), "--sim", sim, "--duration", str(duration),
               "--threads", str(threads), "--seed", str(seed)]
        res, err = run_json(cmd)
        if res is None:
            return {"error": f"{label} failed: {err}", "raw": runs}
        runs.append(res)

    def med(name):
        vals = [r[name] for r in runs if r.get(name) is not None]
        return statistics.median(vals) if vals else None

    return {"run_s": med("run_s"), "build_s": med("build_s"), "loop_s": med("run_internal_s"),
            "rate_hz": med("rate_hz"), "raw": runs}


def resolve_peer_python(arg: str | None) -> str | None:
    if arg:
        return arg
    env = os.environ.get("FRACSIM_PEER_PYTHON")
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


def ratio(ref, val) -> str:
    return f"{ref / val:.2f}" if ref and val else "n/a"


def markdown(data: dict) -> str:
    meta = data["meta"]
    lines = [
        "## CUBA benchmark (4000 LIF neurons, p = 0.02, dt = 0.1 ms)",
        "",
        f"{meta['cpu']}, {meta['cores']} cores; {meta['date']}; seed {meta['seed']}; "
        f"median of {meta['repeats']} repeat(s); versions: {meta['versions']}.",
        "",
        "| simulator | duration (s) | run (s) | loop (s) | build (s) | rate (Hz) "
        "| B2-SA run / run | B2-SA loop / loop |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for dur in meta["durations"]:
        rows = data["results"].get(str(dur), {})
        ref = rows.get("brian2_standalone", {})
        for key in ROWS:
            row = rows.get(key)
            if row is None or "error" in row:
                continue
            label = "fracsim" if key == "fracsim" else PEERS[key][0]
            lines.append(
                f"| {label} | {dur:g} | {fmt(row['run_s'])} | {fmt(row.get('loop_s'))} "
                f"| {fmt(row.get('build_s'))} | {fmt(row.get('rate_hz'))} "
                f"| {ratio(ref.get('run_s'), row.get('run_s'))} "
                f"| {ratio(ref.get('loop_s'), row.get('loop_s'))} |"
            )
    if not lines[-1].startswith("| "):
        lines.pop(-1)
        lines[-1] = "No row could be measured (see the notes below)."
    comp = data.get("fracsim_compile") or {}
    if comp and "error" not in comp:
        lines += [
            "",
            "| fracsim first-call compile | time (s) |",
            "|---|---:|",
            f"| first-call compile (cold cache) | {fmt(comp['cold_s'])} |",
            f"| first-call compile (warm cache) | {fmt(comp['warm_s'])} |",
        ]
    lines += ["", "run: wall time of the run call (compilation excluded); loop: the time loop "
              "alone as the simulator reports it; build: construction (+ code generation and "
              "compilation for Brian2; cold Cython cache); B2-SA run / run > 1: faster than "
              "Brian2 standalone. Details: module docstring of benchmarks/cuba.py."]
    if len(meta["rows"]) > 1:
        lines += ["", "Each simulator draws its own random connectivity and initial voltages "
                  "(NEST's also depend on the thread count), so rates agree statistically, "
                  "not spike for spike: expect differences of the size seen between seeds."]
    if data["notes"]:
        lines += [""] + [f"* {note}" for note in data["notes"]]
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------- main
def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="CUBA benchmark: fracsim vs Brian2 and NEST (markdown table)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per row (median)")
    ap.add_argument("--durations", type=float, nargs="+", default=[1.0, 10.0],
                    help="simulated durations in seconds (default: 1 10)")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--peer-python", default=None,
                    help="Python with brian2 and nest (default: $FRACSIM_PEER_PYTHON, else "
                         f"{DEFAULT_PEER_PYTHON} if it exists)")
    ap.add_argument("--no-peers", action="store_true", help="fracsim rows only")
    ap.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS),
                    help="which rows to measure (default: all)")
    ap.add_argument("--out", default=None, help="write the markdown table here")
    ap.add_argument("--json", default=None,
                    help="write raw timings here (default: --out with suffix .json)")
    ap.add_argument("--render", default=None, metavar="JSON",
                    help="only re-print (and --out) the table of an earlier run's JSON")
    ap.add_argument("--worker", choices=("compile", "run"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    if any(d <= 0 for d in args.durations):
        ap.error("--durations must be > 0")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    if args.worker == "compile":
        print(json.dumps(worker_compile(args.seed)), flush=True)
        return 0
    if args.worker == "run":
        print(json.dumps(worker_run(args.seed, args.durations[0], args.repeats)), flush=True)
        return 0

    if args.render:
        table = markdown(json.loads(Path(args.render).read_text()))
        print(table, end="")
        if args.out:
            Path(args.out).write_text(table)
        return 0

    notes: list[str] = []
    versions = {"python": platform.python_version()}
    peers = [k for k in args.rows if k in PEERS]
    peer_python = None
    if peers and not args.no_peers:
        peer_python = resolve_peer_python(args.peer_python)
        if peer_python is None:
            notes.append("Peers skipped: no peer Python (set --peer-python or "
                         "FRACSIM_PEER_PYTHON to a Python with brian2 and nest-simulator).")
            peers = []
    elif peers:
        notes.append("Peers skipped (--no-peers).")
        peers = []
    for module in sorted({PEERS[k][3] for k in peers}):
        reason = peer_available(peer_python, module)
        if reason:
            notes.append(f"{module} skipped: importing it with {peer_python} failed ({reason}).")
            peers = [k for k in peers if PEERS[k][3] != module]

    results: dict[str, dict] = {}
    fracsim_compile = None
    if "fracsim" in args.rows:
        fracsim_compile = measure_fracsim_compile(args.seed, args.repeats)
        if "error" in fracsim_compile:
            notes.append(fracsim_compile["error"])
    for dur in args.durations:
        rows = results.setdefault(str(dur), {})
        if "fracsim" in args.rows:
            rows["fracsim"] = measure_fracsim_run(args.seed, dur, args.repeats)
        for key in peers:
            rows[key] = measure_peer(peer_python, key, args.seed, dur, args.repeats)
        for key, row in rows.items():
            if "error" in row:
                notes.append(row["error"])
            raw = row.get("raw")
            if key == "fracsim" and isinstance(raw, dict):
                versions.update(fracsim=raw.get("fracsim_version"),
                                numba=raw.get("numba_version"), numpy=raw.get("numpy_version"))
            elif raw and isinstance(raw, list):
                versions.update({k.removesuffix("_version"): v for k, v in raw[0].items()
                                 if k.endswith("_version")})
    if "fracsim" in args.rows:
        notes.append("fracsim: run includes turning the network into arrays at the first "
                     "net.run; loop is Result.wall_time; initial v drawn with NumPy's "
                     "default_rng(seed).")
    for key, label in (("brian2_standalone", "Brian2"), ("nest_1", "NEST")):
        for rows in results.values():
            raw = (rows.get(key) or {}).get("raw") or []
            if raw and raw[0].get("note"):
                notes.append(f"{label}: {raw[0]['note']}.")
                break

    data = {
        "meta": {
            "cpu": cpu_name(), "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
            "seed": args.seed, "repeats": args.repeats, "durations": args.durations,
            "peer_python": peer_python, "rows": ["fracsim"] * ("fracsim" in args.rows) + peers,
            "versions": ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        },
        "results": results,
        "fracsim_compile": fracsim_compile,
        "notes": notes,
    }
    table = markdown(data)
    print(table, end="")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table)
        log(f"wrote {out}")
    json_path = args.json or (str(Path(args.out).with_suffix(".json")) if args.out else None)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(data, indent=1) + "\n")
        log(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
