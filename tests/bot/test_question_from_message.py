"""The question "Find evidence" asks of a message: a pure rule, tested without Discord."""

from __future__ import annotations

from bot.discord_app.questions import question_from_message


def test_a_short_message_is_the_question_on_one_line() -> None:
    assert question_from_message("  What did Kerry\nwant in Moscow?  ", 500) == (
        "What did Kerry want in Moscow?"
    )


def test_a_message_without_words_is_none() -> None:
    assert question_from_message("", 500) is None
    assert question_from_message("  🎉 !!! ", 500) is None


def test_a_long_message_keeps_its_asking_sentences_in_order() -> None:
    filler = "The weather was fine and the coffee was hot. " * 4
    text = filler + "Did Kerry meet Lavrov? " + filler + "Where were the talks held? The end."
    picked = question_from_message(text, 60)
    assert picked == "Did Kerry meet Lavrov? Where were the talks held?"


def test_question_words_come_after_question_marks_and_before_the_rest() -> None:
    text = (
        "I read the piece this morning over breakfast. "
        "I wonder why the ceasefire failed so soon. "
        "Was it the shelling? "
        "Anyway it was long."
    )
    assert question_from_message(text, 70) == (
        "I wonder why the ceasefire failed so soon. Was it the shelling?"
    )
    assert question_from_message(text, 25) == "Was it the shelling?"


def test_the_pick_never_exceeds_the_limit() -> None:
    text = " ".join(f"Question number {i} is what?" for i in range(40))
    for limit in (30, 80, 200):
        picked = question_from_message(text, limit)
        assert picked is not None and 0 < len(picked) <= limit


def test_one_sentence_longer_than_the_limit_is_cut_at_a_word() -> None:
    text = "Why " + "very " * 200 + "long?"
    picked = question_from_message(text, 50)
    assert picked is not None and len(picked) <= 50
    assert picked.startswith("Why very") and not picked.endswith(" ")


def test_without_question_like_sentences_the_first_that_fit_are_asked() -> None:
    text = "Kerry met Lavrov in Moscow. The talks were long. " * 20
    picked = question_from_message(text, 60)
    assert picked == "Kerry met Lavrov in Moscow. The talks were long."


def test_an_auxiliary_asks_only_when_it_opens_the_sentence() -> None:
    text = "It was a long day at the office. " * 10 + "Was the ceasefire broken? "
    assert question_from_message(text, 40) == "Was the ceasefire broken?"
