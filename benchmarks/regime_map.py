"""Regime-map benchmark: the conductance neuron over (slow negative gain, its offset).

What it measures: ``fs.regime_map`` of the "tonic_bursting" conductance preset over a
G x G grid of ``slow_neg_gain`` in [-3, 0] and ``slow_neg_offset`` in [-2.5, 0.5], each grid
point one neuron of one population in a single compiled run, 1 s of biological time per
point (dt = 0.1 ms, constant applied current -2, every point starting from the preset's
initial state), classified by ``fs.classify``.  For G in {10, 50, 100} it reports the wall
time of the whole call (simulation, classification and array building; compilation
excluded: a small map runs first in the same process), the time per point and per
neuron-step, and the fraction of each regime.  Target (issue 5): the 100 x 100 map in at
most 60 s on 2 cores.  Each size runs in a fresh process, ``--repeats`` times (median).

How to run (from the repository root)::

    python benchmarks/regime_map.py                       # G = 10, 50, 100; 3 repeats
    python benchmarks/regime_map.py --sizes 10 50 --repeats 1

Writes ``benchmarks/results/regime_map.md`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
T_STOP, DT, CURRENT = 1000.0, 0.1, -2.0


def build(g: int):
    import fracsim as fs

    model = fs.Conductance.preset("tonic_bursting")
    axes = {"slow_neg_gain": np.linspace(-3.0, 0.0, g),
            "slow_neg_offset": np.linspace(-2.5, 0.5, g)}
    state0 = fs.Conductance.protocol("tonic_bursting")["state0"]
    return model, axes, state0


def worker(g: int) -> dict:
    """One timed map of size g x g (after a 3 x 3 warm-up that compiles the loop)."""
    from fracsim.analysis import regime_map

    model, axes, state0 = build(3)
    regime_map(model, axes, current=CURRENT, t_stop=50.0, dt=DT, state0=state0)
    model, axes, state0 = build(g)
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    rm = regime_map(model, axes, current=CURRENT, t_stop=T_STOP, dt=DT, state0=state0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"g": g, "wall": wall, "cpu": cpu, "sim": rm.wall_time,
            "load": [load0, os.getloadavg()[0]],
            "fractions": {k: v for k, v in rm.fractions().items() if v > 0}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "regime_map.md"))
    parser.add_argument("--note", default="", help="a sentence added to the notes")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return
    rows = []
    for g in args.sizes:
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run([sys.executable, __file__, "--worker", str(g)],
                                 capture_output=True, text=True, check=True, env=os.environ)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"[regime_map] {g} x {g}: {runs[-1]['wall']:.2f} s", flush=True)
        wall = float(np.median([r["wall"] for r in runs]))
        sim = float(np.median([r["sim"] for r in runs]))
        cpu = float(np.median([r["cpu"] for r in runs]))
        n = g * g
        steps = int(round(T_STOP / DT))
        loads = [x for r in runs for x in r["load"]]
        rows.append((g, n, wall, sim, wall / n * 1e3, sim / (n * steps) * 1e9,
                     runs[0]["fractions"], (min(loads), max(loads)),
                     [r["wall"] for r in runs], cpu))
    import fracsim as fs

    lines = [
        "## Regime-map benchmark: conductance neuron, (slow_neg_gain, slow_neg_offset)",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"{time.strftime('%Y-%m-%d')}; median of {args.repeats} run(s), each in a fresh "
        f"process after a compile warm-up; fracsim {fs.__version__}, numpy {np.__version__}; "
        f"1-min load average at the end {os.getloadavg()[0]:.2f}.",
        "",
        f"Preset tonic_bursting, I = {CURRENT}, {T_STOP:g} ms per point at dt = {DT} ms, "
        "one population of G^2 neurons, one compiled run (`fs.regime_map`).  1 s per point "
        "is the issue's workload, not a classification run: from the preset's initial state "
        "the first burst comes after about 2-3 s, so most points are still silent at 1 s (the "
        "regime maps of examples/ and validation/ run 12 s).",
        "",
        "| grid | points | total (s), median | runs (s) | CPU (s), median | simulation (s) "
        "| ms per point | ns per neuron-step | 1-min load during the runs | regimes |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for g, n, wall, sim, per_point, per_step, fr, load, walls, cpu in rows:
        frs = ", ".join(f"{k} {v:.0%}" for k, v in sorted(fr.items(), key=lambda kv: -kv[1]))
        lines.append(f"| {g} x {g} | {n} | {wall:.2f} | {', '.join(f'{w:.2f}' for w in walls)} "
                     f"| {cpu:.2f} | {sim:.2f} | {per_point:.2f} | {per_step:.0f} "
                     f"| {load[0]:.2f}-{load[1]:.2f} | {frs} |")
    big = [r for r in rows if r[0] == 100]
    if big:
        verdict = "met" if big[0][2] <= 60.0 else "NOT met"
        lines += ["", f"Target: 100 x 100 map in <= 60 s: {big[0][2]:.1f} s, **{verdict}**."]
    if len(rows) > 1:
        pairs = [f"{a[0]}^2 -> {b[0]}^2: x{b[2] / a[2]:.1f} for x{b[1] / a[1]:.3g} points "
                 f"(exponent {np.log(b[2] / a[2]) / np.log(b[1] / a[1]):.2f})"
                 for a, b in zip(rows[:-1], rows[1:], strict=True)]
        lines += ["", "Scaling of the total time with the number of points (exponent 1 = "
                  "linear): " + "; ".join(pairs) + ".  The ns per neuron-step column is the "
                  "per-neuron cost of the one compiled loop over neurons per step."]
    lines += ["", "Load: the machine's 1-min load average, read at the start and end of each "
              f"timed map (above 1 on {os.cpu_count()} cores: the map shared them with other "
              "work).  The map runs on one thread: CPU time well below the total time means "
              "the process waited for a core." + (f" {args.note}" if args.note else "")]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
