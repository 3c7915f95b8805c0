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
from govdata.catalog.vocab import ShareType
from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor, Role
from govdata.core.db import utcnow
from govdata.core.deadlines import Clock
from govdata.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from govdata.core.pagination import Page, paginate
from govdata.core.workdays import WorkCalendar
from govdata.org.models import Department
from govdata.sharing import grants, objection_deadlines, policy
from govdata.sharing.errors import ApplicationNotFound, ObjectionNotFound, SourceNotFound
from govdata.sharing.models import (
    ApplicationStatus,
    Grant,
    GrantMode,
    GrantOrigin,
    Objection,
    ObjectionKind,
    ObjectionNote,
    ObjectionResult,
    ObjectionStatus,
    ShareApplication,
    SourceKind,
)
from govdata.sharing.sources import SharedSource, data_table, get_source

LIVE = (ObjectionStatus.OPEN.value, ObjectionStatus.COORDINATING.value)
SIDES = {
    "raised": "本部门提出的异议",
    "about": "涉及本部门数据的异议",
    "coordinate": "待协调的异议",
    "all": "全部异议",
}
ORDER_LABELS = {"": "无", "grant": "责令授权", "catalog_change": "责令调整共享目录"}


def _text(value: str | None) -> str:
    return (value or "").strip()


def _forbid_systems(actor: Actor) -> None:
    if actor.token_id is not None or actor.person_id is None:
        raise PermissionDenied(
            "sharing.objection_people_only", "共享异议须由工作人员办理，信息系统不能提出或处理。"
        )


def require_department_person(actor: Actor) -> None:
    """Objections are raised in a department's name by its officers or head (Art. 27)."""
    _forbid_systems(actor)
    if not policy.department_ids(actor):
        raise PermissionDenied(
            "sharing.objection_department_only", "只有政务部门的工作人员可以以本部门名义提出异议。"
        )


def _acting_department(actor: Actor, department_id: int | None) -> int:
    """The department the person objects for: one of its officer/head departments."""
    require_department_person(actor)
    mine = policy.department_ids(actor)
    if department_id is None:
        if len(mine) > 1:
            raise InvalidInput(
                "sharing.objection_department_required", "请选择以哪个部门名义提出异议。"
            )
        return next(iter(mine))
    if department_id not in mine:
        raise PermissionDenied("sharing.apply_forbidden", "只能以本部门名义提出异议。")
    return department_id


def _region_of(session: Session, department_id: int) -> int:
    region = session.scalar(select(Department.region_id).where(Department.id == department_id))
    if region is None:
        raise SourceNotFound()
    return int(region)


def _require_source(session: Session, code: str) -> SharedSource:
    source = get_source(session, _text(code)) if _text(code) else None
    if source is None:
        raise SourceNotFound()
    return source


def _no_live_duplicate(session: Session, o: Objection) -> None:
    stmt = select(Objection.id).where(
        Objection.department_id == o.department_id,
        Objection.kind == o.kind,
        Objection.status.in_(LIVE),
    )
    if o.application_id is not None:
        stmt = stmt.where(Objection.application_id == o.application_id)
    else:
        stmt = stmt.where(
            Objection.source_code == o.source_code, Objection.item_name == o.item_name
        )
    if o.kind != ObjectionKind.VALUE and session.scalar(stmt.limit(1)) is not None:
        raise Conflict(
            "sharing.objection_already_open", "本部门对此已有一项尚未办结的异议，请等待协调处理。"
        )


@dataclass(frozen=True)
class ValueChallenge:
    """What a value objection challenges: one value of one subject (Art. 19 ¶2)."""

    subject_key: str
    proposed_value: str | None = None
    evidence: str = ""


def object_to(
    session: Session,
    actor: Actor,
    *,
    kind: ObjectionKind,
    reason: str,
    requested: str = "",
    application_id: int | None = None,
    source_code: str = "",
    item_name: str = "",
    value: ValueChallenge | None = None,
    department_id: int | None = None,
) -> Objection:
    """Raise an objection (Art. 27); see the module for who may object to what."""
    _forbid_systems(actor)
    text = _text(reason)
    item = _text(item_name)
    if kind in (ObjectionKind.REFUSAL, ObjectionKind.NARROWING):
        o, source_name = _about_application(session, actor, kind, application_id)
    else:
        dept = _acting_department(actor, department_id)
        source = _require_source(session, source_code)
        if source.provider_department_id == dept:
            raise InvalidInput(
                "sharing.objection_own_data",
                "这是本部门提供的数据，请通过本部门目录和数据资源池调整。",
            )
        if kind == ObjectionKind.SHARE_TYPE:
            _check_share_type(source, item)
        else:
            _check_value(session, dept, source, item, value)
        o = Objection(
            kind=kind.value,
            department_id=dept,
            provider_department_id=source.provider_department_id,
            source_code=source.code,
            item_name=item,
        )
        source_name = source.name
    if not text:
        raise InvalidInput("sharing.objection_reason_required", "请说明异议的理由和依据。")
    received = calendar.today()
    o.status = ObjectionStatus.OPEN.value
    o.region_id = _region_of(session, o.provider_department_id)
    o.reason = text
    o.requested = _text(requested)
    o.received_on = received
    o.created_by = actor.person_id
    o.created_by_name = actor.name[:64]
    _no_live_duplicate(session, o)
    correction: Correction | None = None
    if kind == ObjectionKind.VALUE:
        assert value is not None
        source = _require_source(session, o.source_code)
        correction = corrections.apply_for_objection(
            session,
            actor,
            pool_id=source.object_id,
            department_id=o.department_id,
            subject_key=_text(value.subject_key),
            item_name=item,
            proposed_value=value.proposed_value,
            reason=text,
            evidence=value.evidence,
        )
        o.subject_key = correction.subject_key
        o.correction_id = correction.id
        o.due_on, o.due_provisional = correction.due_on, correction.due_provisional
    else:
        due = objection_deadlines.start(session, received)
        o.due_on, o.due_provisional = due.due, due.provisional
    session.add(o)
    session.flush()
    audit.record(
        session,
        actor,
        "sharing.objection_raised",
        object_type="objection",
        object_id=o.id,
        summary=(
            f"{actor.name}对{source_name}提出{ObjectionKind(o.kind).label}"
            + (f"（校核申请第{o.correction_id}号）" if o.correction_id else "")
            + f"，应于{o.due_on.isoformat()}前办结"
        ),
        change={
            "kind": o.kind,
            "application_id": o.application_id,
            "source": o.source_code,
            "item": o.item_name,
            "correction_id": o.correction_id,
            "reason": text,
            "requested": o.requested,
            "due_on": o.due_on,
        },
        region_id=o.region_id,
        department_id=o.provider_department_id,
    )
    if correction is None:
        obligations.open(
            session,
            actor,
            objection_deadlines.OBJECTION,
            subject_type=objection_deadlines.SUBJECT,
            subject_id=o.id,
            department_id=None,
            region_id=o.region_id,
            title=objection_deadlines.title(o, source_name),
            deadline=objection_deadlines.start(session, received),
        )
    return o


def _about_application(
    session: Session, actor: Actor, kind: ObjectionKind, application_id: int | None
) -> tuple[Objection, str]:
    """Only the applicant objects to the answer to its own application: a refusal, or an
    approval that narrowed what it asked (Art. 26 ¶2, 27)."""
    if application_id is None:
        raise InvalidInput("sharing.objection_application_required", "请指明所异议的共享申请。")
    app = session.scalar(
        policy.visible_applications(actor).where(ShareApplication.id == application_id)
    )
    if app is None:
        raise ApplicationNotFound()
    if app.requester_department_id not in policy.department_ids(actor):
        raise PermissionDenied(
            "sharing.objection_not_applicant", "只有提出该共享申请的部门可以对其答复提出异议。"
        )
    wanted = (
        ApplicationStatus.REFUSED if kind == ObjectionKind.REFUSAL else ApplicationStatus.NARROWED
    )
    if app.status != wanted:
        if app.status in (ApplicationStatus.APPROVED, ApplicationStatus.REGISTERED):
            raise Conflict(
                "sharing.objection_nothing_to_object", "该申请已按所申请的内容批准，无可异议之处。"
            )
        raise Conflict(
            "sharing.objection_wrong_answer",
            f"该申请目前为“{ApplicationStatus(app.status).label}”，不能提出{kind.label}。",
        )
    o = Objection(
        kind=kind.value,
        department_id=app.requester_department_id,
        provider_department_id=app.provider_department_id,
        application_id=app.id,
        source_code=app.source_code,
        item_name="",
    )
    return o, app.source_name


def _check_share_type(source: SharedSource, item: str) -> None:
    """Art. 24, 25(1): a conditional or "not shared" classification may be objected to."""
    share_type = source.share_type
    if item:
        found = source.item(item)
        if found is None:
            raise InvalidInput("sharing.item_unknown", f"资源中没有信息项：{item}。")
        share_type = found.share_type
    if share_type == ShareType.UNCONDITIONAL.value:
        raise Conflict(
            "sharing.objection_already_unconditional",
            "该资源（信息项）已属无条件共享，无需提出异议。",
        )


def _check_value(
    session: Session,
    department_id: int,
    source: SharedSource,
    item: str,
    value: ValueChallenge | None,
) -> None:
    """A value objection: a pool's value the department holds under a grant in force, data
    mode, naming the item, whose rows include the subject (Art. 19 ¶2 via the sharing system)."""
    if value is None or not _text(value.subject_key):
        raise InvalidInput("sharing.objection_subject_required", "请填写有疑义数据的主体标识。")
    if not item:
        raise InvalidInput("sharing.objection_item_required", "请填写有疑义的信息项。")
    if source.kind != SourceKind.POOL:
        raise InvalidInput(
            "sharing.objection_value_source",
            "基础数据库和主题数据库的数据来自部门资源池：请对其来源资源的数据提出异议。",
        )
    if not holds_value(session, department_id, source, item, _text(value.subject_key)):
        raise PermissionDenied(
            "sharing.objection_value_not_granted",
            "本部门没有获取该数据的有效授权，不能对其数据值提出异议。",
        )


def holds_value(
    session: Session, department_id: int, source: SharedSource, item: str, subject_key: str
) -> bool:
    """Whether a grant in force gives the department this subject's value of this item."""
    today = calendar.today()
    held = [
        g
        for g in session.scalars(
            select(Grant).where(
                Grant.requester_department_id == department_id,
                Grant.source_code == source.code,
                Grant.mode == GrantMode.DATA.value,
            )
        )
        if grants.state(g, today) == "active" and item in g.items
    ]
    if not held:
        return False
    if any(g.row_condition is None for g in held):
        return True
    table = data_table(source)
    if table is None or source.key_column is None:
        return False
    for g in held:
        cond = grants.RowCondition.of(g.row_condition)
        cond_item = source.item(cond.item) if cond is not None else None
        if cond is None or cond_item is None:
            continue
        row = session.execute(
            select(table.c[cond_item.column]).where(table.c[source.key_column] == subject_key)
        ).first()
        if row is not None and row[0] is not None and str(row[0]) in cond.values:
            return True
    return False


# --- reading ---------------------------------------------------------------------------------


def get(
    session: Session, actor: Actor, objection_id: int, *, for_update: bool = False
) -> Objection:
    _forbid_systems(actor)
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
    _forbid_systems(actor)
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
    body = _text(text)
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
    if _text(note):
        _note(session, actor, o, _text(note)[:4000])
    audit.record(
        session,
        actor,
        "sharing.objection_taken_up",
        object_type="objection",
        object_id=o.id,
        summary=f"{actor.name}开始协调第{o.id}号共享异议",
        change={"status": o.status, "note": _text(note)},
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
    text = _text(outcome)
    if not text:
        raise InvalidInput("sharing.outcome_required", "请填写协调处理结果及理由。")
    change = _text(catalog_change)
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
    source = _require_source(session, o.source_code)
    app = session.get(ShareApplication, o.application_id) if o.application_id else None
    duty = _text(order.duty) or (app.duty if app else "")
    basis = _text(order.legal_basis) or (app.legal_basis if app else "")
    purpose = _text(order.purpose) or (app.purpose if app else "")
    code = _text(order.purpose_code) or (app.purpose_code if app else "")
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
    if _text(reason):
        _note(session, actor, o, "撤回异议：" + _text(reason)[:4000])
    audit.record(
        session,
        actor,
        "sharing.objection_withdrawn",
        object_type="objection",
        object_id=o.id,
        summary=f"{actor.name}撤回第{o.id}号共享异议",
        change={"reason": _text(reason)},
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
