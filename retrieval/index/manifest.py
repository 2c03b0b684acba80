"""The index manifest: what the stored vectors and chunks were made with, and the check that
refuses to mix them with another encoder's or chunker's."""

from __future__ import annotations

from pathlib import Path

from retrieval.embedding.base import Embedder
from retrieval.errors import IndexMismatchError
from retrieval.index.store import SCHEMA_VERSION
from retrieval.settings import RetrievalSettings
from retrieval.text.chunking import ChunkerSettings

# The manifest entries that say which vectors the index holds; vectors are reusable (e.g. as an
# embedding cache) only between indexes that agree on all of them.
ENCODER_KEYS = ("model", "dimension", "embedding_backend", "encoder_recipe")


def expected_manifest(
    settings: RetrievalSettings, embedder: Embedder, chunker: ChunkerSettings
) -> dict[str, str]:
    """The manifest an index built now, with these settings, would have."""
    manifest = {
        "schema_version": str(SCHEMA_VERSION),
        "model": embedder.name,
        "dimension": str(embedder.dimension),
        "embedding_backend": embedder.backend,
        "encoder_recipe": embedder.recipe,
        "sentence_vectors": "1" if settings.sentence_vectors else "0",
    }
    manifest.update({k: str(v) for k, v in chunker.as_manifest().items()})
    return manifest


def check_manifest(
    manifest: dict[str, str], expected: dict[str, str], index_dir: Path | str
) -> None:
    """Raises IndexMismatchError naming every difference and the command that fixes it."""
    # Indexes from before recipes were recorded were made with each backend's first one.
    defaults = {
        "embedding_backend": stored_backend(manifest),
        "encoder_recipe": "1",
        "sentence_vectors": "0",
    }
    manifest = defaults | manifest
    differences = [
        f"{key} {manifest.get(key, 'missing')!r} (now {value!r})"
        for key, value in expected.items()
        if manifest.get(key) != value
    ]
    if not differences:
        return
    hint = ""
    if manifest["encoder_recipe"] != expected["encoder_recipe"]:
        hint = (
            f" (this version of newsdesk encodes with {expected['embedding_backend']} recipe "
            f"{expected['encoder_recipe']}; old and new vectors must not be mixed)"
        )
    if manifest["embedding_backend"] != expected["embedding_backend"]:
        # Vectors from another backend are close, not equal: mixing them would make the
        # embedding cache and the scores inconsistent, so it takes a rebuild.
        hint = f" (NEWSDESK_EMBEDDING_BACKEND={manifest['embedding_backend']} opens it as built)"
    raise IndexMismatchError(
        f"the index in {index_dir} was built with other settings: " + ", ".join(differences) + hint,
        ", ".join(differences),
    )


def stored_backend(manifest: dict[str, str]) -> str:
    """Indexes made before backends existed were encoded by sentence-transformers on torch
    (or by the hashing encoder, named by the model)."""
    if "embedding_backend" in manifest:
        return manifest["embedding_backend"]
    return "hashing" if manifest.get("model", "").startswith("hashing") else "torch"
