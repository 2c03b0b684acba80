"""`python -m tests.retrieval.pg_writer MODE FIRST COUNT`, with the index in PostgreSQL
(NEWSDESK_DATABASE_URL): `loop` adds corpus articles one at a time, printing each id once its
add has returned; `batch` adds them all in one add (one transaction) and prints `done`. The
tests SIGKILL it mid-way, or run two at once beside a searching parent."""

from __future__ import annotations

import sys

from bot.compose import Composition, OpenPolicy, load_settings
from tests.reliability.corpus import article


def main() -> None:
    mode, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    engine = Composition(load_settings()).engine(OpenPolicy.OPEN_OR_BUILD)
    print("ready", flush=True)
    numbers = range(first, first + count)
    if mode == "batch":
        engine.add([article(n) for n in numbers])
        print("done", flush=True)
        return
    for number in numbers:
        engine.add([article(number)])
        print(article(number).id, flush=True)


if __name__ == "__main__":
    main()
