"""Which plain messages are questions: a pure rule, so it is tested without Discord."""

from __future__ import annotations

import re
from collections.abc import Collection


def mention_pattern(bot_id: int, bot_role_id: int | None = None) -> re.Pattern[str]:
    """The bot's user mention, and its managed role's (members often pick that one)."""
    role = rf"|<@&{bot_role_id}>" if bot_role_id is not None else ""
    return re.compile(rf"<@!?{bot_id}>{role}")


def question_in_message(
    content: str,
    *,
    author_is_bot: bool,
    bot_id: int,
    prefix: str,
    channel_id: int,
    answer_channels: Collection[int],
    is_dm: bool = False,
    follow_up: bool = False,
    bot_role_id: int | None = None,
) -> str | None:
    """The question in a message, or None when it is not for us.

    Bots (ourselves included) are ignored; prefix commands are left to the command handler;
    a message mentioning the bot is a question (minus the mention); in a DM with the bot, an
    answer channel or a conversation (`follow_up`: a bot thread, a reply to an answer),
    every message is one.
    """
    if author_is_bot or not content.strip():
        return None
    if content.startswith(prefix):
        return None
    mention = mention_pattern(bot_id, bot_role_id)
    if mention.search(content):
        return " ".join(mention.sub(" ", content).split())
    if is_dm or follow_up or channel_id in answer_channels:
        return content.strip()
    return None
