"""Runs a Python console script in this process and writes its peak RSS (VmHWM) on exit.

A child's ru_maxrss on Linux starts at its parent's RSS at fork, so a large benchmark process
would inflate it; VmHWM belongs to the new program's memory map, which exec starts afresh.
Usage: python -m bench.hwm OUTFILE SCRIPT [ARGS...]
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def _write_peak(target: Path) -> None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            target.write_text(line.split()[1])  # kB


if __name__ == "__main__":
    out, script = Path(sys.argv[1]), sys.argv[2]
    atexit.register(_write_peak, out)
    sys.argv = sys.argv[2:]
    runpy.run_path(script, run_name="__main__")
