"""zh-CN pages of the base databases (Art. 16, 17 ¶2, 20, 25(2)) and of repeated collection
(Art. 50(3)) under ``/aggregation/base``.

Handlers translate HTTP to ``aggregation.base`` / ``aggregation.repeated`` and back. A refused
form is shown again with the zh-CN message and what was typed; the unit of work is ended first
(``finish_failed``) so nothing of the refused change is stored. Refusals of permission (403)
and scope (404) go to the error page.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import base, masking, policy
from govdata.aggregation.models import BaseConflict, BaseDatabase, BaseKind, ConflictStatus
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput
from govdata.core.types import MAX_DB_ID, Offset
from govdata.org.models import Department
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter()
PAGE = 50
OPTIONS_PAGE = 50  # resources that may be a base's source, per page
OptionSort = Annotated[str, Query(pattern="^(department|name|code)$")]

FLASHES = {
    "defined": "已建立基础数据库。",
    "lead": "已更换牵头建设部门。",
    "item_added": "已新增基础信息项，并从其权威来源汇聚了数据。",
    "source_set": "已更换权威来源，并重新汇聚了该项数据。",
    "item_removed": "已删除该基础信息项。",
    "built": "已重建基础数据库。",
    "resolved": "已处理该数据冲突。",
    "resolved_many": "已处理所选的数据冲突。",
}
KindText = Annotated[str, Query(max_length=20)]


def _flash(msg: str | None) -> str | None:
    return FLASHES.get(msg or "")


def _refused(session: Session, exc: DomainError) -> str:
    """End the refused unit of work; permission and scope refusals go to the error page."""
    if exc.status in (403, 404):
        raise exc
    finish_failed(session, exc)
    return exc.message


def _kind(value: str) -> BaseKind:
    try:
        return BaseKind(value)
    except ValueError:
        raise InvalidInput(
            "aggregation.base_kind_unknown", f"“{value}”不是基础数据库的种类。"
        ) from None


def _departments(session: Session) -> list[Department]:
    return list(
        session.scalars(select(Department).where(Department.active).order_by(Department.code))
    )


def _ctx(**kw: Any) -> dict[str, Any]:
    return {"BaseKind": BaseKind, "ConflictStatus": ConflictStatus, **kw}


def _lead_names(session: Session, bases: list[BaseDatabase]) -> dict[int, str]:
    ids = {b.lead_department_id for b in bases}
    if not ids:
        return {}
    rows = session.execute(select(Department.id, Department.name).where(Department.id.in_(ids)))
    return {int(i): str(n) for i, n in rows}


# --- overview --------------------------------------------------------------------------------


def _overview(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    msg: str | None = None,
    error: str | None = None,
    v: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    bases = base.list_bases(session, actor)
    defined = {b.kind for b in bases}
    is_bureau = policy.is_bureau(actor)
    return render(
        request,
        "aggregation/base.html",
        _ctx(
            title="基础数据库",
            bases=bases,
            leads=_lead_names(session, bases),
            items={b.id: base.describe_items(session, b) for b in bases},
            undefined=[k for k in BaseKind if k.value not in defined],
            departments=_departments(session) if is_bureau else [],
            can_define=is_bureau,
            open_conflicts=base.count_conflicts(session, actor, ConflictStatus.OPEN),
            flash=_flash(msg),
            error=error,
            v=v or {},
        ),
        status_code=status_code,
    )


@router.get("/base")
def overview(
    request: Request, session: DbSession, actor: CurrentActor, msg: str | None = None
) -> Response:
    return _overview(request, session, actor, msg=msg)


@router.post("/base")
def define_base(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: Annotated[str, Form(max_length=20)] = "",
    lead_department_id: Annotated[str, Form(max_length=12)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    v = {"kind": kind, "lead_department_id": lead_department_id, "name": name}
    try:
        lead = lead_department_id.strip()
        if not (lead.isascii() and lead.isdecimal()) or not 1 <= int(lead) <= MAX_DB_ID:
            raise InvalidInput("aggregation.lead_required", "请选择牵头建设部门。")
        base.define_base(session, actor, _kind(kind), lead_department_id=int(lead), name=name)
    except DomainError as exc:
        message = _refused(session, exc)
        return _overview(request, session, actor, error=message, v=v, status_code=422)
    return RedirectResponse(f"/aggregation/base/{kind}?msg=defined", status_code=303)


@router.get("/base/lookup")
def lookup(
    actor: CurrentActor, kind: KindText = "", key: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    """The overview's lookup form: to the chosen base's record page."""
    target = _kind(kind)
    return RedirectResponse(
        f"/aggregation/base/{target.value}/record?{urlencode({'key': key})}", status_code=303
    )


# --- one base ---------------------------------------------------------------------------------


def _base_page(
    request: Request,
    session: Session,
    actor: Actor,
    kind: BaseKind,
    *,
    msg: str | None = None,
    error: str | None = None,
    v: dict[str, str] | None = None,
    status_code: int = 200,
    q: str = "",
    sort: str = "department",
    offset: int = 0,
    source: str = "",
) -> Response:
    db = base.get_base(session, actor, kind)
    can_manage = policy.can_manage_base(actor, db)
    is_bureau = policy.is_bureau(actor)
    options = (
        base.find_source_options(
            session, actor, kind, q=q, sort=sort, offset=offset, limit=OPTIONS_PAGE
        )
        if can_manage
        else None
    )
    return render(
        request,
        "aggregation/base_detail.html",
        _ctx(
            title=db.name,
            db=db,
            lead=_lead_names(session, [db]).get(db.lead_department_id, ""),
            items=base.describe_items(session, db),
            options=options,
            q=q,
            sort=sort,
            source=source,
            can_manage=can_manage,
            is_bureau=is_bureau,
            departments=_departments(session) if is_bureau else [],
            flash=_flash(msg),
            error=error,
            v=v or {},
        ),
        status_code=status_code,
    )


@router.get("/base/{kind}")
def base_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: BaseKind,
    msg: str | None = None,
    q: Annotated[str, Query(max_length=100)] = "",
    sort: OptionSort = "department",
    offset: Offset = 0,
    source: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """One base: its items and sources; the resources that may be a source, paged and
    searchable (``source`` fills the add form with one of them)."""
    return _base_page(
        request, session, actor, kind, msg=msg, q=q, sort=sort, offset=offset, source=source
    )


def _act(
    request: Request,
    session: Session,
    actor: Actor,
    kind: BaseKind,
    v: dict[str, str],
    done: str,
    action: Any,
) -> Response:
    try:
        action()
    except DomainError as exc:
        message = _refused(session, exc)
        return _base_page(request, session, actor, kind, error=message, v=v, status_code=422)
    return RedirectResponse(f"/aggregation/base/{kind.value}?msg={done}", status_code=303)


@router.post("/base/{kind}/items")
def add_item(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: BaseKind,
    name: Annotated[str, Form(max_length=200)] = "",
    source_resource_code: Annotated[str, Form(max_length=64)] = "",
    source_item: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    v = {"name": name, "source_resource_code": source_resource_code, "source_item": source_item}
    return _act(
        request,
        session,
        actor,
        kind,
        v,
        "item_added",
        lambda: base.add_item(
            session,
            actor,
            kind,
            name=name,
            source_resource_code=source_resource_code,
            source_item=source_item,
        ),
    )


@router.post("/base/{kind}/items/source")
def set_source(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: BaseKind,
    name: Annotated[str, Form(max_length=200)] = "",
    source_resource_code: Annotated[str, Form(max_length=64)] = "",
    source_item: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    v = {"source_name": name, "source_code": source_resource_code, "source_src": source_item}
    return _act(
        request,
        session,
        actor,
        kind,
        v,
        "source_set",
        lambda: base.set_source(
            session,
            actor,
            kind,
            name=name,
            source_resource_code=source_resource_code,
            source_item=source_item,
        ),
    )


@router.post("/base/{kind}/lead")
def set_lead(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: BaseKind,
    lead_department_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    def change() -> None:
        lead = lead_department_id.strip()
        if not (lead.isascii() and lead.isdecimal()) or not 1 <= int(lead) <= MAX_DB_ID:
            raise InvalidInput("aggregation.lead_required", "请选择牵头建设部门。")
        base.set_lead(session, actor, kind, lead_department_id=int(lead))

    return _act(request, session, actor, kind, {}, "lead", change)


# --- a record with its provenance (Art. 16, 25(2)) -------------------------------------------


def _record_page(
    request: Request,
    session: Session,
    actor: Actor,
    kind: BaseKind,
    key: str,
    *,
    reveal_reason: str | None = None,
) -> Response:
    db = base.get_base(session, actor, kind)
    rec = None
    error = None
    reveal_error = None
    status_code = 200
    conflicts: list[BaseConflict] = []
    if key.strip():
        try:
            rec = base.record(session, actor, kind, key, reveal_reason=reveal_reason)
            conflicts = rec.conflicts
        except DomainError as exc:
            if exc.status == 403:
                raise
            status_code = exc.status
            if reveal_reason is not None and exc.code.startswith("aggregation.reveal_"):
                finish_failed(session, exc)
                reveal_error = exc.message
                rec = base.record(session, actor, kind, key)  # shown masked again
                conflicts = rec.conflicts
            else:
                error = exc.message
    return render(
        request,
        "aggregation/base_record.html",
        _ctx(
            title=f"{db.name}主体记录",
            db=db,
            key=key,
            rec=rec,
            mask=masking.mask,
            info=base.describe_conflicts(session, actor, conflicts),
            error=error,
            reveal_error=reveal_error,
        ),
        status_code=status_code,
    )


@router.get("/base/{kind}/record")
def record_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: BaseKind,
    key: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    return _record_page(request, session, actor, kind, key)


@router.post("/base/{kind}/record/reveal")
def reveal_record(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: BaseKind,
    key: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """An auditor sees a record unmasked, having said why (issue 16; audited). Answered with
    the page itself and not stored by the browser."""
    response = _record_page(request, session, actor, kind, key, reveal_reason=reason)
    response.headers["Cache-Control"] = "no-store"
    return response
