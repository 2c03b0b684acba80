"""Third-party libraries loaded on first use: importing them costs start-up time that
`newsdesk --help` and `index status` should not pay."""

from __future__ import annotations

import logging
from typing import Any


def load_bm25s() -> Any:
    import bm25s

    # bm25s sets its own logger to DEBUG at import, which floods any app that logs at INFO.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s
