"""Raising an objection (Art. 27; Art. 19 for values): who may object to what, checked before
anything is stored; a value objection files its 校核 (``aggregation.corrections``). The rules
are described in ``sharing.objections``, which re-exports what is public here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import corrections
from govdata.aggregation.models import Correction
from govdata.catalog.vocab import ShareType
from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.org.models import Department
from govdata.sharing import grants, objection_deadlines, policy
from govdata.sharing.errors import ApplicationNotFound, SourceNotFound
from govdata.sharing.models import (
    ApplicationStatus,
    Grant,
    GrantMode,
    Objection,
    ObjectionKind,
    ObjectionStatus,
    ShareApplication,
    SourceKind,
)
from govdata.sharing.sources import SharedSource, data_table, get_source

LIVE = (ObjectionStatus.OPEN.value, ObjectionStatus.COORDINATING.value)


def clean(value: str | None) -> str:
    return (value or "").strip()


def forbid_systems(actor: Actor) -> None:
    if actor.token_id is not None or actor.person_id is None:
        raise PermissionDenied(
            "sharing.objection_people_only", "共享异议须由工作人员办理，信息系统不能提出或处理。"
        )


def require_department_person(actor: Actor) -> None:
    """Objections are raised in a department's name by its officers or head (Art. 27)."""
    forbid_systems(actor)
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


def require_source(session: Session, code: str) -> SharedSource:
    source = get_source(session, clean(code)) if clean(code) else None
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
    forbid_systems(actor)
    text = clean(reason)
    item = clean(item_name)
    if kind in (ObjectionKind.REFUSAL, ObjectionKind.NARROWING):
        o, source_name = _about_application(session, actor, kind, application_id)
    else:
        dept = _acting_department(actor, department_id)
        source = require_source(session, source_code)
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
    o.requested = clean(requested)
    o.received_on = received
    o.created_by = actor.person_id
    o.created_by_name = actor.name[:64]
    _no_live_duplicate(session, o)
    correction: Correction | None = None
    due = objection_deadlines.start(session, received)
    if kind == ObjectionKind.VALUE:
        assert value is not None
        source = require_source(session, o.source_code)
        correction = corrections.apply_for_objection(
            session,
            actor,
            pool_id=source.object_id,
            department_id=o.department_id,
            subject_key=clean(value.subject_key),
            item_name=item,
            proposed_value=value.proposed_value,
            reason=text,
            evidence=value.evidence,
        )
        o.subject_key = correction.subject_key
        o.correction_id = correction.id
        o.due_on, o.due_provisional = correction.due_on, correction.due_provisional
    else:
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
            deadline=due,
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
    if value is None or not clean(value.subject_key):
        raise InvalidInput("sharing.objection_subject_required", "请填写有疑义数据的主体标识。")
    if not item:
        raise InvalidInput("sharing.objection_item_required", "请填写有疑义的信息项。")
    if source.kind != SourceKind.POOL:
        raise InvalidInput(
            "sharing.objection_value_source",
            "基础数据库和主题数据库的数据来自部门资源池：请对其来源资源的数据提出异议。",
        )
    if not holds_value(session, department_id, source, item, clean(value.subject_key)):
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
