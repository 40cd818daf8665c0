"""Generate, cache and import the event loop specialised to a network's structure.

The loop is one Numba function per *structure* (which model kernel each population uses,
which synaptic channels it has): the per-population drive assembly is unrolled so the hot
loop has no dispatch.  Its source is written to a file in the cache directory
(``$FRACSIM_CACHE_DIR``, default ``~/.cache/fracsim``) whose name hashes the source and the
fracsim sources it calls, and is imported from there, so Numba's on-disk cache
(``cache=True``) serves later processes: the loop compiles once per structure and machine.
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
    read at all (each array read per neuron and step costs memory bandwidth)."""
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
    lines = [f"        # population {k}", "        cnt = 0", f"        bad = size{k}"]
    lines += ["        " + ln for ln in setup]
    lines.append(f"        for i in range(size{k}):")
    lines += ["            " + ln for ln in [f"d = {drive or '0.0'}"] + chan + update]
    lines += ["        " + ln for ln in teardown]
    lines += [
        f"        if bad < size{k}:",
        "            counters[1] = 2",
        "            counters[2] = n",
        f"            counters[3] = first{k} + bad",
        "            return n, ring",
        "        if cnt > 0:",
        f"            ring = emit(n, spiked, size{k}, first{k}, rec_spk, spk_step, spk_id, "
        "counters, src_seg, seg_delay, ring, ring_n)",
    ]
    return lines


def loop_source(signature: tuple) -> str:
    """Python source of ``run_chunk`` for a structure signature: per population
    ``(kernel_module, (channel kinds...), fractional, (constant, timed))`` with
    ``fractional`` None (the model's integer-order step) or
    ``(scheme, reset, newton_steps, one_group)`` (:mod:`fracsim.fractional.stepper`) and
    ``(constant, timed)`` which external currents the population has."""
    imports = [
        "import numpy as np",
        "from numba import njit",
        "from fracsim.engine.kernels import deliver, emit, poisson_events, record_state",
        "from fracsim.models.base import param",
    ]
    args = [
        "step_lo", "step_hi", "dt", "step_base", "buf", "until", "spiked",
        "syn_addr", "syn_w", "seg_lo", "seg_hi", "seg_delay", "src_seg", "ring", "ring_n",
        "pois_addr", "pois_w", "pois_lam", "pois_next", "rng",
        "rec_spk", "spk_step", "spk_id", "rec_addr", "rec_out", "rec_every", "rec_base",
        "counters", "offsets",
    ]
    setup, body = [], []
    for k, (module, kinds, frac, inputs) in enumerate(signature):
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
        "    has_syn = seg_lo.shape[0] > 0",
        "    has_pois = pois_lam.shape[0] > 0",
        "    has_rec = rec_addr.shape[0] > 0",
    ]
    loop = [
        "    for n in range(step_lo, step_hi):",
        "        if counters[0] + n_total > spk_step.shape[0]:",
        "            counters[1] = 1",
        "            return n, ring",
        "        if has_syn:",
        "            deliver(n, buf, syn_addr, syn_w, seg_lo, seg_hi, ring, ring_n)",
        "        if has_pois:",
        "            poisson_events(n, buf, pois_addr, pois_w, pois_lam, pois_next, rng)",
        "        if has_rec:",
        "            record_state(n, buf, rec_addr, rec_out, rec_every, rec_base)",
        "        row = n - step_base",
        "        nf = float(n)",
    ]
    tail = ["    return step_hi, ring", ""]
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
