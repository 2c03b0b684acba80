"""`python -m tests.reliability.full_disk_cli ARGS...`: the real `newsdesk` CLI on a disk that
is full, as far as SQLite can tell: no index database may grow by a single page."""

from __future__ import annotations

import sqlite3
import sys

from retrieval.index.store import Store


def fill_the_disk() -> None:
    """Every connection the store opens gets a page limit equal to its current size, so any
    write that needs a new page fails with SQLite's own SQLITE_FULL."""
    connect = Store.connect

    def full(self: Store) -> sqlite3.Connection:
        conn = connect(self)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {max(int(pages), 1)}")
        return conn

    Store.connect = full  # type: ignore[method-assign]


def main() -> None:
    from bot.cli import main as newsdesk

    fill_the_disk()
    newsdesk(sys.argv[1:])


if __name__ == "__main__":
    main()
