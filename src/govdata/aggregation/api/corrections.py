"""JSON API: corrections (校核, Art. 19) under ``/api/v1/aggregation``.

Thin: the service decides who may apply, see, extend and answer. The public (citizens and
companies) may apply and read their own applications here; they never receive a stored value
(``policy.shows_correction_value``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from govdata.aggregation import corrections
from govdata.aggregation.models import Correction, CorrectionStatus, Pool
from govdata.core import calendar
from govdata.core.actor import Actor
from govdata.core.pagination import PageOut
from govdata.core.types import DbId, Offset
from govdata.core.workdays import WorkCalendar
from govdata.org.models import Department
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CorrectionIn(_Strict):
    pool_id: DbId
    subject_key: str = Field(min_length=1, max_length=64, description="主体标识，如公民身份号码")
    item_name: str = Field(min_length=1, max_length=100, description="有疑义的信息项名称")
    proposed_value: str | None = Field(
        default=None, max_length=4000, description="申请人认为正确的值（可不填）"
    )
    reason: str = Field(max_length=4000, description="疑义或错误的理由（必填）")
    evidence: str = Field(default="", max_length=4000, description="证明材料说明")


class ExtensionIn(_Strict):
    days: int = Field(ge=0, le=366, description="延长的工作日数，不超过10个工作日")
    reason: str = Field(max_length=4000, description="延长理由（必填）")


class AnswerIn(_Strict):
    accept: bool = Field(description="true：予以更正；false：不予更正")
    answer: str = Field(default="", max_length=4000, description="答复意见；不予更正时必填")
    corrected_value: str | None = Field(
        default=None,
        max_length=4000,
        description="更正后的值；不填则采用申请人提出的值，空字符串表示清空该值",
    )


class CorrectionOut(BaseModel):
    id: int
    pool_id: int
    pool_code: str
    pool_name: str
    department_id: int
    department_name: str
    subject_key: str
    item_name: str
    current_value: str | None = Field(description="申请时的值（对公众不提供）")
    proposed_value: str | None
    reason: str
    evidence: str
    applicant_kind: str
    applicant_name: str
    applicant_department_id: int | None
    applicant_department_name: str | None
    channel: str
    received_on: date
    due_on: date
    due_provisional: bool
    original_due_on: date | None
    extension_days: int
    extension_reason: str
    status: str
    status_label: str
    answer: str
    answered_on: date | None
    clock_label: str
    overdue: bool
    late: bool
    under_correction: bool
    created_at: datetime
    masked: bool = Field(
        default=False,
        description="主体标识或取值已遮盖显示（审计监督人员；说明理由后可在页面查看）",
    )


class CorrectionsOverdueOut(BaseModel):
    today: date
    open: list[CorrectionOut]
    late: list[CorrectionOut]


@dataclass(frozen=True)
class _Labels:
    pools: dict[int, Pool]
    departments: dict[int, Department]
    cal: WorkCalendar
    today: date
    show_value: bool
    shown: dict[int, corrections.CorrectionView]  # as the actor reads them (auditors: masked)


def _labels(session: Session, actor: Actor, items: Iterable[Correction]) -> _Labels:
    items = list(items)
    by_id = corrections.pools_by_id(session, (c.pool_id for c in items))
    return _Labels(
        pools=by_id,
        departments=corrections.departments(
            session, [x for c in items for x in (c.department_id, c.applicant_department_id)]
        ),
        cal=calendar.load_calendar(session),
        today=calendar.today(),
        show_value=corrections.disclose_stored_values(session, actor, items, by_id),
        shown={c.id: corrections.view(actor, by_id[c.pool_id], c) for c in items},
    )


def _out(c: Correction, lb: _Labels) -> CorrectionOut:
    pool = lb.pools[c.pool_id]
    clock = corrections.clock(c, lb.cal, lb.today)
    applicant_dept = lb.departments.get(c.applicant_department_id or 0)
    return CorrectionOut(
        id=c.id,
        pool_id=c.pool_id,
        pool_code=pool.code,
        pool_name=pool.name,
        department_id=c.department_id,
        department_name=lb.departments[c.department_id].name,
        subject_key=lb.shown[c.id].subject_key,
        item_name=c.item_name,
        current_value=lb.shown[c.id].current_value if lb.show_value else None,
        proposed_value=lb.shown[c.id].proposed_value,
        masked=bool(lb.shown[c.id].masks),
        reason=c.reason,
        evidence=c.evidence,
        applicant_kind=c.applicant_kind,
        applicant_name=c.applicant_name,
        applicant_department_id=c.applicant_department_id,
        applicant_department_name=applicant_dept.name if applicant_dept else None,
        channel=c.channel,
        received_on=c.received_on,
        due_on=c.due_on,
        due_provisional=c.due_provisional,
        original_due_on=c.original_due_on,
        extension_days=c.extension_days,
        extension_reason=c.extension_reason,
        status=c.status,
        status_label=CorrectionStatus(c.status).label,
        answer=c.answer,
        answered_on=c.answered_on,
        clock_label=clock.label,
        overdue=clock.overdue,
        late=clock.late,
        under_correction=c.status == CorrectionStatus.OPEN,
        created_at=c.created_at,
    )


def _one(session: Session, actor: Actor, c: Correction) -> CorrectionOut:
    return _out(c, _labels(session, actor, [c]))


@router.post("/corrections", response_model=CorrectionOut, status_code=201)
@unit_of_work
def apply(session: DbSession, actor: ApiActor, body: CorrectionIn) -> CorrectionOut:
    """Apply for the correction of one value (Art. 19 ¶2)."""
    c = corrections.apply(
        session,
        actor,
        pool_id=body.pool_id,
        subject_key=body.subject_key,
        item_name=body.item_name,
        proposed_value=body.proposed_value,
        reason=body.reason,
        evidence=body.evidence,
    )
    return _one(session, actor, c)


@router.get("/corrections", response_model=PageOut[CorrectionOut])
@unit_of_work
def list_corrections(
    session: DbSession,
    actor: CurrentActor,
    status: CorrectionStatus | None = None,
    department_id: DbId | None = None,
    pool_id: DbId | None = None,
    overdue_only: bool = False,
    direction: Literal["incoming", "outgoing"] | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[CorrectionOut]:
    """Visible corrections; ``overdue_only`` for open ones past due and late answers."""
    page = corrections.list_corrections(
        session,
        actor,
        status=status.value if status else None,
        department_id=department_id,
        pool_id=pool_id,
        overdue_only=overdue_only,
        direction=direction,
        offset=offset,
        limit=limit,
    )
    lb = _labels(session, actor, page.items)
    return PageOut[CorrectionOut](
        items=[_out(c, lb) for c in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/corrections/overdue", response_model=CorrectionsOverdueOut)
@unit_of_work
def overdue(session: DbSession, actor: CurrentActor) -> CorrectionsOverdueOut:
    """Open corrections past due and answers given late (Art. 19 ¶2, Art. 50(8))."""
    report = corrections.overdue(session, actor)
    lb = _labels(session, actor, [*report.open, *report.late])
    return CorrectionsOverdueOut(
        today=report.today,
        open=[_out(c, lb) for c in report.open],
        late=[_out(c, lb) for c in report.late],
    )


@router.get("/corrections/{correction_id}", response_model=CorrectionOut)
@unit_of_work
def get_correction(session: DbSession, actor: CurrentActor, correction_id: DbId) -> CorrectionOut:
    return _one(session, actor, corrections.get_correction(session, actor, correction_id))


@router.post("/corrections/{correction_id}/extension", response_model=CorrectionOut)
@unit_of_work
def extend(
    session: DbSession, actor: ApiActor, correction_id: DbId, body: ExtensionIn
) -> CorrectionOut:
    """The providing department's head extends the period once (Art. 19 ¶2)."""
    c = corrections.extend(session, actor, correction_id, days=body.days, reason=body.reason)
    return _one(session, actor, c)


@router.post("/corrections/{correction_id}/answer", response_model=CorrectionOut)
@unit_of_work
def answer(
    session: DbSession, actor: ApiActor, correction_id: DbId, body: AnswerIn
) -> CorrectionOut:
    """The providing department answers: accept (the value is corrected) or reject."""
    c = corrections.answer(
        session,
        actor,
        correction_id,
        accept=body.accept,
        answer=body.answer,
        corrected_value=body.corrected_value,
    )
    return _one(session, actor, c)
