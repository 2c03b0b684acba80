"""One copy of a wire story is quoted; the others are named beside it (`Hit.also_in`).

A step of its own after ranking and before paging: the passages of the other members of a
quoted article's group leave the ranking, so a page shows the story once instead of the same
sentences from each outlet, and the places they took go to other articles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from retrieval.documents import Article
from retrieval.index.groups import CopyGroups
from retrieval.search.results import Hit, OtherCopy

# Fused scores this close are a tie (the copies' passages read the same).
_TIE = 1e-9


def collapse_copies(
    ordered: Sequence[int],
    article_of: Sequence[str],
    copies: CopyGroups,
    scores: Mapping[int, float],
    articles: Mapping[str, Article],
) -> tuple[list[int], dict[str, tuple[OtherCopy, ...]]]:
    """`ordered` without the passages of the copies not quoted, and for each quoted article
    the other copies of its story (original first).

    Which copy is quoted: the one whose best passage ranks first, because that passage is
    the best answer the collection holds and a reader should see it whatever outlet ran it.
    When several copies' best passages score the same (the same sentences in each), the
    earliest published is quoted: the original, the one the story came from.
    """
    if not copies:
        return list(ordered), {}
    best_row: dict[str, int] = {}
    for row in ordered:
        best_row.setdefault(article_of[row], row)
    quoted: dict[str, str] = {}  # group -> the member quoted
    for article_id, row in best_row.items():  # in ranking order
        group = copies.group_of.get(article_id)
        if group is None or group in quoted:
            continue
        score = scores.get(row, 0.0)
        tied = [
            member
            for member in copies.members[group]  # the original first, then by date
            if member in best_row and abs(scores.get(best_row[member], 0.0) - score) <= _TIE
        ]
        quoted[group] = tied[0] if tied else article_id
    kept = [
        row
        for row in ordered
        if (group := copies.group_of.get(article_of[row])) is None
        or quoted[group] == article_of[row]
    ]
    also_in = {
        chosen: tuple(
            OtherCopy(member, articles[member].title, articles[member].source)
            for member in copies.members[group]
            if member != chosen and member in articles
        )
        for group, chosen in quoted.items()
    }
    return kept, also_in


def with_other_copies(hits: list[Hit], also_in: Mapping[str, tuple[OtherCopy, ...]]) -> list[Hit]:
    """The hits, each naming the copies of its story that were not quoted."""
    if not also_in:
        return hits
    return [
        dataclasses.replace(hit, also_in=also_in[hit.article_id])
        if hit.article_id in also_in
        else hit
        for hit in hits
    ]
