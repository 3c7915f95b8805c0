"""The department's list editor (Art. 12 ¶1–2): the list, its submission, each resource's
working copy and form.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from govdata.catalog import inputs, policy, review, service, submissions, updates
from govdata.catalog.models import EntryStatus, Resource, ResourceState
from govdata.catalog.pages.common import (
    FIELD_LABELS,
    PAGE_SIZE,
    FormIn,
    _department_context,
    _flash,
    _optional_id,
    _page,
    _query_without,
    _refused,
    _text,
)
from govdata.catalog.schemas import ResourceIn
from govdata.core.actor import Actor, Role
from govdata.core.errors import DomainError, InvalidInput, NotFound
from govdata.core.types import DbId, Offset
from govdata.org import policy as org_policy
from govdata.org import service as org_service
from govdata.org.models import Department
from govdata.web.deps import CurrentActor, DbSession

router = APIRouter()


# --- the department's list editor (Art. 12 ¶1–2) ----------------------------------------------


def _list_departments(actor: Actor) -> list[int]:
    return sorted(actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD))


@router.get("/my")
def my_list(actor: CurrentActor) -> Response:
    ids = _list_departments(actor)
    if not ids:
        raise NotFound("catalog.no_department", "您的账户没有隶属的部门，没有可编辑的目录清单。")
    return RedirectResponse(f"/catalog/departments/{ids[0]}/list", status_code=303)


@router.get("/departments/{department_id}/list")
def department_list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    state: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    offset: Offset = 0,
    msg: str | None = None,
) -> Response:
    org_policy.require_staff(actor)
    ctx = _department_context(session, actor, department_id)
    wanted = None
    if state:
        try:
            wanted = ResourceState(state)
        except ValueError:
            raise InvalidInput("request.bad_filter", f"未知的资源状态：{state}。") from None
    page = service.list_resources(
        session,
        actor,
        department_id=department_id,
        state=wanted,
        q=q or None,
        offset=offset,
        limit=PAGE_SIZE,
    )
    returned = [r.id for r in page.items if r.state == ResourceState.RETURNED]
    sent = submissions.list_submissions(session, actor, department_id=department_id, limit=20)
    ctx.update(
        page=page,
        counts=service.state_counts(session, actor, department_id),
        states=list(ResourceState),
        state=state or "",
        q=q or "",
        reasons=submissions.return_reasons(session, actor, returned),
        submissions=sent,
        open_changes=updates.open_changes(session, actor, department_id),
        base_query=_query_without(request, "offset", "msg"),
        flash=_flash(msg),
        section="list",
    )
    return _page(request, "catalog/department_list.html", ctx)


@router.post("/departments/{department_id}/submit")
def submit_list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    note: Annotated[str, Form(max_length=2000)] = "",
    change_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    try:
        submission = review.submit(
            session,
            actor,
            department_id,
            note=note,
            change_id=_optional_id(change_id, "变更记录"),
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        return _refused_page(request, session, actor, department_id, message, note)
    return RedirectResponse(f"/catalog/submissions/{submission.id}?msg=submitted", status_code=303)


def _refused_page(
    request: Request,
    session: Session,
    actor: Actor,
    department_id: int,
    message: str,
    note: str,
) -> Response:
    ctx = _department_context(session, actor, department_id)
    ctx.update(
        page=service.list_resources(session, actor, department_id=department_id, limit=PAGE_SIZE),
        counts=service.state_counts(session, actor, department_id),
        states=list(ResourceState),
        state="",
        q="",
        reasons={},
        submissions=submissions.list_submissions(
            session, actor, department_id=department_id, limit=20
        ),
        open_changes=updates.open_changes(session, actor, department_id),
        base_query="",
        submit_error=message,
        note=note,
        section="list",
    )
    return _page(request, "catalog/department_list.html", ctx, status_code=422)


BLANK_ITEM_ROWS = 3
MORE_ITEM_ROWS = 5


# --- a resource's working copy and its form ---------------------------------------------------


def _blank_item() -> dict[str, str]:
    return {
        "name": "",
        "data_type": "C",
        "length": "",
        "share_type": "",
        "open_type": "",
        "key": "",
    }


def _values_of(data: ResourceIn | None) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A resource input as the form's text values (a new resource: the usual defaults)."""
    if data is None:
        values = {
            "category": "department",
            "format": "spreadsheet",
            "share_type": "conditional",
            "open_type": "none",
            "update_cycle": "monthly",
            "security_level": "",  # the city bureau's default (pages.common._page)
        }
        return values, []
    dumped = data.model_dump(mode="json")
    values = {}
    for key, value in dumped.items():
        if key == "items":
            continue
        if key == "related_codes":
            values[key] = "\n".join(value)
        else:
            values[key] = "" if value is None else str(value)
    items = [
        {
            "name": i["name"],
            "data_type": i["data_type"],
            "length": "" if i["length"] is None else str(i["length"]),
            "share_type": i["share_type"] or "",
            "open_type": i["open_type"] or "",
            "key": "on" if i["is_subject_key"] else "",
        }
        for i in dumped["items"]
    ]
    return values, items


def _values_from_form(form: FormData) -> tuple[dict[str, str], list[dict[str, str]]]:
    values = {key: _text(form, key) for key in ResourceIn.model_fields if key not in ("items",)}
    names = form.getlist("item_name")
    types = form.getlist("item_type")
    lengths = form.getlist("item_length")
    shares = form.getlist("item_share")
    opens = form.getlist("item_open")
    keys = {str(k) for k in form.getlist("item_key")}
    items = []
    for n, name in enumerate(names):

        def at(column: list[Any], n: int = n) -> str:
            value = column[n] if n < len(column) else ""
            return value if isinstance(value, str) else ""

        items.append(
            {
                "name": name if isinstance(name, str) else "",
                "data_type": at(types),
                "length": at(lengths),
                "share_type": at(shares),
                "open_type": at(opens),
                "key": "on" if str(n) in keys else "",
            }
        )
    return values, items


# The form's names of an item's fields, for a problem in item row n ("第2行信息项长度").
ITEM_FIELD_LABELS = {
    "name": "名称",
    "data_type": "数据类型",
    "length": "长度",
    "share_type": "共享属性",
    "open_type": "开放属性",
    "is_subject_key": "主体标识",
}


def _where(path: tuple[str | int, ...]) -> str:
    if path and path[0] == "items":
        if len(path) >= 2 and isinstance(path[1], int):
            field = ITEM_FIELD_LABELS.get(str(path[2]), "") if len(path) >= 3 else ""
            return f"第{path[1] + 1}行信息项{field}"
        return "信息项"
    return FIELD_LABELS.get(str(path[0]), str(path[0])) if path else ""


def _refusal(read: inputs.Read) -> InvalidInput:
    """Every problem of the form in one message (the schema's first, then the rules'), each
    also in the detail with its field and code."""
    parts = [f"{_where(e.path)}{e.explain or '取值无效。'}" for e in read.schema]
    parts += [p.message for p in read.problems]
    listed = "；".join(part.rstrip("。") for part in parts)
    detail: list[dict[str, object]] = [
        {"field": ".".join(map(str, e.path)), "code": "catalog.value_invalid", "message": text}
        for e, text in zip(read.schema, parts, strict=False)
    ]
    detail += [
        {"field": p.field, "item": p.item, "code": p.code, "message": p.message}
        for p in read.problems
    ]
    code = read.problems[0].code if read.problems and not read.schema else "catalog.value_invalid"
    return InvalidInput(
        code,
        f"填写内容有 {len(parts)} 处问题：{listed}。",
        detail={"problems": detail},
    )


def _input_of(values: dict[str, str], items: list[dict[str, str]]) -> ResourceIn:
    """The form's text as the service's input; blank item rows are left out. Every problem of
    the form is refused at once: the schema's and the regulation's rules (``inputs``)."""
    data: dict[str, Any] = {k: v for k, v in values.items() if v.strip() != ""}
    data["related_codes"] = [
        c for c in re.split(r"[\s,，、;；]+", values.get("related_codes", "")) if c
    ]
    data["items"] = [
        {
            "name": i["name"],
            "data_type": i["data_type"],
            "length": i["length"].strip() or None,
            "share_type": i["share_type"] or None,
            "open_type": i["open_type"] or None,
            "is_subject_key": i["key"] == "on",
        }
        for i in items
        if i["name"].strip()
    ]
    read = inputs.read(data)
    if read.data is None:
        raise _refusal(read)
    return read.data


def _form_page(
    request: Request,
    *,
    dept: Department,
    resource: Resource | None,
    values: dict[str, str],
    items: list[dict[str, str]],
    extra_rows: int = BLANK_ITEM_ROWS,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    filled = [i for i in items if i["name"].strip()]
    rows = filled + [_blank_item() for _ in range(max(extra_rows, len(items) - len(filled)))]
    return _page(
        request,
        "catalog/resource_form.html",
        {
            "dept": dept,
            "resource": resource,
            "v": values,
            "rows": rows,
            "error": error,
            "action": (
                f"/catalog/working/{resource.id}"
                if resource is not None
                else f"/catalog/departments/{dept.id}/resources"
            ),
        },
        status_code=status_code,
    )


@router.get("/departments/{department_id}/resources/new")
def new_resource_form(
    request: Request, session: DbSession, actor: CurrentActor, department_id: DbId
) -> Response:
    dept = org_service.get_department(session, actor, department_id)
    policy.require_edit_list(actor, dept.id)
    values, items = _values_of(None)
    return _form_page(request, dept=dept, resource=None, values=values, items=items, extra_rows=5)


@router.post("/departments/{department_id}/resources")
def create_resource(
    request: Request, session: DbSession, actor: CurrentActor, department_id: DbId, form: FormIn
) -> Response:
    dept = org_service.get_department(session, actor, department_id)
    policy.require_edit_list(actor, dept.id)
    values, items = _values_from_form(form)
    if _text(form, "more"):
        return _form_page(
            request,
            dept=dept,
            resource=None,
            values=values,
            items=items,
            extra_rows=len([i for i in items if not i["name"].strip()]) + MORE_ITEM_ROWS,
        )
    try:
        resource = service.create_resource(session, actor, dept.id, _input_of(values, items))
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        return _form_page(
            request,
            dept=dept,
            resource=None,
            values=values,
            items=items,
            error=message,
            status_code=422,
        )
    return RedirectResponse(f"/catalog/working/{resource.id}?msg=created", status_code=303)


@router.get("/working/{resource_id}")
def working_copy(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    resource_id: DbId,
    msg: str | None = None,
) -> Response:
    resource = service.get_resource(session, actor, resource_id)
    dept = org_service.get_department(session, actor, resource.department_id)
    entries = submissions.resource_history(session, actor, resource.id)
    return _page(
        request,
        "catalog/working.html",
        {
            "r": resource,
            "dept": dept,
            "data": service.snapshot(resource, dept, resource.classification),
            "entries": entries,
            "returned": next((e for e in entries if e.status == EntryStatus.RETURNED), None)
            if resource.state == ResourceState.RETURNED
            else None,
            "can_edit": policy.can_edit_list(actor, resource.department_id)
            and resource.state in service.EDITABLE_STATES,
            "flash": _flash(msg),
        },
    )


@router.get("/working/{resource_id}/edit")
def edit_resource_form(
    request: Request, session: DbSession, actor: CurrentActor, resource_id: DbId
) -> Response:
    resource = service.get_resource(session, actor, resource_id)
    policy.require_edit_list(actor, resource.department_id)
    dept = org_service.get_department(session, actor, resource.department_id)
    values, items = _values_of(service.as_input(resource))
    return _form_page(request, dept=dept, resource=resource, values=values, items=items)


@router.post("/working/{resource_id}")
def update_resource(
    request: Request, session: DbSession, actor: CurrentActor, resource_id: DbId, form: FormIn
) -> Response:
    resource = service.get_resource(session, actor, resource_id)
    policy.require_edit_list(actor, resource.department_id)
    dept = org_service.get_department(session, actor, resource.department_id)
    values, items = _values_from_form(form)
    if _text(form, "more"):
        return _form_page(
            request,
            dept=dept,
            resource=resource,
            values=values,
            items=items,
            extra_rows=len([i for i in items if not i["name"].strip()]) + MORE_ITEM_ROWS,
        )
    try:
        service.update_resource(session, actor, resource.id, _input_of(values, items))
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        resource = service.get_resource(session, actor, resource_id)
        return _form_page(
            request,
            dept=dept,
            resource=resource,
            values=values,
            items=items,
            error=message,
            status_code=422,
        )
    return RedirectResponse(f"/catalog/working/{resource_id}?msg=updated", status_code=303)


@router.post("/working/{resource_id}/withdraw")
def withdraw_resource(session: DbSession, actor: CurrentActor, resource_id: DbId) -> Response:
    resource = service.get_resource(session, actor, resource_id)
    department_id = resource.department_id
    kept = service.withdraw_resource(session, actor, resource.id)
    if kept is None:
        return RedirectResponse(
            f"/catalog/departments/{department_id}/list?msg=deleted", status_code=303
        )
    return RedirectResponse(f"/catalog/working/{resource_id}?msg=withdrawn", status_code=303)
