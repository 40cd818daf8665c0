"""Simulation results as plain arrays, with per-population access and npz save/load."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class SpikeTrains:
    """Spikes as two aligned arrays: ``times`` (ms, ascending) and neuron ``ids``."""

    times: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return self.times.shape[0]

    def of(self, neuron: int) -> np.ndarray:
        """Spike times (ms) of one neuron."""
        return self.times[self.ids == neuron]

    def counts(self, n: int) -> np.ndarray:
        """Spike count per neuron id ``0 .. n-1``."""
        return np.bincount(self.ids, minlength=n)


@dataclass
class PopulationResult:
    """The spikes and recorded states of one population, with local neuron ids."""

    name: str
    n: int
    spikes: SpikeTrains
    state: dict[str, np.ndarray]
    state_ids: dict[str, np.ndarray]
    duration: float

    @property
    def rate(self) -> float:
        """Mean firing rate (Hz) over the population and the run."""
        return len(self.spikes) / (self.n * self.duration * 1e-3) if self.n else 0.0


@dataclass
class Result:
    """Output of a run.

    Attributes:
        t: sample times (ms) of the recorded states.
        state: variable name -> array ``(n_samples, n_recorded)``.
        state_ids: variable name -> global ids of the recorded columns.
        spikes: :class:`SpikeTrains` with global ids.
        populations: name -> ``(first global id, size)``.
        t_start, t_stop: the run's interval (ms); dt (ms); wall_time (s) of the loop.
    """

    t: np.ndarray
    state: dict[str, np.ndarray]
    state_ids: dict[str, np.ndarray]
    spikes: SpikeTrains
    populations: dict[str, tuple[int, int]]
    t_start: float
    t_stop: float
    dt: float
    wall_time: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.t_stop - self.t_start

    def pop(self, name) -> PopulationResult:
        """Spikes and states of one population (accepts a name or a Population)."""
        name = getattr(name, "name", name)
        if name not in self.populations:
            raise KeyError(f"no population {name!r}; have {list(self.populations)}")
        first, n = self.populations[name]
        sel = (self.spikes.ids >= first) & (self.spikes.ids < first + n)
        spikes = SpikeTrains(self.spikes.times[sel], self.spikes.ids[sel] - first)
        state, ids = {}, {}
        for var, arr in self.state.items():
            cols = (self.state_ids[var] >= first) & (self.state_ids[var] < first + n)
            if np.any(cols):
                state[var] = arr[:, cols]
                ids[var] = self.state_ids[var][cols] - first
        return PopulationResult(name, n, spikes, state, ids, self.duration)

    __getitem__ = pop

    def rates(self) -> dict[str, float]:
        """Mean firing rate (Hz) of each population."""
        return {name: self.pop(name).rate for name in self.populations}

    def save(self, path: str | Path) -> Path:
        """Write everything to a compressed ``.npz`` file (read back with :func:`load`)."""
        path = Path(path)
        arrays = {
            "t": self.t, "spike_times": self.spikes.times, "spike_ids": self.spikes.ids,
            "pop_names": np.array(list(self.populations), dtype=str),
            "pop_ranges": np.array(list(self.populations.values()), dtype=np.int64).reshape(-1, 2),
            "scalars": np.array([self.t_start, self.t_stop, self.dt, self.wall_time]),
            "state_names": np.array(list(self.state), dtype=str),
        }
        for var in self.state:
            arrays[f"state__{var}"] = self.state[var]
            arrays[f"ids__{var}"] = self.state_ids[var]
        np.savez_compressed(path, **arrays)
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def load(path: str | Path) -> Result:
    """Read a :class:`Result` written by :meth:`Result.save`."""
    with np.load(path, allow_pickle=False) as f:
        names = [str(s) for s in f["state_names"]]
        t_start, t_stop, dt, wall = (float(x) for x in f["scalars"])
        return Result(
            t=f["t"],
            state={v: f[f"state__{v}"] for v in names},
            state_ids={v: f[f"ids__{v}"] for v in names},
            spikes=SpikeTrains(f["spike_times"], f["spike_ids"]),
            populations={str(nm): (int(a), int(b)) for nm, (a, b) in
                         zip(f["pop_names"], f["pop_ranges"], strict=True)},
            t_start=t_start, t_stop=t_stop, dt=dt, wall_time=wall,
        )
