"""DCAT documents of the open catalog (issue 14 §8; Art. 32): ``/catalog.ttl|.jsonld|.rdf``
(paged: ``?page=``) and ``/open/datasets/{code}.ttl|.jsonld|.rdf``. Public, like the catalog
they describe. Thin: ``opendata.dcat`` builds the graphs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from govdata.core.schemas import ERROR_RESPONSES
from govdata.opendata import dcat
from govdata.web.deps import DbSession, unit_of_work

router = APIRouter(tags=["dcat"], responses=ERROR_RESPONSES)

Page = Annotated[int, Query(ge=1, description="页码，从 1 开始")]


def _answers(media_type: str) -> dict[int | str, dict[str, Any]]:
    """The document's media type in OpenAPI (clients and schemathesis read it there)."""
    return {
        200: {"description": "DCAT-AP 文档", "content": {media_type: {}}},
        404: {"description": "开放目录中没有该数据集或该页", "content": {"application/json": {}}},
    }


def _base(request: Request) -> str:
    return str(request.base_url)


def _catalog(request: Request, session: DbSession, fmt: dcat.Format, page: int) -> Response:
    g = dcat.catalog_graph(session, _base(request), fmt, page=page)
    data, media_type = dcat.serialize(g, fmt)
    return Response(data, media_type=media_type)


def _dataset(request: Request, session: DbSession, code: str, fmt: dcat.Format) -> Response:
    data, media_type = dcat.serialize(dcat.dataset_graph(session, _base(request), code), fmt)
    return Response(data, media_type=media_type)


@router.get(
    "/catalog.ttl",
    summary="开放目录（DCAT，Turtle）",
    responses=_answers("text/turtle"),
)
@unit_of_work
def catalog_ttl(request: Request, session: DbSession, page: Page = 1) -> Response:
    return _catalog(request, session, "ttl", page)


@router.get(
    "/catalog.jsonld",
    summary="开放目录（DCAT，JSON-LD）",
    responses=_answers("application/ld+json"),
)
@unit_of_work
def catalog_jsonld(request: Request, session: DbSession, page: Page = 1) -> Response:
    return _catalog(request, session, "jsonld", page)


@router.get(
    "/catalog.rdf",
    summary="开放目录（DCAT，RDF/XML）",
    responses=_answers("application/rdf+xml"),
)
@unit_of_work
def catalog_rdf(request: Request, session: DbSession, page: Page = 1) -> Response:
    return _catalog(request, session, "rdf", page)


@router.get(
    "/open/datasets/{code:path}.ttl",
    summary="开放数据集（DCAT，Turtle）",
    responses=_answers("text/turtle"),
)
@unit_of_work
def dataset_ttl(request: Request, session: DbSession, code: str) -> Response:
    return _dataset(request, session, code, "ttl")


@router.get(
    "/open/datasets/{code:path}.jsonld",
    summary="开放数据集（DCAT，JSON-LD）",
    responses=_answers("application/ld+json"),
)
@unit_of_work
def dataset_jsonld(request: Request, session: DbSession, code: str) -> Response:
    return _dataset(request, session, code, "jsonld")


@router.get(
    "/open/datasets/{code:path}.rdf",
    summary="开放数据集（DCAT，RDF/XML）",
    responses=_answers("application/rdf+xml"),
)
@unit_of_work
def dataset_rdf(request: Request, session: DbSession, code: str) -> Response:
    return _dataset(request, session, code, "rdf")
