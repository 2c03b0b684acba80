"""Abstention that holds on both sides, with the real model, on question sets written for
newsdesk (tests/quality/data/trust/, see its README): vague questions are told to ask about
something specific, off-collection ones get "no good match", answerable ones are answered,
also on a collection of seven articles. Thresholds sit below what the sets measured (in the
comments), never tuned to single questions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from retrieval.embedding import Embedder
from retrieval.engine import Engine
from retrieval.evaluation import contains_answer
from retrieval.loaders import load_file, load_folder
from retrieval.settings import RetrievalSettings
from tests.factories import REPO

pytestmark = [pytest.mark.slow, pytest.mark.model]

DATA = Path(__file__).parent / "data" / "trust"


def _rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line]


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> dict[str, Engine]:
    out = {}
    small = load_file(DATA / "small_articles.jsonl", max_bytes=10_000_000)
    shipped = load_folder(REPO / "articles", max_bytes=10_000_000).articles
    for name, articles in (("small", small), ("shipped", shipped)):
        settings = RetrievalSettings(
            _env_file=None,  # type: ignore[call-arg]
            index_dir=tmp_path_factory.mktemp(name) / "index",
        )
        engine = Engine(settings, real_embedder).open()
        engine.sync(articles, remove_missing=True)
        out[name] = engine
    return out


def _rates(engine: Engine, rows: list[dict[str, Any]]) -> dict[str, float]:
    vague = abstained = answered = 0
    for row in rows:
        result = engine.search(row["question"])
        vague += result.reason == "vague"
        abstained += result.abstained
        answers = tuple(row.get("answers") or ())
        answered += (
            not result.abstained
            and bool(answers)
            and contains_answer([h.excerpt for h in result.hits], answers)
        )
    n = len(rows)
    return {"vague": vague / n, "abstained": abstained / n, "answered": answered / n}


@pytest.mark.parametrize("collection", ["small", "shipped"])
def test_vague_questions_are_told_to_be_specific(
    engines: dict[str, Engine], collection: str
) -> None:
    rates = _rates(engines[collection], _rows("vague.jsonl"))
    assert rates["vague"] >= 0.9, rates  # measured 1.0 on both (38 questions)


# Measured 1.0 on the seven articles and 0.80 on the shipped ones (DATA/README.md): general
# knowledge questions share everyday words ("capital", "speed", "water") with Wikipedia
# articles, which the lexical evidence rewards.
@pytest.mark.parametrize(("collection", "least"), [("small", 0.9), ("shipped", 0.7)])
def test_off_collection_questions_get_no_good_match(
    engines: dict[str, Engine], collection: str, least: float
) -> None:
    rates = _rates(engines[collection], _rows("off_collection.jsonl"))
    assert rates["abstained"] >= least, rates


@pytest.mark.parametrize(
    ("collection", "questions"),
    [("small", "small_answerable.jsonl"), ("shipped", "shipped_answerable.jsonl")],
)
def test_answerable_questions_are_answered(
    engines: dict[str, Engine], collection: str, questions: str
) -> None:
    rates = _rates(engines[collection], _rows(questions))
    # Answered, with a gold answer in the excerpts shown.
    assert rates["answered"] >= 0.9, rates  # measured 1.0 on both (36 and 22 questions)
