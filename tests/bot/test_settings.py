"""Bot settings: parsing, the secret token, and .env.example documenting every variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import BotSettings
from retrieval.settings import RetrievalSettings
from tests.factories import REPO

pytestmark = pytest.mark.timeout(30)

EXAMPLE = REPO / ".env.example"
# Lines that show an example value rather than the default (which is "unset").
EXAMPLES_NOT_DEFAULTS = {
    "DISCORD_ADMIN_ROLE",
    "DISCORD_ADMIN_ROLE_ID",
    "DISCORD_ANSWER_CHANNELS",
    "NEWSDESK_MODEL_CACHE_DIR",
}
_LINE = re.compile(r"^#?\s?([A-Z][A-Z0-9_]+)=(.*)$")


def documented() -> dict[str, str]:
    """NAME -> value of every `NAME=value` or `# NAME=value` line in .env.example."""
    values: dict[str, str] = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line)
        if match:
            values.setdefault(match[1], match[2])
    return values


def env_names(settings_class: type[BotSettings] | type[RetrievalSettings]) -> set[str]:
    prefix = settings_class.model_config["env_prefix"]
    return {f"{prefix}{name}".upper() for name in settings_class.model_fields}


def test_env_example_documents_every_variable() -> None:
    names = set(documented())
    assert env_names(BotSettings) <= names, env_names(BotSettings) - names
    assert env_names(RetrievalSettings) <= names, env_names(RetrievalSettings) - names
    assert names <= env_names(BotSettings) | env_names(RetrievalSettings)


def test_env_example_values_are_the_defaults(tmp_path: Path) -> None:
    """Uncommented, the example's default lines parse to exactly the built-in defaults."""
    examples = {
        name: value for name, value in documented().items() if name not in EXAMPLES_NOT_DEFAULTS
    }
    env = tmp_path / ".env"
    env.write_text("".join(f"{k}={v}\n" for k, v in examples.items()), encoding="utf-8")
    for settings_class in (BotSettings, RetrievalSettings):
        shown = settings_class(_env_file=env).model_dump()  # type: ignore[call-arg]
        defaults = settings_class(_env_file=None).model_dump()  # type: ignore[call-arg]
        stale = {k: (shown[k], v) for k, v in defaults.items() if shown[k] != v}
        assert not stale, f"update .env.example: (shown, default) = {stale}"


def test_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "  abc.def.ghi  ")
    settings = BotSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.token_value() == "abc.def.ghi"
    assert "abc.def" not in repr(settings) and "abc.def" not in str(settings)
    assert "**********" in repr(settings)


def test_blank_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", " ")
    monkeypatch.setenv("DISCORD_ADMIN_ROLE_ID", "")
    monkeypatch.setenv("DISCORD_ADMIN_ROLE", "")
    settings = BotSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.token is None and settings.token_value() is None
    assert settings.admin_role_id is None and settings.admin_role is None


def test_id_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_ANSWER_CHANNELS", "123, 456 789")
    monkeypatch.setenv("DISCORD_OWNER_IDS", "42")
    settings = BotSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.answer_channels == [123, 456, 789] and settings.owner_ids == [42]
    monkeypatch.setenv("DISCORD_ANSWER_CHANNELS", "general")
    with pytest.raises(ValidationError):
        BotSettings(_env_file=None)  # type: ignore[call-arg]


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("DISCORD_PREFIX=?\nDISCORD_PER_GUILD_COLLECTIONS=1\nNEWSDESK_TOP_K=7\n")
    settings = BotSettings(_env_file=env)  # type: ignore[call-arg]
    assert settings.prefix == "?" and settings.per_guild_collections
