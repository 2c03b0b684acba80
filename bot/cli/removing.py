"""`newsdesk remove`: which articles the ids name, the path-for-an-id hint, the confirmation."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

import click

from bot.console import fail
from retrieval.errors import ArticleNotFoundError

if TYPE_CHECKING:
    from retrieval.documents import Article
    from retrieval.engine import Engine
    from retrieval.settings import RetrievalSettings

MAX_SUGGESTED = 5


def find_articles(
    engine: Engine, settings: RetrievalSettings, article_ids: Sequence[str]
) -> list[Article]:
    """The articles, all found before any is removed; an unknown id ends the command (a path
    of an article's file gets its id suggested)."""
    found: list[Article] = []
    for article_id in dict.fromkeys(article_ids):
        article = engine.get_article(article_id)
        if article is None:
            ids = ids_for_path(engine, settings, article_id)
            if ids:
                fail(
                    f"{article_id!r} is a file, not an article id; "
                    f"did you mean: newsdesk remove {' '.join(ids)}",
                    ArticleNotFoundError.exit_code,
                )
            raise ArticleNotFoundError(f"no article with id {article_id!r}")
        found.append(article)
    return found


def ids_for_path(engine: Engine, settings: RetrievalSettings, given: str) -> list[str]:
    """The ids of the articles read from the file `given` names (relative to the current
    folder or to the articles folder), when it is one in the articles folder."""
    folder = settings.articles_dir.resolve()
    relative: set[str] = set()
    for candidate in (Path(given), folder / given):
        absolute = candidate.resolve()
        if absolute.is_relative_to(folder):
            relative.add(absolute.relative_to(folder).as_posix())
    if not relative:
        return []
    ids = sorted(a.id for a in engine.snapshot.articles.values() if a.path in relative)
    return ids[:MAX_SUGGESTED]


def confirm_removal(settings: RetrievalSettings, articles: Sequence[Article], *, yes: bool) -> None:
    """Ask before deleting files from the articles folder; without a terminal, `--yes` is
    needed (a script must not hang on a question nobody sees)."""
    files = [a for a in articles if a.path and (settings.articles_dir / a.path).exists()]
    if yes or not files:
        return
    count = f"{len(files)} file{'s' if len(files) != 1 else ''}"
    if not sys.stdin.isatty():
        fail(
            f"this deletes {count} from {settings.articles_dir}; "
            "add --yes to confirm (standard input is not a terminal to ask on)",
            2,
        )
    for article in files:
        where = PurePath(str(article.path)).as_posix()
        bulk = " (its line in that JSONL file)" if where.lower().endswith(".jsonl") else ""
        click.echo(f"  {where}{bulk}: {article.id} ({article.title})", err=True)
    if not click.confirm(f"Delete {count} from {settings.articles_dir}?", err=True):
        click.echo("Nothing removed.", err=True)
        raise SystemExit(1)
