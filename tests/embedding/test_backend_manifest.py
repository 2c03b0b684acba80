"""The index records which backend encoded it; another backend needs a full rebuild."""

from __future__ import annotations

import pytest

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.errors import IndexMismatchError
from retrieval.index.catalogue import read_status
from retrieval.index.home import home_for
from retrieval.settings import RetrievalSettings


class OtherBackend(HashingEmbedder):
    @property
    def backend(self) -> str:
        return "onnx-int8"


def test_switching_backend_names_the_rebuild_command(settings: RetrievalSettings) -> None:
    Engine(settings, HashingEmbedder()).open()
    with pytest.raises(IndexMismatchError) as info:
        Engine(settings, OtherBackend()).open()
    message = str(info.value)
    assert "embedding_backend 'hashing' (now 'onnx-int8')" in message
    assert "newsdesk index rebuild --full" in message
    assert "NEWSDESK_EMBEDDING_BACKEND=hashing" in message


def test_status_reports_the_backend(settings: RetrievalSettings) -> None:
    Engine(settings, OtherBackend()).open()
    assert read_status(home_for(settings)).embedding_backend == "onnx-int8"


def test_indexes_from_before_backends_count_as_torch(settings: RetrievalSettings) -> None:
    engine = Engine(settings, HashingEmbedder()).open()
    with engine.store.transaction() as conn:
        conn.execute("DELETE FROM manifest WHERE key = 'embedding_backend'")
    assert read_status(home_for(settings)).embedding_backend == "hashing"
    Engine(settings, HashingEmbedder()).open()  # still opens: hashing is named by the model


class NewRecipe(HashingEmbedder):
    @property
    def recipe(self) -> str:
        return "2"


def test_a_new_encoder_recipe_asks_for_a_full_rebuild(settings: RetrievalSettings) -> None:
    """Old cached vectors next to new question vectors would score wrong without any error."""
    Engine(settings, HashingEmbedder()).open()
    with pytest.raises(IndexMismatchError) as info:
        Engine(settings, NewRecipe()).open()
    message = str(info.value)
    assert "encoder_recipe '1' (now '2')" in message
    assert "newsdesk index rebuild --full" in message


def test_indexes_from_before_recipes_count_as_the_first(settings: RetrievalSettings) -> None:
    engine = Engine(settings, HashingEmbedder()).open()
    with engine.store.transaction() as conn:
        conn.execute("DELETE FROM manifest WHERE key = 'encoder_recipe'")
    Engine(settings, HashingEmbedder()).open()
    with pytest.raises(IndexMismatchError):
        Engine(settings, NewRecipe()).open()
