"""``fracsim demo``: every promised figure is written and is a real image, and summary.txt
reports the numbers and labels of what was simulated (cross-checked against independent
runs where they are cheap).  The demo runs once, with ``quick=True`` (shorter E/I network
runs, coarser regime maps; every part and figure still goes through the same code), once
per session even with pytest-xdist."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

import fracsim as fs
from fracsim import demo
from fracsim.analysis import REGIMES


def _run_once(root: Path) -> Path:
    """Run the quick demo into ``root/demo`` once per test session: under pytest-xdist the
    first worker to create the lock file runs it, the others wait for its 'done' marker."""
    out = root / "demo"
    done, failed = root / "demo.done", root / "demo.failed"
    try:
        os.close(os.open(root / "demo.lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        deadline = time.monotonic() + 900
        while not (done.exists() or failed.exists()):
            if time.monotonic() > deadline:
                pytest.fail("timed out waiting for another worker's demo run")
            time.sleep(0.2)
        if failed.exists():
            pytest.fail(f"the demo failed in another worker: {failed.read_text()}")
        return out
    try:
        returned = demo.run_demo(out, quiet=True, quick=True)
    except BaseException as err:
        failed.write_text(repr(err))
        raise
    done.touch()
    assert returned == out.resolve()
    return out


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory):
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this session
    return _run_once(root)


@pytest.fixture(scope="session")
def summary(demo_out):
    return (demo_out / "summary.txt").read_text()


def section(summary: str, header: str) -> list[str]:
    """The indented lines of the summary section whose header starts with ``header``."""
    blocks = [b.splitlines() for b in summary.split("\n\n")]
    found = [b for b in blocks if b and b[0].startswith(header)]
    assert len(found) == 1, f"no single section {header!r} in summary.txt:\n{summary}"
    return found[0][1:]


def test_every_promised_figure_is_written_and_nothing_else(demo_out):
    assert len(demo.FIGURES) == 8
    assert sorted(p.name for p in demo_out.glob("*.png")) == sorted(demo.FIGURES)


@pytest.mark.parametrize("name", demo.FIGURES)
def test_figure_is_a_non_trivial_image(demo_out, name):
    import matplotlib.image as mpimg

    img = mpimg.imread(demo_out / name)
    assert img.ndim == 3 and img.shape[0] >= 350 and img.shape[1] >= 600, img.shape
    rgb = img[..., :3].reshape(-1, 3)
    # a blank or nearly empty canvas has a handful of colours and almost no variance
    code = (rgb * 255).astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    assert np.unique(code).size > 200
    assert float(rgb.std()) > 0.05
    # drawn content covers a good part of the canvas (not just a title on white)
    assert float(np.mean(rgb.min(axis=1) < 0.9)) > 0.03


def test_summary_lists_every_part_with_its_wall_time(summary):
    assert summary.startswith("fracsim demo summary (quick")
    for name in demo.FIGURES:
        assert name in summary, name
    assert len(re.findall(r"^  wall time \d+\.\d+ s$", summary, re.M)) == 3
    assert re.search(r"^total wall time \d+\.\d s$", summary, re.M)


def test_summary_izhikevich_patterns(summary):
    lines = section(summary, "Izhikevich (2004) firing patterns")
    counts = dict(re.match(r"  (\w+)\s+(\d+) spikes in", ln).groups() for ln in lines)
    assert sorted(counts) == sorted(demo.PATTERN_TITLES)
    assert int(counts["phasic_spiking"]) == 1 and int(counts["tonic_bursting"]) > 10


def test_summary_e_i_network_ran_for_the_quick_duration(summary):
    lines = section(summary, "E/I network (")
    assert f"run of {demo.QUICK_EI_T_STOP:g} ms" in lines[0]
    rate_e = float(re.search(r"rate E (\d+\.\d+) Hz", lines[1]).group(1))
    assert rate_e > 0
    frac = section(summary, "E/I network with fractional")
    assert [float(re.search(r"alpha_E =\s*([\d.]+)", ln).group(1)) for ln in frac] == list(
        demo.FRACTIONAL_ALPHAS)


def parse_fractional(summary):
    lines = section(summary, "Izhikevich patterns with a fractional membrane")
    rows = {}
    for ln in lines[:-1]:
        m = re.fullmatch(r"  (\w+)\s+alpha = ([\d.]+)\s*:\s+(\d+) spikes, (\w+)", ln)
        assert m, ln
        rows[m.group(1), float(m.group(2))] = (int(m.group(3)), m.group(4))
    return rows


def test_summary_fractional_izhikevich_gallery(summary):
    from fracsim import gallery

    rows = parse_fractional(summary)
    assert sorted(rows) == sorted((p, a) for p in gallery.PATTERNS for a in gallery.ALPHAS)
    assert all(label in REGIMES for _, label in rows.values())
    # the ordinary-order column reproduces Izhikevich's four patterns ...
    for name in gallery.PATTERNS:
        assert rows[name, 1.0][1] == name
    # ... and decreasing alpha changes at least one of them (the point of the figure)
    assert any(rows[name, a][1] != name for name in gallery.PATTERNS for a in gallery.ALPHAS
               if a < 1)
    # the reported count is the spike count of an independent run of the same protocol
    model, proto = fs.Izhikevich.pattern("tonic_bursting")
    res = fs.simulate(model, proto["t_stop"], dt=gallery.IZH_DT,
                      current=fs.step_current([proto["onset"]], [proto["amplitude"]]),
                      v0=proto["v0"], u0=model.b * proto["v0"], record=("v",),
                      record_every=5, progress=False)
    assert rows["tonic_bursting", 1.0][0] == len(res.spikes)


def test_summary_conductance_presets_classified_as_named(summary):
    from fracsim.models.conductance import PRESETS

    lines = section(summary, "Conductance neuron presets")
    rows = {}
    for ln in lines[:-1]:
        m = re.fullmatch(r"  (\w+)\s+(\d+) spikes in (\d+) ms \(dt = ([\d.]+) ms\), "
                         r"fs.classify: (\w+)", ln)
        assert m, ln
        rows[m.group(1)] = (int(m.group(2)), float(m.group(3)), m.group(5))
    assert sorted(rows) == sorted(PRESETS)
    for name, (n, t_stop, label) in rows.items():
        assert label == name
        pr = fs.Conductance.protocol(name)
        assert t_stop == pr["t_stop"]
        res = fs.simulate(fs.Conductance.preset(name), pr["t_stop"], dt=pr["dt"],
                          current=pr["current"], progress=False, **pr["state0"])
        assert n == len(res.spikes)


def test_summary_regime_maps(summary):
    lines = section(summary, "Regime maps")
    assert len(lines) == 5
    cond, cond_star, izh, izh_star, _ = lines
    n = demo.QUICK_MAP_SIZES["conductance"]
    na, ni = demo.QUICK_MAP_SIZES["izhikevich"]
    assert f"slow_neg_gain x slow_neg_offset: {n} x {n} points" in cond
    assert f"alpha x current: {na} x {ni} points" in izh
    for line, must in ((cond, {"silent", "tonic_bursting"}), (izh, {"tonic_spiking",
                                                                   "tonic_bursting"})):
        found = dict(re.findall(r"(\w+) (\d+\.\d)%", line.split("; ", 1)[1]))
        assert set(found) <= set(REGIMES) and must <= set(found), line
        assert sum(float(v) for v in found.values()) == pytest.approx(100.0, abs=0.35)
    # the preset / pattern itself lies on its map, with its own regime
    assert cond_star == "  conductance preset itself (-1.5, -1.5): tonic_bursting"
    assert izh_star == "  Izhikevich pattern itself (1.0, 15.0): tonic_bursting"


def test_cli_demo_passes_its_arguments(monkeypatch, tmp_path):
    from fracsim import cli

    calls = []
    monkeypatch.setattr(demo, "run_demo", lambda out, quiet=False: calls.append((out, quiet)))
    assert cli.main(["demo", "--out", str(tmp_path / "x"), "--quiet"]) == 0
    assert calls == [(str(tmp_path / "x"), True)]
