"""The application's clock (Art. 26 ¶2, Art. 50(4)(8)): the provider answers a conditional
application within 10 working days of receipt; its head may extend the period once by at most
10 working days; an answer after the due date is late.

Product decision: the regulation says the provider answers "in time" without a number; the
provincial rules of Shandong and Guizhou set 10 working days, and the one extension approved by
the provider's head is the platform's rule elsewhere (Art. 19 ¶2, 32 ¶3, 33 ¶2).

It is the one statutory clock (``core.deadlines``), and every application is an obligation of
kind ``sharing.application`` in the register (``core.obligations``): opened when the
application is received, answered with the answer (or closed by a withdrawal), extended through
the register's rules. The register's due date is copied onto the application (``_follow``), so
the application's own columns and its obligation always agree (as ``aggregation.corrections``).
Registrations (unconditional sharing) take effect at once and have no clock.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from govdata.core import calendar, obligations
from govdata.core.deadlines import Clock
from govdata.core.workdays import Deadline, WorkCalendar
from govdata.sharing.models import ShareApplication

ANSWER_WORKING_DAYS = 10  # Art. 26 ¶2 (product decision: the number, see above)
SUBJECT = "share_application"


def _follow(session: Session, ob: obligations.Obligation) -> None:
    """The register moved the due date (an approved extension): the application follows."""
    a = session.get(ShareApplication, ob.subject_id)
    if a is None:
        return
    a.due_on = ob.due_on
    a.original_due_on = ob.original_due_on
    a.due_provisional = ob.provisional
    a.extension_days = ob.extension_days
    a.extended_by = ob.extended_by
    a.extension_reason = ob.extension_reason
    session.flush()


#: Art. 26 ¶2: the provider answers within 10 working days of receipt; its head may extend the
#: period once by at most 10 working days.
APPLICATION = obligations.register(
    obligations.Kind(
        code="sharing.application",
        label="答复共享申请",
        article="第二十六条第二款",
        working_days=ANSWER_WORKING_DAYS,
        extendable=True,
        href="/sharing/applications/{subject_id}",
        on_due_changed=_follow,
    )
)


def deadline_of(a: ShareApplication) -> Deadline | None:
    """The application's statutory deadline rebuilt from its stored fields (None: a
    registration, which has no clock)."""
    if a.received_on is None or a.due_on is None:
        return None
    return Deadline(
        start=a.received_on,
        working_days=ANSWER_WORKING_DAYS,
        due=a.due_on,
        provisional=a.due_provisional,
        extension_days=a.extension_days,
        extended_by=a.extended_by,
        original_due=a.original_due_on,
    )


def clock(a: ShareApplication, cal: WorkCalendar, today: date | None = None) -> Clock | None:
    """Where the application's clock stands on ``today`` (default: today); None for a
    registration."""
    d = deadline_of(a)
    if d is None:
        return None
    return Clock(d, a.answered_on, today or calendar.today(), cal)


def title(a: ShareApplication) -> str:
    """The obligation's title."""
    return f"第{a.id}号共享申请：{a.source_name}（{len(a.items)}个信息项）"
