"""Exceptions raised by simulations."""

from __future__ import annotations


class NonFiniteStateError(FloatingPointError):
    """A neuron's state became NaN or infinite; carries where and when."""

    def __init__(self, step: int, time: float, neuron: int, population: str, local: int):
        self.step, self.time, self.neuron = step, time, neuron
        self.population, self.local = population, local
        super().__init__(
            f"state became non-finite at step {step} (t = {time:g} ms) in neuron {neuron} "
            f"(population {population!r}, local index {local}); reduce dt or check the "
            f"parameters and inputs"
        )
