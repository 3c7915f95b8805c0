"""Submissions (Art. 12 ¶1–3, 14 ¶2): district compilation, the city's review queue with overdue
clocks and unmet demands, a submission's entries and their decisions, publishing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from govdata.catalog import demands, policy, review, submissions, updates, versions
from govdata.catalog.models import (
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
        city_queue = submissions.list_submissions(
            session, actor, status=SubmissionStatus.PENDING_CITY, offset=offset, limit=PAGE_SIZE
        )
    districts = []
    for region_id in sorted(actor.region_ids()):
        region = org_service.get_region(session, actor, region_id)
        pending = submissions.list_submissions(
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
            "has_approved": submissions.has_unpublished_approvals(session),
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


# The reviewer compares the fields the page labels (the provider's code cannot change).
_COMPARED = [key for key in FIELD_LABELS if key != "department_code"]


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
    submission = submissions.get_submission(session, actor, submission_id)
    rows = [
        {
            "entry": d.entry,
            "revision": d.revision,
            "resource": d.resource,
            "demand": d.demand,
            "changes": versions.field_changes(d.published, d.revision.data, _COMPARED)
            if d.published is not None and d.revision is not None
            else [],
        }
        for d in submissions.submission_entries(session, actor, submission_id)
    ]
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
            # Where "back" leads: the queue for those who may open it, the department's own
            # list for its officers (never a link to a 403 page; issue 16).
            "can_view_review": policy.can_view_review(actor),
            "keeps_list": submission.department_id
            in actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD),
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
    entry = submissions.get_entry(session, actor, entry_id)
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
