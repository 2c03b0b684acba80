"""Questions, "More results" and votes, as Discord-free coroutines the cogs and views call.

Each returns a Reply (what to send); each raises NewsdeskError for what the user should be
told. Searching and SQLite run in worker threads, never on the event loop.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import discord

from bot.discord_app.embeds import (
    answer_embeds,
    escape_text,
    no_match_content,
    shorten,
    time_content,
)
from bot.discord_app.errors import CooldownError, ExpiredError
from bot.discord_app.gaps import Reason
from bot.discord_app.services import Services
from retrieval.search.followup import FollowUpContext
from retrieval.search.results import Hit, SearchResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """A message to send. `answer_id` adds the buttons (More results only if `has_more`)."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    answer_id: str | None = None
    has_more: bool = False
    ephemeral: bool = False
    question: str = ""  # as searched (checked); a conversation records it
    cited: tuple[str, ...] = ()  # article ids of the excerpts shown, in order


def hit_key(hit: Hit) -> str:
    return f"{hit.article_id}#{hit.chunk_id}"


def cited_articles(hits: list[Hit]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(hit.article_id for hit in hits))


def context_note(result: SearchResult, context: FollowUpContext | None) -> str | None:
    """Says when earlier questions shaped the search, so a surprising answer explains itself."""
    if context is None or result.context_weight <= 0 or not context.questions:
        return None
    earlier = shorten(escape_text(" ".join(context.questions[-1].split())), 120)
    return f"-# Read as a follow-up to \u201c{earlier}\u201d"


def _joined(*parts: str | None) -> str | None:
    text = "\n".join(part for part in parts if part)
    return text or None


async def answer_question(
    services: Services,
    *,
    question: str,
    guild_id: int | None,
    user_id: int,
    via: str,
    context: FollowUpContext | None = None,
) -> Reply:
    """`context`: the earlier questions of the conversation a follow-up belongs to."""
    scoped = await services.engines.get(guild_id)
    # The engine's refusal of an empty or over-long question, before the cooldown counts it.
    question = scoped.engine.check_question(question)
    wait = await services.cooldown.aretry_after(user_id, services.clock())
    if wait > 0:
        raise CooldownError(wait)
    started = time.perf_counter()
    result = await scoped.engine.asearch(question, context=context)
    elapsed_ms = (time.perf_counter() - started) * 1000
    log_question(services, result, elapsed_ms, via=via, guild_id=guild_id)
    if result.abstained or not result.hits:
        await record_gap(services, guild_id, question, "no-match")
        return Reply(content=no_match_content(result), question=question)
    embeds = answer_embeds(result)
    shown = result.hits[: len(embeds)]
    answer_id = await services.store.asave_answer(
        guild_id=guild_id,
        question=question,
        hits_shown=[hit_key(h) for h in shown],
        user_id=user_id,
    )
    if context is not None and result.context_weight > 0:
        # "More results" must page the same search, context included.
        await services.conversations.asave_answer_context(answer_id, context)
    has_more = result.has_more or len(shown) < len(result.hits)
    return Reply(
        content=_joined(context_note(result, context), time_content(result)),
        embeds=embeds,
        answer_id=answer_id,
        has_more=has_more,
        question=question,
        cited=cited_articles(shown),
    )


def log_question(
    services: Services,
    result: SearchResult,
    elapsed_ms: float,
    *,
    via: str,
    guild_id: int | None,
) -> None:
    """One line per question; the question itself only if DISCORD_LOG_QUESTION_TEXT is on."""
    text = f" question={result.question!r}" if services.bot_settings.log_question_text else ""
    logger.info(
        "question via=%s guild=%s latency_ms=%.0f hits=%d abstained=%s%s",
        via,
        guild_id if guild_id is not None else "dm",
        elapsed_ms,
        len(result.hits),
        result.abstained,
        text,
    )


async def more_results(services: Services, *, answer_id: str) -> Reply:
    """The next citations for a stored answer (numbered on from the ones shown)."""
    stored = await services.store.aget_answer(answer_id)
    if stored is None:
        raise ExpiredError()
    scoped = await services.engines.get(stored.guild_id)
    context = await services.conversations.aanswer_context(answer_id)
    result = await scoped.engine.asearch(
        stored.question, offset=stored.shown, abstain=False, context=context
    )
    if not result.hits:
        return Reply(content="No more excerpts for that question.", ephemeral=True)
    embeds = answer_embeds(result, first_number=stored.shown + 1)
    shown = result.hits[: len(embeds)]
    await services.store.aadd_shown(answer_id, [hit_key(h) for h in shown])
    has_more = result.has_more or len(shown) < len(result.hits)
    return Reply(embeds=embeds, answer_id=answer_id, has_more=has_more)


async def record_vote(services: Services, *, answer_id: str, user_id: int, vote: int) -> Reply:
    if not await services.store.arecord_vote(answer_id, user_id, vote):
        raise ExpiredError()
    if vote < 0:
        stored = await services.store.aget_answer(answer_id)
        if stored is not None:
            await record_gap(services, stored.guild_id, stored.question, "thumbs-down")
    thanks = "Thanks! Glad it helped." if vote > 0 else "Thanks, noted. That helps improve it."
    return Reply(content=thanks, ephemeral=True)


async def record_gap(
    services: Services, guild_id: int | None, question: str, reason: Reason
) -> None:
    """For the gaps report, where recording is on (never DMs). Never breaks answering."""
    if guild_id is None:
        return
    try:
        gaps = services.gaps
        if await gaps.arecording(guild_id, services.bot_settings.record_gaps):
            await gaps.arecord(guild_id, question, reason)
    except Exception:
        logger.exception("could not record a gap (%s)", reason)
