"""Fixtures for the bot's unit tests: settings, services over a small hashing index."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.compose import Composition
from bot.discord_app.services import Services
from bot.settings import BotSettings
from retrieval.dates import iso
from retrieval.embedding.factory import load_embedder
from retrieval.engine import Engine
from retrieval.settings import RetrievalSettings
from tests.factories import REUTERS, SAMPLE_ARTICLES


def make_bot_settings(**overrides: object) -> BotSettings:
    values: dict[str, object] = {"token": "test-token", "ask_cooldown_seconds": 0}
    values.update(overrides)
    return BotSettings(_env_file=None, **values)  # type: ignore[arg-type, call-arg]


@pytest.fixture
def bot_settings() -> BotSettings:
    return make_bot_settings(admin_role="editors")


@pytest.fixture
def filled_settings(settings: RetrievalSettings) -> RetrievalSettings:
    """The shared `settings`, with the sample articles and the Reuters story on disk."""
    (settings.articles_dir / REUTERS.name).write_bytes(REUTERS.read_bytes())
    for article in SAMPLE_ARTICLES:
        path = settings.articles_dir / f"{article.id}.md"
        extra = "".join(
            f"{key}: {value}\n"
            for key, value in (("url", article.url), ("published", iso(article.published)),
                               ("source", article.source))
            if value
        )  # fmt: skip
        path.write_text(f"---\ntitle: {article.title}\n{extra}---\n\n{article.text}\n")
    return settings.model_copy(update={"abstain_threshold": 0.0})


@pytest.fixture
def services(bot_settings: BotSettings, filled_settings: RetrievalSettings) -> Iterator[Services]:
    """Prepared services: the index is built from the folder, as at a bot's start."""
    root = Composition(filled_settings, embedder_factory=lambda s: load_embedder(s.model))
    yield root.services(bot_settings).prepare()


@pytest.fixture
def shared_engine(services: Services) -> Engine:
    return services.engines.opened()[0].engine
