"""Reading the lists submitted for review (Art. 12, 14): submissions, their entries, what a
reviewer and a department see of them. Scoped like every read: outside it, "not found"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session, selectinload

from govdata.catalog import policy
from govdata.catalog.models import (
    CatalogVersion,
    Demand,
    DistrictCompilation,
    EntryAction,
    EntryStatus,
    Resource,
    ResourceRevision,
    ReviewEntry,
    ReviewStage,
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


def has_pending_entries() -> ColumnElement[bool]:
    """A submission with an entry nobody has decided yet: still to be reviewed."""
    return exists().where(
        ReviewEntry.submission_id == Submission.id, ReviewEntry.status == EntryStatus.PENDING
    )


def list_submissions(
    session: Session,
    actor: Actor,
    *,
    status: SubmissionStatus | None = None,
    department_id: int | None = None,
    region_id: int | None = None,
    undecided: bool | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Submission]:
    """``undecided``: only submissions with an entry still to decide (True), or only those whose
    every entry is decided (False): the city's queue leaves the latter at once."""
    org_policy.require_staff(actor)
    stmt = visible_submissions(actor)
    if status is not None:
        stmt = stmt.where(Submission.status == status.value)
    if undecided is not None:
        stmt = stmt.where(has_pending_entries() if undecided else ~has_pending_entries())
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


@dataclass(frozen=True)
class PublicationPreview:
    """What ``review.publish`` would do now (Art. 12 ¶3), for the page that confirms it."""

    number: int  # the version it would publish
    current_count: int  # resources in the current version
    added: int
    changed: int
    withdrawn: int

    @property
    def total(self) -> int:
        return self.added + self.changed + self.withdrawn

    @property
    def next_count(self) -> int:
        return self.current_count + self.added - self.withdrawn


def publication_preview(session: Session, actor: Actor) -> PublicationPreview:
    """The approved entries waiting for the next version, by action."""
    policy.require_city_review(actor)
    counts = dict(
        session.execute(
            select(ReviewEntry.action, func.count())
            .where(
                ReviewEntry.status == EntryStatus.APPROVED,
                ReviewEntry.action != EntryAction.DEMAND,
            )
            .group_by(ReviewEntry.action)
        ).all()
    )
    current = session.scalar(select(CatalogVersion).order_by(CatalogVersion.number.desc()).limit(1))
    return PublicationPreview(
        number=(current.number if current else 0) + 1,
        current_count=current.resource_count if current else 0,
        added=counts.get(EntryAction.ADD, 0),
        changed=counts.get(EntryAction.MODIFY, 0),
        withdrawn=counts.get(EntryAction.WITHDRAW, 0),
    )


# --- district compilations (Art. 12 ¶1) -------------------------------------------------------


def _require_region(actor: Actor, region_id: int) -> None:
    policy.require_read_lists(actor)
    if not (org_policy.sees_everything(actor) or region_id in actor.region_ids()):
        raise NotFound("catalog.compilation_not_found", "未找到该汇总报送记录。")


def list_compilations(
    session: Session, actor: Actor, region_id: int, *, offset: int = 0, limit: int = 20
) -> Page[DistrictCompilation]:
    """A district bureau's compilations, newest first: the history of what it forwarded."""
    _require_region(actor, region_id)
    stmt = (
        select(DistrictCompilation)
        .where(DistrictCompilation.region_id == region_id)
        .order_by(DistrictCompilation.id.desc())
    )
    return paginate(session, stmt, offset, limit)


@dataclass(frozen=True)
class CompiledSubmission:
    submission: Submission
    forwarded: int  # entries sent on to the city
    returned: int  # entries the district returned to the department


def get_compilation(
    session: Session, actor: Actor, compilation_id: int
) -> tuple[DistrictCompilation, list[CompiledSubmission]]:
    """One compilation with its submissions and, for each, what was forwarded and returned."""
    compilation = session.get(DistrictCompilation, compilation_id)
    if compilation is None:
        raise NotFound("catalog.compilation_not_found", "未找到该汇总报送记录。")
    _require_region(actor, compilation.region_id)
    subs = list(
        session.scalars(
            select(Submission)
            .where(Submission.compilation_id == compilation.id)
            .order_by(Submission.id)
        )
    )
    counts: dict[tuple[int, bool], int] = {}
    rows = session.execute(
        select(ReviewEntry.submission_id, ReviewEntry.decided_stage, func.count())
        .where(ReviewEntry.submission_id.in_([s.id for s in subs]))
        .group_by(ReviewEntry.submission_id, ReviewEntry.decided_stage)
    )
    for sub_id, stage, n in rows.all():
        key = (sub_id, stage == ReviewStage.DISTRICT)
        counts[key] = counts.get(key, 0) + n
    return compilation, [
        CompiledSubmission(
            s, forwarded=counts.get((s.id, False), 0), returned=counts.get((s.id, True), 0)
        )
        for s in subs
    ]


def entry_counts(session: Session, submission_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many entries of each submission are in each status, for queue tables."""
    counts: dict[int, dict[str, int]] = {}
    if not submission_ids:
        return counts
    rows = session.execute(
        select(ReviewEntry.submission_id, ReviewEntry.status, func.count())
        .where(ReviewEntry.submission_id.in_(submission_ids))
        .group_by(ReviewEntry.submission_id, ReviewEntry.status)
    )
    for sub_id, status, n in rows.all():
        counts.setdefault(sub_id, {})[status] = n
    return counts
