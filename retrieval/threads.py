"""How many cores this process may use for bulk work (questions always use one)."""

from __future__ import annotations

import os


def free_cores() -> int:
    """Cores in this process's CPU affinity set (what a container or taskset allows)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
