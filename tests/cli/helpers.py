"""Running the real `newsdesk` entry point in a subprocess, on a scratch index."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.environment import child_env

# What the `newsdesk` console script runs, without needing it installed: an installed script
# could belong to another checkout.
NEWSDESK = (sys.executable, "-c", "from bot.cli import main; main()")


@dataclass
class Workspace:
    root: Path

    @property
    def articles(self) -> Path:
        return self.root / "articles"

    @property
    def index(self) -> Path:
        return self.root / "index"

    def env(self, **extra: str) -> dict[str, str]:
        settings = {
            "NEWSDESK_MODEL": "hashing",
            "NEWSDESK_ARTICLES_DIR": str(self.articles),
            "NEWSDESK_INDEX_DIR": str(self.index),
            "NEWSDESK_CHUNK_TOKENS": "80",
            "NEWSDESK_CHUNK_OVERLAP_TOKENS": "16",
            "NEWSDESK_ABSTAIN_THRESHOLD": "0.05",
        }
        return child_env(**(settings | extra))

    def run(
        self, *args: str, input: str | None = None, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*NEWSDESK, *args],
            cwd=self.root,  # no stray .env from the repository
            env=self.env(**env),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*NEWSDESK, *args],
            cwd=self.root,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
