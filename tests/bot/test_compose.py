"""The composition root: one encoder per process, and each open policy the same everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.compose import Composition, OpenPolicy
from bot.settings import BotSettings
from retrieval.embedding.base import Embedder
from retrieval.embedding.hashing import HashingEmbedder
from retrieval.errors import IndexMismatchError, IndexMissingError
from retrieval.settings import RetrievalSettings
from tests.factories import make_article


class CountingFactory:
    """An encoder factory that counts how often the process would load the model."""

    def __init__(self) -> None:
        self.loads = 0

    def __call__(self, settings: RetrievalSettings) -> Embedder:
        self.loads += 1
        return HashingEmbedder()


def _write_article(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.md").write_text(f"# {name.title()}\n\n{text}\n", encoding="utf-8")


@pytest.fixture
def factory() -> CountingFactory:
    return CountingFactory()


@pytest.fixture
def root(settings: RetrievalSettings, factory: CountingFactory) -> Composition:
    _write_article(settings.articles_dir, "otters", "Otters crack shellfish open with stones.")
    return Composition(settings, embedder_factory=factory)


def test_open_without_an_index_is_the_no_index_error(
    root: Composition, factory: CountingFactory
) -> None:
    with pytest.raises(IndexMissingError, match="newsdesk index rebuild"):
        root.engine(OpenPolicy.OPEN)
    assert not (root.settings.index_dir / "current.json").exists()  # nothing was created
    assert factory.loads == 0  # the error comes before the encoder (an export, the first time)


def test_open_or_build_builds_a_missing_index_from_the_folder(root: Composition) -> None:
    engine = root.engine(OpenPolicy.OPEN_OR_BUILD)
    assert [a.id for a in engine.snapshot.articles.values()] == ["otters"]
    # Next time the same index is simply opened, with what it holds.
    assert root.engine(OpenPolicy.OPEN).status().articles == 1


def test_one_encoder_for_every_engine_of_the_process(
    root: Composition, factory: CountingFactory, settings: RetrievalSettings, tmp_path: Path
) -> None:
    first = root.engine(OpenPolicy.OPEN_OR_BUILD)
    other = settings.model_copy(update={"index_dir": tmp_path / "other-index"})
    second = root.engine(OpenPolicy.OPEN_OR_BUILD, settings=other)
    root.rebuild()
    assert first.embedder is second.embedder
    assert factory.loads == 1


def test_rebuild_after_a_settings_change_is_full_and_loads_the_model_once(
    root: Composition, settings: RetrievalSettings, factory: CountingFactory
) -> None:
    root.engine(OpenPolicy.OPEN_OR_BUILD)
    changed = Composition(
        settings.model_copy(update={"chunk_tokens": settings.chunk_tokens + 20}),
        embedder_factory=factory,
    )
    with pytest.raises(IndexMismatchError):
        changed.engine(OpenPolicy.OPEN)
    told: list[str] = []
    rebuilt = changed.rebuild(on_full_rebuild=told.append)
    assert rebuilt.full
    assert len(told) == 1 and "chunk_tokens" in told[0] and told[0] == rebuilt.differences
    assert rebuilt.report.added == [] and rebuilt.report.changed == ["otters"]
    assert changed.engine(OpenPolicy.OPEN).status().articles == 1  # now it opens as it is
    assert factory.loads == 2  # one per process (Composition), not one per attempt


def test_rebuild_syncs_only_what_changed(root: Composition, settings: RetrievalSettings) -> None:
    root.engine(OpenPolicy.OPEN_OR_BUILD)
    _write_article(settings.articles_dir, "bees", "Honey bees cluster to keep warm in winter.")
    (settings.articles_dir / "otters.md").unlink()
    rebuilt = root.rebuild()
    assert not rebuilt.full
    assert (rebuilt.report.added, rebuilt.report.removed) == (["bees"], ["otters"])


def test_rebuild_from_given_articles_makes_them_the_whole_collection(
    root: Composition, settings: RetrievalSettings, tmp_path: Path
) -> None:
    scratch = settings.model_copy(update={"index_dir": tmp_path / "eval-index"})
    articles = [make_article("a", "Alpha", "Alpha words."), make_article("b", "Beta", "Beta.")]
    engine = root.rebuild(articles=articles, settings=scratch).engine
    assert sorted(engine.snapshot.articles) == ["a", "b"]
    again = root.rebuild(articles=articles[:1], settings=scratch)
    assert again.report.removed == ["b"]


def test_services_open_nothing_until_prepared(
    root: Composition, factory: CountingFactory, bot_settings: BotSettings
) -> None:
    services = root.services(bot_settings)
    assert factory.loads == 0 and services.engines.opened() == []
    services.prepare()
    assert factory.loads == 1
    [shared] = services.engines.opened()
    assert shared.engine.status().articles == 1  # the missing index was built at start


def test_a_guild_s_collection_in_a_database_is_its_own(settings: RetrievalSettings) -> None:
    from pydantic import SecretStr

    from bot.discord_app.engines import guild_settings

    shared = settings.model_copy(
        update={"database_url": SecretStr("postgresql://db/news"), "database_collection": "main"}
    )
    guild = guild_settings(shared, 1_234_567_890_123_456_789)
    assert guild.database_collection == "main_guild_1234567890123456789"
    assert guild.database_url == shared.database_url
    # Valid as a setting too (a model_copy does not validate): names a schema can carry.
    RetrievalSettings(_env_file=None, database_collection=guild.database_collection)  # type: ignore[call-arg]
    assert guild_settings(shared, 1).database_collection != shared.database_collection
