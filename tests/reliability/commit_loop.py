"""`python -m tests.reliability.commit_loop FIRST COUNT`: adds corpus articles one at a time
(one SQLite commit each) with the settings the CLI would use, printing each id once its add
has returned. The kill test SIGKILLs it mid-loop: every printed id must survive."""

from __future__ import annotations

import sys

from bot.compose import Composition, OpenPolicy, load_settings
from tests.reliability.corpus import article


def main() -> None:
    first, count = int(sys.argv[1]), int(sys.argv[2])
    engine = Composition(load_settings()).engine(OpenPolicy.OPEN_OR_BUILD)
    print("ready", flush=True)
    for number in range(first, first + count):
        engine.add([article(number)])
        print(article(number).id, flush=True)


if __name__ == "__main__":
    main()
