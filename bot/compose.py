"""The composition root: the one place that builds settings, the encoder, engines and the
bot's services, for every entry point (CLI commands, the chat, the Discord bot, eval); the
runner makes the discord.py client from those services inside its event loop.

Nothing heavy happens at import time. The encoder is loaded once, on first need, and shared by
every engine the process opens. How an engine is opened is an explicit `OpenPolicy`, so the
same situation (say, no index yet) behaves the same whichever command meets it.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import ValidationError

from bot.console import fail
from retrieval.settings import RetrievalSettings

# The engine and what it needs are imported where used: the CLI imports this module for
# `--help` too, which must stay instant.
if TYPE_CHECKING:
    from bot.discord_app.services import Services
    from bot.settings import BotSettings
    from retrieval.documents import Article
    from retrieval.embedding.base import Embedder
    from retrieval.engine import Engine
    from retrieval.index.catalogue import IndexStatus
    from retrieval.index.postgres.migrations import Migration
    from retrieval.index.writer import SyncReport
    from retrieval.progress import Progress

logger = logging.getLogger(__name__)
QUIET_LOGGERS = ("faiss", "faiss.loader", "bm25s", "sentence_transformers", "transformers", "httpx")


class OpenPolicy(enum.Enum):
    """What opening an engine does when the index is missing or was built differently."""

    OPEN = "open"
    """An existing index, as it is; none is an error naming `newsdesk index rebuild`."""
    OPEN_OR_BUILD = "open-or-build"
    """An existing index; when there is none, it is built from the articles folder."""
    REBUILD = "rebuild"
    """Synced with the articles folder; rebuilt in full when made with other settings."""


@dataclass(frozen=True)
class Rebuilt:
    engine: Engine
    report: SyncReport
    full: bool  # re-encoded into a new index (asked for, or the old one had other settings)
    differences: str = ""  # why it was rebuilt in full, when it was not asked for


def configure_logging(verbose: int = 0) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def offline_environment() -> None:
    """No model hub is reachable: fail fast instead of retrying, and keep output quiet."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_settings(**overrides: object) -> RetrievalSettings:
    """Settings from the environment and `.env`; `None` overrides are left to those. Invalid
    ones end the process with one line naming each (exit 2)."""
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return RetrievalSettings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        _invalid(exc, prefix="")


def load_bot_settings() -> BotSettings:
    """DISCORD_* settings, from the environment and `.env` (exit 2 when invalid)."""
    from bot.settings import BotSettings

    try:
        return BotSettings()
    except ValidationError as exc:
        _invalid(exc, prefix="DISCORD_")


def _invalid(exc: ValidationError, *, prefix: str) -> NoReturn:
    """One line for all problems, each named as the user sets it (e.g. DISCORD_PREFIX)."""
    names = (".".join(str(part) for part in error["loc"]) for error in exc.errors())
    problems = "; ".join(
        f"{prefix}{name.upper()}: {error['msg']}" if prefix else f"{name}: {error['msg']}"
        for name, error in zip(names, exc.errors(), strict=True)
    )
    fail(f"invalid settings: {problems}", 2)


def build_embedder(settings: RetrievalSettings) -> Embedder:
    offline_environment()
    from retrieval.embedding import load_embedder

    return load_embedder(
        settings.model,
        batch_size=settings.embed_batch_size,
        backend=settings.embedding_backend,
        cache_dir=models_dir(settings),
    )


def models_dir(settings: RetrievalSettings) -> Path:
    """Where ONNX exports are cached: NEWSDESK_MODEL_CACHE_DIR or `<index dir>/models`."""
    from retrieval.embedding.onnx_cache import model_cache_dir

    return settings.model_cache_dir or model_cache_dir(settings.index_dir)


def export_model(settings: RetrievalSettings, *, force: bool) -> tuple[Path, dict[str, Any]]:
    """The ONNX export of the configured model (made now if missing, stale or `force`d):
    its folder and manifest."""
    offline_environment()
    from retrieval.embedding.factory import export_onnx, model_folder
    from retrieval.embedding.model_files import read_model_files
    from retrieval.embedding.onnx_cache import (
        GRAPH_FILES,
        export_folder,
        read_manifest,
        usable_graph,
    )

    cache_dir = models_dir(settings)
    folder = export_folder(cache_dir, settings.model)
    files = read_model_files(model_folder(settings.model))
    fresh = all(usable_graph(folder, files, backend) for backend in GRAPH_FILES)
    if force or not fresh:
        export_onnx(settings.model, cache_dir)
    return folder, read_manifest(folder) or {}


def read_index_status(settings: RetrievalSettings) -> IndexStatus:
    """Index status without loading the model (fast)."""
    from retrieval.index.catalogue import read_status
    from retrieval.index.home import home_for

    return read_status(home_for(settings))


def migrate_database(settings: RetrievalSettings) -> tuple[list[Migration], int]:
    """`newsdesk index migrate`: the migrations applied now, and the database's version."""
    from retrieval.errors import UsageError

    if settings.database_url is None:
        raise UsageError(
            "there is no database to migrate: NEWSDESK_DATABASE_URL is not set (the SQLite "
            "index in the index folder needs no migrations)"
        )
    from retrieval.index.postgres.home import migrate_database as migrate

    return migrate(settings.database_url.get_secret_value())


def describe_index(settings: RetrievalSettings) -> str:
    """Where the settings' index is (the folder, or the database without its password)."""
    from retrieval.index.home import home_for

    return home_for(settings).describe()


def index_exists(settings: RetrievalSettings) -> bool:
    """Whether the settings' index (its live build) is there, read without opening it."""
    from retrieval.index.home import home_for

    home = home_for(settings)
    home.prepare()
    return home.live() is not None


class Composition:
    """Everything one process builds, from its settings. `settings` may be overridden per call
    (another index folder for eval, a guild's collection); the encoder is shared by all."""

    def __init__(
        self,
        settings: RetrievalSettings,
        *,
        embedder_factory: Callable[[RetrievalSettings], Embedder] = build_embedder,
    ) -> None:
        self.settings = settings
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._embedder_lock = threading.Lock()

    def embedder(self) -> Embedder:
        """Loaded once (the real model takes seconds), by whichever thread needs it first."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = self._embedder_factory(self.settings)
            return self._embedder

    def engine(
        self,
        policy: OpenPolicy,
        *,
        settings: RetrievalSettings | None = None,
        progress: Progress | None = None,
    ) -> Engine:
        """Blocking: an engine over `settings` (default: this process's), opened by `policy`."""
        settings = settings or self.settings
        if policy is OpenPolicy.REBUILD:
            return self.rebuild(settings=settings, progress=progress).engine
        from retrieval.collection import sync_with_folder
        from retrieval.engine import Engine
        from retrieval.errors import IndexMissingError

        if policy is OpenPolicy.OPEN and not index_exists(settings):
            # Before the encoder: loading it can take seconds (an ONNX export the first time),
            # all for an error.
            raise IndexMissingError(f"no index in {describe_index(settings)}")
        engine = Engine(settings, self.embedder())
        try:
            return engine.open(create=False)
        except IndexMissingError:
            if policy is OpenPolicy.OPEN:
                raise
        logger.info(
            "no index in %s: building it from %s", describe_index(settings), settings.articles_dir
        )
        engine.open(create=True)
        report = sync_with_folder(engine, settings, progress=progress)
        logger.info("index built: %s", report.summary())
        return engine

    def rebuild(
        self,
        *,
        full: bool = False,
        articles: Sequence[Article] | None = None,
        settings: RetrievalSettings | None = None,
        progress: Progress | None = None,
        on_full_rebuild: Callable[[str], None] | None = None,
    ) -> Rebuilt:
        """Blocking: make the index hold the collection (the articles folder, or `articles`
        when given: then they are all of it). Only what changed is encoded, unless `full`
        or the index was built with other settings (model, encoder, chunker...): its vectors
        can't be reused then, so the collection is re-encoded into a new index, after
        `on_full_rebuild` is told what differed."""
        from retrieval.collection import sync_with_folder
        from retrieval.engine import Engine
        from retrieval.errors import IndexMismatchError

        settings = settings or self.settings
        engine = Engine(settings, self.embedder())
        differences = ""
        if not full:
            try:
                engine.open(create=True)
            except IndexMismatchError as exc:
                logger.info("rebuilding %s in full: %s", settings.index_dir, exc.differences)
                differences, full = exc.differences, True
                if on_full_rebuild is not None:
                    on_full_rebuild(differences)
                engine = Engine(settings, self.embedder())  # one that never opened the old one
        if articles is not None:
            report = (
                engine.rebuild_full(articles, progress=progress)
                if full
                else engine.sync(articles, remove_missing=True, progress=progress)
            )
        else:
            report = sync_with_folder(engine, settings, full=full, progress=progress)
        return Rebuilt(engine, report, full, differences)

    def services(self, bot_settings: BotSettings) -> Services:
        """The bot's shared services. Cheap: opens nothing (`sync-commands` needs no model);
        `Services.prepare()` loads the encoder and the index before connecting."""
        from bot.discord_app.services import Services

        return Services.create(
            bot_settings,
            self.settings,
            open_engine=lambda settings: self.engine(OpenPolicy.OPEN_OR_BUILD, settings=settings),
            load_encoder=self.embedder,
        )
