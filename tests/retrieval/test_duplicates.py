"""One duplicate rule (retrieval.duplicates) for a batch, for an add against the index, for an
add through the articles folder, and for a folder sync; and the index of the previous schema,
which is given its URL keys in place."""

from __future__ import annotations

import pytest

from retrieval.collection import add_article, sync_with_folder
from retrieval.documents import Article
from retrieval.duplicates import dedupe, duplicate_keys, normalize_url, same_article
from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.errors import IndexMismatchError
from retrieval.index.store import SCHEMA_VERSION
from retrieval.loaders import write_article_file
from retrieval.settings import RetrievalSettings
from tests.factories import SAMPLE_ARTICLES, make_article

pytestmark = pytest.mark.timeout(60)

# The same page, written two ways.
URL, SAME_URL = "http://Example.com/a/", "http://example.com/a#top"


def _first(url: str = URL) -> Article:
    return make_article("first", "First", "Sea otters crack shellfish with stones.", url=url)


def _second(url: str = SAME_URL) -> Article:
    return make_article("second", "Second", "Lighthouses warn ships off the rocks.", url=url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.COM/Path/?q=1#frag", "https://example.com/Path?q=1"),
        ("https://example.com:443/a/", "https://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/", "https://example.com"),
        (URL, "http://example.com/a"),
        (SAME_URL, "http://example.com/a"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_a_batch_keeps_the_first_of_each_group() -> None:
    first = Article(id="x", title="X", text="Body one.", url="HTTP://Host.Example/a/")
    same_url = Article(id="y", title="Y", text="Body two.", url="http://host.example/a")
    same_text = Article(id="z", title="Z", text="body   ONE.")
    same_id = Article(id="x", title="X again", text="Body three.")
    other = Article(id="w", title="W", text="Body four.", url="http://host.example/b")
    kept, duplicates = dedupe([first, same_url, same_text, same_id, other])
    assert kept == [first, other]
    assert duplicates == [("y", "x"), ("z", "x"), ("x", "x")]


def test_different_text_and_different_urls_are_not_the_same_article(engine: Engine) -> None:
    first, other = _first(), _second(url="http://example.com/b")
    assert not same_article(first, other)
    assert duplicate_keys(first) != duplicate_keys(other)
    assert dedupe([first, other]) == ([first, other], [])
    engine.add([first])
    report = engine.add([other])
    assert report.duplicates == [] and report.added == ["second"]


def test_one_url_written_two_ways_is_one_article_in_a_batch(engine: Engine) -> None:
    assert same_article(_first(), _second())
    report = engine.add([_first(), _second()])
    assert report.duplicates == [("second", "first")]
    assert set(engine.snapshot.articles) == {"first"}


def test_one_url_written_two_ways_is_one_article_against_the_index(engine: Engine) -> None:
    engine.add([_first()])
    report = engine.add([_second()])
    assert report.duplicates == [("second", "first")] and report.written == []
    assert engine.store.find_duplicate(_second()) == "first"
    assert set(engine.snapshot.articles) == {"first"}


def _copy_elsewhere() -> Article:
    """The first article's text on another page."""
    return make_article("third", "Third", _first().text.upper(), url="http://example.com/b")


def test_add_article_reports_the_stored_copy_and_takes_its_file_back_out(
    engine: Engine, settings: RetrievalSettings
) -> None:
    added = add_article(engine, settings, _first())
    assert added.report.added == ["web/first"]
    outcome = add_article(engine, settings, _copy_elsewhere())
    assert outcome.report.duplicates == [("web/third", "web/first")]
    assert outcome.messages == ["already indexed as web/first"]
    web = settings.articles_dir / "web"
    assert sorted(p.name for p in web.iterdir()) == ["first.md"]
    assert set(engine.snapshot.articles) == {"web/first"}


def test_add_article_of_the_same_page_with_other_text_updates_it(
    engine: Engine, settings: RetrievalSettings
) -> None:
    """The page (its URL, written another way) is the article; its new text replaces the old
    in the same file (tests/retrieval/test_updates.py has the dates and the chunks)."""
    add_article(engine, settings, _first())
    outcome = add_article(engine, settings, _second())
    assert outcome.report.changed == ["web/first"] and not outcome.report.duplicates
    assert outcome.messages == ["Updated: Second"]
    web = settings.articles_dir / "web"
    assert sorted(p.name for p in web.iterdir()) == ["first.md"]
    stored = engine.get_article("web/first")
    assert stored is not None and stored.text == _second().text


def test_add_article_leaves_a_file_it_did_not_write(
    engine: Engine, settings: RetrievalSettings
) -> None:
    """An identical file was in the folder already (a duplicate a sync skips): not ours."""
    add_article(engine, settings, _first())
    there = write_article_file(settings.articles_dir / "web", _copy_elsewhere())
    outcome = add_article(engine, settings, _copy_elsewhere())
    assert outcome.report.duplicates == [("web/third", "web/first")]
    assert there.exists()


def test_a_folder_sync_drops_duplicates_by_the_same_rule(
    engine: Engine, settings: RetrievalSettings
) -> None:
    root = settings.articles_dir
    (root / "a.md").write_text("---\nurl: https://Example.com/story/#top\n---\nFirst copy.\n")
    (root / "b.md").write_text("---\nurl: https://example.com/story\n---\nOther words.\n")
    (root / "c.md").write_text("# One\n\nThe  same   TEXT\nhere.\n")
    (root / "d.txt").write_text("The same text here.\n")
    (root / "e.md").write_text("Unique.\n")
    report = sync_with_folder(engine, settings)
    assert report.duplicates == [("b", "a"), ("d", "c")]
    assert set(engine.snapshot.articles) == {"a", "c", "e"}


# -- an index of an older schema ----------------------------------------------------------


def test_an_index_of_an_older_schema_asks_for_a_rebuild(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    """Schema 4 reads dates from the articles (and groups wire copies): an index from before
    cannot be brought up to it without the files, so opening it names the rebuild."""
    engine = Engine(settings, embedder).open()
    engine.add([_first(), *SAMPLE_ARTICLES])
    with engine.store.transaction() as conn:
        conn.execute("UPDATE manifest SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(IndexMismatchError) as caught:
        Engine(settings, embedder).open()
    assert f"schema_version '3' (now '{SCHEMA_VERSION}')" in str(caught.value)
    assert "newsdesk index rebuild" in str(caught.value)
