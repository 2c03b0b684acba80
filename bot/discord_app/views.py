"""Buttons that survive restarts ("More results", 👍/👎, /sources paging), and sending
the messages that carry them.

Each is a DynamicItem: its custom_id carries what it needs (`nd:more:<answer_id>`,
`nd:vote:up:<answer_id>`, `nd:src:<page>:<search>`, `nd:src:<page>+:<search>` when sorted
by time added), and the bot registers the templates at
start (each cog registers the ones its messages carry), so a click on a message sent before
a restart still reaches its handler, which loads
the stored question from SQLite or says plainly that the buttons expired.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import discord

from bot.discord_app import answering, sources
from bot.discord_app.answering import Reply
from bot.discord_app.embeds import fit_content
from bot.discord_app.errors import FollowupLimitError
from bot.discord_app.replies import NO_MENTIONS, report_interaction_error
from retrieval.index.store import ArticleOrder

if TYPE_CHECKING:
    from bot.discord_app.services import Services

logger = logging.getLogger(__name__)
MORE_PREFIX = "nd:more:"
VOTE_PREFIX = "nd:vote:"
SOURCES_PREFIX = "nd:src:"
MAX_CUSTOM_ID = 100
T = TypeVar("T")
_ID = r"(?P<answer_id>[A-Za-z0-9_-]{1,40})"


class WithServices(Protocol):
    """The client as the buttons see it: whatever carries the shared services."""

    services: Services


def services_of(interaction: discord.Interaction) -> Services:
    return cast(WithServices, interaction.client).services


async def _guarded(interaction: discord.Interaction, work: Awaitable[None]) -> None:
    """discord.py only logs exceptions from dynamic items; route them to our reporting."""
    try:
        await work
    except Exception as exc:  # noqa: BLE001 - reported: friendly text, or traceback logged
        await report_interaction_error(interaction, exc)


class MoreButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.escape(MORE_PREFIX) + _ID,
):
    def __init__(self, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="More results",
                style=discord.ButtonStyle.primary,
                custom_id=f"{MORE_PREFIX}{answer_id}",
            )
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MoreButton:
        return cls(match["answer_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _guarded(interaction, self._more(interaction))

    async def _more(self, interaction: discord.Interaction) -> None:
        # Under a private answer the next excerpts are private too.
        private = interaction.message is not None and interaction.message.flags.ephemeral
        await interaction.response.defer(thinking=True, ephemeral=private)
        reply = await answering.more_results(services_of(interaction), answer_id=self.answer_id)
        await send_followup(interaction, replace(reply, ephemeral=reply.ephemeral or private))


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.escape(VOTE_PREFIX) + r"(?P<vote>up|down):" + _ID,
):
    def __init__(self, answer_id: str, vote: int) -> None:
        up = vote > 0
        super().__init__(
            discord.ui.Button(
                emoji="👍" if up else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"{VOTE_PREFIX}{'up' if up else 'down'}:{answer_id}",
            )
        )
        self.answer_id = answer_id
        self.vote = 1 if up else -1

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(match["answer_id"], 1 if match["vote"] == "up" else -1)

    async def callback(self, interaction: discord.Interaction) -> None:
        await _guarded(interaction, self._vote(interaction))

    async def _vote(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        reply = await answering.record_vote(
            services_of(interaction),
            answer_id=self.answer_id,
            user_id=interaction.user.id,
            vote=self.vote,
        )
        await send_followup(interaction, reply)


class SourcesPageButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    # "+" after the page: sorted by time added (ids sent before it existed still match).
    template=re.escape(SOURCES_PREFIX) + r"(?P<page>[0-9]{1,5})(?P<added>\+?):(?P<search>.*)",
):
    def __init__(
        self,
        page: int,
        search: str | None,
        *,
        label: str,
        disabled: bool,
        order: ArticleOrder = "published",
    ) -> None:
        custom_id = sources_custom_id(page, search, order)
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id,
                disabled=disabled,
            )
        )
        self.page = page
        self.search = search
        self.order: ArticleOrder = order

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SourcesPageButton:
        order: ArticleOrder = "added" if match["added"] else "published"
        page, search = int(match["page"]), match["search"] or None
        return cls(page, search, label="", disabled=False, order=order)

    async def callback(self, interaction: discord.Interaction) -> None:
        await _guarded(interaction, self._turn(interaction))

    async def _turn(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        page = await sources.list_page(
            services_of(interaction), guild_id=interaction.guild_id, search=self.search,
            page=self.page, order=self.order,
        )  # fmt: skip
        await interaction.edit_original_response(
            embed=page.embed,
            view=sources_view(page.page, page.pages, self.search, self.order),
            allowed_mentions=NO_MENTIONS,
        )


def sources_custom_id(page: int, search: str | None, order: ArticleOrder = "published") -> str:
    head = f"{SOURCES_PREFIX}{page}{'+' if order == 'added' else ''}:"
    return head + (search or "")[: MAX_CUSTOM_ID - len(head)]


def answer_view(answer_id: str, *, has_more: bool) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    if has_more:
        view.add_item(MoreButton(answer_id))
    view.add_item(VoteButton(answer_id, 1))
    view.add_item(VoteButton(answer_id, -1))
    return view


def sources_view(
    page: int, pages: int, search: str | None, order: ArticleOrder = "published"
) -> discord.ui.View | None:
    if pages <= 1:
        return None
    view = discord.ui.View(timeout=None)
    newer, older = ("◀ Later", "Earlier ▶") if order == "added" else ("◀ Newer", "Older ▶")
    view.add_item(SourcesPageButton(page - 1, search, label=newer, disabled=page <= 1, order=order))
    # Two buttons may not share a custom_id: the disabled end one points past the range.
    view.add_item(
        SourcesPageButton(page + 1, search, label=older, disabled=page >= pages, order=order)
    )
    return view


def message_kwargs(reply: Reply) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
    if reply.content:
        kwargs["content"] = fit_content(reply.content)
    if reply.embeds:
        kwargs["embeds"] = reply.embeds
    if reply.answer_id is not None:
        kwargs["view"] = answer_view(reply.answer_id, has_more=reply.has_more)
    return kwargs


# discord.py itself retries 500, 502, 504 and 524; these other "try again" answers would
# otherwise cost the member their answer.
RETRY_STATUSES = frozenset({503, 520, 521, 522, 523, 525, 526, 527, 529})
RETRY_DELAYS = (1.0, 2.0)
# "This interaction has hit the maximum number of follow up messages": 5 per interaction
# when only a user install authorized it (no server install where it was used).
MAX_FOLLOWUPS_CODE = 40094


async def _send_with_retry(send: Callable[[], Awaitable[T]]) -> T:
    for delay in (*RETRY_DELAYS, None):
        try:
            return await send()
        except discord.HTTPException as exc:
            if exc.status not in RETRY_STATUSES or delay is None:
                raise
            logger.warning("Discord answered %s; sending again in %.0f s", exc.status, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable: the last attempt raises")


async def send_followup(interaction: discord.Interaction, reply: Reply) -> discord.Message | None:
    """After `defer(thinking=True)`: the first followup replaces the "thinking…" message.

    Each command and each button click is its own interaction and sends one followup, so
    Discord's cap of 5 per user-installed interaction is not reached; if it ever is, the
    member is told in the message still showing "thinking…" rather than left waiting."""
    try:
        return await _send_with_retry(
            lambda: interaction.followup.send(
                ephemeral=reply.ephemeral, wait=True, **message_kwargs(reply)
            )
        )
    except discord.HTTPException as exc:
        if exc.code != MAX_FOLLOWUPS_CODE:
            raise
        logger.warning("Discord refused a followup: %s", exc)
        await interaction.edit_original_response(
            content=FollowupLimitError.message, allowed_mentions=NO_MENTIONS
        )
        return None


async def reply_to_message(message: discord.Message, reply: Reply) -> discord.Message:
    """Answers a prefix command, mention or answer-channel message, quoting it (no ping)."""
    return await _send_with_retry(
        lambda: message.channel.send(
            reference=message.to_reference(fail_if_not_exists=False),
            mention_author=False,
            **message_kwargs(reply),
        )
    )


async def send_message(channel: discord.abc.Messageable, reply: Reply) -> discord.Message:
    """An answer posted on its own, e.g. first in the thread opened on its question."""
    return await _send_with_retry(lambda: channel.send(**message_kwargs(reply)))
