"""Run a compiled network in chunks: inputs, recording buffers, progress, errors."""

from __future__ import annotations

import time
import warnings

import numpy as np

from .._validate import positive_float, positive_int
from ..errors import NonFiniteStateError
from ..fractional.memory import block_end, extend, fill_far
from ..inputs import evaluate
from ..result import Result, SpikeTrains
from .build import compile_network
from .codegen import NONFINITE, RING_FULL, get_loop
from .progress import Progress

_OK = 0


def _as_targets(net, key, value) -> list:
    from ..network import Population, PopulationView

    if value is True or (isinstance(value, str) and value == "all"):
        return list(net.populations)
    items = value if isinstance(value, list | tuple) else [value]
    for item in items:
        if not isinstance(item, Population | PopulationView):
            raise TypeError(
                f"record[{key!r}] must be a population, a view (e.g. E[:10]) or a list of "
                f"them, got {type(item).__name__}"
            )
        if item.population.net is not net:
            raise ValueError(f"record[{key!r}] names a population of another Network")
    return items


def _recording(net, comp, record):
    """Spike flags per neuron, and (var, addresses, global ids) of recorded states."""
    if record is None:
        record = {"spikes": True}
    if not isinstance(record, dict):
        raise TypeError("record must be a dict like {'spikes': [E, I], 'v': E[:10]}")
    rec_spk = np.zeros(comp.n, dtype=np.uint8)
    states = []
    for key, value in record.items():
        targets = _as_targets(net, key, value)
        if key == "spikes":
            for tgt in targets:
                rec_spk[tgt.ids] = 1
            continue
        addrs, ids = [], []
        for tgt in targets:
            pop = tgt.population
            if key not in pop.model.state_vars:
                raise ValueError(
                    f"record: {pop.name} ({pop.model.name}) has no state variable {key!r}; "
                    f"it has {list(pop.model.state_vars)}"
                )
            k = net.populations.index(pop)
            addrs.append(comp.address(k, pop.model.state_vars.index(key), tgt.local))
            ids.append(tgt.ids)
        states.append((key, np.concatenate(addrs), np.concatenate(ids)))
    return rec_spk, states


class CurrentPlan:
    """The external input of one population in drive units (every current multiplied by
    the model's input gain ``R``): ``iconst`` (constant part), ``icol`` (each neuron's
    column; 0 = no time-varying input) and :meth:`rows`, the time-varying columns on a
    time grid (one per distinct set of inputs and gain).  Evaluating by pieces of the grid
    gives the rows of the whole grid."""

    def __init__(self, net, pop):
        gain = pop.model.input_gain(pop.n)
        self.name = pop.name
        self.iconst = np.zeros(pop.n)
        self.specs = []
        self.shared: list[bool] = []  # per spec: one value for all its target neurons
        self.columns: list[tuple[int, int]] = []  # (spec, sub-column or -1)
        per_neuron: list[list[int]] = [[] for _ in range(pop.n)]
        for target, spec in net.currents:
            if target is not pop:
                continue
            if spec.constant is not None:
                np.add.at(self.iconst, spec.local, spec.constant)
                continue
            self.specs.append(spec)
            si = len(self.specs) - 1
            # shared by the target neurons (one column) or one column each; the shape is
            # validated when evaluated (rows)
            self.shared.append(np.ndim(spec.func(np.zeros(1))) < 2)
            if self.shared[-1]:
                self.columns.append((si, -1))
                for i in spec.local:
                    per_neuron[i].append(len(self.columns) - 1)
            else:
                for j, i in enumerate(spec.local):
                    self.columns.append((si, j))
                    per_neuron[i].append(len(self.columns) - 1)
        with np.errstate(over="ignore"):  # an overflow is reported by the loop's guard
            self.iconst *= gain
        self.icol = np.zeros(pop.n, dtype=np.int64)
        combos: dict[tuple, int] = {((), 0.0): 0}
        for i, cols in enumerate(per_neuron):
            key = (tuple(cols), float(gain[i]) if cols else 0.0)
            self.icol[i] = combos.setdefault(key, len(combos))
        self.n_cols = len(combos) if self.columns else 0
        # input column j = column col[j] of the evaluated specs side by side
        width = [1 if sh else spec.local.shape[0]
                 for spec, sh in zip(self.specs, self.shared, strict=True)]
        offs = np.cumsum([0] + width)
        col = np.array([offs[si] + max(j, 0) for si, j in self.columns], dtype=np.int64)
        one = [(c, col[cols[0]], g) for (cols, g), c in combos.items() if len(cols) == 1]
        self._one = tuple(np.array(x) for x in zip(*one, strict=True)) if one else None
        if self._one is not None:  # consecutive columns from consecutive inputs: slices
            c, j, _ = self._one
            if np.all(np.diff(c) == 1) and np.all(np.diff(j) == 1):
                self._one = (slice(c[0], c[-1] + 1), slice(j[0], j[-1] + 1), self._one[2])
        self._many = [(c, col[list(cols)], g) for (cols, g), c in combos.items()
                      if len(cols) > 1]

    def rows(self, t: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``(len(t), n_cols)`` time-varying columns at the times ``t`` (ms), into ``out``
        (its first ``len(t)`` rows) if given."""
        out = (np.zeros((t.shape[0], self.n_cols)) if out is None else out[:t.shape[0]])
        out[:] = 0.0
        if not self.n_cols:
            return out
        vals = []
        for spec, sh in zip(self.specs, self.shared, strict=True):
            v = evaluate(spec, t, f"current into {self.name}")
            if (v.ndim == 1) != sh:
                raise ValueError(f"current into {self.name}: the time-varying current "
                                 f"returned {v.ndim}-D values at some times and "
                                 f"{1 if sh else 2}-D at others")
            vals.append(v[:, None] if v.ndim == 1 else v)
        # the input columns side by side (one spec: the common case, no copy)
        allc = vals[0] if len(vals) == 1 else np.hstack(vals)
        with np.errstate(over="ignore"):
            if self._one is not None:
                c, j, g = self._one
                out[:, c] = allc[:, j] * g
            for c, cols, g in self._many:
                for j in cols:
                    out[:, c] += allc[:, j]
                out[:, c] *= g
        return out


def _currents(net, k, pop, t_grid):
    """Constant part, column map and time-varying columns of one population's input, in
    drive units (:class:`CurrentPlan` on the whole grid)."""
    plan = CurrentPlan(net, pop)
    return plan.iconst, plan.icol, (plan.rows(t_grid) if plan.n_cols else np.zeros((1, 0)))


def run_network(net, t_stop, record, record_every, progress) -> Result:
    """Advance ``net`` by ``t_stop`` ms; see :meth:`fracsim.Network.run`."""
    t_stop = positive_float("t_stop", t_stop)
    every = positive_int("record_every", record_every)
    n_steps = int(round(t_stop / net.dt))
    if n_steps < 1:
        raise ValueError(f"t_stop must be at least one step (dt = {net.dt} ms), got {t_stop}")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    first_run = net._compiled is None
    comp = compile_network(net, n_steps) if first_run else net._compiled
    rec_spk, states = _recording(net, comp, record)
    step0 = comp.step
    t_grid = (step0 + np.arange(n_steps)) * net.dt
    pop_args, inputs = [], []
    for k, (pop, lay) in enumerate(zip(net.populations, comp.pops, strict=True)):
        iconst, icol, itime = _currents(net, k, pop, t_grid)
        pop_args += [lay.params, iconst, icol, itime, lay.chan_decay, lay.chan_erev]
        inputs.append((bool(np.any(iconst != 0.0)), itime.shape[1] > 0))
        if lay.frac is not None:
            _prepare_memory(net, pop, lay, step0 + n_steps)
            pop_args += lay.frac.as_args()
    loop = get_loop(comp.signature(tuple(inputs), bool(states)))
    if first_run:
        net._compiled = comp

    n_samples = -(-n_steps // every)
    rec_addr = (np.concatenate([a for _, a, _ in states]) if states
                else np.zeros(0, dtype=np.int64))
    rec_out = np.zeros((n_samples, rec_addr.shape[0]))
    offsets = np.array([[lay.start, lay.n, lay.state_off, lay.n_vars, lay.chan_off]
                        for lay in comp.pops], dtype=np.int64)
    cap = max(4 * comp.n, 1 << 16)
    spk_step = np.empty(cap, dtype=np.int64)
    spk_id = np.empty(cap, dtype=np.int64)
    # spike count, status, bad step, bad neuron, resume population (-1: none), neuron
    counters = np.array([0, _OK, 0, 0, -1, 0], dtype=np.int64)
    n_max = max(lay.n for lay in comp.pops)
    spiked = np.zeros(-(-n_max // 8) * 8, dtype=np.bool_)
    words = spiked.view(np.uint64)  # scanned 8 flags at a time
    steps_out, ids_out = [], []

    blocked = [lay.frac for lay in comp.pops
               if lay.frac is not None and lay.frac.far.shape[0] > 0]
    bar = Progress(n_steps, net.dt, progress)
    wall0 = time.perf_counter()
    n, chunk, end = step0, min(n_steps, 1000), step0 + n_steps
    try:
        while n < end:
            c0 = time.perf_counter()
            stop = min(end, n + chunk)
            for arr in blocked:  # a full memory's far sums, once per block
                if arr.far_n0[0] != n - n % arr.far.shape[0]:
                    fill_far(arr, n)
                stop = min(stop, block_end(arr, n))
            reached = loop(
                n, stop, net.dt, step0, comp.buf, comp.until, spiked, words,
                comp.syn_addr, comp.syn_w, comp.seg_lo, comp.seg_hi, comp.seg_delay,
                comp.src_seg, comp.ring, comp.ring_n, comp.pois_addr, comp.pois_w,
                comp.pois_lam, comp.pois_next, comp.rng, rec_spk, spk_step, spk_id,
                rec_addr, rec_out, every, step0, counters, offsets, *pop_args,
            )
            status = counters[1]
            if counters[0]:
                steps_out.append(spk_step[:counters[0]].copy())
                ids_out.append(spk_id[:counters[0]].copy())
                counters[0] = 0
            if status == NONFINITE:
                comp.step = int(counters[2])
                _raise_nonfinite(net, comp, int(counters[2]), int(counters[3]))
            if status == RING_FULL:  # rare: more arrivals in one step than a slot holds
                wider = np.zeros((comp.ring.shape[0], 2 * comp.ring.shape[1]), np.int32)
                wider[:, :comp.ring.shape[1]] = comp.ring
                comp.ring = wider
            counters[1] = _OK
            n = int(reached)
            comp.step = n
            bar.update(n - step0)
            spent = time.perf_counter() - c0
            if status == _OK and spent > 0:
                chunk = int(min(max(chunk * min(4.0, 0.25 / spent), 100), 1 << 22))
    finally:
        bar.close()
    wall = time.perf_counter() - wall0
    net.t = comp.step * net.dt

    sp_steps = np.concatenate(steps_out) if steps_out else np.zeros(0, np.int64)
    sp_ids = np.concatenate(ids_out) if ids_out else np.zeros(0, np.int64)
    return Result(
        t=(step0 + np.arange(n_samples) * every) * net.dt,
        state={var: rec_out[:, _cols(states, j)] for j, (var, _, _) in enumerate(states)},
        state_ids={var: ids for var, _, ids in states},
        spikes=SpikeTrains(sp_steps * net.dt, sp_ids),
        populations={p.name: (p.start, p.n) for p in net.populations},
        t_start=step0 * net.dt, t_stop=comp.step * net.dt, dt=net.dt, wall_time=wall,
    )


def _prepare_memory(net, pop, lay, n_total: int) -> None:
    """Make a fractional memory hold a run that ends at step ``n_total``."""
    if n_total <= lay.frac.horizon:
        return
    if pop.memory.kind == "soe":
        warnings.warn(
            f"{pop.name}: the SOE memory was fitted for {lay.frac.horizon} steps; beyond that "
            f"(this run ends at step {n_total}) its kernel error is not checked; give "
            "fs.SOE(tol, t_max=...) the total time to cover",
            RuntimeWarning, stacklevel=4)
    extend(lay.frac, net.scheme, pop.memory, np.unique(pop.model.value("alpha", pop.n)),
           n_total, pop.model.orders, net.dt)
    lay.frac.far_n0[0] = -1  # the kernel grew: the block's far sums are recomputed


def _cols(states, j) -> slice:
    lo = sum(a.shape[0] for _, a, _ in states[:j])
    return slice(lo, lo + states[j][1].shape[0])


def _raise_nonfinite(net, comp, step, neuron):
    for pop in net.populations:
        if pop.start <= neuron < pop.start + pop.n:
            raise NonFiniteStateError(step, step * net.dt, neuron, pop.name, neuron - pop.start)
    raise NonFiniteStateError(step, step * net.dt, neuron, "?", neuron)
