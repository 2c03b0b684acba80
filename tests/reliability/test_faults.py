"""Damaged and missing index files, and writes that fail because the disk is full.

The derived FAISS/BM25 files are a cache: any damage is noticed at load, logged, and they are
rebuilt from SQLite. A damaged SQLite file is one line naming the recovery command, which then
works. A full disk is a clear NewsdeskError and the last committed index stays loadable.
(SIGKILL at random points: test_kills.py.)
"""

from __future__ import annotations

import errno
import json
import logging
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retrieval.collection import add_article, add_sources
from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.errors import DiskFullError, IndexBusyError, IndexCorruptError, NewsdeskError
from retrieval.index import derived as derived_module
from retrieval.index import location
from retrieval.index.dense import DenseIndex
from retrieval.index.store import Store
from retrieval.loaders import article_from_text
from retrieval.settings import RetrievalSettings
from tests.cli.helpers import Workspace
from tests.factories import REUTERS_TITLE, SAMPLE_ARTICLES, make_article
from tests.reliability.full_disk_cli import fill_the_disk
from tests.reliability.helpers import RECOVERY, cli_error, folder_state, index_state, one_line

pytestmark = pytest.mark.timeout(120)

QUESTIONS = ["How many eggs does the queen bee lay?", "Eurostar tunnel speed", "magma crust"]
KERRY = "What did Kerry want from the Moscow talks?"
BIG_TEXT = " ".join(f"Fact number {i} about the long history of lighthouses." for i in range(400))


def _answers(engine: Engine) -> list[object]:
    return [engine.search(q).as_json() for q in QUESTIONS]


def _derived_folder(index_dir: Path) -> Path:
    [folder] = (index_dir / "derived").iterdir()
    return folder


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _first(folder: Path, pattern: str) -> Path:
    return sorted(folder.glob(pattern))[0]


DERIVED_DAMAGE: dict[str, Callable[[Path], object]] = {
    "faiss missing": lambda d: _first(d, "dense-*.faiss").unlink(),
    "faiss truncated": lambda d: _truncate(_first(d, "dense-*.faiss")),
    "faiss empty": lambda d: _first(d, "dense-*.faiss").write_bytes(b""),
    "bm25 matrix missing": lambda d: _first(d, "bm25-*/data.csc.index.npy").unlink(),
    "bm25 matrix truncated": lambda d: _truncate(_first(d, "bm25-*/indptr.csc.index.npy")),
    "bm25 vocabulary garbage": lambda d: _first(d, "bm25-*/vocab.index.json").write_text("{"),
    "bm25 folder missing": lambda d: shutil.rmtree(_first(d, "bm25-*")),
    "pointer missing": lambda d: (d / "derived.json").unlink(),
    "pointer truncated": lambda d: _truncate(d / "derived.json"),
    "pointer stale": lambda d: (d / "derived.json").write_text(
        json.dumps(json.loads((d / "derived.json").read_text()) | {"generation": -1})
    ),
    "whole folder missing": lambda d: shutil.rmtree(d),
}


@pytest.mark.parametrize("damage", list(DERIVED_DAMAGE.values()), ids=list(DERIVED_DAMAGE))
def test_damaged_or_missing_derived_files_are_rebuilt_from_sqlite(
    settings: RetrievalSettings,
    embedder: HashingEmbedder,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], object],
) -> None:
    engine = Engine(settings, embedder).open()
    engine.add(SAMPLE_ARTICLES)
    before, answers = index_state(settings.index_dir), _answers(engine)
    damage(_derived_folder(settings.index_dir))
    with caplog.at_level(logging.INFO, logger="retrieval"):
        reopened = Engine(settings, embedder).open()
    rebuilt = [r.getMessage() for r in caplog.records if "from SQLite" in r.getMessage()]
    assert rebuilt, caplog.text  # one log line says what happened
    assert _answers(reopened) == answers
    assert index_state(settings.index_dir) == before  # SQLite was only read
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="retrieval"):
        again = Engine(settings, embedder).open()
    assert not [r for r in caplog.records if "from SQLite" in r.getMessage()]  # saved again
    assert _answers(again) == answers


# -- a damaged SQLite file, through the CLI ------------------------------------------------------


def _overwrite_pages(path: Path) -> None:
    """Random bytes over every page but the first (the header survives, the b-trees don't)."""
    rng = random.Random(5)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for start in range(page, len(data), page):
        data[start : start + page] = rng.randbytes(min(page, len(data) - start))
    path.write_bytes(bytes(data))


SQLITE_DAMAGE: dict[str, Callable[[Path], object]] = {
    "garbage header": lambda p: p.write_bytes(
        random.Random(1).randbytes(100) + p.read_bytes()[100:]
    ),
    "garbage pages": _overwrite_pages,
    "truncated to half": _truncate,
    "truncated to nothing": lambda p: p.write_bytes(b""),
    "random bytes": lambda p: p.write_bytes(random.Random(2).randbytes(p.stat().st_size)),
    "a text file": lambda p: p.write_text("this is not a database\n" * 200),
}


@pytest.mark.parametrize("damage", list(SQLITE_DAMAGE.values()), ids=list(SQLITE_DAMAGE))
def test_damaged_sqlite_names_the_recovery_command_which_recovers(
    cli: Workspace, damage: Callable[[Path], object]
) -> None:
    database = location.current_database(cli.index)
    assert database is not None
    assert not Path(f"{database}-wal").exists()  # the CLI checkpointed on exit: all in one file
    damage(database)
    line = cli_error(cli.run("ask", KERRY), code=3)  # the index must be rebuilt
    assert line.startswith("error: ") and RECOVERY in line, line
    recovered = cli.run("index", "rebuild", "--full")
    assert recovered.returncode == 0, recovered.stderr
    assert "Now 2 articles" in recovered.stdout
    answer = json.loads(cli.run("ask", KERRY, "--json").stdout)
    assert answer["hits"][0]["title"] == REUTERS_TITLE
    assert sorted(p.name for p in cli.index.glob("newsdesk-*.sqlite3*")) == [
        location.current_database(cli.index).name  # type: ignore[union-attr]
    ]


def test_every_command_on_a_damaged_sqlite_is_one_line(cli: Workspace, tmp_path: Path) -> None:
    database = location.current_database(cli.index)
    assert database is not None
    _overwrite_pages(database)
    note = tmp_path / "note.md"
    note.write_text("# Note\n\nOtters crack shellfish with stones.\n")
    files = folder_state(cli.articles)
    for command in [
        ("index", "status"),
        ("index", "rebuild"),
        ("sources",),
        ("remove", "bees"),
        ("add", str(note)),
        ("ask", "bees"),
    ]:
        line = cli_error(cli.run(*command), code=3)
        assert RECOVERY in line, (command, line)
    assert folder_state(cli.articles) == files  # the failed add took its copy back out


def test_damaged_index_pointer_names_the_recovery_command(cli: Workspace) -> None:
    (cli.index / location.POINTER).write_text('{"database": ')
    line = cli_error(cli.run("ask", KERRY), code=3)
    assert "current.json is damaged" in line and RECOVERY in line
    assert cli.run("index", "rebuild", "--full").returncode == 0
    assert json.loads(cli.run("ask", KERRY, "--json").stdout)["hits"][0]["title"] == REUTERS_TITLE


def test_pointer_to_a_path_outside_the_index_is_refused(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    (index / location.POINTER).write_text(json.dumps({"database": "../../etc/passwd"}))
    with pytest.raises(IndexCorruptError, match="damaged"):
        location.current_database(index)


# -- a full disk -------------------------------------------------------------------------------


@pytest.fixture
def full_disk() -> Iterator[Callable[[], None]]:
    """Call it to make every later store connection unable to grow its database."""
    saved = Store.connect
    yield fill_the_disk
    Store.connect = saved  # type: ignore[method-assign]


def _assert_disk_full(error: BaseException) -> None:
    assert isinstance(error, DiskFullError) and isinstance(error, NewsdeskError)
    message = one_line(str(error))
    assert message.startswith("the disk is full") and "free some space" in message.lower()


def test_sqlite_full_on_add_keeps_the_last_index(
    settings: RetrievalSettings, embedder: HashingEmbedder, full_disk: Callable[[], None]
) -> None:
    engine = Engine(settings, embedder).open()
    engine.add(SAMPLE_ARTICLES)
    before, answers = index_state(settings.index_dir), _answers(engine)
    full_disk()
    with pytest.raises(DiskFullError) as info:
        engine.add([make_article("lighthouses", "Lighthouses", BIG_TEXT)])
    _assert_disk_full(info.value)
    assert index_state(settings.index_dir) == before
    assert _answers(engine) == answers  # the running engine still answers
    assert _answers(Engine(settings, embedder).open()) == answers  # and the index loads


def test_sqlite_full_on_add_sources_takes_the_copy_back_out(
    settings: RetrievalSettings,
    embedder: HashingEmbedder,
    tmp_path: Path,
    full_disk: Callable[[], None],
) -> None:
    engine = Engine(settings, embedder).open()
    engine.add(SAMPLE_ARTICLES)
    note = tmp_path / "lighthouses.md"
    note.write_text(f"# Lighthouses\n\n{BIG_TEXT}\n")
    before, files = index_state(settings.index_dir), folder_state(settings.articles_dir)
    full_disk()
    with pytest.raises(DiskFullError) as info:
        add_sources(engine, settings, [str(note)])
    _assert_disk_full(info.value)
    assert index_state(settings.index_dir) == before
    assert folder_state(settings.articles_dir) == files


def test_sqlite_full_with_removals_is_all_or_nothing(
    settings: RetrievalSettings, embedder: HashingEmbedder, full_disk: Callable[[], None]
) -> None:
    """A sync that adds one article and drops another commits both or neither."""
    engine = Engine(settings, embedder).open()
    engine.add(SAMPLE_ARTICLES)
    before = index_state(settings.index_dir)
    full_disk()
    wanted = [*SAMPLE_ARTICLES[1:], make_article("lighthouses", "Lighthouses", BIG_TEXT)]
    with pytest.raises(DiskFullError):
        engine.sync(wanted, remove_missing=True)
    assert index_state(settings.index_dir) == before
    assert set(Engine(settings, embedder).open().snapshot.articles) == {
        a.id for a in SAMPLE_ARTICLES
    }


def _no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_no_space_for_the_article_file(
    engine: Engine, settings: RetrievalSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.add(SAMPLE_ARTICLES)
    note = tmp_path / "otters.md"
    note.write_text("# Otters\n\nOtters crack shellfish with stones.\n")
    before, files = index_state(settings.index_dir), folder_state(settings.articles_dir)
    monkeypatch.setattr("retrieval.files.shutil.copyfile", _no_space)
    outcome = add_sources(engine, settings, [str(note)])
    assert outcome.failed == [str(note)]
    assert "the disk is full: could not write" in one_line("\n".join(outcome.messages))
    monkeypatch.setattr("retrieval.files.os.fsync", _no_space)
    pasted = article_from_text("Otters crack shellfish with stones.", title="Otters")
    with pytest.raises(DiskFullError) as info:
        add_article(engine, settings, pasted)
    _assert_disk_full(info.value)
    assert index_state(settings.index_dir) == before
    assert folder_state(settings.articles_dir) == files  # no temp file left either


@pytest.mark.parametrize("where", ["os.replace", "faiss write"])
def test_derived_files_that_cannot_be_written_do_not_fail_the_add(
    settings: RetrievalSettings,
    embedder: HashingEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    where: str,
) -> None:
    """They are a cache: the add is committed to SQLite, searchable, and loads later."""
    engine = Engine(settings, embedder).open()
    engine.add(SAMPLE_ARTICLES[:2])
    if where == "os.replace":
        monkeypatch.setattr(derived_module.os, "replace", _no_space)  # type: ignore[attr-defined]
    else:

        def faiss_failure(self: DenseIndex, path: Path) -> None:
            path.write_bytes(b"\0" * 10)
            raise RuntimeError("write error in dense.faiss.tmp: 10 != 4096 (No space left)")

        # An add writes only the delta file; a new base would fail the same way.
        monkeypatch.setattr(DenseIndex, "save_base", faiss_failure)
        monkeypatch.setattr(DenseIndex, "save_changes", faiss_failure)
    with caplog.at_level(logging.WARNING, logger="retrieval"):
        report = engine.add(SAMPLE_ARTICLES[2:])
        reopened = Engine(settings, embedder).open()  # opening saves too: also only a warning
    assert report.added == ["trains"]
    assert "could not save the search index files" in caplog.text
    assert engine.search("Eurostar tunnel speed").hits[0].article_id == "trains"
    assert reopened.search("Eurostar tunnel speed").hits[0].article_id == "trains"
    leftovers = [p.name for p in _derived_folder(settings.index_dir).iterdir()]
    assert not [name for name in leftovers if name.startswith(".")], leftovers
    monkeypatch.undo()
    assert _answers(Engine(settings, embedder).open()) == _answers(engine)


def test_full_rebuild_out_of_space_keeps_the_previous_index(
    settings: RetrievalSettings, embedder: HashingEmbedder, full_disk: Callable[[], None]
) -> None:
    engine = Engine(settings, embedder).open()
    engine.add(SAMPLE_ARTICLES)
    before, answers = index_state(settings.index_dir), _answers(engine)
    full_disk()
    with pytest.raises(DiskFullError) as info:
        Engine(settings, embedder).rebuild_full(SAMPLE_ARTICLES)
    _assert_disk_full(info.value)
    assert index_state(settings.index_dir) == before
    assert [p.name for p in settings.index_dir.glob("newsdesk-*")] == [before.database]
    assert _answers(Engine(settings, embedder).open()) == answers


def test_full_rebuild_that_cannot_switch_keeps_the_previous_index(
    settings: RetrievalSettings, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(settings, embedder).open()
    engine.add(SAMPLE_ARTICLES)
    before, answers = index_state(settings.index_dir), _answers(engine)
    monkeypatch.setattr(location, "write_json_atomic", _no_space)
    with pytest.raises(DiskFullError) as info:
        Engine(settings, embedder).rebuild_full(SAMPLE_ARTICLES)
    assert "could not write the index pointer" in str(info.value)
    assert index_state(settings.index_dir) == before
    assert [p.name for p in settings.index_dir.glob("newsdesk-*")] == [before.database]
    assert _answers(Engine(settings, embedder).open()) == answers


def test_rebuild_removes_databases_left_by_killed_rebuilds(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    engine = Engine(settings, embedder).open()
    engine.add(SAMPLE_ARTICLES)
    for number in (7, 8):  # what a rebuild killed before its switch leaves
        Store(settings.index_dir / f"newsdesk-{number}.sqlite3").create({"schema_version": "1"})
    (settings.index_dir / "derived" / "0123abcd").mkdir()
    Engine(settings, embedder).rebuild_full(SAMPLE_ARTICLES)
    current = location.current_database(settings.index_dir)
    assert current is not None
    assert [p.name for p in settings.index_dir.glob("newsdesk-*")] == [current.name]
    assert len(list((settings.index_dir / "derived").iterdir())) == 1


def test_cli_add_on_a_full_disk_is_one_line(cli: Workspace, tmp_path: Path) -> None:
    note = tmp_path / "lighthouses.md"
    note.write_text(f"# Lighthouses\n\n{BIG_TEXT}\n")
    before, files = index_state(cli.index), folder_state(cli.articles)
    out = subprocess.run(
        [sys.executable, "-m", "tests.reliability.full_disk_cli", "add", str(note)],
        cwd=cli.root,
        env=cli.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = cli_error(out)
    assert line.startswith("error: the disk is full: could not write the index"), line
    assert index_state(cli.index) == before
    assert folder_state(cli.articles) == files
    assert cli.run("ask", KERRY).returncode == 0


def test_sqlite_error_codes_are_told_apart(tmp_path: Path) -> None:
    """Disk full, busy and damaged are three different messages (store._database_error)."""
    store = Store(tmp_path / "x.sqlite3")
    store.create({"schema_version": "1"})
    with pytest.raises(DiskFullError), store.transaction():
        raise sqlite3.OperationalError("database or disk is full")
    with pytest.raises(IndexBusyError, match="busy"), store.transaction():
        raise sqlite3.OperationalError("database is locked")
    with pytest.raises(IndexCorruptError, match="damaged"), store.transaction():
        raise sqlite3.DatabaseError("database disk image is malformed")
