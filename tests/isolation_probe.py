"""Run by tests/test_isolation.py in a pytest of its own, started from a folder with a .env
and with newsdesk variables set: every scope must see the built-in defaults. (Not a test_*
module, so the suite itself never collects it.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import BotSettings
from retrieval.settings import RetrievalSettings
from tests.environment import SETTING_PREFIXES, child_env

DEFAULTS = RetrievalSettings(_env_file=None).model_dump()  # type: ignore[call-arg]
LEAKED_AT_IMPORT = sorted(k for k in os.environ if k.startswith(SETTING_PREFIXES))


def seen() -> dict[str, object]:
    """What newsdesk would read here: its variables, and its settings as they load."""
    return {
        "variables": sorted(k for k in os.environ if k.startswith(SETTING_PREFIXES)),
        "retrieval": RetrievalSettings().model_dump(mode="json"),  # type: ignore[call-arg]
        "token": BotSettings().token_value(),
        "dotenv_here": Path(".env").exists(),
    }


EXPECTED: dict[str, object] = {
    "variables": [],
    "retrieval": RetrievalSettings(_env_file=None).model_dump(mode="json"),  # type: ignore[call-arg]
    "token": None,
    "dotenv_here": False,
}


@pytest.fixture(scope="session")
def session_view() -> dict[str, object]:
    return seen()


@pytest.fixture(scope="module")
def module_view() -> dict[str, object]:
    return seen()


def test_module_import_saw_no_variable() -> None:
    assert LEAKED_AT_IMPORT == []
    assert DEFAULTS["model"] != "nonexistent"


def test_session_and_module_fixtures_see_the_defaults(
    session_view: dict[str, object], module_view: dict[str, object]
) -> None:
    assert session_view == EXPECTED
    assert module_view == EXPECTED


def test_a_test_sees_the_defaults() -> None:
    assert seen() == EXPECTED


def test_a_child_process_sees_the_defaults() -> None:
    code = (
        "import json, sys\n"
        "sys.path.insert(0, '')\n"
        "from tests.isolation_probe import seen\n"
        "print(json.dumps(seen()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED
