"""Links to the quoted sentence: the article's url with a text fragment (`#:~:text=…`).

A browser that supports text fragments (https://wicg.github.io/scroll-to-text-fragment/)
scrolls to the first match of the text and highlights it. Matching is on the page's rendered
text, whitespace collapsed, so the sentence's own whitespace is collapsed here too. A long
sentence is named by its first and last words (`textStart,textEnd`), which survives small
differences in the middle (a link, an inline quote) and keeps the url short.

In a directive's terms `-`, `&` and `,` have meanings (prefix/suffix, the next directive, the
start/end separator), so they are percent-encoded along with everything outside the
unreserved set.
"""

from __future__ import annotations

from urllib.parse import quote

# A sentence up to this long is quoted whole; a longer one by its first and last words.
WHOLE_MAX_WORDS = 12
WHOLE_MAX_CHARS = 120
EDGE_WORDS = 4
# Punctuation at the sentence's edges is left out: a match must begin and end at a word,
# and quotes or brackets around a sentence are often typographic on the page.
_EDGE_PUNCTUATION = "\"'“”‘’«»()[]{}*_<>"


def encode_term(text: str) -> str:
    """One term of a text directive, percent-encoded (`-`, `&`, `,` included)."""
    return quote(text, safe="").replace("-", "%2D")


def text_fragment_link(url: str | None, sentence: str) -> str | None:
    """`url` pointing at `sentence`; the bare url when it already has a fragment (a page's
    own anchor, which a text directive would have to share) or the sentence has no words."""
    if not url:
        return None
    if "#" in url:
        return url
    words = sentence.split()
    if words:
        words[0] = words[0].lstrip(_EDGE_PUNCTUATION)
        words[-1] = words[-1].rstrip(_EDGE_PUNCTUATION)
    words = [w for w in words if w]
    if not words:
        return url
    whole = " ".join(words)
    edge = min(EDGE_WORDS, len(words) // 2)  # the end is searched for after the start
    if edge == 0 or (len(words) <= WHOLE_MAX_WORDS and len(whole) <= WHOLE_MAX_CHARS):
        directive = encode_term(whole)
    else:
        start = " ".join(words[:edge])
        end = " ".join(words[-edge:])
        directive = f"{encode_term(start)},{encode_term(end)}"
    return f"{url}#:~:text={directive}"
