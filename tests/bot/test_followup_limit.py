"""Discord's cap on followups (40094, user installs): the member is told, not left waiting."""

from __future__ import annotations

from unittest.mock import MagicMock, create_autospec

import discord
import pytest

from bot.discord_app.answering import Reply
from bot.discord_app.errors import FollowupLimitError
from bot.discord_app.views import send_followup

pytestmark = pytest.mark.timeout(30)


def http_error(status: int, code: int) -> discord.HTTPException:
    response = MagicMock(status=status, reason="Bad Request")
    return discord.HTTPException(response, {"code": code, "message": "refused"})


def interaction_refusing(error: discord.HTTPException) -> MagicMock:
    interaction: MagicMock = create_autospec(discord.Interaction, instance=True)
    interaction.followup = create_autospec(discord.Webhook, instance=True)
    interaction.followup.send.side_effect = error
    return interaction


async def test_the_followup_cap_says_so_in_the_thinking_message() -> None:
    interaction = interaction_refusing(http_error(400, 40094))
    await send_followup(interaction, Reply(content="More excerpts"))
    interaction.edit_original_response.assert_awaited_once()
    kwargs = interaction.edit_original_response.await_args.kwargs
    assert kwargs["content"] == FollowupLimitError.message
    assert kwargs["allowed_mentions"].to_dict()["parse"] == []


async def test_other_refusals_still_raise() -> None:
    interaction = interaction_refusing(http_error(400, 50035))
    with pytest.raises(discord.HTTPException):
        await send_followup(interaction, Reply(content="x"))
    interaction.edit_original_response.assert_not_awaited()
