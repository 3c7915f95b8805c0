"""The objection's clock (Art. 27): the bureau coordinates an objection with the provider and
records the outcome within 10 working days of receipt; the city bureau may extend the period
once, by at most 10 working days, before it runs out.

Art. 27 sets no period: the 10 working days and the one extension are a product decision, made
to match the regulation's other answering periods (Art. 19 ¶2, 32, 33). The extension is the
city bureau's, not a department head's, because the duty is the bureau's (Art. 6, 27); so the
kind is declared not extendable in the register (whose extension route is the owner
department's head) and :func:`extend` here moves the register's row and the objection together.

A value objection has no clock of its own: it opens a 校核 correction whose clock (Art. 19 ¶2,
the provider's) is the one that runs; the objection shows it.

Every other objection is an obligation of kind ``sharing.objection`` in the register
(``core.obligations``), owned by the coordinating bureau's region (no department): opened on
receipt, answered when the bureau settles it or the objector withdraws it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor, Role
from govdata.core.deadlines import Clock
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.core.workdays import Deadline, WorkCalendar
from govdata.sharing.models import Objection, ObjectionStatus

COORDINATION_WORKING_DAYS = 10  # product decision (Art. 27 sets no period)
SUBJECT = "objection"

#: Product decision on Art. 27: the bureau settles within 10 working days of receipt; the city
#: bureau may extend once by at most 10 working days (``extend``).
OBJECTION = obligations.register(
    obligations.Kind(
        code="sharing.objection",
        label="协调处理共享异议",
        article="第二十七条",
        working_days=COORDINATION_WORKING_DAYS,
        extendable=False,  # not by a department head: the city bureau extends (``extend``)
        href="/sharing/objections/{subject_id}",
    )
)


def start(session: Session, received: date) -> Deadline:
    return obligations.deadline(session, OBJECTION, received)


def title(o: Objection, source_name: str) -> str:
    return f"第{o.id}号共享异议：{source_name}"


def obligation_of(session: Session, o: Objection) -> obligations.Obligation | None:
    return obligations.find(session, OBJECTION, SUBJECT, o.id)


def clock(
    session: Session, o: Objection, cal: WorkCalendar, today: date | None = None
) -> Clock | None:
    """Where the objection's own clock stands (None for a value objection: the correction's
    clock runs instead)."""
    ob = obligation_of(session, o)
    if ob is None:
        return None
    return Clock(ob.deadline, ob.answered_on, today or calendar.today(), cal)


def can_extend(actor: Actor) -> bool:
    """The city bureau extends (product decision, see the module)."""
    return actor.token_id is None and actor.has(Role.CITY_BUREAU_ADMIN)


def extend(session: Session, actor: Actor, o: Objection, *, days: int, reason: str) -> Objection:
    """Extend the objection's period once by 1 to 10 working days, before it runs out (the
    caller has found ``o`` in the actor's scope)."""
    if not can_extend(actor):
        raise PermissionDenied(
            "sharing.objection_extend_forbidden", "只有市数据主管部门可以延长异议协调期限。"
        )
    if o.status not in (ObjectionStatus.OPEN, ObjectionStatus.COORDINATING):
        raise Conflict("sharing.objection_closed", "该异议已办结或已撤回，不能再办理。")
    ob = obligations.find(session, OBJECTION, SUBJECT, o.id, for_update=True)
    if ob is None:
        raise Conflict(
            "sharing.objection_no_clock", "对数据值的异议按校核期限办理，不能延长协调期限。"
        )
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("sharing.extension_reason_required", "请说明需要延长期限的理由。")
    today = calendar.today()
    if today > ob.due_on:
        raise Conflict(
            "sharing.objection_extension_after_due",
            f"协调期限已于{ob.due_on.isoformat()}届满，不能再延长；请尽快办结。",
        )
    assert actor.person_id is not None
    extended = ob.deadline.extend(
        calendar.load_calendar(session), days, approved_by=actor.person_id
    )
    ob.original_due_on = extended.original_due
    ob.due_on = extended.due
    ob.provisional = extended.provisional
    ob.extension_days = extended.extension_days
    ob.extended_by = extended.extended_by
    ob.extended_on = today
    ob.extension_reason = text
    o.due_on = extended.due
    o.due_provisional = extended.provisional
    session.flush()
    audit.record(
        session,
        actor,
        "sharing.objection_extended",
        object_type="objection",
        object_id=o.id,
        summary=(
            f"延长第{o.id}号共享异议的协调期限{days}个工作日，"
            f"由{extended.original_due}延至{extended.due}：{text[:200]}"
        ),
        change={
            "days": days,
            "reason": text,
            "original_due_on": extended.original_due,
            "due_on": extended.due,
        },
        region_id=o.region_id,
        department_id=o.provider_department_id,
    )
    return o
