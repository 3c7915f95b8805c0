"""Every read of personal data leaves one access record: who, whose, how many rows (Art. 39,
40). A read refused for scope leaves no allowed record."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import base, corrections, pools, report, thematic, traces
from govdata.aggregation.models import BaseKind, LoadProblem, Pool, QuarantinedRow
from govdata.core.access import AccessRecord
from govdata.core.errors import NotFound, PermissionDenied
from govdata.core.ids import make_id_number
from tests.aggregation.base_helpers import K2, build_city
from tests.aggregation.factories import fill_pool, person_pool_resource
from tests.world import World


def pid(n: int) -> str:
    return make_id_number("500103", date(1980, 1, 1) + timedelta(days=n // 1000), n % 1000)


def records(session: Session, action: str | None = None) -> list[AccessRecord]:
    stmt = select(AccessRecord).order_by(AccessRecord.id)
    if action is not None:
        stmt = stmt.where(AccessRecord.action == action)
    return list(session.scalars(stmt))


def person_pool(session: Session, world: World, rows: int = 5) -> Pool:
    resource = person_pool_resource(
        session, world, world.police, "户籍人口调用记录测试", [("姓名", "C", 20), ("住址", "C", 80)]
    )
    data: list[dict[str, Any]] = [
        {"公民身份号码": pid(i), "姓名": f"居民{i}", "住址": f"渝中区{i}号"} for i in range(rows)
    ]
    pool, _ = fill_pool(session, world.actor(session, "city"), resource, data)
    return pool


# --- pool rows --------------------------------------------------------------------------------


def test_reading_pool_rows_records_the_rows_returned(session: Session, world: World) -> None:
    pool = person_pool(session, world, rows=5)
    officer = world.actor(session, "officer")
    got = pools.read_rows(session, officer, pool.id, offset=1, limit=3)
    assert len(got.rows) == 3 and got.total == 5
    [rec] = records(session)
    assert (rec.action, rec.object_type, rec.object_id) == (
        "aggregation.pool_rows.read",
        "pool",
        str(pool.id),
    )
    # The rows returned, not the table's size; the reader and whose data it is.
    assert (rec.rows, rec.personal, rec.outcome) == (3, True, "allowed")
    assert (rec.actor_id, rec.owner_department_id) == (world.people["officer"], world.police)
    assert rec.fields == "公民身份号码,姓名,住址"


def test_a_lookup_by_id_number_is_recorded_too(session: Session, world: World) -> None:
    pool = person_pool(session, world, rows=3)
    pools.read_rows(session, world.actor(session, "officer"), pool.id, subject_key=pid(1))
    assert [r.rows for r in records(session, "aggregation.pool_rows.read")] == [1]


def test_a_read_refused_for_scope_leaves_no_allowed_record(session: Session, world: World) -> None:
    pool = person_pool(session, world)
    with pytest.raises(NotFound):
        pools.read_rows(session, world.actor(session, "officer2"), pool.id)  # another department
    assert [r for r in records(session) if r.outcome == "allowed"] == []


# --- load problems and the report download ------------------------------------------------------


def _load_with_problems(session: Session, world: World) -> tuple[Pool, int]:
    pool = person_pool(session, world, rows=2)
    assert pool.current_load_id is not None
    load_id = pool.current_load_id
    for n in (3, 4, 5):
        session.add(
            LoadProblem(
                load_id=load_id,
                row_number=n,
                column="公民身份号码",
                code="aggregation.invalid_id_number",
                message="公民身份号码校验位不正确。",
                value=f"50010319900101{n:04d}",
            )
        )
        session.add(
            QuarantinedRow(
                load_id=load_id,
                row_number=n,
                data={"公民身份号码": f"50010319900101{n:04d}", "姓名": f"坏{n}"},
            )
        )
    session.flush()
    return pool, load_id


def test_reading_a_loads_problems_records_the_values_shown(session: Session, world: World) -> None:
    pool, load_id = _load_with_problems(session, world)
    listed, total = report.problems(session, world.actor(session, "officer"), load_id, limit=2)
    assert (len(listed), total) == (2, 3)
    [rec] = records(session)
    assert (rec.action, rec.object_type, rec.object_id) == (
        "aggregation.load_problems.read",
        "load",
        str(load_id),
    )
    assert (rec.rows, rec.personal, rec.owner_department_id) == (2, True, pool.department_id)


def test_downloading_the_report_records_problem_and_quarantined_rows(
    session: Session, world: World
) -> None:
    _, load_id = _load_with_problems(session, world)
    content = report.xlsx(session, world.actor(session, "officer"), load_id)
    sheets = CalamineWorkbook.from_filelike(io.BytesIO(content))
    assert len(sheets.get_sheet_by_name("隔离数据").to_python()) == 4  # header and 3 rows
    [rec] = records(session)
    assert (rec.action, rec.rows, rec.personal) == ("aggregation.load_report.download", 6, True)
    assert rec.fields == "公民身份号码,姓名"


def test_a_report_of_another_department_is_not_read(session: Session, world: World) -> None:
    _, load_id = _load_with_problems(session, world)
    with pytest.raises(NotFound):
        report.xlsx(session, world.actor(session, "officer2"), load_id)
    assert records(session) == []


# --- base records, conflicts, thematic rows, values under correction -----------------------------


def test_reading_a_base_record_is_recorded(session: Session, world: World) -> None:
    build_city(session, world)
    base.record(session, world.actor(session, "officer2"), BaseKind.PERSON, K2)
    [rec] = records(session)
    assert (rec.action, rec.object_id, rec.rows, rec.personal) == (
        "aggregation.base_record.read",
        f"person:{K2}",
        1,
        True,
    )
    assert rec.fields.startswith("公民身份号码,")


def test_a_public_account_reads_no_base_record_and_leaves_no_allowed_record(
    session: Session, world: World
) -> None:
    build_city(session, world)
    with pytest.raises(PermissionDenied):
        base.record(session, world.actor(session, "citizen"), BaseKind.PERSON, K2)
    assert records(session) == []


def test_listing_base_conflicts_is_recorded(session: Session, world: World) -> None:
    build_city(session, world)
    listed = base.list_conflicts(session, world.actor(session, "city"), BaseKind.PERSON)
    assert len(listed) == 1
    [rec] = records(session)
    assert (rec.action, rec.object_id, rec.rows, rec.personal) == (
        "aggregation.base_conflicts.read",
        "person",
        1,
        True,
    )


def test_reading_thematic_rows_is_recorded(session: Session, world: World) -> None:
    c = build_city(session, world)
    db = thematic.define(
        session,
        world.actor(session, "officer"),
        world.police,
        name="个体经营人员专题",
        description="户籍人口中从事个体经营的人员。",
        definition={
            "base_kind": "person",
            "base_items": ["姓名"],
            "pool_items": [{"resource_code": c.market_res.code, "item": "从业人数"}],
            "filters": [],
        },
    )
    before = len(records(session))
    page = thematic.rows(session, world.actor(session, "officer"), db.id, limit=1)
    assert len(page.rows) == 1
    [rec] = records(session)[before:]
    assert (rec.action, rec.object_type, rec.rows, rec.personal) == (
        "aggregation.thematic_rows.read",
        "thematic",
        1,
        True,
    )
    with pytest.raises(NotFound):
        thematic.rows(session, world.actor(session, "officer2"), db.id)
    assert len(records(session)) == before + 1


def test_showing_a_value_under_correction_is_recorded(session: Session, world: World) -> None:
    pool = person_pool(session, world, rows=2)
    c = corrections.apply(
        session,
        world.actor(session, "city"),
        pool_id=pool.id,
        subject_key=pid(1),
        item_name="住址",
        proposed_value="渝中区解放碑8号",
        reason="门牌号有误",
        evidence="房产证复印件",
    )
    before = len(records(session))
    target = corrections.current_value(session, world.actor(session, "officer"), c)
    assert target is not None and target.text == "渝中区1号"
    [rec] = records(session)[before:]
    assert (rec.action, rec.object_type, rec.object_id, rec.rows, rec.fields) == (
        "aggregation.correction_value.read",
        "correction",
        str(c.id),
        1,
        "住址",
    )


def test_values_stored_with_corrections_are_recorded_when_listed(
    session: Session, world: World
) -> None:
    # The corrections API returned each correction's stored value (申请时的值) unrecorded.
    pool = person_pool(session, world, rows=3)
    city = world.actor(session, "city")
    made = [
        corrections.apply(
            session,
            city,
            pool_id=pool.id,
            subject_key=pid(i),
            item_name=item,
            proposed_value="更正后的值",
            reason="有误",
            evidence="证明材料",
        )
        for i, item in ((0, "住址"), (1, "姓名"))
    ]
    by_id = corrections.pools_by_id(session, [pool.id])
    before = len(records(session))
    officer = world.actor(session, "officer")
    assert corrections.disclose_stored_values(session, officer, made, by_id) is True
    [rec] = records(session)[before:]
    assert (rec.action, rec.object_id, rec.rows, rec.fields, rec.personal) == (
        "aggregation.correction_values.read",
        str(pool.id),
        2,
        "住址,姓名",
        True,
    )
    assert rec.owner_department_id == world.police


def test_the_public_sees_no_stored_value_and_leaves_no_record(
    session: Session, world: World
) -> None:
    pool = person_pool(session, world, rows=1)
    c = corrections.apply(
        session,
        world.actor(session, "city"),
        pool_id=pool.id,
        subject_key=pid(0),
        item_name="住址",
        proposed_value="更正后的值",
        reason="有误",
        evidence="证明材料",
    )
    before = len(records(session))
    by_id = corrections.pools_by_id(session, [pool.id])
    citizen = world.actor(session, "citizen")
    assert corrections.disclose_stored_values(session, citizen, [c], by_id) is False
    assert len(records(session)) == before


# --- what counts as personal --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "personal"),
    [
        (["统一社会信用代码", "企业名称", "注册资本"], False),
        (["统一社会信用代码", "企业名称", "法定代表人"], True),
        (["统一社会信用代码", "联系电话"], True),
        (["身份证号", "申报金额"], True),
        (["要素代码", "地名"], False),
    ],
)
def test_personal_items_are_recognized_by_name(names: list[str], personal: bool) -> None:
    assert traces.personal_items(names) is personal
