"""HTML pages without telling markup: the boilerplate lines trafilatura keeps are dropped by
the scrape cleaner's rules, and every prose paragraph stays verbatim."""

from __future__ import annotations

import pytest
import trafilatura

from retrieval.loaders.html import article_from_html
from retrieval.loaders.scrape import LineKind, classify_line, drop_boilerplate

PROSE = [
    "The council voted on Monday to rebuild the old bridge over the river, after months of "
    "debate about its cost and the information given to residents.",
    "Work starts in June, the mayor said. “It’s a relief,” said Renée Dubois, a local baker "
    "whose shop faces the river.",
    "Residents who shared their worries at the public meeting said the advertising for the "
    "consultation came too late.",
    "Share prices of the building firm rose 5% after the vote. Follow the money, the auditor "
    "told the council.",
    "The bridge will cost 4.2 million euros, of which the region pays half, and is to open to "
    "traffic in the spring of 2027.",
]
# A news story as a small site serves it: no article markup, no class names to go by.
STORY = f"""<html><body>
<h1>Council backs new bridge after months of debate</h1>
<p>Share: Facebook · Twitter · WhatsApp</p>
<p>{PROSE[0]}</p>
<p>Advertisement</p>
<p>{PROSE[1]}</p>
<p>Related: <a href="/a">Bridge closed to lorries</a></p>
<p>{PROSE[2]}</p>
<p>Story continues below advertisement</p>
<p>{PROSE[3]}</p>
<p>READ MORE | <a href="/b">Mayor defends budget</a></p>
<p>{PROSE[4]}</p>
<p>Related stories</p>
<ul><li><a href="/c">How the vote went</a></li><li><a href="/d">A bridge’s history</a></li></ul>
<p>Sign up for our newsletter</p>
<p>Follow us on Twitter and Facebook</p>
<p>We use cookies to improve your experience. Accept all cookies</p>
</body></html>"""


def _article(html: str) -> list[str]:
    article = article_from_html(html, name="page.html", article_id="p", fallback_title="P")
    return article.text.split("\n\n")


def test_boilerplate_lines_go_and_every_paragraph_stays_verbatim() -> None:
    assert _article(STORY) == PROSE  # nothing else, in order, byte for byte


def test_trafilatura_alone_keeps_them() -> None:
    """What this fixes: trafilatura's own settings (precision first, no links) keep them."""
    doc = trafilatura.bare_extraction(STORY, favor_precision=True, include_links=False)
    kept = str(getattr(doc, "text", "")).split("\n")
    assert {"Advertisement", "Related: Bridge closed to lorries", "Sign up for our newsletter"} <= (
        set(kept)
    )


def test_a_page_whose_text_starts_with_related_prose_is_not_cut() -> None:
    first = (
        "Related coverage of the floods has focused on the north, but the south of the county "
        "was hit just as hard, officials said on Tuesday."
    )
    second = "Related to the vote, the council also approved a new budget for the library."
    html = f"""<html><body><p>{first}</p><p>{second}</p>
    <p>More than 300 homes were flooded in Ashford alone, the highest number since 1968.</p>
    <p>Read more:</p><ul><li>Why the river rose so fast</li><li>Insurance after a flood: what
    to know</li></ul><p>Sign up to our daily newsletter</p></body></html>"""
    assert _article(html) == [
        first,
        second,
        "More than 300 homes were flooded in Ashford alone, the highest number since 1968.",
    ]


def test_a_page_without_boilerplate_is_unchanged() -> None:
    html = "<html><body>" + "".join(f"<p>{p}</p>" for p in PROSE) + "</body></html>"
    assert _article(html) == PROSE


@pytest.mark.parametrize(
    "line",
    [
        "Share: Facebook · Twitter · WhatsApp",
        "Related: Bridge closed to lorries",
        "- Related: Floods close the A28",
        "READ MORE | Mayor defends budget",
        "See also: The council's budget",
        "Watch: The mayor explains the plan",
    ],
)
def test_links_and_share_bars_are_boilerplate_anywhere(line: str) -> None:
    assert classify_line(line) is LineKind.ANYWHERE


@pytest.mark.parametrize(
    "line",
    [
        "Related to the vote, the council also approved a new budget for the library.",
        "See also: the council's report, which found the bridge unsafe.",
        "Read more about the plan on the council's website, the mayor said.",
    ],
)
def test_sentences_starting_like_a_link_are_prose(line: str) -> None:
    assert classify_line(line) is LineKind.PROSE


def test_a_link_label_over_a_list_goes_with_its_list_anywhere() -> None:
    lines = [
        PROSE[0],
        "More on this story",
        "- How the vote went",
        "- A bridge’s history, from 1850 to the present day",
        PROSE[1],
        "The plan includes:",
        "- a footpath on both sides",
        "- a cycle lane",
        PROSE[4],
    ]
    assert drop_boilerplate(lines) == [PROSE[0], PROSE[1], *lines[5:]]
