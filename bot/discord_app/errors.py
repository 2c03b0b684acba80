"""Which failures a Discord user is told about, and in what words.

Expected failures (NewsdeskError and discord.py's check/argument errors) get a short message;
anything else is a bug: logged with its traceback, and the user gets one generic apology.
"""

from __future__ import annotations

import math

from discord import app_commands
from discord.ext import commands

from retrieval.errors import ArticleNotFoundError, NewsdeskError

APOLOGY = "Sorry, something went wrong on my side. The details are in the bot's log."


class NotAllowedError(NewsdeskError):
    """The member may not use a management command."""

    message = "You can't manage the articles here."


class CooldownError(NewsdeskError):
    """The member asked again before their cooldown ran out."""

    message = "You're asking quickly. Please try again in a few seconds."

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        seconds = max(1, math.ceil(retry_after))
        super().__init__(f"You're asking quickly. Please try again in {seconds} s.")


class ExpiredError(NewsdeskError):
    """A button whose answer is no longer stored."""

    message = "These buttons have expired. Please ask the question again."


class GuildOnlyError(NewsdeskError):
    """A DM, when every server has its own collection."""

    message = "That works only in a server, where articles are kept."


class NoTextError(NewsdeskError):
    """ "Find evidence" on a message with nothing to search (only attachments or embeds)."""

    message = "That message has no text to look up. Try it on a message with words in it."


class FollowupLimitError(NewsdeskError):
    """Discord's cap on followups (user installs outside servers that have the bot: 5)."""

    message = "Discord allows no more replies to that. Please ask again with /ask."


class AmbiguousArticleError(ArticleNotFoundError):
    """What a member typed names no single article; on Discord the fix is a command there."""

    message = "No single article matches. Pick one from the suggestions, or see /sources."
    fix = None


def unwrap(error: BaseException) -> BaseException:
    """The exception a handler raised, without discord.py's invoke wrappers."""
    while isinstance(
        error,
        commands.CommandInvokeError | commands.HybridCommandError | app_commands.CommandInvokeError,
    ):
        original = error.original
        if original is None or original is error:
            break
        error = original
    return error


def user_message(error: BaseException) -> str | None:
    """The text for an expected failure, or None for a bug (to be logged and apologized for)."""
    error = unwrap(error)
    if isinstance(error, NewsdeskError):
        return str(error)
    if isinstance(error, commands.CommandNotFound):
        return "I don't know that command."  # never sent: the bot stays quiet instead
    if isinstance(error, commands.NotOwner):
        return "Only the bot's owner can do that."
    if isinstance(error, commands.NoPrivateMessage | app_commands.NoPrivateMessage):
        return "That works only in a server."
    if isinstance(error, commands.MissingRequiredArgument):
        return f"Something is missing: `{error.param.name}`."
    if isinstance(error, commands.UserInputError):
        return "I couldn't read that command; please check its arguments."
    if isinstance(error, commands.CheckFailure | app_commands.CheckFailure):
        return "You can't use that command here."
    return None


def is_expected(error: BaseException) -> bool:
    return user_message(error) is not None


class BadDateError(NewsdeskError):
    """A date option Discord users typed that is not a date."""

    message = "That is not a date; write it as 2025-09-01."
