"""Turning raw bytes into text, refusing what is not text with a message a user can act on."""

from __future__ import annotations

from retrieval.errors import BadArticleError

# Formats people drop into a folder by mistake, recognised by their first bytes.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "a zip archive"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"\x7fELF", "a program"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
# Control characters never found in prose; a few stray ones are tolerated.
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x0B, 0x1B}
_MAX_CONTROL_SHARE = 0.01


def format_size(n_bytes: int) -> str:
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:g} MB"
    if n_bytes >= 1_000:
        return f"{n_bytes / 1_000:g} kB"
    return f"{n_bytes} bytes"


def check_size(n_bytes: int, name: str, max_bytes: int) -> None:
    if n_bytes > max_bytes:
        raise BadArticleError(f"{name} is larger than the {format_size(max_bytes)} limit")


def binary_kind(data: bytes) -> str | None:
    """What the bytes look like if they are not text, else None."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data.startswith(_UTF16_32_BOMS):
        return None  # text, but in an encoding we refuse with its own message
    if b"\x00" in data:
        return "binary data"
    sample = data[:65536]
    controls = sum(1 for byte in sample if byte in _CONTROL)
    if controls > max(2, len(sample) * _MAX_CONTROL_SHARE):
        return "binary data"
    return None


def is_valid_unicode(text: str) -> bool:
    """False for text holding lone surrogates, which a JSON or YAML ``\\ud800`` escape can
    produce: nothing downstream (hashing, SQLite, tokenizers) can encode them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode_text(data: bytes, name: str, *, max_bytes: int) -> str:
    """UTF-8 text with '\\r\\n' turned into '\\n'; BadArticleError naming the file otherwise."""
    if not data:
        raise BadArticleError(f"{name} is empty")
    check_size(len(data), name, max_bytes)
    kind = binary_kind(data)
    if kind is not None:
        raise BadArticleError(f"{name} looks like {kind}, not text")
    if data.startswith(_UTF16_32_BOMS):
        raise BadArticleError(f"{name} is UTF-16 or UTF-32 text; save it as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadArticleError(
            f"{name} is not UTF-8 text (invalid byte at offset {exc.start}); save it as UTF-8"
        ) from None
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise BadArticleError(f"{name} has no text, only whitespace")
    return text
