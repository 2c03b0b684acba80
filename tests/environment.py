"""What of the developer's environment the suite lets through: none of newsdesk's own settings.

NEWSDESK_* and DISCORD_* variables and a `.env` file in the working folder configure newsdesk;
a test that saw them would pass or fail by whoever runs it. tests/conftest.py removes the
variables for the whole run and moves every test (and the session's fixtures) into an empty
folder; child processes get `child_env()`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from tests.factories import REPO

SETTING_PREFIXES = ("NEWSDESK_", "DISCORD_")


def without_settings(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if not k.startswith(SETTING_PREFIXES)}


def child_env(**settings: str) -> dict[str, str]:
    """For a child process: the environment without newsdesk's settings but `settings`, and
    this checkout first on PYTHONPATH, so the child runs the code under test whatever copy of
    newsdesk the interpreter has installed (or none)."""
    env = without_settings(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
    )
    env.update(settings)
    return env
