"""A one-line progress indicator for long runs (stderr; quiet when not a terminal)."""

from __future__ import annotations

import sys
import time


class Progress:
    """Shows ``fracsim: 45% | 4.5/10.0 s bio | 1.2 s elapsed | ETA 1.5 s`` on one line.

    ``enabled=None`` means: on a terminal, and only once the run has taken over 1 s.
    """

    def __init__(self, total_steps: int, dt: float, enabled: bool | None) -> None:
        self.total, self.dt = total_steps, dt
        self.auto = enabled is None
        self.enabled = sys.stderr.isatty() if enabled is None else bool(enabled)
        self.t0 = time.perf_counter()
        self.shown = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        if self.auto and elapsed < 1.0:
            return
        frac = done / self.total if self.total else 1.0
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        sys.stderr.write(
            f"\rfracsim: {100 * frac:5.1f}% | {done * self.dt / 1e3:.3g}/"
            f"{self.total * self.dt / 1e3:.3g} s bio | {elapsed:.1f} s elapsed | "
            f"ETA {eta:.1f} s "
        )
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
