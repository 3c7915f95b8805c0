"""Reading the lists submitted for review (Art. 12, 14): submissions, their entries, what a
reviewer and a department see of them. Scoped like every read: outside it, "not found"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from govdata.catalog import policy
from govdata.catalog.models import (
    Demand,
    EntryAction,
    EntryStatus,
    Resource,
    ResourceRevision,
    ReviewEntry,
    Submission,
    SubmissionStatus,
)
from govdata.core.actor import Actor
from govdata.core.errors import NotFound
from govdata.core.pagination import Page, paginate
from govdata.org import policy as org_policy
from govdata.org.models import Department


def visible_submissions(actor: Actor) -> Select[Submission]:
    policy.require_read_lists(actor)
    return (
        select(Submission)
        .join(Department, Submission.department_id == Department.id)
        .where(org_policy.department_filter(actor))
    )


def list_submissions(
    session: Session,
    actor: Actor,
    *,
    status: SubmissionStatus | None = None,
    department_id: int | None = None,
    region_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Submission]:
    org_policy.require_staff(actor)
    stmt = visible_submissions(actor)
    if status is not None:
        stmt = stmt.where(Submission.status == status.value)
    if department_id is not None:
        stmt = stmt.where(Submission.department_id == department_id)
    if region_id is not None:
        stmt = stmt.where(Submission.region_id == region_id)
    stmt = stmt.order_by(Submission.review_due.is_(None), Submission.review_due, Submission.id)
    return paginate(session, stmt, offset, limit)


def get_submission(session: Session, actor: Actor, submission_id: int) -> Submission:
    submission = session.scalar(
        visible_submissions(actor)
        .where(Submission.id == submission_id)
        .options(selectinload(Submission.entries))
    )
    if submission is None:
        raise NotFound("catalog.submission_not_found", "未找到该清单提交记录。")
    return submission


def get_entry(session: Session, actor: Actor, entry_id: int) -> ReviewEntry:
    entry = session.get(ReviewEntry, entry_id)
    if entry is None:
        raise NotFound("catalog.entry_not_found", "未找到该审核条目。")
    get_submission(session, actor, entry.submission_id)  # scope check: 404 outside it
    return entry


def return_reasons(session: Session, actor: Actor, resource_ids: list[int]) -> dict[int, str]:
    """The reason of each resource's latest return (Art. 12 ¶3), for resources the actor sees."""
    if not resource_ids:
        return {}
    visible = select(Resource.id).join(Department, Resource.department_id == Department.id)
    rows = session.execute(
        select(ReviewEntry.resource_id, ReviewEntry.reason)
        .where(
            ReviewEntry.resource_id.in_(resource_ids),
            ReviewEntry.resource_id.in_(visible.where(org_policy.department_filter(actor))),
            ReviewEntry.status == EntryStatus.RETURNED,
        )
        .order_by(ReviewEntry.id)
    )
    return {rid: reason for rid, reason in rows.all() if rid is not None}


def resource_history(
    session: Session, actor: Actor, resource_id: int, *, limit: int = 20
) -> list[ReviewEntry]:
    """The latest review entries of a resource the actor sees, newest first."""
    from govdata.catalog.service import get_resource

    resource = get_resource(session, actor, resource_id)  # scope: 404 outside it
    return list(
        session.scalars(
            select(ReviewEntry)
            .where(ReviewEntry.resource_id == resource.id)
            .order_by(ReviewEntry.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class EntryDetail:
    """One entry of a submission with what it refers to, for the reviewer's page."""

    entry: ReviewEntry
    revision: ResourceRevision | None
    resource: Resource | None
    demand: Demand | None
    # For a modify entry: the snapshot the catalog carries now (what the entry would replace).
    published: dict[str, Any] | None


def submission_entries(session: Session, actor: Actor, submission_id: int) -> list[EntryDetail]:
    submission = get_submission(session, actor, submission_id)
    entries = list(submission.entries)
    res_ids = {e.resource_id for e in entries if e.resource_id}
    resources = {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(res_ids)))}
    wanted = {e.revision_id for e in entries if e.revision_id} | {
        r.published_revision_id for r in resources.values() if r.published_revision_id
    }
    revisions = {
        r.id: r
        for r in session.scalars(select(ResourceRevision).where(ResourceRevision.id.in_(wanted)))
    }
    demand_ids = {e.demand_id for e in entries if e.demand_id}
    demands = {d.id: d for d in session.scalars(select(Demand).where(Demand.id.in_(demand_ids)))}
    details = []
    for e in entries:
        revision = revisions.get(e.revision_id) if e.revision_id else None
        resource = resources.get(e.resource_id) if e.resource_id else None
        published = None
        if e.action == EntryAction.MODIFY and resource is not None and revision is not None:
            current = revisions.get(resource.published_revision_id or 0)
            if current is not None and current.id != revision.id:
                published = current.data
        details.append(
            EntryDetail(
                entry=e,
                revision=revision,
                resource=resource,
                demand=demands.get(e.demand_id) if e.demand_id else None,
                published=published,
            )
        )
    return details


def has_unpublished_approvals(session: Session) -> bool:
    """Whether approved entries wait for the next version (what ``publish`` would publish)."""
    return (
        session.scalar(
            select(ReviewEntry.id)
            .where(
                ReviewEntry.status == EntryStatus.APPROVED,
                ReviewEntry.action != EntryAction.DEMAND,
            )
            .limit(1)
        )
        is not None
    )
