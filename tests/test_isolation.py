"""The developer's environment cannot reach a test: a pytest started from a folder holding a
.env (NEWSDESK_TOP_K=1, a Discord token) with NEWSDESK_MODEL=nonexistent and DISCORD_TOKEN
in its environment runs tests/isolation_probe.py, whose every scope sees the defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.settings import RetrievalSettings
from tests.environment import child_env
from tests.factories import REPO

pytestmark = pytest.mark.timeout(120)


def test_variables_and_dotenv_of_the_starting_folder_reach_no_test(tmp_path: Path) -> None:
    start = tmp_path / "developer"
    start.mkdir()
    (start / ".env").write_text(
        "NEWSDESK_TOP_K=1\nNEWSDESK_INDEX_DIR=/nonexistent\nDISCORD_TOKEN=from-dotenv\n"
    )
    # The same .env would change the settings if it were read: the probe proves something.
    dotenv = RetrievalSettings(_env_file=start / ".env")  # type: ignore[call-arg]
    assert dotenv.top_k == 1 != RetrievalSettings(_env_file=None).top_k  # type: ignore[call-arg]
    env = child_env() | {"NEWSDESK_MODEL": "nonexistent", "DISCORD_TOKEN": "from-environment"}
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO),
            "-c", str(REPO / "pyproject.toml"), str(REPO / "tests" / "isolation_probe.py"),
        ],
        cwd=start,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "4 passed" in done.stdout, done.stdout
    assert (start / ".env").exists()  # nothing was worked around by removing it


def test_this_run_has_no_newsdesk_variable_and_an_empty_folder() -> None:
    assert not [k for k in os.environ if k.startswith(("NEWSDESK_", "DISCORD_"))]
    assert list(Path.cwd().iterdir()) == []
