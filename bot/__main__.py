"""`python -m bot`: the same as `newsdesk run` (extra arguments such as --or-chat pass on)."""

import sys

from bot.cli import main

if __name__ == "__main__":
    main(["run", *sys.argv[1:]])
