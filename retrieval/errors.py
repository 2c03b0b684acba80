"""Errors a user can act on. Anything else is a bug and is logged with its traceback."""

from __future__ import annotations

import errno


class NewsdeskError(Exception):
    """An expected failure with a message fit to show a user as is."""


class BadArticleError(NewsdeskError):
    """A file or page that cannot be turned into an article (binary, empty, too large...)."""


class FetchError(NewsdeskError):
    """A URL that may not or could not be fetched."""


class IndexMismatchError(NewsdeskError):
    """The index on disk was built with other settings than the ones in force."""

    def __init__(self, message: str, differences: str = "") -> None:
        super().__init__(message)
        self.differences = differences  # e.g. "model 'a' (now 'b')", without the remedy


class IndexCorruptError(NewsdeskError):
    """The index database cannot be read."""


class NotFoundError(NewsdeskError):
    """No article with that id."""


class EmptyQuestionError(NewsdeskError):
    """The question has nothing to search for."""


class DiskFullError(NewsdeskError):
    """A write failed because the disk (or the quota) is full; what was saved before stays."""


def write_error(exc: OSError, what: str) -> NewsdeskError:
    """A failed file write as an error a user can act on: disk full, or the system's reason."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(
            f"the disk is full: could not write {what}; free some space and try again"
        )
    return NewsdeskError(f"could not write {what}: {exc.strerror or exc}")
