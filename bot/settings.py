"""Typed settings for the Discord bot, read from DISCORD_* environment variables and `.env`.

Retrieval settings (paths, model, search) stay in retrieval.settings (NEWSDESK_*); this file
holds only what the bot adds. Every variable is documented in .env.example.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

NO_TOKEN = "DISCORD_TOKEN is not set: put it in .env (see .env.example) or the environment"
DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"

IdList = Annotated[list[int], NoDecode]


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DISCORD_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # SecretStr: repr()/str() show ********** so the token never reaches a log line.
    token: SecretStr | None = None
    api_base: str = Field(default=DISCORD_API_BASE, description="REST base, assigned to Route.BASE")
    gateway_url: str = Field(
        default=DISCORD_GATEWAY_URL,
        description="gateway, assigned to DiscordWebSocket.DEFAULT_GATEWAY",
    )
    message_content: bool = Field(
        default=True,
        description="request the Message Content intent (prefix, mention, answer channels)",
    )

    prefix: str = Field(default="!", min_length=1, max_length=10)
    admin_role: str | None = Field(default=None, description="role name allowed to manage articles")
    admin_role_id: int | None = Field(
        default=None, description="role id allowed to manage articles"
    )
    answer_channels: IdList = Field(
        default_factory=list, description="channel ids where every message is a question"
    )
    answer_in_threads: bool = Field(
        default=False, description="open a thread on each question and answer there"
    )
    thread_channels: IdList = Field(
        default_factory=list, description="channel ids that answer in threads (whatever the above)"
    )
    conversation_turns: int = Field(
        default=3, ge=1, le=10, description="earlier questions a follow-up is read with"
    )
    conversation_hours: float = Field(
        default=24.0, gt=0, le=24 * 90, description="a conversation idle this long is forgotten"
    )
    owner_ids: IdList = Field(
        default_factory=list, description="user ids allowed to !sync (default: app owner)"
    )

    ask_cooldown_seconds: float = Field(default=5.0, ge=0, le=3600)
    per_guild_collections: bool = False
    log_question_text: bool = False
    find_evidence_public: bool = Field(
        default=False,
        description="'Find evidence' answers everyone can see (default: only the asker)",
    )

    add_max_file_bytes: int = Field(
        default=2_000_000, ge=1_000, description="/add file: size limit"
    )
    add_max_url_bytes: int = Field(default=2_000_000, ge=1_000, description="/add url: size limit")
    add_fetch_timeout_seconds: float = Field(default=15.0, gt=0, le=120)

    feed_check_seconds: float = Field(
        default=60.0, ge=5, le=3600, description="how often the bot looks for feeds due a poll"
    )
    reload_seconds: float = Field(
        default=10.0, gt=0, description="how often to pick up index changes made by the CLI"
    )
    answer_retention_days: int = Field(
        default=90, ge=1, description="how long 'More results' and feedback buttons keep working"
    )
    record_gaps: bool = Field(
        default=False,
        description="record unanswered and 👎 questions (no user ids) in every server",
    )
    gaps_retention_days: int = Field(
        default=90, ge=1, description="how long recorded gaps are kept"
    )

    @field_validator("answer_channels", "thread_channels", "owner_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        """`123,456` or `123 456` in the environment; a list when built in code."""
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("token", "admin_role", "admin_role_id", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        """`DISCORD_TOKEN=` in .env.example means "not set", not an empty token."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def threads_in(self, channel_id: int) -> bool:
        """Whether questions asked in this channel are answered in a thread of their own."""
        return self.answer_in_threads or channel_id in self.thread_channels

    def token_value(self) -> str | None:
        """The token itself, for login only."""
        return self.token.get_secret_value().strip() if self.token is not None else None
