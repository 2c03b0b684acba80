"""How fast do feeds fill an empty index, and does polling keep the event loop responsive?

20 RSS feeds of 50 entries each (4 x 10 in quick runs) on a loopback server (the feed
tests' threaded server, tests/feeds/server.py), every entry linking to an HTML page of
300-580 words with a pubDate. The texts are the news dev set, SQuAD's articles and
Cranfield's abstracts cut into consecutive pieces (deterministic, no piece used twice, so
the near-duplicate check has nothing to drop). Into a fresh, empty index with the default
encoder: every feed subscribed, then one `poll_due` over all of them.

Measured: wall time (subscribing, polling, both), entries per second, the seconds spent
inside the encoder's `encode` (a timing wrapper passed to the Engine) and so the share that
is not encoding (goal: <= 15 %), how much of the poll the index writes took (`add_articles`:
Markdown files, SQLite, chunking, near-duplicate check, encoding, the snapshot), and the
event loop's largest stall while polling: a probe task sleeping 5 ms in a loop on the same
loop records how late each wake-up is (goal: max <= 100 ms; p99 reported too).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.add_latency import TimedEncoder
from bench.common import EVAL, REPO, Options, Run, load_embedder, parse_args, read_jsonl
from tests.feeds.server import FeedServer, Route, http_date, rss, serving
from tests.loop_stalls import Ticker

NON_ENCODING_GOAL = 0.15  # share of the end-to-end wall time outside `encode`
STALL_GOAL_SECONDS = 0.1
PROBE_SECONDS = 0.005
FIRST_PUBLISHED = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


def paragraphs() -> Iterator[tuple[str, str]]:
    """(title, paragraph) from the news dev set, then SQuAD, then Cranfield, in file order."""
    sources = (
        REPO / "bench" / "news" / "articles.jsonl",
        EVAL / "squad" / "articles_full.jsonl",
        EVAL / "cranfield" / "articles.jsonl",
    )
    for path in sources:
        for row in read_jsonl(path):
            title = " ".join(str(row.get("title") or row["id"]).split())[:80]
            for block in str(row["text"]).split("\n"):
                text = " ".join(block.split())
                if text:
                    yield title, text


def stories(count: int) -> list[tuple[str, list[str]]]:
    """`count` (title, paragraphs) of 300-580 words each (lengths drawn with a fixed seed):
    consecutive paragraphs, the last one cut where the story is long enough and its rest
    starting the next story, so no text is used twice."""
    rng = random.Random(11)
    source = paragraphs()
    rest: tuple[str, str] | None = None
    out: list[tuple[str, list[str]]] = []
    for number in range(count):
        want = rng.randint(300, 580)
        title, words, kept = "", 0, []
        while words < want:
            piece = rest if rest is not None else next(source, None)
            rest = None
            if piece is None:
                raise RuntimeError(f"the source texts ran out at story {number}")
            name, text = piece
            title = title or name
            split = text.split()
            if words + len(split) > want:
                rest = (name, " ".join(split[want - words :]))
                split = split[: want - words]
            kept.append(" ".join(split))
            words += len(split)
        out.append((f"{title} ({number + 1})", kept))
    return out


def publish(server: FeedServer, feeds: int, entries: int) -> tuple[list[str], list[int]]:
    """Feed URLs and the pages' word counts; every entry's page served too, newest entry
    first in each feed."""
    made = stories(feeds * entries)
    texts = iter(made)
    urls = []
    for feed in range(feeds):
        items = []
        for entry in range(entries):
            title, body = next(texts)
            link = server.page(f"/news/{feed}/story-{entry}.html", title, body)
            when = FIRST_PUBLISHED + dt.timedelta(minutes=7 * (feed * entries + entry))
            teaser = " ".join(body[0].split()[:15])
            items.append(
                {
                    "title": title,
                    "link": link,
                    "guid": link,
                    "pubDate": http_date(when),
                    "description": teaser,
                }
            )
        items.reverse()
        body_xml = rss(f"Bench Wire {feed}", items)
        urls.append(server.set(f"/feeds/{feed}.xml", Route(body_xml)))
    return urls, [sum(len(p.split()) for p in body) for _, body in made]


def spread_ms(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"max": round(max(values, default=0.0) * 1000, 1), "p99": 0.0, "n": len(values)}
    p99 = statistics.quantiles(values, n=100, method="inclusive")[98]
    return {
        "max": round(max(values) * 1000, 1),
        "p99": round(p99 * 1000, 1),
        "p50": round(statistics.median(values) * 1000, 2),
        "n": len(values),
    }


class CountedEncoder(TimedEncoder):
    """The timing wrapper, also counting the calls and the texts encoded."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.calls = 0
        self.texts = 0

    def encode(self, texts: Any, **kwargs: Any) -> Any:
        self.calls += 1
        self.texts += len(texts)
        return super().encode(texts, **kwargs)


class TimedIndexWrites:
    """Adds up the time the poller spends in `add_articles` (its one index write per feed)."""

    def __init__(self) -> None:
        from retrieval.feeds import poller

        self.module = poller
        self.original = getattr(poller, "add_articles")  # noqa: B009  (patched below)
        self.seconds = 0.0
        self.calls = 0
        self.spans: list[tuple[float, float]] = []  # time.monotonic(), as the probe's samples

    def __enter__(self) -> TimedIndexWrites:
        original = self.original

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                self.spans.append((started, time.monotonic()))
                self.seconds += self.spans[-1][1] - started
                self.calls += 1

        setattr(self.module, "add_articles", timed)  # noqa: B010
        return self

    def __exit__(self, *exc: object) -> None:
        setattr(self.module, "add_articles", self.original)  # noqa: B010


async def ingest(
    options: Options, feeds: int, entries: int, work: Path, run: Run
) -> dict[str, Any]:
    from retrieval.engine import Engine
    from retrieval.feeds.poller import FeedPoller, Target
    from retrieval.feeds.store import FILE_NAME, FeedStore
    from retrieval.settings import RetrievalSettings

    settings = RetrievalSettings(  # type: ignore[call-arg]
        _env_file=None,
        articles_dir=work / "articles",
        index_dir=work / "index",
        model_cache_dir=options.models,
        allow_private_urls=True,
    )
    settings.articles_dir.mkdir(parents=True)
    backend = settings.embedding_backend
    encoder = CountedEncoder(load_embedder(backend, options))
    engine = Engine(settings, encoder).open()
    store = FeedStore(settings.index_dir / FILE_NAME)

    async def target(collection: str) -> Target:
        return Target(engine, settings)

    poller = FeedPoller(store, settings, target, rng=random.Random(7))
    with serving() as server:
        urls, lengths = publish(server, feeds, entries)
        run.note(f"serving {feeds} feeds x {entries} entries on {server.base}")
        encoder.seconds = 0.0
        started = time.perf_counter()
        for url in urls:
            await poller.subscribe(url)
        subscribed = time.perf_counter() - started
        with TimedIndexWrites() as writes:
            async with Ticker(PROBE_SECONDS).running() as lag:
                poll_started = time.perf_counter()
                reports = await poller.poll_due()
                polled = time.perf_counter() - poll_started
        page_hits = sum(n for path, n in server.hits.items() if path.startswith("/news/"))
    wall = subscribed + polled
    encoding = encoder.seconds
    added = sum(len(r.added) for r in reports)
    stalls = [max(sample.late, 0.0) for sample in lag.samples]
    worst = sorted(lag.samples, key=lambda sample: sample.late, reverse=True)[:10]
    longest = [
        {
            "late_ms": round(sample.late * 1000, 1),
            "at_s": round(sample.start - lag.start, 2),
            "during_index_write": any(a < sample.end and sample.start < b for a, b in writes.spans),
        }
        for sample in worst
        if sample.late > STALL_GOAL_SECONDS / 2
    ]
    chunks = len(engine.snapshot.chunks)
    run.note(
        f"{added} added in {wall:.1f} s ({subscribed:.1f} s subscribing, {polled:.1f} s "
        f"polling); encoding {encoding:.1f} s; index writes {writes.seconds:.1f} s"
    )
    return {
        "backend": backend,
        "feeds": feeds,
        "entries_per_feed": entries,
        "entries": feeds * entries,
        "page_fetches": page_hits,
        "page_fetches_at_once": settings.feed_page_fetches,
        "words_per_page": {
            "min": min(lengths),
            "mean": round(statistics.mean(lengths), 1),
            "max": max(lengths),
        },
        "added": added,
        "updated": sum(len(r.updated) for r in reports),
        "failed": sum(len(r.failed) for r in reports),
        "errors": [r.summary() for r in reports if r.error or r.failed],
        "articles_indexed": len(engine.snapshot.articles),
        "chunks": chunks,
        "encode_calls": encoder.calls,
        "encoded_texts": encoder.texts,
        "subscribe_seconds": round(subscribed, 3),
        "poll_seconds": round(polled, 3),
        "wall_seconds": round(wall, 3),
        "entries_per_second": round(added / wall, 2) if wall else 0.0,
        "encode_seconds": round(encoding, 3),
        "non_encoding_seconds": round(wall - encoding, 3),
        "non_encoding_share": round((wall - encoding) / wall, 4) if wall else 0.0,
        "index_write_seconds": round(writes.seconds, 3),
        "index_writes": writes.calls,
        "index_write_rest_seconds": round(writes.seconds - encoding, 3),
        "fetch_parse_rest_seconds": round(polled - writes.seconds, 3),
        "loop_stall_ms": spread_ms(stalls),
        "probe_interval_ms": PROBE_SECONDS * 1000,
        "longest_stalls": longest,  # over half the goal: when, and whether an index write ran
        "index_write_share_of_poll": round(writes.seconds / polled, 4) if polled else 0.0,
        "goals": {
            "non_encoding_share_max": NON_ENCODING_GOAL,
            "max_stall_ms": STALL_GOAL_SECONDS * 1000,
        },
        "non_encoding_goal_met": wall > 0 and (wall - encoding) / wall <= NON_ENCODING_GOAL,
        "stall_goal_met": max(stalls, default=0.0) <= STALL_GOAL_SECONDS,
    }


def main(options: Options) -> None:
    from bot.compose import offline_environment

    offline_environment()
    run = Run("feed_ingest", options)
    feeds, entries = (4, 10) if options.quick else (20, 50)
    from retrieval.settings import RetrievalSettings

    backend = RetrievalSettings(_env_file=None).embedding_backend  # type: ignore[call-arg]
    load_embedder(backend, options)  # the model loaded (and exported once) before timing
    work = Path(tempfile.mkdtemp(prefix="newsdesk-feed-bench-"))
    try:
        run.results.update(asyncio.run(ingest(options, feeds, entries, work, run)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
