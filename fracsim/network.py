"""What users build: :class:`Network`, :class:`Population` and views of populations.

A network is described with Python objects and compiled, at the first ``run``, into flat
arrays (see :mod:`fracsim.engine.build`); the compiled loop never sees these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import connect as rules
from ._validate import bounded, choice, finite_array, positive_float, positive_int
from .fractional import stepper
from .fractional.memory import SOE, Memory, check_memory
from .inputs import CurrentSpec, make_current
from .models.base import NeuronModel, initial_values
from .synapses import Synapse, check_synapse


class Population:
    """``n`` neurons of one model, with contiguous global ids ``start .. start + n - 1``."""

    def __init__(self, net: Network, model: NeuronModel, n: int, name: str, start: int,
                 init: np.ndarray) -> None:
        self.net = net
        self.model = model
        self.n = n
        self.name = name
        self.start = start
        self.init = init  # float64[n_vars, n], initial state
        #: history strategy of a fractional membrane (None: integer-order integrator)
        self.memory = None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key) -> PopulationView:
        local = np.arange(self.n)[key]
        local = np.atleast_1d(local).astype(np.int64)
        return PopulationView(self, local)

    @property
    def local(self) -> np.ndarray:
        return np.arange(self.n, dtype=np.int64)

    @property
    def population(self) -> Population:
        return self

    @property
    def ids(self) -> np.ndarray:
        """Global neuron ids."""
        return self.start + self.local

    def state(self, var: str = "v") -> np.ndarray:
        """Current values of state variable ``var`` (a copy): initial before any run."""
        row = _var_row(self.model, var)
        comp = self.net._compiled
        if comp is None:
            return self.init[row].copy()
        return comp.state_view(self.net.populations.index(self))[row].copy()

    def __repr__(self) -> str:
        return f"Population({self.name!r}, {self.model!r}, n={self.n})"


@dataclass
class PopulationView:
    """A subset (by local index) of a population, e.g. ``E[:10]``."""

    pop: Population
    local: np.ndarray

    def __len__(self) -> int:
        return self.local.shape[0]

    @property
    def population(self) -> Population:
        return self.pop

    @property
    def ids(self) -> np.ndarray:
        return self.pop.start + self.local

    @property
    def name(self) -> str:
        return self.pop.name

    def __getitem__(self, key) -> PopulationView:
        return PopulationView(self.pop, np.atleast_1d(self.local[key]).astype(np.int64))


Target = Population | PopulationView


@dataclass
class Projection:
    """Synapses from ``src`` to ``dst`` (local indices, weights, delays in steps)."""

    src: Population
    dst: Population
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay_steps: np.ndarray
    synapse: Synapse

    @property
    def n(self) -> int:
        return self.pre.shape[0]

    def __repr__(self) -> str:
        return f"Projection({self.src.name}->{self.dst.name}, {self.n} synapses, {self.synapse})"


@dataclass
class PoissonInput:
    """``n_sources`` independent Poisson trains of ``rate`` Hz onto each target neuron."""

    target: Population
    local: np.ndarray
    rate: np.ndarray
    weight: float
    n_sources: int
    synapse: Synapse


@dataclass
class _Record:
    spikes: list = field(default_factory=list)
    state: dict = field(default_factory=dict)


def _var_row(model: NeuronModel, var: str) -> int:
    if var not in model.state_vars:
        raise ValueError(
            f"{model.name} has state variables {list(model.state_vars)}, not {var!r}"
        )
    return model.state_vars.index(var)


class Network:
    """A network of populations, projections and inputs, advanced with step ``dt`` (ms).

    Args:
        dt: time step (ms), > 0.
        seed: integer seed for connectivity, random weights/delays and Poisson input;
            the same seed gives bit-identical results. ``None`` picks one (``net.seed``).
        scheme: discretisation of fractional membranes (populations whose model has
            ``alpha < 1``, or that were given a ``memory=``): ``"l1"`` (default, implicit,
            order ``2 - alpha``) or ``"gl"`` (Grünwald–Letnikov, explicit, order 1); see
            :mod:`fracsim.fractional.stepper`.  Integer-order populations use their
            model's own integrator.
    """

    def __init__(self, dt: float = 0.1, seed: int | None = None, scheme: str = "l1") -> None:
        self.dt = positive_float("dt", dt)
        self.scheme = choice("scheme", scheme, stepper.SCHEMES)
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.seed = int(seed)
        ss = np.random.SeedSequence(self.seed)
        build_seq, engine_seq = ss.spawn(2)
        self.rng = np.random.default_rng(build_seq)
        self._engine_seed = int(engine_seq.generate_state(1, np.uint64)[0])
        self.populations: list[Population] = []
        self.projections: list[Projection] = []
        self.poisson_inputs: list[PoissonInput] = []
        self.currents: list[tuple[Population, CurrentSpec]] = []
        self._compiled = None
        self.t = 0.0

    # -- building ---------------------------------------------------------------------
    def _check_open(self, what: str) -> None:
        if self._compiled is not None:
            raise RuntimeError(
                f"cannot add {what} after the network has run; build a new Network"
            )

    def population(self, model: NeuronModel, n: int, *, name: str | None = None,
                   v0=None, current=None, memory: Memory | None = None,
                   **init) -> Population:
        """Add ``n`` neurons of ``model``; ``v0``/``<var>0=`` set initial states
        (scalars or per-neuron arrays), ``current`` injects an input (see
        :mod:`fracsim.inputs`).

        ``memory``: how a fractional membrane's history is kept: ``fs.SOE(tol)`` (default
        for ``alpha < 1``: ``SOE(1e-9)``), ``fs.FullMemory()`` or ``fs.ShortMemory(steps)``.
        Giving one to a model with ``alpha = 1`` runs it through the fractional scheme
        (the network's ``scheme`` at order 1: forward Euler for "gl", backward Euler for
        "l1") instead of the model's own integrator.
        """
        self._check_open("a population")
        if memory is not None:
            memory = check_memory(memory)
        if not isinstance(model, NeuronModel):
            raise TypeError(f"model must be a fracsim neuron model, got {type(model).__name__}")
        n = positive_int("n", n)
        model.check_size(n)
        name = f"pop{len(self.populations)}" if name is None else str(name)
        if any(p.name == name for p in self.populations):
            raise ValueError(f"name {name!r} is already used by another population")
        x0 = model.initial_state(n, **initial_values(v0, init))
        start = sum(p.n for p in self.populations)
        pop = Population(self, model, n, name, start, x0)
        if memory is None and model.is_fractional:
            memory = SOE(1e-9)
        if (memory is not None and self.scheme == "pi_trap"
                and getattr(memory, "kind", "") == "short"):
            raise ValueError(
                "memory=fs.ShortMemory(...) with scheme='pi_trap': truncating the Volterra "
                "history of F drops the integral that makes up v itself; use FullMemory or "
                "SOE with 'pi_trap', or ShortMemory with scheme='l1'/'gl'"
            )
        if memory is not None and self.scheme == "pi_trap" and model.orders:
            raise ValueError(
                "orders= (a multi-term membrane) needs scheme='l1' or 'gl', not 'pi_trap'"
            )
        if (memory is not None and self.scheme == "pi_trap"
                and model.reset in stepper.HISTORY_RESETS):
            raise ValueError(
                f"reset={model.reset!r} puts the reset jump into the increment history, "
                "which the Volterra form of scheme='pi_trap' does not have; use "
                "reset='shift' or 'restart' with it, or scheme='l1'/'gl'"
            )
        pop.memory = memory
        self.populations.append(pop)
        if current is not None:
            self.current(pop, current)
        return pop

    def _resolve(self, name: str, target) -> tuple[Population, np.ndarray]:
        if isinstance(target, Population | PopulationView):
            pop = target.population
            if pop.net is not self:
                raise ValueError(f"{name} belongs to another Network")
            return pop, target.local
        raise TypeError(
            f"{name} must be a Population or a view of one, got {type(target).__name__}"
        )

    def connect(self, src: Target, dst: Target, *, p: float | None = None,
                rule: str | None = None, indegree: int | None = None, pre=None, post=None,
                weight=1.0, delay=None, synapse="delta", autapses: bool = True) -> Projection:
        """Connect ``src`` to ``dst``.

        Rules: ``p=`` (pairwise Bernoulli), ``rule="fixed_indegree", indegree=K``,
        ``rule="one_to_one"``, ``rule="all_to_all"``, or explicit local ``pre=, post=``.
        ``weight``: scalar, per-synapse array, (n_src, n_dst) matrix, ``(lo, hi)``
        uniform, or callable ``f(rng, size)``; mV for delta/exp synapses, a conductance in
        units of the leak conductance (>= 0) for :class:`CondSynapse`.
        ``delay`` (ms, default dt): same forms; >= dt, rounded to whole steps.
        ``synapse``: ``"delta"``, ``fs.ExpSynapse(tau)`` or ``fs.CondSynapse(tau, e_rev)``.
        """
        self._check_open("a projection")
        spop, slocal = self._resolve("src", src)
        dpop, dlocal = self._resolve("dst", dst)
        synapse = check_synapse(synapse)
        if rule is None:
            if pre is not None or post is not None:
                rule = "explicit"
            elif p is not None:
                rule = "pairwise_bernoulli"
            elif indegree is not None:
                rule = "fixed_indegree"
            else:
                raise ValueError(
                    "connect needs a rule: p=..., indegree=..., pre=/post=, or rule= one of "
                    f"{list(rules.RULES)}"
                )
        if rule not in rules.RULES:
            raise ValueError(f"rule must be one of {list(rules.RULES)}, got {rule!r}")
        ns, nd = slocal.shape[0], dlocal.shape[0]
        no_self = spop is dpop and not autapses
        # same neurons on both sides: the rule itself excludes i == j (keeps exact indegree)
        aligned = no_self and ns == nd and np.array_equal(slocal, dlocal)
        if rule == "pairwise_bernoulli":
            if p is None:
                raise ValueError("rule 'pairwise_bernoulli' needs p")
            pv = float(bounded("p", p, "unit"))
            i, j = rules.pairwise_bernoulli(ns, nd, pv, self.rng, not aligned)
        elif rule == "fixed_indegree":
            if indegree is None:
                raise ValueError("rule 'fixed_indegree' needs indegree")
            k = positive_int("indegree", indegree, minimum=0)
            i, j = rules.fixed_indegree(ns, nd, k, self.rng, not aligned)
        elif rule == "one_to_one":
            if ns != nd:
                raise ValueError(f"one_to_one needs equal sizes, got src {ns} and dst {nd}")
            i = j = np.arange(ns, dtype=np.int64)
        elif rule == "all_to_all":
            i, j = np.divmod(np.arange(ns * nd, dtype=np.int64), nd)
        else:
            i, j = self._explicit(pre, post, ns, nd)
        if no_self:
            keep = slocal[i] != dlocal[j]
            i, j = i[keep], j[keep]
        gi, gj = slocal[i], dlocal[j]
        w = rules.synapse_values("weight", weight, i, j, self.rng, ns, nd)
        if getattr(synapse, "kind", "") == "cond" and np.any(w < 0):
            raise ValueError("weight must be >= 0 for CondSynapse (the sign is set by e_rev)")
        d_ms = rules.synapse_values("delay", self.dt if delay is None else delay, i, j,
                                    self.rng, ns, nd)
        d = rules.delay_steps(d_ms, self.dt)
        proj = Projection(spop, dpop, gi, gj, w, d, synapse)
        self.projections.append(proj)
        return proj

    @staticmethod
    def _explicit(pre, post, ns, nd):
        if pre is None or post is None:
            raise ValueError("explicit connections need both pre and post")
        i = np.asarray(pre)
        j = np.asarray(post)
        if i.ndim != 1 or i.shape != j.shape:
            raise ValueError(f"pre and post must be 1-D arrays of equal length, got "
                             f"{i.shape} and {j.shape}")
        if i.size and not (np.issubdtype(i.dtype, np.integer) and np.issubdtype(j.dtype,
                                                                                  np.integer)):
            raise TypeError("pre and post must be integer index arrays")
        if i.size and (i.min() < 0 or i.max() >= ns):
            raise ValueError(f"pre indices must be in [0, {ns}), got [{i.min()}, {i.max()}]")
        if j.size and (j.min() < 0 or j.max() >= nd):
            raise ValueError(f"post indices must be in [0, {nd}), got [{j.min()}, {j.max()}]")
        return i.astype(np.int64), j.astype(np.int64)

    def poisson(self, target: Target, rate, weight: float, n_sources: int = 1,
                synapse="delta") -> PoissonInput:
        """Drive every neuron of ``target`` with ``n_sources`` independent Poisson trains
        of ``rate`` Hz (scalar or per target neuron), each event adding ``weight``
        through ``synapse``. Events are drawn inside the loop from the network's seed."""
        self._check_open("a Poisson input")
        pop, local = self._resolve("target", target)
        r = bounded("rate", rate, "nonnegative", local.shape[0])
        w = finite_array("weight", weight)
        if w.ndim != 0:
            raise ValueError("weight of a Poisson input must be a scalar")
        synapse = check_synapse(synapse)
        if getattr(synapse, "kind", "") == "cond" and w < 0:
            raise ValueError("weight must be >= 0 for CondSynapse (the sign is set by e_rev)")
        k = positive_int("n_sources", n_sources)
        rate_arr = np.broadcast_to(r, local.shape).astype(np.float64)
        inp = PoissonInput(pop, local, rate_arr, float(w), k, synapse)
        self.poisson_inputs.append(inp)
        return inp

    def current(self, target: Target, value, *, start: float | None = None,
                stop: float | None = None) -> None:
        """Inject a current (see :mod:`fracsim.inputs`) into ``target`` for
        ``start <= t < stop`` (ms; default: always). Currents add up."""
        pop, local = self._resolve("target", target)
        spec = make_current(f"current into {pop.name}", value, local, start, stop)
        self.currents.append((pop, spec))

    # -- running ----------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Total number of neurons."""
        return sum(p.n for p in self.populations)

    def run(self, t_stop: float, *, record=None, record_every: int = 1,
            progress: bool | None = None):
        """Advance the network by ``t_stop`` ms (continuing from the last run) and return
        a :class:`fracsim.result.Result`.

        ``record``: ``{"spikes": pops, "<var>": pops_or_views, ...}``; default: the spikes
        of every population. State variables are sampled every ``record_every`` steps,
        at the start of each sampled step (after that step's arrivals).
        ``progress``: ``None`` shows a progress line on a terminal for long runs.
        """
        from .engine.runner import run_network

        return run_network(self, t_stop, record, record_every, progress)

    def __repr__(self) -> str:
        return (f"Network(dt={self.dt}, {len(self.populations)} populations, {self.n} neurons, "
                f"{sum(p.n for p in self.projections)} synapses)")
