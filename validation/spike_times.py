"""Spike-time accuracy of the fractional LIF against exact / high-accuracy references.

Model: ``tau D^a v = -(v - v_rest) + R I``, tau = 10 ms^a, v_rest = v0 = v_reset = -65 mV,
v_th = -50 mV, R I = 60 mV constant (v_inf = -5 mV), FullMemory, one neuron;
alpha in {0.5, 0.7, 0.9}, every scheme, dt in {0.1, 0.05, 0.02, 0.01, 0.005} ms.

Part 1, first spike: the exact time is ``fractional_lif_first_spike`` (the root of
``v_inf + (v0 - v_inf) E_a(-t^a / tau) = v_th``). The engine reports a spike crossing in
step n (``v_n < v_th <= v_{n+1}``) at ``t_{n+1}``: the reported time is quantised to the
grid and is late by up to one dt on top of the scheme's own error. The sample of the
spiking run at ``t_{n+1}`` is already reset, so the crossing value ``v_{n+1}`` is not
recorded; it is taken from a twin run with the threshold out of reach, which is identical
to the spiking run up to the first spike (checked sample by sample), and the crossing is
interpolated linearly inside the step: ``t_n + dt (v_th - v_n) / (v_{n+1} - v_n)``
("interp"). "extrap" uses only samples of the spiking run: the line through
``v_{n-1}, v_n`` extended to v_th (clipped to the step); this is what is available for later
spikes.

Part 2, the k-th spike (k = 1..5) for the resets "shift" and "restart" against
``fracsim.reference.solve_fde_spiking`` (product trapezoid with Richardson extrapolation;
its reset_mode "shift" (called "jump" in earlier versions) is fracsim's "shift": the
jump is kept out of the derivative; "restart" is "restart"), cross-checked against the
engine's pi_trap at dt = 0.001 ms with SOE(1e-10) and the "extrap" crossing.

Run: ``python3 validation/spike_times.py [--quick] [--out DIR]`` (full: ~2-3 minutes, most
of it the reference solver; ``--quick``: alpha = 0.7, dt >= 0.02). Writes
``spike_times.md`` and ``spike_times.png`` to DIR (default ``validation/results``).

Columns: ``t_ref`` exact first-spike time (ms); ``t_grid`` the reported time and ``err %``
its relative error ``100 (t - t_ref) / t_ref`` (signed); ``(t_grid - t_ref)/dt`` the error in
steps; ``t_interp``/``t_extrap`` and their errors. Part 2: cells ``grid / extrap``, the
largest ``|t_k - t_k,ref|`` over k = 1..5 in ms, and the observed order ``p`` of the grid
errors between the two finest dt.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
from _common import (
    cmdline,
    environment,
    fe,
    ff,
    lif_first_spike,
    md_table,
    observed_orders,
    parse_args,
    plt,
    reference_name,
    save_figure,
    write_report,
)
from matplotlib.lines import Line2D

import fracsim as fs

TAU, V_REST, V_TH, V_RESET, DRIVE = 10.0, -65.0, -50.0, -65.0, 60.0
V_INF = V_REST + DRIVE
FAR = 1.0e4
SCHEMES = ("gl", "l1", "pi_trap")
ALPHAS = (0.5, 0.7, 0.9)
DTS = (0.1, 0.05, 0.02, 0.01, 0.005)
N_SPIKES = 5
RESETS = ("shift", "restart")
REF_DT = 0.001


def simulate(scheme, alpha, dt, t_stop, reset="shift", v_th=V_TH, memory=None):
    model = fs.LIF(tau=TAU, v_rest=V_REST, v_th=v_th, v_reset=V_RESET, alpha=alpha,
                   reset=reset)
    res = fs.simulate(model, t_stop, dt=dt, current=DRIVE, scheme=scheme,
                      memory=memory or fs.FullMemory(), v0=V_REST, progress=False)
    return res.t, res.state["v"][:, 0], res.spikes.times


def extrap_crossing(t, v, t_spike, dt) -> float:
    """Crossing time from the two samples before the crossing step (the line through
    v_{n-1}, v_n extended to v_th, clipped to [t_n, t_{n+1}])."""
    n = int(round(t_spike / dt)) - 1  # crossing step: t_{n+1} = reported time
    if n < 1:
        return t_spike
    slope = (v[n] - v[n - 1]) / dt
    if slope <= 0:
        return t_spike
    return float(t[n] + min(max((V_TH - v[n]) / slope, 0.0), dt))


def first_spike_part(schemes, alphas, dts):
    rows = {}
    for alpha in alphas:
        t_ref = lif_first_spike(alpha, TAU, V_REST, V_INF, V_TH)
        for scheme in schemes:
            for dt in dts:
                t_stop = t_ref + 2.0
                t, v, sp = simulate(scheme, alpha, dt, t_stop)
                t2, v2, _ = simulate(scheme, alpha, dt, t_stop, v_th=FAR)
                t_grid = float(sp[0])
                n = int(round(t_grid / dt)) - 1
                if not (v[n] < V_TH <= v2[n + 1]):
                    raise RuntimeError(f"crossing not in step {n} ({scheme}, {alpha}, {dt})")
                if not np.array_equal(v[: n + 1], v2[: n + 1]):
                    raise RuntimeError("twin run differs before the first spike")
                t_int = float(t[n] + dt * (V_TH - v[n]) / (v2[n + 1] - v[n]))
                t_ext = extrap_crossing(t, v, t_grid, dt)
                rows[scheme, alpha, dt] = dict(ref=t_ref, grid=t_grid, interp=t_int,
                                               extrap=t_ext)
    return rows


def reference_trains(alphas, resets, quick):
    """Reference spike times: solve_fde_spiking, and the engine's pi_trap at REF_DT."""
    from fracsim.reference import solve_fde_spiking

    def f(t, y):
        return (-(y - V_REST) + DRIVE) / TAU

    def jac(t, y):
        return np.array([[-1.0 / TAU]])

    out = {}
    for reset in resets:
        for alpha in alphas:
            # locate the spikes with the engine first (generous horizon), then run the
            # reference just past the 5th spike
            horizon = 60.0
            while True:
                t, v, sp = simulate("pi_trap", alpha, REF_DT, horizon, reset=reset,
                                    memory=fs.SOE(1e-10))
                if sp.size > N_SPIKES:
                    break
                horizon *= 2
            fine = np.array([extrap_crossing(t, v, s, REF_DT) for s in sp[:N_SPIKES]])
            t_stop = 0.5 * (sp[N_SPIKES - 1] + sp[N_SPIKES])
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sol = None
                # fracsim's "shift" is the reference's "shift" (named "jump" in older
                # versions of fracsim.reference): the jump is kept out of the derivative
                for mode in ((reset, "jump") if reset == "shift" else (reset,)):
                    try:
                        sol = solve_fde_spiking(f, [V_REST], alpha, t_stop,
                                                0.04 if quick else 0.02, V_TH, V_RESET,
                                                reset_mode=mode, jac=jac)
                        break
                    except ValueError as exc:
                        if "reset_mode" not in str(exc):
                            raise
            out[reset, alpha] = dict(
                ref=sol.spike_times[:N_SPIKES], err=sol.spike_err[:N_SPIKES], mode=mode,
                engine=fine, t_stop=t_stop, wall=time.perf_counter() - t0,
                warn="; ".join(str(w.message) for w in caught))
            if sol.spike_times.size < N_SPIKES:
                raise RuntimeError(f"reference found {sol.spike_times.size} spikes")
    return out


def kth_spike_part(schemes, alphas, dts, resets, refs):
    rows = {}
    for reset in resets:
        for alpha in alphas:
            ref = refs[reset, alpha]["ref"]
            t_stop = refs[reset, alpha]["t_stop"]
            for scheme in schemes:
                for dt in dts:
                    t, v, sp = simulate(scheme, alpha, dt, t_stop, reset=reset)
                    k = min(sp.size, N_SPIKES)
                    ext = np.array([extrap_crossing(t, v, s, dt) for s in sp[:k]])
                    rows[reset, scheme, alpha, dt] = dict(
                        count=sp.size, grid=sp[:k] - ref[:k], extrap=ext - ref[:k], times=sp)
    return rows


def main() -> None:
    args = parse_args(__doc__)
    alphas = (0.7,) if args.quick else ALPHAS
    dts = DTS[:3] if args.quick else DTS
    t0 = time.perf_counter()
    first = first_spike_part(SCHEMES, alphas, dts)
    refs = reference_trains(alphas, RESETS, args.quick)
    kth = kth_spike_part(SCHEMES, alphas, dts, RESETS, refs)
    wall = time.perf_counter() - t0

    parts = [
        "# Spike times of the fractional LIF",
        "",
        f"Generated by `{cmdline('spike_times.py', args.quick, args.out)}` in {wall:.0f} s. "
        f"{environment()}.",
        "",
        f"tau = {TAU:g} ms^a, v0 = v_rest = v_reset = {V_REST:g} mV, v_th = {V_TH:g} mV, "
        f"R I = {DRIVE:g} mV (v_inf = {V_INF:g} mV), FullMemory. References: "
        f"{reference_name()}.",
        "",
        "## Part 1: first spike against the exact time (`fractional_lif_first_spike`)",
        "",
        "The engine reports a crossing in step n at t_{n+1} (grid quantisation: late by up to "
        "one dt). `interp`: linear interpolation inside the crossing step between v_n "
        "(recorded) and the un-reset crossing value v_{n+1}, taken from a twin run with the "
        "threshold out of reach (identical samples up to the spike, checked). `extrap`: the "
        "line through the two samples before the crossing step, extended to v_th (what the "
        "recorded spiking trace alone gives). Errors are signed, in % of t_ref.",
        "",
    ]
    rows = []
    for scheme in SCHEMES:
        for alpha in alphas:
            for dt in dts:
                d = first[scheme, alpha, dt]
                ref = d["ref"]

                def pct(x, ref=ref):
                    return f"{100 * (x - ref) / ref:+.2e}"

                rows.append([scheme, alpha, dt, f"{ref:.6f}", f"{d['grid']:.3f}",
                             pct(d["grid"]), ff((d["grid"] - ref) / dt),
                             f"{d['interp']:.6f}", pct(d["interp"]),
                             f"{d['extrap']:.6f}", pct(d["extrap"])])
    parts.append(md_table(["scheme", "alpha", "dt (ms)", "t_ref (ms)", "t_grid", "err %",
                           "(t_grid - t_ref)/dt", "t_interp", "err %", "t_extrap", "err %"],
                          rows))
    # observed orders of the first-spike errors
    rows = []
    for scheme in SCHEMES:
        for alpha in alphas:
            cells = [scheme, alpha]
            for key in ("grid", "interp", "extrap"):
                errs = [abs(first[scheme, alpha, dt][key] - first[scheme, alpha, dt]["ref"])
                        for dt in dts]
                p = observed_orders(dts, errs)
                cells.append(" ".join(ff(x) for x in p))
            rows.append(cells)
    parts += ["", "Observed orders of |t - t_ref| between consecutive dt (log ratio / log dt "
              "ratio; the grid error is not monotone in dt, so its orders scatter):", "",
              md_table(["scheme", "alpha", "grid", "interp", "extrap"], rows)]

    parts += [
        "",
        f"## Part 2: spikes k = 1..{N_SPIKES}, resets 'shift' and 'restart'",
        "",
        "Reference: `solve_fde_spiking` (column `mode`: its reset_mode used for the "
        "engine's reset), with its own error estimate; cross-check: the engine's "
        f"pi_trap at dt = {REF_DT:g} ms, SOE(1e-10), 'extrap' crossing.",
        "",
    ]
    rows = []
    for (reset, alpha), d in refs.items():
        rows.append([reset, d["mode"], alpha, " ".join(f"{x:.4f}" for x in d["ref"]),
                     fe(float(np.max(d["err"]))),
                     fe(float(np.max(np.abs(d["engine"] - d["ref"])))),
                     f"{d['t_stop']:.1f}", f"{d['wall']:.1f}", d["warn"] or "—"])
    parts.append(md_table(["reset", "mode", "alpha", "reference spike times (ms)",
                           "ref. error est.",
                           f"max diff pi_trap dt={REF_DT:g}", "t_stop", "ref. wall s",
                           "warnings"], rows))
    rows = []
    for reset in RESETS:
        for scheme in SCHEMES:
            for alpha in alphas:
                cells, grid_errs = [reset, scheme, alpha], []
                for dt in dts:
                    d = kth[reset, scheme, alpha, dt]
                    g = float(np.max(np.abs(d["grid"]))) if d["grid"].size else math.nan
                    e = float(np.max(np.abs(d["extrap"]))) if d["extrap"].size else math.nan
                    grid_errs.append(g)
                    flag = "" if d["count"] >= N_SPIKES else f" ({d['count']} spikes!)"
                    cells.append(f"{fe(g)} / {fe(e)}{flag}")
                cells.append(ff(grid_errs[-1] / dts[-1]))
                cells.append(ff(observed_orders(dts, grid_errs)[-1]))
                rows.append(cells)
    parts += ["", f"Max over k = 1..{N_SPIKES} of |t_k - t_k,ref| (ms), `grid / extrap`:", "",
              md_table(["reset", "scheme", "alpha", *[f"dt = {dt:g}" for dt in dts],
                        f"grid err / dt at dt = {dts[-1]:g}", "p (grid, finest)"], rows)]
    # the engine resets at the reported (grid) time: with "restart" every ISI is the
    # grid-quantised first passage, so spike k is late by k times the first quantisation
    worst_restart = max(
        float(np.max(np.abs(np.diff(d["times"], prepend=0.0) - d["times"][0])))
        for (reset, *_), d in kth.items() if reset == "restart")
    parts += ["", "Resets happen at the reported grid time t_{n+1}, so every spike carries the "
              "quantisation delay of the previous ones into the next interval; the `extrap` "
              "estimate only corrects the last crossing. For 'restart' the engine's ISIs all "
              "equal its (grid-quantised) first spike time: largest deviation over every run "
              f"here: {fe(worst_restart)} ms."]
    write_report(args.out, "spike_times", "\n".join(parts))

    # ---- figure: rows = first spike / shift / restart, columns = schemes
    colors = dict(zip(alphas, plt.cm.viridis(np.linspace(0.0, 0.85, len(alphas))),
                      strict=True))
    h = np.array(dts)
    fig, axes = plt.subplots(3, 3, figsize=(14, 11), sharex=True)
    for c, scheme in enumerate(SCHEMES):
        ax = axes[0, c]
        for alpha in alphas:
            ref = first[scheme, alpha, dts[0]]["ref"]
            for key, ls in (("grid", "-"), ("interp", "--"), ("extrap", ":")):
                e = [abs(first[scheme, alpha, dt][key] - ref) for dt in dts]
                ax.loglog(h, np.maximum(e, 1e-12), marker="o", ls=ls, color=colors[alpha])
        ax.set_title(f"first spike, {scheme}", fontsize=10)
        for r, reset in enumerate(RESETS, start=1):
            ax = axes[r, c]
            for alpha in alphas:
                for key, ls in (("grid", "-"), ("extrap", ":")):
                    e = [np.max(np.abs(kth[reset, scheme, alpha, dt][key])) for dt in dts]
                    ax.loglog(h, np.maximum(e, 1e-12), marker="o", ls=ls, color=colors[alpha])
            ax.set_title(f"spikes 1..{N_SPIKES}, reset '{reset}', {scheme}", fontsize=10)
    for ax in axes.flat:
        ax.loglog(h, h, color="gray", lw=3, alpha=0.3)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("|t_spike - t_ref| (ms)")
    for ax in axes[-1]:
        ax.set_xlabel("dt (ms)")
    handles = [Line2D([], [], color=colors[a], lw=2, label=f"alpha = {a}") for a in alphas]
    handles += [Line2D([], [], color="k", marker="o", ls="-", label="reported (grid)"),
                Line2D([], [], color="k", marker="o", ls="--",
                       label="interp. with un-reset value (first spike)"),
                Line2D([], [], color="k", marker="o", ls=":",
                       label="extrap. from 2 samples before"),
                Line2D([], [], color="gray", lw=3, alpha=0.3, label="error = dt")]
    handles.append(Line2D([], [], color="tab:red", lw=3, alpha=0.25,
                          label=f"error = {N_SPIKES} dt (spikes 1..{N_SPIKES})"))
    for ax in axes[1:].flat:
        ax.loglog(h, N_SPIKES * h, color="tab:red", lw=3, alpha=0.25)
    fig.legend(handles=handles, fontsize=9, loc="lower center", ncol=5,
               bbox_to_anchor=(0.5, -0.04))
    fig.suptitle("Fractional LIF spike-time error vs dt (top: first spike vs exact; "
                 f"below: max over spikes 1..{N_SPIKES} vs solve_fde_spiking)")
    fig.tight_layout()
    save_figure(fig, args.out, "spike_times.png")


if __name__ == "__main__":
    main()
