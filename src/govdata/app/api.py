"""JSON API of the core services the shell exposes: the audit chain and the statutory calendar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict

from govdata.app.access_records import list_access_records
from govdata.core import calendar as cal
from govdata.core.access import AccessFilter
from govdata.core.audit_query import (
    AuditFilter,
    CheckpointSource,
    checkpoint_download,
    list_events,
    platform_checkpoints,
    public_key_download,
    verify_chain,
)
from govdata.core.pagination import PageOut, page_out
from govdata.core.schemas import (
    ERROR_RESPONSES,
    AuditEventOut,
    CalendarDayIn,
    CalendarDayOut,
    CalendarYearOut,
    DeadlineOut,
    VerifyOut,
    YearImportIn,
    YearImportOut,
)
from govdata.core.types import DbId, FilterDate, Offset
from govdata.core.workdays import CalendarEntry
from govdata.org.policy import require_person, require_staff
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter(prefix="/api/v1", tags=["core"], responses=ERROR_RESPONSES)


@router.get("/audit/events", response_model=PageOut[AuditEventOut])
@unit_of_work
def audit_events(
    session: DbSession,
    actor: CurrentActor,
    action: str | None = Query(None, max_length=80),
    actor_name: str | None = Query(None, max_length=100),
    object_type: str | None = Query(None, max_length=60),
    object_id: str | None = Query(None, max_length=80),
    department_id: DbId | None = None,
    since: FilterDate | None = None,
    until: FilterDate | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PageOut[AuditEventOut]:
    page = list_events(
        session,
        actor,
        AuditFilter(action, actor_name, object_type, object_id, department_id, since, until),
        offset=offset,
        limit=limit,
    )
    return page_out(page, AuditEventOut)


class AccessRecordOut(BaseModel):
    """One read of data, allowed or refused (调用记录, Art. 40)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    token_id: int | None
    actor_name: str
    actor_department_id: int | None
    address: str | None
    action: str
    object_type: str
    object_id: str
    owner_department_id: int | None
    rows: int
    personal: bool
    fields: str
    outcome: str
    reason: str


@router.get("/audit/access-records", response_model=PageOut[AccessRecordOut])
@unit_of_work
def access_records(
    session: DbSession,
    actor: CurrentActor,
    actor_id: DbId | None = None,
    actor_name: str | None = Query(None, max_length=100),
    department_id: DbId | None = None,
    action: str | None = Query(None, max_length=80),
    since: FilterDate | None = None,
    until: FilterDate | None = None,
    personal: bool | None = None,
    outcome: Literal["allowed", "refused"] | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PageOut[AccessRecordOut]:
    """Access records, newest first (auditors, the city bureau; a district bureau: its region's
    departments, as readers or as owners of the data)."""
    f = AccessFilter(actor_id, actor_name, department_id, action, since, until, personal, outcome)
    page = list_access_records(session, actor, f, offset=offset, limit=limit)
    return page_out(page, AccessRecordOut)


def checkpoint_source(request: Request) -> CheckpointSource:
    return platform_checkpoints(request.app.state.settings)


@router.get("/audit/verify", response_model=VerifyOut)
@unit_of_work
def audit_verify(request: Request, session: DbSession, actor: CurrentActor) -> VerifyOut:
    r = verify_chain(session, actor, checkpoint_source(request))
    return VerifyOut(
        ok=r.ok,
        checked=r.checked,
        first_broken_seq=r.first_broken_seq,
        reason=r.reason,
        pending=r.pending,
        covered=r.covered,
        checkpoints=r.checkpoints,
    )


# Auditors keep these outside the platform and verify with them (`govdata audit verify
# --checkpoints DIR --public-key FILE`): a later rewrite of the database then shows.
@router.get(
    "/audit/checkpoints",
    response_class=FileResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
@unit_of_work
def audit_checkpoints(request: Request, actor: CurrentActor) -> FileResponse:
    path = checkpoint_download(actor, checkpoint_source(request))
    return FileResponse(path, media_type="application/x-ndjson", filename=path.name)


@router.get(
    "/audit/checkpoints/hashes",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
@unit_of_work
def audit_checkpoint_hashes(request: Request, actor: CurrentActor) -> FileResponse:
    path = checkpoint_download(actor, checkpoint_source(request), hashes=True)
    return FileResponse(path, media_type="application/octet-stream", filename=path.name)


@router.get(
    "/audit/public-key",
    # ``Response``, not ``PlainTextResponse``: the error responses stay documented as JSON.
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
@unit_of_work
def audit_public_key(request: Request, actor: CurrentActor) -> Response:
    pem = public_key_download(actor, checkpoint_source(request))
    return Response(
        pem,
        media_type="application/x-pem-file",
        headers={"Content-Disposition": 'attachment; filename="audit-public-key.pem"'},
    )


@router.get("/workdays/years", response_model=list[CalendarYearOut])
@unit_of_work
def workday_years(session: DbSession, actor: CurrentActor) -> list[CalendarYearOut]:
    require_person(actor)  # no token scope opens the calendar (Art. 39)
    require_staff(actor)
    return [CalendarYearOut.model_validate(y) for y in cal.published_years(session)]


@router.get("/workdays/years/{year}", response_model=list[CalendarDayOut])
@unit_of_work
def workday_days(
    session: DbSession, actor: CurrentActor, year: Annotated[int, Path(ge=1949, le=2200)]
) -> list[CalendarDayOut]:
    require_person(actor)  # no token scope opens the calendar (Art. 39)
    require_staff(actor)
    return [CalendarDayOut.model_validate(d) for d in cal.days_of_year(session, year)]


@router.put("/workdays/days", response_model=CalendarDayOut)
@unit_of_work
def workday_set(session: DbSession, actor: ApiActor, body: CalendarDayIn) -> CalendarDayOut:
    row = cal.set_day(session, actor, CalendarEntry(body.day, body.is_workday, body.name))
    return CalendarDayOut.model_validate(row)


@router.post("/workdays/years/{year}/import", response_model=YearImportOut)
@unit_of_work
def workday_import(
    session: DbSession,
    actor: ApiActor,
    year: Annotated[int, Path(ge=1949, le=2200)],
    body: YearImportIn,
) -> YearImportOut:
    entries = [CalendarEntry(d.day, d.is_workday, d.name) for d in body.days]
    r = cal.import_year(session, actor, year, entries, source="api")
    return YearImportOut(year=r.year, holidays=r.holidays, makeup_workdays=r.makeup_workdays)


@router.get("/workdays/deadline", response_model=DeadlineOut)
@unit_of_work
def workday_deadline(
    session: DbSession,
    actor: CurrentActor,
    start: date,
    days: Annotated[int, Query(ge=0, le=366)],
) -> DeadlineOut:
    require_person(actor)  # no token scope opens the calendar (Art. 39)
    require_staff(actor)
    d = cal.deadline(session, start, days)
    return DeadlineOut(
        start=d.start,
        working_days=d.working_days,
        due=d.due,
        provisional=d.provisional,
        label="暂定（该年度节假日安排未公布）" if d.provisional else "正式",
    )
