"""How fast can newsdesk encode chunks for indexing, against raw sentence-transformers and
against what the CPU could do at best (its fp32 matmul peak divided by the model's FLOPs)?"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.common import EVAL, Options, Run, load_embedder, parse_args, read_jsonl

LAYERS, HIDDEN = 6, 384  # all-MiniLM-L6-v2


def flops_per_text(tokens: float) -> float:
    """Dense matmul FLOPs of one MiniLM-L6 forward pass over `tokens` word pieces: per layer
    QKV+output (8*L*d^2), the 4x feed-forward (16*L*d^2) and attention (4*L^2*d)."""
    return LAYERS * (24 * tokens * HIDDEN**2 + 4 * tokens**2 * HIDDEN)


def peak_gflops() -> float:
    """Best fp32 matmul rate on all cores, the ceiling any fp32 encoder shares: the best of
    torch (oneDNN/MKL) and onnxruntime (MLAS, what the ONNX backends run) over a few sizes."""
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper

    from retrieval.threads import free_cores

    cores = free_cores()
    torch.set_num_threads(cores)
    best = 0.0
    for n in (1024, 2048, 3072):
        a, b = torch.randn(n, n), torch.randn(n, n)
        torch.mm(a, b)
        for _ in range(5):
            started = time.perf_counter()
            torch.mm(a, b)
            best = max(best, 2 * n**3 / (time.perf_counter() - started) / 1e9)
    n = 2048
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "matmul",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n]),
        ],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = cores
    session = ort.InferenceSession(model.SerializeToString(), options)
    feeds = {
        "a": np.random.rand(n, n).astype(np.float32),
        "b": np.random.rand(n, n).astype(np.float32),
    }
    session.run(None, feeds)
    for _ in range(5):
        started = time.perf_counter()
        session.run(None, feeds)
        best = max(best, 2 * n**3 / (time.perf_counter() - started) / 1e9)
    return best


def sample_chunks(count: int, counter: Any) -> tuple[list[str], list[str]]:
    """Real chunks as newsdesk makes them (title + passage, <= 256 word pieces), and the
    sentences inside them that indexing also encodes on their own (each once per article)."""
    from retrieval.documents import Article
    from retrieval.text.chunking import ChunkerSettings, chunk_article, embedding_text
    from retrieval.text.sentences import sentence_spans

    settings = ChunkerSettings(256, 64, counter.max_tokens)
    texts: list[str] = []
    sentences: list[str] = []
    for row in read_jsonl(EVAL / "squad" / "articles_full.jsonl"):
        article = Article(id=row["id"], title=row["title"], text=row["text"])
        chunks = chunk_article(article, settings, counter.count_tokens)[: count - len(texts)]
        texts += [embedding_text(article.title, chunk.text) for chunk in chunks]
        if len(chunks) > 1:
            end = chunks[-1].end
            sentences += [article.text[a:b] for a, b in sentence_spans(article.text) if b <= end]
        if len(texts) >= count:
            break
    return texts, sentences


def rate(encode: Any, texts: list[str], repeats: int) -> float:
    encode(texts[:8])  # warm-up: sessions, allocations
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        encode(texts)
        best = max(best, len(texts) / (time.perf_counter() - started))
    return round(best, 2)


def main(options: Options) -> None:
    run = Run("encode_throughput", options)
    count, repeats = (48, 1) if options.quick else (192, 2)
    int8 = load_embedder("onnx-int8", options)
    texts, sentences = sample_chunks(count, int8)
    tokens = [n + 2 for n in int8.count_tokens(texts)]  # + [CLS] and [SEP]
    mean_tokens = float(np.mean(tokens))
    peak = peak_gflops()
    per_chunk = float(np.mean([flops_per_text(t) for t in tokens]))
    ceiling = peak * 1e9 / per_chunk
    run.results.update(
        chunks=len(texts),
        mean_tokens=round(mean_tokens, 1),
        peak_gflops_fp32=round(peak, 1),
        gflop_per_chunk=round(per_chunk / 1e9, 3),
        ceiling_chunks_per_s=round(ceiling, 1),
    )
    run.note(f"{len(texts)} chunks, {mean_tokens:.0f} tokens each; ceiling {ceiling:.1f}/s")

    from sentence_transformers import SentenceTransformer

    from retrieval.embedding.factory import packaged_model_path

    raw: Any = SentenceTransformer(packaged_model_path(), device="cpu")
    raw_rate = rate(lambda t: raw.encode(t, show_progress_bar=False), texts, repeats)
    run.results["raw_sentence_transformers"] = raw_rate
    run.note(f"raw SentenceTransformer.encode: {raw_rate} chunks/s")

    batches = (16,) if options.quick else (4, 8, 16, 32)
    rows: list[dict[str, Any]] = []
    for backend in ("torch", "onnx", "onnx-int8"):
        for batch in (16,) if backend == "torch" else batches:
            embedder = load_embedder(backend, options, batch_size=batch)
            value = rate(embedder.encode, texts, repeats)
            rows.append({"backend": backend, "batch": batch, "chunks_per_s": value})
            run.note(f"{backend} batch {batch}: {value} chunks/s")
    run.results["backends"] = rows
    best = max(rows, key=lambda r: r["chunks_per_s"])
    run.results["best"] = best | {
        "vs_raw": round(best["chunks_per_s"] / raw_rate, 2),
        "share_of_ceiling": round(best["chunks_per_s"] / ceiling, 2),
    }
    # Indexing also encodes the chunks' sentences one by one (NEWSDESK_SENTENCE_VECTORS):
    # the same chunks per second with that work included, on the best encoder.
    embedder = load_embedder(best["backend"], options, batch_size=best["batch"])
    sentences_per_s = rate(embedder.encode, sentences, repeats)
    seconds = len(texts) / best["chunks_per_s"] + len(sentences) / sentences_per_s
    with_sentences = round(len(texts) / seconds, 2)
    run.results["with_sentences"] = {
        "sentences": len(sentences),
        "sentences_per_s": sentences_per_s,
        "chunks_per_s": with_sentences,
        "vs_raw": round(with_sentences / raw_rate, 2),
    }
    run.note(f"{len(sentences)} sentences at {sentences_per_s}/s: {with_sentences} chunks/s")
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
