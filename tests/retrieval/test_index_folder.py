"""The index folder as users meet it: read-only (searchable, never written), or deleted under
a running process (rebuilt by a whole-collection write, else a plain error, never a stub)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from retrieval.collection import add_article, remove_article, sync_with_folder
from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine, InterruptedWrite
from retrieval.errors import IndexMissingError, IndexReadOnlyError
from retrieval.index import location
from retrieval.settings import RetrievalSettings
from tests.factories import SAMPLE_ARTICLES, make_article


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder`, with its size and modification time."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def databases(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.sqlite3*")) if folder.exists() else []


def test_a_deleted_index_folder_is_built_again_by_a_folder_sync(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    for article in SAMPLE_ARTICLES:
        (settings.articles_dir / f"{article.id}.md").write_text(
            f"# {article.title}\n\n{article.text}\n", encoding="utf-8"
        )
    engine = Engine(settings, embedder).open()
    sync_with_folder(engine, settings)
    shutil.rmtree(settings.index_dir)  # under the running chat or bot

    assert not engine.search("How many eggs does the queen bee lay?").abstained  # in memory
    with pytest.raises(IndexMissingError, match="was deleted while newsdesk was running"):
        add_article(engine, settings, make_article("owls", "Owls", "Barn owls hunt voles."))
    with pytest.raises(IndexMissingError, match="was deleted"):
        remove_article(engine, settings, "bees")
    assert (settings.articles_dir / "bees.md").exists()  # refused before its file went
    assert not (settings.articles_dir / "web").exists()
    assert databases(settings.index_dir) == []  # no empty database left behind

    report = sync_with_folder(engine, settings)  # /reindex, `newsdesk index rebuild`
    assert len(report.added) == len(SAMPLE_ARTICLES)
    assert len(databases(settings.index_dir)) == 1
    reopened = Engine(settings, embedder).open(create=False)
    assert set(reopened.snapshot.articles) == {a.id for a in SAMPLE_ARTICLES}
    assert reopened.search("How many eggs does the queen bee lay?").hits[0].article_id == "bees"


def test_a_search_after_the_folder_went_says_so_plainly(engine: Engine) -> None:
    engine.add(SAMPLE_ARTICLES)
    shutil.rmtree(engine.index_dir)
    with pytest.raises(IndexMissingError, match="is gone"):
        engine.list_articles()
    assert databases(engine.index_dir) == []


@pytest.mark.parametrize("how", ["setting", "folder"])
def test_a_read_only_index_is_searched_and_never_written(
    settings: RetrievalSettings, embedder: HashingEmbedder, how: str
) -> None:
    Engine(settings, embedder).open().add(SAMPLE_ARTICLES)
    # Derived files missing: a writable index would save them again on open.
    shutil.rmtree(settings.index_dir / "derived")
    before = tree(settings.index_dir)
    if how == "setting":
        settings = settings.model_copy(update={"index_read_only": True})
    else:
        settings.index_dir.chmod(0o555)
        if os.access(settings.index_dir, os.W_OK):
            settings.index_dir.chmod(0o755)
            pytest.skip("running as root: file modes do not stop writes (the setting case runs)")
    try:
        engine = Engine(settings, embedder).open()
        assert engine.read_only
        assert engine.search("How many eggs does the queen bee lay?").hits[0].article_id == "bees"
        assert engine.list_articles()[1] == len(SAMPLE_ARTICLES)
        assert engine.status().articles == len(SAMPLE_ARTICLES)
        assert not engine.reload_if_changed()
        for write in (
            lambda: engine.add([make_article("owls", "Owls", "Barn owls hunt voles.")]),
            lambda: engine.remove("bees"),
            lambda: engine.rebuild_full(SAMPLE_ARTICLES),
            lambda: sync_with_folder(engine, settings),
            lambda: add_article(engine, settings, make_article("o", "Owls", "Owls hunt.")),
        ):
            with pytest.raises(IndexReadOnlyError, match="read-only") as raised:
                write()
            assert "rebuild" not in str(raised.value)
        assert list(settings.articles_dir.iterdir()) == []
    finally:
        settings.index_dir.chmod(0o755)
    after = tree(settings.index_dir)
    if how == "setting":
        # In a writable folder SQLite's read-only connections still share the writers' -shm
        # and -wal files (that is what keeps them safe beside a writer); nothing else is made.
        after = {k: v for k, v in after.items() if not k.endswith(("-shm", "-wal"))}
    assert after == before
    assert location.current_database(settings.index_dir) is not None


class _InterruptAfter:
    """A progress display whose `advance` is Ctrl-C once `limit` vectors were encoded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.done = 0

    def start(self, total: int, description: str) -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        if self.done > self.limit:
            raise KeyboardInterrupt


def test_ctrl_c_during_a_sync_says_how_many_articles_were_saved(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    settings = settings.model_copy(update={"sentence_vectors": False})
    engine = Engine(settings, embedder).open()
    articles = [
        make_article(f"a{i}", f"Story {i}", f"Story number {i} tells of harbour {i} and more.")
        for i in range(200)
    ]
    # One chunk each: the first batch (64 chunks) is committed before the interrupt.
    with pytest.raises(InterruptedWrite) as raised:
        engine.sync(articles, remove_missing=True, progress=_InterruptAfter(100))
    saved = Engine(settings, embedder).open(create=False).store.counts()[0]
    assert 0 < saved < 200
    assert str(raised.value) == (
        f"interrupted: {saved} of 200 articles saved; run `newsdesk index rebuild` to finish"
    )
    assert isinstance(raised.value, KeyboardInterrupt)
    report = engine.sync(articles, remove_missing=True)  # finishing
    assert len(report.added) == 200 - saved and report.unchanged == saved


def test_a_database_switched_by_another_process_is_not_taken_for_a_deleted_one(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    running = Engine(settings, embedder).open()
    running.add(SAMPLE_ARTICLES)
    Engine(settings, embedder).open().rebuild_full(SAMPLE_ARTICLES)  # `index rebuild --full`
    assert not running.store.path.exists()  # the database it opened is gone, replaced
    owl = make_article("owls", "Owls", "Barn owls hunt voles over the meadow at dusk.")
    assert running.add([owl]).added == ["owls"]
    assert "owls" in Engine(settings, embedder).open(create=False).snapshot.articles
