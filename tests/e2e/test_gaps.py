"""The gaps report: off by default, an admin turns it on, no-match and 👎 are listed."""

from __future__ import annotations

import pytest

from bot.discord_app.errors import NotAllowedError
from tests.e2e.conftest import MakeDesk
from tests.e2e.desk import REUTERS_QUESTION
from tests.e2e.test_buttons import button

pytestmark = pytest.mark.timeout(90)
ZEBRAS = "Where do zebras play quantum origami on a xylophone?"


async def test_gaps_recorded_only_when_on_and_listed_for_admins(make_desk: MakeDesk) -> None:
    desk = await make_desk(retrieval={"abstain_threshold": 0.3})
    reply = await desk.say(desk.alice, f"!ask {ZEBRAS}")
    assert reply.content.startswith("No good match")
    assert desk.services.gaps.rows() == []  # recording is off by default

    handle = await desk.slash(desk.admin, "gaps", {"record": True})
    turned_on = handle.followups[0]
    assert turned_on.ephemeral
    assert turned_on.content.startswith("Recording gaps is now on for this server.")
    assert "No gaps recorded." in turned_on.content

    await desk.say(desk.alice, f"!ask {ZEBRAS}")
    answer = (await desk.slash(desk.alice, "ask", {"question": REUTERS_QUESTION})).followups[0]
    await desk.click(answer, button(answer, "nd:vote:down:"), desk.alice)
    rows = desk.services.gaps.rows(desk.guild.id)
    assert [(r.question, r.reason) for r in rows] == [
        (ZEBRAS, "no-match"),
        (REUTERS_QUESTION, "thumbs-down"),
    ]

    report = (await desk.slash(desk.admin, "gaps")).followups[0]
    assert report.ephemeral
    assert f"1× “{ZEBRAS}” — 1 no match — first " in report.content
    assert f"1× “{REUTERS_QUESTION}” — 1 👎 — first " in report.content
    assert "Recording is on here." in report.content
    assert str(desk.alice.id) not in report.content
    later = (await desk.slash(desk.admin, "gaps", {"since": "2999-01-01"})).followups[0]
    assert later.content.startswith("No gaps recorded.")

    refused = (await desk.slash(desk.alice, "gaps")).followups[0]
    assert refused.content == (
        "Sorry, only members with the Manage Server permission or the newsdesk-editor role "
        "can see the gaps report."
    )
    assert refused.ephemeral
    assert desk.errors.expected_types() == [NotAllowedError]
