"""A reindex and an add at the same moment: an article whose add was confirmed is never dropped
by a reindex that read the articles folder just before the article's file was written."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from retrieval import collection
from retrieval.collection import add_article, sync_with_folder
from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.loaders import article_from_text, load_folder
from retrieval.settings import RetrievalSettings

pytestmark = pytest.mark.timeout(60)


def _pause_after_listing(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[threading.Event, threading.Event]:
    """load_folder stops after reading the folder (before returning) until released."""
    listed, release = threading.Event(), threading.Event()
    real = load_folder  # as collection sees it before the patch

    def paused(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        listed.set()
        assert release.wait(timeout=20)
        return result

    monkeypatch.setattr(collection, "load_folder", paused)
    return listed, release


def _in_thread(target: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - handed to the test, which fails on it
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_reindex_keeps_an_article_added_while_it_read_the_folder(
    settings: RetrievalSettings, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(settings, embedder).open()
    (settings.articles_dir / "bees.md").write_text("# Bees\n\nBees make honey in hives.\n")
    sync_with_folder(engine, settings)
    listed, release = _pause_after_listing(monkeypatch)

    reindex, reindex_errors = _in_thread(lambda: sync_with_folder(engine, settings))
    assert listed.wait(timeout=20)  # the reindex has read the folder: no otters.md in it
    otters = article_from_text("Sea otters crack shellfish with stones.", title="Otters")
    adder, add_errors = _in_thread(lambda: add_article(engine, settings, otters))
    adder.join(timeout=1.0)  # a correct engine makes it wait for the reindex instead
    release.set()
    reindex.join(timeout=20)
    adder.join(timeout=20)
    assert not reindex_errors and not add_errors, (reindex_errors, add_errors)

    assert (settings.articles_dir / "otters.md").exists()
    assert set(engine.snapshot.articles) == {"bees", "otters"}
    assert set(Engine(settings, embedder).open().snapshot.articles) == {"bees", "otters"}
    assert engine.search("What do otters crack shellfish with?").hits[0].article_id == "otters"
