"""Polling a feed end to end: real HTTP on loopback, real feedparser, a real (hashing) index."""

from __future__ import annotations

import pytest

from retrieval.engine import Engine
from retrieval.feeds.poller import FeedPoller
from retrieval.settings import RetrievalSettings
from tests.feeds.conftest import FakeClock
from tests.feeds.server import FeedServer, Route, rss

STORY = [
    "The harbour authority approved a new ferry terminal on Tuesday after two years of talks "
    "with residents, shipping firms and the regional government.",
    "Construction is expected to begin in the spring and to last eighteen months, officials "
    "said, with the old terminal staying open until the new one is ready.",
    "Residents had asked for a noise barrier along the quay, which the final plan includes, "
    "together with a cycle path linking the terminal to the town centre.",
]
OTHER = [
    "The city library will extend its opening hours from next month, staying open until "
    "ten in the evening on weekdays, the council announced.",
    "Librarians said students had asked for longer hours during exam periods, and that the "
    "change would be reviewed after six months of use by the public.",
    "The extra hours are paid for by a grant from a regional education fund, which also "
    "covers new study desks on the second floor of the building.",
]


def _items(server: FeedServer) -> list[dict[str, str]]:
    return [
        {
            "title": "Harbour approves ferry terminal",
            "link": server.page("/news/ferry", "Harbour approves ferry terminal", STORY),
            "guid": "ferry-1",
            "pubDate": "Tue, 01 Dec 2026 09:00:00 +0100",
            "description": "The harbour authority approved a new ferry terminal.",
        },
        {
            "title": "Library extends opening hours",
            "link": server.page("/news/library", "Library extends opening hours", OTHER),
            "guid": "library-1",
            "pubDate": "Tue, 01 Dec 2026 11:30:00 +0100",
        },
    ]


async def test_new_entries_become_articles_once(
    poller: FeedPoller,
    feed_server: FeedServer,
    feed_engine: Engine,
    feed_settings: RetrievalSettings,
) -> None:
    url = feed_server.set("/feed.xml", Route(rss("Town News", _items(feed_server)), etag='"v1"'))
    feed = await poller.subscribe(url)
    assert feed.title == "Town News"
    report = await poller.poll(feed)
    assert report.error is None, report.error
    assert sorted(a.title for a in report.added) == [
        "Harbour approves ferry terminal",
        "Library extends opening hours",
    ]
    ferry = next(a for a in report.added if a.title.startswith("Harbour"))
    assert ferry.text.startswith("The harbour authority approved")  # the page, not the teaser
    assert ferry.source == "Town News"
    assert ferry.extra["feed"] == str(feed.id)
    assert ferry.published is not None and ferry.published.utcoffset() is not None
    saved = feed_settings.articles_dir / f"{ferry.id}.md"
    assert saved.is_file() and "source: Town News" in saved.read_text(encoding="utf-8")
    hits = feed_engine.search("When does construction of the ferry terminal begin?").hits
    assert hits and hits[0].title == "Harbour approves ferry terminal"

    again = await poller.poll(poller.store.get(feed.id))
    assert again.not_modified and not again.added
    assert feed_server.conditional_hits["/feed.xml"] == 1
    assert feed_engine.status().articles == 2


async def test_an_entry_whose_page_fails_uses_its_own_text(
    poller: FeedPoller, feed_server: FeedServer
) -> None:
    own = " ".join(STORY)
    items = [
        {
            "title": "Harbour approves ferry terminal",
            "link": feed_server.url("/gone"),
            "guid": "x",
            "description": own,
        }
    ]
    url = feed_server.set("/feed.xml", Route(rss("Town News", items)))
    report = await poller.poll(await poller.subscribe(url))
    assert [a.text for a in report.added] == ["\n\n".join([own])]


async def test_changed_entry_updates_its_article(
    poller: FeedPoller, feed_server: FeedServer, feed_engine: Engine, clock: FakeClock
) -> None:
    items = _items(feed_server)[:1]
    url = feed_server.set("/feed.xml", Route(rss("Town News", items)))
    feed = await poller.subscribe(url)
    first = await poller.poll(feed)
    [article] = first.added
    feed_server.page(
        "/news/ferry", "Harbour approves ferry terminal", [*STORY, "Work starts in May."]
    )
    items[0]["atom:updated"] = "2026-12-01T15:00:00+01:00"
    feed_server.set(
        "/feed.xml",
        Route(
            rss("Town News", items).replace(
                b"<rss version='2.0'>",
                b"<rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'>",
            )
        ),
    )
    clock.advance(3600)
    second = await poller.poll(poller.store.get(feed.id))
    assert [a.id for a in second.updated] == [article.id]
    assert not second.added
    stored = feed_engine.get_article(article.id)
    assert stored is not None and stored.text.endswith("Work starts in May.")
    assert feed_engine.status().articles == 1


@pytest.mark.parametrize("content_type", ["application/atom+xml", "application/feed+json"])
async def test_atom_and_json_feed(
    poller: FeedPoller, feed_server: FeedServer, content_type: str
) -> None:
    link = feed_server.page("/news/ferry", "Harbour approves ferry terminal", STORY)
    if content_type == "application/atom+xml":
        body = (
            "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            "<title>Town News</title><id>urn:town</id><updated>2026-12-01T10:00:00Z</updated>"
            f"<entry><title>Harbour approves ferry terminal</title><link href='{link}'/>"
            "<id>urn:ferry</id><published>2026-12-01T09:00:00+01:00</published>"
            "<updated>2026-12-01T09:00:00+01:00</updated></entry></feed>"
        ).encode()
    else:
        body = (
            '{"version": "https://jsonfeed.org/version/1.1", "title": "Town News", "items": ['
            f'{{"id": "ferry", "url": "{link}", "title": "Harbour approves ferry terminal",'
            ' "date_published": "2026-12-01T09:00:00+01:00"}]}'
        ).encode()
    url = feed_server.set("/feed", Route(body, content_type=content_type))
    feed = await poller.subscribe(url)
    report = await poller.poll(feed)
    assert [a.title for a in report.added] == ["Harbour approves ferry terminal"]
    assert feed.kind == ("atom" if "atom" in content_type else "json")


async def test_a_poll_that_dies_after_indexing_is_not_indexed_twice(
    poller: FeedPoller,
    feed_server: FeedServer,
    feed_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crash between the index's commit and the entries' record: the next poll reads the
    feed again and the index's duplicate check keeps each story once."""
    url = feed_server.set("/feed.xml", Route(rss("Town News", _items(feed_server)), etag='"1"'))
    feed = await poller.subscribe(url)

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed")

    with monkeypatch.context() as patched:
        patched.setattr(poller.store, "record_entries", crash)
        with pytest.raises(SystemExit):
            await poller.poll(feed)
    assert feed_engine.status().articles == 2
    again = await poller.poll(poller.store.get(feed.id))
    assert again.error is None and not again.not_modified  # the ETag was not saved
    assert again.added == [] and feed_engine.status().articles == 2
    assert poller.store.get(feed.id).entries == 2
    third = await poller.poll(poller.store.get(feed.id))
    assert third.not_modified


async def test_the_same_story_from_two_feeds_is_one_group(
    poller: FeedPoller, feed_server: FeedServer, feed_engine: Engine
) -> None:
    wire = [*STORY, "The regional government will pay a third of the cost, it said."]
    feed_server.page("/a/ferry", "Harbour approves ferry terminal", wire)
    feed_server.page("/b/ferry", "Harbour approves new ferry terminal", ["(Wire)", *wire])
    for name in ("a", "b"):
        items = [{"title": f"Ferry ({name})", "link": feed_server.url(f"/{name}/ferry")}]
        feed_server.set(f"/{name}.xml", Route(rss(f"Paper {name.upper()}", items)))
        await poller.poll(await poller.subscribe(feed_server.url(f"/{name}.xml")))
    assert feed_engine.status().articles == 2
    hits = feed_engine.search("Who pays a third of the ferry terminal's cost?").hits
    ferry = [h for h in hits if "ferry" in h.title.lower()]
    assert len({h.article_id for h in ferry}) == 1, [h.title for h in hits]
    assert ferry[0].also_in, "the copy from the other feed is named, not quoted again"


async def test_a_news_sitemap_and_a_page_naming_its_feed(
    poller: FeedPoller, feed_server: FeedServer
) -> None:
    link = feed_server.page("/news/ferry", "Harbour approves ferry terminal", STORY)
    sitemap = (
        "<?xml version='1.0' encoding='UTF-8'?>"
        "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'"
        " xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>"
        f"<url><loc>{link}</loc><news:news><news:publication><news:name>Town News</news:name>"
        "<news:language>en</news:language></news:publication>"
        "<news:publication_date>2026-12-01T09:00:00+01:00</news:publication_date>"
        "<news:title>Harbour approves ferry terminal</news:title></news:news></url></urlset>"
    ).encode()
    feed_server.set("/sitemap-news.xml", Route(sitemap, content_type="application/xml"))
    feed = await poller.subscribe(feed_server.url("/sitemap-news.xml"))
    assert (feed.kind, feed.title) == ("sitemap", "Town News")
    report = await poller.poll(feed)
    [article] = report.added
    assert article.published is not None and article.published.isoformat().startswith("2026-12-01")

    feed_server.set("/rss.xml", Route(rss("Town Wire", _items(feed_server)[:1])))
    home = (
        b"<html><head><title>Town</title>"
        b"<link rel='alternate' type='application/rss+xml' title='Wire' href='/rss.xml'>"
        b"</head><body><p>Welcome</p></body></html>"
    )
    feed_server.set("/", Route(home, content_type="text/html; charset=utf-8"))
    found = await poller.subscribe(feed_server.url("/"))
    assert found.url == feed_server.url("/rss.xml") and found.title == "Town Wire"


async def test_an_undated_entry_whose_text_changes_updates_its_article(
    poller: FeedPoller, feed_server: FeedServer, feed_engine: Engine
) -> None:
    own = " ".join(STORY)
    item = {"title": "Harbour approves ferry terminal", "guid": "ferry", "description": own}
    url = feed_server.set("/feed.xml", Route(rss("Town News", [item])))
    feed = await poller.subscribe(url)
    [article] = (await poller.poll(feed)).added
    same = await poller.poll(poller.store.get(feed.id))
    assert not same.added and not same.updated
    item["description"] = own + " Correction: the terminal opens in 2028."
    feed_server.set("/feed.xml", Route(rss("Town News", [item])))
    changed = await poller.poll(poller.store.get(feed.id))
    assert [a.id for a in changed.updated] == [article.id]
    stored = feed_engine.get_article(article.id)
    assert stored is not None and stored.text.endswith("opens in 2028.")
