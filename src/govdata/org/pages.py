"""zh-CN pages of the org domain: regions, departments, people, roles, API tokens."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from govdata.core.actor import Role
from govdata.core.errors import InvalidInput, NotFound, PermissionDenied
from govdata.core.types import MAX_DB_ID, DbId, Offset
from govdata.org import auth, policy, service
from govdata.org.models import Person
from govdata.org.schemas import GrantIn, PersonCreate, PersonUpdate, TokenCreate
from govdata.web.deps import CurrentActor, DbSession, form_csrf
from govdata.web.templating import render

router = APIRouter(prefix="/org", dependencies=[Depends(form_csrf)], include_in_schema=False)

FLASHES = {
    "created": "已创建。",
    "updated": "已保存。",
    "granted": "已授予角色。",
    "revoked": "已撤销角色。",
    "unlocked": "已解除锁定。",
    "password": "密码已重置，该账户的登录会话已全部结束。",
    "token_revoked": "令牌已吊销。",
}


def _flash(msg: str | None) -> str | None:
    return FLASHES.get(msg or "")


@router.get("/regions")
def regions(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    policy.require_staff(actor)
    return render(request, "org/regions.html", {"regions": service.list_regions(session, actor)})


@router.get("/regions/{region_id}")
def region(request: Request, session: DbSession, actor: CurrentActor, region_id: DbId) -> Response:
    policy.require_staff(actor)
    reg = service.get_region(session, actor, region_id)
    depts = service.list_departments(session, actor, region_id=reg.id, limit=200)
    return render(request, "org/region.html", {"region": reg, "departments": depts})


@router.get("/departments")
def departments(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    region_id: DbId | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    offset: Offset = 0,
) -> Response:
    policy.require_staff(actor)
    page = service.list_departments(
        session, actor, region_id=region_id, q=q or None, offset=offset, limit=50
    )
    regions = {r.id: r for r in service.list_regions(session, actor)}
    params = urlencode({k: v for k, v in request.query_params.items() if k != "offset"})
    return render(
        request,
        "org/departments.html",
        {
            "page": page,
            "regions": regions,
            "q": q or "",
            "region_id": region_id,
            "base_query": params,
        },
    )


@router.get("/my-department")
def my_department(actor: CurrentActor) -> Response:
    ids = sorted(actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD))
    if not ids:
        raise NotFound("org.no_department", "您的账户没有隶属的部门。")
    return RedirectResponse(f"/org/departments/{ids[0]}", status_code=303)


@router.get("/departments/{department_id}")
def department(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    msg: str | None = None,
) -> Response:
    dept = service.get_department(session, actor, department_id)
    region = service.get_region(session, actor, dept.region_id)
    people = service.list_people(session, actor, department_id=dept.id, limit=200)
    return render(
        request,
        "org/department.html",
        {
            "dept": dept,
            "region": region,
            "people": people,
            "can_manage": policy.can_manage_department_people(actor, dept),
            "can_tokens": policy.can_manage_tokens(actor, dept.id),
            "flash": _flash(msg),
        },
    )


@router.get("/people")
def people(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    q: Annotated[str | None, Query(max_length=100)] = None,
    department_id: DbId | None = None,
    locked: bool = False,
    offset: Offset = 0,
) -> Response:
    page = service.list_people(
        session,
        actor,
        department_id=department_id,
        q=q or None,
        locked=locked,
        offset=offset,
        limit=50,
    )
    ids = {p.department_id for p in page.items if p.department_id is not None}
    dept_names = {i: d.name for i, d in service.departments_by_id(session, actor, ids).items()}
    params = urlencode({k: v for k, v in request.query_params.items() if k != "offset"})
    return render(
        request,
        "org/people.html",
        {
            "page": page,
            "q": q or "",
            "dept_names": dept_names,
            "base_query": params,
            "can_create": bool(policy.grantable_roles(actor)),
        },
    )


def _person_context(session: DbSession, actor: CurrentActor, person: Person) -> dict[str, object]:
    dept = (
        service.get_department(session, actor, person.department_id)
        if person.department_id
        else None
    )
    can_manage = (
        policy.is_city_admin(actor)
        if dept is None
        else policy.can_manage_department_people(actor, dept)
    )
    grants = service.grants_of(session, person.id)
    regions = service.list_regions(session, actor)
    return {
        "person": person,
        "dept": dept,
        "grants": grants,
        # A grant's scope by name, not by number.
        "grant_depts": service.departments_by_id(
            session, actor, {g.department_id for g in grants if g.department_id}
        ),
        "region_names": {r.id: r.name for r in regions},
        "roles": sorted(policy.grantable_roles(actor)),
        "regions": regions,
        "can_manage": can_manage,
        "Role": Role,
    }


@router.get("/people/new")
def new_person_form(
    request: Request, session: DbSession, actor: CurrentActor, department_id: DbId | None = None
) -> Response:
    policy.require_staff(actor)
    roles = policy.grantable_roles(actor)
    if not roles:  # the form only for those who may submit it (issue 16)
        raise PermissionDenied("org.cannot_manage_people", "您无权新建人员账户。")
    depts = service.manageable_departments(session, actor)
    return render(
        request,
        "org/person_new.html",
        {
            "departments": depts,
            "department_id": department_id,
            "roles": sorted(roles),
            "is_city_admin": policy.is_city_admin(actor),
        },
    )


@router.post("/people")
def create_person(
    session: DbSession,
    actor: CurrentActor,
    username: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    department_id: Annotated[str, Form(max_length=12)] = "",
    kind: Annotated[str, Form(max_length=10)] = "staff",
    role: Annotated[str, Form(max_length=32)] = "",
    region_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    dept_id = _optional_id(department_id, "所属部门")
    grants = []
    if role:
        grants.append(_grant_from_form(role, region_id, dept_id))
    person = service.create_person(
        session,
        actor,
        PersonCreate(
            username=username.strip().lower(),
            name=name,
            password=password,
            department_id=dept_id,
            kind=kind,
            grants=grants,
        ),
    )
    return RedirectResponse(f"/org/people/{person.id}?msg=created", status_code=303)


def _optional_id(value: str, label: str) -> int | None:
    """A form's id field: blank means none; anything but an ASCII number is refused."""
    value = value.strip()
    if not value:
        return None
    if not (value.isascii() and value.isdecimal()) or not 1 <= int(value) <= MAX_DB_ID:
        raise InvalidInput("request.bad_id", f"{label}“{value}”不是有效的编号。")
    return int(value)


def _grant_from_form(role: str, region_id: str, department_id: DbId | None) -> GrantIn:
    try:
        r = Role(role)
    except ValueError:
        raise InvalidInput("org.unknown_role", f"未知角色：{role}。") from None
    return GrantIn(
        role=r,
        region_id=_optional_id(region_id, "行政区域") if r.scope == "region" else None,
        department_id=department_id if r.scope == "department" else None,
    )


@router.get("/people/{person_id}")
def person(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    person_id: DbId,
    msg: str | None = None,
) -> Response:
    p = service.get_person(session, actor, person_id)
    ctx = _person_context(session, actor, p)
    ctx["flash"] = _flash(msg)
    return render(request, "org/person.html", ctx)


@router.post("/people/{person_id}")
def update_person(
    session: DbSession,
    actor: CurrentActor,
    person_id: DbId,
    name: Annotated[str, Form(max_length=64)],
    phone: Annotated[str, Form(max_length=20)] = "",
    email: Annotated[str, Form(max_length=120)] = "",
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    service.update_person(
        session,
        actor,
        person_id,
        PersonUpdate(name=name, phone=phone or None, email=email or None, active=active == "on"),
    )
    return RedirectResponse(f"/org/people/{person_id}?msg=updated", status_code=303)


@router.post("/people/{person_id}/grants")
def grant(
    session: DbSession,
    actor: CurrentActor,
    person_id: DbId,
    role: Annotated[str, Form(max_length=32)],
    region_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    p = service.get_person(session, actor, person_id)
    service.grant_role(session, actor, p.id, _grant_from_form(role, region_id, p.department_id))
    return RedirectResponse(f"/org/people/{person_id}?msg=granted", status_code=303)


@router.post("/people/{person_id}/grants/{grant_id}/revoke")
def revoke(session: DbSession, actor: CurrentActor, person_id: DbId, grant_id: DbId) -> Response:
    service.revoke_role(session, actor, person_id, grant_id)
    return RedirectResponse(f"/org/people/{person_id}?msg=revoked", status_code=303)


@router.post("/people/{person_id}/unlock")
def unlock(session: DbSession, actor: CurrentActor, person_id: DbId) -> Response:
    service.unlock_person(session, actor, person_id)
    return RedirectResponse(f"/org/people/{person_id}?msg=unlocked", status_code=303)


@router.post("/people/{person_id}/password")
def reset_password(
    session: DbSession,
    actor: CurrentActor,
    person_id: DbId,
    password: Annotated[str, Form(max_length=256)],
) -> Response:
    service.reset_password(session, actor, person_id, password)
    return RedirectResponse(f"/org/people/{person_id}?msg=password", status_code=303)


@router.get("/departments/{department_id}/tokens")
def tokens(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    msg: str | None = None,
) -> Response:
    dept = service.get_department(session, actor, department_id)
    return render(
        request,
        "org/tokens.html",
        {
            "dept": dept,
            "tokens": auth.list_tokens(session, actor, dept.id),
            "scopes": auth.SCOPES,
            "flash": _flash(msg),
        },
    )


@router.post("/departments/{department_id}/tokens")
def issue_token(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    name: Annotated[str, Form(max_length=100)],
    scopes: Annotated[list[str], Form()],
    expires_in_days: Annotated[int, Form(ge=1, le=365)] = 90,
) -> Response:
    issued = auth.issue_token(
        session,
        actor,
        department_id,
        TokenCreate(name=name, scopes=scopes, expires_in_days=expires_in_days),
    )
    dept = service.get_department(session, actor, department_id)
    # The secret is shown on this response only, never stored or shown again.
    return render(
        request,
        "org/tokens.html",
        {
            "dept": dept,
            "tokens": auth.list_tokens(session, actor, dept.id),
            "scopes": auth.SCOPES,
            "issued": issued,
        },
        status_code=201,
    )


@router.post("/tokens/{token_id}/revoke")
def revoke_token(session: DbSession, actor: CurrentActor, token_id: DbId) -> Response:
    token = auth.revoke_token(session, actor, token_id)
    return RedirectResponse(
        f"/org/departments/{token.department_id}/tokens?msg=token_revoked", status_code=303
    )
