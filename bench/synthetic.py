"""A synthetic collection of any size for latency at scale, built straight into the index's
own structures (no encoding): random unit vectors with low-rank structure for FAISS, BM25
postings drawn from SQuAD's real word distribution, and lazily generated article text.

Latency depends on sizes and posting-list lengths, not on meaning, so this is what scale is
measured on; quality is measured on the real sets. Files are cached under the bench cache.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import EVAL, read_jsonl
from retrieval.documents import Article
from retrieval.index.bm25_files import load_bm25
from retrieval.index.bm25_segments import K1, B
from retrieval.index.dense import DenseIndex
from retrieval.index.snapshot import ChunkTable, Snapshot
from retrieval.text.analyzer import Analyzer

DIM = 384
CHUNKS_PER_ARTICLE = 10
TOKENS_PER_CHUNK = 110  # BM25 tokens left of a ~230-word-piece chunk after stopwords
WORDS_PER_CHUNK = 170
CHUNK_CHARS = 1100  # ~170 words, what a 230-word-piece chunk holds


@dataclass(frozen=True)
class Vocabulary:
    words: list[str]
    probabilities: np.ndarray


def squad_vocabulary(analyzer: Analyzer) -> Vocabulary:
    counts: Counter[str] = Counter()
    for row in read_jsonl(EVAL / "squad" / "articles_full.jsonl"):
        for tokens in analyzer.tokens([row["text"]]):
            counts.update(tokens)
    words = [w for w, _ in counts.most_common()]
    freq = np.array([counts[w] for w in words], dtype=np.float64)
    return Vocabulary(words, freq / freq.sum())


def article_texts(vocabulary: Vocabulary, count: int = 256, seed: int = 2) -> list[str]:
    """A pool of article texts (sentences of SQuAD words), each CHUNK_CHARS per chunk."""
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(count):
        words = rng.choice(
            len(vocabulary.words),
            size=CHUNKS_PER_ARTICLE * WORDS_PER_CHUNK * 2,
            p=vocabulary.probabilities,
        )
        text_words = [vocabulary.words[w] for w in words]
        for i in range(11, len(text_words), 17):
            text_words[i] = text_words[i].capitalize() + "."
        texts.append(" ".join(text_words)[: CHUNKS_PER_ARTICLE * CHUNK_CHARS])
    return texts


class LazyArticles(dict[str, Article]):
    """Articles made on first access from a pool of texts, so a million chunks cost no text
    memory; making one is a lookup, so it doesn't distort the timings."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__()
        self._texts = texts

    def __missing__(self, key: str) -> Article:
        number = int(key[1:])
        text = self._texts[number % len(self._texts)]
        return Article(id=key, title=f"Synthetic article {number}", text=text)


def vectors(count: int, seed: int = 0) -> np.ndarray:
    """Unit vectors from a 48-dimensional mixture: embeddings live near a low-dimensional set,
    which is what makes graph indexes work; iid Gaussians would be unrealistically hard."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((48, DIM)).astype(np.float32)
    centers = rng.standard_normal((256, 48)).astype(np.float32)
    out = np.empty((count, DIM), dtype=np.float32)
    for begin in range(0, count, 100_000):
        n = min(100_000, count - begin)
        latent = centers[rng.integers(0, 256, n)] + 0.6 * rng.standard_normal((n, 48)).astype(
            np.float32
        )
        block = latent @ basis + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
        out[begin : begin + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def write_bm25(folder: Path, count: int, vocabulary: Vocabulary, seed: int = 1) -> None:
    """bm25s's saved format (CSC: a column of per-document scores per token), generated."""
    rng = np.random.default_rng(seed)
    size = len(vocabulary.words)
    # One key per (token, document) occurrence, token-major, so a single sort puts them in
    # CSC order; runs of equal keys are term frequencies.
    keys = np.empty(count * TOKENS_PER_CHUNK, dtype=np.int64)
    for begin in range(0, count, 50_000):
        n = min(50_000, count - begin)
        tokens = rng.choice(size, size=(n, TOKENS_PER_CHUNK), p=vocabulary.probabilities)
        docs_block = np.arange(begin, begin + n, dtype=np.int64)[:, None]
        part = keys[begin * TOKENS_PER_CHUNK : (begin + n) * TOKENS_PER_CHUNK]
        part[:] = (tokens.astype(np.int64) * count + docs_block).ravel()
        del tokens
    keys.sort()
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    tfs = np.diff(np.append(starts, len(keys))).astype(np.float32)
    keys = keys[starts]
    toks = (keys // count).astype(np.int32)
    docs = (keys % count).astype(np.int32)
    del keys, starts
    df = np.bincount(toks, minlength=size)
    idf = np.log(1 + (count - df + 0.5) / (df + 0.5)).astype(np.float32)
    # Every chunk has the same length here, so the length normalization is 1.
    scores = idf[toks] * tfs * (K1 + 1) / (tfs + K1)
    indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "data.csc.index.npy", scores.astype(np.float32))
    np.save(folder / "indices.csc.index.npy", docs)
    np.save(folder / "indptr.csc.index.npy", indptr)
    vocab = {w: i for i, w in enumerate(vocabulary.words)} | {"": size}
    (folder / "vocab.index.json").write_text(json.dumps(vocab))
    params = {
        "k1": K1,
        "b": B,
        "delta": 0.5,
        "method": "lucene",
        "idf_method": "lucene",
        "dtype": "float32",
        "int_dtype": "int32",
        "num_docs": count,
        "version": "0.3.16",
        "backend": "numpy",
    }
    (folder / "params.index.json").write_text(json.dumps(params))


def snapshot(
    count: int, cache: Path, analyzer: Analyzer, *, exact_limit: int
) -> tuple[Snapshot, dict[str, Any]]:
    """A searchable snapshot of `count` chunks, and how long its parts took to build (or
    were built in, when cached)."""
    folder = cache / "synthetic" / f"{count}"
    meta_path = folder / "meta.json"
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    vocabulary = squad_vocabulary(analyzer)
    started = time.perf_counter()
    vecs = vectors(count)
    meta["vectors_seconds"] = round(time.perf_counter() - started, 1)
    ids = np.arange(1, count + 1, dtype=np.int64)
    kind = "flat" if count <= exact_limit else "hnsw"
    dense_file = folder / f"dense-{kind}.faiss"
    if dense_file.exists():
        dense = DenseIndex.load(dense_file, None, DIM, count, base_id=kind)
        meta["dense_cached"] = True
    else:
        started = time.perf_counter()
        dense = DenseIndex.build(ids, vecs, DIM, exact_limit=exact_limit)
        meta[f"dense_{kind}_build_seconds"] = round(time.perf_counter() - started, 1)
        meta["dense_cached"] = False
        folder.mkdir(parents=True, exist_ok=True)
        if kind == "hnsw":  # flat is rebuilt in seconds; the graph is worth keeping
            dense.save_base(dense_file)
    bm25_dir = folder / "bm25"
    if not (bm25_dir / "params.index.json").exists():
        started = time.perf_counter()
        write_bm25(bm25_dir, count, vocabulary)
        meta["bm25_generate_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    lexical = load_bm25(bm25_dir, count)
    meta["bm25_load_seconds"] = round(time.perf_counter() - started, 1)
    meta_path.write_text(json.dumps(meta, indent=2))
    ordinals = (ids - 1) % CHUNKS_PER_ARTICLE
    table = ChunkTable(
        ids=ids,
        article_ids=[f"a{i // CHUNKS_PER_ARTICLE}" for i in range(count)],
        ordinals=ordinals,
        starts=ordinals * CHUNK_CHARS,
        ends=(ordinals + 1) * CHUNK_CHARS,
    )
    snap = Snapshot(
        generation=1,
        articles=LazyArticles(article_texts(vocabulary)),
        chunks=table,
        vectors=vecs,
        dense=dense,
        lexical=lexical,
    )
    return snap, meta | {"dense_kind": dense.kind}
