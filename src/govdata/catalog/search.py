"""Chinese full-text search over the published catalog.

A product feature: it serves finding resources in the catalog the city publishes (Art. 12 ¶3),
in the share catalog (Art. 26) and in the open catalog (Art. 32, through ``CatalogFilter``'s
``share_types``/``open_types``), and it searches only what the current ``CatalogVersion``
contains.

Text is segmented with jieba (``segment``: ``cut_for_search``, NFKC-normalised, lowercased,
punctuation dropped) and the tokens are stored space-joined, so the database needs no Chinese
tokenizer of its own:

* SQLite: the FTS5 virtual table ``catalog_search`` (``unicode61`` tokenizer) with the columns
  ``name``, ``items`` (info-item names) and ``abstract``; its rowid is the revision id. Ranked by
  ``bm25`` with the weights name 10, items 4, abstract 1.
* PostgreSQL: the table ``catalog_search (revision_id, document tsvector)`` with a GIN index; the
  document is ``to_tsvector('simple', …)`` of the same tokens, weighted A (name), B (items),
  C (abstract). Ranked by ``ts_rank`` (weights 1.0, 0.4, 0.2).

The index holds one row per resource: the revision ``Resource.published_revision_id`` names,
which is the resource's member of the current version. ``review.publish`` calls ``reindex`` with
every resource an approved entry touched; ``rebuild`` recreates the whole index from the current
version (after bulk loads). Both run in the caller's transaction, so the index changes with the
catalog or not at all.

A query is plain text, never search syntax: it is segmented (precise mode) and every term must
match (AND); ``"``, ``*``, ``-``, ``OR``, ``(`` are punctuation or words like any other. Results
are ordered by relevance, ties by resource code. Facet counts are over the matching set (the
query and every given filter), one dict per filter dimension.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jieba  # type: ignore[import-untyped]
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    cast,
    column,
    delete,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from govdata.catalog.models import (
    CatalogVersion,
    CatalogVersionMember,
    Resource,
    ResourceRevision,
)
from govdata.catalog.versions import CatalogFilter, apply_filter, get_version
from govdata.core.errors import InvalidInput
from govdata.core.pagination import MAX_LIMIT

INDEX_TABLE = "catalog_search"
# The tables SQLite's FTS5 keeps for the virtual table (its "shadow tables").
_FTS5_SHADOW_SUFFIXES = ("data", "idx", "content", "docsize", "config")
MAX_QUERY_CHARS = 100  # the pages and the API accept at most 100 characters too
MAX_QUERY_TERMS = 32
FACETS = (
    "department_id",
    "region_id",
    "category",
    "share_type",
    "open_type",
    "update_cycle",
    "format",
)
# bm25 column weights (name, items, abstract): a name match outranks an abstract match.
_BM25_WEIGHTS = (10.0, 4.0, 1.0)
_BATCH = 1000
# Function words dropped from a query that has other terms (never from the index, so a query
# of only such a word still finds what contains it). A product decision.
_QUERY_STOPWORDS = frozenset({"的", "之", "和", "与", "及", "或", "等", "了", "以及", "及其"})
_WORD = re.compile(r"[^\W_]+")


def is_index_table(name: str) -> bool:
    """True for the search index's tables, which migrations keep by hand, not the models.

    ``migrations/env.py`` leaves them out of autogenerate's comparison with ``Base.metadata``.
    """
    return name == INDEX_TABLE or name in {f"{INDEX_TABLE}_{s}" for s in _FTS5_SHADOW_SUFFIXES}


# --- segmentation ------------------------------------------------------------------------------

_tokenizer: Any = None
_tokenizer_lock = threading.Lock()


def _private_cache_dir() -> str | None:
    """A directory only this user can write, for jieba's dictionary cache; None if there is none.

    jieba writes its cache to ``tempfile.gettempdir()/jieba.cache`` (not HOME) and loads whatever
    file it finds there; in a shared temp directory another user could plant one. So the cache
    goes to ``<tmp>/govdata-jieba-<uid>`` (mode 0700, ours), or nowhere.
    """
    try:
        path = Path(tempfile.gettempdir()) / f"govdata-jieba-{os.getuid()}"
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and not info.st_mode & 0o077
    if info.st_uid != os.getuid() or not private or not os.access(path, os.W_OK | os.X_OK):
        return None
    return str(path)


def _load_tokenizer(cache_dir: str | None) -> Any:
    """A jieba tokenizer of its own (jieba's global one is left alone), loaded quietly."""
    jieba.setLogLevel(logging.WARNING)  # jieba logs its loading at DEBUG to stderr
    tokenizer = jieba.Tokenizer()
    if cache_dir is not None:
        tokenizer.tmp_dir = cache_dir
        tokenizer.initialize()
    else:
        # No writable private directory: build the prefix dictionary without a cache (about a
        # second slower), as jieba's own ``initialize`` does before it dumps the cache.
        tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
        tokenizer.initialized = True
    return tokenizer


def _jieba() -> Any:
    global _tokenizer  # noqa: PLW0603 - loaded once per process, on first use
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                _tokenizer = _load_tokenizer(_private_cache_dir())
    return _tokenizer


def _normalise(text_: str) -> str:
    # NFKC folds full-width letters and digits (ＡＢＣ１２３) to their ASCII forms.
    return unicodedata.normalize("NFKC", text_).lower()


def _words(tokens: Iterable[str]) -> list[str]:
    # Only letters and digits: punctuation, spaces and "_" never reach the database, and a token
    # like "covid-19" becomes "covid", "19" as both FTS5's unicode61 and PostgreSQL's parser
    # would split it.
    return [w for token in tokens for w in _WORD.findall(token)]


def segment(text: str) -> list[str]:
    """Index terms of ``text``: jieba ``cut_for_search``, lowercased, punctuation dropped."""
    return _words(_jieba().cut_for_search(_normalise(text)))


@lru_cache(maxsize=4096)
def _segment_item_name(name: str) -> str:
    # Info-item names repeat across thousands of resources (姓名, 统一社会信用代码 …).
    return " ".join(segment(name))


def query_terms(q: str) -> list[str]:
    """The terms every match must contain, or ``InvalidInput`` for an unusable query.

    Precise-mode segmentation: each of its words is also among the ``cut_for_search`` terms of
    a text that contains it, and fewer terms are faster to intersect.
    """
    q = q.strip()
    if not q:
        raise InvalidInput("catalog.search_query_empty", "请输入检索词。")
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidInput(
            "catalog.search_query_too_long",
            f"检索词不能超过{MAX_QUERY_CHARS}个字符。",
            detail={"max_chars": MAX_QUERY_CHARS},
        )
    terms = list(dict.fromkeys(_words(_jieba().cut(_normalise(q)))))
    if not terms:
        raise InvalidInput(
            "catalog.search_query_empty", "检索词中没有可检索的文字，请输入中文、字母或数字。"
        )
    meaningful = [t for t in terms if t not in _QUERY_STOPWORDS]
    return (meaningful or terms)[:MAX_QUERY_TERMS]


# --- the index ---------------------------------------------------------------------------------

# Not in Base.metadata (migration 0003 creates it per engine): lightweight table clauses.
_fts = table(INDEX_TABLE, column("rowid"), column("name"), column("items"), column("abstract"))
_pg = table(INDEX_TABLE, column("revision_id"), column("document"))
_FTS_TABLE: ColumnElement[Any] = literal_column(INDEX_TABLE)


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _document(data: dict[str, Any]) -> dict[str, str]:
    """The segmented, space-joined text of one revision snapshot, by field."""
    items = data.get("items") or []
    return {
        "name": " ".join(segment(str(data.get("name") or ""))),
        "items": " ".join(
            _segment_item_name(str(item.get("name") or "")) for item in items if item
        ),
        "abstract": " ".join(segment(str(data.get("abstract") or ""))),
    }


_SQLITE_INSERT = text(
    "INSERT INTO catalog_search (rowid, name, items, abstract) "
    "VALUES (:id, :name, :items, :abstract)"
)
_PG_INSERT = text(
    "INSERT INTO catalog_search (revision_id, document) VALUES (:id, "
    "setweight(to_tsvector('simple', :name), 'A') || "
    "setweight(to_tsvector('simple', :items), 'B') || "
    "setweight(to_tsvector('simple', :abstract), 'C'))"
)


def _write(session: Session, rows: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Index ``(revision_id, snapshot)`` rows (the caller removed any older rows first)."""
    if not rows:
        return
    params = [{"id": rev_id, **_document(data)} for rev_id, data in rows]
    session.execute(_SQLITE_INSERT if _is_sqlite(session) else _PG_INSERT, params)


def _delete_revisions(session: Session, revision_ids: Select[Any]) -> None:
    if _is_sqlite(session):
        session.execute(delete(_fts).where(_fts.c.rowid.in_(revision_ids)))
    else:
        session.execute(delete(_pg).where(_pg.c.revision_id.in_(revision_ids)))


def reindex(session: Session, resource_ids: list[int]) -> None:
    """Bring the index in line with the published revisions of ``resource_ids``.

    Whatever revision of a resource was indexed goes; its current published revision (none for a
    retired or never-published resource) comes in. ``review.publish`` calls this with every
    resource it touched (Art. 12 ¶3: the published version is what is searched).
    """
    ids = sorted(set(resource_ids))
    for start in range(0, len(ids), _BATCH):  # bounded IN lists
        chunk = ids[start : start + _BATCH]
        _delete_revisions(
            session,
            select(ResourceRevision.id).where(ResourceRevision.resource_id.in_(chunk)),
        )
        rows = session.execute(
            select(ResourceRevision.id, ResourceRevision.data)
            .join(Resource, Resource.published_revision_id == ResourceRevision.id)
            .where(Resource.id.in_(chunk))
        ).all()
        _write(session, [(r.id, r.data) for r in rows])


def rebuild(session: Session) -> int:
    """Recreate the whole index from the current version; the number of resources indexed.

    For bulk loads (the demo catalog, imports, benchmarks) that write versions without
    ``review.publish``. An empty index when nothing is published yet.
    """
    sqlite = _is_sqlite(session)
    session.execute(delete(_fts) if sqlite else delete(_pg))
    current = session.scalar(
        select(CatalogVersion.id).order_by(CatalogVersion.number.desc()).limit(1)
    )
    count = 0
    if current is not None:
        result = session.execute(
            select(ResourceRevision.id, ResourceRevision.data)
            .join(CatalogVersionMember, CatalogVersionMember.revision_id == ResourceRevision.id)
            .where(CatalogVersionMember.version_id == current)
            .order_by(ResourceRevision.id)
            .execution_options(yield_per=_BATCH)
        )
        for batch in result.partitions():
            _write(session, [(r.id, r.data) for r in batch])
            count += len(batch)
    if sqlite:
        # Merge FTS5's b-trees into one: fewer segments to read per query after a bulk load.
        session.execute(text("INSERT INTO catalog_search (catalog_search) VALUES ('optimize')"))
    else:
        # Move GIN's pending entries into the index proper, and give the planner statistics.
        session.execute(text("SELECT gin_clean_pending_list('ix_catalog_search_document')"))
        session.execute(text("ANALYZE catalog_search"))
    return count


# --- searching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    version: CatalogVersion
    total: int
    hits: list[ResourceRevision]
    # {dimension: {value: count}} over the matching set; values as strings (ids too).
    facets: dict[str, dict[str, int]]
    offset: int = 0
    limit: int = 20


def _fts5_query(terms: list[str]) -> str:
    # Every term a quoted string (a literal, never an operator), all of them required.
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _matching(session: Session, terms: list[str]) -> tuple[Select[Any], ColumnElement[Any]]:
    """Revisions in the index matching every term, and the order of relevance (best first)."""
    rev = ResourceRevision
    if _is_sqlite(session):
        stmt = (
            select(rev)
            .join(_fts, _fts.c.rowid == rev.id)
            .where(_FTS_TABLE.op("MATCH")(literal(_fts5_query(terms), String)))
        )
        return stmt, func.bm25(_FTS_TABLE, *_BM25_WEIGHTS).asc()
    tsquery = func.plainto_tsquery(literal_column("'simple'"), literal(" ".join(terms), String))
    stmt = (
        select(rev).join(_pg, _pg.c.revision_id == rev.id).where(_pg.c.document.op("@@")(tsquery))
    )
    return stmt, func.ts_rank(_pg.c.document, tsquery).desc()


def _facets(session: Session, matching: Select[Any]) -> dict[str, dict[str, int]]:
    """Counts per value of each filter dimension over the matching set, in one statement."""
    rev = ResourceRevision
    m = matching.with_only_columns(*(getattr(rev, f) for f in FACETS)).cte("m")
    parts = [
        select(literal(f, String).label("dim"), cast(m.c[f], String).label("value"), func.count())
        .select_from(m)
        .group_by(m.c[f])
        for f in FACETS
    ]
    facets: dict[str, dict[str, int]] = {f: {} for f in FACETS}
    for dim, value, count in session.execute(union_all(*parts)):
        facets[dim][str(value)] = count
    return facets


def search(
    session: Session,
    q: str,
    flt: CatalogFilter | None = None,
    *,
    offset: int = 0,
    limit: int = 20,
) -> SearchResult:
    """Published resources of the current version whose name, abstract or info-item names
    contain every term of ``q``; best first, ties by code; with facet counts.

    ``InvalidInput`` (``catalog.search_query_empty``, ``catalog.search_query_too_long``) for an
    unusable query; ``NotFound`` (``catalog.no_published_version``) before the first version.
    """
    terms = query_terms(q)
    version = get_version(session)
    offset = max(offset, 0)
    limit = min(max(limit, 1), MAX_LIMIT)
    matching, relevance = _matching(session, terms)
    if flt is not None:
        matching = apply_filter(matching, flt)
    facets = _facets(session, matching)
    total = sum(facets["department_id"].values())
    hits: list[ResourceRevision] = []
    if offset < total:
        hits = list(
            session.scalars(
                matching.order_by(relevance, ResourceRevision.code).offset(offset).limit(limit)
            )
        )
    return SearchResult(
        version=version, total=total, hits=hits, facets=facets, offset=offset, limit=limit
    )
