"""Base databases (Art. 16, 17 ¶2, 18, 25(2)): one item one source, merging by subject key,
provenance, conflicts instead of overrides, incremental and atomic rebuilds, permissions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import base, loading, pools, tasks
from govdata.aggregation.models import (
    BadRowPolicy,
    BaseConflict,
    BaseDatabase,
    BaseKind,
    ConflictStatus,
    LoadMode,
    Pool,
)
from govdata.catalog.vocab import ShareType
from govdata.core.actor import Actor
from govdata.core.audit import AuditEvent
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.ids import make_id_number
from tests.aggregation.base_helpers import (
    K1,
    K2,
    K3,
    K4,
    base_rows,
    build_city,
    market_rows,
    new_load,
    police_rows,
    upsert,
)
from tests.aggregation.factories import fill_pool, person_pool_resource, publish, resource_input
from tests.world import World


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _open_conflicts(session: Session) -> list[BaseConflict]:
    return list(
        session.scalars(
            select(BaseConflict)
            .where(BaseConflict.status == ConflictStatus.OPEN.value)
            .order_by(BaseConflict.id)
        )
    )


# --- defining -----------------------------------------------------------------------------------


def test_only_the_city_bureau_sets_up_a_base_and_names_its_lead(
    session: Session, world: World
) -> None:  # Art. 17 ¶2
    with pytest.raises(PermissionDenied) as err:
        base.define_base(
            session, world.actor(session, "officer"), BaseKind.PERSON, lead_department_id=1
        )
    assert err.value.code == "aggregation.bureau_only"
    city = world.actor(session, "city")
    db = base.define_base(session, city, BaseKind.PERSON, lead_department_id=world.police)
    assert (db.table_name, db.key_name, db.name) == (
        "base_person",
        "公民身份号码",
        "自然人基础数据库",
    )
    assert "aggregation.base.define" in _actions(session)
    with pytest.raises(Conflict) as dup:
        base.define_base(session, city, BaseKind.PERSON, lead_department_id=world.market)
    assert dup.value.code == "aggregation.base_exists"
    with pytest.raises(NotFound):
        base.define_base(session, city, BaseKind.GEO, lead_department_id=10**6)


def test_one_item_one_source(session: Session, world: World) -> None:  # Art. 16
    c = build_city(session, world)
    officer = world.actor(session, "officer")
    with pytest.raises(Conflict) as err:
        base.add_item(
            session,
            officer,
            BaseKind.PERSON,
            name="姓名",
            source_resource_code=c.market_res.code,
            source_item="姓名",
        )
    assert err.value.code == "aggregation.base_item_has_source"
    assert "一数一源" in err.value.message
    # Changing the source is its own, audited, step.
    item = base.set_source(
        session,
        officer,
        BaseKind.PERSON,
        name="姓名",
        source_resource_code=c.market_res.code,
        source_item="姓名",
    )
    assert item.source_resource_id == c.market_res.id
    assert "aggregation.base.item.source" in _actions(session)
    rows = base_rows(session)
    assert rows[K2]["姓名"] == ("李四四", c.market_load.id)  # now from the market's pool
    assert rows[K4]["姓名"] == ("赵六", c.market_load.id)
    # The police pool is now an ordinary source, and disagrees on K2.
    [conflict] = _open_conflicts(session)
    assert (conflict.subject_key, conflict.authoritative_value, conflict.other_value) == (
        K2,
        "李四四",
        "李四",
    )
    assert conflict.other_pool_id == c.police_pool.id


def test_a_source_must_be_published_keyed_as_the_base_shared_and_hold_the_item(
    session: Session, world: World
) -> None:  # Art. 12, 16, 25(2)
    c = build_city(session, world)
    officer = world.actor(session, "officer")

    def add(code: str, item: str, name: str = "新项") -> str:
        with pytest.raises((InvalidInput, NotFound, Conflict)) as err:
            base.add_item(
                session,
                officer,
                BaseKind.PERSON,
                name=name,
                source_resource_code=code,
                source_item=item,
            )
        return err.value.code

    assert add(c.police_res.code, "不存在的项") == "aggregation.source_item_unknown"
    assert add(c.police_res.code, "公民身份号码") == "aggregation.source_item_is_key"
    assert add(c.police_res.code, "姓名", name="公民身份号码") == "aggregation.base_item_is_key"
    assert add("no/such", "姓名") == "aggregation.resource_not_found"
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
    assert add(company.code, "企业名称") == "aggregation.base_key_mismatch"
    restricted = publish(
        session,
        world,
        world.police,
        resource_input(
            "在逃人员信息",
            [("公民身份号码", "C", 18), ("案由", "C", 100)],
            key="公民身份号码",
        ).model_copy(
            update={"share_type": ShareType.CONDITIONAL, "share_conditions": "限公安机关"}
        ),
    )
    assert add(restricted.code, "案由") == "aggregation.base_item_not_shared"
    # A draft never published is not a source (Art. 12).
    from govdata.catalog import service

    draft = service.create_resource(
        session,
        world.actor(session, "officer"),
        world.police,
        resource_input(
            "草稿资源", [("公民身份号码", "C", 18), ("住址", "C", 200)], key="公民身份号码"
        ),
    )
    assert add(draft.code, "住址") == "aggregation.source_not_published"


def test_only_the_lead_department_or_the_bureau_keeps_the_items(
    session: Session, world: World
) -> None:  # Art. 17 ¶2
    c = build_city(session, world, with_items=False)
    for who in ("officer2", "head", "yz_officer", "auditor"):
        with pytest.raises(PermissionDenied) as err:
            base.add_item(
                session,
                world.actor(session, who),
                BaseKind.PERSON,
                name="姓名",
                source_resource_code=c.police_res.code,
                source_item="姓名",
            )
        assert err.value.code == "aggregation.cannot_manage_base"
    token = replace(world.actor(session, "officer"), token_id=1)
    with pytest.raises(PermissionDenied):
        base.build(session, token, BaseKind.PERSON)
    with pytest.raises(PermissionDenied):
        base.build(session, world.actor(session, "officer2"), BaseKind.PERSON)
    # The bureau may act for the lead department.
    base.add_item(
        session,
        world.actor(session, "city"),
        BaseKind.PERSON,
        name="姓名",
        source_resource_code=c.police_res.code,
        source_item="姓名",
    )


# --- building ----------------------------------------------------------------------------------


def test_build_merges_the_sources_by_subject_key_with_provenance(
    session: Session, world: World
) -> None:  # Art. 16, 17 ¶2
    c = build_city(session, world)
    db = base.build(session, world.actor(session, "officer"), BaseKind.PERSON)
    rows = base_rows(session)
    # Keys: the union of the authoritative sources' keys (police K1–K3, market K1, K2, K4).
    assert sorted(rows) == [K1, K2, K3, K4]
    assert db.row_count == 4 and db.built_at is not None
    assert rows[K1] == {
        "姓名": ("张三", c.police_load.id),
        "出生日期": ("1990-01-01", c.police_load.id),
        "经营状态": ("存续", c.market_load.id),
    }
    # No value, no provenance; a subject only one source knows has only its values.
    assert rows[K3]["出生日期"] == (None, None)
    assert rows[K4] == {
        "姓名": (None, None),
        "出生日期": (None, None),
        "经营状态": ("存续", c.market_load.id),
    }
    assert "aggregation.base.build" in _actions(session)


def test_a_non_authoritative_value_never_overrides_and_its_disagreement_is_a_conflict(
    session: Session, world: World
) -> None:  # Art. 16, 20
    c = build_city(session, world)
    rows = base_rows(session)
    # The market says 李四四 for K2, the police (the one source of 姓名) 李四: the police win.
    assert rows[K2]["姓名"] == ("李四", c.police_load.id)
    # 赵六 (K4) is known to the market only: its name is not taken from a non-source either.
    assert rows[K4]["姓名"] == (None, None)
    [conflict] = _open_conflicts(session)
    assert (conflict.subject_key, conflict.authoritative_value, conflict.other_value) == (
        K2,
        "李四",
        "李四四",
    )
    assert (conflict.other_pool_id, conflict.other_load_id) == (c.market_pool.id, c.market_load.id)
    # Building again does not duplicate an identical open conflict.
    base.build(session, world.actor(session, "city"), BaseKind.PERSON)
    assert len(_open_conflicts(session)) == 1
    # The market corrects its data (a replace load): the disagreement, and the conflict, go.
    fixed = [r | {"姓名": "李四"} if r["公民身份号码"] == K2 else r for r in market_rows()]
    pool, load = fill_pool(session, world.actor(session, "city"), c.market_res, fixed)
    base.rebuild_after_load(session, pool, load)
    assert _open_conflicts(session) == []
    closed = session.get(BaseConflict, conflict.id)
    assert closed is not None and closed.status == ConflictStatus.RESOLVED.value
    assert closed.resolved_by is None and closed.note == base.AUTO_CLOSE_NOTE


def test_an_upsert_load_recomputes_only_the_subjects_it_wrote(
    session: Session, world: World
) -> None:  # Art. 18
    c = build_city(session, world)
    db = session.scalars(select(BaseDatabase)).one()
    items = {i.name: i for i in base.items_of(session, db)}
    # Mark K1's stored name: an incremental rebuild that does not write K1 leaves it alone.
    session.execute(
        text(f"UPDATE base_person SET v{items['姓名'].id} = 'untouched' WHERE subject_key = :k"),
        {"k": K1},
    )
    load = upsert(
        session,
        c.police_pool,
        [
            {"公民身份号码": K2, "姓名": "李肆", "出生日期": date(1990, 2, 3)},
            {"公民身份号码": K4, "姓名": "赵六", "出生日期": date(1990, 4, 4)},
        ],
    )
    touched = base.rebuild_after_load(session, c.police_pool, load)
    assert [b.kind for b in touched] == ["person"]
    rows = base_rows(session)
    assert rows[K1]["姓名"] == ("untouched", c.police_load.id)
    assert rows[K2]["姓名"] == ("李肆", load.id)
    assert rows[K2]["出生日期"] == ("1990-02-03", load.id)
    assert rows[K4]["姓名"] == ("赵六", load.id)  # K4 existed (market); now it has a name
    assert rows[K3]["姓名"] == ("王五", c.police_load.id)
    # The conflict on K2 moved with the new authoritative value: 李肆 vs the market's 李四四.
    [conflict] = _open_conflicts(session)
    assert (conflict.subject_key, conflict.authoritative_value) == (K2, "李肆")


def test_an_upsert_load_of_a_new_subject_adds_it(session: Session, world: World) -> None:
    c = build_city(session, world)
    k5 = "500101199005050055"
    load = upsert(
        session, c.market_pool, [{"公民身份号码": k5, "姓名": "钱七", "经营状态": "存续"}]
    )
    base.rebuild_after_load(session, c.market_pool, load)
    rows = base_rows(session)
    assert rows[k5]["经营状态"] == ("存续", load.id)
    assert rows[k5]["姓名"] == (None, None)  # the market is not the source of 姓名
    assert session.scalars(select(BaseDatabase)).one().row_count == 5


def test_a_replace_load_drops_what_the_source_no_longer_holds(
    session: Session, world: World
) -> None:  # Art. 18
    c = build_city(session, world)
    only_k1 = [r for r in police_rows() if r["公民身份号码"] == K1]
    pool, load = fill_pool(session, world.actor(session, "city"), c.police_res, only_k1)
    base.rebuild_after_load(session, pool, load)
    rows = base_rows(session)
    # K3 was known to the police only: it leaves the base. K2 stays (the market is the source
    # of its 经营状态) but loses the police's values.
    assert sorted(rows) == [K1, K2, K4]
    assert rows[K1]["姓名"] == ("张三", load.id)
    assert rows[K2]["姓名"] == (None, None)
    assert rows[K2]["经营状态"] == ("注销", c.market_load.id)
    # No authoritative 姓名 for K2 any more: nothing to disagree with.
    assert _open_conflicts(session) == []


def test_a_failed_build_leaves_the_previous_base_intact(
    session: Session, world: World
) -> None:  # principle 4: nothing half-written
    c = build_city(session, world)
    before = base_rows(session)
    # A source's table disappears behind the pipeline's back: the build fails midway (after
    # clearing the table it fills).
    pools.drop_table(session.connection(), c.market_pool.table_name or "")
    with pytest.raises(Exception):
        base.build(session, world.actor(session, "city"), BaseKind.PERSON)
    assert base_rows(session) == before


def test_a_correction_refreshes_one_subject(session: Session, world: World) -> None:  # Art. 19
    c = build_city(session, world)
    table = pools.current_table(c.market_pool)
    assert table is not None
    columns = {col["name"]: col["column"] for col in c.market_pool.columns}
    session.execute(
        update(table)
        .where(table.c[columns["公民身份号码"]] == K2)
        .values({columns["姓名"]: "李四", columns["经营状态"]: "存续"})
    )
    base.refresh_subject(session, c.market_pool, K2)
    rows = base_rows(session)
    assert rows[K2]["经营状态"] == ("存续", c.market_load.id)
    assert _open_conflicts(session) == []  # the market's 姓名 now agrees


def test_typed_values_are_compared_as_canonical_text(session: Session, world: World) -> None:
    # A date, an integer and a logical value from one pool, the same as text from another.
    c = build_city(session, world)
    officer = world.actor(session, "officer")
    base.add_item(
        session,
        officer,
        BaseKind.PERSON,
        name="从业人数",
        source_resource_code=c.market_res.code,
        source_item="从业人数",
    )
    other = publish(
        session,
        world,
        world.city_bureau,
        resource_input(
            "人口综合台账",
            [("公民身份号码", "C", 18), ("出生日期", "C", 10), ("从业人数", "C", 5)],
            key="公民身份号码",
        ),
    )
    pool, load = fill_pool(
        session,
        world.actor(session, "city"),
        other,
        [
            {"公民身份号码": K1, "出生日期": "1990-01-01", "从业人数": "3"},
            {"公民身份号码": K2, "出生日期": "1990-02-03", "从业人数": "12"},
        ],
    )
    base.rebuild_after_load(session, pool, load)
    got = {
        (x.subject_key, x.other_value)
        for x in _open_conflicts(session)
        if x.other_pool_id == pool.id
    }
    assert got == {(K2, "1990-02-03")}
    assert base_rows(session)[K2]["从业人数"] == ("12", c.market_load.id)


# --- conflicts -------------------------------------------------------------------------------


def test_conflicts_are_resolved_by_the_bureau_or_the_lead_department(
    session: Session, world: World
) -> None:  # Art. 20
    build_city(session, world)
    [conflict] = _open_conflicts(session)
    # The market (whose data disagrees) sees it but cannot close it; nor can auditors.
    market = world.actor(session, "officer2")
    assert [x.id for x in base.list_conflicts(session, market)] == [conflict.id]
    for who in ("officer2", "auditor"):
        with pytest.raises(PermissionDenied) as err:
            base.resolve_conflict(session, world.actor(session, who), conflict.id, "已通知")
        assert err.value.code == "aggregation.cannot_resolve_conflict"
    # A department with nothing to do with it does not even see it.
    yz = world.actor(session, "yz_officer")
    assert base.list_conflicts(session, yz) == []
    with pytest.raises(NotFound):
        base.resolve_conflict(session, yz, conflict.id, "已通知")
    city = world.actor(session, "city")
    with pytest.raises(InvalidInput) as empty:
        base.resolve_conflict(session, city, conflict.id, "  ")
    assert empty.value.code == "aggregation.conflict_note_required"
    done = base.resolve_conflict(session, city, conflict.id, "已通知市场监管局核对")
    assert done.status == ConflictStatus.RESOLVED.value and done.resolved_by is not None
    assert "aggregation.base.conflict.resolve" in _actions(session)
    with pytest.raises(Conflict):
        base.resolve_conflict(session, city, conflict.id, "再次")
    # Resolved stays resolved while the other source's data is the same…
    base.build(session, city, BaseKind.PERSON)
    assert _open_conflicts(session) == []
    # …and comes back when it loads the same disagreement again.
    pool = session.get(Pool, done.other_pool_id)
    assert pool is not None
    load = upsert(session, pool, [{"公民身份号码": K2, "姓名": "李四四"}])
    base.rebuild_after_load(session, pool, load)
    assert [(x.subject_key, x.other_load_id) for x in _open_conflicts(session)] == [(K2, load.id)]


def test_the_lead_department_resolves_its_base_conflicts(session: Session, world: World) -> None:
    build_city(session, world)
    [conflict] = _open_conflicts(session)
    officer = world.actor(session, "officer")
    assert base.describe_conflicts(session, officer, [conflict])[conflict.id].can_resolve
    base.resolve_conflict(session, officer, conflict.id, "以户籍登记为准")


# --- reading -------------------------------------------------------------------------------


def test_a_record_shows_each_value_with_its_provenance(session: Session, world: World) -> None:
    c = build_city(session, world)
    reader = world.actor(session, "officer2")  # any staff member (Art. 25(2))
    rec = base.record(session, reader, BaseKind.PERSON, f" {K2} ")
    assert rec.subject_key == K2 and rec.key_name == "公民身份号码"
    by_item = {v.item: v for v in rec.values}
    name = by_item["姓名"]
    assert name.value == "李四"
    assert name.provenance is not None
    assert name.provenance.department_name == "市公安局"
    assert name.provenance.resource_code == c.police_res.code
    assert name.provenance.load_id == c.police_load.id
    assert name.provenance.loaded_at == c.police_load.finished_at
    assert by_item["经营状态"].provenance is not None
    assert by_item["经营状态"].provenance.department_name == "市市场监督管理局"
    assert [x.other_value for x in rec.conflicts] == ["李四四"]
    assert _actions(session)[-1] == "aggregation.base.record.read"
    with pytest.raises(NotFound) as err:
        base.record(session, reader, BaseKind.PERSON, "500101199909090099")
    assert err.value.code == "aggregation.base_record_not_found"


@pytest.mark.parametrize("who", ["citizen", "company", "plain"])
def test_the_public_and_people_without_a_role_cannot_read_a_base(
    session: Session, world: World, who: str
) -> None:
    build_city(session, world)
    with pytest.raises(PermissionDenied) as err:
        base.record(session, world.actor(session, who), BaseKind.PERSON, K1)
    assert err.value.code == "aggregation.base_staff_only"


def test_a_system_token_reads_base_data_through_the_sharing_system_only(
    session: Session, world: World
) -> None:  # Art. 23
    build_city(session, world)
    token = Actor(
        person_id=None, name="系统", grants=world.actor(session, "officer").grants, token_id=9
    )
    with pytest.raises(PermissionDenied):
        base.record(session, token, BaseKind.PERSON, K1)


# --- quality ----------------------------------------------------------------------------------


def test_consistency_with_the_base(session: Session, world: World) -> None:  # Art. 20
    c = build_city(session, world)
    # The market's 姓名: K1 agrees, K2 does not, K4 has no authoritative name; 经营状态 is its
    # own (3 agree). 4 of 5 comparable pairs agree.
    assert base.consistency_with_base(session, c.market_pool) == pytest.approx(4 / 5)
    assert base.consistency_with_base(session, c.police_pool) == 1.0
    # Quality is measured right after a load, before the base follows it: a source's own
    # values still count as agreeing (they are the authoritative ones).
    changed = [r | {"姓名": r["姓名"] + "改"} for r in police_rows()]
    pool, _load = fill_pool(session, world.actor(session, "city"), c.police_res, changed)
    assert base.consistency_with_base(session, pool) == 1.0
    unrelated = publish(
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
    pool, _ = fill_pool(
        session,
        world.actor(session, "city"),
        unrelated,
        [{"统一社会信用代码": "91500000MA5U000001", "企业名称": "甲公司"}],
    )
    assert base.consistency_with_base(session, pool) is None


# --- changing the items ------------------------------------------------------------------------


def test_removing_an_item_drops_its_column_and_subjects_only_it_brought(
    session: Session, world: World
) -> None:
    build_city(session, world)
    officer = world.actor(session, "officer")
    base.remove_item(session, officer, BaseKind.PERSON, name="经营状态")
    rows = base_rows(session)
    assert sorted(rows) == [K1, K2, K3]  # K4 came from the market's 经营状态 only
    assert set(rows[K1]) == {"姓名", "出生日期"}
    with pytest.raises(NotFound):
        base.remove_item(session, officer, BaseKind.PERSON, name="经营状态")
    # The items' table follows: adding it back works and refills it.
    base.add_item(
        session,
        officer,
        BaseKind.PERSON,
        name="经营状态",
        source_resource_code=_market_code(session),
        source_item="经营状态",
    )
    assert sorted(base_rows(session)) == [K1, K2, K3, K4]


def _market_code(session: Session) -> str:
    from govdata.catalog.models import Resource

    return session.scalars(select(Resource.code).where(Resource.name == "个体经营者信息")).one()


def test_a_load_of_an_unrelated_pool_touches_no_base(session: Session, world: World) -> None:
    c = build_city(session, world)
    other = publish(
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
    pool, load = fill_pool(
        session,
        world.actor(session, "city"),
        other,
        [{"统一社会信用代码": "91500000MA5U000001", "企业名称": "甲公司"}],
    )
    assert base.rebuild_after_load(session, pool, load) == []
    # Nor does a load of a source whose pool has no data table yet.
    empty = new_load(session, c.police_pool, LoadMode.REPLACE)
    c.police_pool.table_name = None
    assert base.rebuild_after_load(session, c.police_pool, empty) == []


# --- with the real load pipeline -------------------------------------------------------------


def test_the_load_pipeline_keeps_the_base_up_to_date(
    session: Session, world: World, tmp_path: Path, test_sessionmaker: sessionmaker[Session]
) -> None:  # Art. 18
    """A CSV loaded in full, then incrementally, through ``loading`` and ``tasks.after_load``:
    typed values arrive as canonical text and only the upserted subjects change."""
    items = [("姓名", "C", 10), ("出生日期", "D", None), ("子女数", "I", None), ("在册", "L", None)]
    resource = person_pool_resource(session, world, world.police, "户籍人口（管道）", items)
    city, officer = world.actor(session, "city"), world.actor(session, "officer")
    base.define_base(session, city, BaseKind.PERSON, lead_department_id=world.police)
    for name, *_ in items:
        base.add_item(
            session,
            officer,
            BaseKind.PERSON,
            name=name,
            source_resource_code=resource.code,
            source_item=name,
        )
    a, b, c = (make_id_number("500103", date(1990, 1, n), n) for n in (1, 2, 3))

    def load(text: str, mode: LoadMode) -> int:
        path = tmp_path / f"{mode.value}.csv"
        path.write_text(text, encoding="utf-8")
        created = loading.create_load(
            session,
            officer,
            resource_code=resource.code,
            path=path,
            filename=path.name,
            policy=BadRowPolicy.REJECT_FILE,
            mode=mode,
        )
        session.commit()
        done = loading.execute(session, created.id)
        assert done.status == "succeeded", done.error_message
        tasks.after_load(test_sessionmaker, done.id)
        return done.id

    header = "公民身份号码,姓名,出生日期,子女数,在册\n"
    first = load(header + f"{a},张三,1990-01-01,2,是\n{b},李四,1990-01-02,0,否\n", LoadMode.REPLACE)
    session.expire_all()
    rows = base_rows(session)
    assert rows[a] == {
        "姓名": ("张三", first),
        "出生日期": ("1990-01-01", first),
        "子女数": ("2", first),
        "在册": ("true", first),
    }
    assert rows[b]["在册"] == ("false", first)
    second = load(header + f"{b},李四,1990-01-02,1,是\n{c},王五,,3,是\n", LoadMode.UPSERT)
    session.expire_all()
    rows = base_rows(session)
    assert rows[a]["子女数"] == ("2", first)  # untouched by the incremental load
    assert rows[b]["子女数"] == ("1", second)
    assert rows[c]["出生日期"] == (None, None) and rows[c]["姓名"] == ("王五", second)


def test_a_geospatial_base_keeps_geometry_as_geojson_text(session: Session, world: World) -> None:
    """The natural-resources and geospatial base, keyed by 要素代码: the geometry is GeoJSON,
    carried as text, unchanged."""
    geometry = '{"type":"Point","coordinates":[106.55,29.56]}'
    res = publish(
        session,
        world,
        world.city_bureau,
        resource_input(
            "地理要素目录",
            [("要素代码", "C", 32), ("要素名称", "C", 100), ("几何", "M", None)],
            key="要素代码",
            subject_kind="other",
        ),
    )
    city = world.actor(session, "city")
    pool, load = fill_pool(
        session, city, res, [{"要素代码": "GEO-0001", "要素名称": "解放碑", "几何": geometry}]
    )
    base.define_base(session, city, BaseKind.GEO, lead_department_id=world.city_bureau)
    for name in ("要素名称", "几何"):
        base.add_item(
            session, city, BaseKind.GEO, name=name, source_resource_code=res.code, source_item=name
        )
    rec = base.record(session, world.actor(session, "officer"), BaseKind.GEO, "GEO-0001")
    assert [(v.item, v.value) for v in rec.values] == [("要素名称", "解放碑"), ("几何", geometry)]
    assert rec.key_name == "要素代码" and rec.values[1].provenance is not None
    assert rec.values[1].provenance.load_id == load.id
    # A person resource does not fit the geospatial base.
    with pytest.raises(InvalidInput) as err:
        base.add_item(
            session,
            city,
            BaseKind.GEO,
            name="姓名",
            source_resource_code=person_pool_resource(
                session, world, world.police, "人口", [("姓名", "C", 10)]
            ).code,
            source_item="姓名",
        )
    assert err.value.code == "aggregation.base_key_mismatch"
    assert pool.subject_column == "c1"
