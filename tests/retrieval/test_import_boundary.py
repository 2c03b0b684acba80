"""retrieval/ is a library that must never pull in discord (dependencies point bot -> retrieval)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.environment import child_env


def test_importing_every_retrieval_module_loads_no_discord(tmp_path: Path) -> None:
    code = (
        "import pkgutil, importlib, sys, retrieval\n"
        "for m in pkgutil.walk_packages(retrieval.__path__, 'retrieval.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n == 'discord' or n.startswith('discord.'))\n"
        "assert not bad, bad\n"
        "print('modules', len([n for n in sys.modules if n.startswith('retrieval')]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) > 15  # the walk really imported the library


def test_importing_retrieval_loads_no_heavy_modules(tmp_path: Path) -> None:
    """Nothing loads at import time: the model and indexes are built by the composition root."""
    code = (
        "import sys, retrieval, retrieval.engine, retrieval.settings\n"
        "heavy = {'torch', 'sentence_transformers', 'faiss', 'bm25s'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr


def test_the_public_api_names_resolve_lazily(tmp_path: Path) -> None:
    """`from retrieval import Engine` works, and `import retrieval` alone loads no engine."""
    code = (
        "import importlib, sys, retrieval\n"
        "assert 'retrieval.engine' not in sys.modules\n"
        "assert sorted(retrieval._EXPORTS) == retrieval.__all__\n"
        "for name in retrieval.__all__:\n"
        "    defined = getattr(importlib.import_module(retrieval._EXPORTS[name]), name)\n"
        "    assert getattr(retrieval, name) is defined, name\n"
        "from retrieval import Engine, SearchResult\n"
        "print(Engine.__module__, SearchResult.__module__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["retrieval.engine", "retrieval.search.results"]
