"""The catalog's counts on each role's home page, scoped like every other read (Art. 12–14)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from govdata.catalog import policy
from govdata.catalog.models import (
    CatalogChange,
    CatalogVersion,
    EntryStatus,
    Resource,
    ResourceState,
    ReviewEntry,
    Submission,
    SubmissionStatus,
)
from govdata.catalog.submissions import visible_submissions
from govdata.core import calendar
from govdata.core.actor import Actor, Role
from govdata.org import policy as org_policy
from govdata.org.models import Department
from govdata.web.domain import Section, Stat


def _count(session: Session, stmt: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def sections(session: Session, actor: Actor) -> list[Section]:
    if actor.is_public or not actor.roles:
        return []
    out: list[Section] = []
    today = calendar.today()
    version = session.scalar(select(CatalogVersion).order_by(CatalogVersion.number.desc()).limit(1))
    if org_policy.sees_everything(actor) or actor.has(Role.DISTRICT_BUREAU_ADMIN):
        submissions = visible_submissions(actor)
        stats = [
            Stat(
                "catalog_version",
                "已发布目录",
                f"第{version.number}版 · {version.resource_count}条" if version else "尚未发布",
                "/catalog",
            )
        ]
        if org_policy.sees_everything(actor):
            pending = (
                select(ReviewEntry.id)
                .join(Submission, Submission.id == ReviewEntry.submission_id)
                .where(
                    ReviewEntry.status == EntryStatus.PENDING,
                    Submission.status == SubmissionStatus.PENDING_CITY,
                )
            )
            stats.append(
                Stat("catalog_pending", "待审核条目", _count(session, pending), "/catalog/review")
            )
        if actor.has(Role.DISTRICT_BUREAU_ADMIN):
            waiting = submissions.where(Submission.status == SubmissionStatus.PENDING_DISTRICT)
            stats.append(
                Stat(
                    "catalog_to_compile",
                    "待汇总的部门清单",
                    _count(session, waiting),
                    "/catalog/review",
                )
            )
        late = submissions.where(
            Submission.status != SubmissionStatus.CLOSED,
            Submission.review_due.is_not(None),
            Submission.review_due < today,
        )
        stats.append(
            Stat(
                "catalog_review_overdue",
                "逾期未审的更新申请",
                _count(session, late),
                "/catalog/review",
            )
        )
        out.append(Section("政务数据资源目录", stats))
    dept_ids = actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)
    for dept in session.scalars(select(Department).where(Department.id.in_(dept_ids))):
        mine = policy.visible_resources(actor).where(
            Resource.department_id == dept.id,
            Resource.state != ResourceState.RETIRED,
        )
        drafts = mine.where(Resource.state == ResourceState.DRAFT)
        returned = mine.where(Resource.state == ResourceState.RETURNED)
        overdue = select(CatalogChange.id).where(
            CatalogChange.department_id == dept.id,
            CatalogChange.applied_on.is_(None),
            CatalogChange.apply_due < today,
        )
        link = f"/catalog/departments/{dept.id}/list"
        out.append(
            Section(
                f"{dept.name}目录清单",
                [
                    Stat("catalog_resources", "目录清单资源", _count(session, mine), link),
                    # Each figure opens the list filtered to what it counts.
                    Stat(
                        "catalog_drafts",
                        "草稿（未报送）",
                        _count(session, drafts),
                        link + "?state=draft",
                    ),
                    Stat(
                        "catalog_returned",
                        "退回待修改",
                        _count(session, returned),
                        link + "?state=returned",
                    ),
                    Stat(
                        "catalog_change_overdue",
                        "逾期未申请的目录更新",
                        _count(session, overdue),
                        f"/catalog/departments/{dept.id}/changes",
                    ),
                ],
            )
        )
    return out
