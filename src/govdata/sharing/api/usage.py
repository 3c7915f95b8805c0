"""JSON API of sharing usage (Art. 40, 41, 49): ``/api/v1/sharing/usage/summary`` and
``/records`` for the parties, bureaus and auditors (management data: no token scope opens
them), and ``/api/v1/my/data-use`` for a citizen or company reading who used their data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from govdata.core.pagination import PageOut
from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import Offset
from govdata.sharing import mydata, usage
from govdata.web.deps import CurrentActor, DbSession, unit_of_work

router = APIRouter(prefix="/usage", responses=ERROR_RESPONSES)
my_router = APIRouter(prefix="/api/v1/my", tags=["sharing"], responses=ERROR_RESPONSES)

Text = Annotated[str | None, Query(max_length=80)]
Limit = Annotated[int, Query(ge=1, le=200)]


class TallyOut(BaseModel):
    key: str | int | None
    label: str
    calls: int
    allowed: int
    refused: int
    rows: int


class DayOut(BaseModel):
    day: date
    calls: int
    allowed: int
    refused: int
    rows: int


class GrantUseOut(TallyOut):
    requester: str
    provider: str
    source_name: str
    purpose_code: str
    daily_quota: int | None
    today_calls: int


class SummaryOut(BaseModel):
    since: date
    until: date
    calls: int
    allowed: int
    refused: int
    rows: int
    days: list[DayOut]
    requesters: list[TallyOut]
    providers: list[TallyOut]
    sources: list[TallyOut]
    grants: list[GrantUseOut]
    systems: list[TallyOut]
    actions: list[TallyOut]
    refusals: list[TallyOut]


class RecordOut(BaseModel):
    id: int
    at: datetime
    action: str
    action_label: str
    requester_department_id: int | None
    requester: str
    system: str
    token_id: int | None
    provider_department_id: int | None
    provider: str
    source: str
    source_name: str
    grant_id: int | None
    purpose: str
    fields: list[str]
    rows: int
    personal: bool
    outcome: str
    outcome_label: str
    reason: str
    reason_label: str


class DataUseOut(BaseModel):
    at: datetime
    department: str
    provider: str
    source: str
    action_label: str
    purpose: str
    duty: str
    items: list[str]
    allowed: bool


class MonthOut(BaseModel):
    month: str
    calls: int


class MyDataUseOut(BaseModel):
    verified: bool
    explanation: str
    items: list[DataUseOut]
    total: int
    offset: int
    limit: int
    months: list[MonthOut]


def _tally(t: usage.Tally) -> TallyOut:
    key = t.key if isinstance(t.key, (int, str)) or t.key is None else str(t.key)
    return TallyOut(
        key=key,
        label=str(t.label),
        calls=t.calls,
        allowed=t.allowed,
        refused=t.refused,
        rows=t.rows,
    )


def _filter(
    since: str | None,
    until: str | None,
    requester: str | None,
    provider: str | None,
    source: str | None,
    grant: str | None,
    outcome: str | None,
    action: str | None,
) -> usage.UsageFilter:
    return usage.parse_filter(
        since=since,
        until=until,
        requester=requester,
        provider=provider,
        source=source,
        grant=grant,
        outcome=outcome,
        action=action,
    )


@router.get("/summary", response_model=SummaryOut)
@unit_of_work
def usage_summary(
    session: DbSession,
    actor: CurrentActor,
    since: Text = None,
    until: Text = None,
    requester: Text = None,
    provider: Text = None,
    source: Text = None,
    grant: Text = None,
    outcome: Text = None,
    action: Text = None,
) -> SummaryOut:
    """Calls, rows and refusals in the period (Beijing dates; by default the last 30 days),
    per day, requesting and providing department, source, grant, system, action and refusal
    code, within what the actor may see (Art. 40, 41, 49)."""
    f = _filter(since, until, requester, provider, source, grant, outcome, action)
    s = usage.summary(session, actor, f)
    return SummaryOut(
        since=s.since,
        until=s.until,
        calls=s.total.calls,
        allowed=s.total.allowed,
        refused=s.total.refused,
        rows=s.total.rows,
        days=[
            DayOut(day=d.key, calls=d.calls, allowed=d.allowed, refused=d.refused, rows=d.rows)
            for d in s.days
        ],
        requesters=[_tally(t) for t in s.requesters],
        providers=[_tally(t) for t in s.providers],
        sources=[_tally(t) for t in s.sources],
        grants=[
            GrantUseOut(
                **_tally(g).model_dump(),
                requester=g.requester,
                provider=g.provider,
                source_name=g.source_name,
                purpose_code=g.purpose_code,
                daily_quota=g.daily_quota,
                today_calls=g.today_calls,
            )
            for g in s.grants
        ],
        systems=[_tally(t) for t in s.systems],
        actions=[_tally(t) for t in s.actions],
        refusals=[_tally(t) for t in s.refusals],
    )


@router.get("/records", response_model=PageOut[RecordOut])
@unit_of_work
def usage_records(
    session: DbSession,
    actor: CurrentActor,
    since: Text = None,
    until: Text = None,
    requester: Text = None,
    provider: Text = None,
    source: Text = None,
    grant: Text = None,
    outcome: Text = None,
    action: Text = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[RecordOut]:
    """The sharing calls themselves, newest first, with the same filters; no subject."""
    f = _filter(since, until, requester, provider, source, grant, outcome, action)
    page = usage.list_records(session, actor, f, offset=offset, limit=limit)
    return PageOut[RecordOut](
        items=[RecordOut.model_validate(r, from_attributes=True) for r in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@my_router.get("/data-use", response_model=MyDataUseOut)
@unit_of_work
def my_data_use(
    session: DbSession, actor: CurrentActor, offset: Offset = 0, limit: Limit = 20
) -> MyDataUseOut:
    """Who used my data (Art. 40): for a signed-in citizen or company with a verified
    identity; staff and tokens are refused."""
    result = mydata.my_data_use(session, actor, offset=offset, limit=limit)
    explanation = mydata.EXPLANATION if result.verified else mydata.NOT_VERIFIED
    return MyDataUseOut(
        verified=result.verified,
        explanation=explanation,
        items=[DataUseOut.model_validate(u, from_attributes=True) for u in result.page.items],
        total=result.page.total,
        offset=result.page.offset,
        limit=result.page.limit,
        months=[MonthOut(month=m, calls=n) for m, n in result.months],
    )
