"""Applying for a correction (Art. 19 ¶2): through the sharing system (staff, for their
department) or the open system (the public); the 10-working-day clock starts on receipt."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import policy, pools
from govdata.aggregation.corrections.deadlines import CORRECTION, SUBJECT, title
from govdata.aggregation.corrections.queries import open_correction
from govdata.aggregation.corrections.values import locate, parse_value, rule_for, value_text
from govdata.aggregation.errors import PoolNotFound
from govdata.aggregation.models import Correction, CorrectionStatus, Pool
from govdata.catalog import published
from govdata.catalog.vocab import OpenType
from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor, Role
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.org.models import Department, Person

CHANNEL_LABELS = {"sharing": "共享系统", "open": "开放系统"}
APPLICANT_LABELS = {"department": "政务部门", "citizen": "公民", "company": "法人和其他组织"}


@dataclass(frozen=True)
class Applicant:
    kind: str  # department / citizen / company
    channel: str  # sharing / open
    department_id: int | None
    person_id: int
    name: str


def _applicant(session: Session, actor: Actor, pool: Pool | None) -> Applicant:
    policy.require_correction_applicant(actor)
    assert actor.person_id is not None
    if actor.is_public:
        kind = "company" if actor.has(Role.COMPANY) else "citizen"
        return Applicant(kind, "open", None, actor.person_id, actor.name)
    own = set(policy.correction_departments(actor))
    person = session.get(Person, actor.person_id)
    if person is not None and person.department_id is not None:
        own.add(person.department_id)
    candidates = sorted(own - {pool.department_id} if pool is not None else own)
    if not candidates:
        if pool is not None and pool.department_id in own:
            raise InvalidInput(
                "aggregation.correction_own_data",
                "这是本部门的数据：发现错误的，请直接更正本部门数据资源池中的数据，无需申请校核。",
            )
        raise PermissionDenied(
            "aggregation.correction_no_department",
            "您未隶属任何政务部门，不能以部门名义申请校核。",
        )
    # Prefer the department the person belongs to, then the lowest id among its grants.
    chosen = (
        person.department_id
        if person is not None and person.department_id in candidates
        else candidates[0]
    )
    return Applicant("department", "sharing", chosen, actor.person_id, actor.name)


def check_applicant(session: Session, actor: Actor, pool: Pool) -> None:
    """Raise the refusal ``apply`` would give this actor for this pool's values, if any (for
    the application form, which says so before anything is typed)."""
    _applicant(session, actor, pool)


def _public_pool(session: Session, pool_id: int) -> Pool:
    """A pool the public may challenge: its resource is in the open catalog without conditions
    (Art. 30); anything else is "not found", never a hint of what the pool holds."""
    pool = session.get(Pool, pool_id)
    if pool is None:
        raise PoolNotFound()
    resource = published.get_many(session, [pool.resource_id]).get(pool.resource_id)
    if (
        resource is None
        or resource.withdrawal_pending
        or resource.open_type != OpenType.UNCONDITIONAL
    ):
        raise PoolNotFound()
    return pool


def lock_pool(session: Session, pool_id: int) -> Pool:
    """The pool row locked until the end of the transaction: applications and answers on one
    pool serialize with each other and with a load installing a new table."""
    pool = session.scalar(
        select(Pool)
        .where(Pool.id == pool_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if pool is None:
        raise PoolNotFound()
    return pool


def clean_text(value: str | None) -> str:
    return (value or "").strip()


def region_of(session: Session, department_id: int) -> int | None:
    return session.scalar(select(Department.region_id).where(Department.id == department_id))


def apply(
    session: Session,
    actor: Actor,
    *,
    pool_id: int,
    subject_key: str,
    item_name: str,
    proposed_value: str | None,
    reason: str,
    evidence: str = "",
) -> Correction:
    """Apply for the correction of one value (Art. 19 ¶2); the 10-working-day clock starts on
    the day of receipt (counted from the next day, 《民法典》Art. 201).

    The value must be in the pool's current data; a proposed value must fit the item as a
    loaded value would. One open correction per value at a time.
    """
    policy.require_correction_person(actor)
    if actor.is_public:
        pool = _public_pool(session, pool_id)
    else:
        pool = pools.get_pool(session, actor, pool_id)
    applicant = _applicant(session, actor, pool)
    return _file(
        session,
        actor,
        pool.id,
        applicant,
        subject_key=subject_key,
        item_name=item_name,
        proposed_value=proposed_value,
        reason=reason,
        evidence=evidence,
    )


def apply_for_objection(
    session: Session,
    actor: Actor,
    *,
    pool_id: int,
    department_id: int,
    subject_key: str,
    item_name: str,
    proposed_value: str | None,
    reason: str,
    evidence: str = "",
) -> Correction:
    """A department that obtained the value through the sharing system applies for its
    correction by objecting to it (Art. 19 ¶2 "通过共享系统", Art. 27): the objection
    (``sharing.objections``) has checked that ``department_id``'s grant covers the value, so
    the pool need not be one the department reads here. The person must act for
    ``department_id`` (officer or head), which must not be the provider; the clock and the
    answer are the correction's own (10 working days, the provider's head may extend once).
    """
    policy.require_correction_person(actor)
    assert actor.person_id is not None
    if department_id not in policy.correction_departments(actor):
        raise PermissionDenied(
            "aggregation.correction_not_for_department", "只能以本部门名义申请校核。"
        )
    pool = session.get(Pool, pool_id)
    if pool is None:
        raise PoolNotFound()
    if pool.department_id == department_id:
        raise InvalidInput(
            "aggregation.correction_own_data",
            "这是本部门的数据：发现错误的，请直接更正本部门数据资源池中的数据，无需申请校核。",
        )
    applicant = Applicant("department", "sharing", department_id, actor.person_id, actor.name)
    return _file(
        session,
        actor,
        pool.id,
        applicant,
        subject_key=subject_key,
        item_name=item_name,
        proposed_value=proposed_value,
        reason=reason,
        evidence=evidence,
    )


def _file(
    session: Session,
    actor: Actor,
    pool_id: int,
    applicant: Applicant,
    *,
    subject_key: str,
    item_name: str,
    proposed_value: str | None,
    reason: str,
    evidence: str,
) -> Correction:
    """Store the application and start its clock (the applicant has been checked)."""
    pool = lock_pool(session, pool_id)
    reason = clean_text(reason)
    if not reason:
        raise InvalidInput(
            "aggregation.correction_reason_required", "请说明认为该数据有疑义或错误的理由。"
        )
    target = locate(session, pool, subject_key, item_name)
    proposed = clean_text(proposed_value)
    proposed_text: str | None = None
    if proposed:
        proposed_text = value_text(parse_value(rule_for(session, pool, item_name), proposed))
    if open_correction(session, pool.id, target.subject_key, item_name) is not None:
        raise Conflict(
            "aggregation.correction_already_open",
            "该数据已有一项正在校核的申请，请等待数据提供部门答复。",
        )
    received = calendar.today()
    due = obligations.deadline(session, CORRECTION, received)
    c = Correction(
        pool_id=pool.id,
        department_id=pool.department_id,
        subject_key=target.subject_key,
        item_name=item_name,
        current_value=target.text,
        proposed_value=proposed_text,
        reason=reason,
        evidence=clean_text(evidence),
        applicant_kind=applicant.kind,
        applicant_department_id=applicant.department_id,
        applicant_person_id=applicant.person_id,
        applicant_name=applicant.name,
        channel=applicant.channel,
        received_on=received,
        due_on=due.due,
        due_provisional=due.provisional,
        extension_days=0,
        status=CorrectionStatus.OPEN,
    )
    session.add(c)
    session.flush()
    region = region_of(session, pool.department_id)
    audit.record(
        session,
        actor,
        "aggregation.correction.apply",
        object_type="correction",
        object_id=c.id,
        # No key or value in the summary: the audit log is no second copy of personal data.
        summary=(
            f"{applicant.name}（{APPLICANT_LABELS[applicant.kind]}，经"
            f"{CHANNEL_LABELS[applicant.channel]}）对{pool.name}（{pool.code}）的信息项"
            f"“{item_name}”申请校核，应于{due.due.isoformat()}前答复"
        ),
        change={
            "pool_id": pool.id,
            "subject_key": target.subject_key,
            "item_name": item_name,
            "current_value": target.text,
            "proposed_value": proposed_text,
            "reason": reason,
            "evidence": c.evidence,
            "received_on": received,
            "due_on": due.due,
            "due_provisional": due.provisional,
        },
        region_id=region,
        department_id=pool.department_id,
    )
    # The clock is also a row of the obligations register, in the same transaction (§4).
    obligations.open(
        session,
        actor,
        CORRECTION,
        subject_type=SUBJECT,
        subject_id=c.id,
        department_id=pool.department_id,
        region_id=region,
        title=title(c, pool.name),
        deadline=due,
    )
    return c
