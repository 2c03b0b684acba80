"""Persistence: SQLite is the source of truth; FAISS and BM25 files are derived from it."""
