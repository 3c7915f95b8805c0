"""JSON API: objections and disputes (Art. 27) under ``/api/v1/sharing/objections``.

Thin: ``sharing.objections`` decides who may raise, note, take up, settle, extend and withdraw.
For people only: a department system's token is refused (403 ``sharing.objection_people_only``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.actor import Actor
from govdata.core.pagination import PageOut
from govdata.core.types import DbId, Offset
from govdata.sharing import objections
from govdata.sharing.models import (
    GrantMode,
    Objection,
    ObjectionKind,
    ObjectionNote,
    ObjectionResult,
    ObjectionStatus,
)
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ObjectionIn(_Strict):
    kind: ObjectionKind
    reason: str = Field(max_length=4000, description="异议的理由和依据（必填）")
    requested: str = Field(default="", max_length=4000, description="请求协调的事项")
    application_id: DbId | None = Field(default=None, description="对申请答复的异议：申请编号")
    source_code: str = Field(default="", max_length=64, description="资源代码（共享属性、数据值）")
    item_name: str = Field(default="", max_length=100, description="信息项（可不填）")
    subject_key: str = Field(default="", max_length=64, description="数据值异议：主体标识")
    proposed_value: str | None = Field(default=None, max_length=4000, description="认为正确的值")
    evidence: str = Field(default="", max_length=4000, description="证明材料说明")
    department_id: DbId | None = Field(default=None, description="以哪个部门名义（多部门时）")


class NoteIn(_Strict):
    text: str = Field(max_length=4000)


class TakeUpIn(_Strict):
    note: str = Field(default="", max_length=4000)


class GrantOrderIn(_Strict):
    items: list[str] = Field(max_length=500)
    valid_from: date
    expires_on: date | None = None
    token_ids: list[DbId] = Field(default_factory=list, max_length=50)
    mode: GrantMode = GrantMode.DATA
    row_condition: dict[str, Any] | None = None
    daily_quota: int | None = None
    duty: str = Field(default="", max_length=500)
    legal_basis: str = Field(default="", max_length=4000)
    purpose: str = Field(default="", max_length=4000)
    purpose_code: str = Field(default="", max_length=64)


class SettleIn(_Strict):
    result: ObjectionResult
    outcome: str = Field(max_length=4000, description="协调处理结果及理由（必填）")
    grant: GrantOrderIn | None = Field(default=None, description="责令授权（异议成立时）")
    catalog_change: str = Field(
        default="", max_length=4000, description="责令数据提供部门调整共享目录的内容"
    )


class WithdrawIn(_Strict):
    reason: str = Field(default="", max_length=4000)


class ExtensionIn(_Strict):
    days: int = Field(ge=0, le=366, description="延长的工作日数，不超过10个工作日")
    reason: str = Field(max_length=4000)


class NoteOut(BaseModel):
    id: int
    author_name: str
    department_id: int | None
    text: str
    at: datetime


class ObjectionOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    status: str
    status_label: str
    department_id: int
    department_name: str
    provider_department_id: int
    provider_department_name: str
    region_id: int
    application_id: int | None
    source_code: str
    item_name: str
    subject_key: str
    correction_id: int | None
    reason: str
    requested: str
    received_on: date
    due_on: date
    due_provisional: bool
    clock_label: str
    overdue: bool
    answered_on: date | None
    result: str
    result_label: str
    outcome: str
    ordered: str
    ordered_grant_id: int | None
    ordered_change: str
    created_by_name: str
    created_at: datetime
    notes: list[NoteOut] = Field(default_factory=list)


def _out(
    session: Session, actor: Actor, items: list[Objection], *, with_notes: bool = False
) -> list[ObjectionOut]:
    depts = objections.departments(
        session, [x for o in items for x in (o.department_id, o.provider_department_id)]
    )
    cal = calendar.load_calendar(session)
    today = calendar.today()
    out = []
    for o in items:
        clk = objections.clock_of(session, o, cal, today)
        notes: list[ObjectionNote] = objections.notes(session, o.id) if with_notes else []
        out.append(
            ObjectionOut(
                id=o.id,
                kind=o.kind,
                kind_label=ObjectionKind(o.kind).label,
                status=o.status,
                status_label=ObjectionStatus(o.status).label,
                department_id=o.department_id,
                department_name=depts[o.department_id].name,
                provider_department_id=o.provider_department_id,
                provider_department_name=depts[o.provider_department_id].name,
                region_id=o.region_id,
                application_id=o.application_id,
                source_code=o.source_code,
                item_name=o.item_name,
                subject_key=o.subject_key,
                correction_id=o.correction_id,
                reason=o.reason,
                requested=o.requested,
                received_on=o.received_on,
                due_on=clk.deadline.due if clk else o.due_on,
                due_provisional=o.due_provisional,
                clock_label=clk.label if clk else "",
                overdue=clk.overdue if clk else False,
                answered_on=o.answered_on,
                result=o.result,
                result_label=ObjectionResult(o.result).label if o.result else "",
                outcome=o.outcome,
                ordered=o.ordered,
                ordered_grant_id=o.ordered_grant_id,
                ordered_change=o.ordered_change,
                created_by_name=o.created_by_name,
                created_at=o.created_at,
                notes=[
                    NoteOut(
                        id=n.id,
                        author_name=n.author_name,
                        department_id=n.department_id,
                        text=n.text,
                        at=n.at,
                    )
                    for n in notes
                ],
            )
        )
    return out


def _one(session: Session, actor: Actor, o: Objection) -> ObjectionOut:
    return _out(session, actor, [o], with_notes=True)[0]


@router.post("/objections", response_model=ObjectionOut, status_code=201)
@unit_of_work
def raise_objection(session: DbSession, actor: ApiActor, body: ObjectionIn) -> ObjectionOut:
    """A department objects (Art. 27); a value objection opens a 校核 (Art. 19 ¶2)."""
    value = (
        objections.ValueChallenge(body.subject_key, body.proposed_value, body.evidence)
        if body.kind == ObjectionKind.VALUE
        else None
    )
    o = objections.object_to(
        session,
        actor,
        kind=body.kind,
        reason=body.reason,
        requested=body.requested,
        application_id=body.application_id,
        source_code=body.source_code,
        item_name=body.item_name,
        value=value,
        department_id=body.department_id,
    )
    return _one(session, actor, o)


@router.get("/objections", response_model=PageOut[ObjectionOut])
@unit_of_work
def list_objections(
    session: DbSession,
    actor: CurrentActor,
    side: Literal["raised", "about", "coordinate", "all"] | None = None,
    status: ObjectionStatus | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[ObjectionOut]:
    """Visible objections: raised by us, about our data, or ours to coordinate."""
    page = objections.list_objections(
        session,
        actor,
        side=side,
        status=status.value if status else None,
        offset=offset,
        limit=limit,
    )
    return PageOut[ObjectionOut](
        items=_out(session, actor, page.items),
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/objections/{objection_id}", response_model=ObjectionOut)
@unit_of_work
def get_objection(session: DbSession, actor: CurrentActor, objection_id: DbId) -> ObjectionOut:
    return _one(session, actor, objections.get(session, actor, objection_id))


@router.post("/objections/{objection_id}/notes", response_model=ObjectionOut, status_code=201)
@unit_of_work
def add_note(session: DbSession, actor: ApiActor, objection_id: DbId, body: NoteIn) -> ObjectionOut:
    """The bureau, the provider or the objector records a step of the coordination."""
    objections.add_note(session, actor, objection_id, body.text)
    return _one(session, actor, objections.get(session, actor, objection_id))


@router.post("/objections/{objection_id}/take-up", response_model=ObjectionOut)
@unit_of_work
def take_up(
    session: DbSession, actor: ApiActor, objection_id: DbId, body: TakeUpIn
) -> ObjectionOut:
    """The coordinating bureau takes the objection up (Art. 27)."""
    return _one(session, actor, objections.take_up(session, actor, objection_id, body.note))


@router.post("/objections/{objection_id}/settle", response_model=ObjectionOut)
@unit_of_work
def settle(session: DbSession, actor: ApiActor, objection_id: DbId, body: SettleIn) -> ObjectionOut:
    """The coordinating bureau records the outcome; it may order a grant or a catalog change."""
    order = (
        objections.GrantOrder(
            items=body.grant.items,
            valid_from=body.grant.valid_from,
            expires_on=body.grant.expires_on,
            token_ids=list(body.grant.token_ids),
            mode=body.grant.mode,
            row_condition=body.grant.row_condition,
            daily_quota=body.grant.daily_quota,
            duty=body.grant.duty,
            legal_basis=body.grant.legal_basis,
            purpose=body.grant.purpose,
            purpose_code=body.grant.purpose_code,
        )
        if body.grant is not None
        else None
    )
    o = objections.settle(
        session,
        actor,
        objection_id,
        result=body.result,
        outcome=body.outcome,
        grant=order,
        catalog_change=body.catalog_change,
    )
    return _one(session, actor, o)


@router.post("/objections/{objection_id}/withdraw", response_model=ObjectionOut)
@unit_of_work
def withdraw(
    session: DbSession, actor: ApiActor, objection_id: DbId, body: WithdrawIn
) -> ObjectionOut:
    """The objector withdraws while the objection is not settled."""
    return _one(session, actor, objections.withdraw(session, actor, objection_id, body.reason))


@router.post("/objections/{objection_id}/extension", response_model=ObjectionOut)
@unit_of_work
def extend(
    session: DbSession, actor: ApiActor, objection_id: DbId, body: ExtensionIn
) -> ObjectionOut:
    """The city bureau extends the coordination period once (product decision, Art. 27)."""
    o = objections.extend(session, actor, objection_id, days=body.days, reason=body.reason)
    return _one(session, actor, o)
