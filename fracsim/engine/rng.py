"""A small counter-free PRNG (xoshiro256+) whose whole state is a uint64[4] array.

The engine keeps its random state in an array it owns, so a simulation is reproducible
bit for bit from its seed, continues its stream across successive ``run`` calls, and is
independent of any other user of NumPy's or Numba's global generators.
Seeding follows the xoshiro authors' advice: the 4 words come from SplitMix64.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_S11 = np.uint64(11)
_S17 = np.uint64(17)
_S45 = np.uint64(45)
_S64_45 = np.uint64(64 - 45)
_TWO_M53 = 1.0 / 9007199254740992.0


def seed_state(seed: int) -> np.ndarray:
    """Return a fresh xoshiro256 state (uint64[4]) derived from ``seed`` by SplitMix64."""
    x = int(seed) & 0xFFFFFFFFFFFFFFFF
    out = np.empty(4, dtype=np.uint64)
    for k in range(4):
        x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        out[k] = z ^ (z >> 31)
    return out


@njit(cache=True, inline="always")
def next_double(s):
    """Uniform double in [0, 1) from state ``s`` (advanced in place)."""
    result = s[0] + s[3]
    t = s[1] << _S17
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = (s[3] << _S45) | (s[3] >> _S64_45)
    return np.float64(result >> _S11) * _TWO_M53


@njit(cache=True, inline="always")
def next_exponential(s):
    """Exponential variate with mean 1 (inverse transform, never infinite)."""
    return -np.log(1.0 - next_double(s))


@njit(cache=True)
def uniform_block(s, out):
    """Fill ``out`` with uniform doubles (used by tests of the generator)."""
    for i in range(out.size):
        out[i] = next_double(s)
