"""What every neuron model provides to the engine.

A model is physics only: named parameters (scalars or per-neuron arrays, with units),
named state variables (the membrane potential ``v`` first), and pure per-neuron Numba
functions in its module, which the generated event loop inlines into one fused pass over
the population (drive assembly and update together, so that LLVM vectorises it).  The
engine never looks inside a model; it imports from ``model.kernel_module``:

* ``neuron(x, p, i, d, held, dt) -> (spiked, finite)``: the integer-order step of neuron
  ``i`` from ``t_n`` to ``t_{n+1}`` with the model's own integrator, state updated and reset
  in place; ``finite`` is whether the new state (before any reset) is finite.
* ``rhs(v, x, p, i, d) -> (F, dF/dv)``: the membrane right-hand side in the form
  ``D^a v = F`` at membrane value ``v`` (for the fractional schemes of
  :mod:`fracsim.fractional.stepper`).
* ``aux(x, p, i, v_old, v_new, d, dt)``: advance the other state variables by one step.
* ``spike(v_old, v, p, i) -> bool``: the spike condition of a step from ``v_old`` to ``v``.
* ``on_spike(v, x, p, i) -> v_after``: the spike-triggered update of the other variables;
  returns the membrane value after the reset (``v`` itself for a model without reset).
* ``THRESHOLD_ROW``, ``REFRACTORY_ROW``: rows of the packed parameters holding the spike
  threshold (mV) and the refractory period in steps.

Arguments: ``x`` float64[n_vars, n] the population's state; ``p`` its packed parameters
(``model.pack(n, dt)``, float64[n_rows, n], derived quantities such as decay factors
included so the hot loop does no ``exp``; a tuple of n_rows floats when every neuron has
the same values: kernels read ``param(p, row, i)``, compiled to ``p[row]`` or
``p[row, i]``); ``d`` the drive of the step in the model's input units (the external
current times :meth:`NeuronModel.input_gain`, ``R I`` in mV for LIF-like models, plus the
synaptic terms, already in those units); ``held`` whether the neuron is refractory in
this step (``v`` held, inputs ignored); ``dt`` the step (ms).  Functions are written
without branches (selects instead of ``if``) so that the loop vectorises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numba import types
from numba.extending import overload

from .._validate import bounded

INF = np.inf


def param(p, row, i):
    """Parameter ``row`` of neuron ``i``: ``p[row, i]`` (per-neuron) or ``p[row]`` (shared)."""
    return p[row] if isinstance(p, tuple) else p[row, i]


@overload(param, inline="always")
def _param_overload(p, row, i):
    if isinstance(p, types.BaseTuple):
        return lambda p, row, i: p[row]
    return lambda p, row, i: p[row, i]


def _check_orders(model: str, orders) -> tuple:
    """Validate a multi-term specification ``((c_1, a_1), (c_2, a_2), ...)``."""
    if orders is None:
        return ()
    name = f"{model}.orders"
    try:
        pairs = [tuple(float(x) for x in pair) for pair in orders]
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a sequence of (coefficient, order) pairs, got {orders!r}"
        ) from None
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"{name} must hold at least one (coefficient, order) pair")
    for c, a in pairs:
        if not (np.isfinite(c) and c > 0):
            raise ValueError(f"{name}: every coefficient must be finite and > 0, got {c}")
        if not 0.0 < a <= 1.0:
            raise ValueError(f"{name}: every order must be in (0, 1], got {a}")
    return tuple(pairs)


@dataclass(frozen=True)
class Param:
    """Specification of one model parameter."""

    default: float
    unit: str
    doc: str
    bound: str = "any"  # "positive" | "nonnegative" | "any" | "unit" | "order"


#: the Caputo order of the membrane derivative, a parameter of every model
ALPHA = Param(1.0, "1", "Caputo order of the membrane derivative (1: ordinary ODE)", "order")
#: what a spike does to a fractional membrane's memory (see fracsim.fractional.stepper)
RESETS = ("jump", "subtract", "shift", "restart")


def initial_values(v0, init: dict) -> dict:
    """The initial values a user gave, ``{"v": v0, "<var>": <var>0, ...}`` (``None``: not
    given), from ``v0`` and the ``<var>0=`` keyword arguments of ``init``."""
    given = {"v": v0}
    for key, value in init.items():
        if not key.endswith("0"):
            raise TypeError(f"unexpected argument {key!r} (initial values are '<var>0=')")
        given[key[:-1]] = value
    return given


class NeuronModel:
    """Base class: parameter handling, validation, packing and initial state.

    Every model takes its parameters by keyword (scalars or per-neuron arrays), including
    ``alpha`` (Caputo order of the membrane derivative in (0, 1], default 1), and
    ``reset``, what a spike does to a fractional membrane's memory: ``"shift"`` (default),
    ``"jump"``, ``"subtract"`` or ``"restart"`` (see :mod:`fracsim.fractional.stepper`;
    all four are the same at ``alpha = 1``), and ``orders=((c_1, a_1), (c_2, a_2), ...)``
    for a multi-term membrane ``sum_i c_i D^(a_i) v = F`` in place of ``D^alpha v = F``
    (coefficients > 0, orders in (0, 1]; schemes "gl" and "l1").

    Subclasses set ``name``, ``state_vars``, ``fractional_vars``, ``params`` (a dict of
    :class:`Param`), ``kernel_module`` and implement :meth:`pack` and
    :meth:`default_state`.
    """

    name: ClassVar[str] = "model"
    state_vars: ClassVar[tuple[str, ...]] = ("v",)
    #: state variables that may carry a Caputo derivative of order alpha (fractional issue)
    fractional_vars: ClassVar[tuple[str, ...]] = ("v",)
    params: ClassVar[dict[str, Param]] = {}
    #: False for a model whose spikes do not reset it (the reset semantics do not apply)
    has_reset: ClassVar[bool] = True
    #: pack parameters shared by all neurons as a tuple (in registers); False for models
    #: whose kernels index the rows at run time (a tuple would compile per length)
    shared_params_as_tuple: ClassVar[bool] = True
    #: True if the membrane right-hand side ``F`` is linear in ``v`` (one Newton step
    #: solves the implicit fractional schemes exactly)
    linear_membrane: ClassVar[bool] = False
    #: name of the parameter holding the spike threshold/peak (for plots and analysis)
    threshold_param: ClassVar[str] = "v_th"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "alpha" not in cls.params:
            cls.params = {**cls.params, "alpha": ALPHA}

    def __init__(self, reset: str = "shift", orders=None, **kwargs: Any) -> None:
        if not isinstance(reset, str) or reset not in RESETS:
            raise ValueError(
                f"{type(self).__name__}.reset must be one of {list(RESETS)}, got {reset!r}"
            )
        self.reset = reset
        self.orders = _check_orders(type(self).__name__, orders)
        unknown = set(kwargs) - set(self.params)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unknown parameter(s) {sorted(unknown)}; "
                f"allowed: {sorted(self.params)}"
            )
        values = {}
        for key, spec in self.params.items():
            value = kwargs.get(key, spec.default)
            values[key] = bounded(f"{type(self).__name__}.{key}", value, spec.bound)
        self._values = values
        self.size()  # per-neuron arrays of different lengths: say which, before _check
        if self.orders and np.any(values["alpha"] != 1.0):
            raise ValueError(
                f"{type(self).__name__}: give either alpha or orders (multi-term), not both"
            )
        self._check()

    # -- parameters -------------------------------------------------------------------
    def __getattr__(self, key: str):
        values = self.__dict__.get("_values")
        if values is not None and key in values:
            v = values[key]
            return float(v) if v.ndim == 0 else v
        raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")

    def replace(self, **kwargs: Any) -> NeuronModel:
        """A copy with some parameters changed."""
        merged = {"reset": self.reset, "orders": self.orders or None, **self._values}
        merged.update(kwargs)
        return type(self)(**merged)

    @property
    def is_fractional(self) -> bool:
        """True if some neuron has a membrane order ``alpha < 1`` or the membrane is
        multi-term."""
        return bool(self.orders) or bool(np.any(self._values["alpha"] < 1.0))

    def _check(self) -> None:
        """Cross-parameter checks (override); raise ValueError naming the parameters."""

    def size(self) -> int | None:
        """The per-neuron array length of the parameters, or None if all are scalars."""
        lengths = {k: v.shape[0] for k, v in self._values.items() if v.ndim == 1}
        sizes = set(lengths.values())
        if len(sizes) > 1:
            listing = ", ".join(f"{k}: {m}" for k, m in lengths.items())
            raise ValueError(
                f"{type(self).__name__}: per-neuron parameter arrays have different lengths "
                f"({listing})"
            )
        return sizes.pop() if sizes else None

    def check_size(self, n: int) -> None:
        """Raise if a per-neuron parameter array does not have ``n`` entries."""
        for key, v in self._values.items():
            if v.ndim == 1 and v.shape[0] != n:
                raise ValueError(
                    f"{type(self).__name__}.{key} has {v.shape[0]} entries but the "
                    f"population has {n} neurons"
                )

    def value(self, key: str, n: int) -> np.ndarray:
        """Parameter ``key`` broadcast to ``n`` neurons (float64 copy)."""
        return np.broadcast_to(self._values[key], (n,)).astype(np.float64)

    # -- engine interface -------------------------------------------------------------
    def pack(self, n: int, dt: float) -> np.ndarray:  # pragma: no cover - abstract
        """Packed parameter rows float64[n_rows, n] for the kernel at step ``dt`` (ms)."""
        raise NotImplementedError

    def default_state(self, n: int, given: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Initial values of the state variables not in ``given`` (override if coupled)."""
        return {}

    def initial_state(self, n: int, **given: Any) -> np.ndarray:
        """State float64[n_vars, n] from user-given values (scalars or arrays), else defaults."""
        unknown = set(given) - set(self.state_vars)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} has state variables {list(self.state_vars)}; "
                f"got initial values for {sorted(unknown)}"
            )
        arrays = {k: np.broadcast_to(bounded(f"{k}0", v, "any", n), (n,)).astype(np.float64)
                  for k, v in given.items() if v is not None}
        arrays.update({k: v for k, v in self.default_state(n, arrays).items() if k not in arrays})
        x = np.empty((len(self.state_vars), n))
        for row, var in enumerate(self.state_vars):
            x[row] = arrays[var]
        return x

    def input_gain(self, n: int) -> np.ndarray:
        """Factor turning an external current into the kernel's drive units: ``R`` for
        models with an input resistance (drive ``R I`` in mV), else 1.  Synaptic terms are
        already in drive units and are not scaled."""
        if "R" not in self.params:
            return np.ones(n)
        return self.value("R", n)

    def refractory_steps(self, n: int, dt: float) -> np.ndarray:
        """Refractory period in steps (``round(t_ref / dt)``), zero if the model has none."""
        if "t_ref" not in self.params:
            return np.zeros(n)
        return np.floor(self.value("t_ref", n) / dt + 0.5)

    def __repr__(self) -> str:
        def show(v):
            return f"{float(v):g}" if v.ndim == 0 else f"array[{v.shape[0]}]"

        inner = ", ".join(f"{k}={show(v)}" for k, v in self._values.items())
        if self.reset != "shift":
            inner += f", reset={self.reset!r}"
        if self.orders:
            inner += f", orders={self.orders}"
        return f"{type(self).__name__}({inner})"

    @classmethod
    def describe(cls) -> str:
        """A table of the parameters with defaults and units."""
        lines = [f"{cls.__name__}: state {list(cls.state_vars)}"]
        for k, p in cls.params.items():
            lines.append(f"  {k:10s} = {p.default:<10g} [{p.unit}]  {p.doc}")
        return "\n".join(lines)
