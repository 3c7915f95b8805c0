"""A year of corrections (校核, Art. 19): each month one or two applications against values
of the aggregation demo's pools, from departments through the sharing system and from a
citizen or a company through the open system, answered within the 10 working days, a few after
it (overdue, then answered: Art. 50(8)) and one or two within an extension the department head
approved (Art. 19 ¶2).

Written as the services leave an answered application: the ``Correction`` with its dates and
answer, and its row in the obligations register, kept or late. An accepted correction's
proposed value is the one the pool holds today (the value was corrected then, and the loads
since carry it); a refused one challenged today's value, which stands.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import pools as pool_tables
from govdata.aggregation.corrections.deadlines import CORRECTION, SUBJECT, title
from govdata.aggregation.corrections.values import value_text
from govdata.aggregation.models import Correction, CorrectionStatus, Pool
from govdata.app.demo_history.months import office_time, working_day
from govdata.core import obligations
from govdata.core.obligations.models import Obligation
from govdata.core.workdays import WorkCalendar
from govdata.org.models import Department, Person

ITEMS = ("住址", "居住地址", "住所", "姓名", "配偶姓名")
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"


@dataclass(frozen=True)
class _Applicant:
    kind: str  # department / citizen / company
    channel: str  # sharing / open
    department_id: int | None
    person: Person


@dataclass(frozen=True)
class _Target:
    pool: Pool
    item: str
    column: str


def _variant(item: str, value: str, n: int) -> str | None:
    """Another plausible value of the item: a neighbouring house number, a name differing in
    its last character."""
    if item.endswith("姓名"):
        options = [c for c in _GIVEN if c != value[-1:]]
        return value[:-1] + options[n % len(options)] if len(value) >= 2 else None
    m = re.search(r"\d+", value)
    if m is None:
        return None
    return f"{value[: m.start()]}{int(m.group()) + 2 + n % 7}{value[m.end() :]}"


def _targets(session: Session) -> list[_Target]:
    out: list[_Target] = []
    for pool in session.scalars(
        select(Pool).where(Pool.subject_column.is_not(None), Pool.table_name.is_not(None))
    ):
        names = {c["name"]: c for c in pool.columns if not c.get("is_subject_key")}
        item = next((i for i in ITEMS if i in names and names[i]["data_type"] == "C"), None)
        if item is not None and pool.row_count:
            out.append(_Target(pool, item, str(names[item]["column"])))
    return sorted(out, key=lambda t: t.pool.id)


def _applicants(session: Session) -> list[_Applicant]:
    people = {
        p.username: p
        for p in session.scalars(
            select(Person).where(
                Person.username.in_(
                    ["demo.city", "demo.officer2", "demo.district", "demo.citizen", "demo.company"]
                )
            )
        )
    }
    out: list[_Applicant] = []
    for username, kind, channel in (
        ("demo.city", "department", "sharing"),
        ("demo.citizen", "citizen", "open"),
        ("demo.officer2", "department", "sharing"),
        ("demo.company", "company", "open"),
        ("demo.district", "department", "sharing"),
    ):
        person = people.get(username)
        if person is not None:
            dept = person.department_id if kind == "department" else None
            if kind != "department" or dept is not None:
                out.append(_Applicant(kind, channel, dept, person))
    return out


def _row(session: Session, t: _Target, rng: random.Random) -> tuple[str, str] | None:
    table = pool_tables.current_table(t.pool)
    assert table is not None and t.pool.subject_column is not None
    row = session.execute(
        select(table.c[t.pool.subject_column], table.c[t.column])
        .where(table.c[t.column].is_not(None))
        .order_by(table.c[t.pool.subject_column])
        .offset(rng.randrange(max(1, min(t.pool.row_count, 400))))
        .limit(1)
    ).first()
    if row is None:
        return None
    key, value = value_text(row[0]), value_text(row[1])
    return (key, value) if key and value else None


def write_corrections(
    session: Session, months: list[date], cal: WorkCalendar, rng: random.Random
) -> int:
    targets, applicants = _targets(session), _applicants(session)
    if not targets or not applicants:
        return 0
    answerers = {
        p.department_id: p
        for p in session.scalars(
            select(Person).where(Person.username.in_(["demo.officer", "demo.officer2"]))
        )
    }
    heads = {
        p.department_id: p
        for p in session.scalars(select(Person).where(Person.username == "demo.head"))
    }
    written = k = 0
    for i, month in enumerate(months):
        for j in range(1 + i % 2):
            k += 1
            t = targets[k % len(targets)]
            applicant = next(
                a
                for n in range(len(applicants))
                if (a := applicants[(k + k // len(targets) + n) % len(applicants)]).department_id
                != t.pool.department_id
            )
            picked = _row(session, t, rng)
            other = _variant(t.item, picked[1], k) if picked else None
            if picked is None or other is None:
                continue
            key, today_value = picked
            accept = k % 3 != 0
            received = working_day(cal, month, 4 + 6 * j + i % 3)
            _write(
                session,
                cal,
                t,
                applicant,
                key=key,
                old=other if accept else today_value,
                proposed=today_value if accept else other,
                accept=accept,
                received=received,
                late=k % 4 == 2,
                extended=k % 5 == 0 and t.pool.department_id in heads,
                answerer=answerers.get(t.pool.department_id),
                head=heads.get(t.pool.department_id),
                n=k,
            )
            written += 1
    return written


def _write(
    session: Session,
    cal: WorkCalendar,
    t: _Target,
    applicant: _Applicant,
    *,
    key: str,
    old: str,
    proposed: str,
    accept: bool,
    received: date,
    late: bool,
    extended: bool,
    answerer: Person | None,
    head: Person | None,
    n: int,
) -> None:
    due = obligations.deadline(session, CORRECTION, received)
    due_on, original_due, extension = due.due, None, 0
    if extended and not late:
        extension, original_due = 5, due.due
        due_on = cal.add_working_days(due.due, extension)
        answered = cal.add_working_days(due.due, 3)
    elif late:
        answered = cal.add_working_days(due.due, 2 + n % 4)
    else:
        answered = cal.add_working_days(received, 3 + n % 6)
    dept = session.get(Department, applicant.department_id) if applicant.department_id else None
    who = dept.name if dept is not None else "本人"
    if applicant.kind == "department":
        reason = f"{who}在办理业务中核实，该“{t.item}”应为“{proposed}”，与资源池数据不一致。"
        evidence = "业务办理记录"
    else:
        reason = f"本人（本单位）的“{t.item}”登记有误，应为“{proposed}”，申请更正。"
        evidence = "证明材料复印件"
    answer = (
        "经核实，已予更正。"
        if accept
        else f"经核实，“{t.item}”以本部门登记档案为准，原值无误，不予更正。"
    )
    c = Correction(
        pool_id=t.pool.id,
        department_id=t.pool.department_id,
        subject_key=key,
        item_name=t.item,
        current_value=old,
        proposed_value=proposed,
        reason=reason,
        evidence=evidence,
        applicant_kind=applicant.kind,
        applicant_department_id=applicant.department_id,
        applicant_person_id=applicant.person.id,
        applicant_name=applicant.person.name,
        channel=applicant.channel,
        received_on=received,
        due_on=due_on,
        due_provisional=due.provisional,
        extension_days=extension,
        original_due_on=original_due,
        extended_by=head.id if extension and head is not None else None,
        extension_reason="需调取纸质档案核对，经部门主要负责人批准延长答复期限。"
        if extension
        else "",
        status=CorrectionStatus.ACCEPTED if accept else CorrectionStatus.REJECTED,
        answer=answer,
        answered_on=answered,
        answered_by=answerer.id if answerer is not None else None,
        created_at=office_time(received, 60 + n * 7),
    )
    session.add(c)
    session.flush()
    dept_row = session.get(Department, t.pool.department_id)
    session.add(
        Obligation(
            kind=CORRECTION.code,
            article=CORRECTION.article,
            title=title(c, t.pool.name),
            subject_type=SUBJECT,
            subject_id=c.id,
            department_id=t.pool.department_id,
            region_id=dept_row.region_id if dept_row is not None else None,
            started_on=received,
            working_days=CORRECTION.working_days,
            due_on=due_on,
            provisional=due.provisional,
            extension_days=extension,
            extension_reason=c.extension_reason,
            extended_by=c.extended_by,
            extended_on=cal.add_working_days(received, 6) if extension else None,
            original_due_on=original_due,
            answered_on=answered,
            answered_by=c.answered_by,
            overdue=answered > due_on,
            created_at=c.created_at,
        )
    )
