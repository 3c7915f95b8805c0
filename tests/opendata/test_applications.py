"""Conditional-open applications at service level (Art. 33 ¶2, ¶3, Art. 50(8)).

The open city (``tests.opendata.helpers``): 个体经营者信息 (市市场监督管理局, conditional,
从业人数 not open) and 户籍人口基本信息 (市公安局, unconditional). ``police_conditional``
makes the police dataset conditional, so an application goes to 市公安局, which has a head.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import calendar, obligations
from govdata.core.actor import Role
from govdata.core.audit import AuditEvent
from govdata.core.errors import DomainError
from govdata.opendata import applications, datasets, entitlement, vocab
from govdata.opendata.clocks import APPLICATION, APPLICATION_SUBJECT, clock
from govdata.opendata.errors import ConditionalNotGranted
from govdata.opendata.models import OpenApplication, OpenDataset
from tests.opendata.helpers import OpenCity, build_open_city, set_open
from tests.world import World

DAY = date(2025, 9, 26)  # a Friday before National Day 2025


def _today(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    monkeypatch.setattr(calendar, "today", lambda: day)


@pytest.fixture
def oc(session: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> OpenCity:
    _today(monkeypatch, DAY)
    return build_open_city(session, world)


def police_conditional(session: Session, oc: OpenCity) -> OpenDataset:
    # The read model is edited in place (the revision is, too: ``set_open``); sync refreshes
    # only a new revision.
    set_open(session, oc.city.police_res, "conditional", closed_items=("出生日期",))
    row = datasets.get_dataset(session, oc.person.code)
    row.open_type = "conditional"
    session.flush()
    return row


def request(code: str, **kw: Any) -> applications.Request:
    fields: dict[str, Any] = {
        "dataset_code": code,
        "items": ["公民身份号码", "姓名"],
        "purpose": "个体经营研究",
        "scenario": "高校课题组统计分析",
        "safeguards": "数据存放于内网服务器，专人管理，用后销毁",
        "period_from": DAY,
        "period_until": date(2026, 3, 31),
        "agreement_version": vocab.AGREEMENT_VERSION,
    }
    return applications.Request(**(fields | kw))


def apply(session: Session, world: World, code: str, **kw: Any) -> OpenApplication:
    return applications.submit(session, world.actor(session, "citizen"), request(code, **kw))


def _code(exc: pytest.ExceptionInfo[DomainError]) -> str:
    return exc.value.code


# --- applying (Art. 33 ¶2, ¶3) ------------------------------------------------------------------


def test_an_application_starts_the_10_working_day_clock_in_the_register(
    session: Session, world: World, oc: OpenCity
) -> None:
    a = apply(session, world, oc.market.code)
    # Art. 33 ¶2: 10 working days from receipt; National Day is not counted.
    assert (a.status, a.received_on, a.due_on) == ("pending", DAY, date(2025, 10, 16))
    assert a.items == ["公民身份号码", "姓名"] and a.agreement_version == vocab.AGREEMENT_VERSION
    assert a.provider_department_id == world.market
    ob = obligations.find(session, APPLICATION, APPLICATION_SUBJECT, a.id)
    assert ob is not None and ob.is_open and ob.due_on == a.due_on
    assert ob.department_id == world.market and ob.article == "第三十三条第二款"
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "open_application")
    ).all()
    assert "opendata.application.submit" in actions


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"agreement_version": None}, "opendata.agreement_required"),
        ({"agreement_version": "2020-1"}, "opendata.agreement_required"),
        ({"items": ["从业人数"]}, "opendata.item_not_open"),  # Art. 30: not open
        ({"items": []}, "opendata.items_required"),
        ({"purpose": " "}, "opendata.purpose_required"),
        ({"scenario": ""}, "opendata.scenario_required"),
        ({"safeguards": ""}, "opendata.safeguards_required"),
        ({"period_from": date(2025, 9, 25)}, "opendata.period_in_past"),
        ({"period_until": date(2025, 9, 20)}, "opendata.period_invalid"),
    ],
)
def test_an_incomplete_application_is_refused_and_nothing_is_stored(
    session: Session, world: World, oc: OpenCity, kw: dict[str, Any], code: str
) -> None:
    with pytest.raises(DomainError) as exc:
        apply(session, world, oc.market.code, **kw)
    assert _code(exc) == code and exc.value.message
    assert session.scalar(select(OpenApplication.id)) is None


def test_unconditional_withdrawn_or_unidentified_cannot_apply(
    session: Session, world: World, oc: OpenCity
) -> None:
    with pytest.raises(DomainError) as exc:
        apply(session, world, oc.person.code)  # Art. 33 ¶3: obtained directly
    assert _code(exc) == "opendata.unconditional_no_application"
    assert "无需申请" in exc.value.message
    with pytest.raises(DomainError) as exc:  # Art. 33 ¶3: identity first
        applications.submit(session, world.actor(session, "company"), request(oc.market.code))
    assert _code(exc) == "opendata.identity_required"
    with pytest.raises(DomainError) as exc:
        applications.submit(session, None, request(oc.market.code))
    assert _code(exc) == "opendata.identity_required"
    with pytest.raises(DomainError) as exc:  # the provider reads its own already
        applications.submit(session, world.actor(session, "officer2"), request(oc.market.code))
    assert _code(exc) == "opendata.own_dataset"
    set_open(session, oc.city.market_res, "none")
    datasets.sync(session)
    with pytest.raises(DomainError) as exc:  # withdrawn from the open catalog
        apply(session, world, oc.market.code)
    assert _code(exc) == "opendata.dataset_not_found"
    assert session.scalar(select(OpenApplication.id)) is None


# --- answering (Art. 33 ¶2) ---------------------------------------------------------------------


def test_approval_narrowed_opens_only_the_granted_items_for_the_granted_period(
    session: Session, world: World, oc: OpenCity
) -> None:
    citizen = world.actor(session, "citizen")
    with pytest.raises(ConditionalNotGranted):
        entitlement.may_obtain(session, citizen, oc.market, today=DAY)
    a = apply(session, world, oc.market.code, items=["公民身份号码", "姓名", "经营状态"])
    with pytest.raises(ConditionalNotGranted):  # pending is not granted
        entitlement.may_obtain(session, citizen, oc.market, today=DAY)
    officer = world.actor(session, "officer2")
    a = applications.approve(
        session,
        officer,
        a.id,
        items=["经营状态", "姓名"],
        granted_from=date(2025, 10, 8),
        granted_until=date(2025, 12, 31),
    )
    assert a.status == "approved" and a.answered_on == DAY
    assert a.granted_items == ["姓名", "经营状态"]  # the asked order
    ob = obligations.find(session, APPLICATION, APPLICATION_SUBJECT, a.id)
    assert ob is not None and not ob.is_open and not ob.overdue
    ent = entitlement.may_obtain(session, citizen, oc.market, today=date(2025, 10, 8))
    assert ent.items == ("姓名", "经营状态") and ent.application_id == a.id
    with pytest.raises(ConditionalNotGranted):  # before the granted period
        entitlement.may_obtain(session, citizen, oc.market, today=date(2025, 10, 7))
    with pytest.raises(ConditionalNotGranted):  # after it
        entitlement.may_obtain(session, citizen, oc.market, today=date(2026, 1, 1))
    with pytest.raises(ConditionalNotGranted):  # only the applicant
        entitlement.may_obtain(
            session, world.actor(session, "officer"), oc.market, today=date(2025, 10, 8)
        )


def test_approval_as_asked_grants_every_item_and_the_whole_period(
    session: Session, world: World, oc: OpenCity
) -> None:
    a = apply(session, world, oc.market.code)
    a = applications.approve(session, world.actor(session, "officer2"), a.id)
    assert (a.granted_items, a.granted_from, a.granted_until) == (
        ["公民身份号码", "姓名"],
        DAY,
        date(2026, 3, 31),
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"items": ["公民身份号码", "经营状态"]},  # an item not asked for
        {"granted_until": date(2026, 4, 1)},  # later than asked
        {"granted_from": date(2025, 9, 25)},  # earlier than asked
    ],
)
def test_narrowing_is_never_wider_than_asked(
    session: Session, world: World, oc: OpenCity, kw: dict[str, Any]
) -> None:
    a = apply(session, world, oc.market.code)
    with pytest.raises(DomainError) as exc:
        applications.approve(session, world.actor(session, "officer2"), a.id, **kw)
    assert _code(exc) == "opendata.narrowing_wider"
    session.refresh(a)
    assert a.status == "pending" and a.granted_items == [] and a.answered_on is None


def test_an_item_closed_since_the_application_is_never_granted(
    session: Session, world: World, oc: OpenCity
) -> None:
    a = apply(session, world, oc.market.code, items=["姓名", "经营状态"])
    # Art. 30: the catalog changed; 姓名 is no longer open.
    oc.market.items = [i for i in oc.market.items if i["name"] != "姓名"]
    session.flush()
    officer = world.actor(session, "officer2")
    with pytest.raises(DomainError) as exc:
        applications.approve(session, officer, a.id)
    assert _code(exc) == "opendata.item_not_open" and "姓名" in exc.value.message
    a = applications.approve(session, officer, a.id, items=["经营状态"])
    assert a.granted_items == ["经营状态"]


def test_a_withdrawn_dataset_is_not_opened_by_an_approval(
    session: Session, world: World, oc: OpenCity
) -> None:
    a = apply(session, world, oc.market.code)
    oc.market.withdrawn = True
    session.flush()
    with pytest.raises(DomainError) as exc:
        applications.approve(session, world.actor(session, "officer2"), a.id)
    assert _code(exc) == "opendata.dataset_withdrawn"
    a = applications.refuse(
        session, world.actor(session, "officer2"), a.id, reason="已退出开放目录", basis="开放目录"
    )
    assert a.status == "refused"


def test_a_refusal_needs_reason_and_basis(session: Session, world: World, oc: OpenCity) -> None:
    a = apply(session, world, oc.market.code)
    officer = world.actor(session, "officer2")
    with pytest.raises(DomainError) as exc:
        applications.refuse(session, officer, a.id, reason="涉及经营者隐私", basis="")
    assert _code(exc) == "opendata.refusal_basis_required" and "依据" in exc.value.message
    with pytest.raises(DomainError) as exc:
        applications.refuse(session, officer, a.id, reason="", basis="《个人信息保护法》第十三条")
    assert _code(exc) == "opendata.refusal_reason_required"
    session.refresh(a)
    assert a.status == "pending"
    a = applications.refuse(
        session, officer, a.id, reason="用途与开放条件不符", basis="开放条件：仅用于学术研究"
    )
    assert (a.status, a.refusal_reason, a.refusal_basis) == (
        "refused",
        "用途与开放条件不符",
        "开放条件：仅用于学术研究",
    )
    with pytest.raises(ConditionalNotGranted):
        entitlement.may_obtain(session, world.actor(session, "citizen"), oc.market, today=DAY)
    with pytest.raises(DomainError) as exc:  # answered once
        applications.approve(session, officer, a.id)
    assert _code(exc) == "opendata.application_closed"


def test_only_the_provider_answers_and_only_the_applicant_withdraws(
    session: Session, world: World, oc: OpenCity
) -> None:
    a = apply(session, world, oc.market.code)
    for who in ("officer", "head", "yz_officer", "company"):  # not this dataset's provider
        with pytest.raises(DomainError) as exc:
            applications.approve(session, world.actor(session, who), a.id)
        assert exc.value.status == 404  # not even visible
    with pytest.raises(DomainError) as exc:  # the bureau oversees, the provider answers
        applications.approve(session, world.actor(session, "city"), a.id)
    assert _code(exc) == "opendata.not_provider_answer"
    with pytest.raises(DomainError) as exc:
        applications.withdraw(session, world.actor(session, "officer2"), a.id)
    assert _code(exc) == "opendata.not_applicant"
    a = applications.withdraw(session, world.actor(session, "citizen"), a.id)
    assert a.status == "withdrawn"
    ob = obligations.find(session, APPLICATION, APPLICATION_SUBJECT, a.id)
    assert ob is not None and not ob.is_open
    with pytest.raises(DomainError) as exc:
        applications.approve(session, world.actor(session, "officer2"), a.id)
    assert _code(exc) == "opendata.application_closed"


def test_scoped_reads(session: Session, world: World, oc: OpenCity) -> None:
    a = apply(session, world, oc.market.code)
    for who in ("citizen", "officer2", "city", "auditor"):
        assert applications.get(session, world.actor(session, who), a.id).id == a.id
    for who in ("company", "officer", "head", "yz_admin", "jb_officer"):
        with pytest.raises(DomainError) as exc:
            applications.get(session, world.actor(session, who), a.id)
        assert exc.value.status == 404 and _code(exc) == "opendata.application_not_found"
        assert (
            applications.list_applications(session, world.actor(session, who), view="inbox").items
            == []
        )
    with pytest.raises(DomainError):
        applications.get(session, None, a.id)
    mine = applications.list_applications(session, world.actor(session, "citizen"), view="mine")
    assert [x.id for x in mine.items] == [a.id]
    inbox = applications.list_applications(session, world.actor(session, "officer2"), view="inbox")
    assert [x.id for x in inbox.items] == [a.id]


def test_auditors_and_district_bureaus_read_without_answering(
    session: Session, world: World, oc: OpenCity
) -> None:  # Art. 6 ¶2, 41, 49: oversight is read-only
    a = apply(session, world, oc.market.code)
    auditor = world.actor(session, "auditor")
    assert "all" in applications.views(auditor)
    listed = applications.list_applications(session, auditor, view="all")
    assert [x.id for x in listed.items] == [a.id]
    assert not applications.can_answer(auditor, a)
    with pytest.raises(DomainError) as exc:
        applications.approve(session, auditor, a.id)
    assert exc.value.status in (403, 404)
    # A district bureau reads what its districts' departments are asked, not the city's.
    yz, jb = world.actor(session, "yz_admin"), world.actor(session, "jb_admin")
    assert applications.list_applications(session, yz, view="all").items == []
    a.provider_department_id = world.yz_police  # as if 渝中区公安分局 provided the dataset
    session.flush()
    assert [x.id for x in applications.list_applications(session, yz, view="all").items] == [a.id]
    assert applications.get(session, yz, a.id).id == a.id and not applications.can_answer(yz, a)
    with pytest.raises(DomainError) as exc:
        applications.get(session, jb, a.id)
    assert exc.value.status == 404


# --- the clock: overdue and extension (Art. 33 ¶2, Art. 50(8)) ----------------------------------


def test_overdue_is_flagged_on_both_sides_and_in_the_register(
    session: Session, world: World, oc: OpenCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = apply(session, world, oc.market.code)
    b = apply(session, world, oc.market.code, items=["姓名"])
    cal = calendar.load_calendar(session)
    clk = clock(a, cal, date(2025, 10, 16))
    assert clk is not None and not clk.overdue and clk.label == "今日到期"
    late = clock(a, cal, date(2025, 10, 17))
    assert late is not None and late.overdue
    assert obligations.scan_overdue(session, date(2025, 10, 17)) >= 2
    ob = obligations.find(session, APPLICATION, APPLICATION_SUBJECT, a.id)
    assert ob is not None and ob.overdue and ob.is_open
    _today(monkeypatch, date(2025, 10, 17))
    for who in ("citizen", "officer2", "city"):
        assert applications.overdue_count(session, world.actor(session, who)) == 2
    # The inbox: pending first, by due date (the overdue first); answered after.
    applications.refuse(
        session, world.actor(session, "officer2"), b.id, reason="理由", basis="依据"
    )
    c = apply(session, world, oc.market.code, period_from=date(2025, 10, 17))
    inbox = applications.list_applications(session, world.actor(session, "officer2"), view="inbox")
    assert [x.id for x in inbox.items] == [a.id, c.id, b.id]
    b_ob = obligations.find(session, APPLICATION, APPLICATION_SUBJECT, b.id)
    assert b_ob is not None and b_ob.overdue  # answered late stays flagged (Art. 50(8))


def test_one_extension_of_at_most_10_working_days_approved_by_the_head(
    session: Session, world: World, oc: OpenCity
) -> None:
    police = police_conditional(session, oc)
    a = apply(session, world, police.code)
    officer, head = world.actor(session, "officer"), world.actor(session, "head")
    with pytest.raises(DomainError) as exc:  # the officer cannot approve it
        applications.approve_extension(session, officer, a.id, days=5, reason="需核实")
    assert _code(exc) == "deadline.head_approval_required"
    with pytest.raises(DomainError) as exc:
        applications.approve_extension(session, head, a.id, days=11, reason="需核实")
    assert _code(exc) == "deadline.extension_too_long"
    with pytest.raises(DomainError) as exc:
        applications.approve_extension(session, head, a.id, days=5, reason=" ")
    assert _code(exc) == "obligation.extension_reason_required"
    applications.request_extension(session, officer, a.id, days=10, reason="需征求相关部门意见")
    a = applications.approve_extension(session, head, a.id)
    session.refresh(a)
    assert (a.original_due_on, a.due_on, a.extension_days) == (
        date(2025, 10, 16),
        date(2025, 10, 30),
        10,
    )
    assert a.extension_reason == "需征求相关部门意见" and a.extended_by == world.people["head"]
    with pytest.raises(DomainError) as exc:  # once only
        applications.approve_extension(session, head, a.id, days=1, reason="再延")
    assert _code(exc) == "deadline.already_extended"
    with pytest.raises(DomainError) as exc:  # the applicant has no say
        applications.request_extension(
            session, world.actor(session, "citizen"), a.id, days=1, reason="x"
        )
    assert _code(exc) == "opendata.not_provider_answer"


# --- the demo -----------------------------------------------------------------------------------


def test_demo_makes_applications_and_corrections_in_every_state(
    session: Session, world: World, oc: OpenCity
) -> None:
    from govdata.opendata.demo.applications import demo_applications
    from govdata.opendata.models import CatalogCorrectionRequest
    from govdata.org.demo import BOOTSTRAP
    from govdata.org.schemas import GrantIn, PersonCreate
    from govdata.org.service import create_person

    create_person(
        session,
        BOOTSTRAP,
        PersonCreate(
            username="demo.citizen",
            name="演示公民",
            password="Demo password 2026",
            kind="public",
            grants=[GrantIn(role=Role.CITIZEN)],
        ),
    )
    assert demo_applications(session) == 11
    states = session.scalars(select(OpenApplication.status)).all()
    assert sorted(set(states)) == ["approved", "pending", "refused", "withdrawn"]
    rows = list(session.scalars(select(OpenApplication)))
    assert any(a.extension_days == 10 for a in rows)
    today = calendar.today()
    assert any(a.status == "pending" and a.due_on and a.due_on < today for a in rows)
    assert any(a.status == "approved" and a.granted_items != a.items for a in rows)
    answered = [
        obligations.find(session, APPLICATION, APPLICATION_SUBJECT, a.id)
        for a in rows
        if a.status != "pending"
    ]
    assert all(ob is not None and not ob.is_open for ob in answered)
    fixes = session.scalars(select(CatalogCorrectionRequest.status)).all()
    assert sorted(set(fixes)) == ["agreed", "pending", "refused"]
    assert demo_applications(session) == 0  # once


def test_text_with_a_control_character_is_refused_with_nothing_stored() -> None:
    # PostgreSQL text cannot hold NUL: refused as input (a clear code), never a 500.
    from govdata.core.errors import InvalidInput
    from govdata.opendata.application_scope import text

    assert text(" 第一行\n第二行\t", "x", "m") == "第一行\n第二行"
    for bad in ("a\x00b", "a\x07b", "a\x7fb"):
        with pytest.raises(InvalidInput) as refused:
            text(bad, "x", "m")
        assert refused.value.code == "opendata.text_control" and "控制字符" in refused.value.message
