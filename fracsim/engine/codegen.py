"""Generate, cache and import the event loop specialised to a network's structure.

The loop is one Numba function per *structure* (which model kernel each population uses,
which synaptic channels it has, whether there are synapses, Poisson inputs and state
recording): the per-population drive assembly is unrolled so the hot loop has no
dispatch, and everything is written into that one function (a separately compiled helper
costs a compile of its own: this halves the first-call compile).  Its source is written to
a file in the cache directory (``$FRACSIM_CACHE_DIR``, default ``~/.cache/fracsim``) whose
name hashes the source and the fracsim sources it calls, and is imported from there, so
Numba's on-disk cache (``cache=True``) serves later processes: the loop compiles once per
structure and machine.

Spike queue: a synapse belongs to a *segment*, the synapses of one source neuron that
share one delay (in steps), stored contiguously in CSR order.  When a neuron spikes at the
end of step n (time t_{n+1}), each of its segments is pushed onto the ring-buffer slot of
its arrival step ``n + 1 + delay``; at the start of a step the slot's segments are
delivered, ``buf[syn_addr[s]] += syn_w[s]``.  The ring is ``int32[D, W]`` with
``D = max_delay + 2``; a slot holds each segment at most once, so ``W = min(N, number of
segments)`` suffices unless sources have several delays; if a slot fills up (many distinct
delays at very high rates) the loop returns, the runner doubles ``W`` and the loop resumes
where it stopped.  The work per step is proportional to the spikes and their synapses,
never to the total number of synapses.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from functools import cache
from pathlib import Path

from ..fractional import stepper

_PKG = Path(__file__).resolve().parent.parent


@cache
def _package_hash() -> str:
    """Hash of fracsim's Python sources: a change anywhere invalidates generated loops."""
    h = hashlib.sha256()
    for path in sorted(_PKG.rglob("*.py")):
        h.update(path.relative_to(_PKG).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    """Directory holding generated loops (and, beside them, Numba's cache files)."""
    root = os.environ.get("FRACSIM_CACHE_DIR")
    path = Path(root) if root else Path.home() / ".cache" / "fracsim"
    path.mkdir(parents=True, exist_ok=True)
    return path


# Status codes in counters[1] when run_chunk returns early (0: reached step_hi).
SPIKES_FULL, NONFINITE, RING_FULL = 1, 2, 3


def _emit_lines(k: int) -> list[str]:
    """Queue the segments of population ``k``'s spikes of step ``n`` (arrival step
    ``n + 1 + delay``) and record the spikes, from local neuron ``i0`` on; ``spiked`` is
    scanned 8 flags (one uint64 of ``words``) at a time.  If a ring slot is full, the
    neuron's pushes are undone and the loop returns ``RING_FULL`` with the resume point
    in ``counters[4:6]``: the caller doubles the ring and calls again."""
    return [
        f"for wi in range(i0 // 8, (size{k} + 7) // 8):",
        "    if words[wi] == 0:",
        "        continue",
        f"    for i in range(max(8 * wi, i0), min(8 * wi + 8, size{k})):",
        "        if not spiked[i]:",
        "            continue",
        f"        gid = first{k} + i",
        "        for seg in range(src_seg[gid], src_seg[gid + 1]):",
        "            slot = (n + 1 + seg_delay[seg]) % depth",
        "            q = ring_n[slot]",
        "            if q == ring.shape[1]:",
        "                for s2 in range(src_seg[gid], seg):",
        "                    ring_n[(n + 1 + seg_delay[s2]) % depth] -= 1",
        f"                counters[1] = {RING_FULL}",
        f"                counters[4] = {k}",
        "                counters[5] = i",
        "                return n",
        "            ring[slot, q] = seg",
        "            ring_n[slot] = q + 1",
        "        if rec_spk[gid]:",
        "            c = counters[0]",
        "            spk_step[c] = n + 1",
        "            spk_id[c] = gid",
        "            counters[0] = c + 1",
    ]


def _population_lines(k: int, kinds: tuple[str, ...], inputs: tuple[bool, bool],
                      step_lines: list[str], setup: list[str],
                      teardown: list[str]) -> list[str]:
    """The fused per-neuron loop of population ``k``: drive assembly (constant +
    time-varying column + synaptic channels, each channel decaying after use) followed by
    ``step_lines`` (between the per-step ``setup`` and ``teardown``), which advance neuron
    ``i`` with drive ``d`` (``held``: refractory in this step) and set ``s`` (spiked) and
    ``ok`` (new state finite).  A spike makes the neuron refractory until step
    ``n + 1 + round(t_ref / dt)`` (exclusive).  ``inputs = (constant, timed)``: whether the
    population has a constant and a time-varying external current; an absent one is not
    read at all (each array read per neuron and step costs memory bandwidth).  Then the
    spikes are queued and recorded.  When resuming (``resume >= 0``, see
    :func:`_emit_lines`), populations before ``resume`` are done, ``resume`` itself only
    queues its remaining spikes."""
    const, timed = inputs
    chan = []
    for c, kind in enumerate(kinds):
        if kind == "exp":
            chan.append(f"d += g{k}[{c}, i]")
        else:
            chan.append(f"d += g{k}[{c}, i] * (cerev{k}[{c}] - x{k}[0, i])")
        chan.append(f"g{k}[{c}, i] *= cdecay{k}[{c}]")
    update = [f"held = r{k}[i] > nf"] + step_lines + [
        "if s:  # written on spikes only: a store per neuron and step costs bandwidth",
        f"    r{k}[i] = nf + 1.0 + param(par{k}, REF{k}, i)",
        f"sp{k}[i] = s",
        "cnt += s",
        f"bad = min(bad, size{k} if ok else i)",
    ]
    drive = " + ".join([f"iconst{k}[i]"] * const + [f"itime{k}[row, icol{k}[i]]"] * timed)
    body = ["cnt = 0", f"bad = size{k}"] + setup + [f"for i in range(size{k}):"]
    body += ["    " + ln for ln in [f"d = {drive or '0.0'}"] + chan + update]
    body += teardown + [
        f"if bad < size{k}:",
        f"    counters[1] = {NONFINITE}",
        "    counters[2] = n",
        f"    counters[3] = first{k} + bad",
        "    return n",
        "i0 = 0",
    ]
    lines = [f"        # population {k}", f"        if resume < {k}:"]
    lines += ["            " + ln for ln in body]
    lines += ["        else:", "            cnt = 1", "            i0 = i_resume",
              f"        if resume <= {k} and cnt > 0:"]
    lines += ["            " + ln for ln in _emit_lines(k)]
    return lines


def _phase_lines(syn: bool, pois: bool, rec: bool) -> list[str]:
    """Start of step ``n`` (skipped when resuming it): deliver the ring slot's segments,
    ``buf[syn_addr[s]] += syn_w[s]``; the Poisson events in ``[n, n + 1)`` (step units;
    exponential inter-event intervals per pooled source); the state samples due."""
    lines = [
        "        if resume < 0:",
        "            if counters[0] + n_total > spk_step.shape[0]:",
        f"                counters[1] = {SPIKES_FULL}",
        "                return n",
    ]
    if syn:
        lines += [
            "            slot = n % depth",
            "            for q in range(ring_n[slot]):",
            "                seg = ring[slot, q]",
            "                for s in range(seg_lo[seg], seg_hi[seg]):",
            "                    buf[syn_addr[s]] += syn_w[s]",
            "            ring_n[slot] = 0",
        ]
    if pois:
        lines += [
            "            for m in range(pois_next.shape[0]):",
            "                t = pois_next[m]",
            "                if t < n + 1:",
            "                    lam = pois_lam[m]",
            "                    addr = pois_addr[m]",
            "                    w = pois_w[m]",
            "                    while t < n + 1:",
            "                        buf[addr] += w",
            "                        t += next_exponential(rng) / lam",
            "                    pois_next[m] = t",
        ]
    if rec:
        lines += [
            "            off = n - rec_base",
            "            if off % rec_every == 0:",
            "                for j in range(rec_addr.shape[0]):",
            "                    rec_out[off // rec_every, j] = buf[rec_addr[j]]",
        ]
    return lines


def loop_source(signature: tuple) -> str:
    """Python source of ``run_chunk`` for a structure signature ``(features, pops)``:
    ``features = (synapses, poisson, recording)`` says which network-level phases exist
    (an absent one is not generated, which also keeps the compile short), and per
    population ``(kernel_module, (channel kinds...), fractional, (constant, timed))`` with
    ``fractional`` None (the model's integer-order step) or
    ``(scheme, reset, newton_steps, one_group)`` (:mod:`fracsim.fractional.stepper`) and
    ``(constant, timed)`` which external currents the population has.

    Everything the loop does is written into this one function (no separately compiled
    helpers: each costs a compile of its own).  It returns the step reached; a status in
    ``counters[1]`` says why it stopped early (``SPIKES_FULL``, ``NONFINITE``,
    ``RING_FULL``)."""
    (syn, pois, rec), pops = signature
    imports = [
        "import numpy as np",
        "from numba import njit",
        "from fracsim.models.base import param",
    ]
    if pois:
        imports.append("from fracsim.engine.rng import next_exponential")
    args = [
        "step_lo", "step_hi", "dt", "step_base", "buf", "until", "spiked", "words",
        "syn_addr", "syn_w", "seg_lo", "seg_hi", "seg_delay", "src_seg", "ring", "ring_n",
        "pois_addr", "pois_w", "pois_lam", "pois_next", "rng",
        "rec_spk", "spk_step", "spk_id", "rec_addr", "rec_out", "rec_every", "rec_base",
        "counters", "offsets",
    ]
    setup, body = [], []
    for k, (module, kinds, frac, inputs) in enumerate(pops):
        args += [f"par{k}", f"iconst{k}", f"icol{k}", f"itime{k}", f"cdecay{k}", f"cerev{k}"]
        imports.append(f"from {module} import REFRACTORY_ROW as REF{k}")
        if frac is None:
            imports.append(f"from {module} import neuron as neuron{k}")
            step = [f"s, ok = neuron{k}(x{k}, par{k}, i, d, held, dt)"]
            pre, post = [], []
        else:
            imports += [ln for ln in stepper.imports(k, module) if ln not in imports]
            args += [f"{name}{k}" for name in stepper.ARRAYS]
            step = stepper.step_lines(k, *frac)
            pre, post = stepper.step_setup(k), stepper.step_teardown(k)
        setup += [
            f"    first{k} = offsets[{k}, 0]",
            f"    size{k} = offsets[{k}, 1]",
            f"    x{k} = buf[offsets[{k}, 2]:offsets[{k}, 2] + offsets[{k}, 3] * size{k}]"
            f".reshape((offsets[{k}, 3], size{k}))",
            f"    r{k} = until[first{k}:first{k} + size{k}]",
            f"    sp{k} = spiked[:size{k}]",
        ]
        if kinds:
            setup.append(
                f"    g{k} = buf[offsets[{k}, 4]:offsets[{k}, 4] + {len(kinds)} * size{k}]"
                f".reshape(({len(kinds)}, size{k}))"
            )
        body += _population_lines(k, kinds, inputs, step, pre, post)
    head = [
        "",
        "",
        # error_model="numpy": a float division by zero gives inf/nan (caught by the
        # non-finite guard) instead of raising, so loops with divisions vectorise
        '@njit(cache=True, nogil=True, error_model="numpy")',
        f"def run_chunk({', '.join(args)}):",
        "    n_total = until.shape[0]",
        "    depth = ring.shape[0]",
        "    resume = counters[4]  # >= 0: finish queueing step step_lo's spikes from there",
        "    i_resume = counters[5]",
        "    counters[4] = -1",
    ]
    if pois:  # first event of each source, drawn at its first run (pois_next NaN)
        head += [
            "    for m in range(pois_next.shape[0]):",
            "        if pois_next[m] != pois_next[m]:",
            "            lam = pois_lam[m]",
            "            pois_next[m] = (step_lo + next_exponential(rng) / lam if lam > 0 "
            "else 1e300)",
        ]
    loop = ["    for n in range(step_lo, step_hi):"] + _phase_lines(syn, pois, rec) + [
        "        row = n - step_base",
        "        nf = float(n)",
    ]
    tail = ["        resume = -1", "    return step_hi", ""]
    return "\n".join(
        ['"""Generated by fracsim.engine.codegen: do not edit."""', ""] + imports + head
        + setup + loop + body + tail
    )


_LOADED: dict[str, object] = {}


def get_loop(signature: tuple):
    """The compiled ``run_chunk`` for ``signature`` (generated and imported once)."""
    src = loop_source(signature)
    key = hashlib.sha256((src + _package_hash()).encode()).hexdigest()[:20]
    if key in _LOADED:
        return _LOADED[key]
    modname = f"fracsim_loop_{key}"
    path = cache_dir() / f"{modname}.py"
    if not path.exists() or path.read_text() != src:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(src)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    _LOADED[key] = module.run_chunk
    return module.run_chunk
