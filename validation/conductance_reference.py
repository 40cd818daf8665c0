"""The fractional conductance neuron against the reference solver: error vs dt per scheme.

What it measures: the "tonic_spiking" conductance preset (fast negative and slow positive
conductance) with a Caputo membrane of order alpha in {0.7, 0.9, 1.0} (filters first order,
fast filter instantaneous), constant applied current ``I = -0.5``, from its resting state at
``I = -1.5``, for ``T`` ms.  The reference is ``fracsim.reference.solve_fde`` (implicit
product-trapezoidal rule with Richardson extrapolation over 4 levels, step ``h_ref``) on
the same equations, with its own error estimate; at alpha = 1 also fracsim's integer path
(the explicit midpoint method).  Columns: scheme, alpha, dt (ms), the max |v - v_ref| over the run
(dimensionless voltage), the observed order against the previous dt, the max error of the
spike times (upward crossings of v_spike = 0) as fracsim reports them (at the end of the
crossing step: up to one dt of quantisation) and as interpolated linearly from its recorded
v, and the spike count.

How to run (from the repository root)::

    python validation/conductance_reference.py            # full (~1-2 min on 2 cores)
    python validation/conductance_reference.py --quick    # a fast check

Writes ``validation/results/conductance_reference.md`` and ``conductance_reference.png``
(``--out DIR`` to change).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import fracsim as fs
from fracsim.reference import solve_fde

HERE = Path(__file__).resolve().parent


def reference(model, current: float, state0: dict, alpha: float, t_stop: float, h: float):
    """``solve_fde`` of the conductance equations (instantaneous fast filter)."""
    terms = [(getattr(model, f"{n}_gain"), getattr(model, f"{n}_offset"), ts)
             for n, ts in model.terms]

    def f(t, y):
        v, vs, vus = y
        cur = 0.0
        for g, d, ts in terms:
            x = v if ts == "fast" else (vs if ts == "slow" else vus)
            cur += g * np.tanh(x - d)
        return np.array([(model.v_rest - v + model.R * current - model.R * cur) / model.tau_m,
                         (v - vs) / model.tau_s, (v - vus) / model.tau_us])

    y0 = [state0["v0"], state0["v_s0"], state0["v_us0"]]
    t, y, err = solve_fde(f, y0, [alpha, 1.0, 1.0], t_stop, h)
    return t, y[:, 0], err[:, 0]


def crossings(t: np.ndarray, v: np.ndarray, level: float = 0.0) -> np.ndarray:
    """Upward crossings of ``level``, linearly interpolated on the grid."""
    k = np.flatnonzero((v[:-1] < level) & (v[1:] >= level))
    return t[k] + (level - v[k]) / (v[k + 1] - v[k]) * (t[k + 1] - t[k])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run, fewer dt")
    parser.add_argument("--out", default=str(HERE / "results"), help="output folder")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_stop = 60.0 if args.quick else 200.0
    h_ref = 0.01
    dts = [0.1, 0.05] if args.quick else [0.1, 0.05, 0.025, 0.0125]
    alphas = [0.9] if args.quick else [0.7, 0.9, 1.0]
    current = -0.5
    t0 = time.perf_counter()
    rows, curves = [], {}
    ref_info = []
    for alpha in alphas:
        model = fs.Conductance.preset("tonic_spiking", alpha=alpha)
        state0 = model.resting_state(-1.5)
        t_ref, v_ref, e_ref = reference(model, current, state0, alpha, t_stop, h_ref)
        spikes_ref = crossings(t_ref, v_ref)
        ref_info.append(f"alpha = {alpha:g}: {spikes_ref.size} spikes, reference error "
                        f"estimate max {e_ref.max():.1e}")
        schemes = ["gl", "l1", "pi_trap"]
        if alpha == 1.0:
            schemes.append("midpoint (integer path)")
        for scheme in schemes:
            prev = None
            for dt in dts:
                kw = dict(dt=dt, current=current, **state0)
                if scheme.startswith("midpoint"):
                    res = fs.simulate(model, t_stop, **kw)
                else:
                    res = fs.simulate(model, t_stop, scheme=scheme, memory=fs.FullMemory(),
                                      **kw)
                v = res.state["v"][:, 0]
                v_on_grid = np.interp(res.t, t_ref, v_ref)
                err = float(np.max(np.abs(v - v_on_grid)))
                st = res.spikes.times
                st_interp = crossings(res.t, v)
                if st.size == spikes_ref.size:
                    sp_err = f"{np.max(np.abs(st - spikes_ref)):.2e}"
                else:
                    sp_err = f"count {st.size} vs {spikes_ref.size}"
                if st_interp.size == spikes_ref.size:
                    sp_int = f"{np.max(np.abs(st_interp - spikes_ref)):.2e}"
                else:
                    sp_int = "n/a"
                order = "" if prev is None else f"{np.log2(prev / err):.2f}"
                prev = err
                rows.append((scheme, alpha, dt, err, order, sp_err, sp_int, st.size))
                curves.setdefault((scheme, alpha), []).append((dt, err))
    wall = time.perf_counter() - t0

    lines = [
        "# Fractional conductance neuron vs the reference solver",
        "",
        f"Generated by `python validation/conductance_reference.py"
        f"{' --quick' if args.quick else ''}` in {wall:.0f} s. Preset tonic_spiking, "
        f"I = {current}, from the resting state at I = -1.5, T = {t_stop:g} ms, "
        f"FullMemory; reference `fracsim.reference.solve_fde` (PI trapezoidal, Richardson "
        f"over 4 levels, h = {h_ref} ms): " + "; ".join(ref_info) + ".",
        "",
        "| scheme | alpha | dt (ms) | max abs v error | order | spike-time error, reported "
        "(ms) | spike-time error, interpolated (ms) | spikes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scheme, alpha, dt, err, order, sp_err, sp_int, n in rows:
        lines.append(f"| {scheme} | {alpha:g} | {dt:g} | {err:.2e} | {order} | {sp_err} "
                     f"| {sp_int} | {n} |")
    text = "\n".join(lines) + "\n"
    (out / "conductance_reference.md").write_text(text)
    print(text)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(alphas), figsize=(4.2 * len(alphas), 3.6), squeeze=False)
    colours = {"gl": "#1f4e99", "l1": "#c0392b", "pi_trap": "#2e8b57",
               "midpoint (integer path)": "#8e44ad"}
    for ax, alpha in zip(axes[0], alphas, strict=True):
        for scheme, colour in colours.items():
            pts = curves.get((scheme, alpha))
            if pts:
                d, e = np.array(pts).T
                ax.loglog(d, e, "o-", color=colour, label=scheme)
        ax.set_title(f"α = {alpha:g}")
        ax.set_xlabel("dt (ms)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("max |v - v_ref| (dimensionless)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Conductance neuron (tonic spiking) vs fracsim.reference.solve_fde")
    fig.tight_layout()
    fig.savefig(out / "conductance_reference.png", dpi=130)
    print(f"wrote {out / 'conductance_reference.md'} and .png")


if __name__ == "__main__":
    main()
