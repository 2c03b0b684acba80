"""A generated corpus for the kill and load tests: deterministic, as large as asked, and every
article findable by one word no other article uses (its marker)."""

from __future__ import annotations

import random
from pathlib import Path

from retrieval.documents import Article

_VOCABULARY = [
    f"{a}{b}"
    for a in ("har", "mel", "tor", "vin", "cal", "dro", "pex", "lum", "sar", "bex")
    for b in ("ation", "ment", "ure", "ing", "ness", "ity", "al", "ous", "ive", "er", "ism")
]


def marker(number: int) -> str:
    """A word in article `number` only (letters only, so no stemmer or tokenizer splits it)."""
    # Digits last-first: the first five letters differ between any two markers, which keeps
    # them apart for the test encoder too (it hashes words by their first five letters).
    letters = "".join("bcdfghjklmnpqrstvwxz"[int(d) * 2] for d in reversed(f"{number:05d}"))
    return f"{letters}zq"


def article_id(number: int) -> str:
    return f"report-{number:05d}"


def article(number: int, *, paragraphs: int = 6) -> Article:
    rng = random.Random(number)
    body = [f"The {marker(number)} report, number {number}, opens with this sentence."]
    for _ in range(paragraphs):
        sentences = [
            " ".join(rng.choice(_VOCABULARY) for _ in range(rng.randint(8, 14))).capitalize() + "."
            for _ in range(rng.randint(3, 6))
        ]
        body.append(" ".join(sentences))
    return Article(
        id=article_id(number), title=f"Report {number} {marker(number)}", text="\n\n".join(body)
    )


def question(number: int) -> str:
    return f"Which sentence opens the {marker(number)} report?"


def write_markdown(folder: Path, numbers: range) -> list[Path]:
    """Articles as `<id>.md` files with front matter, as the articles folder holds them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in numbers:
        item = article(number)
        path = folder / f"{item.id}.md"
        path.write_text(f"---\ntitle: {item.title}\n---\n{item.text}\n", encoding="utf-8")
        paths.append(path)
    return paths
