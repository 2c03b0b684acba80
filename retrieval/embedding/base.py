"""The protocol every encoder implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
ProgressCallback = Callable[[int], None]


class Embedder(Protocol):
    """Encodes texts to L2-normalized float32 vectors (so inner product is cosine)."""

    @property
    def name(self) -> str:
        """Identifies the model in the index manifest; a different name needs a full rebuild."""
        ...

    @property
    def backend(self) -> str:
        """What runs the model (torch, onnx, onnx-int8): recorded in the index manifest, since
        vectors from different backends are close but not equal."""
        ...

    @property
    def recipe(self) -> str:
        """How the backend turns the model into vectors, versioned (e.g. the ONNX export and
        quantization recipe): a new recipe gives slightly different vectors, which must not be
        mixed with cached ones, so the manifest records it too."""
        ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """The model's window in word pieces, special tokens included."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text without special tokens (used to size chunks)."""
        ...

    def encode(self, texts: Sequence[str], *, progress: ProgressCallback | None = None) -> Vectors:
        """Shape (len(texts), dimension), rows of unit length."""
        ...

    def encode_query(self, text: str) -> Vectors:
        """One question, shape (dimension,); kept separate so it can run on a single thread."""
        ...
