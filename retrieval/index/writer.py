"""Writing articles into the store: chunk, encode only what the cache lacks, commit in batches."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from retrieval.documents import Article, Chunk, content_hash
from retrieval.embedding.base import Embedder
from retrieval.index import groups
from retrieval.index.store import Store
from retrieval.loaders.jsonl import lines_summary
from retrieval.near_duplicates import CopyParams
from retrieval.progress import NoProgress, Progress
from retrieval.text.chunking import ChunkerSettings, chunk_article, embedding_text
from retrieval.text.sentences import sentence_spans

logger = logging.getLogger(__name__)
BATCH_CHUNKS = 64  # chunks encoded between commits: a kill loses at most this much work


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (skipped id, kept id)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # Lines of bulk files left out: (path, line number, reason).
    lines_skipped: list[tuple[str, int, str]] = field(default_factory=list)
    chunks_encoded: int = 0
    sentences_encoded: int = 0
    chunks_written: int = 0
    seconds: float = 0.0
    to_write: int = 0  # articles new or changed, to be written (some may be saved already)

    @property
    def written(self) -> list[str]:
        return self.added + self.changed

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.changed)} changed",
            f"{len(self.removed)} removed",
            f"{self.unchanged} unchanged",
        ]
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} duplicates skipped")
        if self.skipped:
            parts.append(f"{len(self.skipped)} bad files skipped")
        if self.lines_skipped:
            parts.append(lines_summary(self.lines_skipped, names=True))
        encoded = f"{self.chunks_encoded} chunks"
        if self.sentences_encoded:
            encoded += f" and {self.sentences_encoded} sentences"
        return ", ".join(parts) + f"; {encoded} encoded in {self.seconds:.1f}s"


@dataclass(frozen=True)
class _Planned:
    article: Article
    chunks: list[Chunk]
    hashes: list[str]
    texts: list[str]
    is_new: bool
    # (start, end, hash) of the sentences encoded on their own, and their texts.
    sentences: list[tuple[int, int, str]] = field(default_factory=list)
    sentence_texts: list[str] = field(default_factory=list)

    def to_encode(self) -> list[tuple[str, str]]:
        """(hash, text) of every vector the article uses: its chunks' and sentences'."""
        pairs = list(zip(self.hashes, self.texts, strict=True))
        pairs += [(h, t) for (_, _, h), t in zip(self.sentences, self.sentence_texts, strict=True)]
        return pairs


def write_articles(
    store: Store,
    embedder: Embedder,
    chunker: ChunkerSettings,
    articles: Sequence[Article],
    *,
    remove_ids: Sequence[str] = (),
    progress: Progress | None = None,
    report: SyncReport,
    sweep_embeddings: bool = False,
    encode_sentences: bool = True,
    copies: CopyParams | None = None,
) -> None:
    """Store `articles` (new or changed) and delete `remove_ids`; fills `report`. Vectors the
    replaced and removed chunks leave unused are dropped; `sweep_embeddings` drops every unused
    one (a folder sync: it costs a pass over the whole cache). With `encode_sentences`, the
    sentences of articles with several chunks are also encoded one by one: the search uses
    them to choose which of an article's passages to quote. With `copies`, wire copies are
    grouped in the same transactions (index/groups.py)."""
    progress = progress or NoProgress()
    stored = store.article_hashes([a.id for a in articles])
    planned: list[_Planned] = []
    for article in articles:
        if stored.get(article.id, ("",))[0] == article.content_hash:
            report.unchanged += 1
            continue
        chunks = chunk_article(article, chunker, embedder.count_tokens)
        texts = [embedding_text(article.title, c.text) for c in chunks]
        # A one-passage article has no choice of passage to make: its sentences would go unused.
        spans = sentence_spans(article.text) if encode_sentences and len(chunks) > 1 else []
        sentence_texts = [article.text[start:end] for start, end in spans]
        planned.append(
            _Planned(
                article,
                chunks,
                [content_hash(t) for t in texts],
                texts,
                is_new=article.id not in stored,
                sentences=[
                    (start, end, content_hash(text))
                    for (start, end), text in zip(spans, sentence_texts, strict=True)
                ],
                sentence_texts=sentence_texts,
            )
        )

    report.to_write += len(planned)
    cached = store.cached_hashes(h for p in planned for h, _ in p.to_encode())
    to_encode = len({h for p in planned for h, _ in p.to_encode()} - cached)
    progress.start(to_encode, "encoding passages and sentences")

    # The last batch also deletes `remove_ids` and drops orphaned embeddings, in the same
    # transaction: a write that fits in one batch (every single add) is all or nothing.
    batches: list[list[_Planned]] = [[]]
    batch_size = 0
    for item in planned:
        batches[-1].append(item)
        # Sized in chunks; the article's sentences ride along (~0.6x its chunks' encoding).
        batch_size += sum(1 for h in item.hashes if h not in cached)
        if batch_size >= BATCH_CHUNKS:
            batches.append([])
            batch_size = 0
    if not batches[-1] and len(batches) > 1:
        batches.pop()
    if not (remove_ids or planned):
        return
    replaced: set[str] = set()  # vectors of replaced chunks, dropped at the end if unused
    for number, batch in enumerate(batches, start=1):
        last = number == len(batches)
        _commit_batch(
            store,
            embedder,
            batch,
            cached,
            progress,
            report,
            remove_ids=remove_ids if last else (),
            replaced=replaced,
            sweep=("all" if sweep_embeddings else "replaced") if last else "none",
            copies=copies,
        )


def _commit_batch(
    store: Store,
    embedder: Embedder,
    batch: list[_Planned],
    cached: set[str],
    progress: Progress,
    report: SyncReport,
    *,
    remove_ids: Sequence[str],
    replaced: set[str],
    sweep: str,
    copies: CopyParams | None = None,
) -> None:
    missing: dict[str, str] = {}
    for item in batch:
        for h, text in item.to_encode():
            if h not in cached:
                missing.setdefault(h, text)
    chunk_hashes = {h for item in batch for h in item.hashes}
    vectors = None
    if missing:
        vectors = embedder.encode(list(missing.values()), progress=progress.advance)
    removed: list[str] = []
    with store.transaction() as conn:
        if vectors is not None:
            store.put_embeddings(conn, list(missing), vectors)
        # Unused vectors are dropped only in the last batch: earlier ones may be what a later
        # batch counted on finding cached.
        changed = [item.article.id for item in batch if not item.is_new]
        replaced |= store.embed_hashes_of(conn, [*changed, *remove_ids])
        left: set[str] = set()
        if copies is not None:
            groups.ensure_params(conn, copies)
            left = groups.groups_of(conn, [*changed, *remove_ids])
        for item in batch:
            store.put_article(conn, item.article, item.chunks, item.hashes, item.sentences)
        removed = [aid for aid in remove_ids if store.delete_article(conn, aid)]
        if copies is not None:
            groups.update_groups(conn, copies, [item.article for item in batch], left)
        if sweep == "all":
            store.drop_orphan_embeddings(conn)
        elif sweep == "replaced":
            store.drop_unused_embeddings(conn, replaced)
        store.bump_generation(conn)
    cached.update(missing)
    encoded_chunks = sum(1 for h in missing if h in chunk_hashes)
    report.chunks_encoded += encoded_chunks
    report.sentences_encoded += len(missing) - encoded_chunks
    report.removed.extend(removed)
    for item in batch:
        report.chunks_written += len(item.chunks)
        (report.added if item.is_new else report.changed).append(item.article.id)
