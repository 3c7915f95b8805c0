"""A year of catalog versions (Art. 12 ¶3, Art. 14): the demo's first catalog a year ago, the
aggregation demo's resources the month after, then a monthly update in which one city
department revises a few abstracts, submits them, the city bureau approves them and publishes
the next version, all through the catalog's own services (so revisions, members and
differences between versions are the real ones). Afterwards the times of what was published
are set back to the month it belongs to: versions in number order, one month each.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from govdata.aggregation.models import Pool
from govdata.app.demo_history.months import office_time, working_day
from govdata.catalog import review, service
from govdata.catalog.models import (
    CatalogVersion,
    Demand,
    DemandStatus,
    Resource,
    ResourceRevision,
    ResourceState,
    ReviewEntry,
    Submission,
    SubmissionStatus,
)
from govdata.catalog.updates import SUBMISSION_SUBJECT, UPDATE_APPLICATION
from govdata.core import obligations
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.obligations.models import Obligation
from govdata.core.workdays import WorkCalendar
from govdata.opendata.models import OpenDataset
from govdata.org.models import Department, Region

REVISIONS = (
    "补充数据来源和采集方式的说明",
    "按照最新业务规范修订数据内容说明",
    "补充数据使用中的注意事项",
    "明确数据更新的时点和口径",
)


@dataclass(frozen=True)
class _Update:
    department: Department
    resources: list[Resource]


def _candidates(session: Session, rng: random.Random, count: int) -> list[_Update]:
    """City departments with nothing of their own under way, and published resources that no
    pool, open dataset or other demo step builds on."""
    busy_resources = exists().where(Pool.resource_id == Resource.id) | exists().where(
        OpenDataset.resource_id == Resource.id
    )
    busy_departments = set(
        session.scalars(
            select(Resource.department_id).where(Resource.state != ResourceState.PUBLISHED)
        )
    )
    busy_departments |= set(
        session.scalars(
            select(Demand.department_id).where(
                Demand.status.in_([DemandStatus.DRAFT, DemandStatus.RETURNED])
            )
        )
    )
    busy_departments |= set(
        session.scalars(
            select(Submission.department_id).where(Submission.status != SubmissionStatus.CLOSED)
        )
    )
    departments = [
        d
        for d in session.scalars(
            select(Department)
            .join(Region, Region.id == Department.region_id)
            .where(Region.kind == "city", Department.is_data_bureau.is_(False))
            .order_by(Department.id)
        )
        if d.id not in busy_departments
    ]
    rng.shuffle(departments)
    updates: list[_Update] = []
    for dept in departments:
        resources = list(
            session.scalars(
                select(Resource)
                .where(
                    Resource.department_id == dept.id,
                    Resource.state == ResourceState.PUBLISHED,
                    ~busy_resources,
                )
                .order_by(Resource.id)
            )
        )
        if not resources:
            continue
        updates.append(_Update(dept, rng.sample(resources, min(len(resources), rng.randint(2, 4)))))
        if len(updates) == count:
            break
    return updates


def _publish_update(session: Session, city: Actor, u: _Update, month: date, n: int) -> int:
    """One department's revision, submitted, approved and published: the new version's id."""
    officer = Actor(
        person_id=None,
        name=f"{u.department.name}数据专职人员",
        grants=(RoleGrant(Role.DEPARTMENT_OFFICER, department_id=u.department.id),),
    )
    note = REVISIONS[n % len(REVISIONS)]
    for listed in u.resources:
        resource = service.get_resource(session, officer, listed.id)
        data = service.as_input(resource)
        stamp = f"（{month.year}年{month.month}月修订：{note}。）"
        abstract = (data.abstract + stamp)[-4000:]
        service.update_resource(
            session, officer, resource.id, data.model_copy(update={"abstract": abstract})
        )
    submission = review.submit(
        session, officer, u.department.id, note=f"{month.month}月目录更新：{note}"
    )
    for entry_id in session.scalars(
        select(ReviewEntry.id).where(ReviewEntry.submission_id == submission.id)
    ):
        review.decide(session, city, entry_id, approve=True)
    version = review.publish(
        session, city, note=f"{u.department.name}更新{len(u.resources)}个数据资源：{note}"
    )
    return version.id


def date_versions(
    session: Session, months: list[date], cal: WorkCalendar, new_ids: dict[int, int]
) -> int:
    """Spread every version over the months, in number order (the last in the last month)."""
    versions = list(session.scalars(select(CatalogVersion).order_by(CatalogVersion.number)))
    if not versions:
        return 0
    for i, version in enumerate(versions):
        month = months[min(len(months) - 1, i * len(months) // max(len(versions), len(months)))]
        day = working_day(cal, month, 10 + version.number % 8)
        version.published_at = office_time(day, 420)
        submission_id = new_ids.get(version.id)
        if submission_id is not None:
            _date_submission(session, submission_id, day, version.published_at, cal)
    return len(versions)


def _date_submission(
    session: Session, submission_id: int, published: date, at: datetime, cal: WorkCalendar
) -> None:
    received = published
    for _ in range(2):
        received -= timedelta(days=1)
        while not cal.is_workday(received):
            received -= timedelta(days=1)
    submission = session.get(Submission, submission_id)
    assert submission is not None
    submission.submitted_at = office_time(received, 60)
    submission.received_on = received
    submission.review_due = obligations.deadline(session, UPDATE_APPLICATION, received).due
    submission.closed_on = published
    session.execute(
        update(ReviewEntry)
        .where(ReviewEntry.submission_id == submission_id)
        .values(decided_at=at - timedelta(minutes=30))
    )
    session.execute(
        update(ResourceRevision)
        .where(
            ResourceRevision.id.in_(
                select(ReviewEntry.revision_id).where(ReviewEntry.submission_id == submission_id)
            )
        )
        .values(created_at=submission.submitted_at)
    )
    session.execute(
        update(Obligation)
        .where(
            Obligation.subject_type == SUBMISSION_SUBJECT,
            Obligation.subject_id == submission_id,
        )
        .values(
            started_on=received,
            due_on=submission.review_due,
            answered_on=published,
            overdue=False,
            created_at=submission.submitted_at,
        )
    )


def publish_year(
    session: Session, city: Actor, months: list[date], cal: WorkCalendar, rng: random.Random
) -> int:
    """Publish a monthly update for the months the demo's own versions leave, then date every
    version; the number of versions."""
    existing = len(list(session.scalars(select(CatalogVersion.id))))
    wanted = max(0, len(months) - existing)
    submissions: dict[int, int] = {}
    for n, u in enumerate(_candidates(session, rng, wanted)):
        month = months[existing + n]
        version_id = _publish_update(session, city, u, month, n)
        submission_id = session.scalar(
            select(Submission.id)
            .where(Submission.department_id == u.department.id)
            .order_by(Submission.id.desc())
            .limit(1)
        )
        assert submission_id is not None
        submissions[version_id] = submission_id
    return date_versions(session, months, cal, submissions)
