"""The engine: one object the bot and the CLI share to search and to change the index.

Searches read an immutable snapshot; writes are serialized (a thread lock in-process and the
home's lock across processes: a file lock, or PostgreSQL's advisory lock), commit to the
store (index/home.py says which), then swap in a new snapshot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from retrieval.dates import TimeWindow
from retrieval.documents import Article
from retrieval.duplicates import dedupe
from retrieval.embedding.base import Embedder
from retrieval.errors import (
    ArticleNotFoundError,
    EmptyQuestionError,
    IndexMissingError,
    NewsdeskError,
    QuestionTooLongError,
)
from retrieval.index import derived
from retrieval.index.catalogue import (
    ArticleSummary,
    IndexStatus,
    article_summaries,
    read_status,
)
from retrieval.index.groups import CopyGroups
from retrieval.index.home import IndexHome, home_for
from retrieval.index.manifest import check_manifest, expected_manifest
from retrieval.index.sentence_vectors import SentenceVectors
from retrieval.index.snapshot import Snapshot, apply_changes, build_snapshot, chunk_table
from retrieval.index.store import (
    ArticleOrder,
    Store,
    StoreContents,
    read_contents,
)
from retrieval.index.writer import SyncReport, write_articles
from retrieval.near_duplicates import CopyParams, copy_params
from retrieval.progress import Progress
from retrieval.search.followup import FollowUpContext
from retrieval.search.params import TimeParams
from retrieval.search.pipeline import SearchParams, search_snapshot
from retrieval.search.results import SearchResult
from retrieval.search.time_query import names_no_topic, parse_time_query, with_next_day
from retrieval.settings import RetrievalSettings, SearchMode
from retrieval.text.analyzer import Analyzer
from retrieval.text.chunking import ChunkerSettings
from retrieval.text.language import other_language

logger = logging.getLogger(__name__)


class InterruptedWrite(KeyboardInterrupt):
    """Ctrl-C during a write that commits in batches: what was committed stays, and the
    message says how much that is (the CLI prints it, then exits with 130)."""

    def __init__(self, saved: int, total: int) -> None:
        self.saved = saved
        self.total = total
        super().__init__(
            f"interrupted: {saved} of {total} articles saved; run `newsdesk index rebuild` "
            "to finish"
        )


class Engine:
    def __init__(self, settings: RetrievalSettings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.index_dir = settings.index_dir
        self.chunker = ChunkerSettings(
            settings.chunk_tokens, settings.chunk_overlap_tokens, embedder.max_tokens
        )
        self._analyzer = Analyzer()
        self._write_lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._store: Store | None = None
        self._ref = ""  # the live build this engine has loaded (index/home.py)
        self._index_id = ""
        self._read_only = False
        self._home: IndexHome = home_for(settings)

    # -- opening -----------------------------------------------------------------------------

    def expected_manifest(self) -> dict[str, str]:
        return expected_manifest(self.settings, self.embedder, self.chunker)

    def open(self, *, create: bool = True) -> Engine:
        """Load the index (creating an empty one if there is none and `create`)."""
        with self._write_lock:
            self._home.prepare()
            self._read_only = self._home.is_read_only()
            database = self._home.live()
            if database is None:
                if not create:
                    raise IndexMissingError(f"no index in {self._home.describe()}")
                if self._read_only:
                    error = self._home.read_only_error()
                    raise type(error)(f"there is no index to search, and {error}")
                with self._home.write_lock():
                    database = self._home.live()
                    if database is None:
                        database = self._create_database()
                        self._home.switch(database)
            self._load(database)
        return self

    def _create_database(self) -> str:
        manifest = expected_manifest(self.settings, self.embedder, self.chunker) | {
            "index_id": uuid.uuid4().hex
        }
        return self._home.create(manifest)

    @property
    def home(self) -> IndexHome:
        """Where the index is kept (a folder, or a PostgreSQL database)."""
        return self._home

    @property
    def read_only(self) -> bool:
        """Opened only to search (a read-only folder, or NEWSDESK_INDEX_READ_ONLY)."""
        return self._read_only

    def check_writable(self, *, whole_collection: bool = False) -> None:
        """Refuse a change now, before anything is written (the articles folder included),
        when the index cannot take it: it is read-only, or (unless the write brings the
        whole collection, which builds it again) its folder was deleted under this process."""
        if self._read_only or self._home.is_read_only():
            raise self._home.read_only_error()
        if whole_collection or self._store is None:
            return
        if self._home.live() is None:  # another process may switch it
            raise IndexMissingError(
                f"the index in {self._home.describe()} was deleted while newsdesk was running"
            )

    def _ensure_database(self, *, whole_collection: bool) -> None:
        """Holding the write lock: the index's database is there, or (deleted under this
        process) made again, empty, when the write brings the whole collection; else the
        plain error. Never a stub file left behind (the store opens with mode=rw)."""
        if self._home.live() is not None:
            return
        if not whole_collection:
            raise IndexMissingError(
                f"the index in {self._home.describe()} was deleted while newsdesk was running"
            )
        logger.warning("the index in %s was deleted; building it again", self._home.describe())
        database = self._create_database()
        self._home.switch(database)
        self._load(database)

    def _load(self, database: str) -> None:
        store = self._home.store(database, read_only=self._read_only)
        manifest = store.manifest()
        check_manifest(
            manifest,
            expected_manifest(self.settings, self.embedder, self.chunker),
            self._home.describe(),
        )
        contents = read_contents(store, self.embedder.dimension)
        self._store = store
        self._ref = database
        self._index_id = manifest.get("index_id", "")
        self._snapshot = self._snapshot_from(contents)

    def _snapshot_from(self, contents: StoreContents) -> Snapshot:
        folder = self._derived_dir()
        rows = len(contents.chunks)
        loaded = derived.load_derived(folder, contents.generation, rows, self.embedder.dimension)
        if loaded is not None:
            dense, lexical = loaded
            table = chunk_table(contents)
            return Snapshot(
                contents.generation,
                contents.articles,
                table,
                contents.vectors,
                dense,
                lexical,
                sentence_vectors=self._sentence_vectors(),
                copies=CopyGroups.of(contents.groups, list(contents.groups)),
            )
        if rows:
            logger.info(
                "building search indexes for %d chunks from %s in %s",
                rows,
                self._home.kind,
                self._home.describe(),
            )
        snapshot = build_snapshot(
            contents,
            self._analyzer,
            self.embedder.dimension,
            exact_limit=self.settings.dense_exact_limit,
            sentence_vectors=self._sentence_vectors(),
        )
        self._save_derived(snapshot)
        return snapshot

    def _sentence_vectors(self) -> SentenceVectors | None:
        if not self.settings.sentence_vectors:
            return None
        return self._home.sentence_vectors(self.store, self.embedder.dimension)

    def _derived_dir(self) -> Path:
        folder = self.index_dir / "derived" / (self._index_id or "new")
        if not self._read_only:
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _save_derived(self, snapshot: Snapshot) -> None:
        if self._read_only:
            return  # built in memory for this process; nothing is written
        derived.save_derived(
            self._derived_dir(),
            snapshot.generation,
            len(snapshot.chunks),
            snapshot.dense,
            snapshot.lexical,
        )

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise RuntimeError("Engine.open() was not called")
        return self._snapshot

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("Engine.open() was not called")
        return self._store

    # -- searching ---------------------------------------------------------------------------

    def search(
        self,
        question: str,
        *,
        k: int | None = None,
        mode: SearchMode | None = None,
        offset: int = 0,
        abstain: bool = True,
        at: dt.datetime | None = None,
        window: TimeWindow | None = None,
        time_aware: bool = True,
        cut: bool = True,
        context: FollowUpContext | None = None,
    ) -> SearchResult:
        """Cited hits for `question`. `at`: answer as of then (articles published later are
        unseen, "yesterday" is the day before it); `window`: only articles published in it
        (besides any the question names); `time_aware=False`: dates play no part at all;
        `cut=False`: the page is not stopped at a drop in relevance (what eval measures);
        `context`: a conversation's earlier questions and citations, which a follow-up is
        searched with as much as its own words need them (search/followup.py)."""
        question = self.check_question(question)
        params = SearchParams.from_settings(
            self.settings, mode=mode, k=k, offset=offset, abstain=abstain
        )
        params = dataclasses.replace(params, cut_page=cut)
        snapshot = self.snapshot
        searched = question
        when: _ResolvedTime | None = None
        if time_aware:
            when = self._time_params(question, at, window, snapshot)
            params = dataclasses.replace(params, time=when.params)
            searched = when.text or question
        result = self._search(snapshot, searched, params, context)
        if when is not None and result.time.empty_window and when.from_words_only:
            # "Who won the vote on Saturday?" may mean the Saturday an article tells of, not
            # one it was published on: with no article from then, the best matches from
            # any date, said so, rather than nothing. Operators, options and questions that
            # are only a time keep their window.
            assert params.time is not None
            unwindowed = dataclasses.replace(params.time, window=None)
            retry = self._search(
                snapshot,
                when.without_operators,
                dataclasses.replace(params, time=unwindowed),
                context,
            )
            result = dataclasses.replace(
                retry, time=dataclasses.replace(retry.time, unmatched_window=when.params.window)
            )
        language = self.settings.model_language
        other = other_language(question, language) if language else None
        return dataclasses.replace(
            result,
            question=question,
            question_language=other,
            searched_language=language if other else None,
        )

    def _search(
        self,
        snapshot: Snapshot,
        question: str,
        params: SearchParams,
        context: FollowUpContext | None = None,
    ) -> SearchResult:
        return search_snapshot(
            snapshot,
            question,
            params,
            encode_query=self.embedder.encode_query,
            analyzer=self._analyzer,
            context=context,
        )

    def _time_params(
        self,
        question: str,
        at: dt.datetime | None,
        window: TimeWindow | None,
        snapshot: Snapshot,
    ) -> _ResolvedTime:
        zone = self.settings.zone
        now = dt.datetime.now(zone) if at is None else _aware(at, zone)
        dated = snapshot.chunks.published is not None
        # On a collection without dates, words such as "in 1998" are about events, not about
        # when articles were written: only operators and options make a window there.
        query = parse_time_query(question, now, phrases=dated)
        browse = names_no_topic(query.text)
        combined = query.window
        if combined is not None and query.one_day and not browse:
            # "Who won on Saturday?" is answered by Sunday's report too; "What happened on
            # Saturday?" lists Saturday's articles only.
            combined = with_next_day(combined)
        if window:
            combined = window if combined is None else combined.intersect(window)
        settings = self.settings
        params = TimeParams(
            now=now,
            hide_after_now=at is not None,
            window=combined or None,
            recency=query.recency,
            browse=bool(combined) and browse,
            recency_weight=settings.recency_weight,
            later_reports_weight=settings.later_reports_weight,
            recency_half_life_days=settings.recency_half_life_days,
            freshness_weight=settings.freshness_weight if dated else 0.0,
            freshness_half_life_days=settings.freshness_half_life_days,
        )
        from_words = query.phrase is not None and not query.explicit and window is None
        return _ResolvedTime(
            params,
            query.text,
            from_words_only=from_words and not params.browse,
            without_operators=query.without_operators,
        )

    def check_question(self, question: str) -> str:
        """The question as it is searched, or the refusal every front end shows (the bot asks
        before its cooldown, so a refused question does not cost the member their turn)."""
        return check_question(question, self.settings.max_question_chars)

    async def asearch(
        self,
        question: str,
        *,
        k: int | None = None,
        mode: SearchMode | None = None,
        offset: int = 0,
        abstain: bool = True,
        at: dt.datetime | None = None,
        window: TimeWindow | None = None,
        context: FollowUpContext | None = None,
    ) -> SearchResult:
        """`search` off the event loop (encoding and FAISS are CPU-bound)."""
        return await asyncio.to_thread(
            self.search,
            question,
            k=k,
            mode=mode,
            offset=offset,
            abstain=abstain,
            at=at,
            window=window,
            context=context,
        )

    # -- writing -----------------------------------------------------------------------------

    def sync(
        self,
        articles: Sequence[Article] | Callable[[], Sequence[Article]],
        *,
        remove_missing: bool,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Make the index hold `articles`: add new, re-index changed, and (if `remove_missing`)
        drop the ones not given. Duplicates of other articles are reported, not indexed.

        Given a function, it is called holding the write lock: a sync that reads the articles
        folder then cannot drop an article added meanwhile (adds write the file first).
        """
        started = time.perf_counter()
        report = SyncReport()
        self.check_writable(whole_collection=remove_missing)
        with self._write_lock, self._home.write_lock():
            if callable(articles):
                articles = articles()
            self._ensure_database(whole_collection=remove_missing)
            self._reload_if_stale()
            wanted = self._without_duplicates(articles, report, whole_collection=remove_missing)
            wanted_ids = {a.id for a in wanted}
            remove_ids = (
                [aid for aid in self.snapshot.articles if aid not in wanted_ids]
                if remove_missing
                else []
            )
            try:
                write_articles(
                    self.store,
                    self.embedder,
                    self.chunker,
                    wanted,
                    remove_ids=remove_ids,
                    progress=progress,
                    report=report,
                    sweep_embeddings=remove_missing,
                    encode_sentences=self.settings.sentence_vectors,
                    copies=self._copy_params(),
                )
            except KeyboardInterrupt as exc:
                # Batches are committed as they go: say how much of the work is kept.
                saved = len(report.written)
                logger.warning("write interrupted after %d of %d articles", saved, report.to_write)
                raise InterruptedWrite(saved, report.to_write) from exc
            self._refresh_snapshot(set(report.removed), report.written)
        report.seconds = time.perf_counter() - started
        logger.info("index sync: %s", report.summary())
        return report

    def add(self, articles: Sequence[Article], progress: Progress | None = None) -> SyncReport:
        return self.sync(articles, remove_missing=False, progress=progress)

    def remove(self, article_id: str) -> Article:
        self.check_writable()
        with self._write_lock, self._home.write_lock():
            self._ensure_database(whole_collection=False)
            self._reload_if_stale()
            article = self.snapshot.articles.get(article_id)
            if article is None:
                raise ArticleNotFoundError(f"no article with id {article_id!r}")
            report = SyncReport()
            write_articles(
                self.store,
                self.embedder,
                self.chunker,
                [],
                remove_ids=[article_id],
                report=report,
                copies=self._copy_params(),
            )
            self._refresh_snapshot({article_id}, [])
        logger.info("removed article %s", article_id)
        return article

    def rebuild_full(
        self,
        articles: Sequence[Article] | Callable[[], Sequence[Article]],
        progress: Progress | None = None,
    ) -> SyncReport:
        """Re-encode everything into a new database, then switch to it atomically: a kill
        before the switch leaves the previous index in place. A function for `articles` is
        called holding the write lock (see `sync`)."""
        started = time.perf_counter()
        report = SyncReport()
        self.check_writable(whole_collection=True)
        with self._write_lock, self._home.write_lock():
            if callable(articles):
                articles = articles()
            previous_ids = _readable_article_ids(self._home)
            database = self._create_database()
            try:
                store = self._home.store(database, read_only=False)
                wanted = self._without_duplicates(articles, report, whole_collection=True)
                write_articles(
                    store,
                    self.embedder,
                    self.chunker,
                    wanted,
                    progress=progress,
                    report=report,
                    encode_sentences=self.settings.sentence_vectors,
                    copies=self._copy_params(),
                )
                report.changed = [a for a in report.added if a in previous_ids]
                report.added = [a for a in report.added if a not in previous_ids]
                report.removed = sorted(previous_ids - {a.id for a in wanted})
                self._home.switch(database)
            except BaseException:
                self._home.remove(database)  # the previous index stays current
                raise
            self._load(database)
            # The previous database, and any left by a rebuild that was killed before its
            # switch, are no longer used.
            self._home.remove_others(keep=database)
            derived.remove_other_folders(self.index_dir / "derived", keep=self._index_id)
        report.seconds = time.perf_counter() - started
        logger.info("full index rebuild: %s", report.summary())
        return report

    def _copy_params(self) -> CopyParams:
        return copy_params(self.settings.near_duplicate_threshold)

    def _without_duplicates(
        self, articles: Sequence[Article], report: SyncReport, *, whole_collection: bool
    ) -> list[Article]:
        """The one duplicate check of a write: copies within the batch and, for an add, copies
        of stored articles are left out and reported as (dropped id, kept id)."""
        batch, duplicates = dedupe(articles)
        report.duplicates.extend(duplicates)
        if whole_collection:
            return batch  # nothing stored stays beside it: in-batch dedup is all there is
        kept = []
        stored = self.store.find_duplicates(batch)
        for article in batch:
            other = stored.get(article.id)
            if other is not None:
                report.duplicates.append((article.id, other))
            else:
                kept.append(article)
        return kept

    def _refresh_snapshot(self, removed: set[str], written: Sequence[str]) -> None:
        added = read_contents(self.store, self.embedder.dimension, written)
        snapshot = apply_changes(
            self.snapshot,
            removed=removed,
            added=added,
            analyzer=self._analyzer,
            dimension=self.embedder.dimension,
            exact_limit=self.settings.dense_exact_limit,
        )
        self._snapshot = snapshot  # the swap: searches from now on see the new state
        if snapshot.generation != added.generation or len(snapshot.chunks) != _count(self.store):
            logger.warning("index changed underneath this process; reloading it")
            self._load(self._ref)
            return
        self._save_derived(snapshot)

    def _reload_if_stale(self) -> None:
        database = self._home.live()
        if database is None:
            return
        if database != self._ref or self.store.generation() != self.snapshot.generation:
            logger.info("index was changed by another process; reloading")
            self._load(database)

    def reload_if_changed(self) -> bool:
        """Pick up writes made by another process (e.g. `newsdesk add` while the bot runs)."""
        database = self._home.live()
        if database is None:
            return False
        if database == self._ref and self.store.generation() == self.snapshot.generation:
            return False
        if self._read_only:  # no lock file can be made; nobody writes a read-only folder
            with self._write_lock:
                self._reload_if_stale()
            return True
        # The write lock too: the writer may still be saving the derived files we would load.
        with self._write_lock, self._home.write_lock():
            self._reload_if_stale()
        return True

    # -- reading the catalogue ---------------------------------------------------------------

    def status(self) -> IndexStatus:
        return read_status(self._home)

    def list_articles(
        self,
        search: str | None = None,
        *,
        limit: int = 20,
        offset: int = 0,
        order: ArticleOrder = "published",
    ) -> tuple[list[ArticleSummary], int]:
        """Newest first by `order`; `search` filters on title or id. Returns (page, total
        matching)."""
        return article_summaries(self.store, search, limit=limit, offset=offset, order=order)

    def get_article(self, article_id: str) -> Article | None:
        return self.snapshot.articles.get(article_id)

    def stored_version(self, article: Article) -> Article | None:
        """The stored article `article` would replace: the one with its id, else the one of
        its page (the same normalized URL), whatever its text."""
        found = self.get_article(article.id)
        if found is None:
            other = self.store.find_by_url(article.url)
            found = self.get_article(other) if other is not None else None
        return found


@dataclass(frozen=True)
class _ResolvedTime:
    params: TimeParams
    text: str  # the question without its time operators and phrases
    from_words_only: bool  # the window is the question's words' alone (no operator, option)
    without_operators: str  # the question with its phrases but without operators


def _aware(value: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """A naive time is read in the settings' zone (NEWSDESK_TIMEZONE)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _readable_article_ids(home: IndexHome) -> set[str]:
    """Article ids of the current index, or none if it is missing or unreadable (a full
    rebuild replaces it either way)."""
    try:
        database = home.live()
        if database is None:
            return set()
        return set(home.store(database, read_only=home.is_read_only()).article_hashes())
    except NewsdeskError as exc:
        logger.warning("previous index unreadable (%s); building a new one", exc)
        return set()


def _count(store: Store) -> int:
    return store.counts()[1]


def check_question(question: str, max_chars: int) -> str:
    """On one line and encodable; refuses a question without words, and one over `max_chars`
    rather than cut it (a cut question is not the one asked)."""
    question = " ".join(question.split())
    # Lone surrogates (undecodable bytes in argv, a stray JSON escape) break tokenizers.
    question = question.encode("utf-8", "replace").decode("utf-8")
    if not any(ch.isalnum() for ch in question):
        raise EmptyQuestionError()
    if len(question) > max_chars:
        raise QuestionTooLongError(max_chars)
    return question
