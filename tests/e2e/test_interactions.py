""" "Find evidence" on a message, `/ask private`, and user installs (DMs, group DMs, servers
without the bot) with the real bot against the fake Discord."""

from __future__ import annotations

import pytest

from bot.discord_app.errors import NoTextError
from tests.e2e.conftest import MakeDesk
from tests.e2e.desk import REUTERS_QUESTION, REUTERS_TITLE, WAIT, Desk
from tests.e2e.test_buttons import button
from tests.fakediscord import FakeFile, FakeMessage, InteractionHandle
from tests.fakediscord.rest import RestError

pytestmark = pytest.mark.timeout(60)
MENU = "Find evidence"


async def find_evidence(
    desk: Desk, target: FakeMessage, user: object, *, install: str | None = None
) -> InteractionHandle:
    channel = desk.fake.world.channels[target.channel_id]
    handle = desk.fake.send_message_command(channel, user, MENU, target, install=install)  # type: ignore[arg-type]
    await desk.fake.wait_for_interaction_response(handle, followups=1, timeout=WAIT)
    return handle


async def click(desk: Desk, message: FakeMessage, custom_id: str, user: object) -> FakeMessage:
    handle = desk.fake.click_button(message, custom_id, user)  # type: ignore[arg-type]
    await desk.fake.wait_for_interaction_response(handle, followups=1, timeout=WAIT)
    return handle.followups[0]


def cites_reuters(message: FakeMessage) -> bool:
    return bool(message.embeds) and message.embeds[0]["title"] == f"[1] {REUTERS_TITLE}"


async def test_find_evidence_is_private_and_its_buttons_work(desk: Desk) -> None:
    said = desk.fake.send_user_message(desk.channel, desk.alice, REUTERS_QUESTION)
    handle = await find_evidence(desk, said, desk.editor)
    assert handle.payload["data"]["type"] == 3
    assert handle.payload["data"]["target_id"] == str(said.id)
    assert handle.response_type == 5 and handle.callback is not None
    assert (handle.callback.data or {}).get("flags") == 64  # an ephemeral defer
    answer = handle.followups[0]
    assert answer.ephemeral and cites_reuters(answer)
    assert answer.content.startswith(f"> {REUTERS_QUESTION}")
    # Under a private answer, the next excerpts are private too; a vote is recorded.
    more = await click(desk, answer, button(answer, "nd:more:"), desk.editor)
    assert more.ephemeral and more.embeds[0]["title"].startswith(f"[{len(answer.embeds) + 1}] ")
    thanks = await click(desk, answer, button(answer, "nd:vote:up:"), desk.editor)
    assert thanks.ephemeral and thanks.content.startswith("Thanks")
    [row] = desk.services.store.feedback_rows()
    assert row.vote == 1 and row.question == REUTERS_QUESTION
    # Only the editor ever saw it: nobody else can click an ephemeral message.
    with pytest.raises(ValueError, match="ephemeral"):
        desk.fake.click_button(answer, button(answer, "nd:more:"), desk.alice)


async def test_find_evidence_public_with_the_setting(make_desk: MakeDesk) -> None:
    desk = await make_desk(find_evidence_public=True)
    said = desk.fake.send_user_message(desk.channel, desk.alice, REUTERS_QUESTION)
    handle = await find_evidence(desk, said, desk.editor)
    assert not handle.followups[0].ephemeral and cites_reuters(handle.followups[0])


async def test_a_long_message_asks_its_question_like_sentences(desk: Desk) -> None:
    chatter = "We had a long meeting this morning and the coffee ran out early again. " * 8
    text = chatter + REUTERS_QUESTION + " " + chatter
    assert len(text) > desk.services.settings.max_question_chars
    said = desk.fake.send_user_message(desk.channel, desk.alice, text)
    answer = (await find_evidence(desk, said, desk.alice)).followups[0]
    assert answer.content.split("\n")[0] == f"> {REUTERS_QUESTION}"
    assert cites_reuters(answer)


async def test_a_message_without_text_gets_a_friendly_line(desk: Desk) -> None:
    photo = FakeFile("photo.png", b"\x89PNG", "image/png")
    said = desk.fake.send_user_message(desk.channel, desk.alice, "", attachments=[photo])
    answer = (await find_evidence(desk, said, desk.alice)).followups[0]
    assert answer.ephemeral and answer.content == NoTextError.message
    assert desk.errors.expected_types() == [NoTextError]


async def test_ask_private_is_ephemeral_and_more_results_stays_private(desk: Desk) -> None:
    handle = await desk.slash(desk.alice, "ask", {"question": REUTERS_QUESTION, "private": True})
    answer = handle.followups[0]
    assert answer.ephemeral and cites_reuters(answer)
    more = await click(desk, answer, button(answer, "nd:more:"), desk.alice)
    assert more.ephemeral and more.embeds
    public = await desk.slash(desk.alice, "ask", {"question": REUTERS_QUESTION})
    assert not public.followups[0].ephemeral


async def test_ask_in_a_dm_through_a_user_install(desk: Desk) -> None:
    desk.fake.enable_user_install()
    dm = desk.fake.dm_channel(desk.alice)
    handle = desk.fake.send_slash_command(
        dm, desk.alice, "ask", {"question": REUTERS_QUESTION}, install="user"
    )
    await desk.fake.wait_for_interaction_response(handle, followups=1, timeout=WAIT)
    assert handle.payload["context"] == 1
    assert handle.payload["authorizing_integration_owners"] == {"1": str(desk.alice.id)}
    assert "member" not in handle.payload and handle.payload["user"]["id"] == str(desk.alice.id)
    assert cites_reuters(handle.followups[0])


async def test_find_evidence_in_a_group_dm(desk: Desk) -> None:
    desk.fake.enable_user_install()
    bob = desk.fake.add_user("bob")
    group = desk.fake.group_dm(desk.alice, bob, name="weekend")
    said = desk.fake.send_user_message(group, bob, REUTERS_QUESTION)
    handle = await find_evidence(desk, said, desk.alice, install="user")
    assert handle.payload["context"] == 2 and handle.payload["channel"]["type"] == 3
    answer = handle.followups[0]
    assert answer.ephemeral and cites_reuters(answer)
    # A guild install never reaches a group DM.
    with pytest.raises(LookupError):
        desk.fake.send_message_command(group, desk.alice, MENU, said, install="guild")


async def test_management_is_not_offered_outside_servers_with_the_bot(desk: Desk) -> None:
    desk.fake.enable_user_install()
    dm = desk.fake.dm_channel(desk.admin)
    group = desk.fake.group_dm(desk.admin, desk.alice)
    elsewhere = desk.fake.add_guild("No bot here", with_bot=False)
    desk.fake.add_member(elsewhere, desk.admin.user, permissions=desk.admin_permissions)
    options = {"title": "T", "text": "Some text."}
    for channel, install in ((dm, "user"), (dm, "guild"), (group, "user")):
        with pytest.raises(LookupError):
            desk.fake.send_slash_command(channel, desk.admin, "add", options, install=install)
    with pytest.raises(LookupError):
        desk.fake.send_slash_command(elsewhere.text_channels[0], desk.admin, "add", options)
    with pytest.raises(LookupError):
        desk.fake.send_slash_command(group, desk.admin, "status", install="user")
    # Discord offers it only where the bot was installed to the server.
    added = await desk.slash(desk.admin, "add", options)
    assert added.payload["authorizing_integration_owners"] == {"0": str(desk.guild.id)}


async def test_a_server_without_the_bot_searches_the_shared_collection(make_desk: MakeDesk) -> None:
    desk = await make_desk()
    desk.fake.enable_user_install()
    elsewhere = desk.fake.add_guild("No bot here", with_bot=False)
    desk.fake.add_member(elsewhere, desk.alice.user)
    channel = elsewhere.text_channels[0]
    handle = desk.fake.send_slash_command(
        channel, desk.alice, "ask", {"question": REUTERS_QUESTION}
    )
    await desk.fake.wait_for_interaction_response(handle, followups=1, timeout=WAIT)
    assert handle.payload["authorizing_integration_owners"] == {"1": str(desk.alice.id)}
    assert desk.bot.get_guild(elsewhere.id) is None
    assert cites_reuters(handle.followups[0])


async def test_more_results_keeps_going_under_a_user_install_and_the_cap_is_enforced(
    desk: Desk,
) -> None:
    desk.fake.enable_user_install()
    dm = desk.fake.dm_channel(desk.alice)
    handle = desk.fake.send_slash_command(
        dm, desk.alice, "ask", {"question": REUTERS_QUESTION}, install="user"
    )
    await desk.fake.wait_for_interaction_response(handle, followups=1, timeout=WAIT)
    answer = handle.followups[0]
    # Every click is its own interaction with one followup: six in a row all answer, far
    # past the 5 followups a user-installed interaction may send.
    clicks = []
    message = answer
    for _ in range(6):
        ids = [c["custom_id"] for row in message.components for c in row["components"]]
        more_ids = [i for i in ids if i.startswith("nd:more:")]
        if not more_ids:
            break
        click_handle = desk.fake.click_button(message, more_ids[0], desk.alice)
        await desk.fake.wait_for_interaction_response(click_handle, followups=1, timeout=WAIT)
        assert click_handle.payload["authorizing_integration_owners"] == {"1": str(desk.alice.id)}
        assert click_handle.rejected_followups == 0
        clicks.append(click_handle)
        message = click_handle.followups[0]
    assert len(clicks) >= 2
    last = clicks[-1].followups[0]
    assert last.embeds or last.content == "No more excerpts for that question."
    # The fake refuses a sixth followup on one user-installed interaction, as Discord does.
    service = desk.fake.interactions
    body = {"content": "x", "allowed_mentions": {"parse": []}}
    for _ in range(5 - len(handle.followup_bodies)):
        service.followup(desk.fake.application_id, handle.token, body, [])
    with pytest.raises(RestError, match="maximum number of follow up messages") as refused:
        service.followup(desk.fake.application_id, handle.token, body, [])
    assert refused.value.status == 400 and refused.value.payload["code"] == 40094
    assert handle.rejected_followups == 1
