"""Child process of bench.serving_memory: opens an index as the bot does, answers questions,
and prints its memory as JSON (kept apart so the parent's memory doesn't count)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    from bot.compose import Composition, OpenPolicy, load_settings

    questions = Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()
    engine = Composition(load_settings()).engine(OpenPolicy.OPEN)
    for question in questions:
        engine.search(question)
    snapshot = engine.snapshot
    index_bytes = snapshot.vectors.nbytes + snapshot.dense.size * snapshot.dense.dimension * 4
    model = getattr(snapshot.lexical, "_model", None)
    if model is not None:
        index_bytes += sum(v.nbytes for v in model.scores.values() if hasattr(v, "nbytes"))
    print(
        json.dumps(
            {
                "rss_mb": round(_status_kb("VmRSS") / 1024, 1),
                "peak_rss_mb": round(_status_kb("VmHWM") / 1024, 1),
                "index_mb": round(index_bytes / 2**20, 1),
                "chunks": len(snapshot.chunks),
                "questions": len(questions),
                "torch_loaded": "torch" in sys.modules,
            }
        )
    )


if __name__ == "__main__":
    main()
