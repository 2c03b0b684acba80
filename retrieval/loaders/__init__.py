"""Turning files, pasted text and web pages into Articles, with body text kept verbatim."""

from retrieval.loaders.fetch import fetch_article, fetch_article_sync
from retrieval.loaders.files import (
    SUPPORTED_SUFFIXES,
    LoadReport,
    iter_article_files,
    load_file,
    load_folder,
)
from retrieval.loaders.pasted import article_from_text
from retrieval.loaders.saving import render_markdown, write_article_file

__all__ = [
    "SUPPORTED_SUFFIXES",
    "LoadReport",
    "article_from_text",
    "fetch_article",
    "fetch_article_sync",
    "iter_article_files",
    "load_file",
    "load_folder",
    "render_markdown",
    "write_article_file",
]
