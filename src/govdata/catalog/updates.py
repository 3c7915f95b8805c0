"""Catalog updates within statutory deadlines (Art. 14).

A department records a change of law or of its functions; it must apply to the city bureau for a
catalog update within 10 working days of the change (¶1). Its application is a submission
(``review.submit(..., change_id=...)``); the city bureau must review and update the catalog within
5 working days of receiving it (¶2, ``Submission.review_due``). Both clocks run on the statutory
calendar; what is overdue is flagged on both sides (and feeds Art. 50(8) supervision later).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from govdata.catalog import policy
from govdata.catalog.models import CatalogChange, Submission, SubmissionStatus
from govdata.catalog.schemas import ChangeIn
from govdata.core import audit, calendar
from govdata.core.actor import Actor
from govdata.core.errors import InvalidInput, NotFound
from govdata.core.pagination import Page, paginate
from govdata.org import policy as org_policy
from govdata.org import service as org_service
from govdata.org.models import Department

APPLY_WORKING_DAYS = 10  # Art. 14 ¶1
CHANGE_KINDS = {"law": "法律法规修改", "function": "行政管理职能变更"}


@dataclass(frozen=True)
class Clock:
    """Where a statutory clock stands on a given day."""

    due: date
    done_on: date | None
    provisional: bool
    today: date

    @property
    def overdue(self) -> bool:
        """Past due and not done."""
        return self.done_on is None and self.today > self.due

    @property
    def late(self) -> bool:
        """Done, but after the due date."""
        return self.done_on is not None and self.done_on > self.due

    @property
    def label(self) -> str:
        if self.overdue:
            return "已逾期"
        if self.late:
            return "逾期办结"
        if self.done_on is not None:
            return "按期办结"
        return "办理中"


def apply_clock(change: CatalogChange, today: date | None = None) -> Clock:
    return Clock(
        due=change.apply_due,
        done_on=change.applied_on,
        provisional=change.apply_due_provisional,
        today=today or calendar.today(),
    )


def review_clock(submission: Submission, today: date | None = None) -> Clock | None:
    """The city's 5-working-day clock; None for a first compilation (no statutory clock)."""
    if submission.review_due is None:
        return None
    return Clock(
        due=submission.review_due,
        done_on=submission.closed_on,
        provisional=submission.review_due_provisional,
        today=today or calendar.today(),
    )


def record_change(
    session: Session, actor: Actor, department_id: int, data: ChangeIn
) -> CatalogChange:
    """Record a change of law or functions; the 10-working-day clock starts (Art. 14 ¶1)."""
    department = org_service.get_department(session, actor, department_id)
    policy.require_edit_list(actor, department.id)
    if data.occurred_on > calendar.today():
        raise InvalidInput("catalog.change_in_future", "变更日期不能晚于今天。")
    due = calendar.deadline(session, data.occurred_on, APPLY_WORKING_DAYS)
    change = CatalogChange(
        department_id=department.id,
        kind=data.kind,
        description=data.description,
        occurred_on=data.occurred_on,
        apply_due=due.due,
        apply_due_provisional=due.provisional,
        recorded_by=actor.person_id,
    )
    session.add(change)
    session.flush()
    audit.record(
        session,
        actor,
        "catalog.change.record",
        object_type="catalog_change",
        object_id=change.id,
        summary=(
            f"{department.name}登记{CHANGE_KINDS[data.kind]}（{data.occurred_on.isoformat()}），"
            f"应于{due.due.isoformat()}前申请更新目录"
        ),
        change=data.model_dump(mode="json"),
        region_id=department.region_id,
        department_id=department.id,
    )
    return change


def _visible_changes(actor: Actor) -> Select[CatalogChange]:
    return (
        select(CatalogChange)
        .join(Department, CatalogChange.department_id == Department.id)
        .where(org_policy.department_filter(actor))
    )


def get_change(session: Session, actor: Actor, change_id: int) -> CatalogChange:
    change = session.scalar(_visible_changes(actor).where(CatalogChange.id == change_id))
    if change is None:
        raise NotFound("catalog.change_not_found", "未找到该变更记录。")
    return change


def list_changes(
    session: Session,
    actor: Actor,
    *,
    department_id: int | None = None,
    overdue_only: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> Page[CatalogChange]:
    org_policy.require_staff(actor)
    stmt = _visible_changes(actor)
    if department_id is not None:
        stmt = stmt.where(CatalogChange.department_id == department_id)
    if overdue_only:
        today = calendar.today()
        stmt = stmt.where(
            or_(
                and_(CatalogChange.applied_on.is_(None), CatalogChange.apply_due < today),
                CatalogChange.applied_on > CatalogChange.apply_due,
            )
        )
    return paginate(session, stmt.order_by(CatalogChange.apply_due), offset, limit)


def open_changes(session: Session, actor: Actor, department_id: int) -> list[CatalogChange]:
    """Changes not yet applied for: what a submission may name as its reason."""
    return list(
        session.scalars(
            _visible_changes(actor)
            .where(
                CatalogChange.department_id == department_id,
                CatalogChange.submission_id.is_(None),
            )
            .order_by(CatalogChange.apply_due)
        )
    )


@dataclass(frozen=True)
class OverdueReport:
    """What is overdue on both sides of Art. 14 as of ``today``."""

    today: date
    changes: list[CatalogChange]  # departments that have not applied in time
    reviews: list[Submission]  # applications the city bureau has not reviewed in time


def overdue(session: Session, actor: Actor) -> OverdueReport:
    org_policy.require_staff(actor)
    today = calendar.today()
    changes = list(
        session.scalars(
            _visible_changes(actor)
            .where(CatalogChange.applied_on.is_(None), CatalogChange.apply_due < today)
            .order_by(CatalogChange.apply_due)
        )
    )
    from govdata.catalog.submissions import visible_submissions

    reviews = list(
        session.scalars(
            visible_submissions(actor)
            .where(
                Submission.status != SubmissionStatus.CLOSED,
                Submission.review_due.is_not(None),
                Submission.review_due < today,
            )
            .order_by(Submission.review_due)
        )
    )
    return OverdueReport(today=today, changes=changes, reviews=reviews)
