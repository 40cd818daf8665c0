"""Regime maps: firing-regime fractions over parameter grids, each grid ONE population run,
cross-checked against separate single-neuron simulations.

Maps (labels by ``fs.classify`` with its default criteria):

* ``conductance_I-2``, ``conductance_I-1``: conductance neuron, "tonic_bursting" preset,
  over the slow negative conductance's gain [-3, 0] x offset [-2.5, 0.5], constant current
  -2 (the preset's) and -1, from the preset's initial state, 12 s at dt = 0.1 ms.
* ``izhikevich_tonic_bursting``, ``izhikevich_phasic_bursting``: fractional Izhikevich
  neuron (L1 + SOE 1e-9, dt = 0.02 ms) over alpha [0.6, 1] x step current
  [0, 2 x the pattern's], for twice the pattern's duration.
* ``lif_alpha_current``: fractional LIF (tau = 20^alpha ms^alpha, v_rest = v_reset = -65,
  v_th = -50 mV, t_ref = 2 ms) over alpha [0.5, 1] x step current [10, 40] nA, 1 s.

Cross-check: ``--check`` random grid points of every map are simulated on their own with
``fs.simulate`` (same current, initial state and numerics); their spike counts and labels
must equal the map's.  Writes ``regime_maps.md`` (label fractions, wall times, cross-check)
and ``regime_<map>.png`` to ``--out`` (default validation/results).

Run: python validation/regime_maps.py [--quick] [--out DIR] [--check N]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
try:  # run from a checkout without installing the package
    import fracsim as fs
except ImportError:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(HERE.parent))
    import fracsim as fs

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fracsim.analysis import REGIMES, classify, regime_map  # noqa: E402


def specs(quick: bool) -> dict[str, dict]:
    """Every map: model, axes, keyword arguments of regime_map, and how to re-run one point."""
    n_c, n_a, n_i = (7, 5, 7) if quick else (25, 17, 25)
    out = {}
    cond = fs.Conductance.preset("tonic_bursting")
    pr = fs.Conductance.protocol("tonic_bursting")
    for current in (-2.0, -1.0):
        out[f"conductance_I{current:g}"] = dict(
            model=cond,
            axes={"slow_neg_gain": np.linspace(-3.0, 0.0, n_c),
                  "slow_neg_offset": np.linspace(-2.5, 0.5, n_c)},
            kw=dict(current=current, t_stop=pr["t_stop"], dt=0.1, state0=pr["state0"]),
            title=f"conductance neuron, I = {current:g}", star=(-1.5, -1.5),
            expect="tonic_bursting" if current == pr["amplitude"] else None)
    for name in ("tonic_bursting", "phasic_bursting"):
        model, proto = fs.Izhikevich.pattern(name)
        out[f"izhikevich_{name}"] = dict(
            model=model,
            axes={"alpha": np.linspace(0.6, 1.0, n_a),
                  "current": np.linspace(0.0, 2.0 * proto["amplitude"], n_i)},
            kw=dict(onset=proto["onset"], t_stop=2 * proto["t_stop"], dt=0.02,
                    state0={"v0": proto["v0"], "u0": model.b * proto["v0"]},
                    memory=fs.SOE(1e-9), scheme="l1"),
            title=f"fractional Izhikevich, '{name}' parameters",
            star=(1.0, proto["amplitude"]), expect=name)
    lif = fs.LIF(tau=20.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, t_ref=2.0)
    out["lif_alpha_current"] = dict(
        model=lif,
        axes={"alpha": np.linspace(0.5, 1.0, n_a), "current": np.linspace(10.0, 40.0, n_i)},
        kw=dict(onset=50.0, t_stop=1000.0, dt=0.1, memory=fs.SOE(1e-9),
                derived={"tau": lambda alpha, current: 20.0 ** alpha}),
        title="fractional LIF, tau = 20^α ms^α", star=None, expect=None)
    return out


def separate(spec: dict, point: dict) -> np.ndarray:
    """Spike times of one grid point simulated on its own."""
    kw = spec["kw"]
    params = {k: v for k, v in point.items() if k != "current"}
    for name, f in kw.get("derived", {}).items():
        params[name] = float(f(**{k: np.array([v]) for k, v in point.items()})[0])
    model = spec["model"].replace(**params)
    amp = point.get("current", kw.get("current", 0.0))
    onset = kw.get("onset")
    current = fs.step_current([0.0, onset], [0.0, amp]) if onset else amp
    res = fs.simulate(model, kw["t_stop"], dt=kw["dt"], current=current, record=(),
                      memory=kw.get("memory"), scheme=kw.get("scheme", "l1"),
                      progress=False, **kw.get("state0", {}))
    return res.spikes.times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="coarse grids (a smoke test)")
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--check", type=int, default=6, help="grid points re-simulated per map")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows, checks, stars = [], [], []
    for key, spec in specs(args.quick).items():
        rm = regime_map(spec["model"], spec["axes"], **spec["kw"])
        frac = rm.fractions()
        steps = rm.labels.size * int(round(rm.t_stop / rm.dt))
        rows.append((key, rm, frac, steps))
        print(f"{key}: {rm.labels.size} neurons, {rm.wall_time:.1f} s, "
              + ", ".join(f"{k} {v:.1%}" for k, v in frac.items() if v), flush=True)
        fig, ax = fs.plot.regime_map(rm, title=spec["title"], figsize=(6.8, 4.6))
        if spec["star"] is not None:
            ax.plot(*spec["star"], marker="*", ms=13, color="white", mec="black", mew=0.8)
        fig.tight_layout()
        fig.savefig(args.out / f"regime_{key}.png", dpi=130)
        plt.close(fig)
        n_ok = 0
        flat = rng.choice(rm.labels.size, size=min(args.check, rm.labels.size), replace=False)
        for k in flat:
            i, j = divmod(int(k), rm.shape[1])
            point = {rm.axes[0]: float(rm.values[0][i]), rm.axes[1]: float(rm.values[1][j])}
            t = separate(spec, point)
            start = spec["kw"].get("onset") or 0.0
            label = classify(t, rm.t_stop, onset=spec["kw"].get("onset"), t_start=start)
            ok = t.size == rm.n_spikes[i, j] and label == rm.labels[i, j]
            n_ok += ok
            if not ok:
                print(f"  MISMATCH at {point}: map {rm.n_spikes[i, j]} spikes "
                      f"{rm.labels[i, j]}, separate {t.size} spikes {label}")
        checks.append((key, n_ok, flat.size))
        if spec["expect"] is not None:
            i = int(np.flatnonzero(np.isclose(rm.values[0], spec["star"][0]))[0])
            j = int(np.flatnonzero(np.isclose(rm.values[1], spec["star"][1]))[0])
            stars.append((key, spec["star"], spec["expect"], str(rm.labels[i, j])))

    import numba
    import scipy

    lines = [
        "# Regime maps",
        "",
        "Generated by `validation/regime_maps.py`" + (" --quick" if args.quick else "")
        + f" on {platform.python_version()} / numpy {np.__version__} / numba "
        f"{numba.__version__} / scipy {scipy.__version__}, {platform.machine()}.",
        "",
        "Each map is ONE heterogeneous population simulated in one compiled run; labels by "
        "`fs.classify` (default criteria). Maps: see the script's docstring; figures "
        "`regime_<map>.png`.",
        "",
        "| map | grid | t_stop (ms) | dt (ms) | wall (s) | neuron-steps/s | "
        + " | ".join(r.replace("_", " ") for r in REGIMES) + " |",
        "|---|---|---|---|---|---|" + "---|" * len(REGIMES),
    ]
    for key, rm, frac, steps in rows:
        grid = f"{rm.axes[0]} × {rm.axes[1]}: {rm.shape[0]}×{rm.shape[1]}"
        lines.append(f"| {key} | {grid} | {rm.t_stop:g} | {rm.dt:g} | {rm.wall_time:.1f} | "
                     f"{steps / rm.wall_time:.2e} | "
                     + " | ".join(f"{frac[r]:.1%}" for r in REGIMES) + " |")
    lines += ["", "Cross-check: random grid points simulated separately with `fs.simulate` "
              "(same input, initial state, numerics); spike count and label must match.", "",
              "| map | identical / checked |", "|---|---|"]
    lines += [f"| {key} | {ok} / {n} |" for key, ok, n in checks]
    lines += ["", "The preset / pattern itself (★ in the figures) on its map:", "",
              "| map | point | expected | label on the map |", "|---|---|---|---|"]
    lines += [f"| {key} | {pt} | {exp} | {got} |" for key, pt, exp, got in stars]
    lines += ["", "Wall time: the one simulation of each map, including the Numba compilation "
              "of its loop on first use (cached on disk afterwards).", ""]
    (args.out / "regime_maps.md").write_text("\n".join(lines))
    print("\n".join(lines))
    if any(ok != n for _, ok, n in checks) or any(e != g for _, _, e, g in stars):
        raise SystemExit("cross-check failed")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.0f} s")
