"""`newsdesk --help` and `index status` load no model, no index library, no numpy stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.environment import child_env

HEAVY = {"torch", "sentence_transformers", "transformers", "onnxruntime", "faiss", "bm25s"}


def _modules_after(args: list[str]) -> set[str]:
    code = (
        "import json, sys\n"
        "from bot.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps(sorted(set({sorted(HEAVY)!r}) & set(sys.modules))), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=60
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_nothing_heavy() -> None:
    assert _modules_after(["--help"]) == set()
    assert _modules_after(["model", "export", "--help"]) == set()


def test_doctor_and_ask_without_an_index_import_nothing_heavy(tmp_path: Path) -> None:
    """With the default (packaged) model: `doctor` reads files only, and `ask` with no index
    stops before the encoder is loaded (or exported)."""
    where = ["--index-dir", str(tmp_path / "index"), "--articles-dir", str(tmp_path)]
    assert _modules_after(["doctor", *where]) == set()
    assert _modules_after(["ask", "Who won?", *where]) == set()
    assert not (tmp_path / "index").exists()
