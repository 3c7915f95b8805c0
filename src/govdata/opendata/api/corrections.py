"""JSON API: open-catalog correction requests (Art. 32 ¶2–3) under
``/api/v1/opendata/corrections``. Thin: ``opendata.corrections`` decides; reads are scoped."""

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
from govdata.opendata import corrections
from govdata.opendata.clocks import clock
from govdata.opendata.models import (
    CatalogCorrectionRequest,
    CorrectionRequestStatus,
    OpenDataset,
)
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter(responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=200)]
Text = Annotated[str, Field(max_length=4000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CorrectionIn(_Strict):
    dataset: str = Field(min_length=1, max_length=64, description="数据集代码")
    field: str = Field(
        max_length=32, description="需要更正的目录项：" + "、".join(corrections.FIELDS)
    )
    proposed_value: Text = Field(description="建议更正为")
    reason: Text = Field(description="理由")


class AgreeIn(_Strict):
    answer: Text = ""


class RefuseIn(_Strict):
    reason: Text = Field(description="不同意更正的理由（必填）")
    basis: Text = Field(description="不同意更正的依据（必填）")


class ExtendIn(_Strict):
    action: Literal["request", "approve", "refuse"] = "approve"
    days: int | None = Field(default=None, ge=0, le=1000)  # the rule: 1–10 (domain)
    reason: Text = ""


class CorrectionOut(BaseModel):
    id: int
    dataset: str
    dataset_name: str
    provider_department_id: int
    provider_department_name: str
    status: str
    status_label: str
    field: str
    field_label: str
    current_value: str
    proposed_value: str
    reason: str
    received_on: date
    due_on: date | None
    due_provisional: bool
    original_due_on: date | None
    extension_days: int
    clock_label: str | None
    overdue: bool
    late: bool
    answered_on: date | None
    answer: str
    refusal_basis: str
    change_request_note: str
    created_at: datetime


def outs(session: Session, rows: Iterable[CatalogCorrectionRequest]) -> list[CorrectionOut]:
    rows = list(rows)
    ids = sorted({r.dataset_id for r in rows})
    sets = {d.id: d for d in session.scalars(select(OpenDataset).where(OpenDataset.id.in_(ids)))}
    cal = calendar.load_calendar(session)
    today = calendar.today()
    out: list[CorrectionOut] = []
    for r in rows:
        ds = sets[r.dataset_id]
        clk = clock(r, cal, today)
        out.append(
            CorrectionOut(
                id=r.id,
                dataset=ds.code,
                dataset_name=ds.name,
                provider_department_id=r.provider_department_id,
                provider_department_name=ds.department_name,
                status=r.status,
                status_label=CorrectionRequestStatus(r.status).label,
                field=r.field,
                field_label=corrections.FIELDS.get(r.field, r.field),
                current_value=r.current_value,
                proposed_value=r.proposed_value,
                reason=r.reason,
                received_on=r.received_on,
                due_on=r.due_on,
                due_provisional=r.due_provisional,
                original_due_on=r.original_due_on,
                extension_days=r.extension_days,
                clock_label=clk.label if clk else None,
                overdue=clk.overdue if clk else False,
                late=clk.late if clk else False,
                answered_on=r.answered_on,
                answer=r.answer,
                refusal_basis=r.refusal_basis,
                change_request_note=r.change_request_note,
                created_at=r.created_at,
            )
        )
    return out


def _one(session: Session, r: CatalogCorrectionRequest) -> CorrectionOut:
    return outs(session, [r])[0]


@router.post("/corrections", response_model=CorrectionOut, status_code=201)
@unit_of_work
def submit(session: DbSession, actor: ApiActor, body: CorrectionIn) -> CorrectionOut:
    """Ask the provider to correct an open-catalog entry (Art. 32 ¶2)."""
    r = corrections.submit(
        session,
        actor,
        dataset_code=body.dataset,
        field=body.field,
        proposed_value=body.proposed_value,
        reason=body.reason,
    )
    return _one(session, r)


@router.get("/corrections", response_model=PageOut[CorrectionOut])
@unit_of_work
def list_corrections(
    session: DbSession,
    actor: CurrentActor,
    view: Literal["mine", "inbox", "all"] = "mine",
    status: CorrectionRequestStatus | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[CorrectionOut]:
    page = corrections.list_requests(
        session,
        actor,
        view=view,
        status=status.value if status else None,
        offset=offset,
        limit=limit,
    )
    return PageOut[CorrectionOut](
        items=outs(session, page.items), total=page.total, offset=page.offset, limit=page.limit
    )


@router.get("/corrections/{request_id}", response_model=CorrectionOut)
@unit_of_work
def get_correction(session: DbSession, actor: CurrentActor, request_id: DbId) -> CorrectionOut:
    return _one(session, corrections.get(session, actor, request_id))


@router.post("/corrections/{request_id}/agree", response_model=CorrectionOut)
@unit_of_work
def agree(
    session: DbSession, actor: ApiActor, request_id: DbId, body: AgreeIn | None = None
) -> CorrectionOut:
    """Agreed: a change request for the city bureau's next catalog version (Art. 32 ¶3)."""
    body = body or AgreeIn()
    return _one(session, corrections.agree(session, actor, request_id, answer=body.answer))


@router.post("/corrections/{request_id}/refuse", response_model=CorrectionOut)
@unit_of_work
def refuse(session: DbSession, actor: ApiActor, request_id: DbId, body: RefuseIn) -> CorrectionOut:
    """Refused with the reason and its basis (Art. 32 ¶3)."""
    return _one(
        session,
        corrections.refuse(session, actor, request_id, reason=body.reason, basis=body.basis),
    )


@router.post("/corrections/{request_id}/extend", response_model=CorrectionOut)
@unit_of_work
def extend(session: DbSession, actor: ApiActor, request_id: DbId, body: ExtendIn) -> CorrectionOut:
    """Once, by at most 10 working days, with the head's approval (Art. 32 ¶3)."""
    if body.action == "request":
        r = corrections.request_extension(
            session, actor, request_id, days=body.days or 0, reason=body.reason
        )
    elif body.action == "refuse":
        r = corrections.refuse_extension(session, actor, request_id, reason=body.reason)
    else:
        r = corrections.approve_extension(
            session, actor, request_id, days=body.days, reason=body.reason or None
        )
    session.refresh(r)
    return _one(session, r)
