"""Registrations and applications at service level (Art. 24, 25(2), 26 ¶2, 50(4)(8)).

The test city (``tests.sharing.helpers``): 市公安局 provides 户籍人口基本信息 (unconditional)
and leads base.person; 市市场监督管理局 provides 个体经营者信息 (conditional, 从业人数 not
shared); 渝中区公安分局 asks. ``police_mixed`` makes one police item conditional, so an
application goes to 市公安局, which has a head (extensions).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from govdata.catalog.models import ResourceRevision
from govdata.core import calendar, obligations
from govdata.core.audit import AuditEvent
from govdata.core.errors import DomainError
from govdata.sharing import applications, grants
from govdata.sharing.deadlines import APPLICATION, SUBJECT, clock
from govdata.sharing.models import Grant, GrantMode, GrantOrigin, ShareApplication
from govdata.sharing.sources import SharedSource, get_source
from tests.sharing.helpers import ShareCity, build_share_city
from tests.world import World

DAY = date(2025, 9, 26)  # a Friday before National Day 2025


def _today(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    monkeypatch.setattr(calendar, "today", lambda: day)


@pytest.fixture
def sc(session: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> ShareCity:
    _today(monkeypatch, DAY)
    return build_share_city(session, world)


def police_mixed(session: Session, sc: ShareCity) -> SharedSource:
    """户籍人口基本信息 with 出生日期 conditional: an unconditional source with a conditional
    item (asking for it makes an application)."""
    rev = session.get(ResourceRevision, sc.city.police_res.published_revision_id)
    assert rev is not None
    data = dict(rev.data)
    data["items"] = [
        {**it, "share_type": "conditional" if it["name"] == "出生日期" else "unconditional"}
        for it in data["items"]
    ]
    session.execute(update(ResourceRevision).where(ResourceRevision.id == rev.id).values(data=data))
    session.expire_all()
    source = get_source(session, sc.person_source.code)
    assert source is not None
    return source


def request(world: World, sc: ShareCity, source: SharedSource, **kw: Any) -> applications.Request:
    fields: dict[str, Any] = {
        "department_id": world.yz_police,
        "source_code": source.code,
        "items": ["公民身份号码", "姓名"],
        "duty": "户籍管理",
        "legal_basis": "《中华人民共和国户口登记条例》第三条",
        "purpose": "核查辖区户籍人口信息",
        "purpose_code": "household-check",
        "calling_system": "渝中区人口核查系统",
        "period_from": DAY,
        "period_until": date(2026, 9, 25),
        "token_ids": [sc.token_id],
        "scenario": "窗口办理户籍业务时核对",
        "expected_daily_calls": 200,
    }
    return applications.Request(**(fields | kw))


def submit(session: Session, world: World, sc: ShareCity, source: SharedSource, **kw: Any) -> Any:
    return applications.submit(
        session, world.actor(session, "yz_officer"), request(world, sc, source, **kw)
    )


def market_application(
    session: Session, world: World, sc: ShareCity, **kw: Any
) -> ShareApplication:
    kw.setdefault("items", ["公民身份号码", "姓名", "经营状态"])
    return submit(session, world, sc, sc.market_source, **kw)


def _refused(code: str, fn: Any, *args: Any, **kw: Any) -> DomainError:
    with pytest.raises(DomainError) as exc:
        fn(*args, **kw)
    assert exc.value.code == code, exc.value.message
    return exc.value


def _count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- registration (Art. 24, 25(2), 26 ¶2) -----------------------------------------------------


def test_registration_for_an_unconditional_source_is_effective_at_once(
    session: Session, world: World, sc: ShareCity
) -> None:
    a = submit(session, world, sc, sc.person_source)
    assert (a.kind, a.status) == ("registration", "registered")
    assert a.due_on is None and a.received_on is None  # no clock: effective at once
    grant = session.get(Grant, a.grant_id)
    assert grant is not None and grant.origin == GrantOrigin.REGISTRATION
    assert grant.application_id == a.id and grant.items == ["公民身份号码", "姓名"]
    assert (grant.valid_from, grant.expires_on) == (DAY, date(2026, 9, 25))
    assert grant.purpose_code == "household-check" and grant.duty == "户籍管理"
    assert grants.systems_of(session, grant.id) == [sc.token_id]
    assert grants.state(grant, DAY) == "active"
    assert obligations.find(session, APPLICATION, SUBJECT, a.id) is None
    actions = set(
        session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "share_application", AuditEvent.object_id == str(a.id)
            )
        )
    )
    assert "sharing.application.register" in actions


def test_a_base_database_is_registered_for(session: Session, world: World, sc: ShareCity) -> None:
    # Art. 25(2): base items are unconditional.
    a = submit(session, world, sc, sc.base_source, items=["公民身份号码", "姓名"])
    assert a.status == "registered" and a.source_kind == "base"


# --- applications and their clock -------------------------------------------------------------


def test_a_conditional_application_opens_a_ten_working_day_clock(
    session: Session, world: World, sc: ShareCity
) -> None:
    a = market_application(session, world, sc)
    assert (a.kind, a.status, a.grant_id) == ("application", "pending", None)
    # Over National Day 2025 the 10th working day after 09-26 is 10-16 (statutory calendar).
    assert (a.received_on, a.due_on, a.due_provisional) == (DAY, date(2025, 10, 16), False)
    ob = obligations.find(session, APPLICATION, SUBJECT, a.id)
    assert ob is not None and ob.is_open
    assert (ob.kind, ob.article, ob.working_days) == ("sharing.application", "第二十六条第二款", 10)
    assert (ob.department_id, ob.due_on) == (world.market, a.due_on)
    # The provider's officer has it on the to-do list with the link to the page.
    todo = obligations.open_for(session, world.actor(session, "officer2"))
    assert [t.href for t in todo if t.obligation_id == ob.id] == [f"/sharing/applications/{a.id}"]
    assert _count(session, Grant) == 0


def test_mixed_items_make_an_application(session: Session, world: World, sc: ShareCity) -> None:
    source = police_mixed(session, sc)
    only_unconditional = submit(session, world, sc, source, items=["公民身份号码", "姓名"])
    assert only_unconditional.kind == "registration"
    mixed = submit(session, world, sc, source, items=["姓名", "出生日期"])
    assert (mixed.kind, mixed.status, mixed.provider_department_id) == (
        "application",
        "pending",
        world.police,
    )


def test_not_shared_items_and_sources_cannot_be_applied_for(
    session: Session, world: World, sc: ShareCity
) -> None:
    # Art. 24: the refusal points to an objection (Art. 27); nothing is written.
    err = _refused(
        "sharing.not_shared",
        market_application,
        session,
        world,
        sc,
        items=["公民身份号码", "从业人数"],
    )
    assert "从业人数" in err.message and "第二十七条" in err.message
    rev = session.get(ResourceRevision, sc.city.market_res.published_revision_id)
    assert rev is not None
    session.execute(
        update(ResourceRevision)
        .where(ResourceRevision.id == rev.id)
        .values(data=dict(rev.data) | {"share_type": "none"}, share_type="none")
    )
    session.expire_all()
    _refused("sharing.not_shared", market_application, session, world, sc, items=["姓名"])
    assert _count(session, ShareApplication) == 0


def test_a_department_applies_only_on_its_own_behalf(
    session: Session, world: World, sc: ShareCity
) -> None:
    yz = world.actor(session, "yz_officer")
    req = request(world, sc, sc.market_source, department_id=world.jb_police, items=["姓名"])
    _refused("sharing.apply_forbidden", applications.submit, session, yz, req)
    # The auditor reads, never applies; the provider does not apply for its own data.
    _refused(
        "sharing.apply_forbidden",
        applications.submit,
        session,
        world.actor(session, "auditor"),
        request(world, sc, sc.market_source, items=["姓名"]),
    )
    own = request(world, sc, sc.market_source, department_id=world.market, items=["姓名"])
    _refused(
        "sharing.own_source",
        applications.submit,
        session,
        world.actor(session, "officer2"),
        own,
    )
    assert _count(session, ShareApplication) == 0


@pytest.mark.parametrize(
    ("code", "change"),
    [
        ("sharing.duty_required", {"duty": "  "}),
        ("sharing.legal_basis_required", {"legal_basis": ""}),
        ("sharing.purpose_required", {"purpose": ""}),
        ("sharing.purpose_code_invalid", {"purpose_code": "户籍核查"}),
        ("sharing.purpose_code_invalid", {"purpose_code": "-x"}),
        ("sharing.calling_system_required", {"calling_system": ""}),
        ("sharing.scenario_required", {"scenario": ""}),
        ("sharing.daily_calls_required", {"expected_daily_calls": None}),
        ("sharing.daily_calls_invalid", {"expected_daily_calls": 0}),
        ("sharing.period_in_past", {"period_from": date(2025, 9, 25)}),
        ("sharing.period_until_required", {"period_until": None}),
        ("sharing.period_invalid", {"period_until": date(2025, 9, 1)}),
        ("sharing.items_required", {"items": []}),
        ("sharing.item_unknown", {"items": ["婚姻状况"]}),
        ("sharing.row_condition_item", {"row_condition": {"item": "区县", "values": ["渝中区"]}}),
        ("sharing.row_condition_values", {"row_condition": {"item": "姓名", "values": [" "]}}),
    ],
)
def test_an_incomplete_application_is_refused_and_nothing_is_written(
    session: Session, world: World, sc: ShareCity, code: str, change: dict[str, Any]
) -> None:
    _refused(code, market_application, session, world, sc, **change)
    assert _count(session, ShareApplication) == 0
    kinds = session.scalars(select(obligations.Obligation.kind))
    assert "sharing.application" not in set(kinds)


def test_only_the_departments_sharing_systems_can_be_named(
    session: Session, world: World, sc: ShareCity
) -> None:
    for tid in (sc.other_token_id, sc.jb_token_id):
        _refused(
            "sharing.system_invalid",
            submit,
            session,
            world,
            sc,
            sc.person_source,
            token_ids=[tid],
        )
    assert _count(session, Grant) == 0


# --- answering (Art. 26 ¶2) -------------------------------------------------------------------


def test_approval_as_asked_makes_the_grant_naming_the_systems(
    session: Session, world: World, sc: ShareCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = market_application(session, world, sc)
    _today(monkeypatch, date(2025, 10, 9))
    applications.approve(session, world.actor(session, "officer2"), a.id, note="同意")
    assert (a.status, a.answered_on, a.decided_by) == (
        "approved",
        date(2025, 10, 9),
        world.people["officer2"],
    )
    grant = session.get(Grant, a.grant_id)
    assert grant is not None and grant.origin == GrantOrigin.APPLICATION
    assert grant.items == ["公民身份号码", "姓名", "经营状态"] and grant.daily_quota is None
    assert grant.expires_on == date(2026, 9, 25) and grant.provider_department_id == world.market
    assert grants.systems_of(session, grant.id) == [sc.token_id]
    ob = obligations.find(session, APPLICATION, SUBJECT, a.id)
    assert ob is not None and not ob.is_open and not ob.overdue
    # Once answered, no second answer.
    _refused(
        "sharing.already_answered",
        applications.refuse,
        session,
        world.actor(session, "officer2"),
        a.id,
        reason="x",
        basis="y",
    )


def test_a_narrowed_approval(session: Session, world: World, sc: ShareCity) -> None:
    a = market_application(session, world, sc)
    applications.approve(
        session,
        world.actor(session, "officer2"),
        a.id,
        items=["公民身份号码", "经营状态"],
        row_condition={"item": "经营状态", "values": ["存续"]},
        period_until=date(2026, 3, 31),
        daily_quota=100,
    )
    assert a.status == "narrowed"
    grant = session.get(Grant, a.grant_id)
    assert grant is not None
    assert grant.items == ["公民身份号码", "经营状态"]
    assert grant.row_condition == {"item": "经营状态", "values": ["存续"]}
    assert (grant.expires_on, grant.daily_quota) == (date(2026, 3, 31), 100)
    assert a.items == ["公民身份号码", "姓名", "经营状态"]  # what was asked stays on record


@pytest.mark.parametrize(
    "narrowing",
    [
        {"items": ["公民身份号码", "姓名", "经营状态", "从业人数"]},
        {"items": ["姓名", "经营状态"], "period_until": date(2026, 9, 26)},
        {"row_condition": {"item": "经营状态", "values": ["存续", "注销"]}},
        {"row_condition": {"item": "姓名", "values": ["张三"]}},
    ],
)
def test_narrowing_cannot_widen_beyond_what_was_asked(
    session: Session, world: World, sc: ShareCity, narrowing: dict[str, Any]
) -> None:
    a = market_application(
        session, world, sc, row_condition={"item": "经营状态", "values": ["存续"]}
    )
    _refused(
        "sharing.narrowing_wider",
        applications.approve,
        session,
        world.actor(session, "officer2"),
        a.id,
        **narrowing,
    )
    assert a.status == "pending" and _count(session, Grant) == 0


def test_refusal_needs_reason_and_basis(session: Session, world: World, sc: ShareCity) -> None:
    a = market_application(session, world, sc)
    officer = world.actor(session, "officer2")
    _refused(
        "sharing.refusal_reason_required",
        applications.refuse,
        session,
        officer,
        a.id,
        reason=" ",
        basis="《市场主体登记管理条例》",
    )
    _refused(
        "sharing.refusal_basis_required",
        applications.refuse,
        session,
        officer,
        a.id,
        reason="超出职责范围",
        basis="",
    )
    assert a.status == "pending"
    applications.refuse(
        session, officer, a.id, reason="超出职责范围", basis="《市场主体登记管理条例》第三十五条"
    )
    assert (a.status, a.refusal_reason, a.grant_id) == ("refused", "超出职责范围", None)
    ob = obligations.find(session, APPLICATION, SUBJECT, a.id)
    assert ob is not None and not ob.is_open


def test_the_provider_alone_answers(session: Session, world: World, sc: ShareCity) -> None:
    a = market_application(session, world, sc)
    for who in ("yz_officer", "auditor", "city"):
        _refused(
            "sharing.not_provider", applications.approve, session, world.actor(session, who), a.id
        )
    # Other departments do not even see it (404, never a leak).
    for who in ("jb_officer", "officer"):
        _refused(
            "sharing.application_not_found",
            applications.approve,
            session,
            world.actor(session, who),
            a.id,
        )
    assert a.status == "pending"


def test_withdrawal_by_the_requester_while_pending(
    session: Session, world: World, sc: ShareCity
) -> None:
    a = market_application(session, world, sc)
    _refused(
        "sharing.not_requester",
        applications.withdraw,
        session,
        world.actor(session, "officer2"),
        a.id,
    )
    applications.withdraw(session, world.actor(session, "yz_officer"), a.id)
    assert a.status == "withdrawn"
    ob = obligations.find(session, APPLICATION, SUBJECT, a.id)
    assert ob is not None and not ob.is_open  # the provider owes no answer any more
    _refused(
        "sharing.already_answered",
        applications.approve,
        session,
        world.actor(session, "officer2"),
        a.id,
    )
    _refused(
        "sharing.already_answered",
        applications.withdraw,
        session,
        world.actor(session, "yz_officer"),
        a.id,
    )


def test_a_system_revoked_since_is_not_named_by_the_grant(
    session: Session, world: World, sc: ShareCity
) -> None:
    from govdata.org import auth

    a = market_application(session, world, sc)
    auth.revoke_token(session, world.actor(session, "yz_officer"), sc.token_id)
    applications.approve(session, world.actor(session, "officer2"), a.id)
    assert a.status == "approved" and grants.systems_of(session, a.grant_id or 0) == []


# --- overdue and extension (Art. 26 ¶2, 50(8)) ------------------------------------------------


def test_overdue_is_flagged_on_the_clock_and_in_the_register(
    session: Session, world: World, sc: ShareCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = market_application(session, world, sc)
    cal = calendar.load_calendar(session)
    assert clock(a, cal, date(2025, 10, 16)).label == "今日到期"  # type: ignore[union-attr]
    late = clock(a, cal, date(2025, 10, 20))
    assert late is not None and late.overdue and late.label.startswith("已超期")
    assert obligations.scan_overdue(session, date(2025, 10, 16)) == 0
    assert obligations.scan_overdue(session, date(2025, 10, 17)) >= 1
    ob = obligations.find(session, APPLICATION, SUBJECT, a.id)
    assert ob is not None and ob.overdue and ob.is_open
    # Both sides count it as overdue.
    _today(monkeypatch, date(2025, 10, 20))
    for who, view in (("officer2", "incoming"), ("yz_officer", "outgoing")):
        assert applications.overdue_count(session, world.actor(session, who), view=view) == 1
    applications.approve(session, world.actor(session, "officer2"), a.id)
    done = clock(a, cal, date(2025, 10, 20))
    assert done is not None and done.late


def test_the_inbox_lists_pending_first_by_due_date(
    session: Session, world: World, sc: ShareCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = market_application(session, world, sc)
    _today(monkeypatch, date(2025, 10, 9))
    second = market_application(session, world, sc, period_from=date(2025, 10, 9))
    third = market_application(session, world, sc, period_from=date(2025, 10, 9))
    applications.withdraw(session, world.actor(session, "yz_officer"), third.id)
    inbox = applications.list_applications(
        session, world.actor(session, "officer2"), view="incoming"
    )
    assert [a.id for a in inbox.items] == [first.id, second.id, third.id]
    assert (
        applications.list_applications(
            session, world.actor(session, "officer2"), view="outgoing"
        ).total
        == 0
    )
    assert (
        applications.list_applications(
            session, world.actor(session, "jb_officer"), view="all"
        ).total
        == 0
    )
    assert applications.list_applications(session, world.actor(session, "auditor")).total == 3


def test_extension_is_approved_by_the_providers_head_only(
    session: Session, world: World, sc: ShareCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = submit(session, world, sc, police_mixed(session, sc), items=["姓名", "出生日期"])
    assert a.due_on == date(2025, 10, 16)
    officer, head = world.actor(session, "officer"), world.actor(session, "head")
    _today(monkeypatch, date(2025, 10, 9))
    # The officer may ask, not approve; the requester may do neither.
    _refused(
        "deadline.head_approval_required",
        applications.approve_extension,
        session,
        officer,
        a.id,
        days=3,
        reason="需会商",
    )
    _refused(
        "sharing.not_provider",
        applications.request_extension,
        session,
        world.actor(session, "yz_officer"),
        a.id,
        days=3,
        reason="x",
    )
    applications.request_extension(session, officer, a.id, days=3, reason="需会商")
    assert a.extension_days == 0
    applications.approve_extension(session, head, a.id)
    # The application follows the register.
    assert (a.original_due_on, a.due_on, a.extension_days) == (
        date(2025, 10, 16),
        date(2025, 10, 21),
        3,
    )
    assert a.extended_by == world.people["head"] and a.extension_reason == "需会商"
    _refused(
        "deadline.already_extended",
        applications.approve_extension,
        session,
        head,
        a.id,
        days=1,
        reason="再延",
    )
    _today(monkeypatch, date(2025, 10, 21))
    applications.approve(session, officer, a.id)
    ob = obligations.find(session, APPLICATION, SUBJECT, a.id)
    assert ob is not None and not ob.overdue and ob.answered_on == date(2025, 10, 21)


def test_a_verification_only_registration_makes_a_verification_grant(
    session: Session, world: World, sc: ShareCity
) -> None:
    # 数据核验: yes/no answers only, never a value (the data access API enforces the mode).
    a = submit(session, world, sc, sc.person_source, mode=GrantMode.VERIFICATION)
    grant = session.get(Grant, a.grant_id)
    assert grant is not None and (a.mode, grant.mode) == ("verification", "verification")


def test_an_approved_period_cannot_end_before_today(
    session: Session, world: World, sc: ShareCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = market_application(session, world, sc)
    _today(monkeypatch, date(2025, 10, 9))
    _refused(
        "sharing.period_invalid",
        applications.approve,
        session,
        world.actor(session, "officer2"),
        a.id,
        period_until=date(2025, 10, 8),
    )
    assert a.status == "pending"
