"""Hostile files through the public entry points (`add_sources`, `newsdesk add`, a rebuild of
the folder): each is refused with one line naming it, nothing crashes, and neither the index
nor the articles folder changes. Loader-level details are in tests/loaders/."""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from retrieval.collection import add_sources
from retrieval.engine import Engine
from retrieval.loaders import load_folder
from retrieval.settings import RetrievalSettings
from tests.cli.helpers import Workspace
from tests.reliability.helpers import folder_state, index_state, one_line

pytestmark = pytest.mark.timeout(120)

SIZE_LIMIT = 20_000  # conftest.small_limits and the CLI runs below


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("story.txt", "Bees make honey. " * 50)
    return buffer.getvalue()


@dataclass(frozen=True)
class BadFile:
    name: str
    reason: str  # a part of the one-line reason
    make: Callable[[Path], object]


def _bytes(data: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(data)


BAD_FILES = [
    BadFile("photo.txt", "looks like binary data, not text", _bytes(bytes(range(256)) * 40)),
    BadFile(
        "latin.txt",
        "is not UTF-8 text (invalid byte at offset 3); save it as UTF-8",
        _bytes("Café crème, déjà vu, naïve façade.".encode("latin-1")),
    ),
    BadFile("empty.md", "is empty", _bytes(b"")),
    BadFile("blank.txt", "has no text, only whitespace", _bytes(b" \n\t\n")),
    BadFile("huge.txt", "is larger than the 20 kB limit", _bytes(b"Honey bees. " * 5_000)),
    BadFile("notes.txt", "looks like a zip archive, not text", _bytes(_zip_bytes())),
    BadFile(
        "broken.md",
        "has front matter that is not valid YAML (line 3)",
        _bytes(b"---\ntitle: [unclosed\nurl: : :\n---\nThe body of the story.\n"),
    ),
    BadFile(
        "aliases.md",
        "has front matter that is not valid YAML",
        _bytes(b'---\na: &a ["x","x"]\nb: &b [*a,*a]\ntitle: *b\n---\nBody text here.\n'),
    ),
    BadFile(
        "escape.md",
        "front matter with a \\u escape that is not a character",
        _bytes(b'---\ntitle: "Bad \\ud800 title"\n---\nSome body text about whales.\n'),
    ),
    BadFile(
        "feed.jsonl",
        "has no usable lines (3 bad)",
        _bytes(
            b'{"id": "s1", "title": "x", "text": "Honey \\ud800 bees."}\nnot json at all\n'
            b'{"id": "s2", "title": "no text"}\n'
        ),
    ),
    BadFile("utf16.txt", "is UTF-16 or UTF-32 text", _bytes("Bees make honey.".encode("utf-16"))),
    BadFile("report.docx", "unsupported file type", _bytes(_zip_bytes())),
    BadFile("report.pdf", "is not a readable PDF (damaged or incomplete?)", _bytes(b"%PDF-1.7")),
    BadFile("pipe.txt", "is not a regular file", lambda path: os.mkfifo(path)),
]
IDS = [case.name for case in BAD_FILES]
_IN_FOLDER = (".txt", ".md", ".jsonl", ".pdf")  # what a rebuild reads (and names when bad)


def _incoming(tmp_path: Path, case: BadFile) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir(exist_ok=True)
    path = folder / case.name
    case.make(path)
    return path


@pytest.mark.parametrize("case", BAD_FILES, ids=IDS)
def test_add_sources_refuses_bad_files(
    limited_engine: Engine, small_limits: RetrievalSettings, tmp_path: Path, case: BadFile
) -> None:
    path = _incoming(tmp_path, case)
    before, files = index_state(limited_engine.index_dir), folder_state(small_limits.articles_dir)
    started = time.monotonic()
    outcome = add_sources(limited_engine, small_limits, [str(path)])
    assert time.monotonic() - started < 5
    assert outcome.failed == [str(path)]
    message = one_line("\n".join(outcome.messages))
    assert message.startswith(f"skipped {path}: ") and case.reason in message, message
    assert case.name in message.removeprefix(f"skipped {path}: ")
    assert outcome.report.written == []
    assert index_state(limited_engine.index_dir) == before
    assert folder_state(small_limits.articles_dir) == files  # no copy left behind


def test_cli_add_refuses_every_bad_file_in_one_line_each(cli: Workspace, tmp_path: Path) -> None:
    """All of them in one `newsdesk add` (a process start costs a second on a busy CI box)."""
    paths = [_incoming(tmp_path, case) for case in BAD_FILES]
    before, files = index_state(cli.index), folder_state(cli.articles)
    out = cli.run("add", *map(str, paths), NEWSDESK_MAX_ARTICLE_BYTES=str(SIZE_LIMIT), timeout=60)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    # Besides the one line per file, the only output is the JSONL loader's per-line warnings.
    lines = [line for line in out.stderr.splitlines() if " WARNING retrieval.loaders" not in line]
    assert len(lines) == len(BAD_FILES), out.stderr
    for line, path, case in zip(lines, paths, BAD_FILES, strict=True):
        assert line.startswith(f"skipped {path}: ") and case.reason in line, line
    assert one_line(out.stdout).startswith(f"Added 0 articles, 0 chunks, {len(BAD_FILES)} failed")
    assert index_state(cli.index) == before
    assert folder_state(cli.articles) == files


@pytest.mark.parametrize(
    "markup",
    [
        "<div>" * 400_000 + "deep text" + "</div>" * 400_000,
        "<table><tr><td>" * 100_000 + "cell" + "</td></tr></table>" * 100_000,
        "<div><p>word word word</p><span>x</span>" * 100_000,
    ],
    ids=["nested-divs", "nested-tables", "wide"],
)
def test_megabytes_of_markup_finish_fast_or_are_refused(
    engine: Engine, settings: RetrievalSettings, tmp_path: Path, markup: str
) -> None:
    path = tmp_path / "bomb.html"
    path.write_text(f"<html><body>{markup}</body></html>", encoding="utf-8")
    assert path.stat().st_size > 3_000_000
    before = index_state(engine.index_dir)
    started = time.monotonic()
    outcome = add_sources(engine, settings, [str(path)])
    assert time.monotonic() - started < 10
    if outcome.failed:
        assert "no article text could be extracted" in one_line("\n".join(outcome.messages))
        assert index_state(engine.index_dir) == before
    else:  # extracted: then it is a normal, answerable article
        [article_id] = outcome.report.added
        assert engine.search("word", abstain=False).hits[0].article_id == article_id


def test_rebuild_skips_every_bad_file_in_the_folder(
    limited_engine: Engine, small_limits: RetrievalSettings
) -> None:
    """All the bad files sitting in the articles folder: a rebuild names each and goes on."""
    folder = small_limits.articles_dir
    (folder / "good.md").write_text("# Good\n\nOtters crack shellfish with stones.\n")
    for case in BAD_FILES:
        if case.name.endswith(_IN_FOLDER) and case.name != "pipe.txt":
            case.make(folder / case.name)
    loaded = load_folder(folder, max_bytes=small_limits.max_article_bytes)
    skipped = {path for path, _reason in loaded.skipped}
    assert skipped == {c.name for c in BAD_FILES if c.name.endswith(_IN_FOLDER)} - {"pipe.txt"}
    assert all("\n" not in reason for _path, reason in loaded.skipped)
    report = limited_engine.sync(loaded.articles, remove_missing=True)
    assert report.added == ["good"]
    assert set(limited_engine.snapshot.articles) == {"good"}
