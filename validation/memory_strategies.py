"""Accuracy and cost of the memory strategies ShortMemory(L) and SOE(tol) against FullMemory.

Fractional LIF ``tau D^a v = -(v - v_rest) + R I`` (tau = 10 ms^a, v_rest = -65 mV,
R I = 60 mV constant, so v_inf = -5 mV), v0 = v_rest, one neuron, two runs:

* spiking: v_th = -50 mV, v_reset = -65 mV, reset "shift" (the default);
* non-spiking: the same drive with the threshold far away (v relaxes towards v_inf).

(a) ShortMemory(steps=L), L in {10, 40, 160, 640, 2560}, alpha in {0.3, 0.5, 0.8}, every
scheme, 200 ms at dt = 0.02 ms (10^4 steps, so L = 2560 still truncates):
``max_t |v_L - v_full|``. The documented bound (``fracsim.fractional.memory``) says the
error on ``D^a v`` decays like ``L^(-alpha)``; the table gives the fitted log-log slope of
the error against L next to ``-alpha``. For the spiking run also the spike counts and the
first time at which ``|v_L - v_full|`` exceeds 1 mV.

(b) SOE(tol), tol in {1e-4, 1e-6, 1e-8, 1e-10}, each scheme and alpha in {0.3, 0.5, 0.8},
the spiking run at dt = 0.1 ms for 10^4 and 10^5 steps (1 s and 10 s), against FullMemory
on the same scheme: ``max |v_soe - v_full|``, that divided by the voltage range of the
FullMemory trajectory (``rel``), ``rel / tol``, the same up to the first sample at which
the two runs have emitted different numbers of spikes ("pre-shift": once a spike has moved
by a step the raw maximum is a whole reset, whatever the tolerance), the spike counts and
the largest spike-time difference; ``K``, the number of exponentials the engine uses
(``soe_kernel(scheme, alpha, n_steps + 1, tol).K``), the kernel build time, and the wall
time of the SOE run and of the FullMemory run (Numba compilation excluded by a warm-up).
A last table gives ``K`` and the build time for ``n_max = 10^6`` (kernel only).

Run: ``python3 validation/memory_strategies.py [--quick] [--out DIR]`` (full: about 3-4
minutes, dominated by the nine FullMemory runs of 10^5 steps; ``--quick``: alpha = 0.5, dt =
0.1 for (a), 10^4 steps only for (b)). Writes ``memory.md``, ``memory_short.png`` and
``memory_soe.png`` to DIR (default ``validation/results``).
"""

from __future__ import annotations

import time

import numpy as np
from _common import (
    cmdline,
    environment,
    fe,
    ff,
    loglog_slope,
    md_table,
    parse_args,
    plt,
    save_figure,
    timed,
    write_report,
)
from matplotlib.lines import Line2D

import fracsim as fs
from fracsim.fractional.soe import soe_kernel

TAU, V_REST, DRIVE, V_TH, V_RESET = 10.0, -65.0, 60.0, -50.0, -65.0
FAR = 1.0e4
SCHEMES = ("gl", "l1", "pi_trap")
#: ShortMemory is defined for the increment schemes only (fracsim refuses it for pi_trap)
SHORT_SCHEMES = ("gl", "l1")
ALPHAS = (0.3, 0.5, 0.8)
LS = (10, 40, 160, 640, 2560)
TOLS = (1e-4, 1e-6, 1e-8, 1e-10)
DEVIATION_MV = 1.0


def run(scheme, alpha, dt, n_steps, memory, spiking=True):
    model = fs.LIF(tau=TAU, v_rest=V_REST, v_th=V_TH if spiking else FAR, v_reset=V_RESET,
                   alpha=alpha, reset="shift")
    res, wall = timed(fs.simulate, model, n_steps * dt, dt=dt, current=DRIVE, scheme=scheme,
                      memory=memory, v0=V_REST, progress=False)
    return res.t, res.state["v"][:, 0], res.spikes.times, wall


def spike_diff(a: np.ndarray, b: np.ndarray) -> float:
    k = min(a.size, b.size)
    return float(np.max(np.abs(a[:k] - b[:k]))) if k else float("nan")


def first_deviation(t, dv, level=DEVIATION_MV) -> float:
    idx = np.flatnonzero(dv > level)
    return float(t[idx[0]]) if idx.size else float("nan")


def short_memory(schemes, alphas, ls, dt, t_stop):
    n_steps = int(round(t_stop / dt))
    out = {}
    for spiking in (False, True):
        for scheme in schemes:
            for alpha in alphas:
                t, full, sp_full, _ = run(scheme, alpha, dt, n_steps, fs.FullMemory(), spiking)
                rows = []
                for L in ls:
                    _, v, sp, _ = run(scheme, alpha, dt, n_steps, fs.ShortMemory(steps=L),
                                      spiking)
                    dv = np.abs(v - full)
                    rows.append((float(dv.max()), sp.size, first_deviation(t, dv)))
                out[spiking, scheme, alpha] = (rows, sp_full.size)
    return out


def soe_sweep(schemes, alphas, tols, dt, lengths):
    out = {}
    for n_steps in lengths:
        for scheme in schemes:
            for alpha in alphas:
                _, full, sp_full, wall_full = run(scheme, alpha, dt, n_steps, fs.FullMemory())
                vrange = float(full.max() - full.min())
                for tol in tols:
                    ker, build = timed(soe_kernel, scheme, alpha, n_steps + 1, tol)
                    t, v, sp, wall = run(scheme, alpha, dt, n_steps, fs.SOE(tol=tol))
                    dv = np.abs(v - full)
                    err = float(np.max(dv))
                    # up to the first sample at which the two runs have emitted different
                    # numbers of spikes (a spike moved by a step): the kernel error alone
                    differ = np.flatnonzero(np.searchsorted(sp, t, side="right")
                                            != np.searchsorted(sp_full, t, side="right"))
                    first = int(differ[0]) if differ.size else t.size
                    err_al = float(np.max(dv[:first]))
                    t_shift = float(t[first]) if differ.size else float("nan")
                    out[n_steps, scheme, alpha, tol] = dict(
                        err=err, rel=err / vrange, rel_al=err_al / vrange,
                        t_shift=t_shift, K=ker.K, k0=ker.k0, method=ker.method,
                        build=build, wall=wall, wall_full=wall_full, n_full=sp_full.size,
                        n_soe=sp.size, dt_sp=spike_diff(sp, sp_full), vrange=vrange)
                print(f"  SOE: {n_steps} steps, {scheme}, alpha={alpha}: FullMemory "
                      f"{wall_full:.1f} s", flush=True)
    return out


def main() -> None:
    args = parse_args(__doc__)
    t0 = time.perf_counter()
    if args.quick:
        alphas, ls, dt_short, lengths = (0.5,), LS[:4], 0.1, (10**4,)
    else:
        alphas, ls, dt_short, lengths = ALPHAS, LS, 0.02, (10**4, 10**5)
    t_short = 200.0
    for scheme in SCHEMES:  # compile every code path once, outside the timings
        for mem in (fs.FullMemory(), fs.ShortMemory(steps=4), fs.SOE(1e-6)):
            if scheme not in SHORT_SCHEMES and mem.kind == "short":
                continue
            run(scheme, 0.5, 0.1, 20, mem)
            run(scheme, 0.5, 0.1, 20, mem, spiking=False)

    short = short_memory(SHORT_SCHEMES, alphas, ls, dt_short, t_short)
    soe = soe_sweep(SCHEMES, alphas, TOLS, 0.1, lengths)
    big = {}
    if not args.quick:
        for scheme in SCHEMES:
            for alpha in alphas:
                for tol in TOLS:
                    ker, build = timed(soe_kernel, scheme, alpha, 10**6, tol)
                    big[scheme, alpha, tol] = (ker.K, ker.k0, ker.max_rel_error, build,
                                               ker.method)
    wall = time.perf_counter() - t0

    n_short = int(round(t_short / dt_short))
    parts = [
        "# Memory strategies: ShortMemory(L) and SOE(tol) against FullMemory",
        "",
        f"Generated by `{cmdline('memory_strategies.py', args.quick, args.out)}` in "
        f"{wall:.0f} s. {environment()}.",
        "",
        f"Fractional LIF, tau = {TAU:g} ms^a, v_rest = {V_REST:g} mV, R I = {DRIVE:g} mV "
        f"(v_inf = {V_REST + DRIVE:g} mV), v0 = v_rest. Spiking run: v_th = {V_TH:g} mV, "
        f"v_reset = {V_RESET:g} mV, reset 'shift'. Non-spiking run: v_th = {FAR:g} mV. "
        "All errors in mV, against FullMemory with the same scheme and dt.",
        "",
        f"## (a) ShortMemory(L): max |v_L - v_full| over {t_short:g} ms, dt = {dt_short:g} ms "
        f"({n_short} steps)",
        "",
        "`slope`: least-squares slope of log(error) against log(L) (`last pair`: between the "
        "two largest L); the documented bound on "
        "the error of D^a v decays like L^(-alpha). The kept window is L dt = "
        f"{ls[0] * dt_short:g} to {ls[-1] * dt_short:g} ms; the fractional relaxation time "
        "tau^(1/alpha) (where (L dt)^alpha / tau = 1) is "
        + ", ".join(f"{TAU ** (1 / a):.3g} ms (alpha = {a})" for a in alphas) + ".",
    ]
    for spiking in (False, True):
        rows = []
        for scheme in SHORT_SCHEMES:
            for alpha in alphas:
                data, n_full = short[spiking, scheme, alpha]
                errs = [r[0] for r in data]
                row = [scheme, alpha, *[fe(e) for e in errs], ff(loglog_slope(ls, errs)),
                       ff(loglog_slope(ls[-2:], errs[-2:])), ff(-alpha)]
                rows.append(row)
        parts += ["", f"### {'spiking' if spiking else 'non-spiking'} run", "",
                  md_table(["scheme", "alpha", *[f"L = {L}" for L in ls], "slope",
                            "slope (last pair)", "-alpha"], rows)]
    rows = []
    for scheme in SHORT_SCHEMES:
        for alpha in alphas:
            data, n_full = short[True, scheme, alpha]
            rows.append([scheme, alpha, n_full,
                         *[f"{r[1]} / {ff(r[2], 1) if not np.isnan(r[2]) else 'never'}"
                           for r in data]])
    parts += ["", "### spiking run: spike count of ShortMemory / first time (ms) with "
              f"|v_L - v_full| > {DEVIATION_MV:g} mV", "",
              md_table(["scheme", "alpha", "spikes (full)", *[f"L = {L}" for L in ls]],
                       rows)]

    parts += [
        "",
        "## (b) SOE(tol) against FullMemory, spiking run, dt = 0.1 ms",
        "",
        "`max err`: max |v_soe - v_full| (mV); `rel`: that / (max - min of v_full); "
        "`spikes`: count with FullMemory / with SOE; `max dt_spike`: largest |t_soe - t_full| "
        "over the common spikes (ms); `rel (pre-shift)`: the same as `rel` up to the first "
        "sample at which the runs have emitted different numbers of spikes (`first shift`; "
        "the whole run if never): once a spike has moved by a step the difference is a whole "
        "reset, whatever the tolerance; `K`: exponentials used by the engine (k0 = exact "
        "window); `build`: soe_kernel build time (ms); `SOE run` / `full run`: wall time of "
        "the simulation (s).",
    ]
    for n_steps in lengths:
        rows = []
        for scheme in SCHEMES:
            for alpha in alphas:
                for tol in TOLS:
                    d = soe[n_steps, scheme, alpha, tol]
                    rows.append([scheme, alpha, fe(tol, 0), fe(d["err"]), fe(d["rel"]),
                                 ff(d["rel"] / tol, 3), fe(d["rel_al"]),
                                 ff(d["rel_al"] / tol, 3),
                                 "never" if np.isnan(d["t_shift"]) else f"{d['t_shift']:.1f}",
                                 f"{d['n_full']} / {d['n_soe']}",
                                 fe(d["dt_sp"]), f"{d['K']} (k0={d['k0']})",
                                 f"{1e3 * d['build']:.0f}", f"{d['wall']:.3f}",
                                 f"{d['wall_full']:.2f}"])
        parts += ["", f"### {n_steps} steps ({n_steps * 0.1 / 1e3:g} s simulated)", "",
                  md_table(["scheme", "alpha", "tol", "max err", "rel", "rel / tol",
                            "rel (pre-shift)", "rel (pre-shift) / tol", "first shift (ms)",
                            "spikes",
                            "max dt_spike", "K", "build ms", "SOE run s", "full run s"],
                           rows)]
    if big:
        rows = [[s, a, fe(tol, 0), K, k0, fe(err), f"{1e3 * b:.0f}", meth]
                for (s, a, tol), (K, k0, err, b, meth) in big.items()]
        parts += ["", "### kernel only: n_max = 10^6", "",
                  md_table(["scheme", "alpha", "tol", "K", "k0", "max rel error of the tail",
                            "build ms", "method"], rows)]
    ratio = max(d["rel"] / tol for (_, _, _, tol), d in soe.items())
    ratio_al = max(d["rel_al"] / tol for (_, _, _, tol), d in soe.items())
    mismatched = [k for k, d in soe.items() if d["n_full"] != d["n_soe"]]
    shifted = [f"{s} a={a} tol={fe(tol, 0)} n={n} ({fe(d['dt_sp'])} ms)"
               for (n, s, a, tol), d in soe.items() if d["dt_sp"] > 0]
    parts += ["", "## Summary (computed)", "",
              f"- SOE: largest `rel / tol` over all runs: {ff(ratio, 3)}; before the first "
              f"spike shift: {ff(ratio_al, 3)}; runs whose spike count differs from FullMemory: "
              f"{len(mismatched)}" + (f" ({mismatched})" if mismatched else "")
              + f"; runs with a shifted spike: {len(shifted)}"
              + (f" ({'; '.join(shifted)})" if shifted else "") + "."]
    for scheme in SHORT_SCHEMES:
        slopes = [loglog_slope(ls, [r[0] for r in short[False, scheme, a][0]]) for a in alphas]
        parts.append(f"- ShortMemory, non-spiking, {scheme}: fitted slopes "
                     + ", ".join(f"{ff(s)} (alpha = {a})" for s, a in
                                 zip(slopes, alphas, strict=True)) + ".")
    write_report(args.out, "memory", "\n".join(parts))

    # ---- figures
    colors = dict(zip(alphas, plt.cm.viridis(np.linspace(0.0, 0.85, len(alphas))),
                      strict=True))
    styles = {"gl": ("o", "-"), "l1": ("s", "--"), "pi_trap": ("^", ":")}
    # gl and l1 nearly coincide in (a): gl drawn underneath with larger markers
    msize = {"gl": 9.0, "l1": 5.0, "pi_trap": 6.0}
    zorder = {"gl": 1, "l1": 2, "pi_trap": 3}
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    lv = np.array(ls, dtype=float)
    for ax, spiking in zip(axes[:2], (False, True), strict=True):
        for scheme in SHORT_SCHEMES:
            mk, ls_ = styles[scheme]
            for alpha in alphas:
                errs = [r[0] for r in short[spiking, scheme, alpha][0]]
                ax.loglog(lv, errs, marker=mk, ls=ls_, color=colors[alpha], ms=msize[scheme],
                          zorder=zorder[scheme])
        if not spiking:
            for alpha in alphas:
                e0 = short[False, "l1", alpha][0][0][0]
                ax.loglog(lv, 0.3 * e0 * (lv / lv[0]) ** (-alpha), color=colors[alpha],
                          lw=3, alpha=0.3)
        ax.set_xlabel("L (steps kept)")
        ax.set_ylabel("max |v_L - v_full| (mV)")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(f"{'spiking' if spiking else 'non-spiking'} run, {t_short:g} ms, "
                     f"dt = {dt_short:g} ms", fontsize=10)
    handles = [Line2D([], [], color=colors[a], lw=2, label=f"alpha = {a}") for a in alphas]
    handles += [Line2D([], [], color="k", marker=styles[s][0], ls=styles[s][1], ms=msize[s],
                       label=s) for s in SHORT_SCHEMES]
    handles.append(Line2D([], [], color="gray", lw=3, alpha=0.3,
                          label="L^(-alpha) guide (x0.3 of l1 at L = 10)"))
    ax = axes[2]
    for scheme in SHORT_SCHEMES:
        mk, ls_ = styles[scheme]
        for alpha in alphas:
            data, n_full = short[True, scheme, alpha]
            ax.semilogx(lv, [max(r[1], 0.5) for r in data], marker=mk, ls=ls_,
                        color=colors[alpha], ms=msize[scheme], zorder=zorder[scheme])
            ax.axhline(n_full, color=colors[alpha], lw=3, alpha=0.3)
    ax.set_yscale("log")
    ax.set_xlabel("L (steps kept)")
    ax.set_ylabel("number of spikes in the run (0 drawn at 0.5)")
    ax.set_title("spiking run: spike count (thick line: FullMemory)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(handles=handles, fontsize=8, loc="lower left")
    fig.suptitle("ShortMemory(L): error against FullMemory vs memory length")
    fig.tight_layout()
    save_figure(fig, args.out, "memory_short.png")

    fig, axes = plt.subplots(2, 3, figsize=(14, 8.5), sharex=True)
    tv = np.array(TOLS)
    len_style = {10**4: "-", 10**5: "--"}
    for c, scheme in enumerate(SCHEMES):
        ax, axk = axes[0, c], axes[1, c]
        for alpha in alphas:
            for n_steps in lengths:
                rel = np.array([soe[n_steps, scheme, alpha, tol]["rel"] for tol in TOLS])
                rel_al = np.array([soe[n_steps, scheme, alpha, tol]["rel_al"]
                                   for tol in TOLS])
                ks = [soe[n_steps, scheme, alpha, tol]["K"] for tol in TOLS]
                ax.loglog(tv, np.maximum(rel_al, 1e-17), marker="o", ls=len_style[n_steps],
                          color=colors[alpha])
                jump = rel > 10 * rel_al  # a spike moved by a step: the raw max is ~ a reset
                ax.loglog(tv[jump], rel[jump], "x", ms=9, mew=2, color=colors[alpha])
                axk.semilogx(tv, ks, marker="o", ls=len_style[n_steps], color=colors[alpha])
            if big:
                axk.semilogx(tv, [big[scheme, alpha, tol][0] for tol in TOLS], marker="^",
                             ls=":", color=colors[alpha])
        ax.loglog(tv, tv, color="gray", lw=3, alpha=0.3)
        ax.set_title(f"{scheme}: max |v_soe - v_full| / range, before any spike shift",
                     fontsize=10)
        axk.set_title(f"{scheme}: number of exponentials K", fontsize=10)
        ax.set_ylabel("relative error (max error / range)")
        axk.set_ylabel("K")
        axk.set_xlabel("SOE tol (kernel relative error)")
        for a in (ax, axk):
            a.grid(True, which="both", alpha=0.3)
    handles = [Line2D([], [], color=colors[a], lw=2, label=f"alpha = {a}") for a in alphas]
    handles += [Line2D([], [], color="k", ls=len_style[n], marker="o",
                       label=f"{n:.0e} steps (n_max = steps + 1)") for n in lengths]
    if big:
        handles.append(Line2D([], [], color="k", ls=":", marker="^",
                              label="n_max = 1e6 (kernel only)"))
    handles.append(Line2D([], [], color="k", marker="x", ls="", mew=2,
                          label="whole run, where a spike moved by >= 1 step"))
    handles.append(Line2D([], [], color="gray", lw=3, alpha=0.3, label="rel error = tol"))
    axes[0, 0].legend(handles=handles, fontsize=8, loc="upper left")
    fig.suptitle("SOE(tol) against FullMemory (spiking fractional LIF, dt = 0.1 ms)")
    fig.tight_layout()
    save_figure(fig, args.out, "memory_soe.png")


if __name__ == "__main__":
    main()
