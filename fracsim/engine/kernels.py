"""Model-independent pieces of the event loop: spike queue, Poisson input, recording.

Spike queue: a synapse belongs to a *segment*, the synapses of one source neuron that
share one delay (in steps), stored contiguously in CSR order.  When a neuron spikes at the
end of step n (time t_{n+1}), each of its segments is pushed onto the ring-buffer slot of
its arrival step ``n + 1 + delay``; at the start of a step the slot's segments are
delivered, ``buf[syn_addr[s]] += syn_w[s]``.  A slot can hold at most one segment per
source, so the ring is ``int32[D, N]`` with ``D = max_delay + 2`` and the work per step is
proportional to the spikes and their synapses, never to the total number of synapses.
A slot holds up to ``ring.shape[1]`` segments (initially N); in the rare case of more
arrivals in one step (many distinct delays at very high rates) the ring is doubled.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .rng import next_exponential


@njit(cache=True)
def deliver(n, buf, syn_addr, syn_w, seg_lo, seg_hi, ring, ring_n):
    """Apply all segments arriving at step ``n`` and empty their slot."""
    slot = n % ring.shape[0]
    for q in range(ring_n[slot]):
        seg = ring[slot, q]
        for s in range(seg_lo[seg], seg_hi[seg]):
            buf[syn_addr[s]] += syn_w[s]
    ring_n[slot] = 0


@njit(cache=True)
def grow_ring(ring):
    """Double the capacity of each ring slot (rare; keeps the queued segments)."""
    bigger = np.zeros((ring.shape[0], 2 * ring.shape[1]), dtype=ring.dtype)
    for slot in range(ring.shape[0]):  # explicit loops: slice assignment compiles slowly
        for q in range(ring.shape[1]):
            bigger[slot, q] = ring[slot, q]
    return bigger


@njit(cache=True)
def emit(n, spiked, size, first, rec_spk, spk_step, spk_id, counters, src_seg, seg_delay,
         ring, ring_n):
    """Record the spikes of a population (``spiked[i]`` for local id ``i < size``, global
    id ``first + i``) as occurring at step ``n + 1`` and queue their segments.

    ``spiked`` is the whole scratch (a multiple of 8 long): it is scanned 8 flags at a time.
    Returns the ring (a new, larger one if a slot overflowed).
    """
    depth = ring.shape[0]
    words = spiked.view(np.uint64)
    for wi in range((size + 7) // 8):
        if words[wi] == 0:
            continue
        for i in range(8 * wi, min(8 * wi + 8, size)):
            if not spiked[i]:
                continue
            gid = first + i
            if rec_spk[gid]:
                c = counters[0]
                spk_step[c] = n + 1
                spk_id[c] = gid
                counters[0] = c + 1
            for seg in range(src_seg[gid], src_seg[gid + 1]):
                slot = (n + 1 + seg_delay[seg]) % depth
                if ring_n[slot] == ring.shape[1]:
                    ring = grow_ring(ring)
                ring[slot, ring_n[slot]] = seg
                ring_n[slot] += 1
    return ring


@njit(cache=True)
def poisson_init(pois_next, pois_lam, rng, step0):
    """First event time (in steps, absolute) of each pooled Poisson source."""
    for m in range(pois_next.shape[0]):
        lam = pois_lam[m]
        pois_next[m] = step0 + next_exponential(rng) / lam if lam > 0 else 1e300


@njit(cache=True)
def poisson_events(n, buf, pois_addr, pois_w, pois_lam, pois_next, rng):
    """Deliver the Poisson events falling in step ``n`` ([n, n+1) in step units)."""
    for m in range(pois_next.shape[0]):
        if pois_next[m] < n + 1:
            lam = pois_lam[m]
            t = pois_next[m]
            addr = pois_addr[m]
            w = pois_w[m]
            while t < n + 1:
                buf[addr] += w
                t += next_exponential(rng) / lam
            pois_next[m] = t


@njit(cache=True)
def record_state(n, buf, rec_addr, rec_out, rec_every, rec_base):
    """Sample ``buf[rec_addr]`` into row ``(n - rec_base) // rec_every`` on due steps."""
    off = n - rec_base
    if off % rec_every == 0:
        row = off // rec_every
        for j in range(rec_addr.shape[0]):
            rec_out[row, j] = buf[rec_addr[j]]
