r"""Forward mode (tangents) of a network's simulation, beside the adjoint of
:mod:`fracsim.grad.network`.

The tangent ``dX`` of every quantity of the recurrence in :mod:`fracsim.grad.network` along
one parameter direction ``(dw, dtau, dalpha)`` is propagated with the simulation, step by
step (NumPy; for sensitivity analysis and checks on small networks, one pass per
direction)::

    dA_n     = sum_syn (dw_syn s_pre + w_syn ds_pre)[n - 1 - D_syn]
    dG_n     = e^(-dt/tau_c) dG_{n-1} + dA_n,     dd_n = sum_c dG^c_n
    dv'_n    = dv_n^+ + d(dv)   (chain rule through v, d, H, 1/tau, h^a, c_0)
    ds_n     = sigma'(v'_n - v_th) dv'_n
    dv_{n+1} = (1 - s_n) dv'_n - ds_n (v'_n - v_reset)
    dq_n     = dv'_n - dv_n^+ - ds_n (v'_n - v_th) - s_n dv'_n
    dH_n     = sum_k c_k dq_{n-k} + dalpha sum_k (dc_k/dalpha) q_{n-k}

(with SOE: the exact window's lags plus ``beta . dU + dalpha gamma . U``, the states' tangents
``dU_j <- lam_j dU_j + lam_j^(W+1) dq_{n-W}``).  The history sums are direct (O(n) per
step), not blockwise.  A population of another model (AdLIF, LNM, Conductance) applies
its step's Jacobian (:mod:`.model_derivatives`, dual numbers) to the tangents of its
state, history, parameters and drive (:func:`fracsim.grad.network_kernels._gp_tangent_step`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .alpha import kernel_derivative
from .network import (
    Problem,
    _get,
    build,
    generic_arrays,
    parameter_names,
    recordable,
    ring_depth,
)
from .network_kernels import RESET_SHIFT, RESET_SUBTRACT, _gp_tangent_step


def tangents(prob: Problem, dirs: Mapping) -> tuple[dict, dict]:
    """``(recorded, tangents)`` of the recorded arrays along ``dirs`` (kind tuple of
    :func:`fracsim.grad.network.parameter_names` -> direction)."""
    N, dt = prob.N, prob.dt  # noqa: N806
    pops, projs = prob.pops, prob.projs
    depth = ring_depth(prob)
    dtau = [np.zeros(p.n) for p in pops]
    dalpha = [0.0] * len(pops)
    dw = [np.zeros(pr.weight.shape[0]) for pr in projs]
    dth = [np.zeros_like(p.th) if p.generic else None for p in pops]  # generic parameters
    for kind, val in dirs.items():
        if kind[0] == "proj":
            dw[kind[1]] = np.broadcast_to(val, dw[kind[1]].shape).astype(np.float64)
        elif pops[kind[1]].generic:
            for c, j in enumerate(pops[kind[1]].slots(kind[2])):  # coef: one per slot
                dth[kind[1]][j] = val[c] if kind[2] == "coef" else val
            if kind[2] == "alpha":
                dalpha[kind[1]] = float(val)
        elif kind[2] == "tau":
            dtau[kind[1]] = np.broadcast_to(val, (pops[kind[1]].n,)).astype(np.float64)
        else:
            dalpha[kind[1]] = float(val)
    theta = 1.0 if prob.scheme == "l1" else 0.0
    dcoef = [kernel_derivative(prob.scheme, p.alpha, np.arange(p.coef.shape[0]))
             if p.alpha is not None else None for p in pops]
    targets = [[-1] + list(range(p.chan_decay.shape[0])) for p in pops]
    ring = [{t: np.zeros((depth, p.n)) for t in targets[k]} for k, p in enumerate(pops)]
    dring = [{t: np.zeros((depth, p.n)) for t in targets[k]} for k, p in enumerate(pops)]
    z = [p.z0.copy() if p.generic else p.v0.copy()[None, :] for p in pops]  # state, v first
    dz = [np.zeros_like(zk) for zk in z]
    v, dv = [zk[0] for zk in z], [dzk[0] for dzk in dz]  # views: arrivals add into z
    gen = generic_arrays(prob)
    s_gen, ds_gen = [np.zeros(p.n) for p in pops], [np.zeros(p.n) for p in pops]
    sur_p = np.array(prob.sur.params, dtype=np.float64)
    G = [np.zeros((p.chan_decay.shape[0], p.n)) for p in pops]  # noqa: N806
    dG = [np.zeros_like(g) for g in G]  # noqa: N806
    q = [np.zeros((N, p.n)) for p in pops]
    dq = [np.zeros((N, p.n)) for p in pops]
    U = [np.zeros((p.lam.shape[0], p.n)) for p in pops]  # noqa: N806 - SOE states
    dU = [np.zeros_like(u) for u in U]  # noqa: N806
    until = [np.zeros(p.n, dtype=np.int64) for p in pops]
    pre = {id(g): np.repeat(np.arange(pops[pr.src].n), np.diff(g.ptr))  # source of each synapse
           for pr in projs for g in pr.groups}
    rec = {"t": np.arange(N) * dt}
    tan = {}
    for p in pops:
        for var in ("v", "spikes"):
            rec[f"{p.name}.{var}"] = np.zeros((N, p.n))
            tan[f"{p.name}.{var}"] = np.zeros((N, p.n))
    for n in range(N):
        slot = n % depth
        for k, p in enumerate(pops):
            ptr, idx, row, val = p.pois  # Poisson events: inputs with no tangent
            for e in range(ptr[n], ptr[n + 1]) if ptr.shape[0] > 1 else ():
                ring[k][row[e] - 1][slot][idx[e]] += val[e]
            v[k] += ring[k][-1][slot]
            dv[k] += dring[k][-1][slot]
            for c in range(p.chan_decay.shape[0]):
                G[k][c] += ring[k][c][slot]
                dG[k][c] += dring[k][c][slot]
            for t in targets[k]:
                ring[k][t][slot] = 0.0
                dring[k][t][slot] = 0.0
            rec[f"{p.name}.v"][n] = v[k]
            tan[f"{p.name}.v"][n] = dv[k]
        for k, p in enumerate(pops):
            d = prob.drive(p, n) + G[k].sum(axis=0)
            dd = dG[k].sum(axis=0)
            G[k] *= p.chan_decay[:, None]
            dG[k] *= p.chan_decay[:, None]
            vk, dvk = v[k], dv[k]
            if p.generic:
                _generic_step(prob, k, n, z[k], dz[k], d, dd, q[k], dq[k], U[k], dU[k],
                              until[k], dalpha[k], dcoef[k], dth[k], gen, sur_p, s_gen[k],
                              ds_gen[k])
                rec[f"{p.name}.spikes"][n] = s_gen[k]
                tan[f"{p.name}.spikes"][n] = ds_gen[k]
                _scatter(prob, k, s_gen[k], ds_gen[k], ring, dring, dw, pre, depth, n)
                continue
            if p.alpha is None:
                e = np.exp(-dt / p.tau)
                v_inf = p.v_rest + d
                vp = v_inf + (vk - v_inf) * e
                dvp = e * dvk + (1.0 - e) * dd + (vk - v_inf) * e * dt / p.tau ** 2 * dtau[k]
            else:
                lags = min(n, p.W)  # exact window (all lags for a full memory)
                qp, dqp = q[k][n - lags:n][::-1], dq[k][n - lags:n][::-1]  # lags 1 .. lags
                H = p.coef[1:lags + 1] @ qp  # noqa: N806
                dH = p.coef[1:lags + 1] @ dqp + dalpha[k] * (dcoef[k][1:lags + 1] @ qp)  # noqa: N806
                if p.soe:  # the exponential tail, its states and the fit's dbeta/dalpha
                    H = H + p.beta @ U[k]  # noqa: N806
                    dH = dH + p.beta @ dU[k] + dalpha[k] * (p.gam @ U[k])  # noqa: N806
                kap = 1.0 / p.tau
                dkap = -kap * kap * dtau[k]
                ha, dha = p.ha, p.ha * np.log(dt) * dalpha[k]
                c0, dc0 = p.coef[0], dcoef[k][0] * dalpha[k]
                den = c0 + theta * ha * kap
                rhs = p.v_rest - vk + d
                step = (ha * kap * rhs - H) / den
                vp = vk + step
                dnum = (dha * kap + ha * dkap) * rhs + ha * kap * (dd - dvk) - dH
                dden = dc0 + theta * (dha * kap + ha * dkap)
                dvp = dvk + (dnum - step * dden) / den
            x = vp - p.v_th
            sig = prob.sur.grad(x)
            s = prob.sur.relaxed(x) if prob.relaxed else (x >= 0.0).astype(np.float64)
            ds = sig * dvp
            # refractory: held neurons keep v' = v_reset (integer) or v_n^+ (fractional)
            held = until[k] > n
            if p.alpha is None:
                vp, dvp = np.where(held, p.v_reset, vp), np.where(held, 0.0, dvp)
            else:
                vp, dvp = np.where(held, vk, vp), np.where(held, dvk, dvp)
            x = vp - p.v_th
            s, ds = np.where(held, 0.0, s), np.where(held, 0.0, ds)
            until[k] = np.where(~held & (x >= 0.0) & (p.ref > 0), n + 1 + p.ref, until[k])
            if p.reset == RESET_SUBTRACT:
                v_new = vp - s * (p.v_th - p.v_reset)
                dv_new = dvp - ds * (p.v_th - p.v_reset)
            else:
                v_new = vp - s * (vp - p.v_reset)
                dv_new = (1.0 - s) * dvp - ds * (vp - p.v_reset)
            if p.alpha is not None and p.reset == RESET_SHIFT:
                q[k][n] = (vp - vk) - s * x
                dq[k][n] = dvp - dvk - ds * x - s * dvp
            elif p.alpha is not None:  # jump / subtract: the whole change is remembered
                q[k][n] = v_new - vk
                dq[k][n] = dv_new - dvk
            if p.alpha is not None:
                if p.soe and n >= p.W:  # U_j <- lam_j U_j + lam_j^(W+1) q_{n-W}
                    U[k] = p.lam[:, None] * U[k] + p.mu[:, None] * q[k][n - p.W]
                    dU[k] = p.lam[:, None] * dU[k] + p.mu[:, None] * dq[k][n - p.W]
            v[k][:], dv[k][:] = v_new, dv_new
            rec[f"{p.name}.spikes"][n] = s
            tan[f"{p.name}.spikes"][n] = ds
            _scatter(prob, k, s, ds, ring, dring, dw, pre, depth, n)
    return rec, tan


def _scatter(prob: Problem, k: int, s, ds, ring, dring, dw, pre, depth: int, n: int) -> None:
    """Population ``k``'s spikes of step ``n`` and their tangents into the arrival rings."""
    for j, pr in enumerate(prob.projs):
        if pr.src != k:
            continue
        for g in pr.groups:
            at = (n + 1 + g.delay) % depth
            src = pre[id(g)]
            np.add.at(ring[pr.dst][pr.target][at], g.post, g.w * s[src])
            np.add.at(dring[pr.dst][pr.target][at], g.post,
                      dw[j][g.index] * s[src] + g.w * ds[src])


def _generic_step(prob: Problem, k: int, n: int, z, dz, d, dd, q, dq, U, dU, until,  # noqa: N803
                  dalpha: float, dcoef, dth, gen: tuple, sur_p, s, ds) -> None:
    """Step ``n`` of generic population ``k`` with its tangents (direct history sums; with
    SOE the window plus the tail states ``U``, ``dU``, advanced in place; refractory
    holds by ``until``),
    :func:`fracsim.grad.network_kernels._gp_tangent_step`; spikes into ``s``, their
    tangents into ``ds``."""
    p = prob.pops[k]
    gpi, gpf, gints, gval, ggrd, th = gen
    frac = p.alpha is not None
    H, dH = np.zeros(p.n), np.zeros(p.n)  # noqa: N806
    if frac:
        lags = min(n, p.W)  # exact window (all lags for a full memory)
        qp, dqp = q[n - lags:n][::-1], dq[n - lags:n][::-1]  # lags 1 .. lags
        H = p.coef[1:lags + 1] @ qp  # noqa: N806
        dH = p.coef[1:lags + 1] @ dqp + dalpha * (dcoef[1:lags + 1] @ qp)  # noqa: N806
        if p.soe:  # the exponential tail, its states and the fit's dbeta/dalpha
            H = H + p.beta @ U  # noqa: N806
            dH = dH + p.beta @ dU + dalpha * (p.gam @ U)  # noqa: N806
    q_row, dq_row = (q[n], dq[n]) if frac else (np.zeros(p.n), np.zeros(p.n))
    _gp_tangent_step(z, dz, d, dd, H, dH, th[k],
                     dth, gpi[k, 0], gints[k], gpi[k, 1], gpi[k, 2], frac,
                     prob.scheme == "l1", gpi[k, 3], gpi[k, 4], not prob.relaxed,
                     prob.sur.kind, sur_p, prob.dt, p.ha, gpf[k, 0], gpf[k, 1], gpf[k, 2],
                     gpi[k, 5], gpi[k, 6], gval[k], ggrd[k], s, ds, q_row, dq_row, n, until,
                     p.ref)
    if frac and p.soe and n >= p.W:  # U_j <- lam_j U_j + lam_j^(W+1) q_{n-W}
        U[:] = p.lam[:, None] * U + p.mu[:, None] * q[n - p.W]
        dU[:] = p.lam[:, None] * dU + p.mu[:, None] * dq[n - p.W]


def jvp(net, tangent: Mapping, t_stop: float, *, surrogate=None, relaxed: bool = False):
    """Recorded arrays of ``net.run(t_stop)`` and their directional derivatives along
    ``tangent`` (``{name: direction}``, each shaped like its parameter): ``(recorded,
    {"<pop>.v": (N, n), "<pop>.spikes": (N, n)})``."""
    if not isinstance(tangent, Mapping) or not tangent:
        raise TypeError(f"tangent must be a non-empty dict {{name: direction}}, got {tangent!r}")
    prob = build(net, t_stop, surrogate, relaxed)
    table = parameter_names(prob)
    dirs = {}
    for nm, val in tangent.items():
        if nm not in table:
            raise ValueError(f"unknown parameter {nm!r}; learnable: {sorted(table)}")
        try:
            arr = np.asarray(val, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"tangent[{nm!r}] must be an array of numbers") from None
        kind = table[nm]
        want = np.shape(_get(prob, kind))
        if arr.shape != want:
            raise ValueError(f"tangent[{nm!r}] must have shape {want} (like the parameter), "
                             f"got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"tangent[{nm!r}] must be finite")
        dirs[kind] = arr
    return tangents(prob, dirs)


def value_and_grad_forward(prob: Problem, names, loss) -> tuple[float, dict]:
    """The gradient by forward mode: one tangent pass per scalar entry of each parameter."""
    table = parameter_names(prob)
    reads = tuple(loss.reads)
    rec0, _ = tangents(prob, {})
    val, grads = loss.value_and_grad({k: rec0[k] for k in reads})
    out = {}
    for nm in names:
        kind = table[nm]
        shape = np.shape(_get(prob, kind))
        g = np.zeros(shape)
        for idx in np.ndindex(shape):
            e = np.zeros(shape)
            e[idx] = 1.0
            _, tan = tangents(prob, {kind: e})
            g[idx] = sum(float(np.sum(grads[key] * tan[key])) for key in reads
                         if key in grads and key in tan)
        out[nm] = g
    return float(val), out


__all__ = ["jvp", "recordable", "tangents", "value_and_grad_forward"]
