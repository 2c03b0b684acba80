"""The reference encoder: a sentence-transformers model on torch (imported only when chosen).

Questions run on one torch thread, bulk encoding on all the free cores: on a small shared
machine a second thread for one question mostly adds contention (p95 grows several-fold).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Protocol, cast

import numpy as np

from retrieval.embedding.base import ProgressCallback, Vectors
from retrieval.threads import free_cores

logger = logging.getLogger(__name__)


class _Tokenizer(Protocol):
    """The model's Hugging Face tokenizer, as `count_tokens` calls it."""

    def __call__(
        self, texts: list[str], *, add_special_tokens: bool, truncation: bool, verbose: bool
    ) -> Mapping[str, list[list[int]]]: ...


class SentenceTransformerEmbedder:
    def __init__(self, name: str, model_path: str, *, batch_size: int = 16) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self._torch = torch
        self._bulk_threads = free_cores()
        self._name = name
        self._batch_size = batch_size
        model = SentenceTransformer(model_path, device="cpu")
        self._model = model
        self._tokenizer: _Tokenizer = model.tokenizer
        # Renamed in sentence-transformers 6; the old name still works on 5.x.
        get_dim: Callable[[], int | None] = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        # None only for a model without a fixed-size output or window, which cannot be used.
        self._dimension = int(cast(int, get_dim()))
        self._max_tokens = int(cast(int, model.max_seq_length))
        logger.info("loaded model %s (dim %d, window %d)", name, self._dimension, self._max_tokens)

    @property
    def name(self) -> str:
        return self._name

    @property
    def backend(self) -> str:
        return "torch"

    @property
    def recipe(self) -> str:
        return "1"

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._tokenizer(
            list(texts), add_special_tokens=False, truncation=False, verbose=False
        )
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: Sequence[str], *, progress: ProgressCallback | None = None) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        # Sorting by length keeps padding low inside each batch; order is restored below.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        step = self._batch_size * 4
        for begin in range(0, len(order), step):
            idx = order[begin : begin + step]
            with self._threads(self._bulk_threads):
                vectors = self._model.encode(
                    [texts[i] for i in idx],
                    batch_size=self._batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            out[idx] = vectors.astype(np.float32, copy=False)
            if progress is not None:
                progress(len(idx))
        return out

    def encode_query(self, text: str) -> Vectors:
        with self._threads(1):
            vector = self._model.encode(
                [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.asarray(vector[0], dtype=np.float32)

    @contextmanager
    def _threads(self, count: int) -> Iterator[None]:
        # No lock: under OpenMP the count is per calling thread, and a question must never
        # wait for a bulk batch; at worst one call runs with the other's count.
        if self._torch.get_num_threads() != count:
            self._torch.set_num_threads(count)
        yield
