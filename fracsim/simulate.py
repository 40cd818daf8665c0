"""``fs.simulate``: one population of uncoupled neurons, the quickest way to a trace."""

from __future__ import annotations

from collections.abc import Iterable

from ._validate import positive_int
from .fractional.memory import Memory
from .models.base import NeuronModel
from .network import Network
from .result import Result


def simulate(model: NeuronModel, t_stop: float, dt: float = 0.1, current=0.0, n: int = 1, *,
             record: Iterable[str] = ("v",), record_every: int = 1, seed: int | None = 0,
             v0=None, progress: bool | None = None, scheme: str = "l1",
             memory: Memory | None = None, **init) -> Result:
    """Simulate ``n`` uncoupled neurons of ``model`` for ``t_stop`` ms with step ``dt`` ms.

    Args:
        current: input (see :mod:`fracsim.inputs`): number, per-neuron array,
            ``fs.step_current(...)``, ``fs.TimedArray(...)`` or a callable of t (ms).
        record: state variables to record for every neuron (spikes always are).
        record_every: sample the states every this many steps.
        v0, <var>0=: initial state (scalars or per-neuron arrays).
        scheme, memory: numerics of a fractional membrane (``model.alpha < 1``): see
            :class:`fracsim.Network` and :meth:`fracsim.Network.population`.

    Returns:
        a :class:`Result`; ``res.state["v"]`` has shape ``(n_samples, n)``.
    """
    n = positive_int("n", n)
    if isinstance(record, str):
        record = (record,)
    net = Network(dt=dt, seed=seed, scheme=scheme)
    pop = net.population(model, n, name=model.name, v0=v0, current=current, memory=memory,
                         **init)
    rec = {"spikes": pop}
    for var in record:
        rec[var] = pop
    return net.run(t_stop, record=rec, record_every=record_every, progress=progress)
