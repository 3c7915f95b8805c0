"""The register's table and the kinds of clock each domain declares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column

from govdata.core.actor import Actor
from govdata.core.db import Base, utcnow
from govdata.core.deadlines import Clock
from govdata.core.errors import Conflict
from govdata.core.workdays import Deadline, WorkCalendar, default_calendar

TITLE_LENGTH = 200


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
    # Who the ``href`` page opens for, when that is narrower than who sees the obligation
    # (an auditor oversees every clock but may not open every object): to anyone else the
    # to-do list shows the item without a link, never a link to a refusal (issue 16).
    opens_for: Callable[[Actor, Obligation], bool] | None = field(
        default=None, compare=False, repr=False
    )


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Declare a kind (at the import of the domain module that owns it); returns it."""
    existing = KINDS.get(kind.code)
    if existing is not None and existing != kind:
        raise ValueError(f"obligation kind {kind.code!r} is already declared differently")
    KINDS[kind.code] = kind
    return kind


def kinds() -> dict[str, Kind]:
    """Every declared kind, by code."""
    return dict(KINDS)


def declared(ob: Obligation) -> Kind:
    kind = KINDS.get(ob.kind)
    if kind is None:  # the owning domain is not loaded: nothing may move its clock
        raise Conflict("obligation.kind_unknown", "该法定时限事项的类型未登记，暂不能办理。")
    return kind


def summary_due(ob: Obligation) -> str:
    """The due date as an audit summary says it."""
    return ob.due_on.isoformat() + ("（暂定）" if ob.provisional else "")
