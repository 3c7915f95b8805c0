"""JSON API: conditional-open applications (Art. 33 ¶2) under
``/api/v1/opendata/applications``. Thin: ``opendata.applications`` decides. Reads are scoped
(the applicant its own, the provider its department's, the bureau all; others 404)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.pagination import PageOut
from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import DbId, Offset
from govdata.opendata import applications
from govdata.opendata.clocks import clock
from govdata.opendata.models import OpenApplication, OpenApplicationStatus, OpenDataset
from govdata.org.models import Person
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter(responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=200)]
Text = Annotated[str, Field(max_length=4000)]
ItemName = Annotated[str, Field(max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApplicationIn(_Strict):
    dataset: str = Field(min_length=1, max_length=64, description="数据集代码")
    items: list[ItemName] = Field(min_length=1, max_length=500, description="申请的信息项")
    purpose: Text = Field(description="用途")
    scenario: Text = Field(description="使用场景")
    safeguards: Text = Field(description="安全保障措施")
    period_from: date
    period_until: date
    agreement_version: str | None = Field(
        default=None, max_length=32, description="同意的《数据利用协议》版本（须为现行版本）"
    )


class ApproveIn(_Strict):
    """Empty: approve as asked. Any field narrows (never wider than asked)."""

    items: list[ItemName] | None = Field(default=None, max_length=500)
    granted_from: date | None = None
    granted_until: date | None = None


class RefuseIn(_Strict):
    reason: Text = Field(description="不同意的理由（必填）")
    basis: Text = Field(description="不同意的依据（必填）")


class ExtendIn(_Strict):
    """``request``: the provider's staff ask the head; ``approve`` (the head): a waiting request
    or directly with days and reason; ``refuse`` (the head): a waiting request, with a reason."""

    action: Literal["request", "approve", "refuse"] = "approve"
    days: int | None = Field(default=None, ge=0, le=1000)  # the rule: 1–10 (domain)
    reason: Text = ""


class ApplicationOut(BaseModel):
    id: int
    dataset: str
    dataset_name: str
    provider_department_id: int
    provider_department_name: str
    applicant_name: str
    status: str
    status_label: str
    items: list[str]
    purpose: str
    scenario: str
    safeguards: str
    period_from: date
    period_until: date
    agreement_version: str
    received_on: date
    due_on: date | None
    due_provisional: bool
    original_due_on: date | None
    extension_days: int
    extension_reason: str
    clock_label: str | None
    overdue: bool
    late: bool
    answered_on: date | None
    granted_items: list[str]
    granted_from: date | None
    granted_until: date | None
    refusal_reason: str
    refusal_basis: str
    created_at: datetime


def outs(session: Session, rows: Iterable[OpenApplication]) -> list[ApplicationOut]:
    rows = list(rows)
    ids = sorted({a.dataset_id for a in rows})
    sets = {d.id: d for d in session.scalars(select(OpenDataset).where(OpenDataset.id.in_(ids)))}
    pids = sorted({a.applicant_id for a in rows})
    names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(pids))).all())
    cal = calendar.load_calendar(session)
    today = calendar.today()
    out: list[ApplicationOut] = []
    for a in rows:
        ds = sets[a.dataset_id]
        clk = clock(a, cal, today)
        out.append(
            ApplicationOut(
                id=a.id,
                dataset=ds.code,
                dataset_name=ds.name,
                provider_department_id=a.provider_department_id,
                provider_department_name=ds.department_name,
                applicant_name=names.get(a.applicant_id, ""),
                status=a.status,
                status_label=OpenApplicationStatus(a.status).label,
                items=list(a.items),
                purpose=a.purpose,
                scenario=a.scenario,
                safeguards=a.safeguards,
                period_from=a.period_from,
                period_until=a.period_until,
                agreement_version=a.agreement_version,
                received_on=a.received_on,
                due_on=a.due_on,
                due_provisional=a.due_provisional,
                original_due_on=a.original_due_on,
                extension_days=a.extension_days,
                extension_reason=a.extension_reason,
                clock_label=clk.label if clk else None,
                overdue=clk.overdue if clk else False,
                late=clk.late if clk else False,
                answered_on=a.answered_on,
                granted_items=list(a.granted_items),
                granted_from=a.granted_from,
                granted_until=a.granted_until,
                refusal_reason=a.refusal_reason,
                refusal_basis=a.refusal_basis,
                created_at=a.created_at,
            )
        )
    return out


def _one(session: Session, a: OpenApplication) -> ApplicationOut:
    return outs(session, [a])[0]


@router.post("/applications", response_model=ApplicationOut, status_code=201)
@unit_of_work
def submit(session: DbSession, actor: ApiActor, body: ApplicationIn) -> ApplicationOut:
    """Apply for a conditionally open dataset (Art. 33 ¶2); answered within 10 working days."""
    a = applications.submit(
        session,
        actor,
        applications.Request(
            dataset_code=body.dataset,
            items=body.items,
            purpose=body.purpose,
            scenario=body.scenario,
            safeguards=body.safeguards,
            period_from=body.period_from,
            period_until=body.period_until,
            agreement_version=body.agreement_version,
        ),
    )
    return _one(session, a)


@router.get("/applications", response_model=PageOut[ApplicationOut])
@unit_of_work
def list_applications(
    session: DbSession,
    actor: CurrentActor,
    view: Literal["mine", "inbox", "all"] = "mine",
    status: OpenApplicationStatus | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[ApplicationOut]:
    """``mine``; ``inbox`` (the provider's: pending first by due date); ``all`` in scope."""
    page = applications.list_applications(
        session,
        actor,
        view=view,
        status=status.value if status else None,
        offset=offset,
        limit=limit,
    )
    return PageOut[ApplicationOut](
        items=outs(session, page.items), total=page.total, offset=page.offset, limit=page.limit
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
    """The provider approves, as asked or narrowed (Art. 33 ¶2)."""
    body = body or ApproveIn()
    a = applications.approve(
        session,
        actor,
        application_id,
        items=body.items,
        granted_from=body.granted_from,
        granted_until=body.granted_until,
    )
    return _one(session, a)


@router.post("/applications/{application_id}/refuse", response_model=ApplicationOut)
@unit_of_work
def refuse(
    session: DbSession, actor: ApiActor, application_id: DbId, body: RefuseIn
) -> ApplicationOut:
    """The provider refuses with the reason and its basis (Art. 33 ¶2)."""
    return _one(
        session,
        applications.refuse(session, actor, application_id, reason=body.reason, basis=body.basis),
    )


@router.post("/applications/{application_id}/extend", response_model=ApplicationOut)
@unit_of_work
def extend(
    session: DbSession, actor: ApiActor, application_id: DbId, body: ExtendIn
) -> ApplicationOut:
    """Extend the answer period once, by at most 10 working days, with the head's approval
    (Art. 33 ¶2)."""
    if body.action == "request":
        a = applications.request_extension(
            session, actor, application_id, days=body.days or 0, reason=body.reason
        )
    elif body.action == "refuse":
        a = applications.refuse_extension(session, actor, application_id, reason=body.reason)
    else:
        a = applications.approve_extension(
            session, actor, application_id, days=body.days, reason=body.reason or None
        )
    session.refresh(a)
    return _one(session, a)


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationOut)
@unit_of_work
def withdraw(session: DbSession, actor: ApiActor, application_id: DbId) -> ApplicationOut:
    """The applicant withdraws a pending application."""
    return _one(session, applications.withdraw(session, actor, application_id))
