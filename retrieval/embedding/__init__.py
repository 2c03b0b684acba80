"""Text encoders behind one small protocol, so the engine never cares which model runs."""

from retrieval.embedding.base import Embedder
from retrieval.embedding.factory import load_embedder

__all__ = ["Embedder", "load_embedder"]
