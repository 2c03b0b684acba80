"""Command definitions. Each command builds what it needs through bot.compose."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.compose import OpenPolicy
from bot.console import ProgressBar, fail, human_bytes
from bot.settings import NO_TOKEN

if TYPE_CHECKING:
    from bot.cli.evaluate import TimeChoice
    from bot.compose import Composition
    from retrieval.engine import Engine
    from retrieval.settings import RetrievalSettings

logger = logging.getLogger("newsdesk")
MODES = ("hybrid", "dense", "bm25")


@dataclass
class Context:
    verbose: int
    overrides: dict[str, Any] = field(default_factory=dict)
    _root: Composition | None = None

    @property
    def root(self) -> Composition:
        """The composition root, made on first use (settings read then: `--help` reads none)."""
        if self._root is None:
            from bot.compose import Composition, load_settings

            self._root = Composition(absolute_paths(load_settings(**self.overrides)))
        return self._root

    @property
    def settings(self) -> RetrievalSettings:
        return self.root.settings

    def engine(self, policy: OpenPolicy) -> Engine:
        return self.root.engine(policy)


pass_context = click.make_pass_decorator(Context)


def absolute_paths(settings: RetrievalSettings) -> RetrievalSettings:
    """The folders made absolute (against the current folder), so that every message and
    `--json` field names them unambiguously: "no index in /srv/news/.index", not ".index"."""
    folders = ("articles_dir", "index_dir", "model_cache_dir")
    update = {
        # abspath, not resolve(): '..' made plain, symlinks kept as the user named them.
        name: Path(os.path.abspath(value))  # noqa: PTH100
        for name in folders
        if (value := getattr(settings, name)) is not None
    }
    return settings.model_copy(update=update)


def _set_global(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A global option given after the subcommand: the same as before it (the later wins)."""
    obj = ctx.find_object(Context)
    if obj is None or value is None or value == 0:
        return value
    if param.name == "verbose":
        from bot.compose import configure_logging

        obj.verbose += value
        configure_logging(obj.verbose)
    else:
        obj.overrides[str(param.name)] = value
    return value


def global_options() -> list[click.Option]:
    """`-v`, `--index-dir`, `--articles-dir` and `--model`, for every command below the root
    (hidden there: `newsdesk --help` lists them once)."""
    path = click.Path(path_type=Path)
    made: list[click.Option] = [
        click.Option(["-v", "--verbose"], count=True),
        click.Option(["--index-dir"], type=path),
        click.Option(["--articles-dir"], type=path),
        click.Option(["--model"]),
    ]
    for option in made:
        option.expose_value, option.hidden, option.callback = False, True, _set_global
    return made


class Group(click.Group):
    """Turns expected errors into one line and their exit code (retrieval.errors) instead of a
    traceback. Every command added to it also takes the global options, so they work before
    and after the subcommand (`newsdesk ask "q" --index-dir X`, `newsdesk index status -v`)."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        taken = {opt for param in cmd.params for opt in getattr(param, "opts", ())}
        cmd.params.extend(
            option
            for option in global_options()
            if not taken.intersection(getattr(option, "opts", ()))
        )
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        from retrieval.errors import NewsdeskError

        try:
            return super().invoke(ctx)
        except NewsdeskError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt as exc:
            # An interrupted write says how much it saved (retrieval.errors.InterruptedWrite).
            click.echo(str(exc) or "interrupted", err=True)
            raise SystemExit(130) from None


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  newsdesk index rebuild            # index articles/ (only what changed)
  newsdesk ask "What did Kerry want from the Moscow talks?"
  newsdesk add https://example.com/story.html notes/
  newsdesk chat                     # try it in the terminal
  newsdesk run                      # start the Discord bot (needs DISCORD_TOKEN)
  newsdesk doctor                   # what is set, what is wrong, what fixes it

The options above also work after the command (newsdesk index status -v).

Settings come from NEWSDESK_* / DISCORD_* environment variables or .env (see .env.example).""",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option(
    "--index-dir", type=click.Path(path_type=Path), help="Index folder (NEWSDESK_INDEX_DIR)."
)
@click.option(
    "--articles-dir",
    type=click.Path(path_type=Path),
    help="Articles folder (NEWSDESK_ARTICLES_DIR).",
)
@click.option("--model", help="sentence-transformers model name or path (NEWSDESK_MODEL).")
@click.version_option(package_name="newsdesk", prog_name="newsdesk")
@click.pass_context
def cli(
    ctx: click.Context,
    verbose: int,
    index_dir: Path | None,
    articles_dir: Path | None,
    model: str | None,
) -> None:
    """Answer questions about your articles with cited, verbatim excerpts. No LLM, fully local."""
    from bot.compose import configure_logging

    configure_logging(verbose)
    ctx.obj = Context(
        verbose, {"index_dir": index_dir, "articles_dir": articles_dir, "model": model}
    )


# -- index ------------------------------------------------------------------------------------


@cli.group(cls=Group, short_help="Build and inspect the search index.")
def index() -> None:
    """Build and inspect the search index.

    \b
    Examples:
      newsdesk index rebuild
      newsdesk index status --json
    """


@index.command("rebuild", short_help="Sync the index with the articles folder.")
@click.option("--full", is_flag=True, help="Re-encode everything into a fresh index.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def index_rebuild(obj: Context, full: bool, as_json: bool) -> None:
    """Sync the index with the articles folder: add new, re-index changed, drop deleted files.

    An index built with another model, encoder or chunk settings is rebuilt in full.

    \b
    Examples:
      newsdesk index rebuild
      newsdesk index rebuild --full    # re-encode everything into a fresh index
      newsdesk index rebuild --json | jq .added
    """
    settings = obj.settings
    if not settings.articles_dir.is_dir():
        fail(f"articles folder {settings.articles_dir} does not exist (NEWSDESK_ARTICLES_DIR)")

    def announce(differences: str) -> None:
        # The articles folder is the source of truth, so this command can always recover:
        # after a settings change or an upgrade that changed the encoder, `make run` then
        # keeps working instead of stopping at an error.
        click.echo(
            f"the index was built with other settings ({differences}); rebuilding it in full.",
            err=True,
        )

    # The folder is read under the index's write lock, so a bot's /add meanwhile is kept.
    with ProgressBar() as bar:
        rebuilt = obj.root.rebuild(full=full, progress=bar, on_full_rebuild=announce)
    engine, report, full = rebuilt.engine, rebuilt.report, rebuilt.full
    for path, reason in report.skipped:
        click.echo(f"skipped {path}: {reason}", err=True)
    for dropped, kept in report.duplicates:
        click.echo(f"duplicate: {dropped} is the same article as {kept}; not indexed", err=True)
    status = engine.status()
    if as_json:
        data = {
            "full": full,
            "added": report.added,
            "changed": report.changed,
            "removed": report.removed,
            "unchanged": report.unchanged,
            "duplicates": [{"id": dropped, "same_as": kept} for dropped, kept in report.duplicates],
            "skipped": [{"path": path, "reason": reason} for path, reason in report.skipped],
            "chunks_encoded": report.chunks_encoded,
            "sentences_encoded": report.sentences_encoded,
            "seconds": round(report.seconds, 3),
            "articles": status.articles,
            "chunks": status.chunks,
        }
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(
        f"Index {'rebuilt' if full else 'synced'}: {report.summary()}. "
        f"Now {status.articles} articles, {status.chunks} chunks."
    )


@index.command("migrate", short_help="Apply pending database migrations (PostgreSQL).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def index_migrate(obj: Context, as_json: bool) -> None:
    """Bring the database of NEWSDESK_DATABASE_URL to this newsdesk's schema.

    Every process also does this when it starts, with a log line, unless
    NEWSDESK_DATABASE_MIGRATE=never (then it refuses to start until this has run). It is
    safe to run while bots are running, and from several hosts at once.

    \b
    Examples:
      NEWSDESK_DATABASE_URL=postgresql://news@db/newsdesk newsdesk index migrate
      newsdesk index migrate --json
    """
    from bot.compose import migrate_database

    applied, version = migrate_database(obj.settings)
    if as_json:
        click.echo(
            json.dumps(
                {"applied": [m.version for m in applied], "version": version},
                ensure_ascii=False,
            )
        )
        return
    if not applied:
        click.echo(f"The database is up to date (migration {version}).")
        return
    for migration in applied:
        click.echo(f"Applied migration {migration.version}: {migration.description}")
    click.echo(f"The database is at migration {version}.")


@index.command("status", short_help="Show what the index holds and how it was built.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def index_status(obj: Context, as_json: bool) -> None:
    """Show what the index holds and how it was built.

    \b
    Examples:
      newsdesk index status
      newsdesk index status --json | jq .chunks
    """
    from bot.compose import read_index_status

    status = read_index_status(obj.settings)
    if as_json:
        click.echo(json.dumps(dict(vars(status), path=str(status.path))))
        return
    rows = [
        ("Index", status.location or str(status.path)),
        ("Articles", str(status.articles)),
        ("Chunks", str(status.chunks)),
        ("Sentences", f"{status.sentences} (encoded on their own, for choosing passages)"),
        ("Model", status.model),
        ("Backend", status.embedding_backend),
        ("Dimension", str(status.dimension)),
        ("Size on disk", human_bytes(status.size_bytes)),
        ("Last build", _when(status.last_build) if status.last_build else "never"),
    ]
    for label, value in rows:
        click.echo(f"{label + ':':<14}{value}")


def read_stdin() -> str:
    """Standard input, all of it (`ask -`, `add -`)."""
    if sys.stdin.isatty():
        click.echo("Reading standard input; end it with Ctrl-D.", err=True)
    return sys.stdin.read()


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


# -- model ------------------------------------------------------------------------------------


@cli.group(cls=Group, short_help="Prepare the embedding model (ONNX export).")
def model() -> None:
    """Prepare the embedding model.

    \b
    Examples:
      newsdesk model export
      newsdesk model export --force --json
    """


@model.command("export", short_help="Export the model to ONNX and verify it.")
@click.option("--force", is_flag=True, help="Export again even if a verified export is cached.")
@click.option("--json", "as_json", is_flag=True, help="Print the export manifest as JSON.")
@pass_context
def model_export(obj: Context, force: bool, as_json: bool) -> None:
    """Export the model to ONNX (fp32 and int8) for the fast backends, and verify it.

    The graphs are made from the installed weights with torch, optimized and quantized with
    onnxruntime, compared with the torch model, and cached under the index folder
    (`<index>/models/`). The onnx backends do this on first use; run it ahead to keep that
    first question fast, e.g. after installing.

    \b
    Examples:
      newsdesk model export
      NEWSDESK_EMBEDDING_BACKEND=onnx newsdesk ask "who won Super Bowl 50?"
    """
    from bot.compose import export_model

    folder, manifest = export_model(obj.settings, force=force)
    if as_json:
        click.echo(json.dumps(manifest))
        return
    click.echo(f"ONNX export of {obj.settings.model} in {folder}")
    for backend, graph in manifest.get("graphs", {}).items():
        click.echo(
            f"  {backend:<10} {graph['file']:<16} {human_bytes(graph['bytes']):>9}  "
            f"mean cosine to torch {graph['mean_cosine_to_torch']:.4f} "
            f"(needs {graph['required_mean_cosine']}): "
            f"{'verified' if graph['verified'] else 'NOT verified'}"
        )


# -- add / remove -----------------------------------------------------------------------------


@cli.command(short_help="Add articles from files, folders, URLs or standard input.")
@click.argument("sources", nargs=-1, required=True)
@click.option("--title", help="The title of the article read from standard input (`-`).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def add(obj: Context, sources: Sequence[str], title: str | None, as_json: bool) -> None:
    """Add articles from files, folders, JSONL files or http(s) URLs.

    Files are copied into the articles folder (pages are saved there as Markdown), so a
    later `newsdesk index rebuild` keeps them. The same page (or file) again with new text
    updates its article: "Updated: <title>".

    \b
    Examples:
      newsdesk add story.md notes/ feed.jsonl
      newsdesk add https://example.com/2024/05/story.html
      newsdesk add https://example.com/2024/05/story.html --json | jq '.articles[].status'
      pbpaste | newsdesk add - --title "Council approves the budget"
    """
    from retrieval.collection import add_article, add_sources

    if "-" in sources and len(sources) > 1:
        raise click.UsageError("`-` (an article from standard input) must be the only source")
    if title is not None and sources != ("-",):
        raise click.UsageError("--title is for the article read from standard input (`-`)")
    settings = obj.settings
    if sources == ("-",):
        from retrieval.loaders import article_from_text

        article = article_from_text(read_stdin(), title=title)
        engine = obj.engine(OpenPolicy.OPEN_OR_BUILD)
        outcome = add_article(engine, settings, article)
    else:
        engine = obj.engine(OpenPolicy.OPEN_OR_BUILD)
        with ProgressBar() as bar:
            outcome = add_sources(engine, settings, sources, progress=bar)
    for line in outcome.messages:
        click.echo(line, err=True)
    if as_json:
        data = {
            "articles": outcome.as_json(),
            "failed": outcome.failed,
            "chunks_written": outcome.report.chunks_written,
        }
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        click.echo(outcome.summary())
    if outcome.failed and not outcome.report.written:
        raise SystemExit(1)


@cli.command(short_help="Remove articles from the index and the articles folder.")
@click.argument("article_ids", nargs=-1, required=True, metavar="ARTICLE_ID...")
@click.option("-y", "--yes", is_flag=True, help="Delete the articles' files without asking.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def remove(obj: Context, article_ids: Sequence[str], yes: bool, as_json: bool) -> None:
    """Remove articles from the index and delete their files from the articles folder.

    Asks first when files would be deleted (--yes skips the question; without a terminal
    to ask on, --yes is required). Every id is checked before anything is removed.

    \b
    Examples:
      newsdesk remove wikipedia/1973-oil-crisis
      newsdesk remove bees moon --yes --json
      newsdesk sources oil    # find the id first
    """
    from bot.cli.removing import confirm_removal, find_articles
    from retrieval.collection import remove_article

    engine = obj.engine(OpenPolicy.OPEN)
    articles = find_articles(engine, obj.settings, article_ids)
    engine.check_writable()  # a read-only index says so before anyone is asked to confirm
    confirm_removal(obj.settings, articles, yes=yes)
    removed = [remove_article(engine, obj.settings, article.id) for article in articles]
    if as_json:
        data = [{"id": a.id, "title": a.title, "path": a.path} for a in removed]
        click.echo(json.dumps({"removed": data}, ensure_ascii=False))
        return
    for article in removed:
        click.echo(f"Removed {article.id}: {article.title}")


@cli.command(short_help="List indexed articles, newest first.")
@click.argument("search", required=False)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--sort",
    "order",
    type=click.Choice(["published", "added"]),
    default="published",
    show_default=True,
    help="Newest first by publication date (undated articles last) or by when added.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def sources(obj: Context, search: str | None, limit: int, order: str, as_json: bool) -> None:
    """List indexed articles, newest first, optionally filtered by title or id.

    Copies of one wire story are marked: "copy of <id>" names the original.

    \b
    Examples:
      newsdesk sources
      newsdesk sources syria --limit 5
      newsdesk sources --sort added --limit 3
      newsdesk sources --json | jq '.articles[0].published'
      newsdesk sources --json | jq '.articles[] | select(.group)'
    """
    from bot.render import group_label
    from retrieval.dates import iso, short_date

    engine = obj.engine(OpenPolicy.OPEN)
    page, total = engine.list_articles(search, limit=limit, order=order)  # type: ignore[arg-type]
    if as_json:
        articles = [
            {
                "id": item.id,
                "title": item.title,
                "url": item.url,
                "published": iso(item.published),
                "updated": iso(item.updated),
                "source": item.source,
                "added": datetime.fromtimestamp(item.indexed_at, tz=UTC).isoformat(),
                "chunks": item.chunks,
                "group": item.group,  # the original's id, for every article of a group
            }
            for item in page
        ]
        listing = {"order": order, "total": total, "articles": articles}
        click.echo(json.dumps(listing, ensure_ascii=False))
        return
    for item in page:
        date = short_date(item.published) if item.published is not None else "undated"
        label = group_label(item)
        line = f"{item.id}\t{date}\t{item.title}\t{item.chunks} chunks"
        click.echo(line + (f"\t{label}" if label else ""))
    click.echo(f"{len(page)} of {total} articles")


# -- ask / chat -------------------------------------------------------------------------------


def _date_option(
    _ctx: click.Context, param: click.Parameter, value: str | None
) -> dt.datetime | None:
    """A date option's value as an aware time (a date alone is its midnight in UTC)."""
    if value is None:
        return None
    from retrieval.dates import parse_date

    parsed = parse_date(value)
    if parsed is None:
        raise click.BadParameter(f"{value!r} is not a date; write it as 2025-09-01")
    if param.name == "at" and ":" not in value:
        # "As of 4 Sep" means that day as a whole, its articles included.
        parsed += dt.timedelta(days=1, microseconds=-1)
    return parsed


@cli.command(short_help="Questions without a good answer on Discord, grouped.")
@click.option("--since", callback=_date_option, help="Only gaps recorded on or after DATE.")
@click.option("--guild", "guild_id", type=int, help="Only this server's (its id).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="One JSON list of groups for scripts.")
@pass_context
def gaps(
    obj: Context, since: dt.datetime | None, guild_id: int | None, limit: int, as_json: bool
) -> None:
    """List the questions the Discord bot answered with "no good match" or that got a 👎,
    similar wordings grouped, most asked first. No user ids are stored.

    Recorded only where turned on: DISCORD_RECORD_GAPS=true for every server, or an admin's
    /gaps record:True for theirs; kept DISCORD_GAPS_RETENTION_DAYS days.

    \b
    Examples:
      newsdesk gaps
      newsdesk gaps --since 2026-11-01 --limit 5
      newsdesk gaps --guild 123456789012345678
      newsdesk gaps --json | jq '.[0].question'
    """
    from bot.discord_app.gaps import FILE_NAME, GapStore, day, group_gaps, question_tokens

    path = obj.settings.index_dir / FILE_NAME
    rows = []
    if path.exists():
        rows = GapStore(path).open().rows(guild_id, since.timestamp() if since else None)
    groups = group_gaps(rows, question_tokens())[:limit] if rows else []
    if as_json:
        listing = [
            {
                "question": g.question,
                "count": g.count,
                "no_match": g.no_match,
                "thumbs_down": g.thumbs_down,
                "first": datetime.fromtimestamp(g.first, tz=UTC).isoformat(),
                "last": datetime.fromtimestamp(g.last, tz=UTC).isoformat(),
                "others": g.others,
            }
            for g in groups
        ]
        click.echo(json.dumps(listing, ensure_ascii=False))
        return
    if not groups:
        click.echo(
            "No gaps recorded. Recording is off unless DISCORD_RECORD_GAPS=true"
            " or a server admin ran /gaps record:True."
        )
        return
    click.echo("count\tno match\t👎\tfirst\tlast\tquestion")
    for g in groups:
        click.echo(
            f"{g.count}\t{g.no_match}\t{g.thumbs_down}\t{day(g.first)}\t{day(g.last)}\t{g.question}"
        )
    click.echo(f"{len(groups)} groups from {len(rows)} questions")


@cli.command(short_help="Ask a question: cited excerpts, best sentence in bold.")
@click.argument("question")
@click.option("-k", "k", type=click.IntRange(1, 50), help="How many excerpts (NEWSDESK_TOP_K).")
@click.option("--mode", type=click.Choice(MODES), help="Retriever (default NEWSDESK_SEARCH_MODE).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@click.option("--no-abstain", is_flag=True, help="Show the best excerpts even when weak.")
@click.option("--at", "at", callback=_date_option, help="Answer as if asked then (a date or time).")
@click.option("--since", callback=_date_option, help="Only articles published on or after DATE.")
@click.option("--before", callback=_date_option, help="Only articles published before DATE.")
@click.option("--no-time", is_flag=True, help="Ignore dates: no windows, no recency.")
@pass_context
def ask(
    obj: Context,
    question: str,
    k: int | None,
    mode: str | None,
    as_json: bool,
    no_abstain: bool,
    at: dt.datetime | None,
    since: dt.datetime | None,
    before: dt.datetime | None,
    no_time: bool,
) -> None:
    """Ask a question; prints numbered excerpts with the best sentence highlighted.

    Time counts: "latest" prefers the newest relevant articles, and phrases such as
    "yesterday", "on Tuesday", "in March" or operators such as since:2025-09-01,
    before:2025-09-03 and on:2025-09-02 keep to the articles published then.

    \b
    Examples:
      newsdesk ask "What did Kerry want from the Moscow talks?"
      newsdesk ask "who founded ABC" -k 3 --mode bm25
      newsdesk ask "oil embargo" --json | jq '.hits[0].excerpt'
      echo "Who founded ABC?" | newsdesk ask -
      newsdesk ask "What is the latest on the water notice?"
      newsdesk ask "What happened on Tuesday?" --at 2025-09-04
      newsdesk ask "council budget" --since 2025-03-01 --before 2025-04-01
    """
    from bot.render import render_text
    from retrieval.dates import TimeWindow

    if question == "-":
        question = read_stdin().strip()
    engine = obj.engine(OpenPolicy.OPEN)
    window = TimeWindow(since, before) if since or before else None
    result = engine.search(
        question,
        k=k,
        mode=mode,  # type: ignore[arg-type]
        abstain=not no_abstain,
        at=at,
        window=window,
        time_aware=not no_time,
    )
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    bold = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("**", "**")
    click.echo(render_text(result, bold=bold))


@cli.command(short_help="Ask questions in the terminal (chat).")
@click.option("-k", "k", type=click.IntRange(1, 50), help="How many excerpts (NEWSDESK_TOP_K).")
@click.option("--mode", type=click.Choice(MODES), help="Retriever (default NEWSDESK_SEARCH_MODE).")
@pass_context
def chat(obj: Context, k: int | None, mode: str | None) -> None:
    """Interactive question and answer in the terminal, on the same engine as the bot.

    Type a question, or /help for commands (/add, /sources, /remove, /status, /more, /quit).
    Up arrow recalls earlier lines (kept in $XDG_STATE_HOME/newsdesk/chat_history); Ctrl-C
    cancels the line or the answer, Ctrl-D leaves.

    \b
    Examples:
      newsdesk chat
      newsdesk chat -k 3 --mode bm25
      echo "Who met Lavrov?" | newsdesk chat
    """
    from bot.chat import run_chat

    run_chat(
        obj.engine(OpenPolicy.OPEN_OR_BUILD),
        obj.settings,
        k=k,
        mode=mode,  # type: ignore[arg-type]
    )


# -- eval -------------------------------------------------------------------------------------


@cli.command("eval", short_help="Measure retrieval quality on a test collection.")
@click.option(
    "--articles",
    "articles_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="JSONL (or a folder) of articles.",
)
@click.option(
    "--queries",
    "query_paths",
    required=True,
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSONL of questions; repeat to mix files (e.g. unanswerable ones).",
)
@click.option("--mode", "modes", multiple=True, type=click.Choice([*MODES, "all"]))
@click.option(
    "--index", "index_dir", type=click.Path(path_type=Path), help="Keep/reuse the index here."
)
@click.option("--no-abstain", is_flag=True, help="Never answer 'no good match'.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Abstention threshold to use.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N queries.")
@click.option(
    "--time",
    "time_choice",
    type=click.Choice(["aware", "ignore", "both"]),
    help="Ask each question as of its asked_at (aware), with dates playing no part "
    "(ignore), or both; default: both when any query has an asked_at, else aware.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def evaluate_command(
    obj: Context,
    articles_path: Path,
    query_paths: Sequence[Path],
    modes: Sequence[str],
    index_dir: Path | None,
    no_abstain: bool,
    threshold: float | None,
    limit: int | None,
    time_choice: TimeChoice | None,
    as_json: bool,
) -> None:
    """Measure retrieval quality: Ans@k, Hit@k, MRR@10, nDCG@10 and abstention.

    Metrics are as defined in the shared evaluation README; a query with no relevant ids is
    unanswerable and should get "no good match". A query's "asked_at" (ISO date or datetime;
    a date alone means the end of that day, UTC) is when it is asked: with time-awareness,
    articles published after it are hidden and "latest" or "this week" mean then.

    \b
    Examples:
      newsdesk eval --articles squad/articles_full.jsonl --queries squad/queries_full.jsonl
      newsdesk eval --articles cranfield/articles.jsonl --queries cranfield/queries.jsonl \\
          --mode all --index /tmp/cranfield-index --json
      newsdesk eval --articles bench/news/articles.jsonl --queries bench/news/queries.jsonl \\
          --time both
    """
    from bot.cli.evaluate import run_evaluation

    chosen = list(MODES) if "all" in modes else list(dict.fromkeys(modes))
    results = run_evaluation(
        obj.root,
        articles_path=articles_path,
        query_paths=query_paths,
        modes=chosen or [obj.settings.search_mode],
        index_dir=index_dir,
        abstain=not no_abstain,
        threshold=threshold,
        limit=limit,
        show_progress=not as_json,
        time=time_choice,
    )
    if as_json:
        # One object per row; a level only where there is a choice (several modes, two times).
        rows: dict[str, Any] = {
            mode: next(iter(by_time.values())) if len(by_time) == 1 else by_time
            for mode, by_time in results.items()
        }
        payload = next(iter(rows.values())) if len(rows) == 1 else rows
        click.echo(json.dumps(payload))
        return
    from bot.cli.evaluate import format_table

    click.echo(format_table(results))


# -- the bot ----------------------------------------------------------------------------------


@cli.command(short_help="Start the Discord bot.")
@click.option("--or-chat", is_flag=True, help="Without DISCORD_TOKEN, open the terminal chat.")
@click.option(
    "--shard-ids",
    metavar="IDS",
    help="Run only these of the bot's shards (e.g. 0,1); needs --shard-count.",
)
@click.option(
    "--shard-count",
    type=click.IntRange(1, 10_000),
    help="The bot's total number of shards, across all its processes.",
)
@pass_context
def run(obj: Context, or_chat: bool, shard_ids: str | None, shard_count: int | None) -> None:
    """Start the Discord bot (DISCORD_TOKEN from the environment or .env).

    Large bots run their shards in several processes, each given its share of them and the
    same NEWSDESK_DATABASE_URL (docs/scale-out.md).

    \b
    Examples:
      newsdesk run
      newsdesk run --or-chat   # what `make run` does: chat in the terminal when no token is set
      newsdesk run --shard-ids 0,1 --shard-count 4   # and --shard-ids 2,3 on another host
    """
    from bot.compose import load_bot_settings
    from bot.discord_app.runner import Shards

    shards = Shards.parse(shard_ids, shard_count)
    bot_settings = load_bot_settings()
    token = bot_settings.token_value()
    if not token:
        if not or_chat:
            fail(NO_TOKEN, 2)
        from bot.chat import run_chat

        click.echo("DISCORD_TOKEN is not set: opening the terminal chat instead.", err=True)
        run_chat(obj.engine(OpenPolicy.OPEN_OR_BUILD), obj.settings)
        return
    from bot.discord_app.runner import run_bot

    run_bot(obj.root.services(bot_settings), token, shards)


@cli.command("sync-commands", short_help="Publish the slash commands to Discord.")
@click.option("--guild", "guild_id", type=int, help="Publish to one server only (instant).")
@pass_context
def sync_commands(obj: Context, guild_id: int | None) -> None:
    """Publish the bot's slash commands to Discord, then exit.

    Run it once after installing and after upgrading; the bot never does it on start.
    Global commands can take a while to appear; --guild is immediate (good for testing).

    \b
    Examples:
      newsdesk sync-commands
      newsdesk sync-commands --guild 123456789012345678
    """
    from bot.compose import load_bot_settings

    bot_settings = load_bot_settings()
    token = bot_settings.token_value()
    if not token:
        fail(NO_TOKEN, 2)
    from bot.discord_app.runner import sync_commands as sync

    sync(obj.root.services(bot_settings), token, guild_id=guild_id)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="newsdesk")
