"""JSON API of the portal (Art. 29, 32): ``/api/v1/opendata/datasets`` (search with facets)
and ``/api/v1/opendata/datasets/{code}`` (a dataset's metadata, open items and releases).
Public: the open catalog needs no sign-in (Art. 32); no released row is returned here (rows
are obtained by download or ``datastore_search`` after identity, Art. 33)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import Offset
from govdata.opendata import (
    datasets,
    portal,
    routing,  # noqa: F401 - registers {code:dataset_code}
    search,
)
from govdata.opendata.models import OpenDataset
from govdata.opendata.vocab import DEFAULT_LICENCE, LICENCES
from govdata.web.deps import DbSession, OptionalActor, unit_of_work

router = APIRouter(responses=ERROR_RESPONSES)
Limit = Annotated[int, Query(ge=0, le=200)]
Short = Annotated[str, Query(max_length=64)]


class ItemOut(BaseModel):
    name: str
    data_type: str


class DatasetOut(BaseModel):
    code: str
    name: str
    abstract: str
    department_code: str
    department_name: str
    theme: str
    class_path: str
    open_type: str = Field(description="unconditional 无条件开放 / conditional 有条件开放")
    open_conditions: str
    update_cycle: str
    format: str
    tags: list[str]
    licence_id: str
    licence_title: str
    first_published_at: datetime
    metadata_modified: datetime
    downloads: int
    url: str = Field(description="门户中的数据集页面")

    @classmethod
    def of(cls, d: OpenDataset) -> DatasetOut:
        lic = LICENCES.get(d.licence) or LICENCES[DEFAULT_LICENCE]
        return cls(
            code=d.code,
            name=d.name,
            abstract=d.abstract,
            department_code=d.department_code,
            department_name=d.department_name,
            theme=search.theme_of(d.class_path),
            class_path=d.class_path,
            open_type=d.open_type,
            open_conditions=d.open_conditions,
            update_cycle=d.update_cycle,
            format=d.format,
            tags=list(d.tags or ()),
            licence_id=lic.id,
            licence_title=lic.title,
            first_published_at=d.first_published_at,
            metadata_modified=d.metadata_modified,
            downloads=d.downloads,
            url=f"/open/datasets/{d.code}",
        )


class SearchOut(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[DatasetOut]
    facets: dict[str, dict[str, int]]


class ReleaseOut(BaseModel):
    version: int
    published_at: datetime | None
    rows: int
    current: bool


class DatasetDetailOut(DatasetOut):
    items: list[ItemOut]
    releases: list[ReleaseOut]
    downloads_urls: dict[str, str] = Field(description="下载地址（须身份认证，第三十三条）")


@router.get("/datasets", response_model=SearchOut, summary="检索开放数据集")
@unit_of_work
def search_datasets(
    session: DbSession,
    actor: OptionalActor,
    q: Annotated[str, Query(max_length=100)] = "",
    department: Short = "",
    theme: Short = "",
    format: Short = "",
    open_type: Short = "",
    update_cycle: Short = "",
    sort: Literal["relevance", "newest", "downloads", "name", "oldest"] = "relevance",
    offset: Offset = 0,
    limit: Limit = 20,
) -> SearchOut:
    """Search the open catalog (Art. 32), with facet counts per dimension."""
    flt = search.DatasetFilter(
        department_codes=(department,) if department else (),
        themes=(theme,) if theme else (),
        formats=(format,) if format else (),
        open_types=(open_type,) if open_type else (),
        update_cycles=(update_cycle,) if update_cycle else (),
    )
    order: search.Sort = sort if q.strip() or sort != "relevance" else "newest"
    page = search.search(session, q, flt, sort=order, offset=offset, limit=limit)
    return SearchOut(
        total=page.total,
        offset=page.offset,
        limit=page.limit,
        items=[DatasetOut.of(d) for d in page.hits],
        facets=page.facets,
    )


@router.get(
    "/datasets/{code:dataset_code}", response_model=DatasetDetailOut, summary="开放数据集元数据"
)
@unit_of_work
def dataset_detail(session: DbSession, actor: OptionalActor, code: str) -> DatasetDetailOut:
    """A dataset's metadata, its open items (Art. 30) and its published releases."""
    d = datasets.get_dataset(session, code[:64])
    base = DatasetOut.of(d)
    return DatasetDetailOut(
        **base.model_dump(),
        items=[ItemOut(name=i["name"], data_type=i["data_type"]) for i in d.items],
        releases=[
            ReleaseOut(
                version=r.version,
                published_at=r.published_at,
                rows=r.row_count,
                current=r.id == d.current_release_id,
            )
            for r in portal.history(session, d.id)
        ],
        downloads_urls={f: f"{base.url}/download.{f}" for f in ("csv", "xlsx", "json")},
    )
