r"""Learnable Neuron Model (LNM): a polynomial membrane (Jahns et al. 2025, arXiv 2510.07341).

    tau D^a v = f_theta(v) + R I(t),    f_theta(v) = sum_{k=0}^{deg} c_k (v - v_ref)^k
    v >= v_th  ->  spike, v <- v_reset, v held at v_reset for t_ref

``deg`` is 1 to 4 and the coefficients ``coef = (c_0, ..., c_deg)`` (``c_k`` in
mV^(1-k), so that ``f_theta`` is in mV) are shared by the whole population: they are the
learnable parameters.  ``f_theta`` is evaluated by Horner's rule in ``u = v - v_ref``.
A quadratic may instead be given in factored form, ``factors = (k, r_1, r_2)`` for
``f_theta(v) = k (v - r_1)(v - r_2)`` (what ``LNM.preset("qif", ...)`` builds), which is
then evaluated in that form.

Integration at integer order (``alpha = 1``):

* degree 1 (``f = c_0 + c_1 u``, linear): exponential Euler, exact for ``R I`` constant
  over a step, ``v_{n+1} = v_inf + (v_n - v_inf) exp(c_1 dt / tau)`` with
  ``v_inf = v_ref - (c_0 + R I_n) / c_1`` (packed as ``v_base + gain R I_n``,
  ``v_base = v_ref - c_0 / c_1``, ``gain = -1 / c_1``).  With the LIF preset
  (``c = (0, -1)``, ``v_ref = v_rest``) these are the very floating-point operations of
  :mod:`fracsim.models.lif`, so the spike trains of ``fs.LIF`` are reproduced exactly.
* degree 2 to 4: forward Euler, ``v_{n+1} = v_n + (dt / tau) (f_theta(v_n) + R I_n)``; in
  factored form ``f = (k (v - r_1)) (v - r_2)`` exactly as in :mod:`fracsim.models.qif`,
  so the QIF preset reproduces ``fs.QIF`` exactly.

At fractional order the schemes of :mod:`fracsim.fractional.stepper` use ``rhs``:
``F = (f_theta(v) + R I) / tau`` and ``dF/dv = f_theta'(v) / tau`` (the degree-1
``F`` is evaluated with the operations of the LIF's ``rhs``).

Fixed points and runaway: without input the neuron rests at the real roots of
``f_theta`` below threshold, stable where ``f_theta' < 0``.  ``v`` cannot run away upwards
(the threshold resets it) but runs away to ``-inf`` from below the lowest root whenever
``f_theta(v) < 0`` as ``v -> -inf`` (odd degree with ``c_deg > 0``, even degree with
``c_deg < 0``): such coefficients are reported in ``model.stability`` and warned about.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from .base import NeuronModel, Param, param

MAX_DEGREE = 4

# packed parameter rows: polynomial in u = v - v_ref (padded with zeros to degree 4), its
# derivative, the factored quadratic, the integrator's constants, threshold/reset/refractory
(_C0, _C1, _C2, _C3, _C4, _G0, _G1, _G2, _G3, _VREF, _FORM, _FK, _FR1, _FR2,
 _DT_TAU, _INV_TAU, _DECAY, _VBASE, _GAIN, _VTH, _VRESET, _REF) = range(22)
_N_ROWS = 22
THRESHOLD_ROW = _VTH
REFRACTORY_ROW = _REF

#: values of the ``_FORM`` row: how ``f_theta`` is evaluated and ``v`` advanced
FORM_POLY, FORM_LINEAR, FORM_FACTORED = 0.0, 1.0, 2.0


@njit(inline="always", cache=True)
def _f_poly(v, p, i):
    """``f_theta(v)`` (mV) and ``f_theta'(v)`` by Horner's rule in ``u = v - v_ref``."""
    u = v - param(p, _VREF, i)
    f = (((param(p, _C4, i) * u + param(p, _C3, i)) * u + param(p, _C2, i)) * u
         + param(p, _C1, i)) * u + param(p, _C0, i)
    g = ((param(p, _G3, i) * u + param(p, _G2, i)) * u + param(p, _G1, i)) * u \
        + param(p, _G0, i)
    return f, g


@njit(inline="always", cache=True)
def neuron(x, p, i, d, held, dt):
    """Integer-order step of neuron ``i`` (exponential Euler for degree 1, else forward
    Euler); returns (spiked, finite)."""
    v0 = x[0, i]
    form = param(p, _FORM, i)
    f = _f_poly(v0, p, i)[0]
    fq = param(p, _FK, i) * (v0 - param(p, _FR1, i)) * (v0 - param(p, _FR2, i))
    f = fq if form == FORM_FACTORED else f
    v_euler = v0 + param(p, _DT_TAU, i) * (f + d)
    v_inf = param(p, _VBASE, i) + param(p, _GAIN, i) * d
    v_exp = v_inf + (v0 - v_inf) * param(p, _DECAY, i)
    v = v_exp if form == FORM_LINEAR else v_euler
    v = param(p, _VRESET, i) if held else v
    s = v >= param(p, _VTH, i)
    x[0, i] = param(p, _VRESET, i) if s else v
    return s, abs(v) < np.inf


@njit(inline="always", cache=True)
def rhs(v, x, p, i, d):
    """``F = (f_theta(v) + d) / tau`` of ``D^a v = F`` and ``dF/dv = f_theta'(v) / tau``."""
    f, g = _f_poly(v, p, i)
    k = param(p, _FK, i)
    a = v - param(p, _FR1, i)
    b = v - param(p, _FR2, i)
    fac = param(p, _FORM, i) == FORM_FACTORED
    f = k * a * b if fac else f
    g = k * (a + b) if fac else g
    inv_tau = param(p, _INV_TAU, i)
    return (f + d) * inv_tau, g * inv_tau


@njit(inline="always", cache=True)
def aux(x, p, i, v_old, v_new, d, dt):
    """Advance the non-membrane state (none for the LNM)."""


@njit(inline="always", cache=True)
def spike(v_old, v, p, i):
    """Spike condition for the fractional schemes: ``v`` at or above threshold."""
    return v >= param(p, _VTH, i)


@njit(inline="always", cache=True)
def on_spike(v, x, p, i):
    """Spike-triggered update of the non-membrane state (none); returns ``v_reset``."""
    return param(p, _VRESET, i)


# --------------------------------------------------------------------------------------
# validation and analysis helpers
# --------------------------------------------------------------------------------------


def _numbers(name: str, value, what: str) -> tuple[float, ...]:
    """``value`` as a tuple of finite floats (a 1-D sequence of real numbers)."""
    try:
        flat = np.ndim(value) == 1
    except ValueError:  # ragged nesting
        flat = False
    if isinstance(value, str | bytes | dict) or not hasattr(value, "__len__") or not flat:
        raise TypeError(f"{name} must be {what}, got {value!r}")
    if not all(isinstance(c, numbers.Real) and not isinstance(c, bool | np.bool_)
               for c in value):
        raise TypeError(f"{name} must be {what}, got {value!r}")
    out = tuple(float(c) for c in value)
    if not all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {out}")
    return out


def _check_coef(coef) -> tuple[float, ...]:
    what = "a sequence of 2 to 5 numbers (c_0, ..., c_deg), polynomial degree 1 to 4"
    c = _numbers("LNM.coef", coef, what)
    if not 2 <= len(c) <= MAX_DEGREE + 1:
        raise ValueError(
            f"LNM.coef must have 2 to 5 entries (degree 1 to 4), got {len(c)}: {c}")
    if c[-1] == 0.0:
        raise ValueError(
            f"LNM.coef: the highest coefficient c_{len(c) - 1} must be non-zero (drop it to "
            f"lower the degree), got {c}")
    return c


def _check_factors(factors) -> tuple[float, float, float]:
    f = _numbers("LNM.factors", factors, "a tuple (k, r_1, r_2) of 3 numbers")
    if len(f) != 3:
        raise ValueError(f"LNM.factors must be (k, r_1, r_2), 3 numbers, got {f}")
    if f[0] == 0.0:
        raise ValueError(f"LNM.factors: k must be non-zero, got {f}")
    return f


def _user_level() -> int:
    """``stacklevel`` pointing a warning issued in ``LNM.__init__`` at the user's code
    (past ``preset``/``from_model``/``replace``)."""
    frame, level = sys._getframe(1), 1  # the frame of LNM.__init__
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


@dataclass(frozen=True)
class Stability:
    """Fixed points of ``tau dv/dt = f_theta(v)`` (no input) below threshold.

    Attributes:
        fixed_points (mV): real roots of ``f_theta`` below the (highest) threshold,
            ascending; multiple roots are listed once.
        slopes: ``f_theta'`` at each fixed point (1; the linearised rate is
            ``slope / tau``).
        stable: per fixed point, ``f_theta' < 0`` (a multiple root counts as not stable).
        diverges_below: True if ``v`` runs away to ``-inf`` from some initial state
            (``f_theta(v) < 0`` as ``v -> -inf``).
        escape_below (mV): ``v`` runs away from every value below this one (the lowest real
            root, else the threshold); NaN if ``diverges_below`` is False.
        summary: the above in one paragraph.
    """

    fixed_points: np.ndarray
    slopes: np.ndarray
    stable: np.ndarray
    diverges_below: bool
    escape_below: float
    summary: str

    def __str__(self) -> str:
        return self.summary


def _stability(df, roots: np.ndarray, leading: float, degree: int, v_th: float,
               coef_text: str) -> Stability:
    """Classify the real ``roots`` (mV, complex allowed) of ``f_theta``, with ``df`` its
    derivative (a callable) and ``leading`` its highest coefficient."""
    scale = 1.0 + (np.max(np.abs(roots)) if roots.size else 0.0)
    real = np.sort(roots[np.abs(roots.imag) <= 1e-7 * scale].real)
    merged: list[list[float]] = []
    for r in real:
        if merged and r - merged[-1][-1] <= 1e-6 * scale:
            merged[-1].append(r)
        else:
            merged.append([r])
    points = np.array([np.mean(m) for m in merged])
    multiple = np.array([len(m) > 1 for m in merged], dtype=bool)
    slopes = np.array([float(df(r)) for r in points])
    stable = (slopes < 0) & ~multiple
    below = points < v_th
    diverges = leading * (-1.0) ** degree < 0  # sign of f_theta as v -> -inf
    escape = (min(points[0], v_th) if points.size else v_th) if diverges else np.nan
    fp, sl, st, mu = points[below], slopes[below], stable[below], multiple[below]
    if fp.size:
        listing = ", ".join(
            f"{v:g} mV ({'marginal' if m else 'stable' if s else 'unstable'})"
            for v, s, m in zip(fp, st, mu, strict=True))
        text = f"fixed points below v_th without input: {listing}"
    else:
        text = "no fixed point below v_th without input"
        if not diverges:
            text += " (f_theta > 0 there: the neuron fires without input)"
    if diverges:
        where = "the lowest fixed point" if points.size and points[0] < v_th else "v_th"
        text += (f"; f_theta -> -inf as v -> -inf: v runs away to -inf from any v below "
                 f"{escape:g} mV ({where})")
    else:
        text += "; v is bounded below (f_theta -> +inf as v -> -inf)"
    return Stability(fp, sl, st, bool(diverges), float(escape),
                     f"LNM {coef_text}: {text}")


# --------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------


class LNM(NeuronModel):
    """Learnable neuron model: ``tau D^a v = f_theta(v) + R I`` with a polynomial
    ``f_theta(v) = sum_k c_k (v - v_ref)^k`` of degree 1 to 4 (see the module docstring).

    Args:
        coef: ``(c_0, c_1, ..., c_deg)``, 2 to 5 finite numbers, ``c_deg != 0``; ``c_k`` in
            mV^(1-k).  Shared by the whole population (the learnable parameters).
            Default ``(0, -1)``: the LIF ``f = -(v - v_ref)``.
        factors: instead of ``coef``, ``(k, r_1, r_2)`` for the quadratic
            ``f_theta = k (v - r_1)(v - r_2)`` (k in 1/mV, r in mV), evaluated in this
            factored form (``coef`` then holds its expansion about ``v_ref``).

    Parameters (scalars or per-neuron arrays, except ``v_ref``):
        tau (ms, ms^alpha if fractional): time constant, > 0.
        v_ref (mV): expansion point of ``f_theta``, a scalar (part of the shared
            ``f_theta``); also the default initial ``v``.
        v_th (mV): spike threshold, must exceed v_reset.
        v_reset (mV): reset potential.
        t_ref (ms): refractory period, >= 0 (rounded to whole steps).
        R (MOhm): input resistance (``R I`` in mV).

    State: ``v`` (mV).  ``model.stability`` (:class:`Stability`) describes the fixed points
    without input and whether ``v`` can run away to ``-inf`` (then a RuntimeWarning is
    issued at construction).  ``LNM.preset("lif" | "qif", ...)`` and
    ``LNM.from_model(fs.LIF(...) | fs.QIF(...))`` reproduce those models exactly.
    """

    name = "LNM"
    linear_membrane = False  # per instance: True for degree 1 (set in __init__)
    state_vars = ("v",)
    fractional_vars = ("v",)
    kernel_module = "fracsim.models.lnm"
    params = {
        "tau": Param(10.0, "ms", "time constant", "positive"),
        "v_ref": Param(-65.0, "mV", "expansion point of f_theta (shared scalar)"),
        "v_th": Param(-50.0, "mV", "spike threshold"),
        "v_reset": Param(-65.0, "mV", "reset potential"),
        "t_ref": Param(0.0, "ms", "refractory period", "nonnegative"),
        "R": Param(1.0, "MOhm", "input resistance (R*I in mV)", "positive"),
    }

    def __init__(self, coef=None, *, factors=None, reset: str = "shift", orders=None,
                 **kwargs: Any) -> None:
        if coef is not None and factors is not None:
            raise ValueError("LNM: give either coef or factors, not both")
        self.factors = None if factors is None else _check_factors(factors)
        if factors is None:
            self.coef = _check_coef((0.0, -1.0) if coef is None else coef)
        super().__init__(reset=reset, orders=orders, **kwargs)
        if self.factors is not None:
            k, r1, r2 = self.factors
            a, b = self.v_ref - r1, self.v_ref - r2
            self.coef = (k * a * b + 0.0, k * (a + b), k)  # + 0.0: no -0.0
        #: one Newton step solves the implicit schemes exactly only for a linear f_theta
        self.linear_membrane = self.degree == 1
        self.stability = self._analyse()
        if self.stability.diverges_below:
            warnings.warn(self.stability.summary, RuntimeWarning, stacklevel=_user_level())

    def _check(self) -> None:
        v = self._values
        if v["v_ref"].ndim != 0:
            raise ValueError(
                "LNM.v_ref must be a scalar: f_theta (v_ref included) is shared by the "
                "population")
        if np.any(v["v_th"] <= v["v_reset"]):
            raise ValueError("LNM.v_th must be greater than LNM.v_reset")

    # -- the polynomial ---------------------------------------------------------------
    @property
    def degree(self) -> int:
        """Degree of ``f_theta`` (1 to 4)."""
        return len(self.coef) - 1

    def f_theta(self, v) -> np.ndarray:
        """``f_theta(v)`` (mV) at membrane values ``v`` (mV), as the kernels evaluate it."""
        v = np.asarray(v, dtype=np.float64)
        if self.factors is not None:
            k, r1, r2 = self.factors
            return k * (v - r1) * (v - r2)
        u = v - self.v_ref
        f = np.zeros_like(u)
        for c in self.coef[::-1]:
            f = f * u + c
        return f

    def df_theta(self, v) -> np.ndarray:
        """``f_theta'(v)`` (dimensionless) at ``v`` (mV)."""
        v = np.asarray(v, dtype=np.float64)
        if self.factors is not None:
            k, r1, r2 = self.factors
            return k * ((v - r1) + (v - r2))
        u = v - self.v_ref
        g = np.zeros_like(u)
        for j in range(self.degree, 0, -1):
            g = g * u + j * self.coef[j]
        return g

    def steady_state_iv(self, v) -> np.ndarray:
        """Steady-state I-V curve: the constant current ``I(v) = -f_theta(v) / R`` that holds
        the membrane at ``v`` (mV).  Shape of ``v``, with a trailing neuron axis if ``R`` is
        per-neuron."""
        f = self.f_theta(v)
        r = self._values["R"]
        return -f / r if r.ndim == 0 else -f[..., None] / r

    def _analyse(self) -> Stability:
        if self.factors is not None:
            roots = np.array(self.factors[1:], dtype=np.complex128)
        else:
            roots = np.roots(self.coef[::-1]) + self.v_ref
        return _stability(self.df_theta, roots, self.coef[-1], self.degree,
                          float(np.max(self._values["v_th"])), self._coef_text())

    def _coef_text(self) -> str:
        if self.factors is not None:
            return f"factors={_fmt(self.factors)}"
        return f"coef={_fmt(self.coef)}, v_ref={self.v_ref:g}"

    # -- constructors -----------------------------------------------------------------
    def replace(self, **kwargs: Any) -> LNM:
        """A copy with some parameters (or ``coef``/``factors``) changed."""
        merged: dict[str, Any] = {"reset": self.reset, "orders": self.orders or None,
                                  **self._values}
        if "coef" not in kwargs and "factors" not in kwargs:
            merged.update({"factors": self.factors} if self.factors is not None
                          else {"coef": self.coef})
        merged.update(kwargs)
        return type(self)(**merged)

    @classmethod
    def preset(cls, name: str, **kwargs: Any) -> LNM:
        """An LNM equal to a classic model, with that model's parameters and defaults.

        * ``"lif"`` (``tau, v_rest, v_th, v_reset, t_ref, R``): degree 1,
          ``f_theta = -(v - v_rest)``, ``v_ref = v_rest``; same spikes as ``fs.LIF``.
        * ``"qif"`` (``tau, k, v_rest, v_c, v_peak, v_reset, t_ref, R``): degree 2 in
          factored form, ``f_theta = k (v - v_rest)(v - v_c)``, ``v_ref = v_rest``,
          ``v_th = v_peak``; same spikes as ``fs.QIF``.

        ``alpha``, ``reset`` and ``orders`` are passed on as well.  The parameters that
        define ``f_theta`` (``v_rest``; ``k``, ``v_c``) must be scalars.
        """
        from .lif import LIF
        from .qif import QIF

        presets = {"lif": LIF, "qif": QIF}
        if not isinstance(name, str) or name not in presets:
            raise ValueError(f"LNM.preset: name must be one of {sorted(presets)}, got {name!r}")
        try:
            model = presets[name](**kwargs)
        except (TypeError, ValueError) as err:
            raise type(err)(f"LNM.preset({name!r}): {err}") from None
        return cls.from_model(model)

    @classmethod
    def from_model(cls, model: NeuronModel) -> LNM:
        """The LNM equal to an ``fs.LIF`` or ``fs.QIF`` (see :meth:`preset`)."""
        from .lif import LIF
        from .qif import QIF

        if type(model) not in (LIF, QIF):
            raise TypeError(
                f"LNM.from_model: model must be an fs.LIF or fs.QIF, got "
                f"{type(model).__name__}")
        v = model._values
        common = {"reset": model.reset, "orders": model.orders or None, "tau": v["tau"],
                  "v_reset": v["v_reset"], "t_ref": v["t_ref"], "R": v["R"],
                  "alpha": v["alpha"], "v_ref": v["v_rest"]}
        shared = ("v_rest",) if type(model) is LIF else ("k", "v_rest", "v_c")
        for key in shared:
            if v[key].ndim != 0:
                raise ValueError(
                    f"LNM.from_model: {model.name}.{key} must be a scalar (f_theta is shared "
                    f"by the population), got a per-neuron array")
        if type(model) is LIF:
            return cls(coef=(0.0, -1.0), v_th=v["v_th"], **common)
        return cls(factors=(float(v["k"]), float(v["v_rest"]), float(v["v_c"])),
                   v_th=v["v_peak"], **common)

    # -- engine interface -------------------------------------------------------------
    def pack(self, n: int, dt: float) -> np.ndarray:
        p = np.zeros((_N_ROWS, n))
        c = self.coef
        for k, ck in enumerate(c):
            p[_C0 + k] = ck
        for j in range(1, len(c)):
            p[_G0 + j - 1] = j * c[j]
        p[_VREF] = self.v_ref
        tau = self.value("tau", n)
        p[_DT_TAU] = dt / tau
        p[_INV_TAU] = 1.0 / tau
        if self.factors is not None:
            p[_FORM] = FORM_FACTORED
            p[_FK], p[_FR1], p[_FR2] = self.factors
        elif self.degree == 1:
            # exponential Euler: v_inf = v_ref - (c_0 + d) / c_1, written so that the LIF
            # (c = (0, -1)) gets v_base = v_rest, gain = 1, decay = exp(-dt / tau) exactly
            p[_FORM] = FORM_LINEAR
            p[_DECAY] = np.exp(c[1] * dt / tau)
            p[_VBASE] = self.v_ref - c[0] / c[1]
            p[_GAIN] = -1.0 / c[1]
        else:
            p[_FORM] = FORM_POLY
        p[_VTH] = self.value("v_th", n)
        p[_VRESET] = self.value("v_reset", n)
        p[_REF] = self.refractory_steps(n, dt)
        return p

    def default_state(self, n, given):
        return {"v": np.full(n, self.v_ref)}

    # -- display ----------------------------------------------------------------------
    def __repr__(self) -> str:
        inner = super().__repr__()[len(type(self).__name__) + 1:]
        shown = (f"factors={_fmt(self.factors)}" if self.factors is not None
                 else f"coef={_fmt(self.coef)}")
        return f"{type(self).__name__}({shown}, {inner}"

    @classmethod
    def describe(cls) -> str:
        lines = super().describe().split("\n")
        lines.insert(1, "  coef       = (0, -1)     [mV^(1-k)]  c_0..c_deg of f_theta "
                        "(shared; degree 1 to 4)")
        return "\n".join(lines)
