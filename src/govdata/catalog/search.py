"""Chinese full-text search over the published catalog.

A product feature: it serves finding resources in the catalog the city publishes (Art. 12 ¶3),
in the share catalog (Art. 26) and in the open catalog (Art. 32, through ``CatalogFilter``'s
``share_types``/``open_types``), and it searches only what the current ``CatalogVersion``
contains.

Text is segmented with jieba (``segment``: ``cut_for_search``, NFKC-normalised, lowercased,
punctuation dropped) and the tokens are stored space-joined, so the database needs no Chinese
tokenizer of its own:

* SQLite: the FTS5 virtual table ``catalog_search`` (``unicode61`` tokenizer) with the columns
  ``name``, ``items`` (info-item names) and ``abstract``, its rowid the revision id; beside it
  the plain table ``catalog_search_docs`` with the revision's code and filter columns. Ranked by
  ``bm25`` with the weights name 10, items 4, abstract 1.
* PostgreSQL: the table ``catalog_search`` with the code, the filter columns and ``document``,
  the ``to_tsvector('simple', …)`` of the same tokens weighted A (name), B (items), C (abstract),
  under a GIN index. Ranked by ``ts_rank`` (weights 1.0, 0.4, 0.2).

Filters and facets read those narrow index rows, never the wide ``catalog_revisions`` rows of
the matches; only the page returned is loaded as ``ResourceRevision``. A filter means exactly
what ``versions.apply_filter`` makes it mean for the published catalog: its conditions are moved
onto the index columns.

The index holds one row per resource: the revision ``Resource.published_revision_id`` names,
which is the resource's member of the current version. ``review.publish`` calls ``reindex`` with
every resource an approved entry touched; ``rebuild`` recreates the whole index from the current
version (after bulk loads). Both run in the caller's transaction, so the index changes with the
catalog or not at all.

A query is plain text, never search syntax: it is segmented (precise mode) and every term must
match (AND), a term the city bureau's synonym list expands by any of its synonyms
(``synonyms``: 社保 finds 社会保险 too); ``"``, ``*``, ``-``, ``OR``, ``(`` are punctuation or
words like any other. Results
are ordered by relevance, ties by resource code. Facet counts are over the matching set (the
query and every given filter), one dict per filter dimension.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    FromClause,
    Select,
    String,
    TableClause,
    cast,
    column,
    delete,
    func,
    literal,
    literal_column,
    null,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

from govdata.catalog import policy
from govdata.catalog.models import (
    CatalogVersion,
    CatalogVersionMember,
    Resource,
    ResourceRevision,
)
from govdata.catalog.segmentation import (
    Group,
    item_name_terms,
    query_terms,
    segment,
)
from govdata.catalog.versions import CatalogFilter, apply_filter, get_version
from govdata.core.actor import Actor
from govdata.core.pagination import MAX_LIMIT

INDEX_TABLE = "catalog_search"
DOCS_TABLE = "catalog_search_docs"  # SQLite only: the filter columns beside the FTS5 table
# The tables SQLite's FTS5 keeps for the virtual table (its "shadow tables").
_FTS5_SHADOW_SUFFIXES = ("data", "idx", "content", "docsize", "config")
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


def is_index_table(name: str) -> bool:
    """True for the search index's tables, which migrations keep by hand, not the models.

    ``migrations/env.py`` leaves them out of autogenerate's comparison with ``Base.metadata``.
    """
    shadow = {f"{INDEX_TABLE}_{s}" for s in _FTS5_SHADOW_SUFFIXES}
    return name in (INDEX_TABLE, DOCS_TABLE) or name in shadow


def query_groups(session: Session, q: str) -> list[Group]:
    """``query_terms`` with the city bureau's synonyms: one group of alternatives per term."""
    from govdata.catalog.synonyms import expansions

    return expansions(session).groups(query_terms(q))


# --- the index ---------------------------------------------------------------------------------

# Not in Base.metadata (migration 0003 creates them per engine): lightweight table clauses.
# ``_docs`` is one row per indexed revision with the columns filters, facets and the tie-break
# read, so a query never touches the wide ``catalog_revisions`` rows of its matches (only the
# page it returns): on PostgreSQL it is ``catalog_search`` itself, on SQLite the plain table
# ``catalog_search_docs`` beside the FTS5 table (whose rowid is the revision id).
_DOC_COLUMNS = ("code", *FACETS)
_fts = table(INDEX_TABLE, column("rowid"), column("name"), column("items"), column("abstract"))
_FTS_TABLE: ColumnElement[Any] = literal_column(INDEX_TABLE)
_SQLITE_DOCS = table(DOCS_TABLE, column("revision_id"), *(column(c) for c in _DOC_COLUMNS))
_PG_DOCS = table(
    INDEX_TABLE, column("revision_id"), *(column(c) for c in _DOC_COLUMNS), column("document")
)

_SQLITE_INSERT_TEXT = text(
    "INSERT INTO catalog_search (rowid, name, items, abstract) "
    "VALUES (:revision_id, :name, :items, :abstract)"
)
_SQLITE_INSERT_DOC = text(
    "INSERT INTO catalog_search_docs (revision_id, code, department_id, region_id, category, "
    "share_type, open_type, update_cycle, format) VALUES (:revision_id, :code, :department_id, "
    ":region_id, :category, :share_type, :open_type, :update_cycle, :format)"
)
_PG_INSERT = text(
    "INSERT INTO catalog_search (revision_id, code, department_id, region_id, category, "
    "share_type, open_type, update_cycle, format, document) VALUES (:revision_id, :code, "
    ":department_id, :region_id, :category, :share_type, :open_type, :update_cycle, :format, "
    "setweight(to_tsvector('simple', :name), 'A') || "
    "setweight(to_tsvector('simple', :items), 'B') || "
    "setweight(to_tsvector('simple', :abstract), 'C'))"
)
# What an index row is made of: the revision's own columns and its snapshot.
_SOURCE = (
    ResourceRevision.id.label("revision_id"),
    ResourceRevision.data,
    ResourceRevision.search_terms,
    *(getattr(ResourceRevision, c) for c in _DOC_COLUMNS),
)


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def document(data: dict[str, Any]) -> dict[str, str]:
    """The segmented, space-joined text of one revision snapshot, by field.

    ``review.submit`` stores it on the revision (``search_terms``): segmentation, the slow part
    of indexing, then happens a department's list at a time, not a whole version at publishing.
    """
    items = data.get("items") or []
    return {
        "name": " ".join(segment(str(data.get("name") or ""))),
        "items": " ".join(item_name_terms(str(item.get("name") or "")) for item in items if item),
        "abstract": " ".join(segment(str(data.get("abstract") or ""))),
    }


def _write(session: Session, rows: Sequence[Any]) -> None:
    """Index rows of ``_SOURCE`` (the caller removed any older rows of their resources first)."""
    if not rows:
        return
    params = [
        {"revision_id": r.revision_id, **{c: getattr(r, c) for c in _DOC_COLUMNS}}
        | (r.search_terms or document(r.data))
        for r in rows
    ]
    if _is_sqlite(session):
        session.execute(_SQLITE_INSERT_TEXT, params)
        session.execute(_SQLITE_INSERT_DOC, params)
    else:
        session.execute(_PG_INSERT, params)


def _delete(session: Session, revision_ids: Select[Any] | None) -> None:
    """Remove the index rows of ``revision_ids`` (a subquery), or every row when None."""
    if _is_sqlite(session):
        targets = [(_fts, _fts.c.rowid), (_SQLITE_DOCS, _SQLITE_DOCS.c.revision_id)]
    else:
        targets = [(_PG_DOCS, _PG_DOCS.c.revision_id)]
    for target, key in targets:
        stmt = delete(target)
        if revision_ids is not None:
            stmt = stmt.where(key.in_(revision_ids))
        session.execute(stmt)


def reindex(
    session: Session,
    resource_ids: list[int],
    progress: Callable[[int, int], None] | None = None,
    broad_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Bring the index in line with the published revisions of ``resource_ids``.

    Whatever revision of a resource was indexed goes; its current published revision (none for a
    retired or never-published resource) comes in. ``review.publish`` calls this with every
    resource it touched (Art. 12 ¶3: the published version is what is searched).
    ``progress(done, total)`` is called after each batch, ``broad_progress`` after each broad
    word answered ahead (``search_broad.refresh``).
    """
    ids = sorted(set(resource_ids))
    for start in range(0, len(ids), _BATCH):  # bounded IN lists
        chunk = ids[start : start + _BATCH]
        _delete(
            session,
            select(ResourceRevision.id).where(ResourceRevision.resource_id.in_(chunk)),
        )
        rows = session.execute(
            select(*_SOURCE)
            .join(Resource, Resource.published_revision_id == ResourceRevision.id)
            .where(Resource.id.in_(chunk))
        ).all()
        _write(session, rows)
        if progress is not None:
            progress(start + len(chunk), len(ids))
    _refresh_broad(session, broad_progress)


def _refresh_broad(session: Session, progress: Callable[[int, int], None] | None = None) -> None:
    from govdata.catalog import search_broad

    search_broad.refresh(session, progress)


def rebuild(session: Session) -> int:
    """Recreate the whole index from the current version; the number of resources indexed.

    For bulk loads (the demo catalog, imports, benchmarks) that write versions without
    ``review.publish``. An empty index when nothing is published yet.
    """
    _delete(session, None)
    current = session.scalar(
        select(CatalogVersion.id).order_by(CatalogVersion.number.desc()).limit(1)
    )
    count = 0
    if current is not None:
        result = session.execute(
            select(*_SOURCE)
            .join(CatalogVersionMember, CatalogVersionMember.revision_id == ResourceRevision.id)
            .where(CatalogVersionMember.version_id == current)
            .order_by(ResourceRevision.id)
            .execution_options(yield_per=_BATCH)
        )
        for batch in result.partitions():
            _write(session, batch)
            count += len(batch)
    if _is_sqlite(session):
        # Merge FTS5's b-trees into one: fewer segments to read per query after a bulk load.
        session.execute(text("INSERT INTO catalog_search (catalog_search) VALUES ('optimize')"))
        session.execute(text("ANALYZE catalog_search_docs"))
    else:
        # Move GIN's pending entries into the index proper, and give the planner statistics.
        session.execute(text("SELECT gin_clean_pending_list('ix_catalog_search_document')"))
        session.execute(text("ANALYZE catalog_search"))
    _refresh_broad(session)
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


def _fts5_query(groups: Sequence[Group]) -> str:
    # Every term a quoted string (a literal, never an operator), every group required, one of
    # a group's alternatives enough (a synonym), all of an alternative's terms required.
    def alternative(alt: Sequence[str]) -> str:
        return " AND ".join('"' + t.replace('"', '""') + '"' for t in alt)

    def either(group: Group) -> str:
        if len(group) == 1:
            return alternative(group[0])
        return "(" + " OR ".join(f"({alternative(a)})" for a in group) + ")"

    return " AND ".join(either(g) for g in groups)  # explicit: FTS5 wants it after a ")"


def _tsquery(groups: Sequence[Group]) -> ColumnElement[Any]:
    # plainto_tsquery of each alternative (its terms ANDed, never parsed as operators); a
    # group's alternatives ORed (||), the groups ANDed (&&).
    def alternative(alt: Sequence[str]) -> ColumnElement[Any]:
        return func.plainto_tsquery(literal_column("'simple'"), literal(" ".join(alt), String))

    query: ColumnElement[Any] | None = None
    for group in groups:
        either = alternative(group[0])
        for alt in group[1:]:
            either = either.op("||")(alternative(alt))
        query = either if query is None else query.op("&&")(either)
    assert query is not None  # query_terms never returns no term
    return query


def _matching(
    session: Session, groups: Sequence[Group]
) -> tuple[TableClause, list[ColumnElement[bool]], ColumnElement[Any], list[FromClause]]:
    """The docs table, the match conditions, a rank (ascending: best first) and the FROMs."""
    if _is_sqlite(session):
        docs = _SQLITE_DOCS
        match = [
            _FTS_TABLE.op("MATCH")(literal(_fts5_query(groups), String)),
            _fts.c.rowid == docs.c.revision_id,
        ]
        return docs, match, func.bm25(_FTS_TABLE, *_BM25_WEIGHTS), [_fts, docs]
    docs = _PG_DOCS
    tsquery = _tsquery(groups)
    match = [docs.c.document.op("@@")(tsquery)]
    return docs, match, -func.ts_rank(docs.c.document, tsquery), [docs]


def _filter(docs: TableClause, flt: CatalogFilter) -> ColumnElement[bool] | None:
    """``versions.apply_filter``'s conditions, moved from ``catalog_revisions`` to the index.

    The same function decides what a filter means for the catalog and for search; a filter on
    a column the index lacks fails loudly (KeyError) rather than being ignored.
    """
    where = apply_filter(select(ResourceRevision.id), flt).whereclause
    if where is None:
        return None
    revisions = ResourceRevision.__table__

    def to_index(element: Any, **_: Any) -> Any:
        if isinstance(element, ColumnClause) and element.table is revisions:
            return docs.c[element.name]
        return None

    moved: ColumnElement[bool] = visitors.replacement_traverse(where, {}, to_index)
    return moved


# The kinds of row the combined statement returns.
_WHERE, _WHAT, _HIT = "where", "what", "hit"
_WHERE_FACETS = FACETS[:2]  # department_id, region_id
_WHAT_FACETS = FACETS[2:]  # category, share_type, open_type, update_cycle, format


def _facets_and_page(
    session: Session, matches: Select[Any], offset: int, limit: int
) -> tuple[dict[str, dict[str, int]], list[ResourceRevision]]:
    """Facet counts and one page of revisions for ``matches``, in one statement and one load.

    ``matches`` selects ``revision_id``, ``code``, the facet columns and ``rank`` (ascending:
    best first). It becomes a materialized CTE, matched once and read by both facet groupings
    and by the page.
    """
    m = matches.cte("m").prefix_with("MATERIALIZED")
    # Facets in two groupings (each GROUP BY sorts the matches once): where (department and its
    # region, ~300 groups at most) and what (the five vocabularies, 1,512 combinations at most);
    # summed per dimension below. Rows: (kind, seven dimension values or a page row, count).
    blank = cast(null(), String)
    where_rows = (
        select(literal(_WHERE, String), *(cast(m.c[f], String) for f in _WHERE_FACETS))
        .add_columns(*(blank for _ in _WHAT_FACETS), func.count())
        .group_by(*(m.c[f] for f in _WHERE_FACETS))
    )
    what_rows = (
        select(literal(_WHAT, String), *(blank for _ in _WHERE_FACETS))
        .add_columns(*(cast(m.c[f], String) for f in _WHAT_FACETS), func.count())
        .group_by(*(m.c[f] for f in _WHAT_FACETS))
    )
    page = (
        select(m.c.revision_id, m.c.rank, m.c.code)
        .order_by(m.c.rank, m.c.code)
        .offset(offset)
        .limit(limit)
        .subquery("page")
    )
    page_rows = select(
        literal(_HIT, String),
        cast(page.c.revision_id, String),
        *(blank for _ in FACETS[1:]),
        func.row_number().over(order_by=(page.c.rank, page.c.code)),
    )
    facets: dict[str, dict[str, int]] = {f: {} for f in FACETS}
    order: dict[int, int] = {}
    rows: Sequence[Any] = session.execute(union_all(where_rows, what_rows, page_rows)).all()
    for row in rows:
        kind, values, n = row[0], tuple(row[1:-1]), int(row[-1])
        if kind == _HIT:
            order[int(values[0])] = n
            continue
        for dim, value in zip(FACETS, values, strict=True):
            if value is not None:
                counts = facets[dim]
                counts[value] = counts.get(value, 0) + n
    hits: list[ResourceRevision] = []
    if order:
        hits = sorted(
            session.scalars(select(ResourceRevision).where(ResourceRevision.id.in_(order))),
            key=lambda r: order[r.id],
        )
    return facets, hits


def run_query(
    session: Session,
    groups: Sequence[Group],
    flt: CatalogFilter | None,
    offset: int,
    limit: int,
) -> tuple[dict[str, dict[str, int]], list[ResourceRevision]]:
    """The facets and one page of the index's matches of ``groups`` and ``flt``."""
    docs, match, rank, froms = _matching(session, groups)
    conditions = list(match)
    if flt is not None and (moved := _filter(docs, flt)) is not None:
        conditions.append(moved)
    matches = (
        select(docs.c.revision_id, *(docs.c[c] for c in _DOC_COLUMNS), rank.label("rank"))
        .select_from(*froms)
        .where(*conditions)
    )
    return _facets_and_page(session, matches, offset, limit)


def search(
    session: Session,
    actor: Actor,
    q: str,
    flt: CatalogFilter | None = None,
    *,
    offset: int = 0,
    limit: int = 20,
) -> SearchResult:
    """Published resources of the current version whose name, abstract or info-item names
    contain every term of ``q``; best first, ties by code; with facet counts.

    Two statements: the matching with both facet groupings and the ranked page, then the
    page's revisions by id.

    ``InvalidInput`` (``catalog.search_query_empty``, ``catalog.search_query_too_long``) for an
    unusable query; ``NotFound`` (``catalog.no_published_version``) before the first version.
    """
    from govdata.catalog import search_broad

    policy.require_read_published(actor)
    groups = query_groups(session, q)
    version = get_version(session)
    offset = max(offset, 0)
    limit = min(max(limit, 1), MAX_LIMIT)
    # A broad word alone: its answer was computed when the index last changed.
    answered = search_broad.answer(session, version.id, groups, flt, offset, limit)
    if answered is not None:
        facets, hits = answered
    else:
        facets, hits = run_query(session, groups, flt, offset, limit)
    return SearchResult(
        version=version,
        total=sum(facets["department_id"].values()),
        hits=hits,
        facets=facets,
        offset=offset,
        limit=limit,
    )
