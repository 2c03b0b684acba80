"""Answers as embeds: verbatim excerpts, escaped, trimmed at sentences, inside every limit."""

from __future__ import annotations

import dataclasses
import datetime as dt

import discord
import pytest

from bot.discord_app.embeds import (
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_EMBEDS,
    MAX_FOOTER,
    MAX_TITLE,
    MAX_TOTAL,
    answer_embeds,
    escape_text,
    excerpt_markdown,
    fit_content,
    fit_excerpt,
    link_for,
    no_match_content,
    shorten,
    sources_embed,
    status_content,
    time_content,
    total_length,
)
from bot.render import build_citations, render_text
from retrieval.index.catalogue import ArticleSummary, IndexStatus
from tests.bot.helpers import make_hit, make_result

pytestmark = pytest.mark.timeout(30)

SENTENCES = [f"Sentence number {n} says something about the harbour." for n in range(1, 40)]
LONG_EXCERPT = " ".join(SENTENCES)


def test_highlight_is_bold_and_text_is_verbatim() -> None:
    hit = make_hit(
        "First part. The key sentence here. Last part.", highlight="The key sentence here."
    )
    assert excerpt_markdown(hit, 700) == "First part. **The key sentence here.** Last part."


def test_markdown_in_articles_is_shown_as_typed() -> None:
    text = "Use *stars*, _underscores_, `code`, ~~strike~~ and |spoilers| freely."
    escaped = escape_text(text)
    assert escaped == (
        r"Use \*stars\*, \_underscores\_, \`code\`, \~\~strike\~\~ and \|spoilers\| freely."
    )
    assert escape_text("# Heading") == r"\# Heading"
    assert escape_text("> quoted") == r"\> quoted"


def test_mentions_are_defused() -> None:
    text = "@everyone and @here, <@123456789012345678> and <@&123456789012345679>."
    escaped = escape_text(text)
    assert "@everyone" not in escaped and "@here" not in escaped
    assert "@\u200beveryone" in escaped and "<@\u200b123456789012345678>" in escaped
    assert "<@\u200b&123456789012345679>" in escaped


def test_bare_links_are_wrapped_and_kept_intact() -> None:
    text = "See https://example.org/a_b_c?x=1. Or <https://example.org/kept>, (http://x.io/p)."
    escaped = escape_text(text)
    assert "<https://example.org/a_b_c?x=1>." in escaped  # underscores not escaped in links
    assert "<https://example.org/kept>," in escaped and "<<" not in escaped
    assert "(<http://x.io/p>)" in escaped


def test_long_excerpt_is_trimmed_at_sentence_boundaries() -> None:
    highlight = SENTENCES[20]
    hit = make_hit(LONG_EXCERPT, highlight=highlight)
    text = fit_excerpt(hit, 400)
    assert len(text) <= 400
    assert f"**{highlight}**" in text
    assert text.startswith("…Sentence number") and text.endswith("harbour.…")
    inner = text.strip("…").replace("**", "")
    assert inner in LONG_EXCERPT  # whole sentences, verbatim


def test_single_huge_sentence_is_cut_at_a_word() -> None:
    sentence = "word " * 3000 + "end."
    hit = make_hit(sentence)
    text = fit_excerpt(hit, 300)
    assert len(text) <= 300 and text.endswith("…")
    assert text.startswith("**word word")


def test_escaping_never_pushes_past_the_budget() -> None:
    stars = ". ".join("*_*_*_*_* tricky *_*_* sentence" for _ in range(200)) + "."
    hit = make_hit(stars, highlight=stars[:200].rsplit(".", 1)[0] + ".")
    for budget in (60, 200, 1000):
        assert len(fit_excerpt(hit, budget)) <= budget


def test_title_links_to_url_and_footer_has_meta() -> None:
    hit = make_hit(
        "Text.",
        title="Story",
        url="https://example.org/story",
        published=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
        source="Daily",
        relevance=0.7,
        label="strong match",
    )
    [embed] = answer_embeds(make_result([hit]))
    assert embed.title == "[1] Story" and embed.url == "https://example.org/story"
    assert embed.footer.text == "▰▰▰▰▱ strong match · Daily"
    may_first = int(dt.datetime(2024, 5, 1, tzinfo=dt.UTC).timestamp())
    assert embed.description == f"<t:{may_first}:D>\n**Text.**"


def test_title_links_to_the_quoted_sentence() -> None:
    link = "https://example.org/story#:~:text=Text."
    hit = make_hit("Text.", url="https://example.org/story", link=link)
    [embed] = answer_embeds(make_result([hit]))
    assert embed.url == link
    unusable = make_hit("Text.", url="https://example.org/s", link="https://e.org/" + "a" * 3000)
    [fallback] = answer_embeds(make_result([unusable]))
    assert fallback.url == "https://example.org/s"


def test_dates_are_discord_timestamps_in_the_description_never_the_footer() -> None:
    published = dt.datetime(2015, 12, 15, 15, 45, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    next_day = published + dt.timedelta(days=1)
    hit = make_hit("Text.", published=published, updated=next_day, source="Reuters")
    [embed] = answer_embeds(make_result([hit]))
    stamp, later = int(published.timestamp()), int(next_day.timestamp())
    assert embed.description is not None
    assert embed.description.startswith(f"<t:{stamp}:D> (updated <t:{later}:D>)\n")
    assert embed.footer.text is not None and "<t:" not in embed.footer.text
    assert "<t:" not in (embed.title or "")
    same_day = make_hit("Text.", published=published, updated=published + dt.timedelta(hours=2))
    [quiet] = answer_embeds(make_result([same_day]))
    assert quiet.description == f"<t:{stamp}:D>\n**Text.**"
    [undated] = answer_embeds(make_result([make_hit("Text.")]))
    assert undated.description == "**Text.**"


@pytest.mark.parametrize("url", [None, "", "ftp://x.org/a", "javascript:alert(1)", "/relative",
                                 "https://exa mple.org", "https://" + "a" * 3000])  # fmt: skip
def test_unusable_urls_are_not_linked(url: str | None) -> None:
    assert link_for(url) is None


def test_ten_huge_citations_fit_every_limit() -> None:
    hits = [
        make_hit(
            LONG_EXCERPT * 3,
            highlight=SENTENCES[5],
            title="T" * 400 + f" {n}",
            url="https://example.org/" + "p" * 100,
            published=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            source="S" * 3000,
            chunk_id=n,
        )
        for n in range(12)
    ]
    embeds = answer_embeds(make_result(hits), first_number=41)
    assert len(embeds) == MAX_EMBEDS
    assert total_length(embeds) <= MAX_TOTAL
    for number, embed in enumerate(embeds, start=41):
        assert embed.title is not None and len(embed.title) <= MAX_TITLE
        assert embed.title.startswith(f"[{number}] ")
        assert embed.description is not None and len(embed.description) <= MAX_DESCRIPTION
        assert embed.description.count("**") == 2  # the highlight is never cut in half
        assert embed.footer.text is not None and len(embed.footer.text) <= MAX_FOOTER
        assert len(embed.fields) == 0


def test_few_citations_get_the_preferred_length() -> None:
    hit = make_hit(LONG_EXCERPT, highlight=SENTENCES[0])
    [embed] = answer_embeds(make_result([hit]))
    assert embed.description is not None and 600 < len(embed.description) <= 720


def test_discord_accepts_the_embeds_as_dicts() -> None:
    embeds = answer_embeds(make_result([make_hit("Hello there. General Kenobi.")]))
    payload = embeds[0].to_dict()
    assert payload["title"] == "[1] A story" and "description" in payload
    assert discord.Embed.from_dict(payload).title == embeds[0].title


def test_same_citations_as_the_terminal() -> None:
    hits = [make_hit(LONG_EXCERPT, highlight=SENTENCES[3], title="Harbour news")]
    result = make_result(hits)
    terminal = render_text(result, bold=("**", "**"), show_scores=False)
    [citation] = build_citations(result)
    [embed] = answer_embeds(result)
    assert citation.highlight in terminal
    assert embed.description is not None and f"**{citation.highlight}**" in embed.description


def test_no_match_lists_nearest_titles_within_2000() -> None:
    result = make_result([], abstained=True, nearest=["@everyone Alpha", "Beta *bold*"])
    text = no_match_content(result)
    assert text == (
        "No good match in the articles for that question.\n"
        "Nearest articles: @\u200beveryone Alpha; Beta \\*bold\\*"
    )
    many = make_result([], abstained=True, nearest=["x" * 300] * 30)
    assert len(no_match_content(many)) <= MAX_CONTENT
    assert no_match_content(make_result([], abstained=True)) == (
        "No good match in the articles for that question."
    )


def test_message_text_fits() -> None:
    assert fit_content("ok") == "ok"
    assert len(fit_content("x" * 5000)) == MAX_CONTENT


def test_shorten_cuts_at_words() -> None:
    assert shorten("one two three four", 12) == "one two…"
    assert shorten("short", 12) == "short"


def test_sources_page_and_status() -> None:
    items = [
        ArticleSummary(
            f"id-{n}", f"Title [{n}] @everyone", "https://e.org/x", None, None, None, 0.0, 3
        )
        for n in range(10)
    ]
    embed = sources_embed(items, total=25, offset=10, search="tit")
    assert embed.footer.text == "11–20 of 25"
    assert "<t:" not in (embed.description or "")  # undated articles show no date
    assert embed.description is not None and len(embed.description) <= MAX_DESCRIPTION
    assert embed.description.startswith("11. [Title (0) @\u200beveryone](https://e.org/x) · `id-0`")
    empty = sources_embed([], total=0, offset=0, search=None)
    assert empty.description == "No articles match."
    status = IndexStatus(13, 322, "hashing", 256, 2_000_000, None, 4, path=__file__)  # type: ignore[arg-type]
    text = status_content(status, "shared collection")
    assert text.splitlines()[0] == "**Index of the shared collection**"
    assert "Articles: 13" in text and "Last build: never" in text


def test_sources_lines_show_the_date_as_a_discord_timestamp() -> None:
    published = dt.datetime(2015, 12, 15, 15, 45, tzinfo=dt.UTC)
    updated = dt.datetime(2015, 12, 17, 9, 0, tzinfo=dt.UTC)
    item = ArticleSummary("kerry", "Kerry", None, published, updated, "Reuters", 0.0, 4)
    embed = sources_embed([item], total=1, offset=0, search=None)
    stamp, later = int(published.timestamp()), int(updated.timestamp())
    assert embed.description == (
        f"1. Kerry · <t:{stamp}:D> (updated <t:{later}:D>) · `kerry` · 4 chunks"
    )


def test_terminal_citations_link_to_the_quoted_sentence() -> None:
    link = "https://example.org/story#:~:text=Text."
    hit = make_hit("Text.", title="Story", url="https://example.org/story", link=link)
    terminal = render_text(make_result([hit]), bold=("", ""), show_scores=False)
    assert terminal.splitlines()[1] == f"    {link}"
    plain = make_hit("Text.", title="Story", url="https://example.org/story")
    assert "    https://example.org/story\n" in render_text(make_result([plain]), bold=("", ""))


def test_weaker_matches_left_out_are_counted_in_discord_and_the_terminal() -> None:
    result = dataclasses.replace(make_result([make_hit("Text.")], has_more=True), left_out=3)
    assert time_content(result) == "(3 weaker matches left out: More results shows them.)"
    assert render_text(result, bold=("", "")).endswith("(3 weaker matches left out)")
    one = dataclasses.replace(result, left_out=1)
    assert render_text(one, bold=("", "")).endswith("(1 weaker match left out)")
    assert time_content(make_result([make_hit("Text.")])) is None


def test_a_vague_question_gets_one_line() -> None:
    result = dataclasses.replace(make_result([], abstained=True), reason="vague")
    assert no_match_content(result).startswith("Ask about something specific")
    assert "\n" not in render_text(result)
