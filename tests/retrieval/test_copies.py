"""Wire copies: near-duplicates found at ingest (MinHash LSH over word shingles) stay in the
collection as one group; an answer quotes one copy and names the others."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3

import pytest

from retrieval.collection import add_article, remove_article, sync_with_folder
from retrieval.documents import Article
from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.near_duplicates import copy_params, signature, similarity
from retrieval.settings import RetrievalSettings
from tests.factories import make_article
from tests.retrieval.backends import BACKENDS, on_backend

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, settings: RetrievalSettings) -> RetrievalSettings:
    return on_backend(request, settings)


ORIGINAL = (
    "Flood barriers along the Arlen River held overnight as the water crested at 6.2 metres "
    "in Brookfield on Tuesday, the highest level since records began in 1921. Mayor Dana "
    "Whitfield said about 1,400 residents had been moved to shelters at the Brookfield "
    "fairground and two schools. Engineers from the regional water board spent the night "
    "patching a seep in the levee near the old mill, using sandbags brought in by volunteers.\n\n"
    "The river is expected to fall slowly over the next three days, but the weather service "
    "warned that another band of heavy rain could reach the valley on Friday. Whitfield said "
    "the city would keep the shelters open until the water board declared the levee safe. "
    "Farmers downstream reported flooded fields and lost livestock, and the state agriculture "
    "office said it would send inspectors once the roads reopened."
)
# The same story as another outlet ran it: its header, and a credit line.
CREDITED = (
    "By Valley Herald staff\n\n" + ORIGINAL + "\n\nReporting by Sam Ortiz; editing by Lee Park."
)
# Lightly edited, under a third outlet's header.
EDITED = (
    ("METRO DAILY — " + ORIGINAL)
    .replace("about 1,400", "roughly 1,400")
    .replace("spent the night", "worked overnight")
    .replace("three days", "several days")
)
# Another story about the same event: the same names, places and date, other words.
OTHER_STORY = (
    "In Brookfield on Tuesday, Mayor Dana Whitfield toured the fairground shelters where "
    "families displaced by the Arlen River flood slept on cots. The river crested at 6.2 "
    "metres, a record. Volunteers handed out soup and blankets while children played in the "
    "hall. Whitfield thanked the water board engineers and said the levee near the old mill "
    "would be inspected again. Residents worried about their homes and asked when they could "
    "return; officials said not before the weekend."
)
DAY = dt.datetime(2024, 5, 7, 8, 0, tzinfo=dt.UTC)
TITLE = "Arlen River crests at record level in Brookfield"


def _story(aid: str, text: str, source: str, hours: int, title: str = TITLE) -> Article:
    return make_article(
        aid,
        title,
        text,
        source=source,
        published=DAY + dt.timedelta(hours=hours),
        url=f"https://{source.lower().replace(' ', '')}.example/{aid}",
    )


def wire() -> list[Article]:
    return [
        _story("metro-flood", EDITED, "Metro Daily", 4),
        _story("wire-flood", ORIGINAL, "Wire Service", 0),
        _story("herald-flood", CREDITED, "Valley Herald", 2),
        _story("gazette-flood", OTHER_STORY, "Brookfield Gazette", 1, "Mayor visits shelters"),
    ]


def _groups(engine: Engine) -> dict[str, str | None]:
    page, _ = engine.list_articles(limit=100)
    return {item.id: item.group for item in page}


def test_the_shingle_estimate_tells_copies_from_other_stories() -> None:
    params = copy_params(0.5)
    assert params.bands * params.rows <= 128
    original = signature(ORIGINAL)
    assert original is not None
    for copy in (CREDITED, EDITED):
        theirs = signature(copy)
        assert theirs is not None and similarity(original, theirs) >= params.threshold
    other = signature(OTHER_STORY)
    assert other is not None and similarity(original, other) < 0.2
    assert signature("…") is None  # no words: a copy of nothing


def test_copies_form_one_group_named_after_the_original(engine: Engine) -> None:
    report = engine.add(wire())
    assert not report.duplicates  # near-duplicates are kept, unlike exact ones
    assert _groups(engine) == {
        "wire-flood": "wire-flood",  # the earliest published
        "herald-flood": "wire-flood",
        "metro-flood": "wire-flood",
        "gazette-flood": None,  # same names, places and date; another story
    }
    page, _ = engine.list_articles(limit=100)
    by_id = {item.id: item for item in page}
    assert by_id["herald-flood"].copy_of == "wire-flood"
    assert by_id["wire-flood"].copy_of is None and by_id["wire-flood"].group_size == 3
    assert by_id["gazette-flood"].copy_of is None and by_id["gazette-flood"].group_size == 0


def test_copies_added_one_by_one_join_the_group(engine: Engine) -> None:
    for article in wire():
        engine.add([article])
    assert set(engine.snapshot.copies.members["wire-flood"]) == {
        "wire-flood",
        "herald-flood",
        "metro-flood",
    }
    assert engine.snapshot.copies.members["wire-flood"][0] == "wire-flood"


def test_an_exact_copy_is_still_a_duplicate(engine: Engine) -> None:
    engine.add(wire())
    copy = _story("copy-flood", ORIGINAL.upper(), "Copycat", 9)
    report = engine.add([copy])
    assert report.duplicates == [("copy-flood", "wire-flood")]
    assert engine.get_article("copy-flood") is None


def test_an_answer_quotes_one_copy_and_names_the_others(engine: Engine) -> None:
    engine.add(wire())
    result = engine.search("How many residents were moved to shelters in Brookfield?", k=10)
    assert not result.abstained
    group = {"wire-flood", "herald-flood", "metro-flood"}
    quoted = {hit.article_id for hit in result.hits} & group
    assert len(quoted) == 1  # one copy's passages only, however many places the page has
    [chosen] = quoted
    hit = next(h for h in result.hits if h.article_id == chosen)
    assert {c.article_id for c in hit.also_in} == group - {chosen}
    sources = {"wire-flood": "Wire Service", "herald-flood": "Valley Herald"}
    sources["metro-flood"] = "Metro Daily"
    assert {c.source for c in hit.also_in} == {sources[a] for a in group - {chosen}}
    other = [h for h in result.hits if h.article_id == "gazette-flood"]
    assert all(not h.also_in for h in other)
    json_hit = next(h for h in result.as_json()["hits"] if h["article_id"] == chosen)
    assert {c["article_id"] for c in json_hit["also_in"]} == group - {chosen}
    # The passages the copies would have taken go to other articles: none left unshown.
    assert result.ranked_article_ids[0] in group


def test_a_tie_quotes_the_original(engine: Engine) -> None:
    """The copy is indexed first (its rows come first among equal scores) and carries the
    same title and first passage; the original is quoted all the same."""
    credit = ORIGINAL + "\n\nThis story was first published by the Wire Service."
    engine.add([_story("herald-flood", credit, "Valley Herald", 2)])
    engine.add([_story("wire-flood", ORIGINAL, "Wire Service", 0)])
    result = engine.search("flood barriers Arlen River crested 6.2 metres", k=5)
    assert result.hits[0].article_id == "wire-flood"
    assert [c.article_id for c in result.hits[0].also_in] == ["herald-flood"]


def _words(seed: int, count: int) -> str:
    rng = random.Random(seed)
    syllables = ("ka", "lo", "mi", "nu", "re", "so", "ti", "va")
    vocabulary = [f"{a}{b}" for a in syllables for b in "aeiou"]
    return " ".join(rng.choice(vocabulary) + rng.choice("bcdfg") for _ in range(count)) + "."


def test_a_removed_link_splits_its_group(engine: Engine) -> None:
    """A ~ B and B ~ C, but A is not a copy of C: without B they are two lone articles."""
    x, y, z = _words(1, 60), _words(2, 60), _words(3, 60)
    a = make_article("a", "A", f"{x} {y}", published=DAY)
    b = make_article("b", "B", f"{x} {y} {z}", published=DAY + dt.timedelta(hours=1))
    c = make_article("c", "C", f"{y} {z}", published=DAY + dt.timedelta(hours=2))
    engine.add([a, b, c])
    assert _groups(engine) == {"a": "a", "b": "a", "c": "a"}
    engine.remove("b")
    assert _groups(engine) == {"a": None, "c": None}
    assert not engine.snapshot.copies


def test_the_original_removed_the_next_earliest_names_the_group(engine: Engine) -> None:
    engine.add(wire())
    engine.remove("wire-flood")
    assert _groups(engine)["herald-flood"] == "herald-flood"
    assert _groups(engine)["metro-flood"] == "herald-flood"
    engine.remove("metro-flood")
    assert _groups(engine) == {"herald-flood": None, "gazette-flood": None}


def test_a_copy_rewritten_as_another_story_leaves_its_group(engine: Engine) -> None:
    engine.add(wire())
    rewritten = _story("metro-flood", _words(7, 150), "Metro Daily", 4)
    engine.add([rewritten])
    groups = _groups(engine)
    assert groups["metro-flood"] is None
    assert groups["herald-flood"] == groups["wire-flood"] == "wire-flood"


@pytest.mark.sqlite_only
def test_groups_are_in_sqlite_not_in_memory(
    engine: Engine, settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    engine.add(wire())
    reopened = Engine(settings, embedder).open()
    assert dict(reopened.snapshot.copies.group_of) == dict(engine.snapshot.copies.group_of)
    with sqlite3.connect(engine.store.path) as conn:
        signatures = conn.execute("SELECT COUNT(*) FROM minhashes").fetchone()[0]
        bands = conn.execute("SELECT COUNT(*) FROM minhash_bands").fetchone()[0]
    assert signatures == 4 and bands == 4 * copy_params(0.5).bands
    # A new copy added by the reopened engine finds the stored ones through their bands.
    reopened.add([_story("post-flood", CREDITED + " Posted 9 a.m.", "Evening Post", 6)])
    assert _groups(reopened)["post-flood"] == "wire-flood"


def test_a_full_rebuild_regroups_from_the_folder(
    engine: Engine, settings: RetrievalSettings
) -> None:
    for article in wire():
        add_article(engine, settings, article)
    before = _groups(engine)
    assert sum(1 for g in before.values() if g) == 3
    report = sync_with_folder(engine, settings, full=True)
    assert not report.duplicates
    assert _groups(engine) == before
    removed = remove_article(engine, settings, "web/wire-flood")
    assert removed.id == "web/wire-flood"
    assert _groups(engine)["web/herald-flood"] == "web/herald-flood"


def test_a_changed_threshold_regroups_at_the_next_write(
    engine: Engine, settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    engine.add(wire())
    off = Engine(settings.model_copy(update={"near_duplicate_threshold": 0.0}), embedder).open()
    off.add([make_article("note", "Note", "An unrelated note about bees and honey.")])
    assert not any(_groups(off).values())
    on = Engine(settings, embedder).open()
    on.add([make_article("note2", "Note two", "Another unrelated note about trains.")])
    assert _groups(on)["herald-flood"] == "wire-flood"
    assert _groups(on)["gazette-flood"] is None


def test_no_good_match_names_a_wire_story_once(settings: RetrievalSettings) -> None:
    strict = settings.model_copy(update={"abstain_threshold": 1.0})  # every answer abstains
    engine = Engine(strict, HashingEmbedder()).open()
    engine.add(wire())
    result = engine.search("Arlen River flood barriers Brookfield levee")
    assert result.abstained
    assert result.nearest.count(TITLE) == 1
    assert "Mayor visits shelters" in result.nearest  # another story is not a copy
