"""The index in PostgreSQL (NEWSDESK_DATABASE_URL): the same tables as the SQLite store, one
schema per index build, vectors in pgvector columns. Imported only when a URL is set."""
