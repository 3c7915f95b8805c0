"""A base's full rebuild and removing one of its items, each confirmed on a page of its own that
says what it will do, with counts (issue 16; the pattern of the catalog's publishing): the GET,
or a POST that does not carry ``confirm=yes``, shows the page and changes nothing."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from govdata.aggregation import base
from govdata.aggregation.models import BaseKind
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter()
Confirm = Annotated[str, Form(max_length=10)]


def _build_page(
    request: Request,
    session: Session,
    actor: Actor,
    kind: BaseKind,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    preview = base.build_preview(session, actor, kind)
    return render(
        request,
        "aggregation/base_build.html",
        {"title": f"全量重建{preview.base.name}", "p": preview, "error": error},
        status_code=status_code,
    )


@router.get("/base/{kind}/build")
def build_confirm(
    request: Request, session: DbSession, actor: CurrentActor, kind: BaseKind
) -> Response:
    """Say what the rebuild will do before it is done."""
    return _build_page(request, session, actor, kind)


@router.post("/base/{kind}/build")
def build(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: BaseKind,
    confirm: Confirm = "",
) -> Response:
    if confirm != "yes":  # not from the confirmation page: show what it would do first
        return _build_page(request, session, actor, kind)
    try:
        base.build(session, actor, kind)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = exc.message
        finish_failed(session, exc)
        return _build_page(request, session, actor, kind, error=message, status_code=exc.status)
    return RedirectResponse(f"/aggregation/base/{kind.value}?msg=built", status_code=303)


def _remove_page(
    request: Request,
    session: Session,
    actor: Actor,
    kind: BaseKind,
    name: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    preview = base.remove_item_preview(session, actor, kind, name)
    return render(
        request,
        "aggregation/base_remove_item.html",
        {"title": f"删除基础信息项“{preview.item.item.name}”", "p": preview, "error": error},
        status_code=status_code,
    )


@router.get("/base/{kind}/items/remove")
def remove_confirm(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: BaseKind,
    name: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    return _remove_page(request, session, actor, kind, name)


@router.post("/base/{kind}/items/remove")
def remove_item(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: BaseKind,
    name: Annotated[str, Form(max_length=200)] = "",
    confirm: Confirm = "",
) -> Response:
    if confirm != "yes":
        return _remove_page(request, session, actor, kind, name)
    try:
        base.remove_item(session, actor, kind, name=name)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = exc.message
        finish_failed(session, exc)
        return _remove_page(
            request, session, actor, kind, name, error=message, status_code=exc.status
        )
    query = urlencode({"msg": "item_removed"})
    return RedirectResponse(f"/aggregation/base/{kind.value}?{query}", status_code=303)
