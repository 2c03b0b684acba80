"""Versioned migrations of the database's own objects (the pgvector extension, which index
build is live for each collection). Applied in order, each in its own transaction, under an
advisory lock so that two processes starting at once apply each one once.

The tables of an index build are made with the build (schema.py) and carry the store's
SCHEMA_VERSION in their manifest, as in SQLite: an index of an older version is rebuilt
(`newsdesk index rebuild --full`), because that is the change of how articles are indexed,
not of where they are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from retrieval.index.postgres.connection import PgConnection

logger = logging.getLogger(__name__)

# Any constant both sides agree on: pg_advisory_xact_lock's key for "migrating now".
_MIGRATION_LOCK = 0x6E657773_6D696772  # "newsmigr"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "pgvector, and the live index build of each collection",
        (
            "CREATE EXTENSION IF NOT EXISTS vector",
            """CREATE TABLE IF NOT EXISTS newsdesk_collections (
                name TEXT PRIMARY KEY,
                live_schema TEXT NOT NULL,
                switched_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )""",
        ),
    ),
)
# The bot's own state that its processes share (bot/discord_app/shared_state.py): the
# answers behind "More results" and the vote buttons, the votes, the cooldowns.
BOT_SCHEMA = "newsdesk_bot"
MIGRATIONS += (
    Migration(
        2,
        "the bot's answers, votes and cooldowns, shared by its processes",
        (
            f"CREATE SCHEMA IF NOT EXISTS {BOT_SCHEMA}",
            f"""CREATE TABLE {BOT_SCHEMA}.install (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
            f"""CREATE TABLE {BOT_SCHEMA}.answers (
                id TEXT PRIMARY KEY,
                guild_id BIGINT,
                question TEXT NOT NULL,
                hits_shown TEXT NOT NULL,
                shown INTEGER NOT NULL,
                user_hash TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )""",
            f"CREATE INDEX answers_created ON {BOT_SCHEMA}.answers (created_at)",
            f"""CREATE TABLE {BOT_SCHEMA}.feedback (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                answer_id TEXT NOT NULL,
                guild_id BIGINT,
                question TEXT NOT NULL,
                hits_shown TEXT NOT NULL,
                user_hash TEXT NOT NULL,
                vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
                created_at DOUBLE PRECISION NOT NULL,
                UNIQUE (answer_id, user_hash)
            )""",
            f"""CREATE TABLE {BOT_SCHEMA}.cooldowns (
                key BIGINT PRIMARY KEY,
                asked_at DOUBLE PRECISION NOT NULL
            )""",
        ),
    ),
)
LATEST = MIGRATIONS[-1].version

_LEDGER = """CREATE TABLE IF NOT EXISTS newsdesk_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


def applied_version(conn: PgConnection) -> int:
    """The newest migration applied (0: a database newsdesk has never used)."""
    row = conn.raw.execute("SELECT to_regclass('public.newsdesk_migrations')").fetchone()
    if row is None or row[0] is None:
        return 0
    found = conn.raw.execute("SELECT max(version) FROM public.newsdesk_migrations").fetchone()
    return int(found[0]) if found and found[0] is not None else 0


def pending(conn: PgConnection) -> list[Migration]:
    done = applied_version(conn)
    return [m for m in MIGRATIONS if m.version > done]


def migrate(conn: PgConnection) -> list[Migration]:
    """Apply what is pending; returns what this call applied (another process may have
    applied the rest meanwhile). Each migration is logged as it is applied."""
    applied: list[Migration] = []
    with conn.raw.transaction():
        conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.raw.execute(_LEDGER)
        for migration in pending(conn):
            logger.info(
                "applying database migration %d: %s", migration.version, migration.description
            )
            for statement in migration.statements:
                conn.raw.execute(statement)
            conn.raw.execute(
                "INSERT INTO public.newsdesk_migrations (version, description) VALUES (%s, %s)",
                (migration.version, migration.description),
            )
            applied.append(migration)
    return applied
