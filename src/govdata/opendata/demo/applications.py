"""The demo's conditional-open applications (Art. 33 ¶2) and open-catalog correction requests
(Art. 32 ¶2–3), in every state, made through the platform's own services.

Each story is played today by the person who would act (the public applicant, the provider's
officer, its head for an extension), then moved to the story's days (``_move``): the receipt
day, the statutory deadline recomputed from it on the calendar (on the row and its obligation
alike), the answer day and, for an approval, the granted period, so an approved application is
in force today and an overdue one is flagged. Audit events keep the time they were written.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog.vocab import OpenType
from govdata.core import calendar, obligations
from govdata.core.actor import Actor, Role
from govdata.core.crypto import subject_digest
from govdata.opendata import applications, corrections, datasets, policy, vocab
from govdata.opendata.clocks import (
    APPLICATION,
    APPLICATION_SUBJECT,
    CORRECTION,
    CORRECTION_SUBJECT,
    Clocked,
)
from govdata.opendata.models import CatalogCorrectionRequest, OpenApplication, OpenDataset
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import Person, RoleAssignment
from govdata.org.schemas import GrantIn, PersonCreate
from govdata.org.service import create_person, role_grants

DEMO_CITIZEN_KEY = "500103199001010018"  # a made-up ID number for the demo's identity check


def _actor(session: Session, person: Person) -> Actor:
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


def _staff(session: Session, department_id: int, role: Role, label: str) -> Actor:
    """The department's person holding ``role`` (a demo account first), or one made for the
    demo through ``org.service.create_person`` (no known password: the services act for
    people only)."""
    person = session.scalar(
        select(Person)
        .join(RoleAssignment, RoleAssignment.person_id == Person.id)
        .where(RoleAssignment.role == role.value, RoleAssignment.department_id == department_id)
        .order_by(Person.username.like("demo.%").desc(), Person.id)
        .limit(1)
    )
    if person is None:
        person = create_person(
            session,
            BOOTSTRAP,
            PersonCreate(
                username=f"demo.open{role.value}{department_id}"[:64],
                name=label[:64],
                password=secrets.token_urlsafe(24),
                department_id=department_id,
                kind="staff",
                grants=[GrantIn(role=role, department_id=department_id)],
            ),
        )
    return _actor(session, person)


def _public(session: Session, username: str) -> Actor | None:
    """A demo public account; the citizen's identity is checked (as identity authentication
    would set it, Art. 33 ¶3) when the sharing demo has not already."""
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        return None
    if username == "demo.citizen" and not person.identity_digest:
        person.identity_digest = subject_digest(DEMO_CITIZEN_KEY)
        session.flush()
    return _actor(session, person)


def _move(
    session: Session,
    kind: obligations.Kind,
    subject: str,
    row: Clocked,
    received: date,
    answered: date | None,
) -> None:
    """Move a played story to its days: receipt, the deadline from it, the answer."""
    deadline = obligations.deadline(session, kind, received)
    row.received_on = received
    row.due_on = deadline.due
    row.due_provisional = deadline.provisional
    ob = obligations.find(session, kind, subject, getattr(row, "id"))  # noqa: B009
    assert ob is not None
    ob.started_on = received
    ob.due_on = deadline.due
    ob.provisional = deadline.provisional
    if answered is not None:
        row.answered_on = ob.answered_on = answered
        ob.overdue = answered > deadline.due
    ob.overdue = ob.overdue or (ob.answered_on is None and calendar.today() > deadline.due)
    session.flush()


def _application(
    session: Session, who: Actor, ds: OpenDataset, items: list[str], **kw: Any
) -> OpenApplication:
    today = calendar.today()
    req = applications.Request(
        dataset_code=ds.code,
        items=items,
        purpose=kw.get("purpose", "研究本市市场主体发展情况"),
        scenario=kw.get("scenario", "高校课题组统计分析，成果以汇总数据发表"),
        safeguards=kw.get("safeguards", "数据存放于内网服务器，专人管理，使用期满后销毁"),
        period_from=today,
        period_until=today + timedelta(days=kw.get("days", 180)),
        agreement_version=vocab.AGREEMENT_VERSION,
    )
    return applications.submit(session, who, req)


def _play_applications(session: Session, ds: OpenDataset, people: list[Actor]) -> int:
    today = calendar.today()
    officer = _staff(session, ds.department_id, Role.DEPARTMENT_OFFICER, "数据专职人员")
    head = _staff(session, ds.department_id, Role.DEPARTMENT_HEAD, "主要负责人")
    names = [str(i["name"]) for i in ds.items]
    some = names[: max(1, min(3, len(names)))]
    a_who, b_who = people[0], people[-1]
    made = 0

    # Pending, received today: the clock runs.
    _application(session, a_who, ds, some)
    made += 1
    # Pending and overdue (received about five weeks ago): flagged on both sides.
    late = _application(session, b_who, ds, some[:1], purpose="开发企业信用查询应用")
    _move(session, APPLICATION, APPLICATION_SUBJECT, late, today - timedelta(days=35), None)
    made += 1
    # Pending, extended once by the head (Art. 33 ¶2) at the officer's request.
    ext = _application(session, a_who, ds, some, purpose="编制区域经济分析报告")
    applications.request_extension(
        session, officer, ext.id, days=10, reason="需征求数据涉及的相关部门意见"
    )
    applications.approve_extension(session, head, ext.id)
    made += 1
    # Approved as asked, answered in time; in force today.
    ok = _application(session, a_who, ds, some)
    applications.approve(session, officer, ok.id)
    _move(session, APPLICATION, APPLICATION_SUBJECT, ok, today - timedelta(days=21), None)
    ok.answered_on = today - timedelta(days=14)
    ob = obligations.find(session, APPLICATION, APPLICATION_SUBJECT, ok.id)
    assert ob is not None
    ob.answered_on, ob.overdue = ok.answered_on, ok.answered_on > ob.due_on
    ok.period_from = ok.granted_from = today - timedelta(days=14)
    made += 1
    # Approved narrowed: fewer items and a shorter period.
    narrow = _application(session, b_who, ds, some, days=365)
    applications.approve(
        session, officer, narrow.id, items=some[:1], granted_until=today + timedelta(days=90)
    )
    made += 1
    # Refused with the reason and its basis.
    no = _application(session, b_who, ds, names[:1], purpose="向客户推销产品")
    applications.refuse(
        session,
        officer,
        no.id,
        reason="申请用途为商业营销，不符合该数据集的开放条件",
        basis=f"开放目录所列开放条件：{ds.open_conditions or '仅用于公益研究'}",
    )
    made += 1
    # Withdrawn by the applicant.
    gone = _application(session, a_who, ds, some[:1])
    applications.withdraw(session, a_who, gone.id)
    made += 1
    session.flush()
    return made


def _play_corrections(session: Session, ds: OpenDataset, who: Actor) -> int:
    today = calendar.today()
    officer = _staff(session, ds.department_id, Role.DEPARTMENT_OFFICER, "数据专职人员")

    def ask(field: str, proposed: str, reason: str) -> CatalogCorrectionRequest:
        return corrections.submit(
            session,
            who,
            dataset_code=ds.code,
            field=field,
            proposed_value=proposed,
            reason=reason,
        )

    ask("abstract", f"{ds.abstract}（数据按月更新，含历史记录）", "摘要未说明更新方式")
    late = ask("legal_basis", "《重庆市政务数据资源管理暂行办法》", "法律依据为空")
    _move(session, CORRECTION, CORRECTION_SUBJECT, late, today - timedelta(days=30), None)
    agreed = ask("open_conditions", "经实名认证并签署数据利用协议后提供", "开放条件表述不清")
    corrections.agree(session, officer, agreed.id, answer="同意，已提请变更开放目录")
    refused = ask("name", f"{ds.name}（全量）", "名称应体现数据范围")
    corrections.refuse(
        session,
        officer,
        refused.id,
        reason="数据集名称已准确反映内容，无需更改",
        basis="《政务数据资源目录编制指南》关于资源名称的规定",
    )
    session.flush()
    return 4


def demo_applications(session: Session) -> int:
    """Applications and correction requests in every state for the demo city; the number of
    rows made (0 when already there, or when the open catalog has nothing to apply for)."""
    if session.scalar(select(func.count()).select_from(OpenApplication)):
        return 0
    datasets.sync(session)
    open_sets = list(
        session.scalars(
            select(OpenDataset).where(OpenDataset.withdrawn.is_(False)).order_by(OpenDataset.id)
        )
    )
    conditional = [d for d in open_sets if d.open_type == OpenType.CONDITIONAL.value and d.items]
    people = [p for p in (_public(session, "demo.citizen"), _public(session, "demo.company")) if p]
    checked = [p for p in people if policy.identity_checked(session, p)]
    if not open_sets or not checked:
        return 0
    made = 0
    # One with a published release first: the approved applicant then has data to obtain.
    conditional.sort(key=lambda d: d.current_release_id is None)
    if conditional:
        made += _play_applications(session, conditional[0], checked)
    made += _play_corrections(session, open_sets[0], checked[0])
    return made
