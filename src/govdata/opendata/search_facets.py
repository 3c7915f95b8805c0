"""Facet counts for open-data search (Art. 32; a product decision for search speed).

Counting a broad match's facets in SQL read one packed key per match (``FACET_ROW``) through an
``IN`` list of thousands of ids: 30–50 ms of the 50 ms a search may take. The packed keys of the
whole open catalog are small (one short string per dataset, ~15 MB at 100,000 datasets), so
each process keeps them in memory, keyed on the catalog's fingerprint, and counts a matching set
with one ``Counter`` over its ids. The table is read again when the fingerprint moves (any change
of the open catalog); reading it takes one indexed scan of the packed keys.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.opendata.models import OpenDataset, OpenSearchKey
from govdata.opendata.search_index import FACET_ROW, PACKED_FIELDS, unpacked


class _Fingerprinted(Protocol):
    fingerprint: tuple[Any, ...]


Kept = TypeVar("Kept", bound=_Fingerprinted)

FACETS = ("department", "theme", "format", "open_type", "update_cycle", "tags")


class FacetTable:
    """Every open dataset's facet values, by dataset id, as of one catalog fingerprint: a
    column per dimension (values interned, so a column is a list of shared strings)."""

    def __init__(
        self,
        fingerprint: tuple[Any, ...],
        packed_by_id: dict[int, str],
        department_names: dict[str, str] | None = None,
        modified: dict[int, Any] | None = None,
    ) -> None:
        self.fingerprint = fingerprint
        # Each dataset's ``metadata_modified`` (the order "newest" and relevance's tie-break):
        # any change of it moves the fingerprint, as sync stamps it with the time of the change.
        self.modified = modified or {}
        # A department facet's labels, as the read model names them (``department_name``).
        self.department_names = department_names or {}
        self.row_of: dict[int, int] = {}
        self.columns: dict[str, list[str]] = {f: [] for f in PACKED_FIELDS}
        self.tags: list[tuple[str, ...]] = []
        seen: dict[str, str] = {}
        intern = seen.setdefault
        for n, (dataset_id, term) in enumerate(packed_by_id.items()):
            values, tags = unpacked(term)
            self.row_of[dataset_id] = n
            for i, f in enumerate(PACKED_FIELDS):
                value = values[i] if i < len(values) else ""
                self.columns[f].append(intern(value, value))
            self.tags.append(tuple(intern(t, t) for t in tags if t))
        self._whole: dict[str, Counter[str]] | None = None

    @classmethod
    def read(cls, session: Session, fingerprint: tuple[Any, ...]) -> FacetTable:
        k, d = OpenSearchKey, OpenDataset
        # Joined with the datasets: a withdrawal written by a bulk UPDATE keeps its keys.
        rows = session.execute(
            select(k.dataset_id, k.term, d.department_code, d.department_name, d.metadata_modified)
            .join(d, d.id == k.dataset_id)
            .where(k.kind == FACET_ROW, d.withdrawn.is_(False))
        ).all()
        names = {r[2]: r[3] for r in rows if r[2]}
        modified = {int(r[0]): r[4] for r in rows}
        return cls(fingerprint, {int(r[0]): r[1] for r in rows}, names, modified)

    @property
    def size(self) -> int:
        """How many open datasets (not withdrawn) the table holds."""
        return len(self.row_of)

    def whole(self, wanted: Sequence[str]) -> dict[str, Counter[str]]:
        """The counts of the whole open catalog (computed once per table)."""
        if self._whole is None:
            self._whole = self.count(list(self.row_of), FACETS)
        return {f: self._whole[f] for f in wanted}

    def count(self, ids: Iterable[int], wanted: Sequence[str]) -> dict[str, Counter[str]]:
        """Per dimension wanted, how many of ``ids`` carry each value (a dataset the table
        does not hold, i.e. withdrawn since it was read, counts in none; blanks are not
        counted)."""
        row_of = self.row_of
        rows = [row_of[i] for i in ids if i in row_of]
        counts: dict[str, Counter[str]] = {}
        for f in wanted:
            if f == "tags":
                counts[f] = Counter(chain.from_iterable(map(self.tags.__getitem__, rows)))
            elif f in self.columns:
                counts[f] = Counter(map(self.columns[f].__getitem__, rows))
                counts[f].pop("", None)
        return counts


class FingerprintCache(Generic[Kept]):
    """What a process keeps per database as of one catalog fingerprint (the facet table, the
    key index): the kept one while the fingerprint holds, else read again, once (concurrent
    searches wait for the one read); the old one is let go before the new one is read."""

    def __init__(self, read: Callable[[Session, tuple[Any, ...]], Kept]) -> None:
        self._read = read
        self._kept: dict[str, Kept] = {}  # by database URL
        self._lock = threading.Lock()

    def get(
        self,
        session: Session,
        fingerprint: tuple[Any, ...],
        read: Callable[..., Kept] | None = None,
    ) -> Kept:
        url = str(fingerprint[0])
        current = self._kept.get(url)
        if current is not None and current.fingerprint == fingerprint:
            return current
        with self._lock:
            current = self._kept.get(url)
            if current is None or current.fingerprint != fingerprint:
                self._kept.pop(url, None)
                current = (read or self._read)(session, fingerprint)
                if len(self._kept) > 8:  # a test run opens many databases
                    self._kept.clear()
                self._kept[url] = current
            return current


_TABLES: FingerprintCache[FacetTable] = FingerprintCache(FacetTable.read)


def table(
    session: Session, fingerprint: tuple[Any, ...], *, read: Callable[..., FacetTable] | None = None
) -> FacetTable:
    """The facet table for this database as of ``fingerprint``."""
    return _TABLES.get(session, fingerprint, read)
