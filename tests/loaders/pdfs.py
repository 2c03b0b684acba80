"""Small PDFs made in the tests: pages of Helvetica text laid out like a printed article.

pypdf writes pages but not text, so each page gets a hand-written content stream
(`BT /F1 11 Tf 72 720 Td (…) Tj ET`) with the standard Helvetica font in WinAnsi encoding.
"""

from __future__ import annotations

import io

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
)

BODY_SIZE = 11
HEADING_SIZE = 20
LEADING = 14  # baseline to baseline within a paragraph
PARAGRAPH_GAP = 12  # extra space between paragraphs
TOP, LEFT = 740, 72

# A two-page story as a newspaper's site prints it: a running header and page numbers, a
# headline in larger type, paragraphs set apart by space, words hyphenated at line ends.
PAGE_ONE = """Valley Herald · 4 March 2025
# Council backs new bridge
The council voted on Monday to rebuild the old bridge over the
river, after months of debate about its cost and the informa-
tion given to residents.

Work starts in June, the mayor said. “It’s a relief,” said Renée
Dubois, a well-known local baker whose shop faces the river. The
well-
known crossing has been closed to lorries since last winter.

The plan includes:
• a footpath on both sides;
• a cycle lane to the station, paid for by the
region.
Page 1 of 2"""
PAGE_TWO = """Valley Herald · 4 March 2025
The bridge will cost 4.2 million euros, of which the region pays
half, and is to open to traffic in the spring of 2027.
Page 2 of 2"""
PARAGRAPHS = [
    "The council voted on Monday to rebuild the old bridge over the river, after months of "
    "debate about its cost and the information given to residents.",
    "Work starts in June, the mayor said. “It’s a relief,” said Renée Dubois, a well-known "
    "local baker whose shop faces the river. The well-known crossing has been closed to "
    "lorries since last winter.",
    "The plan includes:",
    "• a footpath on both sides;\n• a cycle lane to the station, paid for by the region.",
    "The bridge will cost 4.2 million euros, of which the region pays half, and is to open "
    "to traffic in the spring of 2027.",
]
STORY = [PAGE_ONE, PAGE_TWO]


def _literal(text: str) -> bytes:
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def page_stream(page: str, *, gap: int = PARAGRAPH_GAP) -> bytes:
    """A page's content stream: one line of text per line of `page`; a blank line is a
    paragraph gap of `gap` points, a line starting '# ' a heading, one starting '>' is
    indented."""
    ops: list[bytes] = []
    y = TOP
    for line in page.split("\n"):
        if not line.strip():
            y -= gap
            continue
        size, x = BODY_SIZE, LEFT
        if line.startswith("# "):
            line, size = line[2:], HEADING_SIZE
        elif line.startswith(">"):
            line, x = line[1:], LEFT + 18
        ops.append(b"BT /F1 %d Tf %d %d Td %s Tj ET" % (size, x, y, _literal(line)))
        y -= LEADING if size == BODY_SIZE else size + 8
    return b"\n".join(ops)


def make_pdf(
    pages: list[str],
    *,
    metadata: dict[str, str] | None = None,
    user_password: str | None = None,
    owner_password: str | None = None,
    gap: int = PARAGRAPH_GAP,
) -> bytes:
    """A PDF with one page per string (see page_stream); an empty string is a page without
    text (what a scan's pages look like to a text extractor)."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    font_ref = writer._add_object(font)
    for text in pages:
        page = writer.add_blank_page(width=612, height=792)
        stream = DecodedStreamObject()
        stream.set_data(page_stream(text, gap=gap))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref}),
                NameObject("/ProcSet"): ArrayObject([NameObject("/PDF"), NameObject("/Text")]),
            }
        )
        page[NameObject("/Rotate")] = NumberObject(0)
    if metadata is not None:
        writer.add_metadata(metadata)
    if user_password is not None or owner_password is not None:
        writer.encrypt(
            user_password=user_password or "",
            owner_password=owner_password,
            algorithm="RC4-128",
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
