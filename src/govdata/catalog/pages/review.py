"""Submissions (Art. 12 ¶1–3, 14 ¶2): district compilation, the city's review queue with overdue
clocks and unmet demands, a submission's entries and their decisions, publishing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import demands, review, updates, versions
from govdata.catalog.models import (
    Demand,
    EntryAction,
    EntryStatus,
    Resource,
    ResourceRevision,
    ReviewEntry,
    SubmissionStatus,
)
from govdata.catalog.pages.common import (
    FIELD_LABELS,
    PAGE_SIZE,
    _flash,
    _page,
    _query_without,
    _refused,
)
from govdata.core.actor import Actor, Role
from govdata.core.errors import DomainError, PermissionDenied
from govdata.core.types import DbId, Offset
from govdata.org import policy as org_policy
from govdata.org import service as org_service
from govdata.web.deps import CurrentActor, DbSession

router = APIRouter()


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
