"""Wire copies as readers see them: "Also in: …" beside a citation (terminal, chat, Discord,
within Discord's limits) and the grouping in the list of sources."""

from __future__ import annotations

import dataclasses

import pytest

from bot.chat import ChatSession
from bot.discord_app.embeds import (
    ALSO_IN_CHARS,
    MAX_EMBEDS,
    MAX_TOTAL,
    answer_embeds,
    sources_embed,
    total_length,
)
from bot.render import build_citations, group_label, render_text
from retrieval.engine import Engine
from retrieval.index.catalogue import ArticleSummary
from retrieval.search.results import Hit, OtherCopy
from retrieval.settings import RetrievalSettings
from tests.bot.helpers import make_hit, make_result
from tests.retrieval.test_copies import wire

pytestmark = pytest.mark.timeout(60)

COPIES = (
    OtherCopy("herald-flood", "Arlen River crests", "Valley Herald"),
    OtherCopy("metro-flood", "Arlen River crests", "Metro Daily"),
    OtherCopy("blog-flood", "A blog's copy", None),  # no source: named by its title
)


def _hit_with_copies(copies: tuple[OtherCopy, ...] = COPIES) -> Hit:
    return dataclasses.replace(make_hit("The river crested at 6.2 metres."), also_in=copies)


def test_a_citation_says_where_else_the_story_ran() -> None:
    hit = _hit_with_copies()
    result = make_result([hit])
    [citation] = build_citations(result)
    assert citation.also_in == "Valley Herald, Metro Daily, A blog's copy"
    text = render_text(result, bold=("", ""), show_scores=False)
    assert "    Also in: Valley Herald, Metro Daily, A blog's copy" in text.splitlines()
    alone = make_result([make_hit("The river crested.")])
    assert "Also in" not in render_text(alone, bold=("", ""))
    [embed] = answer_embeds(result)
    assert [(f.name, f.value) for f in embed.fields] == [
        ("Also in", "Valley Herald, Metro Daily, A blog's copy")
    ]
    [plain] = answer_embeds(alone)
    assert not plain.fields
    # An article's further passages do not repeat the line.
    again = dataclasses.replace(hit, chunk_id=2)
    both = make_result([hit, again])
    assert [c.also_in for c in build_citations(both)] == [citation.also_in, ""]
    assert [len(e.fields) for e in answer_embeds(both)] == [1, 0]


def test_many_copies_stay_within_discord_limits() -> None:
    many = tuple(OtherCopy(f"c{i}", f"T{i}", f"Outlet number {i} " * 3) for i in range(200))
    hits = [
        dataclasses.replace(
            make_hit("Sentence. " * 200, chunk_id=i, article_id=f"a{i}"), also_in=many
        )
        for i in range(MAX_EMBEDS)
    ]
    embeds = answer_embeds(make_result(hits))
    assert len(embeds) == MAX_EMBEDS
    assert total_length(embeds) <= MAX_TOTAL
    for embed in embeds:
        [field] = embed.fields
        assert field.value is not None and len(field.value) <= ALSO_IN_CHARS
        assert field.value.endswith("…")


def _summary(aid: str, group: str | None, size: int) -> ArticleSummary:
    return ArticleSummary(aid, aid.title(), None, None, None, None, 0.0, 2, group, size)


def test_sources_mark_copies_and_originals() -> None:
    original, copy = _summary("wire", "wire", 3), _summary("herald", "wire", 3)
    alone = _summary("gazette", None, 0)
    assert group_label(original) == "original of 2 copies"
    assert group_label(_summary("wire", "wire", 2)) == "original of 1 copy"
    assert group_label(copy) == "copy of wire"
    assert group_label(alone) == ""
    embed = sources_embed([original, copy, alone], total=3, offset=0, search=None)
    assert embed.description is not None
    lines = embed.description.splitlines()
    assert lines[0].endswith("original of 2 copies")
    assert lines[1].endswith("copy of `wire`")
    assert lines[2].endswith("2 chunks")


def test_chat_lists_and_answers_with_the_grouping(
    engine: Engine, settings: RetrievalSettings
) -> None:
    engine.add(wire())
    chat = ChatSession(engine, settings)
    listing = chat.handle("/sources") or ""
    assert "[herald-flood]  (copy of wire-flood)" in listing
    assert "[wire-flood]  (original of 2 copies)" in listing
    assert "[gazette-flood]" in listing and "[gazette-flood]  (" not in listing
    answer = chat.handle("How many residents were moved to shelters in Brookfield?") or ""
    assert answer.count("Also in: ") == 1
