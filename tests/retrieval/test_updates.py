"""Stories that change: the same page (or file) with new text is the same article, updated:
its text and chunks are replaced (only new chunks encoded), its first published date kept,
`updated` set, its id and file kept; the same text again is "already indexed"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from retrieval.collection import add_article, add_sources
from retrieval.documents import Article
from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.errors import DiskFullError
from retrieval.loaders import load_file
from retrieval.settings import RetrievalSettings
from tests.factories import make_article
from tests.retrieval.backends import BACKENDS, on_backend

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, settings: RetrievalSettings) -> RetrievalSettings:
    return on_backend(request, settings)


URL = "https://news.example/2024/05/harbour-strike"
FIRST = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)
PARAGRAPHS = [
    f"Dock workers in Portmere walked out on day {n} of the dispute over shift lengths, "
    f"and union leader Ana Brel said talks with the port authority had stalled again. "
    f"Ships waited offshore while cranes {n} stood idle along the northern quay."
    for n in range(1, 7)
]
NEW_PARAGRAPH = (
    "Late on Thursday the port authority offered a shorter night shift, and the union said it "
    "would put the offer to a vote of its members on Saturday morning."
)


def _page(text: str, **meta: str | dt.datetime) -> Article:
    values: dict[str, str | dt.datetime] = {"url": URL, "published": FIRST, "source": "Gazette"}
    values.update(meta)
    return make_article("news-example-2024-05-harbour-strike", "Harbour strike", text, **values)


def _chunk_hashes(engine: Engine, article_id: str) -> set[str]:
    with engine.store.reading() as conn:
        rows = conn.execute("SELECT embed_hash FROM chunks WHERE article_id = ?", (article_id,))
        return {r[0] for r in rows.fetchall()}


def test_the_same_page_with_new_text_updates_its_article(
    engine: Engine, settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    first = add_article(engine, settings, _page("\n\n".join(PARAGRAPHS)))
    [article_id] = first.report.added
    path = settings.articles_dir / "web" / "news-example-2024-05-harbour-strike.md"
    assert engine.get_article(article_id) is not None and path.exists()
    old_hashes = _chunk_hashes(engine, article_id)
    encoded_before = embedder.texts_encoded

    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # The page as fetched again: a paragraph more, and (wrongly) today as its date.
    again = _page("\n\n".join([*PARAGRAPHS, NEW_PARAGRAPH]), published=before)
    outcome = add_article(engine, settings, again)
    after = dt.datetime.now(dt.UTC)

    assert outcome.report.changed == [article_id] and not outcome.report.added
    assert outcome.messages == ["Updated: Harbour strike"]
    assert [a["status"] for a in outcome.as_json()] == ["updated"]
    stored = engine.get_article(article_id)
    assert stored is not None and NEW_PARAGRAPH in stored.text
    assert stored.published == FIRST  # the first published date is kept
    assert stored.updated is not None and before <= stored.updated <= after
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # the same file
    [reloaded] = load_file(path, root=settings.articles_dir, max_bytes=100_000)
    assert (reloaded.id, reloaded.published, reloaded.updated) == (
        article_id,
        FIRST,
        stored.updated,
    )
    assert reloaded.text == stored.text
    # Only the passages whose text is new were encoded.
    new_hashes = _chunk_hashes(engine, article_id)
    assert 0 < outcome.report.chunks_encoded == len(new_hashes - old_hashes) < len(new_hashes)
    encoded = outcome.report.chunks_encoded + outcome.report.sentences_encoded
    assert embedder.texts_encoded - encoded_before == encoded
    result = engine.search("offer a shorter night shift vote on Saturday", k=3)
    assert result.hits[0].article_id == article_id and "Saturday" in result.hits[0].excerpt


def test_the_source_s_own_updated_date_is_kept(engine: Engine, settings: RetrievalSettings) -> None:
    add_article(engine, settings, _page("\n\n".join(PARAGRAPHS)))
    said = dt.datetime(2024, 5, 3, 18, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    add_article(engine, settings, _page(NEW_PARAGRAPH, updated=said))
    [stored] = engine.snapshot.articles.values()
    assert (stored.published, stored.updated) == (FIRST, said)
    assert stored.text == NEW_PARAGRAPH


def test_the_same_text_again_is_already_indexed(
    engine: Engine, settings: RetrievalSettings
) -> None:
    add_article(engine, settings, _page("\n\n".join(PARAGRAPHS)))
    path = settings.articles_dir / "web" / "news-example-2024-05-harbour-strike.md"
    before = path.read_bytes()
    # Fetched again: the same words, another date parsed off the page.
    outcome = add_article(
        engine, settings, _page("\n\n".join(PARAGRAPHS), published=FIRST.replace(day=9))
    )
    assert outcome.report.unchanged == 1 and not outcome.report.written
    assert [a["status"] for a in outcome.as_json()] == ["unchanged"]
    assert "Added 0 articles" in outcome.summary() and "1 already indexed" in outcome.summary()
    assert path.read_bytes() == before
    [stored] = engine.snapshot.articles.values()
    assert stored.updated is None


def test_another_page_with_the_same_text_is_a_duplicate(
    engine: Engine, settings: RetrievalSettings
) -> None:
    add_article(engine, settings, _page("\n\n".join(PARAGRAPHS)))
    copy = make_article("elsewhere", "Harbour", "\n\n".join(PARAGRAPHS), url=URL + "-copy")
    outcome = add_article(engine, settings, copy)
    assert [a["status"] for a in outcome.as_json()] == ["duplicate"]
    assert outcome.as_json()[0]["same_as"] == "web/news-example-2024-05-harbour-strike"


def _story_file(folder: Path, body: str, url: str = URL) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "harbour.md"
    path.write_text(
        f"---\ntitle: Harbour strike\nurl: {url}\npublished: 2024-05-01T09:00:00+00:00\n---\n\n"
        f"{body}\n",
        encoding="utf-8",
    )
    return path


def test_the_same_file_with_new_text_updates_its_article(
    engine: Engine, settings: RetrievalSettings, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    source = _story_file(outside, "\n\n".join(PARAGRAPHS))
    assert add_sources(engine, settings, [str(source)]).report.added == ["harbour"]
    _story_file(outside, "\n\n".join([*PARAGRAPHS, NEW_PARAGRAPH]))
    outcome = add_sources(engine, settings, [str(source)])
    assert outcome.report.changed == ["harbour"]
    assert "Updated: Harbour strike" in outcome.messages
    assert outcome.summary().startswith("Added 0 articles, 1 updated")
    copy = settings.articles_dir / "harbour.md"
    [saved] = load_file(copy, root=settings.articles_dir, max_bytes=100_000)
    assert NEW_PARAGRAPH in saved.text and saved.published == FIRST
    assert saved.updated is not None
    # Another page that happens to have the same file name is not an update.
    other = _story_file(tmp_path / "other", "Different words.", url="https://other.example/x")
    refused = add_sources(engine, settings, [str(other)])
    assert refused.failed == [str(other)] and "already exists" in refused.messages[0]
    assert NEW_PARAGRAPH in copy.read_text(encoding="utf-8")


def test_an_update_that_cannot_be_indexed_puts_the_file_back(
    engine: Engine, settings: RetrievalSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_article(engine, settings, _page("\n\n".join(PARAGRAPHS)))
    path = settings.articles_dir / "web" / "news-example-2024-05-harbour-strike.md"
    before = path.read_bytes()

    def full(*args: object, **kwargs: object) -> None:
        raise DiskFullError("the disk is full")

    monkeypatch.setattr(engine, "add", full)
    with pytest.raises(DiskFullError):
        add_article(engine, settings, _page(NEW_PARAGRAPH))
    assert path.read_bytes() == before
