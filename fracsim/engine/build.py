"""Compile a :class:`~fracsim.network.Network` into the flat arrays the loop runs on.

Layout of the one state buffer ``buf`` (float64): for each population, its state rows
``x[n_vars, n]`` then its synaptic channel rows ``g[n_channels, n]``.  Every synapse and
Poisson input is then a single address into ``buf`` plus a weight, whatever its kind:
a delta synapse adds to ``v``, an exponential or conductance synapse to its channel.
Synapses are sorted by (global source id, delay) into *segments* (see
:mod:`fracsim.engine.codegen`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fractional import stepper
from ..fractional.memory import FractionalArrays, build_arrays
from ..synapses import CondSynapse, ExpSynapse
from .rng import seed_state


@dataclass
class PopLayout:
    """Where one population lives in the compiled arrays."""

    name: str
    start: int  # first global neuron id
    n: int
    kernel_module: str  # module with the model's per-neuron functions
    state_off: int
    n_vars: int
    chan_off: int
    channels: list  # [ExpSynapse | CondSynapse], one state row each
    params: np.ndarray | tuple  # packed float64[n_rows, n], or a tuple if all shared
    chan_decay: np.ndarray  # exp(-dt / tau_s) per channel
    chan_erev: np.ndarray  # reversal potential per channel (0 for current channels)
    frac: FractionalArrays | None = None  # memory of a fractional membrane
    frac_spec: tuple | None = None  # (scheme, reset, Newton steps, one order group)


@dataclass
class Compiled:
    """Everything the loop needs, plus the simulation clock ``step``."""

    dt: float
    n: int
    pops: list[PopLayout]
    buf: np.ndarray
    until: np.ndarray  # float64[n]: refractory while the step index is below this
    syn_addr: np.ndarray
    syn_w: np.ndarray
    seg_lo: np.ndarray
    seg_hi: np.ndarray
    seg_delay: np.ndarray
    src_seg: np.ndarray
    ring: np.ndarray
    ring_n: np.ndarray
    pois_addr: np.ndarray
    pois_w: np.ndarray
    pois_lam: np.ndarray
    pois_next: np.ndarray
    rng: np.ndarray
    step: int = 0

    def state_view(self, k: int) -> np.ndarray:
        lay = self.pops[k]
        return self.buf[lay.state_off:lay.state_off + lay.n_vars * lay.n].reshape(
            lay.n_vars, lay.n)

    def address(self, k: int, var_row: int, local: np.ndarray) -> np.ndarray:
        """Addresses in ``buf`` of state row ``var_row`` of neurons ``local`` of pop ``k``."""
        lay = self.pops[k]
        return lay.state_off + var_row * lay.n + local

    def signature(self, inputs: tuple, recording: bool) -> tuple:
        """What the generated loop depends on (not the array sizes or values):
        ``((synapses, poisson, recording), pops)`` (see
        :func:`fracsim.engine.codegen.loop_source`); ``inputs``: per population,
        ``(constant, timed)``: whether it has a constant and a time-varying external
        current in this run; ``recording``: whether state variables are sampled."""
        features = (self.seg_lo.shape[0] > 0, self.pois_lam.shape[0] > 0, recording)
        return features, tuple(
            (lay.kernel_module, tuple(c.kind for c in lay.channels), lay.frac_spec, inp)
            for lay, inp in zip(self.pops, inputs, strict=True)
        )


def _shared_if_uniform(packed: np.ndarray) -> np.ndarray | tuple:
    """Packed rows as a tuple of floats when all neurons share them, else [n_rows, n]."""
    if np.all(packed == packed[:, :1]):
        return tuple(float(v) for v in packed[:, 0])
    return np.ascontiguousarray(packed)


def _channel_index(channels: list, synapse) -> int:
    if synapse not in channels:
        channels.append(synapse)
    return channels.index(synapse)


def compile_network(net, n_steps: int) -> Compiled:
    """Flatten ``net`` (populations, projections, Poisson inputs) into arrays; fractional
    memories are sized for a first run of ``n_steps`` steps."""
    dt = net.dt
    pops = net.populations
    if not pops:
        raise ValueError("the network has no population; add one with net.population(...)")
    index = {id(p): k for k, p in enumerate(pops)}
    # channels needed by each population, in order of first use
    channels: list[list] = [[] for _ in pops]
    for proj in net.projections:
        if isinstance(proj.synapse, ExpSynapse | CondSynapse):
            _channel_index(channels[index[id(proj.dst)]], proj.synapse)
    for inp in net.poisson_inputs:
        if isinstance(inp.synapse, ExpSynapse | CondSynapse):
            _channel_index(channels[index[id(inp.target)]], inp.synapse)

    layouts = []
    off = 0
    for k, pop in enumerate(pops):
        nv = len(pop.model.state_vars)
        chans = channels[k]
        lay = PopLayout(
            name=pop.name, start=pop.start, n=pop.n, kernel_module=pop.model.kernel_module,
            state_off=off, n_vars=nv, chan_off=off + nv * pop.n, channels=chans,
            params=(_shared_if_uniform(pop.model.pack(pop.n, dt))
                    if pop.model.shared_params_as_tuple
                    else np.ascontiguousarray(pop.model.pack(pop.n, dt))),
            chan_decay=np.array([np.exp(-dt / c.tau) for c in chans], dtype=np.float64),
            chan_erev=np.array([getattr(c, "e_rev", 0.0) for c in chans], dtype=np.float64),
        )
        if pop.memory is not None:
            lay.frac = build_arrays(pop.model.value("alpha", pop.n), dt, net.scheme,
                                    pop.memory, n_steps, pop.model.orders)
            newton = 1 if pop.model.linear_membrane else stepper.NEWTON_STEPS
            reset = pop.model.reset if pop.model.has_reset else stepper.NO_RESET
            lay.frac_spec = (net.scheme, reset, newton, lay.frac.coef.shape[0] == 1)
        layouts.append(lay)
        off = lay.chan_off + len(chans) * pop.n
    buf = np.zeros(off)
    for lay, pop in zip(layouts, pops, strict=True):
        buf[lay.state_off:lay.chan_off] = pop.init.ravel()

    def target_address(k, synapse, local):
        lay = layouts[k]
        if synapse == "delta":
            return lay.state_off + local  # row 0 is v
        return lay.chan_off + lay.channels.index(synapse) * lay.n + local

    # synapses -> segments
    n_total = net.n
    if net.projections:
        src = np.concatenate([pr.src.start + pr.pre for pr in net.projections])
        dly = np.concatenate([pr.delay_steps for pr in net.projections])
        addr = np.concatenate([
            target_address(index[id(pr.dst)], pr.synapse, pr.post) for pr in net.projections
        ])
        w = np.concatenate([pr.weight for pr in net.projections])
        # one int64 key (source, delay); a stable radix sort keeps the creation order of
        # the synapses within a segment (deterministic) and is much faster than lexsort;
        # synapses created source by source with one delay are already in order
        key = src * (int(dly.max()) + 1) + dly
        if np.any(key[1:] < key[:-1]):
            order = np.argsort(key, kind="stable")
            src, dly, addr, w = src[order], dly[order], addr[order], w[order]
        new = np.ones(src.shape[0], dtype=bool)
        new[1:] = (src[1:] != src[:-1]) | (dly[1:] != dly[:-1])
        seg_lo = np.flatnonzero(new)
        seg_hi = np.append(seg_lo[1:], src.shape[0])
        seg_src = src[seg_lo]
        seg_delay = dly[seg_lo]
        src_seg = np.searchsorted(seg_src, np.arange(n_total + 1)).astype(np.int64)
        max_delay = int(dly.max())
    else:
        addr = np.zeros(0, np.int64)
        w = np.zeros(0)
        seg_lo = seg_hi = seg_delay = np.zeros(0, np.int64)
        src_seg = np.zeros(n_total + 1, np.int64)
        max_delay = 0
    depth = max_delay + 2
    ring = np.zeros((depth, max(1, min(n_total, seg_lo.shape[0]))), dtype=np.int32)
    ring_n = np.zeros(depth, dtype=np.int64)

    # Poisson inputs: one pooled source per (input, target neuron)
    if net.poisson_inputs:
        p_addr = np.concatenate([
            target_address(index[id(inp.target)], inp.synapse, inp.local)
            for inp in net.poisson_inputs
        ])
        p_w = np.concatenate([np.full(inp.local.shape[0], inp.weight)
                              for inp in net.poisson_inputs])
        p_lam = np.concatenate([inp.rate * inp.n_sources * dt * 1e-3
                                for inp in net.poisson_inputs])
    else:
        p_addr, p_w, p_lam = np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    rng = seed_state(net._engine_seed)
    p_next = np.full(p_lam.shape[0], np.nan)  # first events: drawn by the loop's first run

    return Compiled(
        dt=dt, n=n_total, pops=layouts, buf=buf, until=np.zeros(n_total),
        syn_addr=addr.astype(np.int64), syn_w=w.astype(np.float64),
        seg_lo=seg_lo.astype(np.int64), seg_hi=seg_hi.astype(np.int64),
        seg_delay=seg_delay.astype(np.int64), src_seg=src_seg, ring=ring, ring_n=ring_n,
        pois_addr=p_addr.astype(np.int64), pois_w=p_w, pois_lam=p_lam, pois_next=p_next,
        rng=rng,
    )
