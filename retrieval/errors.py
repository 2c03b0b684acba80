"""Errors a user can act on. Anything else is a bug and is logged with its traceback.

Each class carries the one line a user is shown (`message`; a raise may give a more precise
one) and, when one `newsdesk` command fixes it, that command (`fix`). `str(error)` is both
("no index in .index; run `newsdesk index rebuild`"), so the CLI's `error: ...` line, the
terminal chat and the Discord reply all say what to do. `exit_code` is what the CLI exits
with:

    NewsdeskError               something expected went wrong                        (exit 1)
        UsageError              the arguments or settings cannot be used             (exit 2)
            QuestionError       the question cannot be searched
                EmptyQuestionError      it has no words in it
                QuestionTooLongError    it is longer than NEWSDESK_MAX_QUESTION_CHARS
                TimeOperatorError       a since:/before:/on: value is not a date
            QueriesFileError    an evaluation queries file cannot be used
            ModelError          the embedding model cannot be loaded or exported
        ArticleError            an article cannot be used, found or saved
            BadArticleError     a file or text that is not an article (binary, empty...)
            ArticleNotFoundError        no article with that id   fix: newsdesk sources
            ArticleExistsError  another article already has its id or file name
        SourceError             where articles were to come from cannot be read
            SourceNotFoundError no such file or folder, or no article files in it
            FetchError          a URL that may not or could not be fetched
            FeedError           a feed that cannot be read or followed
                NotAFeedError   a page or file that is not a feed (and names none)
                FeedNotFoundError       no subscription with that id  fix: newsdesk feeds list
        IndexStateError         the index cannot be used as it is                    (exit 3)
            IndexMissingError   there is no index yet     fix: newsdesk index rebuild
            IndexMismatchError  built with other settings fix: newsdesk index rebuild --full
            IndexCorruptError   damaged or unreadable     fix: newsdesk index rebuild --full
            IndexBusyError      another write holds it; try again                   (exit 75)
                DatabaseUnavailableError    NEWSDESK_DATABASE_URL's server cannot be
                                            reached or refused the query; try again
            DatabaseMigrationError      the database needs migrations  fix: newsdesk index migrate
        WriteError              a file could not be written
            DiskFullError       ...because the disk (or the quota) is full
            IndexReadOnlyError  ...because the index folder is read-only (it can be searched)

The Discord adapter adds its own refusals (bot/discord_app/errors.py: NotAllowedError,
CooldownError, ExpiredError, GuildOnlyError, AmbiguousArticleError, NoTextError, BadDateError,
FollowupLimitError), all NewsdeskErrors.

Exit codes: 0 done; 1 an expected failure; 2 bad arguments or settings (as for click's own
usage errors); 3 the index must be built or rebuilt first (`newsdesk index rebuild`); 75
busy, try again (EX_TEMPFAIL); 130 interrupted (Ctrl-C during a write raises
retrieval.engine.InterruptedWrite, a KeyboardInterrupt saying how many articles were saved).
Anything else is a bug.
"""

from __future__ import annotations

import errno
from typing import ClassVar


class NewsdeskError(Exception):
    """An expected failure with a message fit to show a user as is."""

    message: str = "something went wrong"
    fix: ClassVar[str | None] = None  # the `newsdesk ...` command that fixes it, if one does
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message if self.fix is None else f"{self.message}; run `{self.fix}`"


# -- what the command was given ----------------------------------------------------------------


class UsageError(NewsdeskError):
    """The command's arguments or the settings cannot be used as given."""

    message = "that cannot be done with these arguments or settings"
    exit_code = 2


class QuestionError(UsageError):
    """The question cannot be searched."""

    message = "that question cannot be searched"


class EmptyQuestionError(QuestionError):
    """The question has nothing to search for."""

    message = "Ask a question with some words in it."


class QuestionTooLongError(QuestionError):
    """Refused rather than cut: a cut question is not the one the user asked."""

    message = "Please keep questions shorter."

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"Please keep questions under {limit} characters.")


class TimeOperatorError(QuestionError):
    """A time operator (`since:`, `before:`, `on:`) or option whose value is not a date."""

    message = "that is not a date; write it as since:2025-09-01"


class QueriesFileError(UsageError):
    """An evaluation queries file that cannot be read or holds no queries."""

    message = "the queries file cannot be used"


class ModelError(UsageError):
    """The embedding model (NEWSDESK_MODEL, NEWSDESK_EMBEDDING_BACKEND) cannot be loaded."""

    message = "the embedding model cannot be loaded; check NEWSDESK_MODEL"


# -- articles ----------------------------------------------------------------------------------


class ArticleError(NewsdeskError):
    """An article cannot be used, found or saved."""

    message = "that article cannot be used"


class BadArticleError(ArticleError):
    """A file or page that cannot be turned into an article (binary, empty, too large...)."""

    message = "that is not an article newsdesk can read"


class ArticleNotFoundError(ArticleError):
    """No article with that id."""

    message = "no article with that id"
    fix: ClassVar[str | None] = "newsdesk sources"


class ArticleExistsError(ArticleError):
    """Another article already has this one's id or file name (with other content)."""

    message = "another article already uses that name"


# -- where articles come from ------------------------------------------------------------------


class SourceError(NewsdeskError):
    """A file, folder or URL that articles were to be read from cannot be read."""

    message = "that source cannot be read"


class SourceNotFoundError(SourceError):
    """No such file or folder, or no article files in it."""

    message = "no such file or folder"


class FetchError(SourceError):
    """A URL that may not or could not be fetched."""

    message = "that link could not be fetched"


class FeedError(SourceError):
    """A feed that cannot be fetched, read or followed (a bomb, a page naming no feed...)."""

    message = "that feed cannot be read"


class NotAFeedError(FeedError):
    """The URL gave a page or document that is not a feed."""

    message = "that is not a feed"


class FeedNotFoundError(FeedError):
    """No subscription with that id or URL."""

    message = "no feed with that id"
    fix = "newsdesk feeds list"


# -- the index ---------------------------------------------------------------------------------


class IndexStateError(NewsdeskError):
    """The index cannot be used as it is. (Not `IndexError`: that is Python's.)"""

    message = "the index cannot be used as it is"
    exit_code = 3


class IndexMissingError(IndexStateError):
    """There is no index yet."""

    message = "there is no index yet"
    fix = "newsdesk index rebuild"


class IndexMismatchError(IndexStateError):
    """The index on disk was built with other settings than the ones in force."""

    message = "the index was built with other settings"
    fix = "newsdesk index rebuild --full"

    def __init__(self, message: str | None = None, differences: str = "") -> None:
        super().__init__(message)
        self.differences = differences  # e.g. "model 'a' (now 'b')", without the remedy


class IndexCorruptError(IndexStateError):
    """The index database cannot be read."""

    message = "the index is damaged"
    fix = "newsdesk index rebuild --full"


class IndexBusyError(IndexStateError):
    """Another write holds the index; it is free again once that write is done."""

    message = "the index is busy (another write is running); try again"
    exit_code = 75


class DatabaseUnavailableError(IndexBusyError):
    """The PostgreSQL server of NEWSDESK_DATABASE_URL cannot be reached or refused the query;
    it may be back in a moment (a restart, a failover), so it is a try-again."""

    message = "the database cannot be reached; check NEWSDESK_DATABASE_URL and the server"
    exit_code = 75


class DatabaseMigrationError(IndexStateError):
    """The database's schema is older than this newsdesk and migrating at start is off."""

    message = "the database needs migrations before it can be used"
    fix = "newsdesk index migrate"


# -- writing files -----------------------------------------------------------------------------


class WriteError(NewsdeskError):
    """A file could not be written; what was saved before stays."""

    message = "a file could not be written"


class DiskFullError(WriteError):
    """A write failed because the disk (or the quota) is full; what was saved before stays."""

    message = "the disk is full; free some space and try again"


class IndexReadOnlyError(WriteError):
    """The index folder is read-only (or NEWSDESK_INDEX_READ_ONLY is set): it can be searched,
    not changed. A rebuild cannot help; write access (or another folder) does."""

    message = (
        "the index folder is read-only: it can be searched, not changed; make it writable "
        "or set NEWSDESK_INDEX_DIR to a writable folder"
    )


def write_error(exc: OSError, what: str) -> WriteError:
    """A failed file write as an error a user can act on: disk full, or the system's reason."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(
            f"the disk is full: could not write {what}; free some space and try again"
        )
    return WriteError(f"could not write {what}: {exc.strerror or exc}")
