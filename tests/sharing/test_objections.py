"""Objections and disputes (Art. 27; Art. 19 for values): who may object to what, the bureau's
coordination and settlement, ordered grants, withdrawal, the clock."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import corrections
from govdata.aggregation.models import Correction, CorrectionStatus
from govdata.catalog import review, service
from govdata.catalog.models import ReviewEntry
from govdata.core import calendar, obligations
from govdata.core.errors import DomainError
from govdata.org import auth
from govdata.sharing import access, objection_deadlines, objections
from govdata.sharing.models import (
    ApplicationStatus,
    Grant,
    GrantOrigin,
    ObjectionKind,
    ObjectionResult,
    ObjectionStatus,
)
from govdata.sharing.sources import get_source
from tests.aggregation.base_helpers import K1, K2
from tests.aggregation.factories import resource_input
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.sharing.objection_helpers import application
from tests.world import World


def _code(exc: pytest.ExceptionInfo[DomainError]) -> str:
    return exc.value.code


@pytest.fixture
def sc(session: Session, world: World) -> ShareCity:
    return build_share_city(session, world)


def _refusal(session: Session, world: World, sc: ShareCity) -> int:
    app = application(session, world, sc.market_source, ApplicationStatus.REFUSED)
    o = objections.object_to(
        session,
        world.actor(session, "yz_officer"),
        kind=ObjectionKind.REFUSAL,
        application_id=app.id,
        reason="救助核查是法定职责，依《社会救助暂行办法》第十一条应予共享",
        requested="请协调市市场监督管理局提供经营状态",
    )
    return o.id


# --- who may object to what --------------------------------------------------------------------


def test_the_applicant_objects_to_its_refusal_and_the_clock_starts(
    session: Session, world: World, sc: ShareCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Art. 27; the 10 working days are a product decision (objection_deadlines): over National
    # Day 2025 the 10th working day after 09-26 is 10-16.
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 9, 26))
    oid = _refusal(session, world, sc)
    o = objections.get(session, world.actor(session, "city"), oid)
    assert o.status == ObjectionStatus.OPEN and o.kind == ObjectionKind.REFUSAL
    assert (o.department_id, o.provider_department_id) == (world.yz_police, world.market)
    assert o.region_id == world.city  # the provider is a city department: the city bureau
    assert (o.received_on, o.due_on) == (date(2025, 9, 26), date(2025, 10, 16))
    ob = objection_deadlines.obligation_of(session, o)
    assert ob is not None and ob.is_open and ob.kind == "sharing.objection"
    assert ob.region_id == world.city and ob.due_on == o.due_on
    # The register's to-do list shows it to the city bureau, not to the departments.
    kinds = {t.kind for t in obligations.open_for(session, world.actor(session, "city"))}
    assert "sharing.objection" in kinds
    assert not obligations.open_for(session, world.actor(session, "yz_officer"))


def test_only_the_applicant_objects_to_an_answer(
    session: Session, world: World, sc: ShareCity
) -> None:
    app = application(session, world, sc.market_source, ApplicationStatus.REFUSED)
    # The provider sees the application but did not apply (Art. 27: 相关政务部门).
    with pytest.raises(DomainError) as exc:
        objections.object_to(
            session,
            world.actor(session, "officer2"),
            kind=ObjectionKind.REFUSAL,
            application_id=app.id,
            reason="理由",
        )
    assert _code(exc) == "sharing.objection_not_applicant" and exc.value.status == 403
    # Another department does not even see it.
    with pytest.raises(DomainError) as exc:
        objections.object_to(
            session,
            world.actor(session, "jb_officer"),
            kind=ObjectionKind.REFUSAL,
            application_id=app.id,
            reason="理由",
        )
    assert _code(exc) == "sharing.application_not_found" and exc.value.status == 404


def test_nothing_to_object_to_in_an_approval_as_asked(
    session: Session, world: World, sc: ShareCity
) -> None:
    yz = world.actor(session, "yz_officer")
    approved = application(session, world, sc.market_source, ApplicationStatus.APPROVED)
    for kind in (ObjectionKind.REFUSAL, ObjectionKind.NARROWING):
        with pytest.raises(DomainError) as exc:
            objections.object_to(session, yz, kind=kind, application_id=approved.id, reason="理由")
        assert _code(exc) == "sharing.objection_nothing_to_object"
    # A refusal is not a narrowing, nor a pending application an answer.
    refused = application(session, world, sc.market_source, ApplicationStatus.REFUSED)
    pending = application(session, world, sc.market_source, ApplicationStatus.PENDING)
    for app_id, kind in (
        (refused.id, ObjectionKind.NARROWING),
        (pending.id, ObjectionKind.REFUSAL),
    ):
        with pytest.raises(DomainError) as exc:
            objections.object_to(session, yz, kind=kind, application_id=app_id, reason="理由")
        assert _code(exc) == "sharing.objection_wrong_answer"
    narrowed = application(session, world, sc.market_source, ApplicationStatus.NARROWED)
    o = objections.object_to(
        session, yz, kind=ObjectionKind.NARROWING, application_id=narrowed.id, reason="缺经营状态"
    )
    assert o.application_id == narrowed.id and o.status == ObjectionStatus.OPEN


def test_a_reason_is_required_and_nothing_is_half_written(
    session: Session, world: World, sc: ShareCity
) -> None:
    app = application(session, world, sc.market_source, ApplicationStatus.REFUSED)
    with pytest.raises(DomainError) as exc:
        objections.object_to(
            session,
            world.actor(session, "yz_officer"),
            kind=ObjectionKind.REFUSAL,
            application_id=app.id,
            reason="   ",
        )
    assert _code(exc) == "sharing.objection_reason_required"
    assert objections.list_objections(session, world.actor(session, "city")).total == 0
    assert not obligations.open_for(session, world.actor(session, "city"))


def test_share_type_objections(session: Session, world: World, sc: ShareCity) -> None:
    yz = world.actor(session, "yz_officer")
    # Art. 24, 25(1): "not shared" needs a legal basis; an item may be objected to.
    o = objections.object_to(
        session,
        yz,
        kind=ObjectionKind.SHARE_TYPE,
        source_code=sc.market_source.code,
        item_name="从业人数",
        reason="从业人数是核定救助资格的必要信息，无法律依据不予共享",
    )
    assert (o.source_code, o.item_name, o.provider_department_id) == (
        sc.market_source.code,
        "从业人数",
        world.market,
    )
    # One live objection on the same thing at a time.
    with pytest.raises(DomainError) as exc:
        objections.object_to(
            session,
            yz,
            kind=ObjectionKind.SHARE_TYPE,
            source_code=sc.market_source.code,
            item_name="从业人数",
            reason="再次提出",
        )
    assert _code(exc) == "sharing.objection_already_open"
    # Unconditional data leaves nothing to object to; the provider does not object to itself.
    with pytest.raises(DomainError) as exc:
        objections.object_to(
            session,
            yz,
            kind=ObjectionKind.SHARE_TYPE,
            source_code=sc.person_source.code,
            reason="x",
        )
    assert _code(exc) == "sharing.objection_already_unconditional"
    with pytest.raises(DomainError) as exc:
        objections.object_to(
            session,
            world.actor(session, "officer2"),
            kind=ObjectionKind.SHARE_TYPE,
            source_code=sc.market_source.code,
            reason="x",
        )
    assert _code(exc) == "sharing.objection_own_data"
    with pytest.raises(DomainError) as exc:
        objections.object_to(
            session, yz, kind=ObjectionKind.SHARE_TYPE, source_code="NOPE-1", reason="x"
        )
    assert _code(exc) == "sharing.source_not_found"
    # Bureaus coordinate and auditors read: neither objects in a department's name.
    for who in ("city", "auditor"):
        with pytest.raises(DomainError) as exc:
            objections.object_to(
                session,
                world.actor(session, who),
                kind=ObjectionKind.SHARE_TYPE,
                source_code=sc.market_source.code,
                reason="x",
            )
        assert _code(exc) == "sharing.objection_department_only"


# --- values: a 校核 through the objection (Art. 19) ------------------------------------------


def test_a_value_objection_opens_a_correction_the_provider_answers_on_its_clock(
    session: Session, world: World, sc: ShareCity
) -> None:
    grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    yz = world.actor(session, "yz_officer")
    # Before Ch. 4, 渝中区公安分局 could not file: the police pool is not one it reads.
    with pytest.raises(DomainError) as exc:
        corrections.apply(
            session,
            yz,
            pool_id=sc.person_source.object_id,
            subject_key=K1,
            item_name="姓名",
            proposed_value="张叁",
            reason="户籍底册为张叁",
        )
    assert exc.value.status == 404
    o = objections.object_to(
        session,
        yz,
        kind=ObjectionKind.VALUE,
        source_code=sc.person_source.code,
        item_name="姓名",
        value=objections.ValueChallenge(K1, "张叁", "户籍底册复印件"),
        reason="户籍底册登记为张叁",
    )
    c = session.get(Correction, o.correction_id)
    assert c is not None and c.status == CorrectionStatus.OPEN
    assert (c.applicant_department_id, c.department_id, c.channel) == (
        world.yz_police,
        world.police,
        "sharing",
    )
    assert (c.subject_key, c.item_name, c.current_value, c.proposed_value) == (
        K1,
        "姓名",
        "张三",
        "张叁",
    )
    # The correction's own clock (Art. 19 ¶2) runs; the objection has none of its own.
    expected = obligations.deadline(session, corrections.CORRECTION, calendar.today()).due
    assert c.due_on == o.due_on == expected
    assert objection_deadlines.obligation_of(session, o) is None
    assert obligations.find(session, corrections.CORRECTION, "correction", c.id) is not None
    # The objector reads its correction; the provider answers it.
    assert corrections.get_correction(session, yz, c.id).id == c.id
    corrections.answer(
        session, world.actor(session, "officer"), c.id, accept=True, answer="已核实更正"
    )
    cal = calendar.load_calendar(session)
    clk = objections.clock_of(session, o, cal, calendar.today())
    assert clk is not None and clk.label == "已按期办结"


def test_a_value_objection_needs_a_grant_that_gives_the_value(
    session: Session, world: World, sc: ShareCity
) -> None:
    yz = world.actor(session, "yz_officer")

    def value(item: str, key: str = K1, code: str | None = None) -> None:
        objections.object_to(
            session,
            yz,
            kind=ObjectionKind.VALUE,
            source_code=code or sc.person_source.code,
            item_name=item,
            value=objections.ValueChallenge(key, "新值"),
            reason="有误",
        )

    with pytest.raises(DomainError) as exc:
        value("姓名")  # no grant at all
    assert _code(exc) == "sharing.objection_value_not_granted" and exc.value.status == 403
    # Granted 姓名 only for rows whose 姓名 is 张三 (row condition): K2 is outside it.
    grant_to_yz(
        session,
        world,
        sc,
        sc.person_source,
        ["公民身份号码", "姓名"],
        row_condition={"item": "姓名", "values": ["张三"]},
    )
    with pytest.raises(DomainError) as exc:
        value("出生日期")  # not a granted item
    assert _code(exc) == "sharing.objection_value_not_granted"
    with pytest.raises(DomainError) as exc:
        value("姓名", key=K2)
    assert _code(exc) == "sharing.objection_value_not_granted"
    # A base database's values are corrected at their source pool.
    with pytest.raises(DomainError) as exc:
        value("姓名", code="base.person")
    assert _code(exc) == "sharing.objection_value_source"
    # A revoked grant gives nothing.
    g = session.scalars(select(Grant).where(Grant.requester_department_id == world.yz_police)).one()
    from govdata.sharing import grants

    grants.revoke(session, world.actor(session, "officer"), g.id, "停止")
    with pytest.raises(DomainError) as exc:
        value("姓名")
    assert _code(exc) == "sharing.objection_value_not_granted"


def test_a_value_objection_against_an_unknown_subject_files_nothing(
    session: Session, world: World, sc: ShareCity
) -> None:
    grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    with pytest.raises(DomainError):
        objections.object_to(
            session,
            world.actor(session, "yz_officer"),
            kind=ObjectionKind.VALUE,
            source_code=sc.person_source.code,
            item_name="姓名",
            value=objections.ValueChallenge("500101199912120099", "某某"),
            reason="有误",
        )
    session.rollback()
    assert session.scalar(select(Correction.id)) is None


# --- the bureau coordinates (Art. 27) ----------------------------------------------------------


def test_only_the_coordinating_bureau_takes_up_and_settles(
    session: Session, world: World, sc: ShareCity
) -> None:
    oid = _refusal(session, world, sc)
    # The 渝中区 bureau sees the objection (its department raised it) but the provider is a
    # city department: the city bureau coordinates (Art. 6, 27).
    yz_admin = world.actor(session, "yz_admin")
    assert objections.get(session, yz_admin, oid).id == oid
    for step in (
        lambda a: objections.take_up(session, a, oid),
        lambda a: objections.settle(
            session, a, oid, result=ObjectionResult.DISMISSED, outcome="不成立"
        ),
    ):
        for who in ("yz_admin", "officer2", "yz_officer", "auditor"):
            with pytest.raises(DomainError) as exc:
                step(world.actor(session, who))
            assert _code(exc) == "sharing.objection_not_coordinator", who
    # Another department does not see it at all.
    with pytest.raises(DomainError) as exc:
        objections.get(session, world.actor(session, "jb_officer"), oid)
    assert _code(exc) == "sharing.objection_not_found"
    city = world.actor(session, "city")
    with pytest.raises(DomainError) as exc:
        objections.settle(session, city, oid, result=ObjectionResult.DISMISSED, outcome="不成立")
    assert _code(exc) == "sharing.objection_not_taken_up"
    o = objections.take_up(session, city, oid, "已函询市市场监督管理局")
    assert o.status == ObjectionStatus.COORDINATING
    with pytest.raises(DomainError) as exc:
        objections.take_up(session, city, oid)
    assert _code(exc) == "sharing.objection_not_open"


def test_notes_from_the_three_parties(session: Session, world: World, sc: ShareCity) -> None:
    oid = _refusal(session, world, sc)
    objections.take_up(session, world.actor(session, "city"), oid, "受理")
    objections.add_note(session, world.actor(session, "officer2"), oid, "经营状态涉及商业信息")
    objections.add_note(session, world.actor(session, "yz_officer"), oid, "仅用于救助核查")
    texts = [(n.author_name, n.department_id, n.text) for n in objections.notes(session, oid)]
    assert texts == [
        ("陈市管", None, "受理"),
        ("孙专员", world.market, "经营状态涉及商业信息"),
        ("周专员", world.yz_police, "仅用于救助核查"),
    ]
    for who, code in (
        ("auditor", "sharing.objection_note_forbidden"),
        ("yz_admin", "sharing.objection_note_forbidden"),
        ("jb_officer", "sharing.objection_not_found"),
    ):
        with pytest.raises(DomainError) as exc:
            objections.add_note(session, world.actor(session, who), oid, "意见")
        assert _code(exc) == code, who
    with pytest.raises(DomainError) as exc:
        objections.add_note(session, world.actor(session, "city"), oid, "  ")
    assert _code(exc) == "sharing.note_required"


def _token_actor(session: Session, sc: ShareCity):  # type: ignore[no-untyped-def]
    actor = auth.resolve_token(session, sc.token)
    assert actor is not None
    return actor


def test_an_ordered_grant_exists_and_is_usable(
    session: Session, world: World, sc: ShareCity
) -> None:
    oid = _refusal(session, world, sc)
    city = world.actor(session, "city")
    objections.take_up(session, city, oid)
    today = calendar.today()
    o = objections.settle(
        session,
        city,
        oid,
        result=ObjectionResult.PARTLY,
        outcome="救助核查属法定职责，经营状态予以共享；从业人数维持不予共享",
        grant=objections.GrantOrder(
            items=["公民身份号码", "经营状态"],
            valid_from=today,
            expires_on=today + timedelta(days=180),
            token_ids=[sc.token_id],
        ),
    )
    assert o.status == ObjectionStatus.SETTLED and o.result == ObjectionResult.PARTLY
    assert o.ordered == "grant" and o.answered_on == today
    g = session.get(Grant, o.ordered_grant_id)
    assert g is not None
    assert (g.origin, g.objection_id, g.requester_department_id, g.provider_department_id) == (
        GrantOrigin.ORDER,
        oid,
        world.yz_police,
        world.market,
    )
    assert g.items == ["公民身份号码", "经营状态"] and g.purpose_code == "relief-check"
    # Usable by the system it names, under the application's purpose (Art. 26 ¶2).
    ok = access.authorize(
        session,
        _token_actor(session, sc),
        g.id,
        purpose="relief-check",
        items=["经营状态"],
        want="data",
    )
    assert ok.grant.id == g.id and [i.name for i in ok.items] == ["经营状态"]
    # The clock stopped; the settled objection takes no more steps.
    ob = objection_deadlines.obligation_of(session, o)
    assert ob is not None and not ob.is_open
    with pytest.raises(DomainError) as exc:
        objections.withdraw(session, world.actor(session, "yz_officer"), oid)
    assert _code(exc) == "sharing.objection_closed"
    with pytest.raises(DomainError) as exc:
        objections.add_note(session, city, oid, "补充")
    assert _code(exc) == "sharing.objection_closed"


def test_an_ordered_grant_is_checked_and_a_refused_order_stores_nothing(
    session: Session, world: World, sc: ShareCity
) -> None:
    oid = _refusal(session, world, sc)
    city = world.actor(session, "city")
    objections.take_up(session, city, oid)
    today = calendar.today()
    session.commit()
    # "Not shared" items cannot be ordered until the catalog changes (Art. 24).
    with pytest.raises(DomainError) as exc:
        objections.settle(
            session,
            city,
            oid,
            result=ObjectionResult.UPHELD,
            outcome="成立",
            grant=objections.GrantOrder(
                items=["从业人数"], valid_from=today, expires_on=None, token_ids=[sc.token_id]
            ),
        )
    assert _code(exc) == "sharing.not_shared"
    session.rollback()
    o = objections.get(session, city, oid)
    assert o.status == ObjectionStatus.COORDINATING and o.ordered_grant_id is None
    assert session.scalar(select(Grant.id).where(Grant.objection_id == oid)) is None
    # A dismissed objection orders nothing.
    with pytest.raises(DomainError) as exc:
        objections.settle(
            session,
            city,
            oid,
            result=ObjectionResult.DISMISSED,
            outcome="不成立",
            catalog_change="调整",
        )
    assert _code(exc) == "sharing.order_when_dismissed"
    with pytest.raises(DomainError) as exc:
        objections.settle(session, city, oid, result=ObjectionResult.UPHELD, outcome=" ")
    assert _code(exc) == "sharing.outcome_required"


def test_a_catalog_change_is_ordered_not_made(
    session: Session, world: World, sc: ShareCity
) -> None:
    yz = world.actor(session, "yz_officer")
    o = objections.object_to(
        session,
        yz,
        kind=ObjectionKind.SHARE_TYPE,
        source_code=sc.market_source.code,
        item_name="从业人数",
        reason="无法律依据",
    )
    city = world.actor(session, "city")
    objections.take_up(session, city, o.id)
    o = objections.settle(
        session,
        city,
        o.id,
        result=ObjectionResult.UPHELD,
        outcome="不予共享缺乏法律依据",
        catalog_change="请市市场监督管理局将“从业人数”调整为有条件共享，并按目录更新程序报送",
    )
    assert o.ordered == "catalog_change" and "有条件共享" in o.ordered_change
    # The catalog is the provider's to change (Art. 12–14): untouched here.
    source = get_source(session, sc.market_source.code)
    assert source is not None and source.item("从业人数").share_type == "none"  # type: ignore[union-attr]


def test_withdraw_only_by_the_objector_while_not_settled(
    session: Session, world: World, sc: ShareCity
) -> None:
    oid = _refusal(session, world, sc)
    for who, code in (
        ("officer2", "sharing.objection_not_objector"),
        ("city", "sharing.objection_not_objector"),
    ):
        with pytest.raises(DomainError) as exc:
            objections.withdraw(session, world.actor(session, who), oid)
        assert _code(exc) == code
    objections.take_up(session, world.actor(session, "city"), oid)
    o = objections.withdraw(session, world.actor(session, "yz_officer"), oid, "已另行解决")
    assert o.status == ObjectionStatus.WITHDRAWN
    ob = objection_deadlines.obligation_of(session, o)
    assert ob is not None and not ob.is_open
    with pytest.raises(DomainError) as exc:
        objections.withdraw(session, world.actor(session, "yz_officer"), oid)
    assert _code(exc) == "sharing.objection_closed"
    with pytest.raises(DomainError) as exc:
        objections.settle(
            session, world.actor(session, "city"), oid, result=ObjectionResult.UPHELD, outcome="x"
        )
    assert _code(exc) == "sharing.objection_closed"


def test_the_city_bureau_extends_once(
    session: Session, world: World, sc: ShareCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 9, 26))
    oid = _refusal(session, world, sc)
    with pytest.raises(DomainError) as exc:
        objections.extend(session, world.actor(session, "yz_admin"), oid, days=5, reason="调查")
    assert _code(exc) == "sharing.objection_extend_forbidden"
    city = world.actor(session, "city")
    with pytest.raises(DomainError) as exc:
        objections.extend(session, city, oid, days=11, reason="调查")
    assert _code(exc) == "deadline.extension_too_long"
    o = objections.extend(session, city, oid, days=5, reason="需现场核实")
    assert o.due_on == date(2025, 10, 23)
    ob = objection_deadlines.obligation_of(session, o)
    assert ob is not None and (ob.original_due_on, ob.due_on) == (
        date(2025, 10, 16),
        date(2025, 10, 23),
    )
    with pytest.raises(DomainError) as exc:
        objections.extend(session, city, oid, days=1, reason="再延")
    assert _code(exc) == "deadline.already_extended"
    # The register's department-head route does not apply to the bureau's duty.
    with pytest.raises(DomainError) as exc:
        obligations.approve_extension(
            session, world.actor(session, "head"), ob.id, days=1, reason="x"
        )
    assert exc.value.status in (403, 404, 409)


def test_lists_by_side(session: Session, world: World, sc: ShareCity) -> None:
    oid = _refusal(session, world, sc)

    def ids(who: str, side: str | None) -> list[int]:
        return [
            o.id
            for o in objections.list_objections(session, world.actor(session, who), side=side).items
        ]

    assert ids("yz_officer", "raised") == [oid] and ids("yz_officer", "about") == []
    assert ids("officer2", "about") == [oid] and ids("officer2", "raised") == []
    assert ids("city", "coordinate") == [oid]
    assert ids("yz_admin", "coordinate") == []  # the city bureau's to coordinate
    assert ids("jb_officer", None) == []
    assert ids("auditor", None) == [oid]
    assert objections.sides(world.actor(session, "yz_officer")) == ["raised", "about"]
    assert objections.sides(world.actor(session, "city")) == ["coordinate"]
    assert objections.sides(world.actor(session, "auditor")) == ["all"]
    assert ids("auditor", "all") == [oid]
    with pytest.raises(DomainError) as exc:
        objections.list_objections(session, world.actor(session, "citizen"))
    assert exc.value.status == 403


def test_a_district_providers_objection_is_its_district_bureaus(
    session: Session, world: World, sc: ShareCity
) -> None:
    # Art. 27 with Art. 6: the bureau of the provider's region coordinates (or the city's).
    city = world.actor(session, "city")
    res = service.create_resource(
        session,
        city,
        world.jb_police,
        resource_input(
            "江北区流动人口信息", [("公民身份号码", "C", 18), ("姓名", "C", 20)], key="公民身份号码"
        ),
    )
    sub = review.submit(session, city, world.jb_police)
    review.compile_district(session, world.actor(session, "jb_admin"), world.jiangbei)
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.submission_id == sub.id)):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    source = get_source(session, res.code)
    assert source is not None
    app = application(session, world, source, ApplicationStatus.REFUSED, items=["公民身份号码"])
    o = objections.object_to(
        session,
        world.actor(session, "yz_officer"),
        kind=ObjectionKind.REFUSAL,
        application_id=app.id,
        reason="跨区协查需要",
    )
    assert o.region_id == world.jiangbei
    with pytest.raises(DomainError) as exc:
        objections.take_up(session, world.actor(session, "yz_admin"), o.id)
    assert _code(exc) == "sharing.objection_not_coordinator"
    objections.take_up(session, world.actor(session, "jb_admin"), o.id)
    settled = objections.settle(
        session,
        world.actor(session, "jb_admin"),
        o.id,
        result=ObjectionResult.DISMISSED,
        outcome="申请超出协查职责范围",
    )
    assert settled.status == ObjectionStatus.SETTLED and settled.ordered == ""
    ob = objection_deadlines.obligation_of(session, settled)
    assert ob is not None and ob.region_id == world.jiangbei and not ob.is_open


def test_filing_a_correction_for_an_objection_is_for_ones_own_department(
    session: Session, world: World, sc: ShareCity
) -> None:
    # aggregation.corrections.apply_for_objection: the person acts for the department, which
    # is not the provider (its own data it corrects in its pool).
    pool_id = sc.person_source.object_id
    kw = {"subject_key": K1, "item_name": "姓名", "proposed_value": None, "reason": "有误"}
    with pytest.raises(DomainError) as exc:
        corrections.apply_for_objection(
            session,
            world.actor(session, "jb_officer"),
            pool_id=pool_id,
            department_id=world.yz_police,
            **kw,
        )
    assert _code(exc) == "aggregation.correction_not_for_department"
    with pytest.raises(DomainError) as exc:
        corrections.apply_for_objection(
            session,
            world.actor(session, "officer"),
            pool_id=pool_id,
            department_id=world.police,
            **kw,
        )
    assert _code(exc) == "aggregation.correction_own_data"
    with pytest.raises(DomainError) as exc:
        corrections.apply_for_objection(
            session,
            world.actor(session, "city"),
            pool_id=pool_id,
            department_id=world.yz_police,
            **kw,
        )
    assert _code(exc) == "aggregation.correction_not_for_department"
