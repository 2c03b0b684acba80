"""The suite imports the library it sits next to: `retrieval` and `bot` are the repository's
own folders (not a test package of the same name, nor an installed copy elsewhere)."""

from __future__ import annotations

import sys
from pathlib import Path

import bot
import retrieval
from tests.factories import REPO

TESTS = REPO / "tests"


def test_library_packages_are_the_repository_folders() -> None:
    assert Path(retrieval.__file__).resolve() == REPO / "retrieval" / "__init__.py"
    assert Path(bot.__file__).resolve() == REPO / "bot" / "__init__.py"
    assert Path(sys.modules["retrieval.engine"].__file__ or "").resolve().parent == (
        REPO / "retrieval"
    )


def test_test_modules_live_in_the_tests_package() -> None:
    assert __name__ == "tests.test_layout"
    assert Path(sys.modules["tests"].__file__ or "").resolve() == TESTS / "__init__.py"
    loaded = [
        name
        for name, module in list(sys.modules.items())
        if Path(getattr(module, "__file__", None) or "/").resolve().is_relative_to(TESTS)
    ]
    assert loaded and all(name == "tests" or name.startswith("tests.") for name in loaded), [
        name for name in loaded if not name.startswith("tests")
    ]


def test_every_test_folder_is_a_package() -> None:
    """A folder of test modules without __init__.py would be put on sys.path by pytest, and
    its subfolders would import as top-level packages that can shadow the library."""
    folders = {path.parent for path in TESTS.rglob("*.py") if "__pycache__" not in path.parts}
    missing = sorted(str(f.relative_to(REPO)) for f in folders if not (f / "__init__.py").exists())
    assert not missing, f"add an __init__.py to: {missing}"


def test_tests_folder_is_not_on_the_import_path() -> None:
    entries = {Path(entry or ".").resolve() for entry in sys.path}
    assert not {TESTS, *(p for p in TESTS.iterdir() if p.is_dir())} & entries
