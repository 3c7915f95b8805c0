"""Corrections (校核, Art. 19): a challenge to one value of a pool, answered by its provider.

Who applies (Art. 19 ¶2: "通过共享系统或者开放系统"):

* staff of a government department, through the sharing system (channel ``sharing``): the
  department the value is challenged for is the applicant, so the person must be able to see
  the value (today: the pools ``policy.visible_pools`` gives them; values obtained through
  sharing grants join when Ch. 4 is built). A department does not apply to itself: it corrects
  its own data by updating its pool (product decision);
* citizens and companies, through the open system (channel ``open``). Accounts carry no verified
  identity yet (it comes with the open portal, Ch. 5), so whether a value is *about them* cannot
  be told safely. Until then the public may challenge only values of resources the open catalog
  carries without conditions (Art. 30), so that an application never becomes a way to probe
  data that is not open; and the public never sees the stored value through a correction.

The providing department answers within 10 working days of receipt; its head may extend the
period once by at most 10 working days (Art. 19 ¶2, ``core.calendar``). An accepted correction
writes the value into the pool's current table with one UPDATE, audited with the old and the
new value; the correction record and the audit event are its provenance. While a correction is
open the value carries the "校核中" mark, and business on it proceeds on valid proof (Art. 19
¶3, ``UNDER_CORRECTION_NOTE``). The city bureau supervises (Art. 19 ¶1): it sees every
correction and what is overdue; an answer after the due date is late (Art. 50(8)).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from sqlalchemy import CursorResult, Select, and_, case, false, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from govdata.aggregation import pools, validation
from govdata.aggregation.models import Correction, CorrectionStatus, ItemSpec, Pool
from govdata.aggregation.tables import column_of
from govdata.catalog.models import Resource, ResourceRevision
from govdata.catalog.vocab import OpenType
from govdata.core import audit, calendar
from govdata.core.actor import Actor, Role
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.pagination import Page, paginate
from govdata.core.workdays import Deadline, WorkCalendar
from govdata.org import policy as org_policy
from govdata.org.models import Department, Person

ANSWER_WORKING_DAYS = 10  # Art. 19 ¶2

#: Art. 19 ¶3, shown on the correction page and on every "校核中" mark.
UNDER_CORRECTION_NOTE = (
    "该数据正在校核。校核期间，办理业务涉及的公民、法人和其他组织已经提供合法有效证明材料的，"
    "受理单位应当照常办理，不得拒绝、推诿或者要求办事人办理信息更正手续（第十九条第三款）。"
)

#: Shown to the providing department before it accepts: a full reload from a source that still
#: holds the wrong value would bring it back.
SOURCE_NOTE = (
    "更正只修改数据资源池中的当前数据；"
    "请同时更正本部门业务系统中的源数据，以免下次全量加载时被覆盖。"
)

CHANNEL_LABELS = {"sharing": "共享系统", "open": "开放系统"}
APPLICANT_LABELS = {"department": "政务部门", "citizen": "公民", "company": "法人和其他组织"}

STAFF_APPLICANT_ROLES = frozenset(
    {
        Role.CITY_BUREAU_ADMIN,
        Role.DISTRICT_BUREAU_ADMIN,
        Role.DEPARTMENT_OFFICER,
        Role.DEPARTMENT_HEAD,
    }
)

NOT_FOUND = NotFound("aggregation.correction_not_found", "未找到该校核申请。")
VALUE_NOT_FOUND = NotFound(
    "aggregation.correction_value_not_found",
    "数据资源池的当前数据中没有该主体的这一信息项，无法申请校核。",
)
MAX_KEY_LENGTH = 64  # Correction.subject_key


# --- the clock (Art. 19 ¶2, Art. 50(8)) ---------------------------------------------------------


def deadline_of(c: Correction) -> Deadline:
    """The correction's statutory deadline rebuilt from its stored fields."""
    return Deadline(
        start=c.received_on,
        working_days=ANSWER_WORKING_DAYS,
        due=c.due_on,
        provisional=c.due_provisional,
        extension_days=c.extension_days,
        extended_by=c.extended_by,
        original_due=c.original_due_on,
    )


@dataclass(frozen=True)
class Clock:
    """Where a correction's 10-working-day clock stands on ``today``."""

    due: date
    original_due: date | None
    provisional: bool
    extended: bool
    answered_on: date | None
    today: date
    label: str  # Deadline.status_label: 剩余N个工作日 / 今日到期 / 已超期N个工作日 / 逾期办结 …

    @property
    def overdue(self) -> bool:
        """Open and past due (Art. 50(8))."""
        return self.answered_on is None and self.today > self.due

    @property
    def late(self) -> bool:
        """Answered, but after the due date (Art. 50(8))."""
        return self.answered_on is not None and self.answered_on > self.due

    @property
    def flagged(self) -> bool:
        return self.overdue or self.late


def clock(c: Correction, cal: WorkCalendar, today: date | None = None) -> Clock:
    today = today or calendar.today()
    d = deadline_of(c)
    return Clock(
        due=c.due_on,
        original_due=c.original_due_on,
        provisional=c.due_provisional,
        extended=c.extension_days > 0,
        answered_on=c.answered_on,
        today=today,
        label=d.status_label(today, cal, answered_on=c.answered_on),
    )


# --- values as text -----------------------------------------------------------------------------


def value_text(value: Any) -> str | None:
    """A stored value as the correction records and shows it (None for a missing value)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if value == 0:
            return "0"
        return format(value.normalize(), "f")
    return str(value)


_SCALE = {"N": Decimal("1e-10"), "Y": Decimal("0.01")}


def _rule(session: Session, pool: Pool, item_name: str) -> validation.ColumnRule:
    """The load pipeline's rule for one item: type, length, required and allowed values of the
    aggregation specification (Art. 15), ID number and USCC check characters (Art. 16)."""
    specs = {
        s.item_name: (s.required, list(s.allowed_values))
        for s in session.scalars(select(ItemSpec).where(ItemSpec.resource_id == pool.resource_id))
    }
    rules = validation.make_rules(pool.columns, pool.subject_column, pool.subject_kind, specs)
    rule = rules.by_name().get(item_name)
    if rule is None:
        raise InvalidInput(
            "aggregation.correction_item_unknown", f"该数据资源没有信息项“{item_name}”。"
        )
    return rule


def parse_value(rule: validation.ColumnRule, text: str) -> Any:
    """The text of a value as the typed value the data table stores, checked as a loaded value
    is (the same cleaning and rules as the load pipeline); an empty text is a missing value.

    Raises ``aggregation.correction_value_invalid`` naming the problem.
    """
    frame = pl.DataFrame(
        {validation.ROW: [1], rule.name: [text]},
        schema={validation.ROW: pl.Int64, rule.name: pl.String},
    )
    result = validation.check_batch(validation.Rules((rule,), None), frame)
    if result.problems.height:
        problem = result.problems.row(0, named=True)
        raise InvalidInput(
            "aggregation.correction_value_invalid",
            f"值“{text}”不符合要求：{problem['message']}。",
            detail={"item": rule.name, "problem": problem["code"]},
        )
    typed: Any = result.good.row(0, named=True)[rule.column]
    if typed is None:
        return None
    t = rule.data_type
    if t in ("N", "Y"):
        # The load pipeline rounds extra decimal places as the database does; a correction
        # states one value, so more places than the item keeps is refused instead.
        cleaned = validation.clean_value(rule, text) or ""
        try:
            number = Decimal(cleaned.replace(",", ""))
        except InvalidOperation:  # exponent forms the float parser read: the typed value
            number = typed
        scaled = number.quantize(_SCALE[t])
        if scaled != number:
            places = 2 if t == "Y" else 10
            raise InvalidInput(
                "aggregation.correction_value_invalid",
                f"值“{text}”的小数位数超过该信息项允许的 {places} 位。",
                detail={"item": rule.name, "problem": "aggregation.too_many_decimals"},
            )
        return scaled
    return typed


# --- who sees what ------------------------------------------------------------------------------


def visible_corrections(actor: Actor) -> Select[Correction]:
    """Corrections an actor may read: the providing department's people, the applicant
    department's people, the district bureaus of either, the applicant person, and the city
    bureau and auditors, who see all (Art. 19 ¶1 supervision, Art. 49)."""
    stmt = select(Correction)
    if org_policy.sees_everything(actor):
        return stmt
    if actor.token_id is not None:  # corrections are for people (see ``_require_person``)
        return stmt.where(false())
    departments = select(Department.id).where(org_policy.department_filter(actor))
    clauses: list[ColumnElement[bool]] = [
        Correction.department_id.in_(departments),
        Correction.applicant_department_id.in_(departments),
    ]
    if actor.person_id is not None:
        clauses.append(Correction.applicant_person_id == actor.person_id)
    return stmt.where(or_(*clauses))


def _require_person(actor: Actor) -> None:
    if actor.token_id is not None or actor.person_id is None:
        raise PermissionDenied(
            "aggregation.correction_people_only", "校核申请和答复须由工作人员或申请人本人办理。"
        )


def can_answer(actor: Actor, c: Correction) -> bool:
    """The providing department answers: its data officers or its head (Art. 19 ¶2)."""
    return actor.token_id is None and c.department_id in actor.department_ids(
        Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD
    )


def can_extend(actor: Actor, c: Correction) -> bool:
    """Only the providing department's head (主要负责人) extends the period (Art. 19 ¶2)."""
    return actor.token_id is None and c.department_id in actor.department_ids(Role.DEPARTMENT_HEAD)


def shows_value(actor: Actor) -> bool:
    """The public never reads a stored value through a correction (see the module docstring)."""
    return not actor.is_public


def get_correction(
    session: Session, actor: Actor, correction_id: int, *, for_update: bool = False
) -> Correction:
    stmt = visible_corrections(actor).where(Correction.id == correction_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    c = session.scalar(stmt)
    if c is None:
        raise NOT_FOUND
    return c


def _overdue_clause(today: date) -> ColumnElement[bool]:
    return or_(
        and_(Correction.status == CorrectionStatus.OPEN, Correction.due_on < today),
        Correction.answered_on > Correction.due_on,
    )


def _scoped(
    actor: Actor,
    *,
    status: str | None = None,
    department_id: int | None = None,
    overdue_only: bool = False,
    direction: str | None = None,
    pool_id: int | None = None,
) -> Select[Correction]:
    stmt = visible_corrections(actor)
    if status is not None:
        stmt = stmt.where(Correction.status == status)
    if department_id is not None:
        stmt = stmt.where(Correction.department_id == department_id)
    if pool_id is not None:
        stmt = stmt.where(Correction.pool_id == pool_id)
    if overdue_only:
        stmt = stmt.where(_overdue_clause(calendar.today()))
    mine = actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)
    if direction == "incoming":
        stmt = stmt.where(Correction.department_id.in_(mine))
    elif direction == "outgoing":
        own: list[ColumnElement[bool]] = [Correction.applicant_department_id.in_(mine)]
        if actor.person_id is not None:
            own.append(Correction.applicant_person_id == actor.person_id)
        stmt = stmt.where(or_(*own))
    return stmt


def list_corrections(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    department_id: int | None = None,
    overdue_only: bool = False,
    direction: str | None = None,
    pool_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Correction]:
    """Visible corrections, open ones first by due date.

    ``department_id`` is the providing department; ``direction`` ``incoming`` narrows to the
    actor's own departments' data, ``outgoing`` to what the actor or its departments applied
    for; ``overdue_only`` to open corrections past due and answers given late (Art. 50(8)).
    """
    stmt = _scoped(
        actor,
        status=status,
        department_id=department_id,
        overdue_only=overdue_only,
        direction=direction,
        pool_id=pool_id,
    )
    is_open = case((Correction.status == CorrectionStatus.OPEN, 0), else_=1)
    stmt = stmt.order_by(is_open, Correction.due_on, Correction.id.desc())
    return paginate(session, stmt, offset, limit)


@dataclass(frozen=True)
class Counts:
    total: int
    open: int
    overdue: int  # open and past due
    late: int  # answered after the due date


def _count_columns(c: Any, today: date) -> list[Any]:
    is_open = c.status == CorrectionStatus.OPEN.value
    return [
        func.count(),
        func.coalesce(func.sum(case((is_open, 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(is_open, c.due_on < today), 1), else_=0)), 0),
        func.coalesce(func.sum(case((c.answered_on > c.due_on, 1), else_=0)), 0),
    ]


def counts(
    session: Session,
    actor: Actor,
    *,
    department_id: int | None = None,
    direction: str | None = None,
) -> Counts:
    """The supervision figures of the visible corrections (Art. 19 ¶1, Art. 50(8))."""
    sub = _scoped(actor, department_id=department_id, direction=direction).subquery()
    row = session.execute(select(*_count_columns(sub.c, calendar.today())).select_from(sub)).one()
    return Counts(total=int(row[0]), open=int(row[1]), overdue=int(row[2]), late=int(row[3]))


def counts_by_department(session: Session, actor: Actor) -> list[tuple[Department, Counts]]:
    """The figures per providing department, most overdue first: the city bureau's view of
    how departments keep the 10-working-day period (Art. 19 ¶1, Art. 50(8))."""
    sub = visible_corrections(actor).subquery()
    rows = session.execute(
        select(sub.c.department_id, *_count_columns(sub.c, calendar.today())).group_by(
            sub.c.department_id
        )
    ).all()
    names = departments(session, (r[0] for r in rows))
    out = [
        (names[r[0]], Counts(total=int(r[1]), open=int(r[2]), overdue=int(r[3]), late=int(r[4])))
        for r in rows
    ]
    out.sort(key=lambda x: (-x[1].overdue, -x[1].late, -x[1].open, x[0].code))
    return out


@dataclass(frozen=True)
class OverdueReport:
    """What is overdue under Art. 19 ¶2 as of ``today`` (flags; Art. 50(8) findings)."""

    today: date
    open: list[Correction]  # not answered, past due
    late: list[Correction]  # answered after the due date
    labels: dict[int, str]  # correction id -> Deadline.status_label


def overdue(session: Session, actor: Actor) -> OverdueReport:
    org_policy.require_staff(actor)
    today = calendar.today()
    cal = calendar.load_calendar(session)
    open_ = list(
        session.scalars(
            visible_corrections(actor)
            .where(Correction.status == CorrectionStatus.OPEN, Correction.due_on < today)
            .order_by(Correction.due_on, Correction.id)
        )
    )
    late = list(
        session.scalars(
            visible_corrections(actor)
            .where(Correction.answered_on > Correction.due_on)
            .order_by(Correction.answered_on.desc(), Correction.id)
        )
    )
    labels = {c.id: clock(c, cal, today).label for c in (*open_, *late)}
    return OverdueReport(today=today, open=open_, late=late, labels=labels)


def under_correction(
    session: Session, pool_id: int, subject_keys: list[str]
) -> dict[tuple[str, str], Correction]:
    """(subject key, item name) -> the open correction, for the "校核中" mark on the pool data
    page and the base record page (Art. 19 ¶3). The caller has already scoped the rows."""
    keys = sorted({k for k in subject_keys if k})
    found: dict[tuple[str, str], Correction] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        for c in session.scalars(
            select(Correction).where(
                Correction.pool_id == pool_id,
                Correction.status == CorrectionStatus.OPEN,
                Correction.subject_key.in_(chunk),
            )
        ):
            found[(c.subject_key, c.item_name)] = c
    return found


def is_under_correction(session: Session, pool_id: int, subject_key: str, item_name: str) -> bool:
    return (subject_key, item_name) in under_correction(session, pool_id, [subject_key])


def open_correction(
    session: Session, pool_id: int, subject_key: str, item_name: str
) -> Correction | None:
    return session.scalar(
        select(Correction).where(
            Correction.pool_id == pool_id,
            Correction.subject_key == subject_key,
            Correction.item_name == item_name,
            Correction.status == CorrectionStatus.OPEN,
        )
    )


# --- reading the challenged value ---------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One value of a pool's current data: what a correction is about."""

    pool: Pool
    subject_key: str  # the key as the data table holds it
    item_name: str
    column: str
    value: Any  # typed, as stored

    @property
    def text(self) -> str | None:
        return value_text(self.value)


def _key_value(session: Session, pool: Pool, subject_key: str) -> Any:
    """The subject key typed and cleaned as the load stored it; None when it cannot be one.

    Only the type and the key form count here (an ID number's ``x`` is ``X``, Art. 16): a key
    that is in the pool is found even if the specification changed since it was loaded.
    """
    assert pool.subject_column is not None
    key_name = next(c["name"] for c in pool.columns if c["column"] == pool.subject_column)
    text = subject_key.strip()
    if not text or len(text) > MAX_KEY_LENGTH:
        return None
    rule = _rule(session, pool, key_name)
    if rule.check in ("id_number", "uscc"):
        text = text.upper()
    lookup = replace(rule, length=None, required=False, allowed=(), check=None)
    try:
        return parse_value(lookup, text)
    except InvalidInput:
        return None


def locate(session: Session, pool: Pool, subject_key: str, item_name: str) -> Target:
    """The current value of ``item_name`` for ``subject_key`` in the pool's current data."""
    if pool.subject_column is None:
        raise InvalidInput(
            "aggregation.correction_no_subject_key",
            "该数据资源没有主体标识信息项，无法定位需要校核的数据。",
        )
    column = column_of(pool.columns, item_name)
    if column is None:
        raise InvalidInput(
            "aggregation.correction_item_unknown", f"该数据资源没有信息项“{item_name}”。"
        )
    if column == pool.subject_column:
        raise InvalidInput(
            "aggregation.correction_subject_key_item",
            "主体标识本身不能通过校核更正；主体标识有误的，请数据提供部门更新数据资源池。",
        )
    table = pools.current_table(pool)
    key = _key_value(session, pool, subject_key)
    if table is None or key is None:
        raise VALUE_NOT_FOUND
    row = session.execute(
        select(table.c[pool.subject_column], table.c[column]).where(
            table.c[pool.subject_column] == key
        )
    ).first()
    if row is None:
        raise VALUE_NOT_FOUND
    return Target(pool, str(value_text(row[0])), item_name, column, row[1])


def current_value(session: Session, actor: Actor, c: Correction) -> Target | None:
    """The challenged value as the pool holds it now, for those who may read the pool."""
    if not shows_value(actor):
        return None
    try:
        pool = pools.get_pool(session, actor, c.pool_id)
        return locate(session, pool, c.subject_key, c.item_name)
    except (NotFound, InvalidInput):
        return None


# --- applying (Art. 19 ¶2) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Applicant:
    kind: str  # department / citizen / company
    channel: str  # sharing / open
    department_id: int | None
    person_id: int
    name: str


def _applicant(session: Session, actor: Actor, pool: Pool | None) -> Applicant:
    _require_person(actor)
    assert actor.person_id is not None
    if actor.is_public:
        kind = "company" if actor.has(Role.COMPANY) else "citizen"
        return Applicant(kind, "open", None, actor.person_id, actor.name)
    if not actor.roles & STAFF_APPLICANT_ROLES:
        raise PermissionDenied(
            "aggregation.correction_cannot_apply",
            "只有政务部门工作人员、公民和法人可以申请校核；审计监督人员只读。",
        )
    own = set(actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD))
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
    pool = session.scalar(
        select(Pool)
        .join(Resource, Resource.id == Pool.resource_id)
        .join(ResourceRevision, ResourceRevision.id == Resource.published_revision_id)
        .where(
            Pool.id == pool_id,
            Resource.withdrawn.is_(False),
            ResourceRevision.open_type == OpenType.UNCONDITIONAL.value,
        )
    )
    if pool is None:
        raise pools.NOT_FOUND
    return pool


def _lock_pool(session: Session, pool_id: int) -> Pool:
    """The pool row locked until the end of the transaction: applications and answers on one
    pool serialize with each other and with a load installing a new table."""
    pool = session.scalar(
        select(Pool)
        .where(Pool.id == pool_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if pool is None:
        raise pools.NOT_FOUND
    return pool


def _clean_text(value: str | None) -> str:
    return (value or "").strip()


def _region_of(session: Session, department_id: int) -> int | None:
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
    _require_person(actor)
    if actor.is_public:
        pool = _public_pool(session, pool_id)
    else:
        pool = pools.get_pool(session, actor, pool_id)
    applicant = _applicant(session, actor, pool)
    pool = _lock_pool(session, pool.id)
    reason = _clean_text(reason)
    if not reason:
        raise InvalidInput(
            "aggregation.correction_reason_required", "请说明认为该数据有疑义或错误的理由。"
        )
    target = locate(session, pool, subject_key, item_name)
    proposed = _clean_text(proposed_value)
    proposed_text: str | None = None
    if proposed:
        proposed_text = value_text(parse_value(_rule(session, pool, item_name), proposed))
    if open_correction(session, pool.id, target.subject_key, item_name) is not None:
        raise Conflict(
            "aggregation.correction_already_open",
            "该数据已有一项正在校核的申请，请等待数据提供部门答复。",
        )
    received = calendar.today()
    due = calendar.deadline(session, received, ANSWER_WORKING_DAYS)
    c = Correction(
        pool_id=pool.id,
        department_id=pool.department_id,
        subject_key=target.subject_key,
        item_name=item_name,
        current_value=target.text,
        proposed_value=proposed_text,
        reason=reason,
        evidence=_clean_text(evidence),
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
        region_id=_region_of(session, pool.department_id),
        department_id=pool.department_id,
    )
    return c


# --- extending (Art. 19 ¶2) ---------------------------------------------------------------------


def extend(
    session: Session, actor: Actor, correction_id: int, *, days: int, reason: str
) -> Correction:
    """Extend the answer period once, by at most 10 working days, with the approval of the
    providing department's head (Art. 19 ¶2); only before the period has run out."""
    c = get_correction(session, actor, correction_id, for_update=True)
    if not can_extend(actor, c):
        raise PermissionDenied(
            "deadline.head_approval_required", "延长校核期限须经数据提供部门主要负责人同意。"
        )
    if c.status != CorrectionStatus.OPEN:
        raise Conflict("aggregation.correction_closed", "该校核申请已答复，不能再延长期限。")
    if c.extension_days > 0:
        # Deadline.extend says the same, but with dates in its detail, which the JSON error
        # body cannot carry (core.workdays); this one is JSON-safe.
        raise Conflict(
            "deadline.already_extended",
            "该期限已延长过一次，不得再次延长。",
            detail={"original_due": str(c.original_due_on), "due": c.due_on.isoformat()},
        )
    today = calendar.today()
    if today > c.due_on:
        raise Conflict(
            "aggregation.correction_extension_after_due",
            f"校核期限已于{c.due_on.isoformat()}届满，不能再延长；请尽快答复（第五十条第八项）。",
        )
    reason = _clean_text(reason)
    if not reason:
        raise InvalidInput(
            "aggregation.extension_reason_required", "请说明需要延长校核期限的理由。"
        )
    extended = calendar.approve_extension(
        session, actor, deadline_of(c), department_id=c.department_id, days=days
    )
    c.original_due_on = extended.original_due
    c.due_on = extended.due
    c.due_provisional = extended.provisional
    c.extension_days = extended.extension_days
    c.extended_by = extended.extended_by
    c.extension_reason = reason
    session.flush()
    audit.record(
        session,
        actor,
        "aggregation.correction.extend",
        object_type="correction",
        object_id=c.id,
        summary=(
            f"{actor.name}同意将第{c.id}号校核申请的期限延长{days}个工作日，"
            f"由{extended.original_due}延至{c.due_on.isoformat()}"
        ),
        change={
            "days": days,
            "reason": reason,
            "original_due_on": c.original_due_on,
            "due_on": c.due_on,
            "due_provisional": c.due_provisional,
        },
        region_id=_region_of(session, c.department_id),
        department_id=c.department_id,
    )
    return c


# --- answering (Art. 19 ¶2) ---------------------------------------------------------------------


def _refresh_base(session: Session, pool: Pool, subject_key: str) -> None:
    """Carry the corrected value into the base databases that take it from this pool."""
    from govdata.aggregation import base

    base.refresh_subject(session, pool, subject_key)


def answer(
    session: Session,
    actor: Actor,
    correction_id: int,
    *,
    accept: bool,
    answer: str,
    corrected_value: str | None = None,
) -> Correction:
    """Answer a correction (Art. 19 ¶2): by the providing department's data officers or head.

    Accepting writes ``corrected_value`` (default: the proposed value; an empty text clears the
    value) into the pool's current table with one UPDATE, checked as a loaded value is, and
    audits the old and the new value. Rejecting needs the reason. An answer after the due
    date is recorded as late (Art. 50(8)).
    """
    c = get_correction(session, actor, correction_id, for_update=True)
    if not can_answer(actor, c):
        raise PermissionDenied(
            "aggregation.correction_cannot_answer",
            "只有数据提供部门的数据专职人员或主要负责人可以答复校核申请。",
        )
    if c.status != CorrectionStatus.OPEN:
        raise Conflict("aggregation.correction_closed", "该校核申请已答复，不能重复答复。")
    text = _clean_text(answer)
    today = calendar.today()
    late = today > c.due_on
    change: dict[str, Any] = {"accept": accept, "answer": text, "answered_on": today}
    if accept:
        pool = _lock_pool(session, c.pool_id)
        try:
            target = locate(session, pool, c.subject_key, c.item_name)
        except NotFound as exc:  # a full load since the application no longer holds it
            raise Conflict(
                "aggregation.correction_value_gone",
                "数据资源池的当前数据中已没有该数据，无法更正；请答复不予更正并说明情况。",
            ) from exc
        if corrected_value is None:
            if c.proposed_value is None:
                raise InvalidInput(
                    "aggregation.corrected_value_required",
                    "申请人未提出更正值，请填写更正后的值（留空请选择清空该值）。",
                )
            corrected_value = c.proposed_value
        new_value = parse_value(_rule(session, pool, c.item_name), corrected_value.strip())
        new_text = value_text(new_value)
        table = pools.current_table(pool)
        assert table is not None and pool.subject_column is not None
        key = _key_value(session, pool, c.subject_key)
        result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(table)
            .where(table.c[pool.subject_column] == key)
            .values({target.column: new_value})
        )
        assert result.rowcount == 1  # locate found it, under the pool's lock
        if not text:
            text = "经核实，已予更正。"
        if c.proposed_value is None or new_text != c.proposed_value:
            text += f"\n更正后的值：{new_text if new_text is not None else '（空）'}"
        c.status = CorrectionStatus.ACCEPTED
        change |= {
            "pool_id": pool.id,
            "table": pool.table_name,
            "column": target.column,
            "subject_key": c.subject_key,
            "item_name": c.item_name,
            "old_value": target.text,
            "new_value": new_text,
            "load_id": pool.current_load_id,
        }
    else:
        if not text:
            raise InvalidInput("aggregation.correction_answer_required", "不予更正的，须说明理由。")
        c.status = CorrectionStatus.REJECTED
    c.answer = text
    c.answered_on = today
    c.answered_by = actor.person_id
    session.flush()
    verdict = "予以更正" if accept else "不予更正"
    audit.record(
        session,
        actor,
        "aggregation.correction.accept" if accept else "aggregation.correction.reject",
        object_type="correction",
        object_id=c.id,
        summary=(
            f"{actor.name}答复第{c.id}号校核申请：{verdict}"
            + (f"（{pool.name}的信息项“{c.item_name}”已更正）" if accept else "")
            + (f"；逾期答复，期限为{c.due_on.isoformat()}（第五十条第八项）" if late else "")
        ),
        change=change,
        region_id=_region_of(session, c.department_id),
        department_id=c.department_id,
    )
    if accept:
        _refresh_base(session, pool, c.subject_key)
    return c


# --- labelling ----------------------------------------------------------------------------------


def departments(session: Session, ids: Iterable[int | None]) -> dict[int, Department]:
    """Department names for labels (providers and applicants are named to whoever sees a
    correction, as the published catalog names its providers)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(wanted)))}


def pools_by_id(session: Session, ids: Iterable[int]) -> dict[int, Pool]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(select(Pool).where(Pool.id.in_(wanted)))}


__all__ = [
    "ANSWER_WORKING_DAYS",
    "UNDER_CORRECTION_NOTE",
    "Clock",
    "Counts",
    "OverdueReport",
    "Target",
    "answer",
    "apply",
    "can_answer",
    "can_extend",
    "check_applicant",
    "clock",
    "counts",
    "counts_by_department",
    "deadline_of",
    "extend",
    "get_correction",
    "is_under_correction",
    "list_corrections",
    "locate",
    "overdue",
    "under_correction",
    "value_text",
    "visible_corrections",
]
