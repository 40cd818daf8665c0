"""Izhikevich (2004) Fig. 1A-D: tonic/phasic spiking and bursting with fracsim.

Each pattern uses the paper's (a, b, c, d), initial v and step current, Euler at
dt = 0.25 ms. Writes izhikevich_patterns.png (the same figure as `fracsim demo`).

Run: python examples/izhikevich_patterns.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from fracsim.demo import izhikevich_patterns  # noqa: E402

for line in izhikevich_patterns(Path(".")):
    print(line)
