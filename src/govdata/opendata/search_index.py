"""The open catalog's search index (``OpenSearchKey``; a product decision for search speed).

Each open dataset's jieba tokens (``t``, and ``n`` for its name), tags (``k``), theme (``g``),
department, format, open type and cycle (``d``/``f``/``o``/``u``) are rows of
``open_search_keys``, so ``search`` finds a term or applies a filter by an index lookup on both
engines; one more row (``x``) packs all its facet values, so facets read one entry per match.
A bulk UPDATE that bypasses the ORM (a Core statement on the table) is not seen: reindex after
it. The index follows the read model in the same transaction: every flush that writes
an ``OpenDataset``'s indexed columns reindexes it (``datasets`` imports this module, which
registers the listener); ``rebuild`` redoes it whole after bulk loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, event, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, UOWTransaction

from govdata.catalog.segmentation import segment
from govdata.opendata.models import OpenDataset, OpenSearchKey


def theme_of(class_path: str) -> str:
    first = class_path.replace("＞", "/").replace(">", "/").split("/")[0].strip()
    return first or "未分类"


# OpenSearchKey.kind: a token of the text, a token of the name (relevance), a tag, the theme,
# and the columns filters and facets use (department code, format, open type, update cycle).
TOKEN, NAME, TAG, THEME = "t", "n", "k", "g"
DEPARTMENT, FORMAT, OPEN_TYPE, CYCLE = "d", "f", "o", "u"
# One key per dataset packing all its facet values: facets over a matching set read one index
# entry per match instead of one per dimension.
FACET_ROW = "x"
PACKED_CHARS = 255
_SEP = "\x1f"  # the unit separator: in no code, theme, format or tag
PACKED_FIELDS = ("department", "theme", "format", "open_type", "update_cycle")


def packed(row: Any) -> str:
    """``department code, theme, format, open type, cycle, tags…`` joined; trailing tags that
    do not fit in ``PACKED_CHARS`` are left out of the facet counts."""
    head = [
        (row.department_code or "")[:32],
        theme_of(row.class_path or "")[:60],
        (row.format or "")[:32],
        row.open_type or "",
        row.update_cycle or "",
    ]
    text = _SEP.join(head)
    for tag in row.tags or ():
        if tag and len(text) + 1 + len(tag) <= PACKED_CHARS:
            text += _SEP + tag
    return text


def unpacked(term: str) -> tuple[list[str], list[str]]:
    """(the five facet values in ``PACKED_FIELDS`` order, the tags)."""
    parts = term.split(_SEP)
    return parts[:5], parts[5:]


TERM_CHARS = 100


def keys_of(row: Any) -> set[tuple[str, str]]:
    """A dataset's index keys: (kind, term)."""
    keys = {(TOKEN, t[:TERM_CHARS]) for t in (row.search_text or "").split() if t}
    keys |= {(NAME, t[:TERM_CHARS]) for t in segment(row.name or "") if t}
    keys |= {(TAG, t[:TERM_CHARS]) for t in (row.tags or ()) if t}
    keys.add((THEME, theme_of(row.class_path or "")[:TERM_CHARS]))
    keys.add((FACET_ROW, packed(row)))
    for kind, value in (
        (DEPARTMENT, row.department_code),
        (FORMAT, row.format),
        (OPEN_TYPE, row.open_type),
        (CYCLE, row.update_cycle),
    ):
        if value:
            keys.add((kind, value[:TERM_CHARS]))
    return keys


def _write_keys(conn: Connection | Session, rows: Iterable[Any]) -> int:
    values = [
        {"kind": kind, "term": term, "dataset_id": r.id}
        for r in rows
        if not r.withdrawn
        for kind, term in keys_of(r)
    ]
    if values:
        conn.execute(insert(OpenSearchKey), values)
    return len(values)


_SOURCE = (
    OpenDataset.id,
    OpenDataset.name,
    OpenDataset.search_text,
    OpenDataset.tags,
    OpenDataset.class_path,
    OpenDataset.department_code,
    OpenDataset.format,
    OpenDataset.open_type,
    OpenDataset.update_cycle,
    OpenDataset.withdrawn,
)


class _Generation:
    """Counts this process's reindexing: a cache of search results keys on it (with the
    catalog's own fingerprint, which other processes' changes move)."""

    value = 0


generation = _Generation()


def reindex(conn: Connection | Session, dataset_ids: Sequence[int]) -> None:
    """Replace the keys of these datasets (a withdrawn one keeps none)."""
    generation.value += 1
    for start in range(0, len(dataset_ids), 500):
        chunk = list(dataset_ids[start : start + 500])
        conn.execute(delete(OpenSearchKey).where(OpenSearchKey.dataset_id.in_(chunk)))
        _write_keys(conn, conn.execute(select(*_SOURCE).where(OpenDataset.id.in_(chunk))).all())


def rebuild(session: Session, *, batch: int = 5000) -> int:
    """The whole index again, from every open dataset (after a bulk load); keys written."""
    generation.value += 1
    session.execute(delete(OpenSearchKey))
    written, last = 0, 0
    while True:
        rows = session.execute(
            select(*_SOURCE).where(OpenDataset.id > last).order_by(OpenDataset.id).limit(batch)
        ).all()
        if not rows:
            return written
        written += _write_keys(session, rows)
        last = rows[-1].id


_INDEXED = (
    "name",
    "search_text",
    "tags",
    "class_path",
    "department_code",
    "format",
    "open_type",
    "update_cycle",
    "withdrawn",
    "metadata_modified",  # not a key, but the in-memory order reads it (search_facets)
)


@event.listens_for(Session, "after_flush")
def _keep_index_current(session: Session, _ctx: UOWTransaction) -> None:
    # Every ORM write of a dataset (sync, a test's row) reindexes it in the same transaction,
    # so the index never lags the read model. New/dirty still hold the pre-flush sets here.
    ids = [o.id for o in session.new if isinstance(o, OpenDataset)]
    for o in session.dirty:
        if isinstance(o, OpenDataset):
            state = sa_inspect(o)
            if any(state.attrs[a].history.has_changes() for a in _INDEXED):
                ids.append(o.id)
    if ids:
        reindex(session.connection(), ids)
