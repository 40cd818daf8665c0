r"""Source lines of the fractional membrane step, spliced into the generated event loop.

For a population whose membrane obeys ``D^a v = F(v, ...)`` (``F`` from the model's
``rhs``), engine step ``n`` advances ``v_n -> v_{n+1}``.  Increment schemes compute
``q_n = v_{n+1} - v_n`` from ``c_0 q_n + H_n = h^a F`` (``H_n``: see :mod:`.memory`):

* ``"gl"`` (Grünwald–Letnikov, order 1): explicit, ``F`` at ``v_n``.  At ``a = 1`` this
  is forward Euler.
* ``"l1"`` (L1, order ``2 - a`` for smooth solutions): implicit, ``F`` at ``v_{n+1}``,
  solved by Newton steps from the explicit value (one for a model whose ``F`` is linear
  in ``v``, where it is exact; two otherwise).  For a nonlinear ``F`` convergence is
  checked: where the residual before the last correction is above ``NEWTON_RTOL``
  (relative) or the last correction is larger than the one before, the implicit
  equation has no solution near ``v_n`` (for QIF/Izhikevich: the quadratic has no real
  root, ``v`` blows up within the step) and the explicit step is kept, so ``v`` keeps
  rising to the threshold instead of Newton diverging ("pi_trap" likewise).
  At ``a = 1`` this is backward Euler.

The product-integration scheme works on the Volterra form
``v(t) = v_0 + J(t) + 1/Γ(a) ∫_0^t (t-s)^(a-1) F(s) ds`` (``J``: the sum of the reset
jumps and refractory holds, which this form keeps out of the derivative, see "shift"):

* ``"pi_trap"`` (implicit product trapezoidal rule, Garrappa's PI_IT; order 2 for smooth
  solutions, ``1 + a`` in general): with ``F`` piecewise linear and ``m = n + 1`` steps since
  the origin, ``v_{n+1} = base + h^a/Γ(a+2) [a0_m F_0 + t_0 F_{n+1} + sum_{k>=1} t_k F_{n+1-k}]``
  (weights in :mod:`.weights`), ``F_{n+1}`` by two Newton steps.  The history sequence is
  ``F_m`` itself (evaluated after the step, with the post-reset state).  At ``a = 1`` it is
  the trapezoidal rule.  ``F`` jumps at a reset: the node of the spike step stores the
  mean of its values before and after the reset, which at ``a = 1`` gives each of the two
  adjacent intervals its own end value (exact trapezoidal rule across the reset); for
  ``a < 1`` the remaining error decays with the distance to the spike.

The model's other state variables (``u``, ``w``) advance with their integer-order rule
(``aux``).  While refractory ``v`` is held (zero increments; a base shift for "pi_trap").
On a spike the model's reset semantics apply (all equal at ``a = 1``):

* ``"jump"`` (GL, L1): ``v`` is set to the reset value and the jump ``v_reset - v`` is the
  step's increment: it stays in the Caputo history (Teka et al. 2014; pycaputo).  The
  derivative then sees a step of ``v``, whose memory term ``J (t - t_s)^(-a) / Γ(1-a)``
  pulls ``v`` back up: the recovery takes a fixed number of *steps* (``c_1/c_0`` of the jump
  in the first), so for ``a < 1`` spike trains depend on ``dt`` and do not converge as
  ``dt -> 0`` (measured in ``validation/``).  Use it to reproduce those papers at their
  ``dt``; use "shift" or "restart" for results that converge in ``dt``.
* ``"subtract"`` (GL, L1): ``v <- v - (v_th - v_reset)``, keeping the overshoot (the soft
  reset of spikeDE/snnTorch), the subtraction in the history as for "jump".
* ``"shift"`` (all schemes): ``v`` is set to the reset value but the derivative acts on
  ``v`` minus its jumps, ``D^a (v - sum_s J_s H(t - t_s)) = F``: the memory of the past
  dynamics is kept, the reset itself is not remembered as a change of ``v``.  Converges
  as ``dt -> 0``.  The continuous part of the spike step is taken up to the threshold
  (GL, L1: the increment ``v_th - v_n``; pi_trap: ``F`` at ``v_th``): how far a step
  overshoots the threshold, a discretisation artefact that for the QIF and Izhikevich
  models can be large, does not enter the memory.
* ``"restart"`` (all schemes): ``v`` is set to the reset value and the history is
  cleared: the neuron restarts as if the spike time were its initial time.
"""

from __future__ import annotations

SCHEMES = ("gl", "l1", "pi_trap")
RESETS = ("jump", "subtract", "shift", "restart")
#: the reset the engine uses for a model that has none (the conductance neuron): no jump,
#: and the spike step's increment is recorded as it is
NO_RESET = "none"
#: resets that put the jump into the increment history (not defined for "pi_trap")
HISTORY_RESETS = ("jump", "subtract")
NEWTON_STEPS = 2
#: relative residual above which the implicit step is taken to have no solution (the
#: explicit step is kept instead; see the module docstring)
NEWTON_RTOL = 1e-3

#: per-population arrays of a fractional population, in the loop's argument order
ARRAYS = ("fring", "fcoef", "flam", "fbeta", "fmu", "fsoe", "ffirst", "fgrp", "fha",
          "fbase", "ff0", "fa0", "ftail", "fleave", "fhist", "ffar", "ffn0")


def imports(k: int, module: str) -> list[str]:
    """Imports the fractional step of population ``k`` needs."""
    return [
        f"from {module} import rhs as rhs{k}, aux as aux{k}, spike as spike{k}, "
        f"on_spike as on_spike{k}, THRESHOLD_ROW as THR{k}",
        "from fracsim.fractional.memory import history_pass, push, clear, advance",
    ]


def step_setup(k: int) -> list[str]:
    """Lines run once per step before the neuron loop of population ``k``: the history
    term of every neuron at once."""
    return [f"slot{k} = n % fring{k}.shape[0]",
            f"history_pass(n, slot{k}, fring{k}, fcoef{k}, ftail{k}, fgrp{k}, fhist{k}, "
            f"ffar{k}, ffn0{k})"]


def step_teardown(k: int) -> list[str]:
    """Lines run once per step after the neuron loop of population ``k``: advance the
    exponential memory of every neuron at once."""
    return [f"advance(fsoe{k}, flam{k}, fmu{k}, fbeta{k}, ftail{k}, fleave{k}, fgrp{k})"]


def step_lines(k: int, scheme: str, reset: str, newton: int = NEWTON_STEPS,
               one_group: bool = False) -> list[str]:
    """Lines advancing neuron ``i`` of population ``k`` with drive ``d`` (``held``: in its
    refractory period); they set ``s`` and ``ok`` like a model's ``neuron`` function.
    ``newton``: Newton steps of the implicit schemes (1 is exact for a linear ``F``).
    ``one_group``: every neuron has the same order, so the per-order constants are read
    at index 0 (no gather: the neuron loop vectorises)."""
    group = "gi = 0" if one_group else f"gi = fgrp{k}[i]"
    if scheme == "pi_trap":
        return _volterra_lines(k, reset, newton, group)
    lines = [
        group,
        f"v0 = x{k}[0, i]",
        f"hist = fhist{k}[i]",
        f"ha = fha{k}[gi]",
        f"c0 = fcoef{k}[gi, 0]",
        f"f, df = rhs{k}(v0, x{k}, par{k}, i, d)",
        "dv = (ha * f - hist) / c0",
    ]
    if scheme == "l1":
        lines += ["dv_ex = dv",
                  "corr_prev = np.inf",
                  "conv = True",
                  f"for _it in range({newton}):",
                  f"    f, df = rhs{k}(v0 + dv, x{k}, par{k}, i, d)",
                  "    res = c0 * dv - ha * f + hist",
                  "    corr = res / (c0 - ha * df)",
                  "    conv = abs(corr) <= abs(corr_prev)",
                  "    corr_prev = corr",
                  "    dv -= corr"]
        if newton > 1:  # a nonlinear F: did Newton converge?  (the last iterate's residual
            # and a shrinking correction: no extra evaluation of F)
            lines += ["dv = dv if conv and abs(res) <= "
                      f"{NEWTON_RTOL!r} * (abs(c0 * dv) + abs(hist) + 1.0) else dv_ex"]
    lines += [
        "dv = 0.0 if held else dv",
        "v = v0 + dv",
    ] + _spike_lines(k, reset)
    lines.append(f"x{k}[0, i] = v")
    # "shift": the history records the continuous increment, up to the threshold (the
    # overshoot past it within the spike step is a discretisation artefact: kept out of the
    # memory, it cannot make the trajectory depend on how far the step overshot)
    q = {"shift": f"(min(v0 + dv, param(par{k}, THR{k}, i)) - v0) if s else dv",
         "none": "dv"}.get(reset, "v - v0")
    return lines + _store_lines(k, reset, q)


def _store_lines(k: int, reset: str, q: str) -> list[str]:
    """Push the step's history entry ``q`` (or clear the history on a "restart" spike)."""
    push_call = f"push(i, slot{k}, {q}, fring{k}, fleave{k})"
    if reset == "restart":
        return ["if s:",
                f"    clear(i, n, fring{k}, fsoe{k}, ftail{k}, ffirst{k}, fleave{k}, ffar{k})",
                "else:",
                "    " + push_call]
    return [push_call]


def _spike_lines(k: int, reset: str, before_reset: tuple[str, ...] = ()) -> list[str]:
    """Advance the other variables, detect a spike at ``v`` and apply the reset to ``v``
    (running ``before_reset`` first, on a spike)."""
    lines = [
        f"aux{k}(x{k}, par{k}, i, v0, v, d, dt)",
        f"s = spike{k}(v0, v, par{k}, i)",
        "ok = abs(v) < np.inf",
        "if s:",
        *("    " + ln for ln in before_reset),
        f"    vr = on_spike{k}(v, x{k}, par{k}, i)",
    ]
    if reset == "subtract":
        lines.append(f"    v = v - (param(par{k}, THR{k}, i) - vr)")
    else:
        lines.append("    v = vr")
    return lines


def _volterra_lines(k: int, reset: str, newton: int, group: str) -> list[str]:
    """The implicit product-trapezoidal step (see the module docstring)."""
    lines = [
        group,
        f"v0 = x{k}[0, i]",
        f"m = n + 1 - ffirst{k}[i]",
        "if m == 1:  # the neuron's origin (start, or the step after a restart)",
        f"    fbase{k}[i] = v0",
        f"    ff0{k}[i] = rhs{k}(v0, x{k}, par{k}, i, d)[0]",
        f"hist = fhist{k}[i]",
        f"kk = fha{k}[gi]",
        f"c0 = fcoef{k}[gi, 0]",
        f"rest = fbase{k}[i] + kk * (fa0{k}[gi, min(m, fa0{k}.shape[1] - 1)] * ff0{k}[i] + hist)",
        f"f, df = rhs{k}(v0, x{k}, par{k}, i, d)",
        "v = rest + kk * c0 * f",
        "v_ex = v",
        "corr_prev = np.inf",
        "conv = True",
        f"for _it in range({newton}):",
        f"    f, df = rhs{k}(v, x{k}, par{k}, i, d)",
        "    res = v - rest - kk * c0 * f",
        "    corr = res / (1.0 - kk * c0 * df)",
        "    conv = abs(corr) <= abs(corr_prev)",
        "    corr_prev = corr",
        "    v -= corr",
    ]
    if newton > 1:  # as for "l1": keep the explicit value where Newton found no solution
        lines += ["v = v if conv and abs(res) <= "
                  f"{NEWTON_RTOL!r} * (abs(v - v0) + abs(rest - v0) + 1.0) else v_ex"]
    lines += [
        "v_int = v",
        "v = v0 if held else v",
        "f_pre = 0.0",
    ] + _spike_lines(k, reset, (
        f"f_pre = rhs{k}(min(v, param(par{k}, THR{k}, i)), x{k}, par{k}, i, d)[0]",)) + [
        f"fbase{k}[i] += v - v_int  # hold and reset enter as jumps",
        f"x{k}[0, i] = v",
        f"f_new = rhs{k}(v, x{k}, par{k}, i, d)[0]",
        "f_new = 0.5 * (f_new + f_pre) if s else f_new",
    ]
    return lines + _store_lines(k, reset, "f_new")
