"""Which plain messages are questions: a pure rule, so it is tested without Discord."""

from __future__ import annotations

import re
from collections.abc import Collection

from retrieval.text.sentences import sentence_spans


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


QUESTION_WORDS = frozenset("who whom whose what which when where why how".split())
# Auxiliaries ask only when they open the sentence ("Was it...?", not "It was...").
OPENING_AUXILIARIES = frozenset(
    "is are was were do does did can could should would will has have had".split()
)
_WORD = re.compile(r"[\w']+")


def _question_rank(sentence: str) -> int:
    """0: asks (ends with "?"); 1: holds a question word; 2: anything else."""
    if sentence.rstrip(" \"'”’)").endswith("?"):
        return 0
    words = [w.casefold() for w in _WORD.findall(sentence)]
    if set(words) & QUESTION_WORDS or (words and words[0] in OPENING_AUXILIARIES):
        return 1
    return 2


def _cut_at_word(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > 0 else cut


def question_from_message(content: str, limit: int) -> str | None:
    """The question a "Find evidence" on a message asks: its text, or, when longer than the
    question limit, its most question-like sentences (asking ones first, then those with a
    question word; the others only when none is question-like) that fit, in their original
    order. None: no words at all."""
    text = " ".join(content.split())
    if not any(ch.isalnum() for ch in text):
        return None
    if len(text) <= limit:
        return text
    sentences = [
        " ".join(line[start:end].split())
        for line in content.splitlines()
        for start, end in sentence_spans(line)
    ]
    ranks = [_question_rank(s) for s in sentences]
    wanted = 1 if min(ranks) < 2 else 2
    order = sorted(
        (i for i in range(len(sentences)) if ranks[i] <= wanted), key=lambda i: (ranks[i], i)
    )
    chosen: list[int] = []
    used = 0
    for index in order:
        length = len(sentences[index]) + (1 if chosen else 0)
        if used + length <= limit:
            chosen.append(index)
            used += length
    if not chosen:  # even the best sentence is too long: its first words
        return _cut_at_word(sentences[order[0]], limit)
    return " ".join(sentences[i] for i in sorted(chosen))
