"""The statutory clocks of the open-data answers (Art. 32 ¶3, Art. 33 ¶2, Art. 50(8)).

- ``opendata.application``: the provider answers a conditional-open application within 10
  working days of receipt (Art. 33 ¶2);
- ``opendata.correction``: the provider answers a request to correct an open-catalog entry
  within 10 working days of receipt (Art. 32 ¶2–3).

Both may be extended once, by at most 10 working days, with the approval of the providing
department's head (Art. 32 ¶3, Art. 33 ¶2: the register's extension rules). Each request is
an obligation in the register (``core.obligations``), opened when it is received, answered
with the answer (or closed by a withdrawal); the register's due date is copied onto the
request's own columns (``_follow``), as ``sharing.deadlines`` does.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import calendar, obligations
from govdata.core.actor import Actor
from govdata.core.deadlines import Clock
from govdata.core.workdays import Deadline, WorkCalendar
from govdata.opendata import policy
from govdata.opendata.models import CatalogCorrectionRequest, OpenApplication
from govdata.org.models import Department

ANSWER_WORKING_DAYS = 10  # Art. 32 ¶3, Art. 33 ¶2
APPLICATION_SUBJECT = "open_application"
CORRECTION_SUBJECT = "open_correction"


class Clocked(Protocol):
    """The clock's columns an application and a correction request share."""

    received_on: date
    due_on: date | None
    due_provisional: bool
    original_due_on: date | None
    extension_days: int
    extended_by: int | None
    extension_reason: str
    answered_on: date | None


def _copy(row: Clocked, ob: obligations.Obligation) -> None:
    row.due_on = ob.due_on
    row.original_due_on = ob.original_due_on
    row.due_provisional = ob.provisional
    row.extension_days = ob.extension_days
    row.extended_by = ob.extended_by
    row.extension_reason = ob.extension_reason


def _follow_application(session: Session, ob: obligations.Obligation) -> None:
    """The register moved the due date (an approved extension): the application follows."""
    row = session.get(OpenApplication, ob.subject_id)
    if row is not None:
        _copy(row, ob)
        session.flush()


def _follow_correction(session: Session, ob: obligations.Obligation) -> None:
    row = session.get(CatalogCorrectionRequest, ob.subject_id)
    if row is not None:
        _copy(row, ob)
        session.flush()


#: Art. 33 ¶2: the provider answers a conditional-open application within 10 working days,
#: once extended by at most 10 with its head's approval.
def _opens_for(actor: Actor, ob: obligations.Obligation) -> bool:
    """The answer pages open for the providing department and the city bureau (Art. 29, 33
    ¶2), not for auditors, who see the clock on their list without a link."""
    return policy.is_bureau(actor) or (
        ob.department_id is not None and policy.is_provider(actor, ob.department_id)
    )


APPLICATION = obligations.register(
    obligations.Kind(
        code="opendata.application",
        label="答复开放申请",
        article="第三十三条第二款",
        working_days=ANSWER_WORKING_DAYS,
        extendable=True,
        href="/opendata/applications/{subject_id}",
        opens_for=_opens_for,
        on_due_changed=_follow_application,
    )
)

#: Art. 32 ¶3: the provider answers a request to correct its open-catalog entry within 10
#: working days, once extended by at most 10 with its head's approval.
CORRECTION = obligations.register(
    obligations.Kind(
        code="opendata.correction",
        label="答复开放目录更正申请",
        article="第三十二条第三款",
        working_days=ANSWER_WORKING_DAYS,
        extendable=True,
        href="/opendata/corrections/{subject_id}",
        opens_for=_opens_for,
        on_due_changed=_follow_correction,
    )
)


def start(session: Session, kind: obligations.Kind, row: Clocked, today: date) -> Deadline:
    """Set the row's clock from ``today`` on the calendar in force."""
    due = obligations.deadline(session, kind, today)
    row.received_on = today
    row.due_on = due.due
    row.due_provisional = due.provisional
    row.extension_days = 0
    return due


def clock(row: Clocked, cal: WorkCalendar, today: date | None = None) -> Clock | None:
    """Where the row's clock stands on ``today`` (default: today)."""
    if row.due_on is None:
        return None
    return Clock.of(
        start=row.received_on,
        working_days=ANSWER_WORKING_DAYS,
        due=row.due_on,
        provisional=row.due_provisional,
        answered_on=row.answered_on,
        today=today or calendar.today(),
        extension_days=row.extension_days,
        extended_by=row.extended_by,
        original_due=row.original_due_on,
        calendar=cal,
    )


def region_of(session: Session, department_id: int) -> int | None:
    return session.scalar(select(Department.region_id).where(Department.id == department_id))
