"""`newsdesk doctor`: the effective settings, the index's state, what is wrong and the command
that fixes it. Fast: it reads files and the index's manifest, never loads the model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.cli.app import Context, cli, pass_context

if TYPE_CHECKING:
    from retrieval.settings import RetrievalSettings

MAX_LISTED = 5


@dataclass
class Problem:
    problem: str
    fix: str | None  # the command that fixes it, when one does


@dataclass
class Diagnosis:
    settings: dict[str, Any]
    model_cache: dict[str, Any]
    index: dict[str, Any]
    articles: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # worth knowing, nothing broken

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": not self.problems,
            "settings": self.settings,
            "model_cache": self.model_cache,
            "index": self.index,
            "articles": self.articles,
            "problems": [vars(p) for p in self.problems],
            "notes": [vars(p) for p in self.notes],
        }


def expected_manifest(settings: RetrievalSettings) -> dict[str, str]:
    """The manifest entries an index built now would have, as far as they are known without
    loading the model (the dimension only for a model in a local folder)."""
    from retrieval.embedding.onnx_cache import GRAPH_RECIPES
    from retrieval.index.store import SCHEMA_VERSION
    from retrieval.text.chunking import CHUNKER_VERSION

    manifest = {
        "schema_version": str(SCHEMA_VERSION),
        "sentence_vectors": "1" if settings.sentence_vectors else "0",
        "chunker_version": str(CHUNKER_VERSION),
        "chunk_tokens": str(settings.chunk_tokens),
        "chunk_overlap_tokens": str(settings.chunk_overlap_tokens),
    }
    if settings.model.startswith("hashing"):
        from retrieval.embedding.hashing import HashingEmbedder

        _, _, dim = settings.model.partition(":")
        hashing = HashingEmbedder(int(dim) if dim else 256)  # no model files: instant
        return manifest | {
            "model": hashing.name,
            "dimension": str(hashing.dimension),
            "embedding_backend": hashing.backend,
            "encoder_recipe": hashing.recipe,
        }
    backend = settings.embedding_backend
    manifest |= {
        "model": settings.model,
        "embedding_backend": backend,
        "encoder_recipe": GRAPH_RECIPES.get(backend, "1"),
    }
    files = _model_files(settings)
    if files is not None:
        manifest["dimension"] = str(files.dimension)
    return manifest


def _model_files(settings: RetrievalSettings) -> Any:
    from retrieval.embedding.factory import model_folder
    from retrieval.embedding.model_files import read_model_files
    from retrieval.errors import ModelError

    try:
        return read_model_files(model_folder(settings.model))
    except ModelError:
        return None


def diagnose(settings: RetrievalSettings, models: Path) -> Diagnosis:
    from retrieval.embedding.factory import ONNX_BACKENDS

    backend = "hashing" if settings.model.startswith("hashing") else settings.embedding_backend
    found = Diagnosis(
        settings={
            "articles_dir": str(settings.articles_dir),
            "index_dir": str(settings.index_dir),
            "model_cache_dir": str(models),
            "model": settings.model,
            "embedding_backend": backend,
        },
        model_cache={},
        index={},
        articles={},
    )
    if backend in ONNX_BACKENDS:
        _check_export(settings, models, found)
    else:
        found.model_cache = {"needed": False, "exported": None}
    indexed = _check_index(settings, found)
    _check_articles(settings, indexed, found)
    return found


def _check_export(settings: RetrievalSettings, models: Path, found: Diagnosis) -> None:
    from retrieval.embedding.onnx_cache import export_folder, usable_graph

    folder = export_folder(models, settings.model)
    files = _model_files(settings)
    if files is None:
        found.model_cache = {"needed": True, "exported": False, "folder": str(folder)}
        found.problems.append(
            Problem(
                f"the ONNX backends need a local model folder; {settings.model!r} is not one "
                "(NEWSDESK_MODEL, or NEWSDESK_EMBEDDING_BACKEND=torch)",
                None,
            )
        )
        return
    exported = usable_graph(folder, files, settings.embedding_backend) is not None
    found.model_cache = {"needed": True, "exported": exported, "folder": str(folder)}
    if not exported:
        found.notes.append(
            Problem(
                f"the model is not exported to ONNX in {folder} yet: the first command that "
                "encodes does it (about 20 s)",
                "newsdesk model export",
            )
        )


def _check_index(settings: RetrievalSettings, found: Diagnosis) -> dict[str, Any] | None:
    """The index's state; returns what it holds (paths of article files and the last build
    time), or None when there is no usable index."""
    from retrieval.errors import (
        DatabaseMigrationError,
        DatabaseUnavailableError,
        IndexCorruptError,
        IndexMismatchError,
        IndexMissingError,
        IndexStateError,
    )
    from retrieval.index.catalogue import read_status
    from retrieval.index.home import home_for
    from retrieval.index.manifest import check_manifest

    home = home_for(settings)
    index_dir = home.describe()
    try:
        status = read_status(home)
        database = home.live()
        assert database is not None  # read_status raised otherwise
        store = home.store(database, read_only=True)
        manifest = store.manifest()
        with store.reading() as conn:
            paths = {row[0] for row in conn.execute("SELECT path FROM articles") if row[0]}
    except IndexMissingError:
        found.index = {"exists": False}
        found.problems.append(Problem(f"no index in {index_dir}", "newsdesk index rebuild"))
        return None
    except (DatabaseMigrationError, DatabaseUnavailableError) as exc:
        # The database, not the index: its own line says what to do (no rebuild helps).
        found.index = {"exists": None, "readable": False}
        found.problems.append(Problem(exc.message, exc.fix))
        return None
    except IndexStateError as exc:
        found.index = {"exists": True, "readable": False}
        found.problems.append(Problem(exc.message, IndexCorruptError.fix))
        return None
    differences: list[str] = []
    try:
        check_manifest(manifest, expected_manifest(settings), index_dir)
    except IndexMismatchError as exc:
        differences = exc.differences.split(", ")
        found.problems.append(
            Problem(
                f"the index was built with other settings: {exc.differences}",
                "newsdesk index rebuild",  # which rebuilds in full by itself
            )
        )
    found.index = {
        "exists": True,
        "readable": True,
        "articles": status.articles,
        "chunks": status.chunks,
        "model": status.model,
        "embedding_backend": status.embedding_backend,
        "dimension": status.dimension,
        "last_build": _iso(status.last_build),
        "manifest_matches": not differences,
        "differences": differences,
    }
    return {"paths": paths, "last_build": status.last_build or 0.0}


def _check_articles(
    settings: RetrievalSettings, indexed: dict[str, Any] | None, found: Diagnosis
) -> None:
    from retrieval.loaders import iter_article_files

    folder = settings.articles_dir
    if not folder.is_dir():
        found.articles = {"exists": False}
        found.problems.append(
            Problem(f"the articles folder {folder} does not exist (NEWSDESK_ARTICLES_DIR)", None)
        )
        return
    files = {p.relative_to(folder).as_posix(): p for p in iter_article_files(folder)}
    found.articles = {"exists": True, "files": len(files)}
    if indexed is None:
        return
    last_build: float = indexed["last_build"]
    paths: set[str] = indexed["paths"]
    new = sorted(r for r, p in files.items() if r not in paths and _mtime(p) > last_build)
    unindexed = sorted(r for r, p in files.items() if r not in paths and _mtime(p) <= last_build)
    changed = sorted(r for r, p in files.items() if r in paths and _mtime(p) > last_build)
    gone = sorted(paths - files.keys())
    found.articles |= {
        "in_sync": not (new or changed or gone),
        "new": new,
        "changed": changed,
        "missing": gone,
        "not_indexed": unindexed,
    }
    out_of_sync = [
        f"{len(items)} {what} ({_some(items)})"
        for items, what in (
            (new, "new files not indexed"),
            (changed, "files modified since the last build"),
            (gone, "indexed files no longer in the folder"),
        )
        if items
    ]
    if out_of_sync:
        found.problems.append(
            Problem(
                f"the index is behind {folder}: " + "; ".join(out_of_sync),
                "newsdesk index rebuild",
            )
        )
    if unindexed:
        found.notes.append(
            Problem(
                f"{len(unindexed)} files older than the last build are not in the index "
                f"({_some(unindexed)}): skipped as bad files or duplicates; "
                "a rebuild says why",
                None,
            )
        )


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _some(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat() if timestamp else None


@cli.command(short_help="Check the settings and the index; say what to fix.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def doctor(obj: Context, as_json: bool) -> None:
    """Show the effective settings (absolute paths), the model and its backend, and the
    index's state; name what is wrong and the command that fixes it. Exits 1 when something
    is wrong. Fast: the model is not loaded and nothing is built.

    \b
    Examples:
      newsdesk doctor
      newsdesk doctor --json | jq .problems
      newsdesk doctor --index-dir /srv/news/.index
    """
    from bot.compose import models_dir

    settings = obj.settings
    found = diagnose(settings, models_dir(settings))  # absolute: the folders are
    if as_json:
        click.echo(json.dumps(found.as_json(), ensure_ascii=False))
    else:
        click.echo("\n".join(report_lines(found)))
    if found.problems:
        raise SystemExit(1)


def report_lines(found: Diagnosis) -> list[str]:
    s, index, articles, cache = found.settings, found.index, found.articles, found.model_cache
    if not articles.get("exists"):
        articles_line = f"{s['articles_dir']} (missing)"
    else:
        articles_line = f"{s['articles_dir']} ({articles['files']} article files)"
    if not index.get("exists"):
        index_line = f"{s['index_dir']} (none yet)"
    elif not index.get("readable"):
        index_line = f"{s['index_dir']} (unreadable)"
    else:
        index_line = (
            f"{s['index_dir']} ({index['articles']} articles, {index['chunks']} chunks, "
            f"{index['model']} on {index['embedding_backend']})"
        )
    if not cache.get("needed"):
        cache_line = f"{s['model_cache_dir']} (not used by this backend)"
    else:
        state = "exported" if cache.get("exported") else "not exported yet"
        cache_line = f"{s['model_cache_dir']} ({state})"
    rows = [
        ("Articles", articles_line),
        ("Index", index_line),
        ("Model cache", cache_line),
        ("Model", s["model"]),
        ("Backend", s["embedding_backend"]),
    ]
    if index.get("readable"):
        rows.append(
            ("Manifest", "matches the settings" if index["manifest_matches"] else "differs")
        )
        if "in_sync" in articles:
            rows.append(("In sync", "yes" if articles["in_sync"] else "no"))
    lines = [f"{label + ':':<13}{value}" for label, value in rows]
    for heading, items in (("Problems", found.problems), ("Notes", found.notes)):
        if items:
            lines += ["", f"{heading}:"]
            lines += [
                f"  - {item.problem}" + (f"; run `{item.fix}`" if item.fix else "")
                for item in items
            ]
    count = len(found.problems)
    lines += [
        "",
        "All good." if not count else f"{count} problem{'s' if count != 1 else ''} found.",
    ]
    return lines
