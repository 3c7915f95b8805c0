"""Catalog updates within statutory deadlines (Art. 14).

A department records a change of law or of its functions; it must apply to the city bureau for a
catalog update within 10 working days of the change (¶1). Its application is a submission
(``review.submit(..., change_id=...)``); the city bureau must review and update the catalog within
5 working days of receiving it (¶2, ``Submission.review_due``). Both clocks are the one statutory
clock (``core.deadlines``) and both are obligations in the register (``core.obligations``),
opened and answered in the same transaction as the change that starts or stops them; what is
overdue is flagged on both sides (and feeds Art. 50(8) supervision). Neither period of Art. 14
may be extended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from govdata.catalog import policy
from govdata.catalog.models import CatalogChange, Submission, SubmissionStatus
from govdata.catalog.schemas import ChangeIn
from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor
from govdata.core.deadlines import Clock
from govdata.core.errors import InvalidInput, NotFound
from govdata.core.pagination import Page, paginate
from govdata.org import policy as org_policy
from govdata.org import service as org_service
from govdata.org.models import Department, Region, RegionKind

APPLY_WORKING_DAYS = 10  # Art. 14 ¶1
REVIEW_WORKING_DAYS = 5  # Art. 14 ¶2
CHANGE_KINDS = {"law": "法律法规修改", "function": "行政管理职能变更"}

#: Art. 14 ¶1: the department applies for a catalog update within 10 working days of a change
#: of law or of its functions (both kinds of change run this one clock).
LAW_CHANGE = obligations.register(
    obligations.Kind(
        code="catalog.law_change",
        label="申请更新目录",
        article="第十四条第一款",
        working_days=APPLY_WORKING_DAYS,
        href="/catalog/departments/{department_id}/changes",
    )
)

#: Art. 14 ¶2: the city bureau reviews an update application within 5 working days of receipt.
UPDATE_APPLICATION = obligations.register(
    obligations.Kind(
        code="catalog.update_application",
        label="审核目录更新申请",
        article="第十四条第二款",
        working_days=REVIEW_WORKING_DAYS,
        href="/catalog/submissions/{subject_id}",
    )
)

CHANGE_SUBJECT = "catalog_change"
SUBMISSION_SUBJECT = "submission"


# --- the clocks -------------------------------------------------------------------------------


def apply_clock(change: CatalogChange, today: date | None = None) -> Clock:
    """The department's 10-working-day clock (Art. 14 ¶1), stopped by its application."""
    return Clock.of(
        start=change.occurred_on,
        working_days=APPLY_WORKING_DAYS,
        due=change.apply_due,
        provisional=change.apply_due_provisional,
        answered_on=change.applied_on,
        today=today or calendar.today(),
    )


def review_clock(submission: Submission, today: date | None = None) -> Clock | None:
    """The city's 5-working-day clock (Art. 14 ¶2), stopped when the submission closes; None
    for a first compilation (no statutory clock)."""
    if submission.review_due is None or submission.received_on is None:
        return None
    return Clock.of(
        start=submission.received_on,
        working_days=REVIEW_WORKING_DAYS,
        due=submission.review_due,
        provisional=submission.review_due_provisional,
        answered_on=submission.closed_on,
        today=today or calendar.today(),
    )


def change_title(department_name: str, kind: str, description: str) -> str:
    """How the register names a change's clock (migration 0005 writes the same)."""
    return f"{department_name}：{CHANGE_KINDS[kind]}“{description}”"


def review_title(department_name: str, submission_id: int) -> str:
    """How the register names an application's review clock (migration 0005 writes the same)."""
    return f"{department_name}的第{submission_id}号目录更新申请"


def record_change(
    session: Session, actor: Actor, department_id: int, data: ChangeIn
) -> CatalogChange:
    """Record a change of law or functions; the 10-working-day clock starts (Art. 14 ¶1)."""
    department = org_service.get_department(session, actor, department_id)
    policy.require_edit_list(actor, department.id)
    if data.occurred_on > calendar.today():
        raise InvalidInput("catalog.change_in_future", "变更日期不能晚于今天。")
    due = obligations.deadline(session, LAW_CHANGE, data.occurred_on)
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
    obligations.open(
        session,
        actor,
        LAW_CHANGE,
        subject_type=CHANGE_SUBJECT,
        subject_id=change.id,
        department_id=department.id,
        region_id=department.region_id,
        title=change_title(department.name, data.kind, data.description),
        deadline=due,
    )
    return change


def mark_applied(
    session: Session, actor: Actor, change: CatalogChange, submission: Submission
) -> None:
    """The department applied for the update (its submission names the change): the
    10-working-day clock stops today (Art. 14 ¶1). Called by ``review.submit``."""
    today = calendar.today()
    change.submission_id = submission.id
    change.applied_on = today
    session.flush()
    obligations.answer(
        session,
        actor,
        LAW_CHANGE,
        subject_type=CHANGE_SUBJECT,
        subject_id=change.id,
        answered_on=today,
    )


def _city_bureau(session: Session) -> tuple[int | None, int | None]:
    """The city's data bureau (its department, its region) that owes the review (Art. 14 ¶2);
    without such a department, the city region alone."""
    row = session.execute(
        select(Department.id, Department.region_id)
        .join(Region, Region.id == Department.region_id)
        .where(Region.kind == RegionKind.CITY, Department.is_data_bureau.is_(True))
        .order_by(Department.id)
        .limit(1)
    ).first()
    if row is not None:
        return row[0], row[1]
    city = session.scalar(
        select(Region.id).where(Region.kind == RegionKind.CITY).order_by(Region.id).limit(1)
    )
    return None, city


def start_review(session: Session, actor: Actor, submission: Submission) -> None:
    """The city received an update application (``submission.received_on``): its 5-working-day
    review clock starts (Art. 14 ¶2). Called by ``review`` once the submission is flushed."""
    assert submission.received_on is not None
    due = obligations.deadline(session, UPDATE_APPLICATION, submission.received_on)
    submission.review_due = due.due
    submission.review_due_provisional = due.provisional
    session.flush()
    bureau, city = _city_bureau(session)
    department = session.get(Department, submission.department_id)
    assert department is not None
    obligations.open(
        session,
        actor,
        UPDATE_APPLICATION,
        subject_type=SUBMISSION_SUBJECT,
        subject_id=submission.id,
        department_id=bureau,
        region_id=city,
        title=review_title(department.name, submission.id),
        deadline=due,
    )


def finish_review(session: Session, actor: Actor, submission: Submission) -> None:
    """The city has reviewed the application and updated the catalog (the submission closed on
    ``closed_on``): its review clock stops (Art. 14 ¶2). Nothing for a first compilation."""
    if submission.review_due is None:
        return
    obligations.answer(
        session,
        actor,
        UPDATE_APPLICATION,
        subject_type=SUBMISSION_SUBJECT,
        subject_id=submission.id,
        answered_on=submission.closed_on,
    )


def _visible_changes(actor: Actor) -> Select[CatalogChange]:
    policy.require_read_lists(actor)
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
