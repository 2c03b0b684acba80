"""Which language a question is in, when it is clearly not the model's: the collection is
searched with an English model (the default all-MiniLM-L6-v2) and English BM25 stems, so a
question in French finds little, and the reply should say why rather than a bare "no good
match".

Detection is py3langid's (retrieval/third_party.py), and only trusted when it is sure the
question is not in the model's language: the probability it gives that language must be
under MODEL_LANGUAGE_BELOW (on short English questions the most likely language is often
another one, with a low probability, while English keeps a fair share), and the question
must be long enough to judge (names alone, "Beyoncé", "Kerry Lavrov", are classified almost
at random). Measured on the 3,557 English questions of the shared sets and bench/news (no
note on any) and on 45 questions in 15 other languages (tests/retrieval/data; the note on
all but a few), see docs/benchmarks.md.
"""

from __future__ import annotations

import re

from retrieval.third_party import load_language_identifier

# Questions with fewer letters or words than this are not judged (scripts written without
# spaces, Chinese and Japanese, by their letters alone: MIN_UNSPACED_LETTERS).
MIN_LETTERS = 12
MIN_WORDS = 3
MIN_UNSPACED_LETTERS = 4
# The probability of the model's language under which a question is taken as another's.
MODEL_LANGUAGE_BELOW = 0.02
_WORD = re.compile(r"[^\W\d_]+")


def language_name(code: str) -> str | None:
    """The English name of a language code ("la" -> "Latin") from Babel's CLDR data (the
    detector knows more languages than a table of our own would keep up with); None for a
    code CLDR does not name."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(code).english_name
    except (UnknownLocaleError, ValueError):
        return None
    return str(name) if name else None


def other_language(question: str, model_language: str) -> str | None:
    """The most likely language of `question` when it is clearly not `model_language`
    (ISO 639-1 codes); None otherwise, or when it is too short to say."""
    words = _WORD.findall(question)
    letters = sum(map(len, words))
    if _spaced(question):
        if letters < MIN_LETTERS or len(words) < MIN_WORDS:
            return None
    elif letters < MIN_UNSPACED_LETTERS:
        return None
    ranked = load_language_identifier().rank(question)
    probability = dict(ranked).get(model_language, 0.0)
    best = ranked[0][0]
    if best == model_language or probability >= MODEL_LANGUAGE_BELOW:
        return None
    return best


def _spaced(text: str) -> bool:
    """Whether the text separates words with spaces (Chinese and Japanese do not: one
    "word" there is a whole clause)."""
    return not any("\u3040" <= ch <= "\u9fff" for ch in text)
