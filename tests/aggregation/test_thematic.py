"""Thematic databases (Art. 17 ¶3, 18, 25(3)): declarative definitions validated with stable
codes, materialized by one INSERT … SELECT, refreshed when their sources change, registered in
the catalog; all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from govdata.aggregation import base, thematic
from govdata.aggregation.models import BaseKind, ThematicDatabase
from govdata.catalog import service
from govdata.catalog.models import Resource, ResourceState
from govdata.catalog.vocab import ShareType
from govdata.core.audit import AuditEvent
from govdata.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from tests.aggregation.base_helpers import K1, K2, K3, K4, City, build_city, upsert
from tests.aggregation.factories import fill_pool, publish, resource_input
from tests.world import World


def _definition(c: City, **changes: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "base_kind": "person",
        "base_items": ["姓名", "出生日期"],
        "pool_items": [{"resource_code": c.market_res.code, "item": "从业人数"}],
        "filters": [{"item": "从业人数", "op": "ge", "value": 2}],
    }
    d.update(changes)
    return d


def _define(session: Session, world: World, c: City, who: str = "officer", **changes: Any) -> Any:
    return thematic.define(
        session,
        world.actor(session, who),
        world.police,
        name="个体经营人员专题",
        description="户籍人口中从事个体经营、雇工两人以上的人员。",
        definition=_definition(c, **changes),
    )


def _tables(session: Session) -> set[str]:
    return {t for t in inspect(session.connection()).get_table_names() if t.startswith("thematic_")}


def _rows(session: Session, world: World, db: ThematicDatabase) -> list[dict[str, Any]]:
    return thematic.rows(session, world.actor(session, "city"), db.id).rows


def test_define_materializes_the_join_with_its_filters(session: Session, world: World) -> None:
    c = build_city(session, world)
    db = _define(session, world, c)
    assert db.table_name == f"thematic_{db.id}" and not db.stale and db.row_count == 2
    page = thematic.rows(session, world.actor(session, "officer"), db.id)
    assert page.key_name == "公民身份号码"
    assert [col.label for col in page.columns] == ["姓名", "出生日期", "从业人数"]
    assert page.rows == [
        {"subject_key": K1, "姓名": "张三", "出生日期": "1990-01-01", "从业人数": "3"},
        {"subject_key": K2, "姓名": "李四", "出生日期": "1990-02-02", "从业人数": "12"},
    ]
    assert page.total == 2


def test_define_registers_a_thematic_resource_in_the_catalog_list(
    session: Session, world: World
) -> None:  # Art. 12, 25(3)
    c = build_city(session, world)
    db = _define(session, world, c)
    resource = session.scalars(select(Resource).where(Resource.id == db.resource_id)).one()
    full = service.get_resource(session, world.actor(session, "officer"), resource.id)
    assert full.department_id == world.police and full.state == ResourceState.DRAFT
    assert full.category == "thematic" and full.code.startswith("2")
    assert full.share_type == ShareType.UNCONDITIONAL.value  # thematic data is shared (Art. 25(3))
    assert [(i.name, i.is_subject_key) for i in full.items] == [
        ("公民身份号码", True),
        ("姓名", False),
        ("出生日期", False),
        ("从业人数", False),
    ]
    assert [i.data_type for i in full.items] == ["C", "C", "D", "I"]
    actions = list(session.scalars(select(AuditEvent.action)))
    assert "aggregation.thematic.define" in actions and "catalog.resource.create" in actions


def test_a_failed_registration_leaves_nothing(session: Session, world: World) -> None:
    c = build_city(session, world)
    officer = world.actor(session, "officer")
    service.create_resource(
        session,
        officer,
        world.police,
        resource_input("个体经营人员专题", [("公民身份号码", "C", 18)], key="公民身份号码"),
    )
    before = _tables(session)
    with pytest.raises(Conflict) as err:
        _define(session, world, c)
    assert err.value.code == "catalog.resource_name_taken"
    assert session.scalar(select(func.count()).select_from(ThematicDatabase)) == 0
    assert _tables(session) == before


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"base_kind": "animal"}, "aggregation.thematic_unknown_base"),
        ({"base_kind": "geo"}, "aggregation.thematic_unknown_base"),
        ({"base_items": ["身高"]}, "aggregation.thematic_unknown_base_item"),
        (
            {"pool_items": [{"resource_code": "X", "item": "从业人数"}]},
            "aggregation.thematic_resource_unknown",
        ),
        (
            {"pool_items": [{"resource_code": "{market}", "item": "身高"}]},
            "aggregation.thematic_pool_item_unknown",
        ),
        (
            {"pool_items": [{"resource_code": "{market}", "item": "姓名"}], "filters": []},
            "aggregation.thematic_duplicate_column",
        ),
        (
            {"filters": [{"item": "从业人数", "op": "like", "value": "1"}]},
            "aggregation.thematic_bad_operator",
        ),
        (
            {"filters": [{"item": "身高", "op": "eq", "value": "1"}]},
            "aggregation.thematic_bad_filter",
        ),
        (
            {"filters": [{"item": "从业人数", "op": "gt", "value": "many"}]},
            "aggregation.thematic_bad_filter_value",
        ),
        (
            {"filters": [{"item": "从业人数", "op": "in", "value": []}]},
            "aggregation.thematic_bad_filter_value",
        ),
        ({"filters": [{"item": "姓名", "op": "eq"}]}, "aggregation.thematic_bad_filter_value"),
        ({"base_items": [], "pool_items": [], "filters": []}, "aggregation.thematic_empty"),
        ({"colour": "red"}, "aggregation.thematic_bad_definition"),
        ({"base_items": "姓名"}, "aggregation.thematic_bad_definition"),
    ],
)
def test_definitions_are_validated_with_stable_codes(
    session: Session, world: World, changes: dict[str, Any], code: str
) -> None:
    c = build_city(session, world)
    for key, value in changes.items():
        if key == "pool_items":
            changes[key] = [
                {k: v.replace("{market}", c.market_res.code) for k, v in p.items()} for p in value
            ]
    with pytest.raises(DomainError) as err:
        _define(session, world, c, **changes)
    assert err.value.code == code
    assert err.value.message  # zh-CN, for the form
    assert session.scalar(select(func.count()).select_from(ThematicDatabase)) == 0


def test_a_pool_keyed_otherwise_and_an_unpublished_resource_are_refused(
    session: Session, world: World
) -> None:  # Art. 12, 16
    c = build_city(session, world)
    company = publish(
        session,
        world,
        world.market,
        resource_input(
            "企业登记信息",
            [("统一社会信用代码", "C", 18), ("企业名称", "C", 100)],
            key="统一社会信用代码",
            subject_kind="legal_person",
        ),
    )
    with pytest.raises(InvalidInput) as err:
        _define(
            session,
            world,
            c,
            pool_items=[{"resource_code": company.code, "item": "企业名称"}],
            filters=[],
        )
    assert err.value.code == "aggregation.thematic_key_mismatch"
    draft = service.create_resource(
        session,
        world.actor(session, "officer"),
        world.police,
        resource_input(
            "暂住人员", [("公民身份号码", "C", 18), ("暂住地", "C", 100)], key="公民身份号码"
        ),
    )
    with pytest.raises(InvalidInput) as err:
        _define(
            session,
            world,
            c,
            pool_items=[{"resource_code": draft.code, "item": "暂住地"}],
            filters=[],
        )
    assert err.value.code == "aggregation.thematic_resource_not_published"


def test_another_departments_restricted_item_needs_the_sharing_system(
    session: Session, world: World
) -> None:  # Art. 24, 26
    c = build_city(session, world)
    restricted = publish(
        session,
        world,
        world.market,
        resource_input(
            "经营异常名录",
            [("公民身份号码", "C", 18), ("异常原因", "C", 100)],
            key="公民身份号码",
        ).model_copy(
            update={"share_type": ShareType.CONDITIONAL, "share_conditions": "限监管部门"}
        ),
    )
    with pytest.raises(InvalidInput) as err:
        _define(
            session,
            world,
            c,
            pool_items=[{"resource_code": restricted.code, "item": "异常原因"}],
            filters=[],
        )
    assert err.value.code == "aggregation.thematic_item_not_shared"
    # The market itself may use its own restricted item in its own thematic database.
    db = thematic.define(
        session,
        world.actor(session, "officer2"),
        world.market,
        name="经营异常人员",
        description="",
        definition={
            "base_kind": "person",
            "base_items": ["姓名"],
            "pool_items": [{"resource_code": restricted.code, "item": "异常原因"}],
            "filters": [{"item": "异常原因", "op": "not_null"}],
        },
    )
    assert db.row_count == 0


def test_filter_values_are_bound_never_spliced_into_sql(session: Session, world: World) -> None:
    c = build_city(session, world)
    db = _define(
        session,
        world,
        c,
        filters=[{"item": "姓名", "op": "eq", "value": "x'; DROP TABLE base_person; --"}],
    )
    assert db.row_count == 0
    assert "base_person" in inspect(session.connection()).get_table_names()
    # LIKE wildcards in a "contains" value are literal characters.
    db2 = thematic.define(
        session,
        world.actor(session, "officer"),
        world.police,
        name="百分号",
        description="",
        definition=_definition(c, filters=[{"item": "姓名", "op": "contains", "value": "%"}]),
    )
    assert db2.row_count == 0


@pytest.mark.parametrize(
    ("flt", "keys"),
    [
        ({"item": "姓名", "op": "eq", "value": "张三"}, [K1]),
        (
            {"item": "姓名", "op": "ne", "value": "张三"},
            [K2, K3, K4],
        ),  # an empty name is "not 张三"
        ({"item": "姓名", "op": "contains", "value": "四"}, [K2]),
        ({"item": "姓名", "op": "in", "value": ["王五", "李四"]}, [K2, K3]),
        ({"item": "出生日期", "op": "lt", "value": "1990-02-01"}, [K1]),
        ({"item": "出生日期", "op": "ge", "value": "1990-01-01"}, [K1, K2]),
        ({"item": "从业人数", "op": "gt", "value": 3}, [K2]),
        ({"item": "从业人数", "op": "le", "value": "3"}, [K1, K4]),
        ({"item": "从业人数", "op": "in", "value": [1, 12]}, [K2, K4]),
        ({"item": "从业人数", "op": "not_null"}, [K1, K2, K4]),
    ],
)
def test_filter_operators(
    session: Session, world: World, flt: dict[str, Any], keys: list[str]
) -> None:
    c = build_city(session, world)
    db = _define(session, world, c, filters=[flt])
    assert [r["subject_key"] for r in _rows(session, world, db)] == keys


def test_a_load_refreshes_the_thematic_databases_reading_it(
    session: Session, world: World
) -> None:  # Art. 18
    c = build_city(session, world)
    db = _define(session, world, c)
    first = db.table_name
    # The market's pool changes: 赵六 (K4) now employs 5 people.
    load = upsert(session, c.market_pool, [{"公民身份号码": K4, "从业人数": 5}])
    base.rebuild_after_load(session, c.market_pool, load)
    assert [t.id for t in thematic.refresh_dependents(session, c.market_pool)] == [db.id]
    assert [r["subject_key"] for r in _rows(session, world, db)] == [K1, K2, K4]
    assert db.table_name == f"thematic_{db.id}_1" and first not in _tables(session)
    # The police pool feeds the base the thematic database stands on: a load there too.
    pool, load = fill_pool(
        session,
        world.actor(session, "city"),
        c.police_res,
        [{"公民身份号码": K4, "姓名": "赵六", "出生日期": None}],
    )
    base.rebuild_after_load(session, pool, load)
    assert thematic.refresh_dependents(session, pool) == [db]
    rows = _rows(session, world, db)
    assert [(r["subject_key"], r["姓名"]) for r in rows] == [(K1, None), (K2, None), (K4, "赵六")]
    assert db.table_name == f"thematic_{db.id}_2"


def test_a_thematic_database_whose_source_broke_stays_stale(session: Session, world: World) -> None:
    c = build_city(session, world)
    db = _define(session, world, c)
    base.remove_item(session, world.actor(session, "officer"), BaseKind.PERSON, name="出生日期")
    assert db.stale  # the base changed under it
    assert thematic.refresh_dependents(session, c.police_pool) == []
    assert db.stale and db.table_name == f"thematic_{db.id}"  # the old data stays readable
    with pytest.raises(InvalidInput) as err:
        thematic.refresh(session, world.actor(session, "officer"), db.id)
    assert err.value.code == "aggregation.thematic_unknown_base_item"


def test_a_manual_refresh_and_a_base_build(session: Session, world: World) -> None:
    c = build_city(session, world)
    db = _define(session, world, c)
    thematic.mark_stale(session, c.market_pool)
    assert db.stale
    thematic.refresh(session, world.actor(session, "officer"), db.id)
    assert not db.stale and db.table_name == f"thematic_{db.id}_1"
    base.build(session, world.actor(session, "city"), BaseKind.PERSON)
    assert db.table_name == f"thematic_{db.id}_2"


def test_who_may_define_refresh_and_read(session: Session, world: World) -> None:  # Art. 17 ¶3
    c = build_city(session, world)
    with pytest.raises(PermissionDenied) as err:  # the head sees the department, keeps no data
        thematic.define(
            session,
            world.actor(session, "head"),
            world.police,
            name="越权专题",
            description="",
            definition=_definition(c),
        )
    assert err.value.code == "aggregation.cannot_define_thematic"
    for who in ("officer2", "yz_officer"):
        with pytest.raises(NotFound):  # another department's: not even visible
            thematic.define(
                session,
                world.actor(session, who),
                world.police,
                name="越权专题",
                description="",
                definition=_definition(c),
            )
    db = _define(session, world, c, who="city")  # the bureau on the police's behalf
    with pytest.raises(PermissionDenied):
        thematic.refresh(session, world.actor(session, "head"), db.id)
    for who in ("officer2", "citizen", "yz_officer"):
        with pytest.raises(NotFound):
            thematic.rows(session, world.actor(session, who), db.id)
    assert thematic.rows(session, world.actor(session, "auditor"), db.id).total == 2
    assert [t.id for t in thematic.list_thematic(session, world.actor(session, "head"))] == [db.id]
    assert thematic.list_thematic(session, world.actor(session, "officer2")) == []
    with pytest.raises(Conflict) as dup:
        _define(session, world, c)
    assert dup.value.code == "aggregation.thematic_name_taken"


def test_the_define_form_parses_lines() -> None:
    # The pages package imports pygal, whose import hook breaks pytest's collection: lazily.
    from govdata.aggregation.pages.thematic import definition_text, parse_form

    d = parse_form(
        "person",
        ["姓名", ""],
        "101/000001 从业人数\n\n101/000002 姓名 经营者姓名",
        "从业人数 >= 2\n姓名 属于 张三，李四\n经营者姓名 不为空",
    )
    assert d == thematic.ThematicDefinition.parse(
        {
            "base_kind": "person",
            "base_items": ["姓名"],
            "pool_items": [
                {"resource_code": "101/000001", "item": "从业人数"},
                {"resource_code": "101/000002", "item": "姓名", "label": "经营者姓名"},
            ],
            "filters": [
                {"item": "从业人数", "op": "ge", "value": "2"},
                {"item": "姓名", "op": "in", "value": ["张三", "李四"]},
                {"item": "经营者姓名", "op": "not_null", "value": None},
            ],
        }
    )
    with pytest.raises(InvalidInput) as err:
        parse_form("person", [], "", "姓名 像 张")
    assert err.value.code == "aggregation.thematic_bad_operator"
    with pytest.raises(InvalidInput) as err:
        parse_form("person", [], "只有一列", "")
    assert err.value.code == "aggregation.thematic_bad_definition"
    assert definition_text(d)[1].splitlines()[1] == "姓名 in 张三，李四"


def test_rows_page(session: Session, world: World) -> None:
    c = build_city(session, world)
    db = _define(session, world, c, filters=[])
    page = thematic.rows(session, world.actor(session, "officer"), db.id, offset=1, limit=2)
    assert page.total == 4 and [r["subject_key"] for r in page.rows] == [K2, K3]
