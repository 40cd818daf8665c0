r"""``fs.grad.value_and_grad`` and ``fs.grad.jvp`` for one population of uncoupled neurons.

(``value_and_grad(net, params, loss, t_stop, surrogate=..., relaxed=..., method="adjoint" |
"finite_difference")`` with a :class:`fracsim.Network` differentiates the whole network:
:mod:`fracsim.grad.network`.)

The differentiated simulation is ``fs.simulate(model, t_stop, dt, current, n, scheme=...,
memory=..., v0=..., <var>0=...)`` (:mod:`.trajectory` reproduces its recorded ``v``); the loss
(:mod:`fracsim.grad.loss`) reads the recorded arrays ``{"v": (N, n), <other state>: (N, n),
"spikes": (N, n), "t": (N,)}``, sampled at the start of every step.

Parameter names: every parameter of the model except ``t_ref`` (``"tau"``, ``"v_th"``,
``"v_reset"``, ``"R"``, ``"alpha"``, ``"tau_w"``, ``"a"``, ``"b"``, LNM ``"coef"`` and
``"v_ref"``, conductance ``"<term>_gain"``/``"<term>_offset"``, ``"tau_m"``, ...) and
``"current"`` (the constant input current, scalar or per neuron).  A gradient has the shape of
its parameter: a scalar for a shared parameter (summed over the neurons), ``(n,)`` for a
per-neuron array, ``(degree + 1,)`` for ``coef``.  With ``current=InputLayer(u, W_in, b_in)``
(a time-varying input ``I(t_n) = u[n] W_in + b_in`` through learnable weights) the names
``"W_in"`` (gradient ``(M, n)``) and ``"b_in"`` (``(n,)``) replace ``"current"``.

Methods: ``"adjoint"`` (:mod:`.adjoint`, checkpointed), ``"forward"`` (:mod:`.forward`) and
``"finite_difference"`` (central differences of the same discrete simulation, step
``eps * max(1, |p|)``, refitting the SOE memory for ``alpha``; 2 runs per scalar entry).

Spikes: ``surrogate`` (a :mod:`fracsim.grad.surrogate` object; required for models with a reset)
gives ``ds/dv`` at every step; with ``relaxed=True`` the forward model itself uses the smooth
spike ``s = sigma(v - v_th)`` and the smooth reset ``v <- v - s (v - v_reset)`` (see
:mod:`.model_derivatives` for the history entry of each reset semantics), and all three
methods give the gradient of that smooth model.  The conductance neuron has no reset: with a
loss on its state variables the gradient is exact, with no surrogate.

Supported: ``fs.LIF``, ``fs.AdLIF``, ``fs.LNM`` (``coef=`` form), ``fs.Conductance``; integer
order (the model's own integrator) and fractional ``scheme="gl"``/``"l1"`` with
``FullMemory``, ``SOE`` or ``ShortMemory``; resets "shift" (default), "jump", "subtract";
constant, per-neuron or time-varying currents; refractory periods ``t_ref`` (the engine's
holds: integer order ``v = v_reset``, fractional a zero increment; their onsets are events,
not differentiated).  Refused (ValueError): ``scheme="pi_trap"``, reset "restart",
multi-term ``orders=``, LNM ``factors=``, ``alpha`` as a parameter where the order is 1.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from .._validate import choice, positive_float, positive_int
from ..fractional.memory import SOE, Memory, build_arrays, check_memory
from ..inputs import evaluate, make_current
from ..models.base import NeuronModel, initial_values
from . import surrogate as S
from .alpha import kernel_derivative, soe_derivative
from .loss import Loss
from .model_derivatives import Spec, n_registers, spec_of, theta_of
from .trajectory import Problem, run_primal

METHODS = ("adjoint", "forward", "finite_difference")
SCHEMES = ("gl", "l1")


@dataclasses.dataclass
class Setup:
    """A validated problem plus what is needed to rebuild its memory and map parameters."""

    prob: Problem
    spec: Spec
    model: NeuronModel
    scheme: str
    memory: Memory | None
    alpha: np.ndarray  # (n,)
    current_shape: tuple
    current_constant: bool
    layer: InputLayer | None = None


@dataclasses.dataclass(frozen=True)
class InputLayer:
    r"""A time-varying input through learnable weights: ``I_i(t_n) = sum_m u[n, m] W_in[m, i]
    + b_in[i]``, given as ``current=`` to :func:`value_and_grad` / :func:`jvp`.

    ``u``: ``(N, M)`` input values, row ``n`` used for step ``n`` (from ``t_n`` to
    ``t_{n+1}``), with ``N = round(t_stop / dt)`` exactly; ``W_in``: ``(M, n)``; ``b_in``:
    ``(n,)`` (default zeros).  The simulation is ``fs.simulate(..., current=fs.TimedArray(u @
    W_in + b_in, dt))``; ``"W_in"`` and ``"b_in"`` are learnable, with gradients shaped like
    them: ``dL/dW_in = sum_n u[n]^T g_n`` and ``dL/db_in = sum_n g_n``, ``g_n[i] = R_i
    dL/dd_n[i]`` the adjoint of the drive (accumulated during the backward pass, never stored
    for all steps).
    """

    u: np.ndarray
    W_in: np.ndarray  # noqa: N815
    b_in: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("u", "W_in") + (("b_in",) if self.b_in is not None else ()):
            value = getattr(self, name)
            if isinstance(value, bool | np.bool_):
                raise TypeError(f"InputLayer.{name} must be an array of numbers, got a bool")
            try:
                arr = np.array(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"InputLayer.{name} must be an array of numbers, got "
                                f"{type(value).__name__}") from None
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"InputLayer.{name} must be finite (no NaN or inf)")
            object.__setattr__(self, name, np.ascontiguousarray(arr))
        if self.u.ndim != 2 or self.u.shape[0] == 0 or self.u.shape[1] == 0:
            raise ValueError(f"InputLayer.u must be a 2-D array (steps, inputs) with at least one "
                             f"entry, got shape {self.u.shape}")
        if self.W_in.ndim != 2 or self.W_in.shape[0] != self.u.shape[1]:
            raise ValueError(f"InputLayer.W_in must have shape (M, n) with M = {self.u.shape[1]} "
                             f"(the columns of u), got {self.W_in.shape}")
        n = self.W_in.shape[1]
        if self.b_in is None:
            object.__setattr__(self, "b_in", np.zeros(n))
        elif self.b_in.shape != (n,):
            raise ValueError(f"InputLayer.b_in must have shape ({n},) (one per column of W_in), "
                             f"got {self.b_in.shape}")

    def current(self) -> np.ndarray:
        """The input current ``(N, n)``: ``u @ W_in + b_in``."""
        return self.u @ self.W_in + self.b_in


# ------------------------------------------------------------------------------ validation
def _check_model(model) -> None:
    """Refuse what the differentiable step does not cover."""
    from ..models import LNM

    if not isinstance(model, NeuronModel):
        raise TypeError(f"model must be a fracsim neuron model, got {type(model).__name__}")
    spec_of(model, set())  # TypeError for unsupported models
    if model.orders:
        raise ValueError("model.orders: multi-term membranes are not differentiated yet")
    if model.reset == "restart":
        raise ValueError("model.reset='restart' clears the history at each spike, which is not "
                         "differentiable; use 'shift' (default), 'jump' or 'subtract'")
    if isinstance(model, LNM) and model.factors is not None:
        raise ValueError("LNM.factors: give the polynomial as coef= to differentiate it")


def learnable(model: NeuronModel, current=None) -> list[str]:
    """Names :func:`value_and_grad` accepts for ``model`` (with ``current`` an
    :class:`InputLayer`: also ``"W_in"`` and ``"b_in"``, and not ``"current"``)."""
    spec = spec_of(model, set())
    names = [p for p in spec.names if not p.startswith("coef[")]
    if any(p.startswith("coef[") for p in spec.names):
        names.append("coef")
    if isinstance(current, InputLayer):
        return names + ["W_in", "b_in"]
    return names + ["current"]


LAYER_NAMES = ("W_in", "b_in")


def _check_params(model, params, current=None) -> list[str]:
    if isinstance(params, str) or not isinstance(params, Sequence) or not params:
        raise TypeError(f"params must be a non-empty list of parameter names, got {params!r}")
    allowed = learnable(model, current)
    out = []
    for p in params:
        if not isinstance(p, str):
            raise TypeError(f"params: every entry must be a parameter name (str), got {p!r}")
        if p in LAYER_NAMES and p not in allowed:
            raise ValueError(f"params: {p!r} is a weight of an input layer; give "
                             "current=fs.grad.InputLayer(u, W_in, b_in)")
        if p == "current" and p not in allowed:
            raise ValueError("params: 'current' with an InputLayer current: learn its 'b_in' "
                             "(and 'W_in') instead")
        if p not in allowed:
            raise ValueError(f"params: {type(model).__name__} has no learnable parameter {p!r}; "
                             f"allowed: {allowed}")
        if p in out:
            raise ValueError(f"params: {p!r} is given twice")
        out.append(p)
    return out


def _current(current, n: int, t_grid: np.ndarray):
    """``(Ic (n,), It (N, n) or (0, n), shape of the constant, constant?)``."""
    if isinstance(current, InputLayer):
        if current.W_in.shape[1] != n:
            raise ValueError(f"InputLayer.W_in has {current.W_in.shape[1]} columns but the "
                             f"population has {n} neurons")
        if current.u.shape[0] != t_grid.shape[0]:
            raise ValueError(f"InputLayer.u has {current.u.shape[0]} rows but the run has "
                             f"{t_grid.shape[0]} steps (t_stop / dt); give one row per step")
        return np.zeros(n), np.ascontiguousarray(current.current()), (), False
    local = np.arange(n, dtype=np.int64)
    spec = make_current("current", current, local)
    if spec.constant is not None:
        shape = np.shape(np.asarray(current, dtype=np.float64))
        return spec.constant.copy(), np.zeros((0, n)), shape, True
    val = evaluate(spec, t_grid, "current")
    it = np.ascontiguousarray(np.broadcast_to(val if val.ndim == 2 else val[:, None],
                                              (t_grid.shape[0], n)))
    return np.zeros(n), it, (), False


def _memory_arrays(alpha, dt, scheme, memory, N, need_alpha):
    """Memory arrays (as the engine builds them) and their alpha derivatives."""
    arr = build_arrays(alpha, dt, scheme, memory, N)
    W = arr.coef.shape[1] - 1  # c_0 .. c_W (independent of the ring's layout)
    orders = np.unique(alpha)
    dcoef = np.zeros_like(arr.coef)
    gam = np.zeros_like(arr.lam)
    if need_alpha:
        for g, a in enumerate(orders):
            dcoef[g] = kernel_derivative(scheme, float(a), np.arange(W + 1))
            live = arr.lam[g] > 0
            if np.any(live):
                gam[g, live], _ = soe_derivative(scheme, float(a), W, arr.lam[g, live],
                                                 arr.horizon + 1)
    dha = arr.ha * math.log(dt)
    return dict(W=W, coef=arr.coef, dcoef=dcoef, lam=arr.lam, beta=arr.beta, mu=arr.mu,
                gam=gam, ha=arr.ha, dha=dha, group=arr.group)


def build(model, t_stop, dt=0.1, current=0.0, n=1, *, scheme="l1", memory=None,
          surrogate=None, relaxed=False, checkpoint=None, v0=None, need_alpha=False,
          init=None) -> Setup:
    """Validate everything and build the :class:`Problem` (nothing is run)."""
    _check_model(model)
    n = positive_int("n", n)
    model.check_size(n)
    dt = positive_float("dt", dt)
    t_stop = positive_float("t_stop", t_stop)
    N = int(round(t_stop / dt))
    if N < 1:
        raise ValueError(f"t_stop must be at least one step (dt = {dt} ms), got {t_stop}")
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {list(SCHEMES)} for gradients, got {scheme!r}"
                         + (" (pi_trap is not differentiated yet)" if scheme == "pi_trap"
                            else ""))
    if memory is not None:
        memory = check_memory(memory)
    if not isinstance(relaxed, bool | np.bool_):
        raise TypeError(f"relaxed must be True or False, got {relaxed!r}")
    relaxed = bool(relaxed)
    spec_has_reset = model.has_reset
    if surrogate is not None and not isinstance(surrogate, S.Surrogate):
        raise TypeError("surrogate must be a fracsim.grad.surrogate object (e.g. "
                        f"surrogate.Sigmoid(width=1.0)), got {surrogate!r}")
    if spec_has_reset and surrogate is None:
        raise ValueError(f"surrogate: {type(model).__name__} resets on spikes; give a surrogate "
                         "for dS/dv (e.g. fs.surrogate.Sigmoid(width=1.0))")
    if relaxed and not spec_has_reset:
        raise ValueError(f"relaxed=True: {type(model).__name__} has no reset (its gradient is "
                         "exact without relaxation)")
    if relaxed and surrogate.adaptive:
        raise ValueError("relaxed=True needs a fixed-width surrogate: MPD-AGL's width depends on "
                         "the population and is not differentiated")
    if checkpoint is None:
        C = max(1, math.ceil(math.sqrt(N)))
    else:
        C = positive_int("checkpoint", checkpoint)
    C = min(C, N)
    init = dict(init or {})
    given = initial_values(v0, init)
    x0 = model.initial_state(n, **given)
    given_state = {k for k, v in given.items() if v is not None}
    spec = spec_of(model, given_state)
    t_grid = np.arange(N) * dt
    Ic, It, cshape, cconst = _current(current, n, t_grid)
    if len(cshape) == 1 and cshape[0] != n:
        raise ValueError(f"current has {cshape[0]} entries but the population has {n} neurons")
    alpha = model.value("alpha", n)
    frac = bool(model.is_fractional or memory is not None)
    if frac and memory is None:
        memory = SOE(1e-9)
    if need_alpha:
        if not frac:
            raise ValueError("alpha: the population runs at integer order (alpha = 1 without "
                             "memory=), where alpha has no derivative; use alpha < 1")
        if np.any(alpha >= 1.0):
            raise ValueError("alpha: its derivative is defined for alpha < 1 only (got "
                             f"max alpha = {alpha.max():g})")
    if frac:
        mem = _memory_arrays(alpha, dt, scheme, memory, N, need_alpha)
    else:
        mem = dict(W=1, coef=np.zeros((1, 2)), dcoef=np.zeros((1, 2)), lam=np.zeros((1, 0)),
                   beta=np.zeros((1, 0)), mu=np.zeros((1, 0)), gam=np.zeros((1, 0)),
                   ha=np.ones(1), dha=np.zeros(1), group=np.zeros(n, dtype=np.int64))
    if surrogate is None:
        sk, sp, adaptive, ap = S.KIND_NONE, np.zeros(S.N_PARAMS), False, np.zeros(4)
    else:
        sk, sp = surrogate.kind, np.array(surrogate.params, dtype=np.float64)
        adaptive = bool(surrogate.adaptive)
        ap = np.array(surrogate.params[:3] + surrogate.params[4:5]) if adaptive else np.zeros(4)
    prob = Problem(
        code=spec.code, ints=spec.ints, nz=spec.nz, P=spec.P, frac=frac, l1=scheme == "l1",
        newton=spec.newton, reset=spec.reset, hard=not relaxed, sk=int(sk), sp=sp,
        adaptive=adaptive, adaptive_params=ap, dt=dt, N=N, n=n, th=theta_of(model, spec, n),
        x0=x0, Ic=Ic, It=It, r_slot=spec.r_slot, alpha_slot=spec.alpha_slot,
        thr_slot=spec.thr_slot,
        init_deps=np.array(spec.init_deps, dtype=np.int64).reshape(-1, 2), C=C,
        n_regs=n_registers(spec), nl=spec.nl,
        ref=np.asarray(model.refractory_steps(n, dt)).astype(np.int64), **mem)
    layer = current if isinstance(current, InputLayer) else None
    if layer is not None:
        prob.u = layer.u
    return Setup(prob, spec, model, scheme, memory, alpha, cshape, cconst, layer)


def _check_loss(loss, spec: Spec, model) -> None:
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a fracsim.grad.loss object (e.g. fs.loss.mse(target)), "
                        f"got {type(loss).__name__}")
    allowed = set(spec.state_vars) | {"spikes", "t"}
    for key in loss.reads:
        if key not in allowed:
            raise ValueError(f"loss reads {key!r}, but the recorded arrays are "
                             f"{sorted(allowed)}")
        if key == "spikes" and not model.has_reset:
            raise ValueError(f"loss reads 'spikes': the spikes of {type(model).__name__} (upward "
                             "crossings, no reset) carry no gradient; use its state variables")


# ------------------------------------------------------------------------------- parameters
def _slots(setup: Setup, name: str) -> list[int]:
    if name in ("current", "b_in"):
        return [setup.prob.P]
    if name == "coef":
        return [p for p, s in enumerate(setup.spec.names) if s.startswith("coef[")]
    return [setup.spec.names.index(name)]


def _per_neuron(setup: Setup, name: str) -> bool:
    if name == "b_in":
        return True
    if name == "current":
        return len(setup.current_shape) == 1
    if name == "coef":
        return False
    return setup.model._values[name].ndim == 1


def _check_param_use(setup: Setup, names: list[str]) -> None:
    if "current" in names and not setup.current_constant:
        raise ValueError("current: only a constant current (scalar or per neuron) is a "
                         "learnable parameter; this one varies in time")
    if "tau_f" in names and np.any(setup.model.value("tau_f", setup.prob.n) == 0.0):
        raise ValueError("tau_f: tau_f = 0 (instantaneous fast filter) has no derivative")


def _collect(setup: Setup, names: list[str], gth: np.ndarray,
             gW: np.ndarray | None = None) -> dict[str, np.ndarray]:  # noqa: N803
    out = {}
    for name in names:
        if name == "W_in":
            out[name] = gW.copy()
            continue
        slots = _slots(setup, name)
        if name == "coef":
            out[name] = np.array([gth[s].sum() for s in slots])
        elif _per_neuron(setup, name):
            out[name] = gth[slots[0]].copy()
        else:
            out[name] = np.array(gth[slots[0]].sum())
    return out


# ---------------------------------------------------------------------------------- running
def _recorded(setup: Setup, primal) -> dict[str, np.ndarray]:
    rec = {var: primal.rec_z[:, m, :] for m, var in enumerate(setup.spec.state_vars)}
    rec["spikes"] = primal.rec_s
    rec["t"] = np.arange(setup.prob.N) * setup.prob.dt
    return rec


def _loss_grads(setup: Setup, loss: Loss, rec) -> tuple[float, np.ndarray, np.ndarray]:
    val, g = loss.value_and_grad(rec)
    prob = setup.prob
    gz = np.zeros((prob.N, prob.nz, prob.n))
    gs = np.zeros((prob.N, prob.n))
    for key, arr in g.items():
        arr = np.asarray(arr, dtype=np.float64)
        if key == "spikes":
            gs[:] = arr
        elif key in setup.spec.state_vars:
            gz[:, setup.spec.state_vars.index(key), :] = arr
    return float(val), gz, gs


def _perturbed(setup: Setup, name: str, slot: int, index, delta: float) -> Problem:
    """The problem with parameter ``name`` (slot, neuron ``index`` or all) moved by ``delta``."""
    prob = setup.prob
    if name == "W_in":
        m, i = index
        it = prob.It.copy()
        it[:, i] += delta * prob.u[:, m]
        return dataclasses.replace(prob, It=it)
    cols = slice(None) if index is None else index
    if name in ("current", "b_in"):
        ic = prob.Ic.copy()
        ic[cols] += delta
        return dataclasses.replace(prob, Ic=ic)
    th = prob.th.copy()
    th[slot, cols] += delta
    x0 = prob.x0.copy()
    for row, s in setup.spec.init_deps:
        if s == slot:
            x0[row, cols] = th[slot, cols]
    changes = dict(th=th, x0=x0)
    if name == "alpha":
        alpha = setup.alpha.copy()
        alpha[cols] += delta
        if np.any(alpha > 1.0) or np.any(alpha <= 0.0):
            raise ValueError("alpha: the finite-difference step leaves (0, 1]; use a smaller eps "
                             "or alpha further from 1")
        changes.update(_memory_arrays(alpha, prob.dt, setup.scheme, setup.memory, prob.N,
                                      False))
    return dataclasses.replace(prob, **changes)


def _fd(setup: Setup, loss: Loss, names: list[str], eps: float) -> dict[str, np.ndarray]:
    def value(p: Problem) -> float:
        pr = run_primal(p, checkpoints=False)
        return loss.value(_recorded(dataclasses.replace(setup, prob=p), pr))

    prob = setup.prob
    out = {}
    for name in names:
        if name == "W_in":
            w_in = setup.layer.W_in
            g = np.zeros_like(w_in)
            for m, i in np.ndindex(*w_in.shape):
                h = eps * max(1.0, abs(float(w_in[m, i])))
                lp = value(_perturbed(setup, name, -1, (m, i), h))
                lm = value(_perturbed(setup, name, -1, (m, i), -h))
                g[m, i] = (lp - lm) / (2.0 * h)
            out[name] = g
            continue
        entries = []
        for k, slot in enumerate(_slots(setup, name)):
            if _per_neuron(setup, name):
                idx_list = list(range(prob.n))
            else:
                idx_list = [None]
            for idx in idx_list:
                if name == "b_in":
                    base = setup.layer.b_in
                elif name == "current":
                    base = prob.Ic
                else:
                    base = prob.th[slot]
                x = float(base[0 if idx is None else idx])
                h = eps * max(1.0, abs(x))
                lp = value(_perturbed(setup, name, slot, idx, h))
                lm = value(_perturbed(setup, name, slot, idx, -h))
                entries.append((lp - lm) / (2.0 * h))
            del k
        arr = np.array(entries)
        out[name] = arr if (name == "coef" or _per_neuron(setup, name)) else np.array(arr[0])
    return out


def value_and_grad(model: NeuronModel, params, loss: Loss, t_stop: float, dt: float = 0.1,
                   current=0.0, n: int = 1, *, scheme: str = "l1", memory: Memory | None = None,
                   method: str = "adjoint", surrogate=None, relaxed: bool = False,
                   checkpoint: int | None = None, eps: float = 1e-5, v0=None, **init):
    """Loss of ``fs.simulate(model, t_stop, dt, current, n, scheme=, memory=, v0=, ...)`` and
    its gradient with respect to ``params`` (see the module docstring).

    Args:
        params: list of parameter names (:func:`learnable`).
        loss: a :mod:`fracsim.grad.loss` object reading the recorded arrays.
        method: "adjoint" (default), "forward" or "finite_difference".
        surrogate: spike surrogate (required for models with a reset); relaxed: differentiate
            the smooth relaxed model instead (exact gradients).
        checkpoint: adjoint checkpoint interval in steps (default ``ceil(sqrt(N))``).
        eps: relative step of "finite_difference".

    Returns:
        ``(value, {name: gradient shaped like the parameter})``.
    """
    from ..network import Network

    if isinstance(model, Network):  # a network: the adjoint through synapses and delays
        from . import network

        return network.value_and_grad(model, params, loss, t_stop, method=method,
                                      surrogate=surrogate, relaxed=relaxed, eps=eps)
    choice("method", method, METHODS)
    names = _check_params(model, params, current)
    eps = positive_float("eps", eps)
    setup = build(model, t_stop, dt, current, n, scheme=scheme, memory=memory,
                  surrogate=surrogate, relaxed=relaxed, checkpoint=checkpoint, v0=v0,
                  need_alpha="alpha" in names, init=init)
    _check_loss(loss, setup.spec, model)
    _check_param_use(setup, names)
    prob = setup.prob
    primal = run_primal(prob, checkpoints=method == "adjoint")
    val, gz, gs = _loss_grads(setup, loss, _recorded(setup, primal))
    need_alpha = "alpha" in names
    if method == "finite_difference":
        return val, _fd(setup, loss, names, eps)
    if method == "adjoint":
        from .adjoint import backward

        gth, az, gW = backward(prob, primal, gz, gs, need_alpha, "W_in" in names)
        for row, slot in setup.spec.init_deps:
            gth[slot] += az[row]
    else:
        from .forward import tangents

        nslot = prob.P + 1
        M = prob.u.shape[1] if "W_in" in names else 0
        E = np.zeros((nslot, nslot + M, prob.n))
        for p in range(nslot):
            E[p, p, :] = 1.0
        EW = np.zeros((M, nslot + M, prob.n))
        for m in range(M):
            EW[m, nslot + m, :] = 1.0
        acc, _, _ = tangents(prob, primal.widths, E, gz, gs, need_alpha, EW=EW)
        gth, gW = acc[:nslot], acc[nslot:]
    return val, _collect(setup, names, gth, gW)


def jvp(model: NeuronModel, tangent: Mapping, t_stop: float, dt: float = 0.1, current=0.0,
        n: int = 1, *, scheme: str = "l1", memory: Memory | None = None, surrogate=None,
        relaxed: bool = False, v0=None, **init):
    """Trajectory sensitivity along one parameter direction (forward mode).

    ``tangent``: ``{name: direction}``, each direction shaped like its parameter (a scalar for
    a shared parameter, ``(n,)`` per neuron, ``(degree + 1,)`` for ``coef``).  Returns
    ``(recorded, tangents)``: the recorded arrays (as the loss sees them) and their
    directional derivatives ``{var: (N, n), "spikes": (N, n)}``.
    """
    from ..network import Network

    if isinstance(model, Network):  # forward mode through a network
        from .network_forward import jvp as network_jvp

        return network_jvp(model, tangent, t_stop, surrogate=surrogate, relaxed=relaxed)
    if not isinstance(tangent, Mapping) or not tangent:
        raise TypeError(f"tangent must be a non-empty dict {{name: direction}}, got {tangent!r}")
    names = _check_params(model, list(tangent), current)
    setup = build(model, t_stop, dt, current, n, scheme=scheme, memory=memory,
                  surrogate=surrogate, relaxed=relaxed, v0=v0, need_alpha="alpha" in names,
                  init=init)
    _check_param_use(setup, names)
    prob = setup.prob
    E = np.zeros((prob.P + 1, 1, prob.n))
    EW = np.zeros((prob.u.shape[1] if "W_in" in names else 0, 1, prob.n))
    for name in names:
        slots = _slots(setup, name) if name != "W_in" else []
        try:
            direction = np.asarray(tangent[name], dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"tangent[{name!r}] must be an array of numbers") from None
        if name == "coef":
            want = (len(slots),)
        elif name == "W_in":
            want = setup.layer.W_in.shape
        elif _per_neuron(setup, name):
            want = (prob.n,)
        else:
            want = ()
        if direction.shape != want:
            raise ValueError(f"tangent[{name!r}] must have shape {want} (like the parameter), "
                             f"got {direction.shape}")
        if not np.all(np.isfinite(direction)):
            raise ValueError(f"tangent[{name!r}] must be finite")
        if name == "coef":
            for s, dv in zip(slots, direction, strict=True):
                E[s, 0, :] = dv
        elif name == "W_in":
            EW[:, 0, :] = direction
        else:
            E[slots[0], 0, :] = direction
    primal = run_primal(prob, checkpoints=False)
    zeros_z = np.zeros((prob.N, prob.nz, prob.n))
    zeros_s = np.zeros((prob.N, prob.n))
    from .forward import tangents

    _, tz, ts = tangents(prob, primal.widths, E, zeros_z, zeros_s, "alpha" in names,
                         trajectory=True, EW=EW)
    rec = _recorded(setup, primal)
    tan = {var: tz[:, m, :] for m, var in enumerate(setup.spec.state_vars)}
    tan["spikes"] = ts
    return rec, tan
