"""`newsdesk chat`: the bot's commands in a terminal, answers rendered by the same code."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from bot.render import group_label, render_status_lines, render_text
from retrieval.collection import add_sources, remove_article
from retrieval.dates import short_date
from retrieval.engine import Engine
from retrieval.errors import NewsdeskError
from retrieval.settings import RetrievalSettings, SearchMode

logger = logging.getLogger(__name__)

HELP = """\
Type a question, or one of:
  /ask QUESTION        the same as typing the question
  /more                the next excerpts for the last question
  /add PATH|URL ...    add articles (files, folders, JSONL, http(s) pages)
  /sources [SEARCH]    list articles, newest published first, with their dates
  /remove ARTICLE_ID   remove an article
  /status              what the index holds
  /help                this text
  /quit                leave (or Ctrl-D)
Up and Down recall earlier lines; Ctrl-C cancels the line or the answer being looked up."""

# Lines kept in the history file (readline's own bound, applied when it is written).
HISTORY_LINES = 1000


@dataclass
class ChatSession:
    """The state of one conversation; `handle` turns a line into the text to show."""

    engine: Engine
    settings: RetrievalSettings
    bold: tuple[str, str] = ("**", "**")
    k: int | None = None
    mode: SearchMode | None = None
    last_question: str | None = None
    shown: int = 0

    def handle(self, line: str) -> str | None:
        """Returns the reply, or None to end the session."""
        line = line.strip()
        if not line:
            return ""
        if not line.startswith("/"):
            return self.ask(line)
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        try:
            match command.lower():
                case "/quit" | "/exit":
                    return None
                case "/help":
                    return HELP
                case "/ask":
                    return self.ask(rest)
                case "/more":
                    return self.more()
                case "/add":
                    return self.add(rest)
                case "/sources":
                    return self.sources(rest or None)
                case "/remove":
                    if not rest:
                        return "Usage: /remove ARTICLE_ID (the ids are in /sources)"
                    article = remove_article(self.engine, self.settings, rest)
                    return f"Removed {article.id}: {article.title}"
                case "/status":
                    return "\n".join(render_status_lines(self.engine.status()))
                case _:
                    return f"Unknown command {command}. Type /help for the list."
        except NewsdeskError as exc:
            return str(exc)

    def ask(self, question: str) -> str:
        try:
            result = self.engine.search(question, k=self.k, mode=self.mode)
        except NewsdeskError as exc:
            return str(exc)
        self.last_question, self.shown = question, len(result.hits)
        text = render_text(result, bold=self.bold, show_scores=False)
        return text + ("\n\n(/more for further excerpts)" if result.has_more else "")

    def more(self) -> str:
        if self.last_question is None:
            return "Ask a question first."
        result = self.engine.search(
            self.last_question, k=self.k, mode=self.mode, offset=self.shown, abstain=False
        )
        if not result.hits:
            return "No more excerpts for that question."
        text = render_text(result, first_number=self.shown + 1, bold=self.bold, show_scores=False)
        self.shown += len(result.hits)
        return text

    def add(self, rest: str) -> str:
        sources = shlex.split(rest)
        if not sources:
            return "Usage: /add PATH|URL ..."
        outcome = add_sources(self.engine, self.settings, sources)
        return "\n".join([*outcome.messages, outcome.summary()])

    def sources(self, search: str | None) -> str:
        page, total = self.engine.list_articles(search, limit=20)
        if not page:
            return "No articles match." if search else "The index is empty."
        lines = []
        for item in page:
            date = short_date(item.published) if item.published is not None else "undated"
            label = group_label(item)
            lines.append(f"{date}  {item.title}  [{item.id}]" + (f"  ({label})" if label else ""))
        lines.append(f"({len(page)} of {total})")
        return "\n".join(lines)


def history_file() -> Path:
    """The chat's line history: `$XDG_STATE_HOME/newsdesk/chat_history` (~/.local/state by
    default), outside the index folder, which may be read-only or shared."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "newsdesk" / "chat_history"


class LineHistory:
    """Line editing and a bounded history file through the standard library's readline (GNU
    readline or libedit); a no-op where readline is missing (Windows)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            import readline
        except ImportError:
            logger.info("readline is not available: no line editing or history")
            self.readline = None
            return
        self.readline = readline
        readline.set_history_length(HISTORY_LINES)
        try:
            readline.read_history_file(str(path))
        except FileNotFoundError:
            logger.debug("no chat history yet at %s", path)
        except OSError as exc:
            logger.warning("cannot read the chat history %s: %s", path, exc)

    def save(self) -> None:
        if self.readline is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.readline.write_history_file(str(self.path))
        except OSError as exc:
            logger.warning("cannot save the chat history to %s: %s", self.path, exc)


def run_chat(
    engine: Engine,
    settings: RetrievalSettings,
    *,
    k: int | None = None,
    mode: SearchMode | None = None,
) -> None:
    """The chat loop. On a terminal: line editing and history, Ctrl-C cancels the line (or the
    answer being computed), Ctrl-D or /quit leaves. Piped input: one command per line."""
    interactive = sys.stdin.isatty()
    bold = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("**", "**")
    session = ChatSession(engine, settings, bold=bold, k=k, mode=mode)
    # Imported only on a terminal: readline may write control sequences when it starts.
    history = LineHistory(history_file()) if interactive else None
    status = engine.status()
    if interactive:
        click.echo(
            f"newsdesk chat: {status.articles} articles indexed. "
            "Ask a question, /help for commands, Ctrl-D or /quit to leave."
        )
    try:
        _loop(session, interactive)
    finally:
        if history is not None:
            history.save()


def _loop(session: ChatSession, interactive: bool) -> None:
    while True:
        try:
            line = input("? " if interactive else "")
        except EOFError:
            if interactive:
                click.echo("")
            return
        except KeyboardInterrupt:
            if not interactive:
                raise
            click.echo("")  # the line is dropped; a fresh prompt follows
            continue
        try:
            reply = session.handle(line)
        except KeyboardInterrupt:
            if not interactive:
                raise
            reply = "(cancelled)"
        except Exception:
            # One bad turn must not end the session; the traceback goes to the log.
            logger.exception("chat command failed: %s", line)
            reply = "Sorry, something went wrong with that; the details are in the log."
        if reply is None:
            return
        if reply:
            click.echo(reply + "\n")
