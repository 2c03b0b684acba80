"""The pure rules of conversations: thread names, follow-ups as questions, which channels
answer in threads."""

from __future__ import annotations

from bot.discord_app.conversing import MAX_THREAD_NAME, thread_name
from bot.discord_app.questions import question_in_message
from bot.settings import BotSettings

BOT = 42


def test_thread_names_are_the_question_within_discords_limit() -> None:
    assert thread_name("  What did   Kerry\nwant? ") == "What did Kerry want?"
    long = thread_name("Why " + "very " * 40 + "long?")
    assert len(long) <= MAX_THREAD_NAME and long.endswith("…")
    assert thread_name("   ") == "Question"


def ask(content: str, **kwargs: object) -> str | None:
    options: dict[str, object] = {
        "author_is_bot": False,
        "bot_id": BOT,
        "prefix": "!",
        "channel_id": 1,
        "answer_channels": (),
    }
    options.update(kwargs)
    return question_in_message(content, **options)  # type: ignore[arg-type]


def test_a_follow_up_needs_no_mention_but_stays_ours_to_ignore_from_bots() -> None:
    assert ask("When was that?") is None
    assert ask("When was that?", follow_up=True) == "When was that?"
    assert ask(f"<@{BOT}> and Russia?", follow_up=True) == "and Russia?"
    assert ask("When was that?", follow_up=True, author_is_bot=True) is None
    assert ask("!sources", follow_up=True) is None  # commands are the command handler's


def test_threads_server_wide_or_per_channel() -> None:
    off = BotSettings(_env_file=None)  # type: ignore[call-arg]
    assert not off.threads_in(5)
    some = BotSettings(_env_file=None, thread_channels="5, 6")  # type: ignore[call-arg, arg-type]
    assert some.threads_in(5) and some.threads_in(6) and not some.threads_in(7)
    every = BotSettings(_env_file=None, answer_in_threads=True)  # type: ignore[call-arg]
    assert every.threads_in(7)
