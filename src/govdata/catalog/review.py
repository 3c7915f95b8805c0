"""Submitting, compiling, reviewing and publishing the catalog (Art. 12, 13, 14).

A department submits its changed entries (and its demand list). District departments submit to
their district bureau, which compiles its region's submissions and forwards them to the city;
city departments submit to the city directly (Art. 12 ¶1–3). The city bureau approves each entry
or returns it with a reason, then publishes a numbered version of the catalog (Art. 12 ¶3).
Once a published catalog exists, every submission is an update application that the city bureau
must review within 5 working days of receiving it (Art. 14 ¶2).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import and_, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session, selectinload

from govdata.catalog import district, policy, search, updates
from govdata.catalog.models import (
    CatalogChange,
    CatalogVersion,
    CatalogVersionMember,
    Demand,
    DemandStatus,
    DistrictCompilation,
    EntryAction,
    EntryStatus,
    Resource,
    ResourceRevision,
    ResourceState,
    ReviewEntry,
    ReviewStage,
    Submission,
    SubmissionStatus,
)
from govdata.catalog.service import snapshot
from govdata.catalog.submissions import get_entry
from govdata.core import audit, calendar
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.org import service as org_service
from govdata.org.models import Region

REVIEW_WORKING_DAYS = updates.REVIEW_WORKING_DAYS  # Art. 14 ¶2


def _receive(session: Session, actor: Actor, submission: Submission) -> None:
    """The city receives a submission today; an update application starts its review clock."""
    received = calendar.today()
    submission.status = SubmissionStatus.PENDING_CITY
    submission.received_on = received
    submission.is_update = session.scalar(select(func.count(CatalogVersion.id))) != 0
    if submission.is_update:
        updates.start_review(session, actor, submission)


def submit(
    session: Session,
    actor: Actor,
    department_id: int,
    *,
    note: str = "",
    change_id: int | None = None,
) -> Submission:
    """Submit every changed entry of a department's catalog list and demand list."""
    department = org_service.get_department(session, actor, department_id)
    policy.require_edit_list(actor, department.id)
    region = session.get(Region, department.region_id)
    assert region is not None
    change = None
    if change_id is not None:
        change = session.get(CatalogChange, change_id)
        if change is None or change.department_id != department.id:
            raise NotFound("catalog.change_not_found", "未找到本部门的该项变更记录。")
        if change.submission_id is not None:
            raise Conflict("catalog.change_already_applied", "该变更已提交过更新申请。")

    resources = list(
        session.scalars(
            select(Resource)
            .where(
                Resource.department_id == department.id,
                Resource.state.in_([ResourceState.DRAFT, ResourceState.RETURNED]),
            )
            .options(selectinload(Resource.items), selectinload(Resource.classification))
            .order_by(Resource.id)
        )
    )
    demands = list(
        session.scalars(
            select(Demand)
            .where(
                Demand.department_id == department.id,
                Demand.status.in_([DemandStatus.DRAFT, DemandStatus.RETURNED]),
            )
            .order_by(Demand.id)
        )
    )
    if not resources and not demands:
        raise InvalidInput(
            "catalog.nothing_to_submit", "目录清单和需求清单均无新增或变更的内容，无需提交。"
        )

    submission = Submission(
        department_id=department.id,
        region_id=region.id,
        status=SubmissionStatus.PENDING_DISTRICT,
        note=note,
        submitted_by=actor.person_id,
        submitted_at=utcnow(),
        change_id=change.id if change else None,
    )
    session.add(submission)
    session.flush()
    if region.is_city:
        _receive(session, actor, submission)

    revision_numbers = dict(
        session.execute(
            select(ResourceRevision.resource_id, func.max(ResourceRevision.number))
            .where(ResourceRevision.resource_id.in_([r.id for r in resources]))
            .group_by(ResourceRevision.resource_id)
        ).all()
    )
    for resource in resources:
        data = snapshot(resource, department, resource.classification)
        if resource.withdrawn:
            # Also for one submitted before but never published: the withdrawal is reviewed.
            action = EntryAction.WITHDRAW
        elif resource.published_revision_id is None:
            action = EntryAction.ADD
        else:
            action = EntryAction.MODIFY
        revision = ResourceRevision(
            resource_id=resource.id,
            number=revision_numbers.get(resource.id, 0) + 1,
            code=resource.code,
            department_id=department.id,
            region_id=region.id,
            category=resource.classification.category,
            classification_code=resource.classification.code,
            name=resource.name,
            format=resource.format,
            share_type=resource.share_type,
            open_type=resource.open_type,
            update_cycle=resource.update_cycle,
            withdrawn=resource.withdrawn,
            data=data,
            search_terms=search.document(data),
        )
        session.add(revision)
        session.flush()
        resource.latest_revision_id = revision.id
        resource.state = ResourceState.SUBMITTED
        session.add(
            ReviewEntry(
                submission_id=submission.id,
                action=action,
                resource_id=resource.id,
                revision_id=revision.id,
            )
        )
    for demand in demands:
        demand.status = DemandStatus.SUBMITTED
        demand.return_reason = ""
        session.add(
            ReviewEntry(submission_id=submission.id, action=EntryAction.DEMAND, demand_id=demand.id)
        )
    if change is not None:
        updates.mark_applied(session, actor, change, submission)
    session.flush()
    where = "市数据主管部门" if region.is_city else f"{region.name}数据主管部门"
    audit.record(
        session,
        actor,
        "catalog.list.submit",
        object_type="submission",
        object_id=submission.id,
        summary=(
            f"{department.name}向{where}提交目录清单{len(resources)}条、需求清单{len(demands)}条"
        ),
        change={
            "resources": [r.code for r in resources],
            "demands": [d.id for d in demands],
            "change_id": change_id,
        },
        region_id=region.id,
        department_id=department.id,
    )
    return submission


def compile_district(
    session: Session,
    actor: Actor,
    region_id: int,
    *,
    note: str = "",
    submission_ids: list[int] | None = None,
) -> DistrictCompilation:
    """The district bureau compiles its departments' submissions and forwards them (Art. 12).

    ``submission_ids``: the submissions it compiles now (default: every one waiting). Their
    entries the bureau did not return (``district.return_entries``) go to the city; a
    submission it returned in full is closed, not forwarded. Every one is linked to the
    compilation, the record of what was compiled and forwarded.
    """
    policy.require_compile_district(actor, region_id)
    stmt = select(Submission).where(
        Submission.region_id == region_id,
        Submission.status == SubmissionStatus.PENDING_DISTRICT,
    )
    if submission_ids is not None:
        wanted = set(submission_ids)
        if not wanted:
            raise InvalidInput("catalog.no_submissions_selected", "请先勾选要汇总报送的清单。")
        stmt = stmt.where(Submission.id.in_(wanted))
    pending = list(session.scalars(stmt.order_by(Submission.id)))
    if submission_ids is not None and len(pending) != len(set(submission_ids)):
        raise Conflict(
            "catalog.submission_not_at_district", "所选清单中有不属于本区县待汇总的清单。"
        )
    if not pending:
        raise InvalidInput("catalog.nothing_to_compile", "本区县没有待汇总的部门清单。")
    still_pending = set(
        session.scalars(
            select(ReviewEntry.submission_id).where(
                ReviewEntry.submission_id.in_([s.id for s in pending]),
                ReviewEntry.status == EntryStatus.PENDING,
            )
        )
    )
    compilation = DistrictCompilation(
        region_id=region_id,
        compiled_by=actor.person_id,
        submission_count=len(pending),
        note=note,
    )
    session.add(compilation)
    session.flush()
    forwarded, closed = [], []
    for submission in pending:
        submission.compilation_id = compilation.id
        if submission.id in still_pending:
            _receive(session, actor, submission)
            forwarded.append(submission.id)
        else:  # every entry returned to the department: nothing to forward
            submission.status = SubmissionStatus.CLOSED
            submission.closed_on = calendar.today()
            closed.append(submission.id)
    session.flush()
    region = session.get(Region, region_id)
    where = region.name if region else str(region_id)
    summary = f"{where}汇总{len(pending)}份部门清单，报送市级{len(forwarded)}份"
    if closed:
        summary += f"，{len(closed)}份已全部退回部门"
    audit.record(
        session,
        actor,
        "catalog.list.compile",
        object_type="district_compilation",
        object_id=compilation.id,
        summary=summary,
        change={"submissions": [s.id for s in pending], "forwarded": forwarded, "closed": closed},
        region_id=region_id,
    )
    return compilation


# --- deciding and publishing ------------------------------------------------------------------


def decide(
    session: Session, actor: Actor, entry_id: int, *, approve: bool, reason: str = ""
) -> ReviewEntry:
    """The city bureau approves one entry, or returns it with a reason (Art. 12 ¶3)."""
    entry = get_entry(session, actor, entry_id)
    policy.require_city_review(actor)
    submission = session.get(Submission, entry.submission_id)
    assert submission is not None
    if submission.status != SubmissionStatus.PENDING_CITY:
        raise Conflict("catalog.submission_not_at_city", "该清单尚未报送到市数据主管部门。")
    if entry.status != EntryStatus.PENDING:
        raise Conflict("catalog.entry_decided", "该条目已审核，不能重复审核。")
    reason = reason.strip()
    if not approve and not reason:
        raise InvalidInput("catalog.return_reason_required", "退回时须说明理由。")
    label = district.settle(
        session, actor, entry, approve=approve, reason=reason, stage=ReviewStage.CITY
    )
    session.flush()
    _close_if_done(session, actor, submission)
    audit.record(
        session,
        actor,
        "catalog.entry.approve" if approve else "catalog.entry.return",
        object_type="review_entry",
        object_id=entry.id,
        summary=f"{'审核通过' if approve else '退回'}{label}" + (f"：{reason}" if reason else ""),
        change={"approve": approve, "reason": reason, "submission_id": submission.id},
        region_id=submission.region_id,
        department_id=submission.department_id,
    )
    return entry


def _close_if_done(session: Session, actor: Actor, submission: Submission) -> None:
    """A submission is done when no entry is pending and no approved entry awaits publishing."""
    open_entries = session.scalar(
        select(func.count(ReviewEntry.id)).where(
            ReviewEntry.submission_id == submission.id,
            ReviewEntry.status.in_([EntryStatus.PENDING, EntryStatus.APPROVED]),
            # An accepted demand has nothing to publish.
            ~and_(
                ReviewEntry.action == EntryAction.DEMAND,
                ReviewEntry.status == EntryStatus.APPROVED,
            ),
        )
    )
    if not open_entries:
        submission.status = SubmissionStatus.CLOSED
        submission.closed_on = calendar.today()
        updates.finish_review(session, actor, submission)


def current_version(session: Session) -> CatalogVersion | None:
    return session.scalar(select(CatalogVersion).order_by(CatalogVersion.number.desc()).limit(1))


#: ``progress(stage, done, total)``: what ``publish`` is doing, for the page that follows it.
Progress = Callable[[str, int, int], None]


def publish(
    session: Session, actor: Actor, *, note: str = "", progress: Progress | None = None
) -> CatalogVersion:
    """Publish the next version of the city catalog with every approved entry (Art. 12 ¶3).

    Set-based, so a catalog of 100,000 resources publishes in a handful of statements. The
    responsibility lists, share catalog and open catalog are derived from the version, so they
    change with it (Art. 13 ¶1, Art. 14 ¶2 "同步更新责任清单"). The pages run it as a
    background job (``publishing``), reporting its stages through ``progress``.
    """

    def report(stage: str, done: int = 0, total: int = 0) -> None:
        if progress is not None:
            progress(stage, done, total)

    policy.require_city_review(actor)
    approved = (
        select(ReviewEntry.resource_id, ReviewEntry.revision_id, ReviewEntry.action)
        .where(
            ReviewEntry.status == EntryStatus.APPROVED,
            ReviewEntry.action != EntryAction.DEMAND,
        )
        .subquery()
    )
    counts: dict[str, int] = dict(
        session.execute(select(approved.c.action, func.count()).group_by(approved.c.action)).all()
    )
    if not counts:
        raise InvalidInput("catalog.nothing_to_publish", "没有审核通过待发布的条目。")
    report("members", 0, sum(counts.values()))
    previous = current_version(session)
    version = CatalogVersion(
        number=(previous.number if previous else 0) + 1,
        published_at=utcnow(),
        published_by=actor.person_id,
        note=note,
        added=counts.get(EntryAction.ADD, 0),
        changed=counts.get(EntryAction.MODIFY, 0),
        removed=0,
    )
    session.add(version)
    session.flush()
    members = CatalogVersionMember
    if previous is not None:
        # Carry over every member not touched by an approved entry.
        touched = exists().where(approved.c.resource_id == members.resource_id)
        session.execute(
            insert(CatalogVersionMember).from_select(
                ["version_id", "resource_id", "revision_id"],
                select(
                    literal(version.id),
                    members.resource_id,
                    members.revision_id,
                ).where(members.version_id == previous.id, ~touched),
            )
        )
    session.execute(
        insert(CatalogVersionMember).from_select(
            ["version_id", "resource_id", "revision_id"],
            select(
                literal(version.id),
                approved.c.resource_id,
                approved.c.revision_id,
            ).where(approved.c.action.in_([EntryAction.ADD, EntryAction.MODIFY])),
        )
    )
    removed = 0
    if previous is not None:
        removed = (
            session.scalar(
                select(func.count())
                .select_from(approved)
                .where(
                    approved.c.action == EntryAction.WITHDRAW,
                    exists().where(
                        members.version_id == previous.id,
                        members.resource_id == approved.c.resource_id,
                    ),
                )
            )
            or 0
        )
    version.removed = removed
    version.resource_count = (
        session.scalar(select(func.count()).where(members.version_id == version.id)) or 0
    )

    report("resources", 0, sum(counts.values()))
    entry_of = (
        select(ReviewEntry.revision_id)
        .where(
            ReviewEntry.resource_id == Resource.id,
            ReviewEntry.status == EntryStatus.APPROVED,
        )
        .scalar_subquery()
    )
    approved_ids = select(approved.c.resource_id).where(
        approved.c.action.in_([EntryAction.ADD, EntryAction.MODIFY])
    )
    withdrawn_ids = select(approved.c.resource_id).where(approved.c.action == EntryAction.WITHDRAW)
    session.execute(
        update(Resource)
        .where(Resource.id.in_(approved_ids))
        .values(published_revision_id=entry_of, state=ResourceState.PUBLISHED.value)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Resource)
        .where(Resource.id.in_(withdrawn_ids))
        .values(published_revision_id=None, state=ResourceState.RETIRED.value)
        .execution_options(synchronize_session=False)
    )
    touched_resources = list(
        session.scalars(
            select(ReviewEntry.resource_id).where(
                ReviewEntry.status == EntryStatus.APPROVED,
                ReviewEntry.action != EntryAction.DEMAND,
            )
        )
    )
    session.execute(
        update(ReviewEntry)
        .where(
            ReviewEntry.status == EntryStatus.APPROVED,
            ReviewEntry.action != EntryAction.DEMAND,
        )
        .values(status=EntryStatus.PUBLISHED, version_id=version.id)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    report("submissions")
    for submission in session.scalars(
        select(Submission).where(Submission.status == SubmissionStatus.PENDING_CITY)
    ):
        _close_if_done(session, actor, submission)
    session.flush()

    indexed = [r for r in touched_resources if r is not None]
    report("index", 0, len(indexed))
    search.reindex(
        session,
        indexed,
        progress=lambda done, total: report("index", done, total),
        broad_progress=lambda done, total: report("broad", done, total),
    )
    audit.record(
        session,
        actor,
        "catalog.version.publish",
        object_type="catalog_version",
        object_id=version.number,
        summary=(
            f"发布政务数据资源目录第{version.number}版：共{version.resource_count}条，"
            f"新增{version.added}、变更{version.changed}、撤销{version.removed}"
        ),
        change={"number": version.number, "note": note, "resources": touched_resources},
    )
    return version
