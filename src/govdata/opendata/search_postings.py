"""The open catalog's key index in memory (Art. 32; a product decision for search speed,
decision 0020).

A broad query matched through ``open_search_keys`` in the database: every term an index range
of thousands of ids, intersected there and handed back, 30–50 ms of the 50 ms a search may take
at 100,000 datasets. The keys themselves are small (ids of 4 bytes, a few million postings),
so each process keeps them, per (kind, term), as a compact array of dataset ids, keyed on the
catalog's fingerprint like the facet table (``search_facets``), and intersects them itself.
The arrays are read again when the fingerprint moves (any change of the open catalog): one
ordered scan of the key index's primary key.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Text, cast, func, literal_column, select
from sqlalchemy.orm import Session

from govdata.opendata.models import OpenSearchKey
from govdata.opendata.search_facets import FingerprintCache
from govdata.opendata.search_index import FACET_ROW

_EMPTY: array[int] = array("i")


class Postings:
    """Every (kind, term)'s dataset ids as of one catalog fingerprint. An id of a dataset
    withdrawn by a bulk UPDATE may still be here: callers keep only ids the facet table holds
    (as the database path does through the join)."""

    def __init__(
        self,
        fingerprint: tuple[Any, ...],
        rows: Iterable[tuple[str, str, int]] = (),
        *,
        by_key: dict[tuple[str, str], array[int]] | None = None,
    ) -> None:
        self.fingerprint = fingerprint
        self._by_key: dict[tuple[str, str], array[int]] = by_key or {}
        for kind, term, dataset_id in rows:
            self._by_key.setdefault((kind, term), array("i")).append(dataset_id)
        self.size = sum(len(a) for a in self._by_key.values())

    @classmethod
    def read(cls, session: Session, fingerprint: tuple[Any, ...]) -> Postings:
        """One row per (kind, term) with its ids joined in a string by the database: a few
        thousand rows to parse instead of millions (3 s instead of 34 s at 100,000 datasets
        on a busy machine)."""
        k = OpenSearchKey
        if session.get_bind().dialect.name == "postgresql":
            joined = func.string_agg(cast(k.dataset_id, Text), literal_column("','"))
        else:
            joined = func.group_concat(k.dataset_id)
        rows = session.execute(
            select(k.kind, k.term, joined).where(k.kind != FACET_ROW).group_by(k.kind, k.term)
        )
        by_key = {(kind, term): array("i", map(int, ids.split(","))) for kind, term, ids in rows}
        return cls(fingerprint, by_key=by_key)

    def any_of(self, kind: str, terms: Sequence[str]) -> Sequence[int]:
        """The datasets holding any of ``terms`` of ``kind``."""
        if len(terms) == 1:
            return self._by_key.get((kind, terms[0]), _EMPTY)
        union: set[int] = set()
        for term in terms:
            union.update(self._by_key.get((kind, term), _EMPTY))
        return sorted(union)

    def matching(self, parts: Sequence[tuple[str, Sequence[str]]]) -> set[int]:
        """The datasets in every part (each part: any of its terms of its kind), the smallest
        part first so the set built is as small as it can be."""
        if not parts:
            return set()
        lists = sorted((self.any_of(kind, terms) for kind, terms in parts), key=len)
        found = set(lists[0])
        for other in lists[1:]:
            if not found:
                break
            found.intersection_update(other)
        return found


_TABLES: FingerprintCache[Postings] = FingerprintCache(Postings.read)


def table(
    session: Session, fingerprint: tuple[Any, ...], *, read: Callable[..., Postings] | None = None
) -> Postings:
    """The postings for this database as of ``fingerprint``."""
    return _TABLES.get(session, fingerprint, read)
