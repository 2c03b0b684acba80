"""The tables of one index build, in its own PostgreSQL schema: the SQLite store's tables
(retrieval/index/store.py) in PostgreSQL's types, vectors as pgvector columns of the model's
dimension (an HNSW index can be put on them), `end` quoted (a reserved word here)."""

from __future__ import annotations


def build_tables(dimension: int) -> tuple[str, ...]:
    return (
        "CREATE TABLE manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE articles (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            text TEXT NOT NULL,
            url TEXT,
            published TEXT,
            published_at DOUBLE PRECISION,
            updated TEXT,
            updated_at DOUBLE PRECISION,
            source TEXT,
            author TEXT,
            path TEXT,
            extra TEXT NOT NULL DEFAULT '{}',
            content_hash TEXT NOT NULL,
            dedup_key TEXT NOT NULL,
            indexed_at DOUBLE PRECISION NOT NULL,
            url_key TEXT,
            group_id TEXT
        )""",
        "CREATE INDEX articles_dedup ON articles(dedup_key)",
        "CREATE INDEX articles_url_key ON articles(url_key)",
        "CREATE INDEX articles_published ON articles(published_at)",
        "CREATE INDEX articles_group ON articles(group_id)",
        # Ids only grow (the snapshot's row order): writers are serialized, so each write's
        # ids come after every committed one.
        """CREATE TABLE chunks (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            embed_hash TEXT NOT NULL
        )""",
        "CREATE INDEX chunks_article ON chunks(article_id)",
        "CREATE INDEX chunks_embed_hash ON chunks(embed_hash)",
        f"CREATE TABLE embeddings (hash TEXT PRIMARY KEY, vector vector({dimension}) NOT NULL)",
        """CREATE TABLE sentences (
            article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            embed_hash TEXT NOT NULL,
            PRIMARY KEY (article_id, start)
        )""",
        "CREATE INDEX sentences_embed_hash ON sentences(embed_hash)",
        """CREATE TABLE minhashes (
            article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            signature BYTEA NOT NULL
        )""",
        """CREATE TABLE minhash_bands (
            band INTEGER NOT NULL,
            bucket BIGINT NOT NULL,
            article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            PRIMARY KEY (band, bucket, article_id)
        )""",
        "CREATE INDEX minhash_bands_article ON minhash_bands(article_id)",
    )
