"""The fast encoder: an exported ONNX graph on onnxruntime with the model's fast tokenizer.

Imports neither torch nor sentence-transformers, so a question is answered by a process that
starts in well under a second. Questions run on one thread (a second one only adds contention
on a small shared machine); bulk encoding gets its own session on all the free cores, created
on first use so a serving process that never indexes doesn't hold it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol, cast

import numpy as np

from retrieval.embedding.base import ProgressCallback, Vectors
from retrieval.embedding.model_files import ModelFiles
from retrieval.threads import free_cores

logger = logging.getLogger(__name__)


class OrtNodeArg(Protocol):
    name: str


class OrtSession(Protocol):
    """An onnxruntime `InferenceSession`, as far as newsdesk runs one."""

    def get_inputs(self) -> Sequence[OrtNodeArg]: ...

    def run(
        self, output_names: Sequence[str] | None, input_feed: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]: ...


def make_session(graph: Path, threads: int, *, int8: bool = False) -> OrtSession:
    """A CPU session on `threads` threads; for an int8 graph, with whatever this CPU needs for
    exact int8 products (see `int8_kernel`: the same graph must give the same vectors on every
    machine an index folder moves to)."""
    import onnxruntime as ort

    from retrieval.embedding.int8_kernel import int8_session_entries

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # The graph was fused at export, but the int8 graph's outlier side paths (Mul, Gather,
    # MatMul, Add) still gain from the extended level: ~5-10 % per question for ~3 ms of load.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    if threads == 1:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    for key, value in (int8_session_entries() if int8 else {}).items():
        options.add_session_config_entry(key, value)
    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    return cast(OrtSession, session)


class OnnxEmbedder:
    def __init__(
        self,
        name: str,
        files: ModelFiles,
        graph: Path,
        *,
        backend: str,
        recipe: str,
        batch_size: int = 16,
        bulk_threads: int | None = None,
    ) -> None:
        from tokenizers import Tokenizer

        self._name = name
        self._files = files
        self._graph = graph.absolute()  # the bulk session opens later, maybe from another cwd
        self._backend = backend
        self._recipe = recipe
        self._batch_size = batch_size
        self._bulk_threads = bulk_threads or free_cores()
        self._counter = Tokenizer.from_file(str(files.tokenizer_file))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(files.tokenizer_file))
        self._tokenizer.enable_truncation(max_length=files.max_tokens)
        self._tokenizer.no_padding()  # padded per batch below, to the longest text
        self._int8 = backend == "onnx-int8"
        self._query_session = make_session(graph, 1, int8=self._int8)
        self._bulk_session: OrtSession | None = None
        self._bulk_lock = threading.Lock()
        self._input_names = {i.name for i in self._query_session.get_inputs()}
        logger.info("loaded %s graph %s (dim %d)", backend, graph, files.dimension)

    @property
    def name(self) -> str:
        return self._name

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def recipe(self) -> str:
        return self._recipe

    @property
    def dimension(self) -> int:
        return self._files.dimension

    @property
    def max_tokens(self) -> int:
        return self._files.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encodings = self._counter.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def encode(self, texts: Sequence[str], *, progress: ProgressCallback | None = None) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        # Sorted by length, small batches: little padding, and attention cost stays low.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        session = self._bulk() if len(texts) > 1 else self._query_session
        for idx in self._batches(order, [len(e.ids) for e in encodings]):
            out[idx] = self._run(session, [encodings[i].ids for i in idx])
            if progress is not None:
                progress(len(idx))
        return out

    def _batches(self, order: list[int], lengths: list[int]) -> Iterator[list[int]]:
        """Runs of up to `batch_size` full windows' worth of tokens: ~batch_size passages, but
        many more sentences, on which the fixed cost of a run would otherwise dominate."""
        budget = self._batch_size * self._files.max_tokens
        batch: list[int] = []
        for i in order:
            # Ascending lengths: the new text is the widest, so it sets the padded width.
            if batch and (len(batch) + 1) * lengths[i] > budget:
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def encode_query(self, text: str) -> Vectors:
        ids = self._tokenizer.encode(text).ids
        vector: Vectors = self._run(self._query_session, [ids])[0]
        return vector

    def _bulk(self) -> OrtSession:
        with self._bulk_lock:
            if self._bulk_session is None:
                self._bulk_session = make_session(self._graph, self._bulk_threads, int8=self._int8)
            return self._bulk_session

    def _run(self, session: OrtSession, ids: list[list[int]]) -> Vectors:
        width = max(len(row) for row in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        (hidden,) = session.run(["last_hidden_state"], feeds)
        return pool(np.asarray(hidden, dtype=np.float32), mask, self._files)


def pool(hidden: np.ndarray, mask: np.ndarray, files: ModelFiles) -> Vectors:
    """Sentence-transformers' pooling and normalization, in numpy."""
    if files.pooling == "cls":
        vectors = hidden[:, 0, :]
    else:
        weights = mask[:, :, None].astype(np.float32)
        vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    if files.normalize:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.maximum(norms, 1e-12)
    return np.ascontiguousarray(vectors, dtype=np.float32)
