"""Corrections (校核, Art. 19): applications, the 10-working-day clock and its one extension,
answers that change the pool's value with an audit trail, overdue flags (Art. 50(8)), scoping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import base, corrections, policy, pools
from govdata.aggregation.models import BaseKind, Correction, CorrectionStatus, ItemSpec, Pool
from govdata.catalog import review, service
from govdata.catalog.models import Resource, ReviewEntry
from govdata.catalog.schemas import ResourceIn
from govdata.core import calendar
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.audit import AuditEvent
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.ids import make_id_number
from tests.aggregation.base_helpers import K1, build_city
from tests.aggregation.factories import fill_pool, publish, resource_input
from tests.world import World

ID1 = make_id_number("500103", date(1990, 1, 1), 11)
ID2 = make_id_number("500103", date(1985, 6, 30), 22)
ID3 = make_id_number("500105", date(2001, 12, 9), 33)

ITEMS = [
    ("公民身份号码", "C", 18),
    ("姓名", "C", 10),
    ("出生日期", "D", None),
    ("住址", "C", 40),
    ("身高", "N", None),
]


@dataclass
class Setup:
    pool: Pool
    world: World


def _pool(
    session: Session,
    world: World,
    *,
    department_id: int | None = None,
    name: str = "常住人口信息",
    open_type: str = "none",
) -> Pool:
    data = resource_input(name, ITEMS, key="公民身份号码")
    if open_type != "none":
        data = ResourceIn.model_validate({**data.model_dump(), "open_type": open_type})
    department_id = department_id or world.police
    if department_id in (world.yz_police, world.jb_police):
        resource = _publish_district(session, world, department_id, data)
    else:
        resource = publish(session, world, department_id, data)
    pool, _ = fill_pool(
        session,
        world.actor(session, "city"),
        resource,
        [
            {
                "公民身份号码": ID1,
                "姓名": "张三",
                "出生日期": date(1990, 1, 1),
                "住址": "渝中区解放碑1号",
            },
            {"公民身份号码": ID2, "姓名": "李四", "出生日期": date(1985, 6, 30), "住址": None},
            {
                "公民身份号码": ID3,
                "姓名": "王五",
                "出生日期": date(2001, 12, 9),
                "住址": "江北区观音桥2号",
            },
        ],
    )
    return pool


def _publish_district(
    session: Session, world: World, department_id: int, data: ResourceIn
) -> Resource:
    """A district department's resource goes through its district bureau first (Art. 12)."""
    city = world.actor(session, "city")
    resource = service.create_resource(session, city, department_id, data)
    review.submit(session, city, department_id)
    region, admin = (
        (world.yuzhong, "yz_admin")
        if department_id == world.yz_police
        else (world.jiangbei, "jb_admin")
    )
    review.compile_district(session, world.actor(session, admin), region)
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    session.refresh(resource)
    return resource


@pytest.fixture
def pool(session: Session, world: World) -> Pool:
    return _pool(session, world)


def _today(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    monkeypatch.setattr(calendar, "today", lambda: day)


def _apply(
    session: Session, world: World, pool: Pool, who: str = "city", **kw: object
) -> Correction:
    args: dict[str, object] = {
        "pool_id": pool.id,
        "subject_key": ID1,
        "item_name": "住址",
        "proposed_value": "渝中区解放碑8号",
        "reason": "门牌号有误，应为8号",
        "evidence": "房产证复印件",
    }
    args.update(kw)
    return corrections.apply(session, world.actor(session, who), **args)  # type: ignore[arg-type]


def _value(session: Session, world: World, pool: Pool, key: str, item: str) -> object:
    rows = pools.read_rows(session, world.actor(session, "officer"), pool.id, subject_key=key)
    assert rows.total == 1
    return rows.rows[0][item]


def _head_of(department_id: int, person_id: int) -> Actor:
    return Actor(
        person_id=person_id,
        name="他部门负责人",
        grants=(RoleGrant(Role.DEPARTMENT_HEAD, department_id=department_id),),
    )


def _events(session: Session, action: str, object_id: int) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == action, AuditEvent.object_id == str(object_id)
            )
        )
    )


# --- the clock ----------------------------------------------------------------------------------


def test_the_answer_is_due_in_10_working_days_over_national_day(
    session, world, pool, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # Art. 19 ¶2. Received Fri 2025-09-26; the period counts from the next day (《民法典》
    # Art. 201). The State Council's 2025 schedule: National Day and Mid-Autumn 10-01..10-08 off,
    # Sun 09-28 and Sat 10-11 are make-up working days. Working days: 09-28 (1), 09-29 (2),
    # 09-30 (3), 10-09 (4), 10-10 (5), 10-11 (6), 10-13 (7), 10-14 (8), 10-15 (9), 10-16 (10).
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(session, world, pool)
    assert c.received_on == date(2025, 9, 26)
    assert c.due_on == date(2025, 10, 16)
    assert c.due_provisional is False
    assert c.status == CorrectionStatus.OPEN
    assert c.current_value == "渝中区解放碑1号"
    assert c.proposed_value == "渝中区解放碑8号"
    assert (c.applicant_kind, c.channel) == ("department", "sharing")
    assert c.applicant_department_id == world.city_bureau
    assert c.department_id == world.police
    [event] = _events(session, "aggregation.correction.apply", c.id)
    assert event.department_id == world.police
    assert ID1 not in event.summary  # no personal data in the audit log's text
    cal = calendar.load_calendar(session)
    assert corrections.clock(c, cal, date(2025, 9, 30)).label == "剩余7个工作日"
    assert corrections.clock(c, cal, date(2025, 10, 16)).label == "今日到期"


def test_the_clock_and_its_extension_cross_the_spring_festival(
    session, world, pool, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # Art. 19 ¶2. Received Fri 2026-02-13; 2026 schedule: Spring Festival 02-15..02-23 off,
    # Sat 02-14 and Sat 02-28 are make-up working days. Working days: 02-14 (1), 02-24 (2),
    # 02-25 (3), 02-26 (4), 02-27 (5), 02-28 (6), 03-02 (7), 03-03 (8), 03-04 (9), 03-05 (10).
    _today(monkeypatch, date(2026, 2, 13))
    c = _apply(session, world, pool)
    assert c.due_on == date(2026, 3, 5)
    # The head extends by 10 working days from the due date: 03-06, 03-09..13, 03-16..19.
    _today(monkeypatch, date(2026, 3, 2))
    corrections.extend(
        session, world.actor(session, "head"), c.id, days=10, reason="需向户籍派出所调取原始档案"
    )
    assert (c.original_due_on, c.due_on) == (date(2026, 3, 5), date(2026, 3, 19))
    assert c.extension_days == 10 and c.extended_by == world.people["head"]
    assert c.extension_reason == "需向户籍派出所调取原始档案"
    assert len(_events(session, "aggregation.correction.extend", c.id)) == 1
    # Past the original due date but within the extension: not overdue.
    _today(monkeypatch, date(2026, 3, 10))
    assert corrections.overdue(session, world.actor(session, "city")).open == []


def test_a_deadline_into_an_unpublished_year_is_provisional(
    session, world, pool, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # The calendar holds the State Council's schedules up to 2026; 2027 is not published.
    _today(monkeypatch, date(2026, 12, 28))
    c = _apply(session, world, pool)
    assert c.due_on.year == 2027 and c.due_provisional is True
    label = corrections.clock(c, calendar.load_calendar(session), date(2026, 12, 29)).label
    assert "暂按工作日计算" in label


# --- the extension (Art. 19 ¶2) -----------------------------------------------------------------


def test_the_extension_is_the_heads_once_and_at_most_10_working_days(
    session, world, pool, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(session, world, pool)
    # The providing department's data officer may not extend.
    with pytest.raises(PermissionDenied) as err:
        corrections.extend(session, world.actor(session, "officer"), c.id, days=5, reason="核查")
    assert err.value.code == "deadline.head_approval_required"
    # Nor the head of another department: the applicant department's head sees the
    # correction but is not the provider's head; a third department's head does not see it.
    with pytest.raises(PermissionDenied):
        corrections.extend(
            session, _head_of(world.city_bureau, world.people["city"]), c.id, days=5, reason="核查"
        )
    with pytest.raises(NotFound):
        corrections.extend(
            session, _head_of(world.market, world.people["officer2"]), c.id, days=5, reason="核查"
        )
    head = world.actor(session, "head")
    with pytest.raises(InvalidInput) as err:
        corrections.extend(session, head, c.id, days=11, reason="核查")
    assert err.value.code == "deadline.extension_too_long"
    with pytest.raises(InvalidInput) as err:
        corrections.extend(session, head, c.id, days=0, reason="核查")
    assert err.value.code == "deadline.extension_invalid"
    with pytest.raises(InvalidInput) as err:
        corrections.extend(session, head, c.id, days=5, reason="  ")
    assert err.value.code == "aggregation.extension_reason_required"
    assert c.due_on == date(2025, 10, 16) and c.extension_days == 0
    corrections.extend(session, head, c.id, days=3, reason="需调取档案")
    assert c.due_on == date(2025, 10, 21)  # 10-17, 10-20, 10-21
    with pytest.raises(Conflict) as err:
        corrections.extend(session, head, c.id, days=1, reason="再延一次")
    assert err.value.code == "deadline.already_extended"


def test_no_extension_after_the_period_has_run_out(session, world, pool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(session, world, pool)
    _today(monkeypatch, date(2025, 10, 17))
    with pytest.raises(Conflict) as err:
        corrections.extend(session, world.actor(session, "head"), c.id, days=5, reason="来不及")
    assert err.value.code == "aggregation.correction_extension_after_due"


# --- answering ----------------------------------------------------------------------------------


def test_accepting_writes_the_value_with_an_audit_trail_and_lifts_the_mark(
    session, world, pool, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(session, world, pool)
    marks = corrections.under_correction(session, pool.id, [ID1, ID2])
    assert set(marks) == {(ID1, "住址")} and marks[(ID1, "住址")].id == c.id
    assert corrections.is_under_correction(session, pool.id, ID1, "住址")
    assert not corrections.is_under_correction(session, pool.id, ID1, "姓名")

    _today(monkeypatch, date(2025, 10, 9))
    corrections.answer(
        session, world.actor(session, "officer"), c.id, accept=True, answer="经核实门牌号登记有误"
    )
    assert c.status == CorrectionStatus.ACCEPTED
    assert c.answered_on == date(2025, 10, 9) and c.answered_by == world.people["officer"]
    assert c.answer == "经核实门牌号登记有误"
    # Art. 19: the value in the pool's current data is the corrected one; the others stand.
    assert _value(session, world, pool, ID1, "住址") == "渝中区解放碑8号"
    assert _value(session, world, pool, ID1, "姓名") == "张三"
    assert _value(session, world, pool, ID3, "住址") == "江北区观音桥2号"
    [event] = _events(session, "aggregation.correction.accept", c.id)
    assert event.department_id == world.police and "逾期" not in event.summary
    assert corrections.under_correction(session, pool.id, [ID1]) == {}
    label = corrections.clock(c, calendar.load_calendar(session), date(2025, 10, 20)).label
    assert label == "已按期办结"
    # An answered correction is closed.
    with pytest.raises(Conflict) as err:
        corrections.answer(session, world.actor(session, "head"), c.id, accept=False, answer="x")
    assert err.value.code == "aggregation.correction_closed"
    # And the same value may be challenged again.
    again = _apply(session, world, pool, proposed_value="渝中区解放碑9号")
    assert again.current_value == "渝中区解放碑8号"


def test_accepting_another_value_converts_it_to_the_items_type(
    session, world, pool, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(
        session, world, pool, item_name="出生日期", proposed_value="1990年1月2日", reason="生日有误"
    )
    assert c.current_value == "1990-01-01" and c.proposed_value == "1990-01-02"
    corrections.answer(
        session,
        world.actor(session, "head"),
        c.id,
        accept=True,
        answer="以出生医学证明为准",
        corrected_value="1990/1/3",
    )
    assert _value(session, world, pool, ID1, "出生日期") == date(1990, 1, 3)
    assert "更正后的值：1990-01-03" in c.answer
    h = _apply(session, world, pool, item_name="身高", proposed_value="175.50", reason="身高")
    assert h.current_value is None and h.proposed_value == "175.5"
    corrections.answer(session, world.actor(session, "officer"), h.id, accept=True, answer="")
    assert str(_value(session, world, pool, ID1, "身高")).rstrip("0") == "175.5"
    assert h.answer == "经核实，已予更正。"


def test_a_value_that_does_not_fit_the_item_is_refused_and_nothing_changes(
    session, world, pool, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(session, world, pool, item_name="出生日期", proposed_value=None, reason="生日有误")
    officer = world.actor(session, "officer")
    for bad, problem in (
        ("1990-13-01", "aggregation.bad_date"),
        ("明天", "aggregation.bad_date"),
    ):
        with pytest.raises(InvalidInput) as err:
            corrections.answer(
                session, officer, c.id, accept=True, answer="更正", corrected_value=bad
            )
        assert err.value.code == "aggregation.correction_value_invalid"
        assert err.value.detail["problem"] == problem
    n = _apply(session, world, pool, item_name="姓名", proposed_value=None, reason="姓名有误")
    with pytest.raises(InvalidInput) as err:
        corrections.answer(
            session,
            officer,
            n.id,
            accept=True,
            answer="更正",
            corrected_value="一二三四五六七八九十十一",
        )
    assert err.value.detail["problem"] == "aggregation.too_long"
    h = _apply(session, world, pool, item_name="身高", proposed_value=None, reason="身高有误")
    with pytest.raises(InvalidInput) as err:
        corrections.answer(
            session, officer, h.id, accept=True, answer="更正", corrected_value="1.00000000001"
        )
    assert err.value.detail["problem"] == "aggregation.too_many_decimals"
    # Without a proposed value the officer must give one.
    with pytest.raises(InvalidInput) as err:
        corrections.answer(session, officer, c.id, accept=True, answer="更正")
    assert err.value.code == "aggregation.corrected_value_required"
    assert c.status == CorrectionStatus.OPEN and n.status == CorrectionStatus.OPEN
    assert _value(session, world, pool, ID1, "出生日期") == date(1990, 1, 1)
    assert _value(session, world, pool, ID1, "姓名") == "张三"
    assert _events(session, "aggregation.correction.accept", c.id) == []


def test_the_specification_binds_a_corrected_value(session, world, pool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Art. 15: a corrected value satisfies the aggregation specification as a loaded one does.
    session.add(ItemSpec(resource_id=pool.resource_id, item_name="住址", required=True))
    session.flush()
    c = _apply(session, world, pool, proposed_value=None)
    with pytest.raises(InvalidInput) as err:
        corrections.answer(
            session,
            world.actor(session, "officer"),
            c.id,
            accept=True,
            answer="清空",
            corrected_value="",
        )
    assert err.value.detail["problem"] == "aggregation.required_missing"


def test_an_empty_corrected_value_clears_an_optional_value(session, world, pool) -> None:  # type: ignore[no-untyped-def]
    c = _apply(session, world, pool, proposed_value=None, reason="该人已迁出，不应有此住址")
    corrections.answer(
        session,
        world.actor(session, "officer"),
        c.id,
        accept=True,
        answer="已迁出",
        corrected_value="",
    )
    assert _value(session, world, pool, ID1, "住址") is None
    assert "更正后的值：（空）" in c.answer


def test_rejecting_needs_a_reason_and_leaves_the_value(session, world, pool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(session, world, pool)
    officer = world.actor(session, "officer")
    with pytest.raises(InvalidInput) as err:
        corrections.answer(session, officer, c.id, accept=False, answer="   ")
    assert err.value.code == "aggregation.correction_answer_required"
    assert c.status == CorrectionStatus.OPEN
    corrections.answer(session, officer, c.id, accept=False, answer="经核查户籍档案，登记无误")
    assert c.status == CorrectionStatus.REJECTED and c.answer == "经核查户籍档案，登记无误"
    assert _value(session, world, pool, ID1, "住址") == "渝中区解放碑1号"
    assert len(_events(session, "aggregation.correction.reject", c.id)) == 1
    assert corrections.under_correction(session, pool.id, [ID1]) == {}


def test_only_the_providing_department_answers(session, world, pool) -> None:  # type: ignore[no-untyped-def]
    c = _apply(session, world, pool)
    # The city bureau supervises (Art. 19 ¶1) but does not answer for the provider.
    for who in ("city", "auditor"):
        with pytest.raises(PermissionDenied) as err:
            corrections.answer(
                session, world.actor(session, who), c.id, accept=False, answer="无误"
            )
        assert err.value.code == "aggregation.correction_cannot_answer"
    with pytest.raises(NotFound):
        corrections.answer(
            session, world.actor(session, "officer2"), c.id, accept=False, answer="无误"
        )
    assert c.status == CorrectionStatus.OPEN


# --- overdue (Art. 50(8)) ---------------------------------------------------------------------


def test_overdue_corrections_are_flagged_and_a_late_answer_is_recorded(
    session, world, pool, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(session, world, pool)
    other = _apply(session, world, pool, subject_key=ID3, reason="地址有误")
    _today(monkeypatch, date(2025, 10, 16))
    assert corrections.overdue(session, world.actor(session, "city")).open == []
    _today(monkeypatch, date(2025, 10, 17))
    city = world.actor(session, "city")
    report = corrections.overdue(session, city)
    assert [x.id for x in report.open] == [c.id, other.id]
    assert report.labels[c.id] == "已超期1个工作日"
    counts = corrections.counts(session, city)
    assert (counts.total, counts.open, counts.overdue, counts.late) == (2, 2, 2, 0)
    officer = world.actor(session, "officer")
    assert corrections.overdue(session, officer).open == report.open  # the provider sees it too
    assert corrections.clock(c, calendar.load_calendar(session)).overdue

    corrections.answer(session, officer, c.id, accept=False, answer="登记无误")
    [event] = _events(session, "aggregation.correction.reject", c.id)
    assert "逾期答复" in event.summary
    report = corrections.overdue(session, city)
    assert [x.id for x in report.open] == [other.id]
    assert [x.id for x in report.late] == [c.id] and report.labels[c.id] == "逾期办结"
    page = corrections.list_corrections(session, city, overdue_only=True)
    assert {x.id for x in page.items} == {c.id, other.id}
    counts = corrections.counts(session, city)
    assert (counts.open, counts.overdue, counts.late) == (1, 1, 1)
    [(dept, per)] = corrections.counts_by_department(session, city)
    assert dept.id == world.police and (per.open, per.overdue, per.late) == (1, 1, 1)
    assert corrections.counts(session, officer, direction="outgoing").total == 0
    assert corrections.clock(c, calendar.load_calendar(session)).late


# --- applying -----------------------------------------------------------------------------------


def test_application_rules(session, world, pool) -> None:  # type: ignore[no-untyped-def]
    city = world.actor(session, "city")
    args = {"pool_id": pool.id, "subject_key": ID1, "item_name": "住址", "proposed_value": "新址"}

    def refused(exc: type[Exception], code: str, actor: Actor = city, **kw: object) -> None:
        with pytest.raises(exc) as err:  # type: ignore[var-annotated]
            corrections.apply(session, actor, **{**args, "reason": "有误", **kw})  # type: ignore[arg-type]
        assert err.value.code == code  # type: ignore[attr-defined]

    refused(InvalidInput, "aggregation.correction_reason_required", reason=" ")
    refused(NotFound, "aggregation.correction_value_not_found", subject_key=ID1[:-1] + "0")
    refused(NotFound, "aggregation.correction_value_not_found", subject_key="x" * 100)
    refused(InvalidInput, "aggregation.correction_item_unknown", item_name="职业")
    refused(InvalidInput, "aggregation.correction_subject_key_item", item_name="公民身份号码")
    refused(
        InvalidInput,
        "aggregation.correction_value_invalid",
        item_name="出生日期",
        proposed_value="某天",
    )
    refused(NotFound, "aggregation.pool_not_found", pool_id=pool.id + 1000)
    # A department does not apply to itself: it corrects its own pool.
    refused(InvalidInput, "aggregation.correction_own_data", world.actor(session, "officer"))
    # Another department cannot see the value (sharing grants come with Ch. 4).
    refused(NotFound, "aggregation.pool_not_found", world.actor(session, "officer2"))
    # Auditors oversee read-only; a person without a role is no applicant.
    refused(
        PermissionDenied, "aggregation.correction_cannot_apply", world.actor(session, "auditor")
    )
    refused(NotFound, "aggregation.pool_not_found", world.actor(session, "plain"))
    # The lower-case x of an ID number is the same key, as in a load.
    lower = ID1.replace("X", "x")
    c = corrections.apply(session, city, **{**args, "subject_key": lower, "reason": "有误"})  # type: ignore[arg-type]
    assert c.subject_key == ID1
    refused(Conflict, "aggregation.correction_already_open")
    # Another item of the same subject may be challenged meanwhile.
    corrections.apply(
        session, city, **{**args, "item_name": "姓名", "proposed_value": "张叁", "reason": "错字"}
    )  # type: ignore[arg-type]


def test_applicant_without_a_department_is_refused(session, world) -> None:  # type: ignore[no-untyped-def]
    # The Jiangbei district bureau's admin sees Jiangbei's pools but belongs to no department.
    pool = _pool(session, world, department_id=world.jb_police, name="江北人口信息")
    with pytest.raises(PermissionDenied) as err:
        _apply(session, world, pool, who="jb_admin")
    assert err.value.code == "aggregation.correction_no_department"
    # The Yuzhong district bureau's admin does not see Jiangbei's pool.
    with pytest.raises(NotFound):
        _apply(session, world, pool, who="yz_admin")


def test_a_district_bureau_applies_for_its_region(session, world) -> None:  # type: ignore[no-untyped-def]
    pool = _pool(session, world, department_id=world.yz_police, name="渝中人口信息")
    c = _apply(session, world, pool, who="yz_admin")
    assert c.applicant_department_id == world.yz_bureau and c.department_id == world.yz_police
    corrections.answer(
        session, world.actor(session, "yz_officer"), c.id, accept=True, answer="已改"
    )
    assert _value_as(session, world, "yz_officer", pool, ID1, "住址") == "渝中区解放碑8号"


def _value_as(session: Session, world: World, who: str, pool: Pool, key: str, item: str) -> object:
    rows = pools.read_rows(session, world.actor(session, who), pool.id, subject_key=key)
    return rows.rows[0][item]


# --- the public (Art. 19 ¶2, open system) ------------------------------------------------------


def test_the_public_applies_through_the_open_system_for_open_data_only(
    session, world, pool
) -> None:  # type: ignore[no-untyped-def]
    citizen, company = world.actor(session, "citizen"), world.actor(session, "company")
    # A pool that is not in the open catalog is "not found" to the public, never probed.
    with pytest.raises(NotFound) as err:
        _apply(session, world, pool, who="citizen")
    assert err.value.code == "aggregation.pool_not_found"
    open_pool = _pool(session, world, name="公开的人口统计", open_type="unconditional")
    c = _apply(session, world, open_pool, who="citizen")
    assert (c.applicant_kind, c.channel) == ("citizen", "open")
    assert c.applicant_person_id == world.people["citizen"] and c.applicant_department_id is None
    k = _apply(session, world, open_pool, who="company", subject_key=ID2, reason="有误")
    assert k.applicant_kind == "company"
    # Each sees its own application only, and never the stored value through it.
    assert [x.id for x in corrections.list_corrections(session, citizen).items] == [c.id]
    assert corrections.get_correction(session, citizen, c.id) is c
    with pytest.raises(NotFound):
        corrections.get_correction(session, company, c.id)
    assert not policy.shows_correction_value(citizen)
    assert corrections.current_value(session, citizen, c) is None
    # The public does not answer.
    with pytest.raises(PermissionDenied):
        corrections.answer(session, citizen, c.id, accept=True, answer="自己改")
    # The provider answers as for any application.
    corrections.answer(session, world.actor(session, "officer"), c.id, accept=True, answer="已更正")
    assert _value(session, world, open_pool, ID1, "住址") == "渝中区解放碑8号"


# --- scoping ------------------------------------------------------------------------------------


def test_who_sees_a_correction(session, world, pool) -> None:  # type: ignore[no-untyped-def]
    c = _apply(session, world, pool)
    # Provider (officer, head), applicant department (city bureau), auditors: yes.
    for who in ("officer", "head", "city", "auditor"):
        assert corrections.get_correction(session, world.actor(session, who), c.id) is c
        assert c.id in [
            x.id for x in corrections.list_corrections(session, world.actor(session, who)).items
        ]
    # Another department, a district bureau of another region, the public: not found.
    for who in ("officer2", "yz_admin", "jb_officer", "citizen", "plain"):
        with pytest.raises(NotFound) as err:
            corrections.get_correction(session, world.actor(session, who), c.id)
        assert err.value.code == "aggregation.correction_not_found"
        assert corrections.list_corrections(session, world.actor(session, who)).items == []
    officer = world.actor(session, "officer")
    assert [
        x.id for x in corrections.list_corrections(session, officer, direction="incoming").items
    ] == [c.id]
    assert corrections.list_corrections(session, officer, direction="outgoing").items == []
    city = world.actor(session, "city")
    assert [
        x.id for x in corrections.list_corrections(session, city, direction="outgoing").items
    ] == [c.id]
    assert corrections.list_corrections(session, city, department_id=world.market).items == []
    assert corrections.list_corrections(session, city, status="accepted").items == []
    # The district bureau of the provider's region sees its departments' corrections.
    yz_pool = _pool(session, world, department_id=world.yz_police, name="渝中人口")
    d = _apply(session, world, yz_pool)
    assert corrections.get_correction(session, world.actor(session, "yz_admin"), d.id) is d
    # The applicant department's other people (a head of the city bureau) see theirs.
    assert (
        corrections.get_correction(session, _head_of(world.city_bureau, world.people["city"]), c.id)
        is c
    )
    assert corrections.current_value(session, officer, c).text == "渝中区解放碑1号"  # type: ignore[union-attr]


def test_under_correction_takes_many_keys(session, world, pool) -> None:  # type: ignore[no-untyped-def]
    _apply(session, world, pool)
    _apply(session, world, pool, subject_key=ID3, item_name="姓名", proposed_value="王伍")
    keys = [f"k{i}" for i in range(1200)] + [ID1, ID3, ""]
    marks = corrections.under_correction(session, pool.id, keys)
    assert set(marks) == {(ID1, "住址"), (ID3, "姓名")}
    assert corrections.under_correction(session, pool.id, []) == {}
    assert corrections.under_correction(session, pool.id + 1, keys) == {}


# --- the base databases follow (Art. 16, 17 ¶2) -------------------------------------------------


def test_an_accepted_correction_reaches_the_base_database(session, world) -> None:  # type: ignore[no-untyped-def]
    # The police pool is the authoritative source of 姓名 in the person base (一数一源): the
    # corrected name is the base's value at once, with no new load.
    city = build_city(session, world)
    base.build(session, world.actor(session, "city"), BaseKind.PERSON)
    before = base.record(session, world.actor(session, "officer"), BaseKind.PERSON, K1)
    assert {v.item: v.value for v in before.values}["姓名"] == "张三"
    c = _apply(
        session, world, city.police_pool, subject_key=K1, item_name="姓名", proposed_value="张叁"
    )
    corrections.answer(session, world.actor(session, "officer"), c.id, accept=True, answer="错字")
    after = base.record(session, world.actor(session, "officer"), BaseKind.PERSON, K1)
    assert {v.item: v.value for v in after.values}["姓名"] == "张叁"


def test_a_value_gone_with_a_full_load_can_only_be_rejected(session, world, pool) -> None:  # type: ignore[no-untyped-def]
    # A full load after the application no longer holds the subject (Art. 18 updates).
    c = _apply(session, world, pool)
    resource = session.get(Resource, pool.resource_id)
    fill_pool(
        session, world.actor(session, "city"), resource, [{"公民身份号码": ID2, "姓名": "李四"}]
    )
    officer = world.actor(session, "officer")
    with pytest.raises(Conflict) as err:
        corrections.answer(session, officer, c.id, accept=True, answer="更正")
    assert err.value.code == "aggregation.correction_value_gone"
    assert c.status == CorrectionStatus.OPEN
    corrections.answer(
        session, officer, c.id, accept=False, answer="该记录已注销，数据已不在资源池中"
    )
    assert c.status == CorrectionStatus.REJECTED
