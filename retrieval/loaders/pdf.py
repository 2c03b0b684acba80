"""PDF articles: the text layer read with pypdf, page by page, its lines joined into paragraphs.

pypdf gives a page's text as lines. Where each line starts and how large its type is come
from pypdf's text visitor, so paragraphs are told apart by the space between lines (or a
first-line indent, or a short last line when a layout has neither), headings by their size.
Lines of one paragraph are joined with a space, a word hyphenated at a line break is made
whole again, and running headers and page numbers at the pages' edges are dropped: excerpts
then read as the prose they are. Nothing else in the text is changed.

A scanned PDF has no text layer, and says so. Work is bounded: the caller caps the bytes,
here the pages are capped, and pypdf's own limits bound what one stream may inflate to.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import logging
import math
import re
import statistics
import struct
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from pypdf import DocumentInformation, PageObject, PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

from retrieval.dates import parse_date
from retrieval.documents import Article
from retrieval.errors import BadArticleError
from retrieval.loaders.datelines import body_dates
from retrieval.loaders.scrape import is_headline
from retrieval.loaders.textbody import word_count

log = logging.getLogger(__name__)
# pypdf logs a warning for every flaw it reads around (a bad xref, a stray byte), and a
# damaged file has hundreds: one line of ours per file says what matters.
logging.getLogger("pypdf").setLevel(logging.ERROR)

MAX_PAGES = 500  # a book, not an article; and a bound on the work one upload can cost
# What a damaged or hostile file raises from inside pypdf besides its own errors.
_PARSE_ERRORS = (
    PyPdfError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    AssertionError,
    RecursionError,
    OverflowError,
    ZeroDivisionError,
    UnicodeError,
    struct.error,
    zlib.error,
)
# No page with a paragraph's words, and fewer than these a page: nothing but what a scanner
# stamps on its pages.
_PAGE_WORDS = 50
_MIN_WORDS = 5
_SAME_SAVE = dt.timedelta(minutes=10)  # producers stamp /ModDate seconds after /CreationDate
_FIRST_PDF_YEAR = 1993

# Layout: how far apart lines are before they are paragraphs, and what a heading is.
_GAP_FACTOR = 1.35  # a gap this much wider than the usual line spacing ends a paragraph
_JUMP_FACTOR = 3.0  # wider still (or upwards): a new column, or a figure in between
_HEADING_SIZE = 1.15  # type this much larger (or smaller) than its neighbour's: a heading
_INDENT = 0.8  # a first-line indent of this many ems starts a paragraph
_SHORT_LINE = 0.7  # a sentence's last line this much shorter than most ends its paragraph
_TITLE_WORDS = 25
_TITLE_CHARS = 200

_SENTENCE_END = re.compile(r"""[.!?…:;]['"’”»)\]]*$""")
_BULLET = re.compile(r"[•◦▪‣∙●○■□]\s")
# Items marked so start a line only after a sentence (a wrapped line may start with a dash).
_MARKED_ITEM = re.compile(r"([–—*-]|\(?(\d{1,2}|[a-z])[.)])\s")
_PAGE_NUMBER = re.compile(
    r"(([Pp]age|PAGE|p\.|pg\.?)\s*)?[-–—]?\s*(\d{1,4}|[ivx]{1,6}|[IVX]{1,6})\s*[-–—]?"
    r"(\s*(/|of)\s*\d{1,4})?"
)
_DIGITS = re.compile(r"\d+")
_PAGE_DIGITS = re.compile(r"\b\d{1,4}\b")
_HYPHENATED = re.compile(r"\w+(?:-\w+)+")
_LAST_WORD = re.compile(r"(\w+)-$")
_FIRST_WORD = re.compile(r"\w+")
_EDGE_LINES = 2  # lines at the top and bottom of a page that may be a running header
# At a page's edge on this share of the pages (at least two, at most three, as a chapter's
# header is on its pages only): a running header or footer.
_RUNNING_SHARE = 0.6
_RUNNING_PAGES = 3

# Metadata titles that name the file or the template, not the article.
_JUNK_TITLE = re.compile(
    r"(untitled|no title|title|document\s*\d*|doc\d*|new document|slide \d+|presentation\d*|"
    r"book\d*|page \d+|draft|final|layout \d+|pdf|print|"
    r"microsoft (word|powerpoint|excel|office)\b.*|.*\.(docx?|pdf|rtf|odt|pages|indd|qxd|qxp|"
    r"tex|dvi|ps|txt|html?|xlsx?|pptx?|pub|wpd|key))",
    re.IGNORECASE,
)
_JUNK_AUTHOR = re.compile(r"(administrator|admin|user|owner|unknown|author|\W*)", re.IGNORECASE)


@dataclass
class _Line:
    """One line of a page's text; where it starts and its type size, when pypdf says."""

    text: str
    page: int
    x: float | None = None
    y: float | None = None
    size: float | None = None


@dataclass
class _Paragraph:
    lines: list[_Line] = field(default_factory=list)
    text: str = ""

    @property
    def size(self) -> float | None:
        return self.lines[0].size if self.lines else None


@dataclass(frozen=True)
class _Layout:
    """What most lines of the document look like, to tell the others by."""

    body_size: float | None
    leading: float | None  # baseline to baseline within a paragraph of body text
    spaced: bool  # paragraphs are set apart by space (then a short line ends none)
    typical_chars: int
    hyphenated: frozenset[str]  # words written with a hyphen inside a line ("well-known")
    words: frozenset[str]


def _position(cm: list[float], tm: list[float], size: float) -> tuple[float, float, float]:
    """(x, y, type size) of a run of text on the page: its text matrix times the CTM."""
    x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
    y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
    c = tm[2] * cm[0] + tm[3] * cm[2]
    d = tm[2] * cm[1] + tm[3] * cm[3]
    return x, y, abs(size) * math.hypot(c, d)


def _page_lines(page: PageObject, number: int) -> list[_Line]:
    """The page's lines as pypdf extracts them, each with where it starts when known."""
    runs: list[tuple[str, list[float], list[float], float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        runs.append((text, list(cm), list(tm), float(size)))

    text = page.extract_text(visitor_text=visit)
    if "".join(run[0] for run in runs) != text:
        # The runs do not add up to the text (never seen, but then positions are guesses).
        return [_Line(line.strip(), number) for line in text.split("\n") if line.strip()]
    lines: list[_Line] = []
    current = _Line("", number)
    for run_text, cm, tm, size in runs:
        for k, segment in enumerate(run_text.split("\n")):
            if k > 0:
                lines.append(current)
                current = _Line("", number)
            if not segment.strip():
                current.text += segment
                continue
            if not current.text.strip() and k == 0:
                current.x, current.y, current.size = _position(cm, tm, size)
            elif k == 0 and current.size is not None:
                current.size = max(current.size, _position(cm, tm, size)[2])
            current.text += segment
    lines.append(current)
    for line in lines:
        line.text = line.text.strip()
    return [line for line in lines if line.text]


def _edge_key(line: _Line) -> tuple[str, int | None]:
    """A line as it repeats from page to page: page numbers in it aside, in the same type
    (the title on the first page is larger than the running header repeating it)."""
    size = round(line.size) if line.size is not None else None
    return _DIGITS.sub("#", " ".join(line.text.split()).lower()), size


def _running_keys(pages: list[list[_Line]]) -> set[tuple[str, int | None]]:
    """The lines that run along the pages' edges: the same on most pages, or numbered as
    the pages are ('Chapter 2: Methods 3' on one page, '... 4' on the next)."""
    seen: Counter[tuple[str, int | None]] = Counter()
    numbered: defaultdict[tuple[str, int | None], Counter[int]] = defaultdict(Counter)
    pages_with_text = 0
    for number, lines in enumerate(pages):
        if not lines:
            continue
        pages_with_text += 1
        seen.update({_edge_key(line) for line in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]})
        for line in {id(line): line for line in (lines[0], lines[-1])}.values():
            found = _PAGE_DIGITS.findall(line.text)
            if found:
                numbered[_edge_key(line)][int(found[-1]) - number] += 1
    need = max(2, min(_RUNNING_PAGES, math.ceil(_RUNNING_SHARE * pages_with_text)))
    running = {key for key, count in seen.items() if count >= need}
    running.update(key for key, offsets in numbered.items() if max(offsets.values()) >= 2)
    return running


def _without_running_lines(pages: list[list[_Line]]) -> list[list[_Line]]:
    """The pages without page numbers and running headers/footers at their edges, nor the
    first page's first line (the title, a masthead) where later pages repeat it. A document
    of nothing else (a handful of lines on each of two pages) is left as it is."""
    running = _running_keys(pages)
    first = next((_normalized(lines[0].text) for lines in pages if lines), None)

    def is_running(line: _Line, later: bool) -> bool:
        return (
            _PAGE_NUMBER.fullmatch(line.text) is not None
            or _edge_key(line) in running
            or (later and _normalized(line.text) == first)
        )

    started = False
    kept: list[list[_Line]] = []
    for page in pages:
        lines = list(page)
        for _ in range(_EDGE_LINES):
            if lines and is_running(lines[0], started):
                del lines[0]
            if lines and is_running(lines[-1], started):
                del lines[-1]
        started = started or bool(page)
        kept.append(lines)
    return kept if any(kept) else pages


def _percentile(values: list[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _layout(lines: list[_Line]) -> _Layout:
    sizes = [line.size for line in lines if line.size]
    body = statistics.median(sizes) if sizes else None

    def is_body(line: _Line) -> bool:
        return body is not None and line.size is not None and abs(line.size - body) <= 0.1 * body

    gaps: list[float] = []
    for prev, cur in itertools.pairwise(lines):
        same_page = prev.page == cur.page and is_body(prev) and is_body(cur)
        if same_page and prev.y is not None and cur.y is not None and prev.y > cur.y:
            gaps.append(prev.y - cur.y)
    leading = statistics.median(gaps) if gaps else None
    spaced = leading is not None and any(
        _GAP_FACTOR * leading < gap <= _JUMP_FACTOR * leading for gap in gaps
    )
    body_lines = [len(line.text) for line in lines if is_body(line)] or [
        len(line.text) for line in lines
    ]
    hyphenated: set[str] = set()
    words: set[str] = set()
    for line in lines:
        hyphenated.update(w.lower() for w in _HYPHENATED.findall(line.text))
        words.update(w.lower() for w in _FIRST_WORD.findall(line.text))
    return _Layout(
        body_size=body,
        leading=leading,
        spaced=spaced,
        typical_chars=_percentile(body_lines, 0.8) if body_lines else 0,
        hyphenated=frozenset(hyphenated),
        words=frozenset(words),
    )


def _ends_sentence(text: str) -> bool:
    return _SENTENCE_END.search(text) is not None


def _continues(prev: str, cur: str) -> bool:
    """Across a page or column break: the sentence goes on."""
    return not _ends_sentence(prev) and (cur[:1].islower() or prev.endswith((",", "-", "\xad")))


def _differs(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and max(a, b) > _HEADING_SIZE * min(a, b)


def _is_item(text: str) -> bool:
    return _BULLET.match(text) is not None or _MARKED_ITEM.match(text) is not None


def _starts_paragraph(prev: _Line, cur: _Line, layout: _Layout) -> bool:
    """Whether `cur` starts a new paragraph rather than continuing `prev`'s."""
    if _BULLET.match(cur.text) or (_MARKED_ITEM.match(cur.text) and _ends_sentence(prev.text)):
        return True
    if cur.page != prev.page:
        return not _continues(prev.text, cur.text)
    if _differs(prev.size, cur.size):
        return True
    if layout.leading and prev.y is not None and cur.y is not None:
        scale = (cur.size / layout.body_size) if cur.size and layout.body_size else 1.0
        expected = layout.leading * scale
        gap = prev.y - cur.y
        if gap <= 0 or gap > _JUMP_FACTOR * expected:
            return not _continues(prev.text, cur.text)
        if gap > _GAP_FACTOR * expected:
            return True
        em = cur.size or layout.body_size or 0.0
        if prev.x is not None and cur.x is not None and cur.x > prev.x + _INDENT * em:
            return _ends_sentence(prev.text)
        if layout.spaced:
            return False
    short = len(prev.text) < _SHORT_LINE * layout.typical_chars
    if short and _ends_sentence(prev.text):
        return True
    # A short line that ends no sentence, before a capital: a heading.
    return short and not _continues(prev.text, cur.text) and cur.text[:1].isupper()


def _join(prev: str, cur: str, layout: _Layout) -> str:
    """Two lines of one paragraph as one: a space between them, or a hyphenated word whole."""
    if prev.endswith("\xad"):  # a soft hyphen: the word was broken for the line only
        return prev[:-1] + cur
    hyphen = _LAST_WORD.search(prev)
    first = _FIRST_WORD.match(cur)
    if hyphen is not None and first is not None:
        head, tail = hyphen.group(1), first.group(0)
        whole = (head + tail).lower()
        if cur[:1].islower() and (
            f"{head}-{tail}".lower() not in layout.hyphenated or whole in layout.words
        ):
            return prev[:-1] + cur  # "informa-" + "tion"
        return prev + cur  # "well-" + "known", "COVID-" + "19"
    if prev.endswith(("—", "/")) or (prev.endswith("–") and not prev[-2:-1].isspace()):
        return prev + cur
    return prev + " " + cur


def _paragraphs(lines: list[_Line], layout: _Layout) -> list[_Paragraph]:
    paragraphs: list[_Paragraph] = []
    for line in lines:
        if paragraphs and not _starts_paragraph(paragraphs[-1].lines[-1], line, layout):
            last = paragraphs[-1]
            last.text = _join(last.text, line.text, layout)
            last.lines.append(line)
        else:
            paragraphs.append(_Paragraph([line], line.text))
    return paragraphs


def _body_text(paragraphs: Iterable[_Paragraph]) -> str:
    """Paragraphs split by blank lines; the items of a list stay together, one a line."""
    out: list[str] = []
    for paragraph in paragraphs:
        if out and _is_item(paragraph.text) and _is_item(out[-1].rsplit("\n", 1)[-1]):
            out[-1] += "\n" + paragraph.text
        else:
            out.append(paragraph.text)
    return "\n\n".join(out)


def _normalized(text: str) -> str:
    return " ".join(text.split()).casefold()


def _sensible_title(title: str | None) -> str | None:
    """The /Title entry unless it names a file or a template ("Microsoft Word - a.doc")."""
    if title is None or len(title) > _TITLE_CHARS or not any(ch.isalpha() for ch in title):
        return None
    if _JUNK_TITLE.fullmatch(title):
        return None
    if " " not in title and ("_" in title or title.islower()):
        return None  # 'annual_report_v2', 'scan0042': a file name
    return title


def _heading_title(paragraphs: list[_Paragraph], layout: _Layout) -> _Paragraph | None:
    """The first page's headline: its largest type if larger than the body's, else a first
    paragraph that reads like a headline."""
    first_page = [p for p in paragraphs[:8] if p.lines[0].page == paragraphs[0].lines[0].page]
    sized = [p for p in first_page if p.size is not None]
    if sized and layout.body_size:
        top = max(sized, key=lambda p: p.size or 0.0)
        if (top.size or 0.0) > _HEADING_SIZE * layout.body_size and _title_like(top.text):
            return top
    first = paragraphs[0]
    if len(paragraphs) > 1 and len(first.lines) <= 2 and is_headline(first.text):
        return first
    return None


def _title_like(text: str) -> bool:
    return 0 < word_count(text) <= _TITLE_WORDS and len(text) <= _TITLE_CHARS


@dataclass(frozen=True)
class _Info:
    """What the document information dictionary says, read safely."""

    title: str | None = None
    author: str | None = None
    published: dt.datetime | None = None
    updated: dt.datetime | None = None


def _entry(meta: DocumentInformation, key: str) -> str | None:
    value = meta.get(key)
    if not isinstance(value, str):
        return None
    text = " ".join(value.replace("\x00", "").split())
    return text or None


def _pdf_date(meta: DocumentInformation, key: str, where: str) -> dt.datetime | None:
    """/CreationDate or /ModDate as an aware datetime (pypdf parses it); a date without a
    day, or before PDFs existed (a zeroed clock), is none."""
    raw = _entry(meta, key)
    if raw is None:
        return None
    if len(re.sub(r"\D", "", raw.removeprefix("D:"))[:8]) < 8:
        log.info("%s: %s %r has no day; not used", where, key, raw)
        return None
    try:
        parsed = meta.creation_date if key == "/CreationDate" else meta.modification_date
    except _PARSE_ERRORS:
        parsed = None
    value = parse_date(parsed)
    if value is None or value.year < _FIRST_PDF_YEAR:
        log.info("%s: %s %r is not a date; not used", where, key, raw)
        return None
    return value


def _info(reader: PdfReader, where: str) -> _Info:
    try:
        meta = reader.metadata
    except _PARSE_ERRORS as exc:
        log.info("%s: its document information cannot be read: %r", where, exc)
        return _Info()
    if meta is None:
        return _Info()
    published = _pdf_date(meta, "/CreationDate", where)
    updated = _pdf_date(meta, "/ModDate", where)
    if published is None:
        published, updated = updated, None  # the only date there is: when it was written
    elif updated is not None and updated - published <= _SAME_SAVE:
        updated = None
    author = _entry(meta, "/Author")
    if author is not None and _JUNK_AUTHOR.fullmatch(author):
        author = None
    return _Info(_sensible_title(_entry(meta, "/Title")), author, published, updated)


def looks_like_pdf(data: bytes) -> bool:
    """The PDF header, which readers look for in the first kilobyte."""
    return b"%PDF-" in data[:1024]


def _cannot_decrypt(name: str) -> BadArticleError:
    return BadArticleError(
        f"{name} is encrypted in a way newsdesk cannot read (AES); save a copy without "
        "encryption and add that"
    )


def _open(data: bytes, name: str) -> PdfReader:
    password = f"{name} is protected by a password; save a copy without one and add that"
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        # Many PDFs are encrypted with an empty password, only to restrict printing.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise BadArticleError(password)
        if len(reader.pages) == 0:  # reading the page tree finds most damage here
            raise BadArticleError(f"{name} is a PDF without pages")
    except BadArticleError:
        raise
    except NotImplementedError:  # an encryption handler pypdf does not know
        raise _cannot_decrypt(name) from None
    except FileNotDecryptedError:
        raise BadArticleError(password) from None
    except _PARSE_ERRORS as exc:
        log.info("pypdf could not open %s: %r", name, exc)
        raise BadArticleError(f"{name} is not a readable PDF (damaged or incomplete?)") from None
    return reader


def _read_pages(reader: PdfReader, name: str, max_pages: int) -> list[list[_Line]]:
    try:
        count = len(reader.pages)
    except _PARSE_ERRORS:
        raise BadArticleError(f"{name} is not a readable PDF (damaged or incomplete?)") from None
    if count > max_pages:
        raise BadArticleError(
            f"{name} has {count} pages; newsdesk reads PDFs of at most {max_pages} pages"
        )
    pages: list[list[_Line]] = []
    unreadable: list[int] = []
    for number in range(count):
        try:
            pages.append(_page_lines(reader.pages[number], number))
        except _PARSE_ERRORS as exc:
            log.info("pypdf could not read page %d of %s: %r", number + 1, name, exc)
            unreadable.append(number + 1)
            pages.append([])
    if unreadable and len(unreadable) == count:
        raise BadArticleError(f"{name} is not a readable PDF (damaged or incomplete?)")
    if unreadable:
        log.warning(
            "%s: page%s %s could not be read (damaged?); the other pages were",
            name,
            "s" if len(unreadable) > 1 else "",
            ", ".join(map(str, unreadable)),
        )
    return pages


def article_from_pdf(
    data: bytes,
    *,
    name: str,
    article_id: str,
    fallback_title: str,
    url: str | None = None,
    path: str | None = None,
    max_pages: int = MAX_PAGES,
) -> Article:
    """The article in a PDF's text layer (blocking and CPU-bound: run it in a thread from
    async code). BadArticleError, naming the file, for a scan, a password or damage."""
    try:
        reader = _open(data, name)
        pages = _read_pages(reader, name, max_pages)
        info = _info(reader, name)
    except DependencyError:  # AES: decrypting strings and streams needs `cryptography`
        raise _cannot_decrypt(name) from None
    words = [sum(word_count(line.text) for line in lines) for lines in pages]
    if max(words) < _PAGE_WORDS and sum(words) < _MIN_WORDS * len(pages):
        raise BadArticleError(
            f"{name} has no text layer (a scanned PDF?); newsdesk needs PDFs with selectable text"
        )
    lines = [line for page in _without_running_lines(pages) for line in page]
    layout = _layout(lines)
    paragraphs = _paragraphs(lines, layout)

    title = info.title
    heading = _heading_title(paragraphs, layout)
    if title is None and heading is not None:
        title = heading.text
    else:  # the first page repeating the title
        heading = next(
            (p for p in paragraphs[:3] if title and _normalized(p.text) == _normalized(title)),
            None,
        )
    text = _body_text([p for p in paragraphs if p is not heading] or paragraphs)

    published, updated = info.published, info.updated
    if published is None:
        published, updated = body_dates(text, where=name)
    return Article(
        id=article_id,
        title=title or fallback_title,
        text=text,
        url=url,
        published=published,
        updated=updated,
        author=info.author,
        path=path,
    )
