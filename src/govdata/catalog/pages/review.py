"""Submissions (Art. 12 ¶1–3, 14 ¶2): district compilation, the city's review queue with overdue
clocks and unmet demands, a submission's entries and their decisions, publishing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from govdata.catalog import (
    demands,
    district,
    policy,
    publishing,
    review,
    submissions,
    updates,
    versions,
)
from govdata.catalog.models import PublicationStatus, SubmissionStatus
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
from govdata.org.models import Person
from govdata.web.deps import CurrentActor, DbSession

router = APIRouter()


# --- submissions: district compilation, city review, publishing (Art. 12 ¶1–3, 14 ¶2) ----------


def _require_bureau_or_oversight(actor: Actor) -> None:
    if not (org_policy.sees_everything(actor) or actor.has(Role.DISTRICT_BUREAU_ADMIN)):
        raise PermissionDenied(
            "catalog.review_only", "只有数据主管部门和审计监督人员可以查看目录审核。"
        )


def _review_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    offset: int = 0,
    flash: str | None = None,
    error: str | None = None,
    error_region: int | None = None,
    status_code: int = 200,
) -> Response:
    _require_bureau_or_oversight(actor)
    city_queue = decided = None
    if org_policy.sees_everything(actor):
        # Only what is still to decide; a submission decided in full leaves the queue at once.
        city_queue = submissions.list_submissions(
            session,
            actor,
            status=SubmissionStatus.PENDING_CITY,
            undecided=True,
            offset=offset,
            limit=PAGE_SIZE,
        )
        decided = submissions.list_submissions(
            session, actor, status=SubmissionStatus.PENDING_CITY, undecided=False, limit=100
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
        history = submissions.list_compilations(session, actor, region_id, limit=10)
        districts.append((region, pending, history))
    report = updates.overdue(session, actor)
    unmet = demands.list_demands(session, actor, unmet=True, limit=100)
    subs = [s for page in (city_queue, decided) if page for s in page.items] + [
        s for _, p, _ in districts for s in p.items
    ]
    dept_ids = (
        {s.department_id for s in subs}
        | {s.department_id for s in report.reviews}
        | {c.department_id for c in report.changes}
        | {d.department_id for d in unmet.items}
    )
    can_publish = org_policy.is_city_admin(actor)
    return _page(
        request,
        "catalog/review.html",
        {
            "city_queue": city_queue,
            "decided": decided,
            "districts": districts,
            "counts": submissions.entry_counts(session, [s.id for s in subs]),
            "report": report,
            "unmet": unmet,
            "depts": org_service.departments_by_id(session, actor, dept_ids),
            "can_publish": can_publish,
            "preview": submissions.publication_preview(session, actor) if can_publish else None,
            "publication": publishing.latest(session, actor) if can_publish else None,
            "PublicationStatus": PublicationStatus,
            "can_compile": actor.has(Role.DISTRICT_BUREAU_ADMIN),
            "base_query": _query_without(request, "offset", "msg"),
            "flash": flash,
            "error": error,
            "error_region": error_region,
        },
        status_code=status_code,
    )


@router.get("/review")
def review_queue(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    offset: Offset = 0,
    msg: str | None = None,
) -> Response:
    return _review_page(request, session, actor, offset=offset, flash=_flash(msg))


@router.post("/districts/{region_id}/compile")
def compile_district(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    region_id: DbId,
    note: Annotated[str, Form(max_length=2000)] = "",
    submission_id: Annotated[list[DbId] | None, Form()] = None,
) -> Response:
    """Compile the submissions ticked on the review page (Art. 12 ¶1) and forward them."""
    try:
        compilation = review.compile_district(
            session, actor, region_id, note=note, submission_ids=submission_id or []
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        return _review_page(
            request,
            session,
            actor,
            error=message,
            error_region=region_id,
            status_code=exc.status,
        )
    return RedirectResponse(f"/catalog/compilations/{compilation.id}?msg=compiled", status_code=303)


@router.get("/districts/{region_id}/compilations")
def compilation_history(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    region_id: DbId,
    offset: Offset = 0,
) -> Response:
    """Everything a district bureau compiled and forwarded, newest first (Art. 12 ¶1)."""
    org_policy.require_staff(actor)
    history = submissions.list_compilations(
        session, actor, region_id, offset=offset, limit=PAGE_SIZE
    )
    region = org_service.get_region(session, actor, region_id)
    return _page(
        request,
        "catalog/compilations.html",
        {"region": region, "history": history},
    )


@router.get("/compilations/{compilation_id}")
def compilation_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    compilation_id: DbId,
    msg: str | None = None,
) -> Response:
    """One compilation of a district bureau: what it forwarded and returned (Art. 12 ¶1)."""
    org_policy.require_staff(actor)
    compilation, rows = submissions.get_compilation(session, actor, compilation_id)
    region = org_service.get_region(session, actor, compilation.region_id)
    depts = org_service.departments_by_id(
        session, actor, {r.submission.department_id for r in rows}
    )
    compiler = session.get(Person, compilation.compiled_by) if compilation.compiled_by else None
    return _page(
        request,
        "catalog/compilation.html",
        {
            "c": compilation,
            "region": region,
            "rows": rows,
            "depts": depts,
            "compiler": compiler.name if compiler else "",
            "flash": _flash(msg),
        },
    )


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
    district_error: str | None = None,
    district_reason: str = "",
    district_chosen: frozenset[int] = frozenset(),
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
            # The district bureau reviews before compiling (Art. 12 ¶1).
            "can_district_review": submission.status == SubmissionStatus.PENDING_DISTRICT
            and submission.region_id in actor.region_ids(),
            "district_error": district_error,
            "district_reason": district_reason,
            "district_chosen": district_chosen,
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


@router.post("/submissions/{submission_id}/district-return")
def district_return(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    submission_id: DbId,
    reason: Annotated[str, Form(max_length=2000)] = "",
    entry_id: Annotated[list[DbId] | None, Form()] = None,
) -> Response:
    """The district bureau returns the ticked entries with a reason (Art. 12 ¶1)."""
    chosen = entry_id or []
    try:
        district.return_entries(session, actor, submission_id, chosen, reason)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        return _submission_page(
            request,
            session,
            actor,
            submission_id,
            district_error=message,
            district_reason=reason,
            district_chosen=frozenset(chosen),
            status_code=exc.status,
        )
    return RedirectResponse(
        f"/catalog/submissions/{submission_id}?msg=district_returned", status_code=303
    )


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


@router.get("/publish")
def publish_confirm(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    """Say what publishing will do, with its counts, before it is done (Art. 12 ¶3)."""
    preview = submissions.publication_preview(session, actor)
    return _page(request, "catalog/publish.html", {"preview": preview})


@router.post("/publish")
def publish(
    request: Request,
    background: BackgroundTasks,
    session: DbSession,
    actor: CurrentActor,
    note: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Confirmed: record the publication and run it as a background job (Art. 12 ¶3)."""
    if confirm != "yes":  # not from the confirmation page: show what it would do first
        return RedirectResponse("/catalog/publish", status_code=303)
    try:
        publication = publishing.request(session, actor, note=note)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        preview = submissions.publication_preview(session, actor)
        return _page(
            request,
            "catalog/publish.html",
            {"preview": preview, "error": message, "note": note},
            status_code=exc.status,
        )
    state = request.app.state
    # After the response, when the publication row is committed.
    background.add_task(
        publishing.start, state.sessionmaker, state.engine, state.settings.jobs, publication.id
    )
    return RedirectResponse(f"/catalog/publications/{publication.id}", status_code=303)


@router.get("/publications/{publication_id}")
def publication_page(
    request: Request, session: DbSession, actor: CurrentActor, publication_id: DbId
) -> Response:
    """A publication's stage and progress; the page reloads itself until it has ended."""
    publication = publishing.get(session, actor, publication_id)
    status = PublicationStatus(publication.status)
    stage, done, total = publishing.progress(publication)
    return _page(
        request,
        "catalog/publication.html",
        {
            "p": publication,
            "status": status,
            "stage": publishing.STAGES.get(stage, stage),
            "done": done,
            "total": total,
        },
    )
