"""Wire-copy groups in the store: MinHash signatures, their LSH bands, and `articles.group_id`.

Everything lives in SQLite and is changed inside the write's own transaction, so a group is
never half made, opening an index reads no sketch at all (a search needs only the group ids),
and nothing is pickled. An article written gets a signature (`minhashes`) and one row per band
(`minhash_bands`); the articles sharing a band with it are candidates, kept when their
estimated similarity reaches the threshold (retrieval/near_duplicates.py). A group is a set of
articles connected by such pairs; its id is its original's: the earliest published (undated
ones after dated ones, then the first indexed, then the id), so `copy of <id>` names it.

A changed or removed article leaves its group first: what remains is split into the parts
still connected (it may have been the link between them). Signatures do not depend on the
threshold but bands do; the parameters are kept in the manifest (`copies`), and a write under
other ones regroups the whole collection from the stored signatures (no re-encoding).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from retrieval.documents import Article
from retrieval.near_duplicates import (
    CopyParams,
    band_keys,
    from_blob,
    signature,
    similarity,
    to_blob,
)

if TYPE_CHECKING:
    from retrieval.index.store import SqlConnection

MANIFEST_KEY = "copies"
_ORIGINAL_FIRST = "published_at IS NULL, published_at, indexed_at, id"


@dataclass(frozen=True)
class CopyGroups:
    """The groups of one snapshot: which group an article is in, and each group's members
    (the original first, then by date)."""

    group_of: Mapping[str, str] = field(default_factory=dict)
    members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, group_of: Mapping[str, str], order: Sequence[str] = ()) -> CopyGroups:
        """From article id -> group id; `order` lists the ids original-first (those missing
        from it follow by id)."""
        rank = {aid: i for i, aid in enumerate(order)}
        members: dict[str, list[str]] = {}
        for aid in sorted(group_of, key=lambda a: (rank.get(a, len(rank)), a)):
            members.setdefault(group_of[aid], []).append(aid)
        return cls(dict(group_of), {g: tuple(m) for g, m in members.items()})

    def __bool__(self) -> bool:
        return bool(self.group_of)


def groups_of(conn: SqlConnection, article_ids: Iterable[str]) -> set[str]:
    """The groups these articles are in now (before they are replaced or removed)."""
    found: set[str] = set()
    for article_id in article_ids:
        row = conn.execute("SELECT group_id FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is not None and row[0] is not None:
            found.add(str(row[0]))
    return found


def ensure_params(conn: SqlConnection, params: CopyParams) -> None:
    """Regroup everything if the index's groups were made with other parameters (a changed
    NEWSDESK_NEAR_DUPLICATE_THRESHOLD) or before it had signatures."""
    row = conn.execute("SELECT value FROM manifest WHERE key = ?", (MANIFEST_KEY,)).fetchone()
    if row is not None and row[0] == params.key:
        return
    conn.execute("DELETE FROM minhash_bands")
    conn.execute("UPDATE articles SET group_id = NULL WHERE group_id IS NOT NULL")
    conn.execute("INSERT OR REPLACE INTO manifest VALUES (?, ?)", (MANIFEST_KEY, params.key))
    if not params.enabled:
        return
    unsigned = conn.execute(
        "SELECT id, text FROM articles WHERE id NOT IN (SELECT article_id FROM minhashes)"
    ).fetchall()
    for article_id, text in unsigned:
        _put_signature(conn, str(article_id), str(text))
    order = f"SELECT id FROM articles ORDER BY {_ORIGINAL_FIRST}"
    ids = [str(r[0]) for r in conn.execute(order).fetchall()]
    for article_id in ids:
        values = _signature_of(conn, article_id)
        if values is not None:
            _add_bands(conn, article_id, values, params)
            _join(conn, article_id, values, params)


def update_groups(
    conn: SqlConnection,
    params: CopyParams,
    written: Sequence[Article],
    left: set[str],
) -> None:
    """After `written` were stored (their rows, signatures and bands replaced) and articles
    removed: split what is left of the groups in `left` (the groups of the changed and removed
    articles, read before), then sign and join each written article."""
    if not params.enabled:
        return
    for group in sorted(left):
        members = [
            str(r[0])
            for r in conn.execute("SELECT id FROM articles WHERE group_id = ?", (group,)).fetchall()
        ]
        _split(conn, members, params)
    for article in written:
        values = _put_signature(conn, article.id, article.text)
        if values is not None:
            _add_bands(conn, article.id, values, params)
            _join(conn, article.id, values, params)


def _put_signature(conn: SqlConnection, article_id: str, text: str) -> np.ndarray | None:
    values = signature(text)
    conn.execute("DELETE FROM minhashes WHERE article_id = ?", (article_id,))
    if values is not None:
        conn.execute("INSERT INTO minhashes VALUES (?, ?)", (article_id, to_blob(values)))
    return values


def _signature_of(conn: SqlConnection, article_id: str) -> np.ndarray | None:
    row = conn.execute(
        "SELECT signature FROM minhashes WHERE article_id = ?", (article_id,)
    ).fetchone()
    return None if row is None else from_blob(row[0])


def _add_bands(
    conn: SqlConnection, article_id: str, values: np.ndarray, params: CopyParams
) -> None:
    conn.execute("DELETE FROM minhash_bands WHERE article_id = ?", (article_id,))
    conn.executemany(
        "INSERT OR IGNORE INTO minhash_bands VALUES (?, ?, ?)",
        ((band, key, article_id) for band, key in enumerate(band_keys(values, params))),
    )


def _join(conn: SqlConnection, article_id: str, values: np.ndarray, params: CopyParams) -> None:
    """Put the article in one group with every article it is a copy of, and their groups."""
    keys = band_keys(values, params)
    # One query for all bands (each band's lookup is one probe of the primary key): a round
    # trip per band is most of an add's time on a database server.
    bands = " OR ".join(["(band = ? AND bucket = ?)"] * len(keys))
    rows = conn.execute(
        f"SELECT DISTINCT article_id FROM minhash_bands WHERE ({bands}) AND article_id != ?",
        [*(value for pair in enumerate(keys) for value in pair), article_id],
    )
    candidates = {str(r[0]) for r in rows}
    copies = [
        other
        for other in sorted(candidates)
        if (theirs := _signature_of(conn, other)) is not None
        and similarity(values, theirs) >= params.threshold
    ]
    if not copies:
        return
    members = {article_id, *copies}
    for group in groups_of(conn, copies):
        members.update(
            str(r[0]) for r in conn.execute("SELECT id FROM articles WHERE group_id = ?", (group,))
        )
    _assign(conn, members)


def _split(conn: SqlConnection, members: list[str], params: CopyParams) -> None:
    """Regroup `members` (what is left of one group) into the parts still connected."""
    signatures = {m: _signature_of(conn, m) for m in members}
    parent = {m: m for m in members}

    def root(m: str) -> str:
        while parent[m] != m:
            parent[m] = parent[parent[m]]
            m = parent[m]
        return m

    for i, first in enumerate(members):
        for second in members[i + 1 :]:
            a, b = signatures[first], signatures[second]
            if a is not None and b is not None and similarity(a, b) >= params.threshold:
                parent[root(first)] = root(second)
    parts: dict[str, set[str]] = {}
    for m in members:
        parts.setdefault(root(m), set()).add(m)
    for part in parts.values():
        _assign(conn, part)


def _assign(conn: SqlConnection, members: set[str]) -> None:
    """One group of `members` named after its original; a lone article is in none."""
    ids = sorted(members)
    marks = ",".join("?" * len(ids))
    if len(ids) < 2:
        conn.execute(f"UPDATE articles SET group_id = NULL WHERE id IN ({marks})", ids)
        return
    original = conn.execute(
        f"SELECT id FROM articles WHERE id IN ({marks}) ORDER BY {_ORIGINAL_FIRST} LIMIT 1", ids
    ).fetchone()[0]
    conn.execute(f"UPDATE articles SET group_id = ? WHERE id IN ({marks})", [original, *ids])
