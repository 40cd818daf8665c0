r"""Losses on recorded simulation arrays, with their exact gradients.

A loss reads ``recorded``, a dict of float arrays with time on axis 0, e.g.
``{"v": (T, N) mV, "spikes": (T, N) 0/1 or relaxed spikes in [0, 1], "t": (T,) ms}``, and has

- ``value(recorded) -> float``;
- ``grad(recorded) -> {key: array}``: ``dL/d recorded[key]`` (same shape) for each key it reads
  (keys it does not read are absent: zero gradient);
- ``params`` (learnable arrays, e.g. a readout's ``W`` and ``b``; ``{}`` if none) and
  ``param_grad(recorded) -> {name: dL/d param}``;
- ``value_and_grad(recorded) -> (value, grad)`` computing both in one pass.

Definitions (``a = exp(-dt / tau)``, ``T`` steps; sums and means run over all entries):

- ``mse``:          ``L = mean(w * (x - target)^2)`` (mV^2 for ``x = v``),
  ``dL/dx = 2 w (x - target) / x.size``.
- ``readout_mse``:  trace ``r_t = a r_{t-1} + s_t`` (``r_{-1} = 0``), readout ``y_t = r_t W + b``,
  ``L = mean((y - target)^2)``.  With ``e = 2 (y - target) / y.size``:
  ``dL/dW = sum_t r_t^T e_t``, ``dL/db = sum_t e_t``, and ``dL/ds_t = g_t`` where
  ``g_t = e_t W^T + a g_{t+1}`` (``g_T = 0``): the reverse-time filter of ``e W^T``.
- ``spike_count_ce``: counts ``c_k = sum_t s_{t,k}``, logits ``z = scale * c``,
  ``L = mean_b [logsumexp(z_b) - z_{b, label_b}]`` (nats);
  ``dL/ds_{t,b,k} = scale (softmax(z_b)_k - [k = label_b]) / B`` for every ``t``.
- ``van_rossum``:  traces ``f_t = a f_{t-1} + s_t``, ``g_t = a g_{t-1} + u_t`` of the recorded
  and target trains, ``L = D^2 = (dt / tau) sum_{t, n} (f - g)^2``, the squared van Rossum
  distance summed over neurons (dimensionless; one unmatched spike adds about 1/2 for
  ``dt << tau``).  ``dL/ds`` is the reverse-time filter of ``2 (dt / tau) (f - g)``.
- ``custom``:  ``L = fn(*arrays)``, gradient ``grad_fn(*arrays)`` (one array per key in ``on``).

Units: ``tau`` and ``dt`` in ms; a spike is 1 in the step it occurs (not 1/dt).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy.signal import lfilter
from scipy.special import logsumexp, softmax

from .._validate import positive_float

__all__ = [
    "MSE", "Custom", "Loss", "ReadoutMSE", "SpikeCountCE", "VanRossum", "custom", "leaky_trace",
    "mse", "numerical_grad", "readout_mse", "spike_count_ce", "van_rossum",
]

Recorded = Mapping[str, np.ndarray]


def _array(name: str, value) -> np.ndarray:
    """``value`` as a finite float64 array of any shape."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an array of numbers, got a bool")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _key(name: str, value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be the name of a recorded variable (str), got {value!r}")
    return value


def _read(recorded: Recorded, key: str, min_ndim: int = 1) -> np.ndarray:
    if not isinstance(recorded, Mapping):
        raise TypeError(f"recorded must be a dict of arrays, got {type(recorded).__name__}")
    if key not in recorded:
        raise ValueError(f"recorded has no {key!r} (it has {sorted(recorded)})")
    arr = _array(f"recorded[{key!r}]", recorded[key])
    if arr.ndim < min_ndim:
        raise ValueError(
            f"recorded[{key!r}] must have at least {min_ndim} dimension(s) (time first), "
            f"got shape {arr.shape}"
        )
    return arr


def leaky_trace(s: np.ndarray, decay: float) -> np.ndarray:
    """``r_t = decay * r_{t-1} + s_t`` along axis 0, ``r_{-1} = 0``."""
    return lfilter([1.0], [1.0, -decay], s, axis=0)


def _adjoint_trace(e: np.ndarray, decay: float) -> np.ndarray:
    """Transpose of :func:`leaky_trace`: ``g_t = e_t + decay * g_{t+1}``, ``g_T = 0``."""
    return lfilter([1.0], [1.0, -decay], e[::-1], axis=0)[::-1]


def _sum_square(d: np.ndarray) -> float:
    """``sum(d^2)`` without a temporary (one dot product)."""
    flat = np.ascontiguousarray(d).reshape(-1)
    return float(np.dot(flat, flat))


def _mean_square(d: np.ndarray) -> float:
    """``mean(d^2)`` without a temporary (0 for an empty array)."""
    return _sum_square(d) / d.size if d.size else 0.0


def _decay(tau: float, dt: float) -> float:
    return float(np.exp(-dt / tau))


class Loss:
    """Base class of the losses; subclasses implement ``_eval``."""

    reads: tuple[str, ...] = ()

    def _eval(self, recorded: Recorded, need_grad: bool):
        """Return ``(value, {key: dL/dkey}, {param: dL/dparam})``; grads ``None`` if not needed."""
        raise NotImplementedError

    def value(self, recorded: Recorded) -> float:
        """The loss value (float)."""
        return float(self._eval(recorded, False)[0])

    def grad(self, recorded: Recorded) -> dict[str, np.ndarray]:
        """``dL/d recorded[key]`` for every key read (same shapes as the recorded arrays)."""
        return self._eval(recorded, True)[1]

    def value_and_grad(self, recorded: Recorded,
                       overwrite: bool = False) -> tuple[float, dict[str, np.ndarray]]:
        """``(value(recorded), grad(recorded))`` in one pass.  With ``overwrite`` a loss may
        store a gradient in the memory of the recorded array it reads (which is then
        garbage): the simulators' adjoints use this to keep one ``(T, N)`` array instead of
        two."""
        val, g, _ = self._eval(recorded, True)
        return float(val), g

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Learnable arrays of the loss (live references; update them in place)."""
        return {}

    def stepwise(self, shape: tuple) -> Stepwise | None:
        """The loss as a sum over time steps of the one array it reads (of ``shape``,
        time first), evaluated by blocks of steps (:class:`Stepwise`); ``None`` when it is
        not (the default)."""
        return None

    def param_grad(self, recorded: Recorded) -> dict[str, np.ndarray]:
        """``dL/dparam`` for each entry of :attr:`params`."""
        return self._eval(recorded, True)[2]


class Stepwise:
    """A loss ``L = finish(sum over blocks of partial(x[n0:n1], n0))`` of one recorded
    array ``x`` whose gradient rows depend on those rows only (``grad``): simulators
    evaluate it block by block instead of recording ``x`` (used by the network adjoint)."""

    def __init__(self, key: str, partial, finish, grad):
        self.key = key
        self.partial = partial  # (rows, n0) -> float
        self.finish = finish  # float -> float
        self.grad = grad  # (rows, n0, out) -> None: dL/dx of those rows into out


class MSE(Loss):
    """``L = mean(w * (x - target)^2)`` for ``x = recorded[on]``; see :func:`mse`."""

    def __init__(self, target, on: str = "v", weights=None):
        self.on = _key("on", on)
        self.reads = (self.on,)
        self.target = _array("target", target)
        self.weights = None if weights is None else _array("weights", weights)
        if self.weights is not None and np.any(self.weights < 0):
            raise ValueError(f"weights must be >= 0, got min {self.weights.min():g}")

    def _eval(self, recorded, need_grad):
        x = _read(recorded, self.on, 0)
        try:
            d = x - np.broadcast_to(self.target, x.shape)
            w = 1.0 if self.weights is None else np.broadcast_to(self.weights, x.shape)
        except ValueError:
            raise ValueError(
                f"target {self.target.shape} and weights must broadcast to recorded[{self.on!r}] "
                f"of shape {x.shape}"
            ) from None
        val = _mean_square(d) if self.weights is None else (
            float(np.mean(w * d * d)) if x.size else 0.0)
        if not need_grad:
            return val, None, None
        return val, {self.on: 2.0 * w * d / max(x.size, 1)}, {}

    def stepwise(self, shape):
        try:
            tgt = np.broadcast_to(self.target, shape)
            w = None if self.weights is None else np.broadcast_to(self.weights, shape)
        except ValueError:
            return None  # the shape error is raised where the array is read
        size = max(int(np.prod(shape)), 1)

        def partial(x, n0):
            bad = ~np.isfinite(x)
            if bad.any():
                at = np.unravel_index(int(np.flatnonzero(bad)[0]), x.shape)
                raise ValueError(f"recorded[{self.on!r}] is not finite at step {n0 + at[0]}, "
                                 f"index {tuple(int(i) for i in at[1:])}")
            d = x - tgt[n0:n0 + x.shape[0]]
            if w is None:
                return _sum_square(d)
            return float(np.sum(w[n0:n0 + x.shape[0]] * d * d))

        def grad(x, n0, out):
            np.subtract(x, tgt[n0:n0 + x.shape[0]], out=out)
            if w is not None:
                out *= w[n0:n0 + x.shape[0]]
            out *= 2.0 / size

        return Stepwise(self.on, partial, lambda total: total / size, grad)

    def value_and_grad(self, recorded, overwrite=False):
        if not overwrite or self.weights is not None:
            return super().value_and_grad(recorded)
        x = _read(recorded, self.on, 0)
        try:
            tgt = np.broadcast_to(self.target, x.shape)
        except ValueError:
            return super().value_and_grad(recorded)  # raises the shape error
        if not (x.flags.c_contiguous and x.flags.writeable):
            return super().value_and_grad(recorded)
        d = np.subtract(x, tgt, out=x)  # no temporary: d lives in x, then the gradient
        val = _mean_square(d)
        d *= 2.0 / max(x.size, 1)
        return val, {self.on: d}


def mse(target, on: str = "v", weights=None) -> MSE:
    """Mean squared error ``mean(w * (x - target)^2)`` of the recorded variable ``on``.

    ``target`` and ``weights`` (>= 0, default 1) broadcast to ``recorded[on]``, e.g. a
    ``(T, N)`` voltage trace in mV (then L is in mV^2).
    """
    return MSE(target, on=on, weights=weights)


class ReadoutMSE(Loss):
    """MSE of a linear readout of leaky traces; see :func:`readout_mse`."""

    def __init__(self, target, tau: float, W=None, b=None, on: str = "spikes", *, dt: float,
                 n_in: int | None = None):
        self.on = _key("on", on)
        self.reads = (self.on,)
        self.target = _array("target", target)
        if self.target.ndim < 2:
            raise ValueError(f"target must have shape (T, ..., n_out), got {self.target.shape}")
        self.tau = positive_float("tau", tau)
        self.dt = positive_float("dt", dt)
        self.decay = _decay(self.tau, self.dt)
        n_out = self.target.shape[-1]
        self.W = None
        if W is not None:
            self.W = _array("W", W).copy()
            if self.W.ndim != 2 or self.W.shape[1] != n_out:
                raise ValueError(f"W must have shape (n_in, {n_out}), got {self.W.shape}")
        elif n_in is not None:
            self.W = self._default_W(int(n_in), n_out)
        self.b = np.zeros(n_out) if b is None else _array("b", b).copy()
        if self.b.shape != (n_out,):
            raise ValueError(f"b must have shape ({n_out},), got {self.b.shape}")

    @staticmethod
    def _default_W(n_in: int, n_out: int) -> np.ndarray:
        """Group readout: output ``j`` is the mean trace of the neurons ``i % n_out == j``."""
        if n_in < 1:
            raise ValueError(f"n_in must be >= 1, got {n_in}")
        groups = np.arange(n_in) % n_out
        W = (groups[:, None] == np.arange(n_out)[None, :]).astype(np.float64)
        return W / np.maximum(W.sum(axis=0, keepdims=True), 1.0)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """``{"W": W, "b": b}`` (``W`` absent until built when it was left to its default)."""
        return {"b": self.b} if self.W is None else {"W": self.W, "b": self.b}

    def trace(self, recorded: Recorded) -> np.ndarray:
        """The leaky trace ``r`` of ``recorded[on]`` (same shape; spikes -> dimensionless)."""
        return leaky_trace(_read(recorded, self.on, 2), self.decay)

    def predict(self, recorded: Recorded) -> np.ndarray:
        """The readout ``y = r W + b``, shape ``(T, ..., n_out)``."""
        return self._readout(self.trace(recorded))

    def _readout(self, r: np.ndarray) -> np.ndarray:
        if self.W is None:
            self.W = self._default_W(r.shape[-1], self.target.shape[-1])
        if self.W.shape[0] != r.shape[-1]:
            raise ValueError(
                f"W has {self.W.shape[0]} rows but recorded[{self.on!r}] has {r.shape[-1]} neurons"
            )
        return r @ self.W + self.b

    def _eval(self, recorded, need_grad):
        r = self.trace(recorded)
        y = self._readout(r)
        try:
            d = y - np.broadcast_to(self.target, y.shape)
        except ValueError:
            raise ValueError(
                f"target {self.target.shape} must broadcast to the readout {y.shape}"
            ) from None
        val = float(np.mean(d * d))
        if not need_grad:
            return val, None, None
        e = 2.0 * d / d.size
        n_in, n_out = self.W.shape
        gW = r.reshape(-1, n_in).T @ e.reshape(-1, n_out)
        gb = e.reshape(-1, n_out).sum(axis=0)
        gs = _adjoint_trace(e @ self.W.T, self.decay)
        return val, {self.on: gs}, {"W": gW, "b": gb}


def readout_mse(target, tau: float, W=None, b=None, on: str = "spikes", *, dt: float,
                n_in: int | None = None) -> ReadoutMSE:
    """MSE of a learnable linear readout of leaky spike traces.

    ``r_t = exp(-dt/tau) r_{t-1} + s_t`` with ``s = recorded[on]`` of shape ``(T, ..., n_in)``
    (``tau``, ``dt`` in ms), ``y = r W + b`` with ``W`` ``(n_in, n_out)`` and ``b`` ``(n_out,)``,
    ``L = mean((y - target)^2)`` with ``target`` ``(T, ..., n_out)``.  ``W=None``: the group
    readout (output ``j`` = mean trace of neurons ``i % n_out == j``), built from ``n_in`` or
    on first use; ``b=None``: zeros.  ``param_grad`` gives ``dL/dW`` and ``dL/db``.
    """
    return ReadoutMSE(target, tau, W=W, b=b, on=on, dt=dt, n_in=n_in)


class SpikeCountCE(Loss):
    """Softmax cross-entropy of spike counts; see :func:`spike_count_ce`."""

    def __init__(self, labels, on: str = "spikes", scale: float = 1.0):
        self.on = _key("on", on)
        self.reads = (self.on,)
        lab = np.asarray(labels)
        if lab.ndim > 1 or not np.issubdtype(lab.dtype, np.integer):
            raise TypeError(f"labels must be an integer or a 1-D integer array, got {labels!r}")
        if np.any(lab < 0):
            raise ValueError("labels must be >= 0")
        self.labels = lab.astype(np.int64)
        self.scale = positive_float("scale", scale)

    def _eval(self, recorded, need_grad):
        s = _read(recorded, self.on, 2)
        batched = self.labels.ndim == 1
        if batched and (s.ndim != 3 or s.shape[1] != self.labels.shape[0]):
            raise ValueError(
                f"with {self.labels.shape[0]} labels recorded[{self.on!r}] must have shape "
                f"(T, {self.labels.shape[0]}, n_out), got {s.shape}"
            )
        if not batched and s.ndim != 2:
            raise ValueError(
                f"with one label recorded[{self.on!r}] must have shape (T, n_out), got {s.shape}"
            )
        n_out = s.shape[-1]
        if np.any(self.labels >= n_out):
            raise ValueError(f"labels must be < n_out = {n_out}, got max {self.labels.max()}")
        z = self.scale * s.sum(axis=0).reshape(-1, n_out)  # (B, n_out)
        lab = self.labels.reshape(-1)
        rows = np.arange(z.shape[0])
        val = float(np.mean(logsumexp(z, axis=1) - z[rows, lab]))
        if not need_grad:
            return val, None, None
        p = softmax(z, axis=1)
        p[rows, lab] -= 1.0
        gz = self.scale * p / z.shape[0]
        gs = np.broadcast_to(gz.reshape(s.shape[1:]), s.shape).copy()
        return val, {self.on: gs}, {}


def spike_count_ce(labels, on: str = "spikes", scale: float = 1.0) -> SpikeCountCE:
    """Cross-entropy (nats) of ``softmax(scale * spike counts)`` against class ``labels``.

    ``recorded[on]``: ``(T, n_out)`` with an integer ``labels``, or ``(T, B, n_out)`` with
    ``labels`` of shape ``(B,)`` (mean over the batch).  ``scale``: logit per spike.
    """
    return SpikeCountCE(labels, on=on, scale=scale)


class VanRossum(Loss):
    """Squared van Rossum distance; see :func:`van_rossum`."""

    def __init__(self, target_spikes, tau: float, dt: float, on: str = "spikes"):
        self.on = _key("on", on)
        self.reads = (self.on,)
        self.target = _array("target_spikes", target_spikes)
        if self.target.ndim < 1:
            raise ValueError("target_spikes must have time on axis 0")
        self.tau = positive_float("tau", tau)
        self.dt = positive_float("dt", dt)
        self.decay = _decay(self.tau, self.dt)
        self._g = leaky_trace(self.target, self.decay)

    def _eval(self, recorded, need_grad):
        s = _read(recorded, self.on, 1)
        if s.shape != self.target.shape:
            raise ValueError(
                f"recorded[{self.on!r}] has shape {s.shape}, target_spikes {self.target.shape}"
            )
        d = leaky_trace(s, self.decay) - self._g
        c = self.dt / self.tau
        val = float(c * np.sum(d * d))
        if not need_grad:
            return val, None, None
        return val, {self.on: _adjoint_trace(2.0 * c * d, self.decay)}, {}


def van_rossum(target_spikes, tau: float, dt: float, on: str = "spikes") -> VanRossum:
    """Squared van Rossum distance ``(dt/tau) sum (f - g)^2`` between ``recorded[on]`` and
    ``target_spikes`` (same shape, time first), with exponential traces of time constant
    ``tau`` (ms) sampled every ``dt`` (ms); summed over neurons (and batch)."""
    return VanRossum(target_spikes, tau, dt, on=on)


class Custom(Loss):
    """A user loss ``fn(*arrays) -> float`` with ``grad_fn(*arrays)``; see :func:`custom`."""

    def __init__(self, fn: Callable, grad_fn: Callable, on: str | tuple[str, ...] = "v"):
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        if not callable(grad_fn):
            raise TypeError(f"grad_fn must be callable, got {type(grad_fn).__name__}")
        self.fn, self.grad_fn = fn, grad_fn
        self.single = isinstance(on, str)
        keys = (on,) if self.single else tuple(on)
        if not keys:
            raise ValueError("on must name at least one recorded variable")
        self.reads = tuple(_key("on", k) for k in keys)

    def _eval(self, recorded, need_grad):
        arrays = [_read(recorded, k, 0) for k in self.reads]
        val = self.fn(*arrays)
        if np.ndim(val) != 0 or not np.isfinite(val):
            raise ValueError(f"fn must return a finite scalar, got {val!r}")
        if not need_grad:
            return float(val), None, None
        g = self.grad_fn(*arrays)
        gs = (g,) if self.single else tuple(g)
        if len(gs) != len(self.reads):
            raise ValueError(f"grad_fn must return {len(self.reads)} arrays, got {len(gs)}")
        out = {}
        for k, a, gk in zip(self.reads, arrays, gs, strict=True):
            gk = np.asarray(gk, dtype=np.float64)
            if gk.shape != a.shape:
                raise ValueError(
                    f"grad_fn returned shape {gk.shape} for {k!r}, expected {a.shape}"
                )
            out[k] = gk
        return float(val), out, {}


def custom(fn: Callable, grad_fn: Callable, on: str | tuple[str, ...] = "v") -> Custom:
    """A user-supplied loss on NumPy arrays.

    ``on`` is one key (``fn(x) -> float``, ``grad_fn(x) -> array like x``) or a tuple of keys
    (``fn(x1, x2, ...)``, ``grad_fn`` returns a tuple of arrays in the same order).  Check your
    ``grad_fn`` with :func:`numerical_grad`.
    """
    return Custom(fn, grad_fn, on=on)


def numerical_grad(loss: Loss, recorded: Recorded, key: str, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences ``(L(a + eps) - L(a - eps)) / (2 eps)`` entry by entry, for
    ``recorded[key]`` or a learnable ``loss.params[key]`` (O(size) loss evaluations)."""
    eps = positive_float("eps", eps)
    in_params = key not in recorded and key in (loss.params if isinstance(loss, Loss) else {})
    if in_params:
        a, rec = loss.params[key], recorded
    else:
        rec = dict(recorded)
        a = rec[key] = _read(recorded, key, 0).copy()
    g = np.empty(a.shape)
    for i in np.ndindex(a.shape):
        a0 = a[i]
        a[i] = a0 + eps
        lp = loss.value(rec)
        a[i] = a0 - eps
        lm = loss.value(rec)
        a[i] = a0
        g[i] = (lp - lm) / (2.0 * eps)
    return g
