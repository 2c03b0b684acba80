"""The gaps store (opt-in, no user ids) and grouping similar wordings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.discord_app.gaps import GapRow, GapStore, group_gaps, group_line, question_tokens

DAY = 86_400.0


@pytest.fixture
def store(tmp_path: Path) -> GapStore:
    return GapStore(tmp_path / "gaps.sqlite3").open()


def test_record_rows_since_and_prune(store: GapStore) -> None:
    store.record(1, "old question", "no-match", now=100 * DAY)
    store.record(1, "new question", "thumbs-down", now=200 * DAY)
    store.record(2, "other server", "no-match", now=150 * DAY)
    assert [r.question for r in store.rows()] == ["old question", "other server", "new question"]
    assert store.rows(1) == [
        GapRow(1, "old question", "no-match", 100 * DAY),
        GapRow(1, "new question", "thumbs-down", 200 * DAY),
    ]
    assert [r.question for r in store.rows(since=150 * DAY)] == ["other server", "new question"]
    assert store.prune(40 * DAY, now=200 * DAY) == 2
    assert [r.question for r in store.rows()] == ["new question"]
    with pytest.raises(ValueError):
        store.record(1, "q", "bad", now=1.0)  # type: ignore[arg-type]


def test_recording_switch_overrides_the_default(store: GapStore) -> None:
    assert store.recording(1, False) is False
    assert store.recording(1, True) is True
    store.set_recording(1, True)
    assert store.recording(1, False) is True
    store.set_recording(1, False)
    assert store.recording(1, True) is False
    assert store.recording(2, True) is True  # another server keeps the default


def test_schema_has_no_user_column_and_a_version(store: GapStore) -> None:
    store.open()  # reopening is harmless
    with sqlite3.connect(store.path) as db:
        columns = {
            name
            for table in ("gaps", "guild_recording")
            for _, name, *_ in db.execute(f"PRAGMA table_info({table})")
        }
        (version,) = db.execute("PRAGMA user_version").fetchone()
    assert columns == {"id", "guild_id", "question", "reason", "created_at", "enabled"}
    assert version == 1


def rows(*questions: str) -> list[GapRow]:
    return [
        GapRow(1, q, "no-match" if i % 2 else "thumbs-down", i * DAY)
        for i, q in enumerate(questions)
    ]


def test_similar_wordings_merge_unrelated_do_not() -> None:
    tokens = question_tokens()
    groups = group_gaps(
        rows(
            "Why did petrol prices rise in March?",
            "Who is the new mayor of Leeds?",
            "why did petrol prices rise",
            "Why did petrol prices rise in March?",
            "Why are petrol prices rising?",
            "What do bees eat in winter?",
        ),
        tokens,
    )
    assert [(g.question, g.count) for g in groups] == [
        ("Why did petrol prices rise in March?", 4),  # "rising" stems to "rise"
        ("What do bees eat in winter?", 1),  # the later of the two singles first
        ("Who is the new mayor of Leeds?", 1),
    ]
    petrol = groups[0]
    assert (petrol.no_match, petrol.thumbs_down) == (1, 3)
    assert (petrol.first, petrol.last) == (0.0, 4 * DAY)
    assert petrol.others == ["Why are petrol prices rising?", "why did petrol prices rise"]


def test_grouping_order_is_stable() -> None:
    tokens = question_tokens()
    given = rows("alpha beta", "gamma delta", "alpha beta", "epsilon zeta")
    first = group_gaps(given, tokens)
    assert first == group_gaps(list(reversed(given)), tokens)
    assert [(g.question, g.count) for g in first] == [
        ("alpha beta", 2),
        ("epsilon zeta", 1),  # later last date first
        ("gamma delta", 1),
    ]
    assert group_line(first[0]) == "2× “alpha beta” — 2 👎 — first 1970-01-01, last 1970-01-03"


class BrokenStore:
    async def arecording(self, guild_id: int, default: bool) -> bool:
        raise sqlite3.OperationalError("disk I/O error")


async def test_record_gap_skips_dms_and_never_raises(
    store: GapStore, caplog: pytest.LogCaptureFixture
) -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from bot.discord_app.answering import record_gap

    services = cast(
        Any, SimpleNamespace(gaps=store, bot_settings=SimpleNamespace(record_gaps=True))
    )
    await record_gap(services, None, "a DM question", "no-match")
    await record_gap(services, 7, "a server question", "no-match")
    assert [(r.guild_id, r.question) for r in store.rows()] == [(7, "a server question")]
    services.gaps = BrokenStore()
    with caplog.at_level("ERROR"):
        await record_gap(services, 7, "another", "thumbs-down")
    assert "could not record a gap (thumbs-down)" in caplog.text
    caplog.clear()  # the logged error is the expected outcome here
