"""zh-CN pages of the thematic databases (Art. 17 ¶3, 18, 25(3)) under ``/aggregation/thematic``:
the list with the define form, and one database's definition, rows and refresh.

Handlers translate HTTP to ``aggregation.thematic`` and back. The define form's text lines are
parsed here into ``thematic.ThematicDefinition``, the model the API takes and the database
stores; a refused definition is shown again with the zh-CN message and everything typed, after
the unit of work is ended.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import base, policy, thematic
from govdata.aggregation.errors import ThematicInvalid, ThematicNotFound
from govdata.aggregation.models import BaseKind
from govdata.aggregation.thematic import Filter, ThematicDefinition
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput
from govdata.core.types import MAX_DB_ID, DbId, Offset
from govdata.org.models import Department
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter()
PAGE = 50

FLASHES = {
    "defined": "已建立主题数据库，并在本部门目录清单中登记为主题资源（草稿，随目录清单提交审核）。",
    "refreshed": "已按最新的来源数据更新主题数据库。",
}


def _definable_departments(session: Session, actor: Actor) -> list[Department]:
    """Where the actor may define one (``policy.thematic_departments``)."""
    stmt = select(Department).where(Department.active).order_by(Department.code)
    ids = policy.thematic_departments(actor)
    if ids is not None:
        if not ids:
            return []
        stmt = stmt.where(Department.id.in_(ids))
    return list(session.scalars(stmt))


# --- the define form --------------------------------------------------------------------------

FILTER_SYMBOLS = {
    "=": "eq",
    "==": "eq",
    "!=": "ne",
    "<>": "ne",
    ">": "gt",
    ">=": "ge",
    "<": "lt",
    "<=": "le",
    **{label: op for op, label in thematic.OPERATORS.items()},
    **{op: op for op in thematic.OPERATORS},
}


def parse_form(
    base_kind: str, base_items: list[str], pool_lines: str, filter_lines: str
) -> ThematicDefinition:
    """The define form's text fields as a definition.

    Pool items, one per line: ``资源代码 信息项 [列名]``. Filters, one per line:
    ``列 运算 取值`` where 运算 is a code (``ge``), a symbol (``>=``) or its label (``大于等于``);
    ``属于`` takes comma-separated values and ``不为空`` none.
    """
    pool_items: list[dict[str, Any]] = []
    for n, line in enumerate(pool_lines.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (2, 3):
            raise ThematicInvalid(
                "bad_definition", f"资源池信息项第 {n} 行应为“资源代码 信息项 [列名]”。"
            )
        entry = {"resource_code": parts[0], "item": parts[1]}
        if len(parts) == 3:
            entry["label"] = parts[2]
        pool_items.append(entry)
    filters: list[dict[str, Any]] = []
    for n, line in enumerate(filter_lines.splitlines(), start=1):
        parts = line.split(maxsplit=2)
        if not parts:
            continue
        if len(parts) < 2:
            raise ThematicInvalid("bad_filter", f"筛选条件第 {n} 行应为“列 运算 取值”。")
        op = FILTER_SYMBOLS.get(parts[1])
        if op is None:
            raise ThematicInvalid(
                "bad_operator",
                f"筛选条件第 {n} 行的“{parts[1]}”不是允许的运算；可用："
                + "、".join(thematic.OPERATORS.values())
                + "。",
            )
        value: Any = parts[2].strip() if len(parts) > 2 else None
        if op == "in" and value is not None:
            value = [v.strip() for v in re.split(r"[,，、]", value) if v.strip()]
        if op != "not_null" and value in (None, "", []):
            raise ThematicInvalid("bad_filter_value", f"筛选条件第 {n} 行缺少取值。")
        filters.append({"item": parts[0], "op": op, "value": value})
    return ThematicDefinition.parse(
        {
            "base_kind": base_kind,
            "base_items": [b for b in base_items if b.strip()],
            "pool_items": pool_items,
            "filters": filters,
        }
    )


def definition_text(definition: ThematicDefinition) -> tuple[str, str]:
    """A definition's pool items and filters as the form's text lines."""
    pool_lines = "\n".join(
        " ".join(filter(None, [p.resource_code, p.item, p.label or ""]))
        for p in definition.pool_items
    )
    filter_lines = []
    for f in definition.filters:
        value: Any = f.value
        if isinstance(value, list):
            value = "，".join(str(v) for v in value)
        filter_lines.append(" ".join(str(x) for x in (f.item, f.op, value) if x is not None))
    return pool_lines, "\n".join(filter_lines)


def filter_label(f: Filter) -> str:
    value: Any = f.value
    if isinstance(value, list):
        value = "、".join(str(v) for v in value)
    op = thematic.OPERATORS.get(f.op, f.op)
    return f"{f.item} {op}" + (f" {value}" if value is not None else "")


# --- the pages ------------------------------------------------------------------------------------


def _list_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    msg: str | None = None,
    error: str | None = None,
    v: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    policy.require_thematic_pages(actor)
    dbs = thematic.list_thematic(session, actor)
    dept_ids = {d.department_id for d in dbs}
    names: dict[int, str] = {}
    if dept_ids:
        rows = session.execute(
            select(Department.id, Department.name).where(Department.id.in_(dept_ids))
        )
        names = {int(i): str(n) for i, n in rows}
    departments = _definable_departments(session, actor)
    bases = base.list_bases(session, actor) if departments else []
    return render(
        request,
        "aggregation/thematic.html",
        {
            "title": "主题数据库",
            "dbs": dbs,
            "names": names,
            "departments": departments,
            "bases": bases,
            "base_items": {b.kind: [i.name for i in base.items_of(session, b)] for b in bases},
            "operators": thematic.OPERATORS,
            "flash": FLASHES.get(msg or ""),
            "error": error,
            "v": v or {},
        },
        status_code=status_code,
    )


@router.get("/thematic")
def thematic_list(
    request: Request, session: DbSession, actor: CurrentActor, msg: str | None = None
) -> Response:
    return _list_page(request, session, actor, msg=msg)


@router.post("/thematic")
def define(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: Annotated[str, Form(max_length=12)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    description: Annotated[str, Form(max_length=8000)] = "",
    legal_basis: Annotated[str, Form(max_length=4000)] = "",
    base_kind: Annotated[str, Form(max_length=20)] = "",
    base_items: Annotated[list[str] | None, Form(max_length=100)] = None,
    pool_items: Annotated[str, Form(max_length=20000)] = "",
    filters: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    v: dict[str, Any] = {
        "department_id": department_id,
        "name": name,
        "description": description,
        "legal_basis": legal_basis,
        "base_kind": base_kind,
        "base_items": base_items or [],
        "pool_items": pool_items,
        "filters": filters,
    }
    try:
        dept = department_id.strip()
        if not (dept.isascii() and dept.isdecimal()) or not 1 <= int(dept) <= MAX_DB_ID:
            raise InvalidInput("aggregation.thematic_department_required", "请选择所属部门。")
        definition = parse_form(base_kind, base_items or [], pool_items, filters)
        db = thematic.define(
            session,
            actor,
            int(dept),
            name=name,
            description=description,
            definition=definition,
            legal_basis=legal_basis,
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        finish_failed(session, exc)
        return _list_page(request, session, actor, error=exc.message, v=v, status_code=422)
    return RedirectResponse(f"/aggregation/thematic/{db.id}?msg=defined", status_code=303)


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    thematic_id: int,
    *,
    offset: int = 0,
    msg: str | None = None,
    error: str | None = None,
    revealed: thematic.RevealedThematicRow | None = None,
    reveal_error: str | None = None,
    status_code: int = 200,
) -> Response:
    db = thematic.get_thematic(session, actor, thematic_id)
    page = thematic.rows(session, actor, thematic_id, offset, PAGE)
    spec = ThematicDefinition.parse(db.definition)
    kind = spec.base_kind
    return render(
        request,
        "aggregation/thematic_detail.html",
        {
            "title": db.name,
            "db": db,
            "dept": session.get(Department, db.department_id),
            "base_label": BaseKind(kind).label if kind in {k.value for k in BaseKind} else kind,
            "page": page,
            "filters": [filter_label(f) for f in spec.filters],
            "resource": thematic.registered_resource(session, db),
            "can_refresh": policy.can_define_thematic(actor, db.department_id),
            "offset": offset,
            "page_size": PAGE,
            "flash": FLASHES.get(msg or ""),
            "error": error,
            "revealed": revealed,
            "reveal_error": reveal_error,
        },
        status_code=status_code,
    )


@router.get("/thematic/{thematic_id}")
def thematic_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    thematic_id: DbId,
    offset: Offset = 0,
    msg: str | None = None,
) -> Response:
    return _detail(request, session, actor, thematic_id, offset=offset, msg=msg)


@router.post("/thematic/{thematic_id}/reveal")
def reveal(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    thematic_id: DbId,
    row: Annotated[int, Form(ge=1, le=MAX_DB_ID)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    offset: Annotated[int, Form(ge=0, le=MAX_DB_ID)] = 0,
) -> Response:
    """An auditor sees one row unmasked, having said why (issue 16; audited). The answer is this
    page, not a redirect: the unmasked values are never in a URL or the browser's history."""
    try:
        shown = thematic.reveal_row(session, actor, thematic_id, row, reason)
    except DomainError as exc:
        if exc.status == 403 or isinstance(exc, ThematicNotFound):
            raise
        message = exc.message
        finish_failed(session, exc)
        return _detail(
            request,
            session,
            actor,
            thematic_id,
            offset=offset,
            reveal_error=message,
            status_code=exc.status,
        )
    response = _detail(request, session, actor, thematic_id, offset=offset, revealed=shown)
    response.headers["Cache-Control"] = "no-store"
    return response


def _refresh_page(
    request: Request,
    session: Session,
    actor: Actor,
    thematic_id: int,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    preview = thematic.refresh_preview(session, actor, thematic_id)
    return render(
        request,
        "aggregation/thematic_refresh.html",
        {"title": f"更新{preview.db.name}", "p": preview, "error": error},
        status_code=status_code,
    )


@router.get("/thematic/{thematic_id}/refresh")
def refresh_confirm(
    request: Request, session: DbSession, actor: CurrentActor, thematic_id: DbId
) -> Response:
    """Say what rebuilding it from its sources will do before it is done (issue 16)."""
    return _refresh_page(request, session, actor, thematic_id)


@router.post("/thematic/{thematic_id}/refresh")
def refresh(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    thematic_id: DbId,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if confirm != "yes":  # not from the confirmation page: show what it would do first
        return _refresh_page(request, session, actor, thematic_id)
    try:
        thematic.refresh(session, actor, thematic_id)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = exc.message
        finish_failed(session, exc)
        return _refresh_page(
            request, session, actor, thematic_id, error=message, status_code=exc.status
        )
    return RedirectResponse(f"/aggregation/thematic/{thematic_id}?msg=refreshed", status_code=303)
