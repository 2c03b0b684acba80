"""The analyzer must give exactly the tokens bm25s.tokenize gives: the BM25 index and every
question are analyzed with it, and an index built by an older version must still match."""

from __future__ import annotations

import pytest

from retrieval.text import analyzer as analyzer_module
from retrieval.text.analyzer import Analyzer
from retrieval.third_party import load_bm25s
from tests.factories import REUTERS, SAMPLE_ARTICLES

TEXTS = [
    "",
    "a",
    "The and of",  # stopwords only
    "Running runners ran; RUNS! run_fast x_1 a1 é école naïve CAFÉ İstanbul ß straße",
    "U.S. e.g. 3.14 1,000,000 — “quoted” ‘single’ (brackets) [x] {y} tab\there\nnew line",
    "日本語のテキスト 中文 한국어 Ελληνικά русский текст عربى",
    "don't won't it's O'Neill rock'n'roll co-operate well-known",
    *(a.text for a in SAMPLE_ARTICLES),
    REUTERS.read_text(encoding="utf-8"),
]


def _bm25s_tokens(texts: list[str]) -> list[list[str]]:
    import Stemmer

    result = load_bm25s().tokenize(
        texts,
        stopwords="en",
        stemmer=Stemmer.Stemmer("english"),
        return_ids=False,
        show_progress=False,
    )
    return [list(t) for t in result]


def test_tokens_equal_bm25s_tokenize() -> None:
    analyzer = Analyzer()
    assert analyzer.tokens(TEXTS) == _bm25s_tokens(TEXTS)
    # Again with every stem memoized, and one text at a time.
    assert [analyzer.tokens([t])[0] for t in TEXTS] == _bm25s_tokens(TEXTS)
    assert analyzer.tokens([]) == []


def test_a_full_stem_memo_starts_over_and_still_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyzer_module, "STEM_MEMO_WORDS", 20)
    analyzer = Analyzer()
    for text in TEXTS:
        assert analyzer.tokens([text, TEXTS[3]]) == _bm25s_tokens([text, TEXTS[3]])
        assert len(analyzer._stems) <= max(20, len(set(" ".join([text, TEXTS[3]]).split())))
