"""What the benchmark drivers share: running a worker or peer script in a subprocess and
reading the one JSON line it prints last on stdout."""

from __future__ import annotations

import json
import subprocess

DEFAULT_TIMEOUT = 3600.0  # s


def run_json(cmd: list[str], timeout: float = DEFAULT_TIMEOUT,
             env: dict | None = None) -> tuple[dict | None, str]:
    """Run ``cmd``; return (the JSON of its last non-empty stdout line, ``""``), or
    ``(None, reason)`` if it timed out, could not start, failed or printed no JSON (the
    reason ends with the last lines it wrote to stderr, else stdout)."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s"
    except OSError as exc:
        return None, str(exc)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode == 0 and lines:
        try:
            return json.loads(lines[-1]), ""
        except json.JSONDecodeError:
            pass
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:] or ["(no output)"]
    return None, f"exit {proc.returncode}: " + " | ".join(tail)
