"""SearchResult -> Discord embeds and text, inside every Discord limit. Pure functions.

One embed per citation: the title (numbered, linked to the quoted sentence in the article
when its url is known: `Hit.link`, a text fragment), a description that opens with the date
as a Discord timestamp (`<t:UNIX:D>`, shown in each reader's own locale and time zone; Discord
renders those in descriptions and fields but not in titles or footers) followed by the
verbatim excerpt with the best-matching sentence in bold, and a footer with the relevance and
source. Excerpts come from bot.render (the code the terminal chat uses too), are trimmed at
sentence boundaries to share the 6000-character message budget, and are escaped: article
markdown shows as typed, mentions are defused and bare links are wrapped in <>.
A citation is either shown whole (within its trimmed excerpt) or not at all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace

import discord
from yarl import URL

from bot.render import (
    ELLIPSIS,
    group_label,
    left_out_text,
    no_match_text,
    other_copies,
    relevance_bar,
    render_status_lines,
    shown_update,
    time_notes,
    trim_excerpt,
    unmark_headings,
)
from retrieval.index.catalogue import ArticleSummary, IndexStatus
from retrieval.index.store import ArticleOrder
from retrieval.search.results import Hit, SearchResult, language_note

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-limits).
MAX_CONTENT = 2000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FIELDS = 25
MAX_FOOTER = 2048
MAX_TOTAL = 6000
MAX_EMBEDS = 10
MAX_URL = 2048

EXCERPT_CHARS = 700  # what reads well in one card; a 10-citation answer gets less
MIN_EXCERPT_CHARS = 40
FOOTER_CHARS = 160  # relevance and source: a line, not a page
MANY_TITLE_CHARS = 120  # with more than 5 citations, long titles would eat the excerpts
ALSO_IN_NAME = "Also in"
ALSO_IN_CHARS = 200  # the other outlets of a wire story: a line, cut with "…" past it
COLOR = discord.Colour(0x2B6CB0)

_SPACES = re.compile(r"\s+")
# An already wrapped <link>, or a bare http(s) link (without trailing punctuation).
_LINK = re.compile(r"<https?://[^\s>]+>|https?://[^\s<>]*[^\s<>.,:;!?\"'\])}]")


def escape_text(text: str) -> str:
    """Article text made inert: markdown shown as typed, mentions defused, links wrapped."""
    text = _SPACES.sub(" ", text)
    text = discord.utils.escape_markdown(text, ignore_links=True)
    text = discord.utils.escape_mentions(text)
    return _LINK.sub(lambda m: m[0] if m[0].startswith("<") else f"<{m[0]}>", text)


def shorten(text: str, limit: int) -> str:
    """Escaped `text` within `limit` characters, cut with "…" at a word boundary when one is
    near (a title made of one huge word is cut inside it)."""
    escaped = escape_text(text)
    if len(escaped) <= limit:
        return escaped
    raw = _SPACES.sub(" ", text)
    keep = limit
    while keep > 1:
        cut = raw[:keep]
        at_word = cut.rsplit(" ", 1)[0]
        if " " in cut and len(at_word) >= keep // 2:
            cut = at_word
        candidate = escape_text(cut.rstrip()) + ELLIPSIS
        if len(candidate) <= limit:
            return candidate
        keep = min(keep - 1, len(cut) - 1)
    return ELLIPSIS


def fit_content(text: str) -> str:
    """Message text within 2000 characters (status lines, refusals; never citations)."""
    return text if len(text) <= MAX_CONTENT else text[: MAX_CONTENT - 1] + ELLIPSIS


def link_for(url: str | None) -> str | None:
    """The url if Discord accepts it as an embed link (absolute http(s)), else None."""
    if not url or len(url) > MAX_URL or any(ch.isspace() for ch in url):
        return None
    try:
        parsed = URL(url)
    except ValueError:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return url


def excerpt_markdown(hit: Hit, limit: int) -> str:
    """The excerpt trimmed to about `limit` source characters, escaped, highlight in bold."""
    parts = map(unmark_headings, trim_excerpt(hit, limit))
    before, highlight, after = (_SPACES.sub(" ", part) for part in parts)
    lead = highlight[: len(highlight) - len(highlight.lstrip())]
    trail = highlight[len(highlight.rstrip()) :]
    core = highlight.strip()
    bold = f"**{escape_text(core)}**" if core else ""
    text = escape_text(before + lead) + bold + escape_text(trail + after)
    return text.strip()


def fit_excerpt(hit: Hit, budget: int, preferred: int = EXCERPT_CHARS) -> str:
    """The longest sentence-trimmed excerpt whose markdown fits in `budget` characters."""
    limit = max(MIN_EXCERPT_CHARS, min(preferred, budget))
    while True:
        text = excerpt_markdown(hit, limit)
        if len(text) <= budget or limit <= MIN_EXCERPT_CHARS:
            break
        limit = max(MIN_EXCERPT_CHARS, limit - max(1, len(text) - budget))
    if len(text) > budget:  # escaping doubled a tiny excerpt: the highlight's first words
        text = shorten(hit.highlight or hit.excerpt, budget)
    return text


def citation_title(number: int, hit: Hit, limit: int = MAX_TITLE) -> str:
    return shorten(f"[{number}] {hit.title}", min(limit, MAX_TITLE))


def discord_date(value: dt.datetime) -> str:
    """`<t:UNIX:D>`: the day, which each reader's Discord shows in their locale and zone."""
    return f"<t:{int(value.timestamp())}:D>"


def date_line(published: dt.datetime | None, updated: dt.datetime | None) -> str:
    """'<t:…:D> (updated <t:…:D>)', or '' for an undated article (markdown: descriptions
    and fields only, where Discord renders timestamps)."""
    if published is None:
        return ""
    line = discord_date(published)
    if (shown := shown_update(published, updated)) is not None:
        line += f" (updated {discord_date(shown)})"
    return line


def citation_footer(hit: Hit) -> str:
    """Footers are plain text (no markdown, no mentions, no timestamps): only shortened."""
    footer = relevance_bar(hit.relevance)
    if hit.label:
        footer += f" {hit.label}"
    source = _SPACES.sub(" ", hit.source or "").strip()
    if source:
        footer += " · " + source
    limit = min(FOOTER_CHARS, MAX_FOOTER)
    if len(footer) <= limit:
        return footer
    return footer[: limit - 1].rsplit(" ", 1)[0] + ELLIPSIS


def also_in_value(hit: Hit) -> str:
    """The other copies of a wire story, escaped, within ALSO_IN_CHARS ('' if none)."""
    names = other_copies(hit)
    return shorten(names, ALSO_IN_CHARS) if names else ""


def answer_embeds(
    result: SearchResult, *, first_number: int = 1, preferred_chars: int = EXCERPT_CHARS
) -> list[discord.Embed]:
    """One embed per citation (at most 10), the whole message within 6000 characters."""
    hits = result.hits[:MAX_EMBEDS]
    if not hits:
        return []
    title_limit = MAX_TITLE if len(hits) <= 5 else MANY_TITLE_CHARS
    titles = [citation_title(first_number + i, hit, title_limit) for i, hit in enumerate(hits)]
    footers = [citation_footer(hit) for hit in hits]
    dates = [_description_head(hit) for hit in hits]
    # Named on an article's first card only (as in bot.render's citations).
    firsts = {hit.article_id: i for i, hit in reversed(list(enumerate(hits)))}
    copies = [
        also_in_value(hit) if firsts[hit.article_id] == i else "" for i, hit in enumerate(hits)
    ]
    fixed = sum(len(t) + len(f) + len(d) for t, f, d in zip(titles, footers, dates, strict=True))
    fixed += sum(len(ALSO_IN_NAME) + len(c) for c in copies if c)
    # At most 10 x (120 + 160 + 44 + 207) characters are fixed, so each excerpt gets 65 or
    # more; fewer cards, or cards without dates or copies, leave more.
    share = max(MIN_EXCERPT_CHARS, min(MAX_DESCRIPTION, (MAX_TOTAL - fixed) // len(hits)))
    embeds = []
    for hit, title, footer, head, copy in zip(hits, titles, footers, dates, copies, strict=True):
        budget = min(share, MAX_DESCRIPTION - len(head))
        embed = discord.Embed(
            title=title,
            url=link_for(hit.link) or link_for(hit.url),
            description=head + fit_excerpt(hit, budget, preferred_chars),
            colour=COLOR,
        )
        if copy:
            embed.add_field(name=ALSO_IN_NAME, value=copy, inline=False)
        embed.set_footer(text=footer)
        embeds.append(embed)
    while embeds and total_length(embeds) > MAX_TOTAL:  # a safety net; the shares already fit
        embeds.pop()
    return embeds


def _description_head(hit: Hit) -> str:
    line = date_line(hit.published, hit.updated)
    return line + "\n" if line else ""


def total_length(embeds: Sequence[discord.Embed]) -> int:
    """What Discord counts towards the 6000 characters of one message."""
    return sum(len(embed) for embed in embeds)


def time_content(result: SearchResult) -> str | None:
    """The line above an answer's embeds saying what time did to it (window, as of when,
    old newest evidence) and how many weaker matches the page left out ("More results"
    shows them), or None."""
    notes = time_notes(result, discord_date)
    if left_out := left_out_text(result):
        notes.append(f"({left_out}: More results shows them.)")
    if (note := language_note(result)) is not None:
        notes.insert(0, note)
    return shorten(" ".join(notes), MAX_CONTENT) if notes else None


def no_match_content(result: SearchResult) -> str:
    """The short "no good match" reply, naming the nearest articles that fit in 2000 chars."""
    nearest = [shorten(title, 200) for title in result.nearest]
    while True:
        text = no_match_text(replace(result, nearest=nearest), discord_date)
        if len(text) <= MAX_CONTENT or not nearest:
            return text[:MAX_CONTENT]
        nearest = nearest[:-1]


def sources_embed(
    page: Sequence[ArticleSummary],
    *,
    total: int,
    offset: int,
    search: str | None,
    order: ArticleOrder = "published",
) -> discord.Embed:
    """One page of `/sources`, newest first by `order`, each dated as a Discord timestamp."""
    heading = f"Articles matching “{shorten(search, 100)}”" if search else "Articles"
    if order == "added":
        heading += ", last added first"
    embed = discord.Embed(title=shorten(heading, MAX_TITLE), colour=COLOR)
    lines: list[str] = []
    used = 0
    for number, item in enumerate(page, start=offset + 1):
        title = shorten(item.title, 200)
        link = link_for(item.url)
        if link is not None:
            title = f"[{title.replace('[', '(').replace(']', ')')}]({link})"
        date = date_line(item.published, item.updated)
        article_id = item.id.replace("`", "")
        parts = [f"{number}. {title}", date, f"`{article_id}`", f"{item.chunks} chunks"]
        if item.copy_of is not None:
            parts.append(f"copy of `{item.copy_of.replace('`', '')}`")
        elif label := group_label(item):
            parts.append(label)
        line = " · ".join(part for part in parts if part)
        if used + len(line) + 1 > MAX_DESCRIPTION:
            break
        lines.append(line)
        used += len(line) + 1
    embed.description = "\n".join(lines) if lines else "No articles match."
    last = offset + len(lines)
    embed.set_footer(text=f"{offset + 1 if lines else 0}–{last} of {total}")
    return embed


def status_content(status: IndexStatus, label: str) -> str:
    """`/status`: the same lines as the terminal's, under the collection's name."""
    lines = [f"**Index of the {label}**", *map(escape_text, render_status_lines(status))]
    return "\n".join(lines)[:MAX_CONTENT]
