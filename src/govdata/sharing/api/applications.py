"""JSON API: registrations and applications (Art. 24, 26 ¶2, 50(4)) under
``/api/v1/sharing/applications``.

Thin: ``sharing.applications`` decides. These are management routes for signed-in people; no
token scope opens them (``sharing.applications_people_only``, 403): department systems read
data through the data access API under the grants these make.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.pagination import PageOut
from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import DbId, Offset
from govdata.sharing import applications
from govdata.sharing.deadlines import clock
from govdata.sharing.models import ApplicationKind, ApplicationStatus, GrantMode, ShareApplication
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter(responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=200)]
Text = Annotated[str, Field(max_length=4000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RowConditionIn(_Strict):
    item: str = Field(min_length=1, max_length=100, description="数据范围所依据的信息项")
    values: list[Annotated[str, Field(max_length=200)]] = Field(
        min_length=1, max_length=100, description="允许的取值，如某区县名称"
    )


class ApplicationIn(_Strict):
    department_id: DbId = Field(description="申请部门（须为本人所在部门）")
    source: str = Field(min_length=1, max_length=64, description="资源代码，或 base.person 等")
    items: list[Annotated[str, Field(max_length=100)]] = Field(min_length=1, max_length=500)
    duty: Text = Field(description="所履行的职责（部门职能）")
    legal_basis: Text = Field(description="履行该职责的法律依据")
    purpose: Text = Field(description="用途")
    purpose_code: str = Field(max_length=64, description="用途代码：调用时声明的英文短名")
    calling_system: str = Field(max_length=200, description="调用系统名称")
    token_ids: list[DbId] = Field(default=[], max_length=50, description="调用系统的接口令牌")
    period_from: date
    period_until: date
    scenario: Text = Field(default="", description="使用场景（有条件共享必填）")
    expected_daily_calls: int | None = Field(default=None, ge=1, le=1_000_000_000)
    row_condition: RowConditionIn | None = Field(default=None, description="申请的数据范围")
    mode: GrantMode = GrantMode.DATA


class ApproveIn(_Strict):
    """Empty: approve as asked. Any field narrows (never wider than asked)."""

    items: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=500, description="批准的信息项（不超出申请范围）"
    )
    row_condition: RowConditionIn | None = None
    period_until: date | None = None
    daily_quota: int | None = Field(default=None, ge=1, le=1_000_000_000)
    note: Text = ""


class RefuseIn(_Strict):
    reason: Text = Field(description="不予共享的理由（必填）")
    basis: Text = Field(description="不予共享的依据（必填）")


class ApplicationOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    status: str
    status_label: str
    requester_department_id: int
    requester_department_name: str
    provider_department_id: int
    provider_department_name: str
    source: str
    source_kind: str
    source_name: str
    mode: str
    items: list[str]
    duty: str
    legal_basis: str
    purpose: str
    purpose_code: str
    scenario: str
    calling_system: str
    token_ids: list[int]
    period_from: date
    period_until: date | None
    expected_daily_calls: int | None
    row_condition: dict[str, Any] | None
    received_on: date | None
    due_on: date | None
    due_provisional: bool
    original_due_on: date | None
    extension_days: int
    clock_label: str | None
    overdue: bool
    late: bool
    answered_on: date | None
    decision_note: str
    refusal_reason: str
    refusal_basis: str
    grant_id: int | None
    created_by_name: str
    created_at: datetime


def _outs(session: Session, items: Iterable[ShareApplication]) -> list[ApplicationOut]:
    items = list(items)
    depts = applications.departments(
        session, [x for a in items for x in (a.requester_department_id, a.provider_department_id)]
    )
    cal = calendar.load_calendar(session)
    today = calendar.today()
    out: list[ApplicationOut] = []
    for a in items:
        clk = clock(a, cal, today)
        out.append(
            ApplicationOut(
                id=a.id,
                kind=a.kind,
                kind_label=ApplicationKind(a.kind).label,
                status=a.status,
                status_label=ApplicationStatus(a.status).label,
                requester_department_id=a.requester_department_id,
                requester_department_name=depts[a.requester_department_id].name,
                provider_department_id=a.provider_department_id,
                provider_department_name=depts[a.provider_department_id].name,
                source=a.source_code,
                source_kind=a.source_kind,
                source_name=a.source_name,
                mode=a.mode,
                items=list(a.items),
                duty=a.duty,
                legal_basis=a.legal_basis,
                purpose=a.purpose,
                purpose_code=a.purpose_code,
                scenario=a.scenario,
                calling_system=a.calling_system,
                token_ids=list(a.token_ids),
                period_from=a.period_from,
                period_until=a.period_until,
                expected_daily_calls=a.expected_daily_calls,
                row_condition=a.row_condition,
                received_on=a.received_on,
                due_on=a.due_on,
                due_provisional=a.due_provisional,
                original_due_on=a.original_due_on,
                extension_days=a.extension_days,
                clock_label=clk.label if clk else None,
                overdue=clk.overdue if clk else False,
                late=clk.late if clk else False,
                answered_on=a.answered_on,
                decision_note=a.decision_note,
                refusal_reason=a.refusal_reason,
                refusal_basis=a.refusal_basis,
                grant_id=a.grant_id,
                created_by_name=a.created_by_name,
                created_at=a.created_at,
            )
        )
    return out


def _one(session: Session, a: ShareApplication) -> ApplicationOut:
    return _outs(session, [a])[0]


def _cond(raw: RowConditionIn | None) -> dict[str, Any] | None:
    return raw.model_dump() if raw is not None else None


@router.post("/applications", response_model=ApplicationOut, status_code=201)
@unit_of_work
def submit(session: DbSession, actor: ApiActor, body: ApplicationIn) -> ApplicationOut:
    """Register (unconditional: effective at once) or apply (conditional: answered within 10
    working days) (Art. 24, 26 ¶2)."""
    applications.require_person(actor)
    a = applications.submit(
        session,
        actor,
        applications.Request(
            department_id=body.department_id,
            source_code=body.source,
            items=body.items,
            duty=body.duty,
            legal_basis=body.legal_basis,
            purpose=body.purpose,
            purpose_code=body.purpose_code,
            calling_system=body.calling_system,
            period_from=body.period_from,
            period_until=body.period_until,
            token_ids=body.token_ids,
            scenario=body.scenario,
            expected_daily_calls=body.expected_daily_calls,
            row_condition=_cond(body.row_condition),
            mode=body.mode,
        ),
    )
    return _one(session, a)


@router.get("/applications", response_model=PageOut[ApplicationOut])
@unit_of_work
def list_applications(
    session: DbSession,
    actor: CurrentActor,
    view: Literal["outgoing", "incoming", "all"] = "all",
    status: ApplicationStatus | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[ApplicationOut]:
    """Visible applications; ``incoming`` is the provider's inbox (pending first, by due date)."""
    page = applications.list_applications(
        session,
        actor,
        view=view,
        status=status.value if status else None,
        offset=offset,
        limit=limit,
    )
    return PageOut[ApplicationOut](
        items=_outs(session, page.items), total=page.total, offset=page.offset, limit=page.limit
    )


@router.get("/applications/{application_id}", response_model=ApplicationOut)
@unit_of_work
def get_application(
    session: DbSession, actor: CurrentActor, application_id: DbId
) -> ApplicationOut:
    return _one(session, applications.get(session, actor, application_id))


@router.post("/applications/{application_id}/approve", response_model=ApplicationOut)
@unit_of_work
def approve(
    session: DbSession, actor: ApiActor, application_id: DbId, body: ApproveIn | None = None
) -> ApplicationOut:
    """The provider approves, as asked or narrowed (Art. 26 ¶2)."""
    body = body or ApproveIn()
    a = applications.approve(
        session,
        actor,
        application_id,
        items=body.items,
        row_condition=_cond(body.row_condition),
        period_until=body.period_until,
        daily_quota=body.daily_quota,
        note=body.note,
    )
    return _one(session, a)


@router.post("/applications/{application_id}/refuse", response_model=ApplicationOut)
@unit_of_work
def refuse(
    session: DbSession, actor: ApiActor, application_id: DbId, body: RefuseIn
) -> ApplicationOut:
    """The provider refuses with the reason and its basis (Art. 26 ¶2)."""
    a = applications.refuse(session, actor, application_id, reason=body.reason, basis=body.basis)
    return _one(session, a)


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationOut)
@unit_of_work
def withdraw(session: DbSession, actor: ApiActor, application_id: DbId) -> ApplicationOut:
    """The requester withdraws a pending application."""
    return _one(session, applications.withdraw(session, actor, application_id))
