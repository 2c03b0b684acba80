"""Conversations: a reply to an answer, a thread the bot opens, a forum post; follow-ups are
read with their conversation's earlier questions, full questions are not bent by them."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import MakeDesk
from tests.e2e.desk import REUTERS_QUESTION, REUTERS_TITLE, WAIT, Desk
from tests.fakediscord import FakeChannel, FakeMessage
from tests.fakediscord.permissions import CREATE_PUBLIC_THREADS

pytestmark = pytest.mark.timeout(90)
FOLLOW_UP_NOTE = "Read as a follow-up to"


def first_title(message: FakeMessage) -> str:
    assert message.embeds, message.content
    return str(message.embeds[0]["title"])


async def recorded(desk: Desk, answer: FakeMessage) -> None:
    """The bot records a turn just after sending its answer; a member is never faster than
    that, but a test is."""
    store = desk.services.conversations
    await desk.fake.wait_until(
        lambda: store.conversation_of(answer.id) is not None, description="the turn recorded"
    )


async def reply_to(desk: Desk, channel: FakeChannel, answer: FakeMessage, text: str) -> FakeMessage:
    """`text` as alice's reply to `answer`; the bot's reply to it."""
    await recorded(desk, answer)
    sent = desk.fake.send_user_message(channel, desk.alice, text, reply_to=answer)

    def answers_it(message: FakeMessage) -> bool:
        reference = message.payload.get("message_reference") or {}
        return reference.get("message_id") == str(sent.id)

    return await desk.fake.wait_for_message(channel, answers_it, timeout=WAIT)


async def test_a_reply_to_an_answer_is_a_follow_up_in_its_context(desk: Desk) -> None:
    answer = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    assert first_title(answer) == f"[1] {REUTERS_TITLE}"
    # Not an answer channel, no mention: replying to the bot's answer is enough.
    follow_up = await reply_to(desk, desk.channel, answer, "And what about Russia?")
    assert first_title(follow_up) == f"[1] {REUTERS_TITLE}"
    assert FOLLOW_UP_NOTE in (follow_up.content or "")
    assert REUTERS_QUESTION in follow_up.content
    # A reply to the follow-up's answer continues the same conversation.
    again = await reply_to(desk, desk.channel, follow_up, "When was that?")
    assert first_title(again) == f"[1] {REUTERS_TITLE}"
    desk.assert_no_mentions()


async def test_a_full_question_in_reply_is_not_bent_by_the_context(desk: Desk) -> None:
    answer = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    alone = await desk.say(desk.alice, "!ask What is the chemical symbol of oxygen?")
    follow_up = await reply_to(desk, desk.channel, answer, "What is the chemical symbol of oxygen?")
    assert first_title(follow_up) == first_title(alone)
    assert [e["title"] for e in follow_up.embeds] == [e["title"] for e in alone.embeds]
    assert FOLLOW_UP_NOTE not in (follow_up.content or "")


async def test_replies_between_members_are_left_alone(desk: Desk) -> None:
    said = desk.fake.send_user_message(desk.channel, desk.editor, "Anyone seen the Kerry story?")
    desk.fake.send_user_message(desk.channel, desk.alice, "When was that?", reply_to=said)
    # The bot's next message in the channel answers the next question, not the reply.
    marker = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    assert first_title(marker) == f"[1] {REUTERS_TITLE}"
    assert [m.id for m in desk.bot_messages()] == [marker.id]


async def test_a_no_match_is_not_remembered_as_context(make_desk: MakeDesk) -> None:
    desk = await make_desk(retrieval={"abstain_threshold": 0.3})
    answer = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    nothing = await reply_to(
        desk, desk.channel, answer, "Where do zebras play quantum origami on a xylophone?"
    )
    assert nothing.embeds == []
    turns = desk.services.conversations.context(answer.id)
    assert turns is not None and turns.questions == (REUTERS_QUESTION,)


async def test_answers_in_a_thread_named_from_the_question(make_desk: MakeDesk) -> None:
    desk = await make_desk(answer_in_threads=True)
    mention = f"<@{desk.fake.bot_user.id}>"
    question = desk.fake.send_user_message(
        desk.channel, desk.alice, f"{mention} {REUTERS_QUESTION}"
    )
    await desk.fake.wait_until(
        lambda: desk.fake.thread_of(question) is not None, description="a thread on the question"
    )
    thread = desk.fake.thread_of(question)
    assert thread is not None
    assert thread.name == REUTERS_QUESTION
    answer = await desk.fake.wait_for_message(thread, timeout=WAIT)
    assert first_title(answer) == f"[1] {REUTERS_TITLE}"
    await recorded(desk, answer)
    assert desk.fake.messages_in(desk.channel)[-1].id == question.id  # nothing in the channel
    # In the bot's thread every message is a follow-up: no mention needed.
    desk.fake.send_user_message(thread, desk.alice, "When was that?")
    follow_up = await desk.fake.wait_for_message(thread, timeout=WAIT)
    assert first_title(follow_up) == f"[1] {REUTERS_TITLE}"
    assert FOLLOW_UP_NOTE in (follow_up.content or "")
    desk.assert_no_mentions()


async def test_a_thread_a_member_opened_is_theirs(make_desk: MakeDesk) -> None:
    desk = await make_desk(answer_in_threads=True)
    thread = desk.fake.create_thread(desk.channel, name="chat", owner=desk.alice)
    desk.fake.send_user_message(thread, desk.alice, "When was that?")
    # Only a question for the bot is answered there, in place (no thread in a thread).
    mention = f"<@{desk.fake.bot_user.id}>"
    desk.fake.send_user_message(thread, desk.editor, f"{mention} {REUTERS_QUESTION}")
    answer = await desk.fake.wait_for_message(thread, timeout=WAIT)
    assert first_title(answer) == f"[1] {REUTERS_TITLE}"
    assert [m.id for m in desk.bot_messages()] == [answer.id]


async def test_without_thread_permission_the_answer_stays_in_the_channel(
    make_desk: MakeDesk,
) -> None:
    desk = await make_desk(answer_in_threads=True)
    desk.fake.set_permission_overwrite(
        desk.channel, desk.guild.everyone_role, deny=CREATE_PUBLIC_THREADS
    )
    await desk.fake.wait_until(
        lambda: (
            not desk.bot.get_channel(desk.channel.id)  # type: ignore[union-attr]
            .permissions_for(desk.bot.get_guild(desk.guild.id).me)  # type: ignore[union-attr]
            .create_public_threads
        ),
        description="the overwrite reached the bot",
    )
    answer = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    assert first_title(answer) == f"[1] {REUTERS_TITLE}"
    assert desk.fake.threads_in(desk.channel) == []


async def test_each_forum_post_gets_an_answer_in_its_thread(desk: Desk) -> None:
    forum = desk.fake.add_forum_channel(desk.guild, "questions")
    # Listed as an answer channel (the setting is read per message).
    desk.services.bot_settings.answer_channels.append(forum.id)
    await desk.fake.wait_until(
        lambda: desk.bot.get_channel(forum.id) is not None, description="the forum reached the bot"
    )
    thread, _ = desk.fake.create_forum_post(
        forum, desk.alice, "Kerry and the Moscow talks", "What did Kerry want from them?"
    )
    answer = await desk.fake.wait_for_message(thread, timeout=WAIT)
    assert first_title(answer) == f"[1] {REUTERS_TITLE}"
    await recorded(desk, answer)
    desk.fake.send_user_message(thread, desk.alice, "When was that?")
    follow_up = await desk.fake.wait_for_message(thread, timeout=WAIT)
    assert first_title(follow_up) == f"[1] {REUTERS_TITLE}"
    assert FOLLOW_UP_NOTE in (follow_up.content or "")
    desk.assert_no_mentions()
