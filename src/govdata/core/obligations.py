"""The obligations register (法定时限): every running statutory clock, one row each.

A domain that starts a statutory clock (Art. 14 catalog updates, Art. 19 corrections, next
Art. 32 and 33 open-data answers and the sharing applications of Ch. 4) also opens an obligation
here, in the same transaction, and answers it when it fulfils the duty. The row keeps what the
clock is (``core.deadlines``: start, working days, due date, provisional, the one extension
and its approver) and what scoping needs (the owner department and its region: ``core`` reads
no table of ``org``). From it:

* each person's to-do list (:func:`open_for`): department staff see their departments' open
  obligations, a department head also the extensions waiting for approval, a district bureau
  its region, the city bureau and auditors everything, the public nothing;
* extensions (:func:`request_extension`, :func:`approve_extension`): once, by at most 10
  working days, with the approval of the owner department's head (Art. 19 ¶2, Art. 32 ¶3,
  Art. 33 ¶2), for the kinds whose article allows it;
* the daily scan (:func:`scan_overdue`, job ``core.scan_overdue``) that flags what ran out
  unanswered; supervision (Ch. 7–8, Art. 50(8)) evaluates departments from the flags.

Each domain declares its kinds once (:func:`register`, at import): label, article, period,
whether it may be extended, the link to the object's page, and a hook that copies a moved due
date onto the domain's own row. :func:`open` and :func:`answer` trust their caller, the owning
domain's service, which has checked its own permission rules (as ``audit.record`` does); the
extension services check theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import structlog
from sqlalchemy import (
    Boolean,
    Date,
    Index,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    case,
    false,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from govdata.core import audit, calendar
from govdata.core.actor import SYSTEM, Actor, Role
from govdata.core.db import Base, transaction, utcnow
from govdata.core.deadlines import Clock
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.jobs import job
from govdata.core.workdays import (
    Deadline,
    WorkCalendar,
    check_extension_days,
    default_calendar,
)

log = structlog.get_logger(__name__)

TITLE_LENGTH = 200

#: People who see every obligation: the city bureau directs (Art. 6 ¶1, Art. 19 ¶1), auditors
#: oversee (Art. 49).
_OVERSIGHT = frozenset({Role.CITY_BUREAU_ADMIN, Role.AUDITOR})


class Obligation(Base):
    """One statutory clock: who owes what, by when, and whether it was kept (Art. 50(8))."""

    __tablename__ = "obligations"
    __table_args__ = (
        UniqueConstraint("kind", "subject_type", "subject_id"),
        Index("ix_obligations_open_due", "answered_on", "due_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # catalog.law_change, aggregation.correction …
    article: Mapped[str] = mapped_column(String(40))  # 第十四条第一款
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    # The object the clock runs for, in its domain (catalog_change 12, correction 7 …).
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    # The owner: the department that must act, and its region (scoping without org's tables).
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    region_id: Mapped[int | None] = mapped_column(Integer, index=True)
    started_on: Mapped[date] = mapped_column(Date)
    working_days: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # An extension asked for by the owner's staff, waiting for the head (or refused: cleared).
    extension_requested_days: Mapped[int | None] = mapped_column(Integer)
    extension_requested_by: Mapped[int | None] = mapped_column(Integer)
    extension_requested_on: Mapped[date | None] = mapped_column(Date)
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    # The extension granted by the owner department's head (Art. 19 ¶2, 32 ¶3, 33 ¶2).
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    extended_by: Mapped[int | None] = mapped_column(Integer)
    extended_on: Mapped[date | None] = mapped_column(Date)
    original_due_on: Mapped[date | None] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date)
    answered_by: Mapped[int | None] = mapped_column(Integer)
    # Ran out unanswered (set by the daily scan, and on a late answer): Art. 50(8).
    overdue: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_open(self) -> bool:
        return self.answered_on is None

    @property
    def extension_pending(self) -> bool:
        """An extension was asked for and the head has not decided yet."""
        return self.extension_requested_on is not None and self.extension_days == 0

    @property
    def deadline(self) -> Deadline:
        return Deadline(
            start=self.started_on,
            working_days=self.working_days,
            due=self.due_on,
            provisional=self.provisional,
            extension_days=self.extension_days,
            extended_by=self.extended_by,
            original_due=self.original_due_on,
        )

    def clock(self, today: date, cal: WorkCalendar | None = None) -> Clock:
        """The one statutory clock of this row on ``today`` (``core.deadlines``)."""
        return Clock(self.deadline, self.answered_on, today, cal or default_calendar())


# --- kinds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A kind of statutory clock, declared once by its domain.

    ``href`` is the object's page, with ``{subject_id}``, ``{department_id}`` and
    ``{region_id}`` filled in from the row. ``on_due_changed(session, obligation)`` copies a
    due date the register moved (an approved extension) onto the domain's own row.
    """

    code: str
    label: str  # zh-CN, as a to-do list names it
    article: str  # zh-CN citation: 第十九条第二款
    working_days: int
    extendable: bool = False
    href: str | None = None
    on_due_changed: Callable[[Session, Obligation], None] | None = field(
        default=None, compare=False, repr=False
    )


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Declare a kind (at the import of the domain module that owns it); returns it."""
    existing = _KINDS.get(kind.code)
    if existing is not None and existing != kind:
        raise ValueError(f"obligation kind {kind.code!r} is already declared differently")
    _KINDS[kind.code] = kind
    return kind


def kinds() -> dict[str, Kind]:
    """Every declared kind, by code."""
    return dict(_KINDS)


def _declared(ob: Obligation) -> Kind:
    kind = _KINDS.get(ob.kind)
    if kind is None:  # the owning domain is not loaded: nothing may move its clock
        raise Conflict("obligation.kind_unknown", "该法定时限事项的类型未登记，暂不能办理。")
    return kind


# --- starting and answering (called by the owning domain's services) --------------------------


def deadline(session: Session, kind: Kind, started_on: date) -> Deadline:
    """The kind's statutory deadline from ``started_on`` on the calendar in force."""
    return calendar.deadline(session, started_on, kind.working_days)


def _summary_due(ob: Obligation) -> str:
    return ob.due_on.isoformat() + ("（暂定）" if ob.provisional else "")


def open(  # the register's verb, called as obligations.open(...)
    session: Session,
    actor: Actor,
    kind: Kind,
    *,
    subject_type: str,
    subject_id: int,
    department_id: int | None,
    region_id: int | None,
    title: str,
    deadline: Deadline,
) -> Obligation:
    """Enter a clock that has started into the register, in the caller's transaction.

    ``deadline`` is the one the domain stores on its own row (from :func:`deadline`), so the
    two agree. ``department_id`` and ``region_id`` name the owner that must act.
    """
    if deadline.working_days != kind.working_days:
        raise ValueError(f"{kind.code} runs {kind.working_days} working days")
    ob = Obligation(
        kind=kind.code,
        article=kind.article,
        title=title.strip()[:TITLE_LENGTH],
        subject_type=subject_type,
        subject_id=subject_id,
        department_id=department_id,
        region_id=region_id,
        started_on=deadline.start,
        working_days=deadline.working_days,
        due_on=deadline.due,
        provisional=deadline.provisional,
        extension_days=0,
        extension_reason="",
        overdue=False,
    )
    session.add(ob)
    session.flush()
    audit.record(
        session,
        actor,
        "obligation.open",
        object_type="obligation",
        object_id=ob.id,
        summary=f"{kind.label}（{kind.article}）开始计时：{ob.title}，应于{_summary_due(ob)}前办结",
        change={
            "kind": kind.code,
            "subject": [subject_type, subject_id],
            "started_on": ob.started_on,
            "due_on": ob.due_on,
            "provisional": ob.provisional,
        },
        region_id=region_id,
        department_id=department_id,
    )
    return ob


def find(
    session: Session, kind: Kind, subject_type: str, subject_id: int, *, for_update: bool = False
) -> Obligation | None:
    """The obligation of one object, answered or not (no scoping: for the owning domain)."""
    stmt = select(Obligation).where(
        Obligation.kind == kind.code,
        Obligation.subject_type == subject_type,
        Obligation.subject_id == subject_id,
    )
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


def answer(
    session: Session,
    actor: Actor,
    kind: Kind,
    *,
    subject_type: str,
    subject_id: int,
    answered_on: date | None = None,
) -> Obligation:
    """The duty is fulfilled: the clock stops (default: today), in the caller's transaction.

    An answer after the due date is recorded as late (Art. 50(8)). Raises
    ``obligation.not_open`` when the object has no running clock.
    """
    ob = find(session, kind, subject_type, subject_id, for_update=True)
    if ob is None or not ob.is_open:
        raise Conflict("obligation.not_open", "该事项没有正在计时的法定时限。")
    on = answered_on or calendar.today()
    late = on > ob.due_on
    ob.answered_on = on
    ob.answered_by = actor.person_id
    ob.overdue = ob.overdue or late
    session.flush()
    audit.record(
        session,
        actor,
        "obligation.answer",
        object_type="obligation",
        object_id=ob.id,
        summary=(
            f"{kind.label}（{kind.article}）办结：{ob.title}，"
            + (f"逾期办结，期限为{ob.due_on.isoformat()}（第五十条第八项）" if late else "按期办结")
        ),
        change={"answered_on": on, "due_on": ob.due_on, "late": late},
        region_id=ob.region_id,
        department_id=ob.department_id,
    )
    return ob


# --- who sees what ----------------------------------------------------------------------------


def visible(actor: Actor) -> Select[Obligation]:
    """The obligations an actor may read: its departments', its region's (district bureau),
    everything (city bureau, auditors), nothing (the public, department systems' tokens)."""
    stmt = select(Obligation)
    if actor.token_id is not None or actor.is_public:
        return stmt.where(false())
    if actor.roles & _OVERSIGHT:
        return stmt
    clauses: list[ColumnElement[bool]] = []
    regions = actor.region_ids(Role.DISTRICT_BUREAU_ADMIN)
    if regions:
        clauses.append(Obligation.region_id.in_(regions))
    departments = actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)
    if departments:
        clauses.append(Obligation.department_id.in_(departments))
    return stmt.where(or_(*clauses)) if clauses else stmt.where(false())


def get(
    session: Session, actor: Actor, obligation_id: int, *, for_update: bool = False
) -> Obligation:
    stmt = visible(actor).where(Obligation.id == obligation_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    ob = session.scalar(stmt)
    if ob is None:
        raise NotFound("obligation.not_found", "未找到该法定时限事项。")
    return ob


def can_request_extension(actor: Actor, ob: Obligation) -> bool:
    """The owner department's data officers and head ask for an extension."""
    return (
        actor.token_id is None
        and ob.department_id is not None
        and ob.department_id in actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)
    )


def can_approve_extension(actor: Actor, ob: Obligation) -> bool:
    """Only the owner department's head (主要负责人) approves (Art. 19 ¶2, 32 ¶3, 33 ¶2)."""
    return (
        actor.token_id is None
        and ob.department_id is not None
        and ob.department_id in actor.department_ids(Role.DEPARTMENT_HEAD)
    )


# --- extending (Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2) -------------------------------------------


def _check_extendable(ob: Obligation, kind: Kind, today: date) -> None:
    if not kind.extendable:
        raise Conflict("obligation.not_extendable", f"{kind.article}规定的期限不能延长。")
    if not ob.is_open:
        raise Conflict("obligation.answered", "该事项已办结，不能再延长期限。")
    if ob.extension_days > 0:
        assert ob.original_due_on is not None
        raise Conflict(
            "deadline.already_extended",
            "该期限已延长过一次，不得再次延长。",
            detail={"original_due": ob.original_due_on.isoformat(), "due": ob.due_on.isoformat()},
        )
    if today > ob.due_on:
        raise Conflict(
            "obligation.extension_after_due",
            f"期限已于{ob.due_on.isoformat()}届满，不能再延长；请尽快办结（第五十条第八项）。",
        )


def _reason(text: str | None) -> str:
    reason = (text or "").strip()
    if not reason:
        raise InvalidInput("obligation.extension_reason_required", "请说明需要延长期限的理由。")
    return reason


def request_extension(
    session: Session, actor: Actor, obligation_id: int, *, days: int, reason: str
) -> Obligation:
    """The owner department's staff ask their head to extend the period once, by 1 to 10
    working days, before it runs out (Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2)."""
    ob = get(session, actor, obligation_id, for_update=True)
    if not can_request_extension(actor, ob):
        raise PermissionDenied(
            "obligation.cannot_request_extension",
            "只有责任部门的数据专职人员或主要负责人可以申请延长期限。",
        )
    kind = _declared(ob)
    today = calendar.today()
    _check_extendable(ob, kind, today)
    if ob.extension_pending:
        raise Conflict("obligation.extension_pending", "已有一项延期申请等待部门主要负责人审批。")
    check_extension_days(days)
    ob.extension_reason = _reason(reason)
    ob.extension_requested_days = days
    ob.extension_requested_by = actor.person_id
    ob.extension_requested_on = today
    session.flush()
    audit.record(
        session,
        actor,
        "obligation.extension.request",
        object_type="obligation",
        object_id=ob.id,
        summary=f"{actor.name}申请将“{ob.title}”的期限延长{days}个工作日，待部门主要负责人审批",
        change={"days": days, "reason": ob.extension_reason, "due_on": ob.due_on},
        region_id=ob.region_id,
        department_id=ob.department_id,
    )
    return ob


def approve_extension(
    session: Session,
    actor: Actor,
    obligation_id: int,
    *,
    days: int | None = None,
    reason: str | None = None,
) -> Obligation:
    """The owner department's head extends the period once, by at most 10 working days counted
    from the due date (Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2): a request waiting for approval
    (its days and reason unless given), or directly with ``days`` and ``reason``.

    The kind's ``on_due_changed`` hook carries the new due date to the domain's row.
    """
    ob = get(session, actor, obligation_id, for_update=True)
    if not can_approve_extension(actor, ob):
        raise PermissionDenied(
            "deadline.head_approval_required", "延长期限须经本部门主要负责人同意。"
        )
    assert ob.department_id is not None
    kind = _declared(ob)
    today = calendar.today()
    _check_extendable(ob, kind, today)
    pending = ob.extension_pending
    if days is None:
        if not pending or ob.extension_requested_days is None:
            raise InvalidInput("obligation.extension_days_required", "请填写延长的工作日数。")
        days = ob.extension_requested_days
    text = _reason(reason if reason is not None and reason.strip() else ob.extension_reason)
    extended = calendar.approve_extension(
        session, actor, ob.deadline, department_id=ob.department_id, days=days
    )
    ob.original_due_on = extended.original_due
    ob.due_on = extended.due
    ob.provisional = extended.provisional
    ob.extension_days = extended.extension_days
    ob.extended_by = extended.extended_by
    ob.extended_on = today
    ob.extension_reason = text
    session.flush()
    if kind.on_due_changed is not None:
        kind.on_due_changed(session, ob)
    audit.record(
        session,
        actor,
        "obligation.extension.approve",
        object_type="obligation",
        object_id=ob.id,
        summary=(
            f"{actor.name}同意将“{ob.title}”的期限延长{days}个工作日，"
            f"由{extended.original_due}延至{_summary_due(ob)}"
        ),
        change={
            "days": days,
            "reason": text,
            "requested": pending,
            "original_due_on": ob.original_due_on,
            "due_on": ob.due_on,
            "provisional": ob.provisional,
        },
        region_id=ob.region_id,
        department_id=ob.department_id,
    )
    return ob


def refuse_extension(
    session: Session, actor: Actor, obligation_id: int, *, reason: str
) -> Obligation:
    """The owner department's head refuses a request, saying why; the period stands and the
    staff may ask again while it runs."""
    ob = get(session, actor, obligation_id, for_update=True)
    if not can_approve_extension(actor, ob):
        raise PermissionDenied(
            "deadline.head_approval_required", "延长期限须经本部门主要负责人同意。"
        )
    if not ob.extension_pending:
        raise Conflict("obligation.no_extension_pending", "该事项没有等待审批的延期申请。")
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("obligation.refusal_reason_required", "不同意延期的，请说明理由。")
    requested = ob.extension_requested_days
    ob.extension_requested_days = None
    ob.extension_requested_by = None
    ob.extension_requested_on = None
    ob.extension_reason = ""
    session.flush()
    audit.record(
        session,
        actor,
        "obligation.extension.refuse",
        object_type="obligation",
        object_id=ob.id,
        summary=f"{actor.name}不同意延长“{ob.title}”的期限：{text}",
        change={"days": requested, "reason": text},
        region_id=ob.region_id,
        department_id=ob.department_id,
    )
    return ob


# --- to-do lists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TodoItem:
    """One open obligation on a person's home page."""

    obligation_id: int
    kind: str
    kind_label: str  # zh-CN
    article: str  # zh-CN citation
    title: str
    due: date
    provisional: bool
    overdue: bool
    status_label: str  # 剩余N个工作日 / 今日到期 / 已超期N个工作日 (+ provisional note)
    href: str | None  # the object's page
    extension_pending: bool  # an extension request waits for the head
    awaiting_my_approval: bool  # … and this person is that head
    requested_days: int | None


def _todo(ob: Obligation, actor: Actor, today: date, cal: WorkCalendar) -> TodoItem:
    kind = _KINDS.get(ob.kind)
    href = None
    if kind is not None and kind.href is not None:
        href = kind.href.format(
            subject_id=ob.subject_id, department_id=ob.department_id, region_id=ob.region_id
        )
    clock = ob.clock(today, cal)
    pending = ob.extension_pending
    return TodoItem(
        obligation_id=ob.id,
        kind=ob.kind,
        kind_label=kind.label if kind is not None else ob.kind,
        article=ob.article,
        title=ob.title,
        due=ob.due_on,
        provisional=ob.provisional,
        overdue=ob.overdue or clock.overdue,
        status_label=clock.label,
        href=href,
        extension_pending=pending,
        awaiting_my_approval=pending and can_approve_extension(actor, ob),
        requested_days=ob.extension_requested_days if pending else None,
    )


def open_for(
    session: Session, actor: Actor, *, today: date | None = None, limit: int = 100
) -> list[TodoItem]:
    """An actor's own open obligations as a to-do list: extensions waiting for this person's
    approval first (a department head), then by due date."""
    today = today or calendar.today()
    heads = actor.department_ids(Role.DEPARTMENT_HEAD) if actor.token_id is None else frozenset()
    mine_to_approve: ColumnElement[bool] = (
        Obligation.extension_requested_on.is_not(None)
        & (Obligation.extension_days == 0)
        & Obligation.department_id.in_(heads)
        if heads
        else false()
    )
    rows = session.scalars(
        visible(actor)
        .where(Obligation.answered_on.is_(None))
        .order_by(case((mine_to_approve, 0), else_=1), Obligation.due_on, Obligation.id)
        .limit(limit)
    ).all()
    if not rows:
        return []
    cal = calendar.load_calendar(session)
    return [_todo(ob, actor, today, cal) for ob in rows]


# --- the daily scan ---------------------------------------------------------------------------


def scan_overdue(session: Session, today: date) -> int:
    """Flag every open obligation whose due date is before ``today``; returns how many were
    newly flagged (Art. 50(8)). Idempotent: run daily, and again after a missed day."""
    flagged = list(
        session.execute(
            update(Obligation)
            .where(
                Obligation.answered_on.is_(None),
                Obligation.due_on < today,
                Obligation.overdue.is_(False),
            )
            .values(overdue=True)
            .returning(Obligation.id, Obligation.kind)
            .execution_options(synchronize_session="fetch")  # loaded rows pick up the flag
        ).all()
    )
    if not flagged:
        return 0
    by_kind: dict[str, int] = {}
    for _, code in flagged:
        by_kind[code] = by_kind.get(code, 0) + 1
    audit.record(
        session,
        SYSTEM,
        "obligation.overdue_scan",
        object_type="obligation_scan",
        object_id=today.isoformat(),
        summary=f"截至{today.isoformat()}，{len(flagged)}项法定时限已逾期未办结（第五十条第八项）",
        change={"today": today, "ids": sorted(i for i, _ in flagged), "by_kind": by_kind},
    )
    return len(flagged)


@job("core.scan_overdue")
def scan_overdue_job(factory: sessionmaker[Session]) -> None:
    """The daily scan (a periodic job): flags what ran out yesterday or before."""
    with transaction(factory) as session:
        count = scan_overdue(session, calendar.today())
    log.info("obligations.scan_overdue", flagged=count)


__all__ = [
    "Kind",
    "Obligation",
    "TodoItem",
    "answer",
    "approve_extension",
    "can_approve_extension",
    "can_request_extension",
    "deadline",
    "find",
    "get",
    "kinds",
    "open",
    "open_for",
    "refuse_extension",
    "register",
    "request_extension",
    "scan_overdue",
    "scan_overdue_job",
    "visible",
]
