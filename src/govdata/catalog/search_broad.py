"""Broad words answered ahead (a product decision for search speed; issue 16).

A word found in a large share of the catalog (信息, 数据, 管理, 登记 … in tens of thousands of
resources) makes the database rank and count every one of its matches: about 240 ms at 100,000
resources, where every other query of the mix takes a few milliseconds. The published catalog
changes only when a version is published, so when the index changes (``search.reindex`` at
publishing, ``search.rebuild``) each word in at least ``BROAD_SHARE`` of the indexed resources
(and ``BROAD_MIN_DOCS``; at most ``MAX_TERMS``, the broadest first; never a function word
such as 的) gets its answer computed once by the same query a search runs: its facet counts
and its ``TOP`` best-ranked revisions, stored with the version. So does every
info-item name that many resources carry (统一社会信用代码, 公民身份号码: one word to a user,
several terms to jieba, each of them broad). A search of such a word alone, without filters
and within the first ``TOP`` results, reads the stored answer; anything else (a filter,
another word, a synonym, a later page) runs the query as before.

The answers live in ``catalog_search_broad`` in the same transaction as the index, so they never
describe another index than the one searched; they are replaced whenever the index changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from govdata.catalog.models import (
    BroadTermAnswer,
    CatalogVersion,
    InfoItem,
    Resource,
    ResourceRevision,
)
from govdata.catalog.search import DOCS_TABLE, INDEX_TABLE, run_query
from govdata.catalog.segmentation import QUERY_STOPWORDS, Group, query_terms
from govdata.catalog.versions import CatalogFilter
from govdata.core.errors import InvalidInput

BROAD_SHARE = 0.15  # of the indexed resources: fewer matches are answered within ~50 ms
BROAD_MIN_DOCS = 2000
MAX_TERMS = 64  # the broadest words first: each costs what its query costs, at publishing
TOP = 200  # ten pages of 20


def _indexed(session: Session) -> int:
    table = DOCS_TABLE if session.get_bind().dialect.name == "sqlite" else INDEX_TABLE
    return int(session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608


def broad_terms(session: Session, min_docs: int) -> list[str]:
    """The index's terms found in at least ``min_docs`` resources, the broadest first."""
    if session.get_bind().dialect.name == "sqlite":
        # fts5vocab reads the term statistics FTS5 keeps; a temporary table per connection.
        session.execute(
            text(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.catalog_search_vocab "
                "USING fts5vocab(main, catalog_search, row)"
            )
        )
        rows = session.execute(
            text("SELECT term FROM temp.catalog_search_vocab WHERE doc >= :n ORDER BY doc DESC"),
            {"n": min_docs},
        )
    else:
        rows = session.execute(
            text(
                "SELECT word FROM ts_stat('SELECT document FROM catalog_search') "
                "WHERE ndoc >= :n ORDER BY ndoc DESC"
            ),
            {"n": min_docs},
        )
    return [str(r[0]) for r in rows if r[0] and len(str(r[0])) <= 100]


def _frequent_item_names(session: Session, min_docs: int) -> list[str]:
    """Info-item names carried by at least ``min_docs`` published resources."""
    count = func.count(func.distinct(InfoItem.resource_id))
    stmt = (
        select(InfoItem.name)
        .join(Resource, Resource.id == InfoItem.resource_id)
        .where(Resource.published_revision_id.is_not(None))
        .group_by(InfoItem.name)
        .having(count >= min_docs)
        .order_by(count.desc())
    )
    return list(session.scalars(stmt))


def _key(terms: Sequence[str]) -> str:
    return " ".join(terms)


def refresh(session: Session, progress: Callable[[int, int], None] | None = None) -> int:
    """Compute the broad words' answers for the current version (the index as it is now in
    this transaction); older answers go. The number of words answered; ``progress(done,
    total)`` after each word (publishing shows it as a stage of its own)."""
    session.execute(delete(BroadTermAnswer))
    version_id = session.scalar(
        select(CatalogVersion.id).order_by(CatalogVersion.number.desc()).limit(1)
    )
    if version_id is None:
        return 0
    indexed = _indexed(session)
    min_docs = max(BROAD_MIN_DOCS, int(indexed * BROAD_SHARE))
    if indexed < min_docs:
        return 0
    words = [t for t in broad_terms(session, min_docs) if t not in QUERY_STOPWORDS]
    queries = {_key([t]): [t] for t in words[:MAX_TERMS]}
    for name in _frequent_item_names(session, min_docs):
        try:
            terms = query_terms(name)
        except InvalidInput:
            continue
        if len(_key(terms)) <= 100:
            queries.setdefault(_key(terms), terms)
    for done, (key, terms) in enumerate(queries.items(), start=1):
        facets, hits = run_query(session, [((t,),) for t in terms], None, 0, TOP)
        session.add(
            BroadTermAnswer(
                version_id=version_id,
                term=key,
                total=sum(facets["department_id"].values()),
                facets=facets,
                ranked=[r.id for r in hits],
            )
        )
        if progress is not None:
            progress(done, len(queries))
    session.flush()
    return len(queries)


def answer(
    session: Session,
    version_id: int,
    groups: Sequence[Group],
    flt: CatalogFilter | None,
    offset: int,
    limit: int,
) -> tuple[dict[str, dict[str, int]], list[ResourceRevision]] | None:
    """The stored answer of a broad word searched alone, or None (run the query)."""
    if any(len(g) != 1 or len(g[0]) != 1 for g in groups):
        return None  # a synonym or a phrase alternative: not answered ahead
    if (flt is not None and flt != CatalogFilter()) or offset + limit > TOP:
        return None
    key = _key([g[0][0] for g in groups])
    if len(key) > 100:
        return None
    stored = session.get(BroadTermAnswer, (version_id, key))
    if stored is None:
        return None
    ids = stored.ranked[offset : offset + limit]
    if len(ids) < min(limit, max(stored.total - offset, 0)):
        return None  # fewer stored than the page needs: never a short page
    rows = {
        r.id: r
        for r in session.scalars(select(ResourceRevision).where(ResourceRevision.id.in_(ids)))
    }
    if len(rows) != len(ids):
        return None
    return stored.facets, [rows[i] for i in ids]


__all__ = ["BROAD_MIN_DOCS", "BROAD_SHARE", "TOP", "answer", "broad_terms", "refresh"]
