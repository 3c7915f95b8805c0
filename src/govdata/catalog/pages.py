"""zh-CN pages of the catalog (Ch. 2): department lists, district compilation, city review,
the published catalog with its versions, responsibility, share and open catalogs, search, import.

Handlers only translate HTTP to the catalog services and back. A form the service refuses is
shown again with the message and everything the user typed; the unit of work is ended first
(``finish_failed``) so that nothing of the refused change is stored.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from govdata.catalog import demands, policy, review, service, updates, versions
from govdata.catalog.models import (
    Demand,
    DemandStatus,
    EntryAction,
    EntryStatus,
    Resource,
    ResourceRevision,
    ResourceState,
    ReviewEntry,
    SubmissionStatus,
)
from govdata.catalog.schemas import ChangeIn, DemandIn, ResourceIn
from govdata.catalog.vocab import (
    Category,
    DataType,
    LabelledEnum,
    OpenType,
    ResourceFormat,
    SecurityLevel,
    ShareType,
    SubjectKind,
    UpdateCycle,
)
from govdata.core.actor import Actor, Role
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from govdata.core.types import MAX_DB_ID, DbId, Offset
from govdata.org import policy as org_policy
from govdata.org import service as org_service
from govdata.org.models import Department, Region
from govdata.web.deps import CurrentActor, DbSession, OptionalActor, form_csrf
from govdata.web.errors import VALIDATION_MESSAGES
from govdata.web.templating import render

router = APIRouter(prefix="/catalog", dependencies=[Depends(form_csrf)], include_in_schema=False)

PAGE_SIZE = 50
BLANK_ITEM_ROWS = 3
MORE_ITEM_ROWS = 5

FLASHES = {
    "created": "已新增到本部门目录清单。",
    "updated": "已保存。",
    "withdrawn": "已撤销该资源；提交清单并经审核发布后，该资源将移出目录。",
    "deleted": "尚未提交过的资源已直接删除。",
    "submitted": "清单已提交。",
    "compiled": "已汇总并报送市数据主管部门。",
    "decided": "已审核该条目。",
    "published": "已发布新版政务数据资源目录。",
    "demand_created": "已新增需求。",
    "demand_updated": "需求已保存。",
    "demand_deleted": "需求已删除。",
    "matched": "已记录匹配资源。",
    "change": "已登记变更，申请更新的期限已开始计算。",
}

# What each metadata key of a revision's snapshot is called on the page.
FIELD_LABELS = {
    "code": "资源代码",
    "name": "资源名称",
    "category": "资源分类",
    "class_path": "项/目/细目",
    "classification_code": "分类代码",
    "department_name": "提供方",
    "department_code": "提供方代码",
    "abstract": "资源摘要",
    "format": "资源格式",
    "format_subtype": "格式细类",
    "share_type": "共享属性",
    "share_conditions": "共享条件",
    "share_method": "共享方式",
    "open_type": "开放属性",
    "open_conditions": "开放条件",
    "legal_basis": "法律法规依据",
    "update_cycle": "更新周期",
    "published_on": "发布日期",
    "related_codes": "关联资源代码",
    "security_level": "安全级别",
    "usage_requirements": "使用要求",
    "subject_kind": "主体类型",
    "withdrawn": "申请撤销",
    "items": "信息项",
}
FACET_LABELS = {"department_id": "提供方", "region_id": "行政区域", **FIELD_LABELS}
ENUMS: dict[str, type[LabelledEnum]] = {
    "category": Category,
    "format": ResourceFormat,
    "share_type": ShareType,
    "open_type": OpenType,
    "update_cycle": UpdateCycle,
    "security_level": SecurityLevel,
    "subject_kind": SubjectKind,
    "data_type": DataType,
}
FILTERS = ("category", "share_type", "open_type", "update_cycle", "format")


def label(key: str, value: Any) -> str:
    """A stored value as the page shows it: enum labels, 是/否, joined lists."""
    if value is None or value == "":
        return "—"
    enum = ENUMS.get(key)
    if enum is not None:
        member = enum.parse(str(value))
        return member.label if member is not None else str(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "items" and isinstance(value, list):
        return "；".join(str(i.get("name", "")) for i in value if isinstance(i, dict))
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    return str(value)


def _page(request: Request, name: str, ctx: dict[str, Any], *, status_code: int = 200) -> Response:
    base: dict[str, Any] = {
        "label": label,
        "FIELD_LABELS": FIELD_LABELS,
        "FACET_LABELS": FACET_LABELS,
        "vocab": {k: list(v) for k, v in ENUMS.items()},
        "review_clock": updates.review_clock,
        "apply_clock": updates.apply_clock,
        "ResourceState": ResourceState,
        "SubmissionStatus": SubmissionStatus,
        "EntryStatus": EntryStatus,
        "EntryAction": EntryAction,
        "DemandStatus": DemandStatus,
        "CHANGE_KINDS": updates.CHANGE_KINDS,
    }
    base.update(ctx)
    return render(request, name, base, status_code=status_code)


def _flash(msg: str | None) -> str | None:
    return FLASHES.get(msg or "")


def _query_without(request: Request, *keys: str) -> str:
    return urlencode({k: v for k, v in request.query_params.items() if k not in keys})


def _refused(session: Session, exc: BaseException) -> str:
    """End the refused unit of work and say what was wrong, in zh-CN."""
    finish_failed(session, exc)
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:5]:
            loc = [str(p) for p in err.get("loc", ())]
            field = loc[0] if loc else ""
            name = FIELD_LABELS.get(field, field)
            if field == "items" and len(loc) > 1:
                name = f"第{int(loc[1]) + 1}行信息项" if loc[1].isdigit() else "信息项"
                if len(loc) > 2:
                    name += {"name": "名称", "data_type": "数据类型", "length": "长度"}.get(
                        loc[2], loc[2]
                    )
            kind = str(err.get("type", ""))
            parts.append(f"{name}（{VALIDATION_MESSAGES.get(kind, '取值无效')}）")
        return f"填写内容不符合要求：{'、'.join(parts)}。"
    raise exc


async def _form(request: Request) -> FormData:
    return await request.form()


FormIn = Annotated[FormData, Depends(_form)]


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _optional_id(value: str, what: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not (value.isascii() and value.isdecimal()) or not 1 <= int(value) <= MAX_DB_ID:
        raise InvalidInput("request.bad_id", f"{what}“{value}”不是有效的编号。")
    return int(value)


def _departments(session: Session, ids: set[int]) -> dict[int, Department]:
    """Department names for labelling: the published catalog names its providers to all."""
    if not ids:
        return {}
    return {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(ids)))}


# --- the department's list editor (Art. 12 ¶1–2) ----------------------------------------------


def _list_departments(actor: Actor) -> list[int]:
    return sorted(actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD))


@router.get("/my")
def my_list(actor: CurrentActor) -> Response:
    ids = _list_departments(actor)
    if not ids:
        raise NotFound("catalog.no_department", "您的账户没有隶属的部门，没有可编辑的目录清单。")
    return RedirectResponse(f"/catalog/departments/{ids[0]}/list", status_code=303)


def _latest_reasons(session: Session, resource_ids: list[int]) -> dict[int, str]:
    """The reason of each returned resource's latest review entry (Art. 12 ¶3)."""
    if not resource_ids:
        return {}
    rows = session.execute(
        select(ReviewEntry.resource_id, ReviewEntry.reason)
        .where(
            ReviewEntry.resource_id.in_(resource_ids),
            ReviewEntry.status == EntryStatus.RETURNED,
        )
        .order_by(ReviewEntry.id)
    )
    return {rid: reason for rid, reason in rows.all() if rid is not None}


def _department_context(session: Session, actor: Actor, department_id: int) -> dict[str, Any]:
    dept = org_service.get_department(session, actor, department_id)
    return {
        "dept": dept,
        "can_edit": policy.can_edit_list(actor, dept.id),
    }


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
    submissions = review.list_submissions(session, actor, department_id=department_id, limit=20)
    ctx.update(
        page=page,
        counts=service.state_counts(session, actor, department_id),
        states=list(ResourceState),
        state=state or "",
        q=q or "",
        reasons=_latest_reasons(session, returned),
        submissions=submissions,
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
        submissions=review.list_submissions(session, actor, department_id=department_id, limit=20),
        open_changes=updates.open_changes(session, actor, department_id),
        base_query="",
        submit_error=message,
        note=note,
        section="list",
    )
    return _page(request, "catalog/department_list.html", ctx, status_code=422)


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
            "security_level": "internal",
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


def _input_of(values: dict[str, str], items: list[dict[str, str]]) -> ResourceIn:
    """The form's text as the service's input; blank item rows are left out."""
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
    return ResourceIn.model_validate(data)


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
    entries = list(
        session.scalars(
            select(ReviewEntry)
            .where(ReviewEntry.resource_id == resource.id)
            .order_by(ReviewEntry.id.desc())
            .limit(20)
        )
    )
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


# --- demand list (Art. 12 ¶2) ------------------------------------------------------------------


def _demand_input(
    title: str, description: str, wanted_items: str, purpose: str, provider: str
) -> DemandIn:
    return DemandIn(
        title=title,
        description=description,
        wanted_items=wanted_items,
        purpose=purpose,
        provider_department_id=_optional_id(provider, "提供方部门"),
    )


def _all_departments(session: Session) -> list[Department]:
    """Every department may be named as a provider of wanted data (Art. 12 ¶2)."""
    return list(
        session.scalars(select(Department).where(Department.active).order_by(Department.code))
    )


def _demands_page(
    request: Request,
    session: Session,
    actor: Actor,
    department_id: int,
    *,
    msg: str | None = None,
    error: str | None = None,
    v: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = _department_context(session, actor, department_id)
    page = demands.list_demands(session, actor, department_id=department_id, limit=200)
    providers = _departments(
        session, {d.provider_department_id for d in page.items if d.provider_department_id}
    )
    matched_ids = [d.matched_resource_id for d in page.items if d.matched_resource_id]
    matched = (
        {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(matched_ids)))}
        if matched_ids
        else {}
    )
    ctx.update(
        demands=page,
        providers=providers,
        matched=matched,
        departments=_all_departments(session),
        error=error,
        v=v or {},
        flash=_flash(msg),
        section="demands",
    )
    return _page(request, "catalog/demands.html", ctx, status_code=status_code)


@router.get("/departments/{department_id}/demands")
def demand_list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    msg: str | None = None,
) -> Response:
    return _demands_page(request, session, actor, department_id, msg=msg)


@router.post("/departments/{department_id}/demands")
def create_demand(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    title: Annotated[str, Form(max_length=400)] = "",
    description: Annotated[str, Form(max_length=8000)] = "",
    wanted_items: Annotated[str, Form(max_length=4000)] = "",
    purpose: Annotated[str, Form(max_length=4000)] = "",
    provider_department_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    v = {
        "title": title,
        "description": description,
        "wanted_items": wanted_items,
        "purpose": purpose,
        "provider_department_id": provider_department_id,
    }
    try:
        data = _demand_input(title, description, wanted_items, purpose, provider_department_id)
        demands.create_demand(session, actor, department_id, data)
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        return _demands_page(
            request, session, actor, department_id, error=message, v=v, status_code=422
        )
    return RedirectResponse(
        f"/catalog/departments/{department_id}/demands?msg=demand_created", status_code=303
    )


@router.get("/demands/{demand_id}")
def demand_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    demand_id: DbId,
    msg: str | None = None,
) -> Response:
    demand = demands.get_demand(session, actor, demand_id)
    return _demand_detail(request, session, actor, demand, flash=_flash(msg))


def _demand_detail(
    request: Request,
    session: Session,
    actor: Actor,
    demand: Demand,
    *,
    flash: str | None = None,
    error: str | None = None,
    v: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    suggestions: list[ResourceRevision] = []
    if demand.status == DemandStatus.ACCEPTED:
        suggestions = demands.suggest_resources(session, actor, demand.id)
    matched = (
        session.get(Resource, demand.matched_resource_id) if demand.matched_resource_id else None
    )
    dept = org_service.get_department(session, actor, demand.department_id)
    values = v or {
        "title": demand.title,
        "description": demand.description,
        "wanted_items": demand.wanted_items,
        "purpose": demand.purpose,
        "provider_department_id": str(demand.provider_department_id or ""),
    }
    return _page(
        request,
        "catalog/demand.html",
        {
            "d": demand,
            "dept": dept,
            "v": values,
            "departments": _all_departments(session),
            "providers": _departments(
                session, {demand.provider_department_id} if demand.provider_department_id else set()
            ),
            "matched": matched,
            "suggestions": suggestions,
            "can_edit": policy.can_edit_list(actor, demand.department_id)
            and demand.status in demands.EDITABLE,
            "can_match": org_policy.is_city_admin(actor) and demand.status == DemandStatus.ACCEPTED,
            "flash": flash,
            "error": error,
            "section": "demands",
        },
        status_code=status_code,
    )


@router.post("/demands/{demand_id}")
def update_demand(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    demand_id: DbId,
    title: Annotated[str, Form(max_length=400)] = "",
    description: Annotated[str, Form(max_length=8000)] = "",
    wanted_items: Annotated[str, Form(max_length=4000)] = "",
    purpose: Annotated[str, Form(max_length=4000)] = "",
    provider_department_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    v = {
        "title": title,
        "description": description,
        "wanted_items": wanted_items,
        "purpose": purpose,
        "provider_department_id": provider_department_id,
    }
    try:
        data = _demand_input(title, description, wanted_items, purpose, provider_department_id)
        demands.update_demand(session, actor, demand_id, data)
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        demand = demands.get_demand(session, actor, demand_id)
        return _demand_detail(request, session, actor, demand, error=message, v=v, status_code=422)
    return RedirectResponse(f"/catalog/demands/{demand_id}?msg=demand_updated", status_code=303)


@router.post("/demands/{demand_id}/delete")
def delete_demand(session: DbSession, actor: CurrentActor, demand_id: DbId) -> Response:
    demand = demands.get_demand(session, actor, demand_id)
    department_id = demand.department_id
    demands.delete_demand(session, actor, demand_id)
    return RedirectResponse(
        f"/catalog/departments/{department_id}/demands?msg=demand_deleted", status_code=303
    )


@router.post("/demands/{demand_id}/match")
def match_demand(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    demand_id: DbId,
    resource_code: Annotated[str, Form(max_length=40)] = "",
    back: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        demands.match_demand(session, actor, demand_id, resource_code.strip() or None)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        demand = demands.get_demand(session, actor, demand_id)
        return _demand_detail(request, session, actor, demand, error=message, status_code=422)
    target = "/catalog/review" if back == "review" else f"/catalog/demands/{demand_id}"
    return RedirectResponse(f"{target}?msg=matched", status_code=303)


# --- change records and the update clocks (Art. 14) --------------------------------------------


def _changes_page(
    request: Request,
    session: Session,
    actor: Actor,
    department_id: int,
    *,
    msg: str | None = None,
    error: str | None = None,
    v: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = _department_context(session, actor, department_id)
    ctx.update(
        changes=updates.list_changes(session, actor, department_id=department_id, limit=200),
        error=error,
        v=v or {"kind": "law"},
        flash=_flash(msg),
        section="changes",
    )
    return _page(request, "catalog/changes.html", ctx, status_code=status_code)


@router.get("/departments/{department_id}/changes")
def change_list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    msg: str | None = None,
) -> Response:
    return _changes_page(request, session, actor, department_id, msg=msg)


@router.post("/departments/{department_id}/changes")
def record_change(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    kind: Annotated[str, Form(max_length=10)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    occurred_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    v = {"kind": kind, "description": description, "occurred_on": occurred_on}
    try:
        data = ChangeIn.model_validate(
            {"kind": kind, "description": description, "occurred_on": occurred_on or None}
        )
        updates.record_change(session, actor, department_id, data)
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        return _changes_page(
            request, session, actor, department_id, error=message, v=v, status_code=422
        )
    return RedirectResponse(
        f"/catalog/departments/{department_id}/changes?msg=change", status_code=303
    )


# --- submissions: district compilation, city review, publishing (Art. 12 ¶1–3, 14 ¶2) ----------


def _require_bureau_or_oversight(actor: Actor) -> None:
    if not (org_policy.sees_everything(actor) or actor.has(Role.DISTRICT_BUREAU_ADMIN)):
        raise PermissionDenied(
            "catalog.review_only", "只有数据主管部门和审计监督人员可以查看目录审核。"
        )


@router.get("/review")
def review_queue(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    offset: Offset = 0,
    msg: str | None = None,
) -> Response:
    _require_bureau_or_oversight(actor)
    city_queue = None
    if org_policy.sees_everything(actor):
        city_queue = review.list_submissions(
            session, actor, status=SubmissionStatus.PENDING_CITY, offset=offset, limit=PAGE_SIZE
        )
    districts = []
    for region_id in sorted(actor.region_ids()):
        region = org_service.get_region(session, actor, region_id)
        pending = review.list_submissions(
            session,
            actor,
            status=SubmissionStatus.PENDING_DISTRICT,
            region_id=region_id,
            limit=200,
        )
        districts.append((region, pending))
    report = updates.overdue(session, actor)
    unmet = demands.list_demands(session, actor, unmet=True, limit=100)
    subs = list(city_queue.items if city_queue else []) + [s for _, p in districts for s in p.items]
    dept_ids = (
        {s.department_id for s in subs}
        | {s.department_id for s in report.reviews}
        | {c.department_id for c in report.changes}
        | {d.department_id for d in unmet.items}
    )
    approved = session.scalar(
        select(ReviewEntry.id)
        .where(ReviewEntry.status == EntryStatus.APPROVED, ReviewEntry.action != EntryAction.DEMAND)
        .limit(1)
    )
    return _page(
        request,
        "catalog/review.html",
        {
            "city_queue": city_queue,
            "districts": districts,
            "report": report,
            "unmet": unmet,
            "depts": org_service.departments_by_id(session, actor, dept_ids),
            "can_publish": org_policy.is_city_admin(actor),
            "has_approved": approved is not None,
            "can_compile": actor.has(Role.DISTRICT_BUREAU_ADMIN),
            "base_query": _query_without(request, "offset", "msg"),
            "flash": _flash(msg),
        },
    )


@router.post("/districts/{region_id}/compile")
def compile_district(
    session: DbSession,
    actor: CurrentActor,
    region_id: DbId,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    review.compile_district(session, actor, region_id, note=note)
    return RedirectResponse("/catalog/review?msg=compiled", status_code=303)


def _modified_fields(
    before: dict[str, Any] | None, after: dict[str, Any]
) -> list[versions.FieldChange]:
    if before is None:
        return []
    return [
        versions.FieldChange(key, before.get(key), after.get(key))
        for key in FIELD_LABELS
        if key != "department_code" and before.get(key) != after.get(key)
    ]


def _submission_page(
    request: Request,
    session: Session,
    actor: Actor,
    submission_id: int,
    *,
    flash: str | None = None,
    errors: dict[int, str] | None = None,
    reasons: dict[int, str] | None = None,
    status_code: int = 200,
) -> Response:
    submission = review.get_submission(session, actor, submission_id)
    entries = list(submission.entries)
    rev_ids = {e.revision_id for e in entries if e.revision_id}
    res_ids = {e.resource_id for e in entries if e.resource_id}
    resources = (
        {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(res_ids)))}
        if res_ids
        else {}
    )
    published_ids = {r.published_revision_id for r in resources.values() if r.published_revision_id}
    wanted = rev_ids | published_ids
    revisions = (
        {
            r.id: r
            for r in session.scalars(
                select(ResourceRevision).where(ResourceRevision.id.in_(wanted))
            )
        }
        if wanted
        else {}
    )
    demand_ids = {e.demand_id for e in entries if e.demand_id}
    demand_rows = (
        {d.id: d for d in session.scalars(select(Demand).where(Demand.id.in_(demand_ids)))}
        if demand_ids
        else {}
    )
    rows = []
    for e in entries:
        revision = revisions.get(e.revision_id) if e.revision_id else None
        resource = resources.get(e.resource_id) if e.resource_id else None
        before = None
        if e.action == EntryAction.MODIFY and resource is not None and revision is not None:
            # Compared with what the catalog carried when the entry was made, if still current.
            published = revisions.get(resource.published_revision_id or 0)
            if published is not None and published.id != revision.id:
                before = published.data
        rows.append(
            {
                "entry": e,
                "revision": revision,
                "resource": resource,
                "demand": demand_rows.get(e.demand_id) if e.demand_id else None,
                "changes": _modified_fields(before, revision.data) if revision else [],
            }
        )
    dept = org_service.get_department(session, actor, submission.department_id)
    region = org_service.get_region(session, actor, submission.region_id)
    return _page(
        request,
        "catalog/submission.html",
        {
            "s": submission,
            "dept": dept,
            "region": region,
            "rows": rows,
            "clock": updates.review_clock(submission),
            "can_decide": org_policy.is_city_admin(actor)
            and submission.status == SubmissionStatus.PENDING_CITY,
            "errors": errors or {},
            "reasons": reasons or {},
            "flash": flash,
        },
        status_code=status_code,
    )


@router.get("/submissions/{submission_id}")
def submission_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    submission_id: DbId,
    msg: str | None = None,
) -> Response:
    org_policy.require_staff(actor)
    return _submission_page(request, session, actor, submission_id, flash=_flash(msg))


@router.post("/entries/{entry_id}/decide")
def decide_entry(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    entry_id: DbId,
    decision: Annotated[str, Form(pattern="^(approve|return)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    entry = review.get_entry(session, actor, entry_id)
    submission_id = entry.submission_id
    try:
        review.decide(session, actor, entry.id, approve=decision == "approve", reason=reason)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        return _submission_page(
            request,
            session,
            actor,
            submission_id,
            errors={entry_id: message},
            reasons={entry_id: reason},
            status_code=exc.status,
        )
    return RedirectResponse(
        f"/catalog/submissions/{submission_id}?msg=decided#entry-{entry_id}", status_code=303
    )


@router.post("/publish")
def publish(
    session: DbSession,
    actor: CurrentActor,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    version = review.publish(session, actor, note=note)
    return RedirectResponse(f"/catalog/versions/{version.number}?msg=published", status_code=303)


# --- the published catalog (Art. 12 ¶3, 13, 26, 32) --------------------------------------------


def _enum_value(enum: type[LabelledEnum], value: str | None, what: str) -> str | None:
    if not value:
        return None
    member = enum.parse(value)
    if member is None:
        raise InvalidInput("request.bad_filter", f"{what}“{value}”不是允许的取值。")
    return member.value


def _catalog_filter(
    department_id: str | None,
    region_id: str | None,
    category: str | None,
    share_type: str | None,
    open_type: str | None,
    update_cycle: str | None,
    format: str | None,
) -> versions.CatalogFilter:
    return versions.CatalogFilter(
        department_id=_optional_id(department_id or "", "部门"),
        region_id=_optional_id(region_id or "", "行政区域"),
        category=_enum_value(Category, category, "资源分类"),
        share_type=_enum_value(ShareType, share_type, "共享属性"),
        open_type=_enum_value(OpenType, open_type, "开放属性"),
        update_cycle=_enum_value(UpdateCycle, update_cycle, "更新周期"),
        format=_enum_value(ResourceFormat, format, "资源格式"),
    )


def catalog_filter(
    department_id: Annotated[str | None, Query(max_length=12)] = None,
    region_id: Annotated[str | None, Query(max_length=12)] = None,
    category: Annotated[str | None, Query(max_length=20)] = None,
    share_type: Annotated[str | None, Query(max_length=20)] = None,
    open_type: Annotated[str | None, Query(max_length=20)] = None,
    update_cycle: Annotated[str | None, Query(max_length=20)] = None,
    format: Annotated[str | None, Query(max_length=20)] = None,
) -> versions.CatalogFilter:
    return _catalog_filter(
        department_id, region_id, category, share_type, open_type, update_cycle, format
    )


Filter = Annotated[versions.CatalogFilter, Depends(catalog_filter)]


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
    actor: Actor | None,
    *,
    kind: str,
    flt: versions.CatalogFilter,
    offset: int,
    title: str,
    action: str,
) -> Response:
    try:
        if kind == "share":
            version, page = versions.share_catalog(session, flt=flt, offset=offset, limit=PAGE_SIZE)
        elif kind == "open":
            version, page = versions.open_catalog(session, flt=flt, offset=offset, limit=PAGE_SIZE)
        else:
            version, page = versions.published(session, flt=flt, offset=offset, limit=PAGE_SIZE)
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


@router.get("")
def published_catalog(
    request: Request, session: DbSession, actor: CurrentActor, flt: Filter, offset: Offset = 0
) -> Response:
    policy.require_read_published(actor)
    return _listing(
        request,
        session,
        actor,
        kind="all",
        flt=flt,
        offset=offset,
        title="政务数据资源目录",
        action="/catalog",
    )


@router.get("/share")
def share_catalog(
    request: Request, session: DbSession, actor: CurrentActor, flt: Filter, offset: Offset = 0
) -> Response:
    policy.require_read_published(actor)
    return _listing(
        request,
        session,
        actor,
        kind="share",
        flt=flt,
        offset=offset,
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
        actor,
        kind="open",
        flt=flt,
        offset=offset,
        title="开放目录",
        action="/catalog/open",
    )


@router.get("/versions")
def version_list(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    policy.require_read_published(actor)
    return _page(request, "catalog/versions.html", {"versions": versions.list_versions(session)})


@router.get("/versions/{number}")
def version_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    number: Annotated[int, Path(ge=1, le=MAX_DB_ID)],
    msg: str | None = None,
) -> Response:
    policy.require_read_published(actor)
    diff = versions.diff(session, number)
    return _page(request, "catalog/version.html", {"diff": diff, "flash": _flash(msg)})


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
        revision = versions.published_revision(session, code, version)
    except NotFound:
        if working is not None:  # not (yet) published: its department sees the working copy
            return RedirectResponse(f"/catalog/working/{working.id}", status_code=303)
        raise
    readable = actor is not None and not actor.is_public and bool(actor.roles)
    if not readable and revision.open_type == OpenType.NONE:
        # Outside the staff, only what the open catalog carries is shown (Art. 32).
        raise NotFound("catalog.resource_not_found", f"未找到代码为 {code} 的政务数据资源。")
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
    policy.require_read_published(actor)
    try:
        counts = versions.responsibility_overview(session)
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
    policy.require_read_published(actor)
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound("org.department_not_found", "未找到该部门。")
    rl = versions.responsibility_list(session, department_id)
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
    policy.require_read_published(actor)
    from govdata.catalog import search

    result = None
    error = None
    status = 200
    if q.strip():
        try:
            result = search.search(session, q.strip(), flt, offset=offset, limit=PAGE_SIZE)
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


# --- import and export (spreadsheets) -----------------------------------------------------------

EXPORT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",  # resources.csv and items.csv, the workbook's two sheets
    "json": "application/json",
}
EXTENSIONS = {"xlsx": "xlsx", "csv": "csv.zip", "json": "json"}


def _download(content: bytes, fmt: str, filename: str) -> Response:
    return Response(
        content,
        media_type=EXPORT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{EXTENSIONS[fmt]}"'},
    )


def _fmt(fmt: str) -> str:
    if fmt not in EXPORT_TYPES:
        raise NotFound("not_found", "不支持该导出格式。")
    return fmt


@router.get("/departments/{department_id}/import")
def import_form(
    request: Request, session: DbSession, actor: CurrentActor, department_id: DbId
) -> Response:
    ctx = _department_context(session, actor, department_id)
    policy.require_edit_list(actor, department_id)
    ctx["section"] = "import"
    return _page(request, "catalog/import.html", ctx)


@router.post("/departments/{department_id}/import")
def import_upload(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    file: Annotated[UploadFile, File()],
) -> Response:
    from govdata.catalog import spreadsheet

    ctx = _department_context(session, actor, department_id)
    ctx["section"] = "import"
    content = file.file.read()
    try:
        result = spreadsheet.import_catalog(session, actor, department_id, content)
    except spreadsheet.ImportRejected as exc:
        finish_failed(session, exc)  # a rejected import stores nothing
        ctx.update(
            problems=exc.problems,
            rejected=exc.message,
            filename=file.filename or "",
            problems_json=json.dumps(
                [[p.sheet, p.row, p.column, p.code, p.message] for p in exc.problems],
                ensure_ascii=False,
            ),
        )
        return _page(request, "catalog/import.html", ctx, status_code=422)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        ctx["rejected"] = _refused(session, exc)
        ctx["problems"] = []
        return _page(request, "catalog/import.html", ctx, status_code=exc.status)
    ctx["result"] = result
    return _page(request, "catalog/import.html", ctx)


@router.post("/import-report")
def import_report(
    actor: CurrentActor,
    problems: Annotated[str, Form(max_length=2_000_000)],
) -> Response:
    from govdata.catalog import spreadsheet

    org_policy.require_staff(actor)
    try:
        rows = json.loads(problems)
        parsed = [
            spreadsheet.ImportProblem(
                sheet=str(r[0]),
                row=int(r[1]),
                column=str(r[2] or ""),
                code=str(r[3]),
                message=str(r[4]),
            )
            for r in rows
        ]
    except (ValueError, TypeError, IndexError, KeyError):
        raise InvalidInput("catalog.bad_report", "问题清单格式有误，请重新导入后下载。") from None
    return _download(spreadsheet.problems_report_xlsx(parsed), "xlsx", "import-problems")


@router.get("/departments/{department_id}/export.{fmt}")
def export_list(session: DbSession, actor: CurrentActor, department_id: DbId, fmt: str) -> Response:
    from govdata.catalog import spreadsheet

    content = spreadsheet.export_list(session, actor, department_id, _fmt(fmt))
    return _download(content, fmt, f"catalog-list-{department_id}")


@router.get("/export.{fmt}")
def export_published(
    session: DbSession,
    actor: CurrentActor,
    fmt: str,
    flt: Filter,
    version: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
) -> Response:
    from govdata.catalog import spreadsheet

    policy.require_read_published(actor)
    content = spreadsheet.export_published(session, _fmt(fmt), number=version, flt=flt)
    return _download(content, fmt, f"catalog-v{version or 'current'}")
