"""Finding open datasets (Art. 32): the portal's search and CKAN's ``package_search``.

A query is plain text, segmented with the catalog search's jieba (``catalog.search``): every
term must occur among a dataset's tokens (name, abstract, items, department, tags). Filters are
exact; facets count the matching set per dimension (department, theme, format, open type,
update cycle, tags). Sorting: newest (metadata modified), most downloaded, name, or, with a
query, relevance (terms in the name first).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from govdata.catalog.search import query_terms
from govdata.opendata.datasets import ensure_synced
from govdata.opendata.models import OpenDataset

Sort = Literal["relevance", "newest", "downloads", "name", "oldest"]
SORTS: tuple[Sort, ...] = ("relevance", "newest", "downloads", "name", "oldest")
MAX_ROWS = 1000
FACETS = ("department", "theme", "format", "open_type", "update_cycle", "tags")


@dataclass(frozen=True)
class DatasetFilter:
    department_ids: tuple[int, ...] = ()
    department_codes: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()  # the first part of the class path
    formats: tuple[str, ...] = ()
    open_types: tuple[str, ...] = ()
    update_cycles: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    modified_from: datetime | None = None
    modified_until: datetime | None = None
    codes: tuple[str, ...] = ()


@dataclass
class DatasetPage:
    total: int
    hits: list[OpenDataset]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    department_names: dict[str, str] = field(default_factory=dict)  # facet key → name
    offset: int = 0
    limit: int = 20


def theme_of(class_path: str) -> str:
    first = class_path.replace("＞", "/").replace(">", "/").split("/")[0].strip()
    return first or "未分类"


def _tokens_match(term: str) -> ColumnElement[bool]:
    # search_text is space-joined tokens: a term matches a whole token or a token's part.
    return OpenDataset.search_text.contains(term, autoescape=True)


def _conditions(terms: list[str], flt: DatasetFilter) -> list[ColumnElement[bool]]:
    d = OpenDataset
    conds: list[ColumnElement[bool]] = [d.withdrawn.is_(False)]
    conds += [_tokens_match(t) for t in terms]
    if flt.department_ids:
        conds.append(d.department_id.in_(flt.department_ids))
    if flt.department_codes:
        conds.append(d.department_code.in_(flt.department_codes))
    if flt.formats:
        conds.append(d.format.in_(flt.formats))
    if flt.open_types:
        conds.append(d.open_type.in_(flt.open_types))
    if flt.update_cycles:
        conds.append(d.update_cycle.in_(flt.update_cycles))
    if flt.codes:
        conds.append(d.code.in_(flt.codes))
    if flt.modified_from is not None:
        conds.append(d.metadata_modified >= flt.modified_from)
    if flt.modified_until is not None:
        conds.append(d.metadata_modified <= flt.modified_until)
    return conds


def _post_filter(row: Any, flt: DatasetFilter) -> bool:
    """Filters on values derived in Python (theme, tags): applied to the narrow rows."""
    if flt.themes and theme_of(row.class_path) not in flt.themes:
        return False
    return not (flt.tags and not set(flt.tags) & set(row.tags or ()))


def _order(stmt: Select[Any], sort: Sort, terms: list[str]) -> Select[Any]:
    d = OpenDataset
    if sort == "relevance" and terms:
        in_name = sum(
            (case((d.name.contains(t, autoescape=True), 1), else_=0) for t in terms),
            start=case((d.id > 0, 0), else_=0),
        )
        return stmt.order_by(in_name.desc(), d.downloads.desc(), d.code)
    if sort == "downloads":
        return stmt.order_by(d.downloads.desc(), d.code)
    if sort == "name":
        return stmt.order_by(d.name, d.code)
    if sort == "oldest":
        return stmt.order_by(d.metadata_modified, d.code)
    return stmt.order_by(d.metadata_modified.desc(), d.code)


def search(
    session: Session,
    q: str = "",
    flt: DatasetFilter | None = None,
    *,
    sort: Sort = "relevance",
    offset: int = 0,
    limit: int = 20,
    facets: bool = True,
) -> DatasetPage:
    """Open datasets matching ``q`` and ``flt``; a page of them with facet counts.

    Browsing needs no sign-in (Art. 32): nothing here is personal; withdrawn datasets never
    appear."""
    ensure_synced(session)
    flt = flt or DatasetFilter()
    terms = query_terms(q) if q.strip() else []
    offset = max(offset, 0)
    limit = min(max(limit, 0), MAX_ROWS)
    d = OpenDataset
    where = and_(*_conditions(terms, flt))
    narrow = select(
        d.id,
        d.department_code,
        d.department_name,
        d.class_path,
        d.format,
        d.open_type,
        d.update_cycle,
        d.tags,
    ).where(where)
    derived = bool(flt.themes or flt.tags)
    counts: dict[str, Counter[str]] = {f: Counter() for f in FACETS}
    names: dict[str, str] = {}
    ids: list[int] = []
    if facets or derived:
        for row in session.execute(narrow):
            if derived and not _post_filter(row, flt):
                continue
            ids.append(row.id)
            counts["department"][row.department_code] += 1
            names[row.department_code] = row.department_name
            counts["theme"][theme_of(row.class_path)] += 1
            if row.format:
                counts["format"][row.format] += 1
            counts["open_type"][row.open_type] += 1
            counts["update_cycle"][row.update_cycle] += 1
            for tag in row.tags or ():
                counts["tags"][tag] += 1
        total = len(ids)
    else:
        total = int(session.scalar(select(func.count()).select_from(d).where(where)) or 0)
    page = select(d).where(where)
    if derived:
        page = page.where(d.id.in_(ids))
    hits = list(session.scalars(_order(page, sort, terms).offset(offset).limit(limit)))
    return DatasetPage(
        total=total,
        hits=hits,
        facets={k: dict(v.most_common()) for k, v in counts.items()} if facets else {},
        department_names=names,
        offset=offset,
        limit=limit,
    )
