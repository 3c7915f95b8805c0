"""Objections and disputes (异议, Art. 27; with Art. 19 for values).

A department (its officer or head) objects to:

* ``refusal``: a refusal of its own application (only the applicant, only a refused one);
* ``narrowing``: an approval that gave it less than it asked (only a narrowed one: an
  application approved as asked leaves nothing to object to);
* ``share_type``: a source's or an item's share type, conditional or "not shared" (Art. 24,
  25(1): a restriction needs a legal basis), by a department other than the provider;
* ``value``: a value it obtained under its grant: the objection files a 校核 correction for it
  (Art. 19 ¶2, ``aggregation.corrections.apply_for_objection``), which the provider answers
  within the correction's own clock; the objection holds the correction's id. Only values of
  department pools: a base or thematic database's value is corrected at its source pool.

The bureau coordinates (Art. 27): the bureau of the provider's region or the city bureau
(``policy.can_coordinate``) takes the objection up, notes the steps with the provider and the
objector (both may add notes too), and settles it: upheld, dismissed or partly upheld, with its
reasons. Settling it may order a grant for the objector (``grants.create`` with
``GrantOrigin.ORDER``: items, period, systems as the bureau sets them; "not shared" items cannot
be ordered until the catalog changes) or a catalog change, recorded as an order addressed to the
provider, who changes its catalog through the catalog workflow (Art. 12–14): nothing here edits
the catalog. The objector may withdraw while the objection is not settled. The clock is in
``objection_deadlines``. Systems (tokens) do none of this: the routes answer them 403.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, case, select, true
from sqlalchemy.orm import Session

from govdata.aggregation import corrections
from govdata.aggregation.models import Correction
from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor, Role
from govdata.core.db import utcnow
from govdata.core.deadlines import Clock
from govdata.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from govdata.core.pagination import Page, paginate
from govdata.core.workdays import WorkCalendar
from govdata.org.models import Department
from govdata.sharing import grants, objection_deadlines, policy
from govdata.sharing.errors import ObjectionNotFound
from govdata.sharing.models import (
    Grant,
    GrantMode,
    GrantOrigin,
    Objection,
    ObjectionKind,
    ObjectionNote,
    ObjectionResult,
    ObjectionStatus,
    ShareApplication,
)
from govdata.sharing.objection_raising import (
    LIVE,
    ValueChallenge,
    clean,
    forbid_systems,
    holds_value,
    object_to,
    require_department_person,
    require_source,
)

__all__ = [
    "LIVE",
    "ORDER_LABELS",
    "SIDES",
    "GrantOrder",
    "ValueChallenge",
    "add_note",
    "can_note",
    "can_withdraw",
    "clock_of",
    "correction_of",
    "departments",
    "extend",
    "get",
    "holds_value",
    "list_objections",
    "notes",
    "object_to",
    "require_department_person",
    "settle",
    "sides",
    "take_up",
    "withdraw",
]

SIDES = {
    "raised": "本部门提出的异议",
    "about": "涉及本部门数据的异议",
    "coordinate": "待协调的异议",
    "all": "全部异议",
}
ORDER_LABELS = {"": "无", "grant": "责令授权", "catalog_change": "责令调整共享目录"}


# --- reading ---------------------------------------------------------------------------------


def get(
    session: Session, actor: Actor, objection_id: int, *, for_update: bool = False
) -> Objection:
    forbid_systems(actor)
    stmt = policy.visible_objections(actor).where(Objection.id == objection_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    o = session.scalar(stmt)
    if o is None:
        raise ObjectionNotFound()
    return o


def sides(actor: Actor) -> list[str]:
    """The lists a person has: raised by its departments, about their data, to coordinate
    (bureaus), or all (auditors)."""
    out = []
    if policy.department_ids(actor):
        out += ["raised", "about"]
    if actor.has(Role.CITY_BUREAU_ADMIN) or actor.region_ids():
        out.append("coordinate")
    elif policy.sees_all_sharing(actor):
        out.append("all")  # auditors read every objection (Art. 49)
    return out


def _side(actor: Actor, side: str | None) -> Select[Objection]:
    stmt = policy.visible_objections(actor)
    mine = policy.department_ids(actor)
    if side == "raised":
        stmt = stmt.where(Objection.department_id.in_(mine))
    elif side == "about":
        stmt = stmt.where(Objection.provider_department_id.in_(mine))
    elif side == "coordinate":
        regions = actor.region_ids()
        cond: Any = true() if policy.sees_all_sharing(actor) else Objection.region_id.in_(regions)
        stmt = stmt.where(cond)
    return stmt


def list_objections(
    session: Session,
    actor: Actor,
    *,
    side: str | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Objection]:
    """Visible objections of one side, live ones first by due date."""
    forbid_systems(actor)
    if not policy.can_view_disputes(actor):
        raise PermissionDenied(
            "sharing.objections_forbidden", "共享异议仅对政务部门和数据主管部门开放。"
        )
    stmt = _side(actor, side)
    if status:
        stmt = stmt.where(Objection.status == status)
    live = case((Objection.status.in_(LIVE), 0), else_=1)
    return paginate(
        session, stmt.order_by(live, Objection.due_on, Objection.id.desc()), offset, limit
    )


def notes(session: Session, objection_id: int) -> list[ObjectionNote]:
    return list(
        session.scalars(
            select(ObjectionNote)
            .where(ObjectionNote.objection_id == objection_id)
            .order_by(ObjectionNote.at, ObjectionNote.id)
        )
    )


def departments(session: Session, ids: Sequence[int | None]) -> dict[int, Department]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(wanted)))}


# --- the parties' and the bureau's steps -------------------------------------------------------


def can_note(actor: Actor, o: Objection) -> bool:
    """The bureau, the provider and the objector take part (Art. 27: 会同提供部门)."""
    if actor.token_id is not None or o.status not in LIVE:
        return False
    mine = policy.department_ids(actor)
    return (
        o.department_id in mine
        or o.provider_department_id in mine
        or policy.can_coordinate(actor, o.region_id)
    )


def can_withdraw(actor: Actor, o: Objection) -> bool:
    return (
        actor.token_id is None
        and o.status in LIVE
        and o.department_id in policy.department_ids(actor)
    )


def _note(session: Session, actor: Actor, o: Objection, text: str) -> ObjectionNote:
    mine = policy.department_ids(actor)
    dept = (
        o.department_id
        if o.department_id in mine
        else o.provider_department_id
        if o.provider_department_id in mine
        else None
    )
    note = ObjectionNote(
        objection_id=o.id,
        author_id=actor.person_id,
        author_name=actor.name[:64],
        department_id=dept,
        text=text,
        at=utcnow(),
    )
    session.add(note)
    session.flush()
    return note


def add_note(session: Session, actor: Actor, objection_id: int, text: str) -> ObjectionNote:
    o = get(session, actor, objection_id, for_update=True)
    if o.status not in LIVE:
        raise Conflict("sharing.objection_closed", "该异议已办结或已撤回，不能再办理。")
    if not can_note(actor, o):
        raise PermissionDenied(
            "sharing.objection_note_forbidden",
            "只有协调的数据主管部门、数据提供部门和异议部门可以记录协调意见。",
        )
    body = clean(text)
    if not body:
        raise InvalidInput("sharing.note_required", "请填写协调意见。")
    note = _note(session, actor, o, body[:4000])
    audit.record(
        session,
        actor,
        "sharing.objection_note",
        object_type="objection",
        object_id=o.id,
        summary=f"第{o.id}号共享异议的协调记录：{body[:200]}",
        change={"note_id": note.id, "text": body[:4000]},
        region_id=o.region_id,
        department_id=o.provider_department_id,
    )
    return note


def _require_coordinator(actor: Actor, o: Objection) -> None:
    if not policy.can_coordinate(actor, o.region_id):
        raise PermissionDenied(
            "sharing.objection_not_coordinator",
            "只有数据提供部门所在地的数据主管部门或市数据主管部门可以协调处理异议（第二十七条）。",
        )


def take_up(session: Session, actor: Actor, objection_id: int, note: str = "") -> Objection:
    """The bureau takes the objection up and coordinates with the provider (Art. 27)."""
    o = get(session, actor, objection_id, for_update=True)
    _require_coordinator(actor, o)
    if o.status != ObjectionStatus.OPEN:
        raise Conflict("sharing.objection_not_open", "只有刚受理的异议可以开始协调。")
    o.status = ObjectionStatus.COORDINATING.value
    if clean(note):
        _note(session, actor, o, clean(note)[:4000])
    audit.record(
        session,
        actor,
        "sharing.objection_taken_up",
        object_type="objection",
        object_id=o.id,
        summary=f"{actor.name}开始协调第{o.id}号共享异议",
        change={"status": o.status, "note": clean(note)},
        region_id=o.region_id,
        department_id=o.provider_department_id,
    )
    return o


@dataclass(frozen=True)
class GrantOrder:
    """A grant the bureau orders for the objector: items, period and systems as it sets them;
    duty, basis and purpose default to the application's."""

    items: list[str]
    valid_from: date
    expires_on: date | None
    token_ids: list[int] = field(default_factory=list)
    mode: GrantMode = GrantMode.DATA
    row_condition: dict[str, Any] | None = None
    daily_quota: int | None = None
    duty: str = ""
    legal_basis: str = ""
    purpose: str = ""
    purpose_code: str = ""


def settle(
    session: Session,
    actor: Actor,
    objection_id: int,
    *,
    result: ObjectionResult,
    outcome: str,
    grant: GrantOrder | None = None,
    catalog_change: str = "",
) -> Objection:
    """Record the outcome (Art. 27): only the coordinating bureau, once it has taken the
    objection up. An upheld (or partly upheld) objection may order a grant for the objector or
    a catalog change addressed to the provider; a dismissed one orders nothing."""
    o = get(session, actor, objection_id, for_update=True)
    _require_coordinator(actor, o)
    if o.status == ObjectionStatus.OPEN:
        raise Conflict("sharing.objection_not_taken_up", "请先受理并会同数据提供部门协调，再办结。")
    if o.status not in LIVE:
        raise Conflict("sharing.objection_closed", "该异议已办结或已撤回，不能再办理。")
    text = clean(outcome)
    if not text:
        raise InvalidInput("sharing.outcome_required", "请填写协调处理结果及理由。")
    change = clean(catalog_change)
    if grant is not None and change:
        raise InvalidInput(
            "sharing.order_one", "一项异议的处理结果只能责令授权或责令调整目录中的一项。"
        )
    if (grant is not None or change) and result == ObjectionResult.DISMISSED:
        raise InvalidInput("sharing.order_when_dismissed", "异议不成立的，不能责令授权或调整目录。")
    if (grant is not None or change) and o.kind == ObjectionKind.VALUE:
        raise InvalidInput(
            "sharing.order_for_value", "对数据值的异议通过校核更正数据，不能责令授权或调整目录。"
        )
    ordered: Grant | None = None
    if grant is not None:
        ordered = _order_grant(session, actor, o, grant)
        o.ordered, o.ordered_grant_id = "grant", ordered.id
    elif change:
        o.ordered, o.ordered_change = "catalog_change", change[:4000]
    today = calendar.today()
    o.status = ObjectionStatus.SETTLED.value
    o.result = result.value
    o.outcome = text[:4000]
    o.answered_on = today
    o.settled_by = actor.person_id
    o.settled_at = utcnow()
    audit.record(
        session,
        actor,
        "sharing.objection_settled",
        object_type="objection",
        object_id=o.id,
        summary=(
            f"第{o.id}号共享异议办结：{result.label}"
            + (f"，{ORDER_LABELS[o.ordered]}" if o.ordered else "")
        ),
        change={
            "result": result.value,
            "outcome": o.outcome,
            "ordered": o.ordered,
            "ordered_grant_id": o.ordered_grant_id,
            "ordered_change": o.ordered_change,
        },
        region_id=o.region_id,
        department_id=o.provider_department_id,
    )
    _stop_clock(session, actor, o, today)
    return o


def _order_grant(session: Session, actor: Actor, o: Objection, order: GrantOrder) -> Grant:
    source = require_source(session, o.source_code)
    app = session.get(ShareApplication, o.application_id) if o.application_id else None
    duty = clean(order.duty) or (app.duty if app else "")
    basis = clean(order.legal_basis) or (app.legal_basis if app else "")
    purpose = clean(order.purpose) or (app.purpose if app else "")
    code = clean(order.purpose_code) or (app.purpose_code if app else "")
    if not (duty and basis and purpose and code):
        raise InvalidInput(
            "sharing.order_purpose_required", "责令授权须写明履职事项、依据、用途和用途代码。"
        )
    return grants.create(
        session,
        actor,
        origin=GrantOrigin.ORDER,
        source=source,
        requester_department_id=o.department_id,
        items=order.items,
        mode=order.mode,
        row_condition=order.row_condition,
        duty=duty,
        legal_basis=basis,
        purpose=purpose,
        purpose_code=code,
        valid_from=order.valid_from,
        expires_on=order.expires_on,
        daily_quota=order.daily_quota,
        token_ids=order.token_ids,
        application_id=o.application_id,
        objection_id=o.id,
    )


def _stop_clock(session: Session, actor: Actor, o: Objection, today: date) -> None:
    ob = objection_deadlines.obligation_of(session, o)
    if ob is not None and ob.is_open:
        obligations.answer(
            session,
            actor,
            objection_deadlines.OBJECTION,
            subject_type=objection_deadlines.SUBJECT,
            subject_id=o.id,
            answered_on=today,
        )


def withdraw(session: Session, actor: Actor, objection_id: int, reason: str = "") -> Objection:
    """The objector withdraws while the objection is not settled. A correction it opened
    stays with the provider: a 校核 is answered once filed (Art. 19 ¶2)."""
    o = get(session, actor, objection_id, for_update=True)
    if o.department_id not in policy.department_ids(actor) or actor.token_id is not None:
        raise PermissionDenied("sharing.objection_not_objector", "只有提出异议的部门可以撤回异议。")
    if o.status not in LIVE:
        raise Conflict("sharing.objection_closed", "该异议已办结或已撤回，不能再办理。")
    today = calendar.today()
    o.status = ObjectionStatus.WITHDRAWN.value
    o.answered_on = today
    if clean(reason):
        _note(session, actor, o, "撤回异议：" + clean(reason)[:4000])
    audit.record(
        session,
        actor,
        "sharing.objection_withdrawn",
        object_type="objection",
        object_id=o.id,
        summary=f"{actor.name}撤回第{o.id}号共享异议",
        change={"reason": clean(reason)},
        region_id=o.region_id,
        department_id=o.provider_department_id,
    )
    _stop_clock(session, actor, o, today)
    return o


def extend(
    session: Session, actor: Actor, objection_id: int, *, days: int, reason: str
) -> Objection:
    """The city bureau extends the period once (``objection_deadlines``)."""
    o = get(session, actor, objection_id, for_update=True)
    return objection_deadlines.extend(session, actor, o, days=days, reason=reason)


def clock_of(session: Session, o: Objection, cal: WorkCalendar, today: date) -> Clock | None:
    """The clock that runs for the objection: the correction's for a value objection (Art. 19
    ¶2), else its own (``objection_deadlines``)."""
    if o.correction_id is not None:
        c = session.get(Correction, o.correction_id)
        return corrections.clock(c, cal, today) if c is not None else None
    return objection_deadlines.clock(session, o, cal, today)


def correction_of(session: Session, actor: Actor, o: Objection) -> Correction | None:
    """The 校核 a value objection opened, if the actor may read it."""
    if o.correction_id is None:
        return None
    try:
        return corrections.get_correction(session, actor, o.correction_id)
    except DomainError:  # not the actor's to read
        return None
