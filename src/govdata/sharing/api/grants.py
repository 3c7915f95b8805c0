"""JSON API: grants (授权) under ``/api/v1/sharing/grants`` (Art. 26 ¶2, 40, 50(4)(5)).

Management data for people: the requester's and the provider's departments, their bureau and
auditors read; the provider or the bureau revokes; the requester names its systems. No token
scope opens these routes (403 ``auth.people_only``). Thin: ``sharing.grants`` and
``sharing.grant_views`` decide.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.pagination import PageOut
from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import DbId, Offset
from govdata.sharing import grant_views, grants
from govdata.sharing.grants import RowCondition
from govdata.sharing.models import Grant
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter(responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RevokeIn(_Strict):
    reason: str = Field(max_length=2000, description="撤销理由（必填），撤销即时生效")


class SystemsIn(_Strict):
    token_ids: list[DbId] = Field(
        max_length=100, description="本部门具有 sharing:read 权限的接口令牌编号；空列表表示不指定"
    )


class SystemOut(BaseModel):
    token_id: int
    name: str


class CallsOut(BaseModel):
    days: int
    allowed: int
    refused: int
    total: int


class GrantOut(BaseModel):
    id: int
    origin: str
    application_id: int | None
    requester_department_id: int
    requester_department_name: str
    provider_department_id: int
    provider_department_name: str
    source_code: str
    source_kind: str
    source_name: str
    mode: str
    items: list[str]
    row_condition: dict[str, Any] | None
    row_condition_text: str | None
    duty: str
    legal_basis: str
    purpose: str
    purpose_code: str
    valid_from: date
    expires_on: date | None
    daily_quota: int | None
    status: str
    state: str = Field(description="active / not_yet / expired / revoked")
    state_label: str
    revoked_at: datetime | None
    revoked_by_name: str
    revoke_reason: str
    systems: list[SystemOut]
    created_at: datetime
    calls: CallsOut | None = Field(default=None, description="近30日调用次数（仅详情）")


def _out(
    g: Grant, lb: grant_views.Labels, today: date, calls: grant_views.Calls | None = None
) -> GrantOut:
    cond = RowCondition.of(g.row_condition)
    state = grants.state(g, today)
    return GrantOut(
        id=g.id,
        origin=g.origin,
        application_id=g.application_id,
        requester_department_id=g.requester_department_id,
        requester_department_name=lb.departments.get(g.requester_department_id, ""),
        provider_department_id=g.provider_department_id,
        provider_department_name=lb.departments.get(g.provider_department_id, ""),
        source_code=g.source_code,
        source_kind=g.source_kind,
        source_name=g.source_name,
        mode=g.mode,
        items=list(g.items),
        row_condition=g.row_condition,
        row_condition_text=cond.describe() if cond else None,
        duty=g.duty,
        legal_basis=g.legal_basis,
        purpose=g.purpose,
        purpose_code=g.purpose_code,
        valid_from=g.valid_from,
        expires_on=g.expires_on,
        daily_quota=g.daily_quota,
        status=g.status,
        state=state,
        state_label=grants.STATE_LABELS[state],
        revoked_at=g.revoked_at,
        revoked_by_name=g.revoked_by_name,
        revoke_reason=g.revoke_reason,
        systems=[SystemOut(token_id=t, name=n) for t, n in lb.systems.get(g.id, [])],
        created_at=g.created_at,
        calls=CallsOut(
            days=calls.days, allowed=calls.allowed, refused=calls.refused, total=calls.total
        )
        if calls is not None
        else None,
    )


def _one(session: Session, g: Grant) -> GrantOut:
    return _out(
        g,
        grant_views.labels(session, [g]),
        calendar.today(),
        grant_views.calls(session, g.id),
    )


@router.get("/grants", response_model=PageOut[GrantOut])
@unit_of_work
def list_grants(
    session: DbSession,
    actor: CurrentActor,
    view: Literal["received", "provided", "all"] | None = None,
    state: Literal["active", "not_yet", "expired", "revoked"] | None = None,
    source: Annotated[str | None, Query(max_length=64)] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[GrantOut]:
    """Grants the actor may see: ``received`` (its departments hold them), ``provided`` (its
    departments gave them), ``all`` (bureaus and auditors); by state and source."""
    _, page = grant_views.list_grants(
        session, actor, view=view, state=state, source_code=source, offset=offset, limit=limit
    )
    lb = grant_views.labels(session, page.items)
    today = calendar.today()
    return PageOut[GrantOut](
        items=[_out(g, lb, today) for g in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/grants/{grant_id}", response_model=GrantOut)
@unit_of_work
def get_grant(session: DbSession, actor: CurrentActor, grant_id: DbId) -> GrantOut:
    """One grant with its named systems and its calls of the last 30 days (Art. 40)."""
    return _one(session, grant_views.get_grant(session, actor, grant_id))


@router.post("/grants/{grant_id}/revoke", response_model=GrantOut)
@unit_of_work
def revoke(session: DbSession, actor: ApiActor, grant_id: DbId, body: RevokeIn) -> GrantOut:
    """The provider or the bureau over it revokes, with immediate effect (Art. 6, 50(4)(5))."""
    grant_views.require_read(actor)
    return _one(session, grants.revoke(session, actor, grant_id, body.reason))


@router.put("/grants/{grant_id}/systems", response_model=GrantOut)
@unit_of_work
def set_systems(session: DbSession, actor: ApiActor, grant_id: DbId, body: SystemsIn) -> GrantOut:
    """The requester names which of its systems may use the grant (Art. 26 ¶2)."""
    grant_views.require_read(actor)
    return _one(session, grants.set_systems(session, actor, grant_id, body.token_ids))
