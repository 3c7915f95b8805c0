"""The published catalog (Art. 12 ¶3, 13, 26, 32): the full, share and open catalogs, versions
and their diffs, a resource's page, responsibility lists, search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import policy, versions
from govdata.catalog.models import CatalogVersion, Resource, ResourceRevision
from govdata.catalog.pages.common import (
    PAGE_SIZE,
    Filter,
    _departments,
    _flash,
    _page,
    _query_without,
)
from govdata.core.db import finish_failed
from govdata.core.errors import InvalidInput, NotFound
from govdata.core.pagination import Page
from govdata.core.types import MAX_DB_ID, DbId, Offset
from govdata.org.models import Department, Region
from govdata.web.deps import CurrentActor, DbSession, OptionalActor

router = APIRouter()


# --- the published catalog (Art. 12 ¶3, 13, 26, 32) --------------------------------------------


def _filter_choices(session: Session, version_id: int | None) -> dict[str, Any]:
    """The departments and regions the filter offers: those with resources in the version."""
    if version_id is None:
        return {"departments": [], "regions": []}
    dept_ids = set(versions.facet_counts(session, version_id, "department_id"))
    region_ids = set(versions.facet_counts(session, version_id, "region_id"))
    depts = sorted(_departments(session, {int(i) for i in dept_ids}).values(), key=lambda d: d.code)
    regions = (
        list(
            session.scalars(
                select(Region)
                .where(Region.id.in_({int(i) for i in region_ids}))
                .order_by(Region.id)
            )
        )
        if region_ids
        else []
    )
    return {"departments": depts, "regions": regions}


def _listing(
    request: Request,
    session: Session,
    load: Callable[[], tuple[CatalogVersion, Page[ResourceRevision]]],
    *,
    kind: str,
    flt: versions.CatalogFilter,
    title: str,
    action: str,
) -> Response:
    try:
        version, page = load()
    except NotFound as exc:
        if exc.code != "catalog.no_published_version":
            raise
        version, page = None, None
    return _page(
        request,
        "catalog/catalog.html",
        {
            "title": title,
            "kind": kind,
            "action": action,
            "version": version,
            "page": page,
            "f": flt,
            "choices": _filter_choices(session, version.id if version else None),
            "base_query": _query_without(request, "offset"),
            "filter_query": _query_without(request, "offset", "fmt"),
        },
    )


# Registered as "/catalog" by the package: FastAPI refuses an empty path on an unprefixed router.
def published_catalog(
    request: Request, session: DbSession, actor: CurrentActor, flt: Filter, offset: Offset = 0
) -> Response:
    return _listing(
        request,
        session,
        lambda: versions.published(session, actor, flt=flt, offset=offset, limit=PAGE_SIZE),
        kind="all",
        flt=flt,
        title="政务数据资源目录",
        action="/catalog",
    )


@router.get("/share")
def share_catalog(
    request: Request, session: DbSession, actor: CurrentActor, flt: Filter, offset: Offset = 0
) -> Response:
    return _listing(
        request,
        session,
        lambda: versions.share_catalog(session, actor, flt=flt, offset=offset, limit=PAGE_SIZE),
        kind="share",
        flt=flt,
        title="共享目录",
        action="/catalog/share",
    )


@router.get("/open")
def open_catalog(
    request: Request, session: DbSession, actor: OptionalActor, flt: Filter, offset: Offset = 0
) -> Response:
    # Art. 32: the open catalog is for the public, signed in or not.
    return _listing(
        request,
        session,
        lambda: versions.open_catalog(session, flt=flt, offset=offset, limit=PAGE_SIZE),
        kind="open",
        flt=flt,
        title="开放目录",
        action="/catalog/open",
    )


@router.get("/versions")
def version_list(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    return _page(
        request, "catalog/versions.html", {"versions": versions.list_versions(session, actor)}
    )


VersionNumber = Annotated[int, Query(ge=1, le=MAX_DB_ID)]


@router.get("/versions/compare")
def compare_versions(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    old: VersionNumber,
    new: VersionNumber,
) -> Response:
    """Any two versions side by side, not only consecutive ones (Art. 12 ¶3)."""
    diff = versions.compare(session, actor, old, new)
    return _page(
        request,
        "catalog/compare.html",
        {"diff": diff, "numbers": versions.version_numbers(session, actor)},
    )


@router.get("/versions/{number}")
def version_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    number: Annotated[int, Path(ge=1, le=MAX_DB_ID)],
    msg: str | None = None,
) -> Response:
    diff = versions.diff(session, actor, number)
    return _page(
        request,
        "catalog/version.html",
        {
            "diff": diff,
            "numbers": versions.version_numbers(session, actor),
            "flash": _flash(msg),
        },
    )


@router.get("/resources/{code:path}")
def published_resource(
    request: Request,
    session: DbSession,
    actor: OptionalActor,
    code: Annotated[str, Path(max_length=40)],
    version: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
) -> Response:
    working = None
    if actor is not None and not actor.is_public and actor.roles:
        working = session.scalar(policy.visible_resources(actor).where(Resource.code == code))
    try:
        revision = versions.public_revision(session, actor, code, version)
    except NotFound:
        if working is not None:  # not (yet) published: its department sees the working copy
            return RedirectResponse(f"/catalog/working/{working.id}", status_code=303)
        raise
    show_working = (
        actor is not None
        and working is not None
        and (
            working.department_id in actor.department_ids()
            or policy.can_edit_list(actor, working.department_id)
        )
    )
    return _page(
        request,
        "catalog/resource.html",
        {
            "rev": revision,
            "data": revision.data,
            "version_number": version,
            "working": working if show_working else None,
        },
    )


@router.get("/responsibility")
def responsibility_overview(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    try:
        counts = versions.responsibility_overview(session, actor)
        number: int | None = versions.get_version(session).number
    except NotFound:
        counts, number = {}, None
    depts = _departments(session, set(counts))
    rows = sorted(((depts[i], n) for i, n in counts.items() if i in depts), key=lambda x: x[0].code)
    return _page(request, "catalog/responsibility.html", {"rows": rows, "version_number": number})


@router.get("/responsibility/{department_id}")
def responsibility_list(
    request: Request, session: DbSession, actor: CurrentActor, department_id: DbId
) -> Response:
    rl = versions.responsibility_list(session, actor, department_id)
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound("org.department_not_found", "未找到该部门。")
    return _page(request, "catalog/responsibility_list.html", {"dept": dept, "rl": rl})


# --- search -------------------------------------------------------------------------------------


@router.get("/search")
def search_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    flt: Filter,
    q: Annotated[str, Query(max_length=100)] = "",
    offset: Offset = 0,
) -> Response:
    # The empty form reaches no service; the page itself is for readers of the catalog.
    policy.require_read_published(actor)
    from govdata.catalog import search

    result = None
    error = None
    status = 200
    if q.strip():
        try:
            result = search.search(session, actor, q.strip(), flt, offset=offset, limit=PAGE_SIZE)
        except (InvalidInput, NotFound) as exc:
            finish_failed(session, exc)
            # Before the first version there is nothing to search: a notice, not an error page.
            no_version = exc.code == "catalog.no_published_version"
            error, status = exc.message, 200 if no_version else exc.status
    version_id = result.version.id if result else None
    if version_id is None:
        try:
            version_id = versions.get_version(session).id
        except NotFound:
            version_id = None
    choices = _filter_choices(session, version_id)
    names = {
        "department_id": {str(d.id): d.name for d in choices["departments"]},
        "region_id": {str(r.id): r.name for r in choices["regions"]},
    }
    return _page(
        request,
        "catalog/search.html",
        {
            "q": q,
            "result": result,
            "error": error,
            "f": flt,
            "choices": choices,
            "names": names,
            "base_query": _query_without(request, "offset"),
            "offset": offset,
            "limit": PAGE_SIZE,
        },
        status_code=status,
    )
