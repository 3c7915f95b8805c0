"""Quality at the service level (Art. 20): each measure on known data, timeliness at every
cycle's boundary (Art. 13, 16, 18), department and city views, and who may read them — tested
from the refused side."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import loading, policy, quality
from govdata.aggregation.models import BadRowPolicy, QualitySnapshot
from govdata.catalog.vocab import UpdateCycle
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.audit import AuditEvent
from govdata.core.errors import NotFound, PermissionDenied
from govdata.core.ids import make_id_number
from tests.aggregation.factories import publish, published_form, resource_input
from tests.aggregation.quality_helpers import (
    beijing,
    fake_base,
    loaded,
    person_input,
    publish_many,
)
from tests.world import World

TODAY = date(2026, 6, 15)


def pid(n: int) -> str:
    return make_id_number("500103", date(1990, 1, 1 + n % 28), n)


def person(n: int, **values: Any) -> dict[str, Any]:
    return {"公民身份号码": pid(n), **values}


@pytest.fixture
def agreement(monkeypatch: pytest.MonkeyPatch) -> dict[str, float | None]:
    return fake_base(monkeypatch)


# --- the measures (Art. 20) -------------------------------------------------------------------


def test_completeness_counts_null_and_blank_text_as_empty(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("完整性测试")])
    rows = [
        person(1, 姓名="张三", 出生日期=date(1990, 1, 1), 备注=None),
        person(2, 姓名="李四", 出生日期=None, 备注=""),
        person(3, 姓名="  ", 出生日期=date(1991, 2, 3), 备注=None),  # blank text is empty
        person(4, 姓名="王五", 出生日期=None, 备注=None),
    ]
    _, _, snap = loaded(session, world, resource, rows)
    assert snap is not None
    # 4 IDs + 3 names + 2 birth dates + 0 remarks = 9 of 16 cells.
    assert snap.completeness == pytest.approx(9 / 16)
    assert snap.details["items"] == {
        "公民身份号码": 1.0,
        "姓名": 0.75,
        "出生日期": 0.5,
        "备注": 0.0,
    }
    assert snap.rows == 4 and snap.details["rows"] == 4


def test_validity_and_uniqueness_come_from_the_load_counts(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("有效性测试")])
    rows = [person(i, 姓名=f"人{i}", 出生日期=date(1990, 1, 1), 备注="有") for i in range(7)]
    # The file: 10 data rows, 2 bad, 8 good of which 1 repeats a subject key.
    _, load, snap = loaded(session, world, resource, rows, read=10, bad=2, duplicates=1)
    assert snap is not None
    assert snap.validity == pytest.approx(8 / 10)  # good rows / rows read
    assert snap.uniqueness == pytest.approx(7 / 8)  # distinct keys / rows before de-duplication
    assert snap.completeness == 1.0
    assert snap.load_id == load.id and snap.department_id == world.police
    assert snap.details["rows_read"] == 10 and snap.details["rows_bad"] == 2
    assert snap.details["duplicates_removed"] == 1
    # The load carries a compact copy of its measures.
    assert load.quality == {
        "snapshot_id": snap.id,
        "rows": 7,
        "completeness": 1.0,
        "validity": 0.8,
        "uniqueness": 0.875,
        "consistency": None,
    }


def test_consistency_is_what_the_base_databases_answer(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("一致性测试")])
    agreement["value"] = 0.9
    _, load, snap = loaded(session, world, resource, [person(1, 姓名="张三")])
    assert snap is not None and snap.consistency == pytest.approx(0.9)
    assert snap.details["consistency_basis"] == "base"
    assert load.quality["consistency"] == 0.9
    agreement["value"] = None  # no base database takes this pool's items
    _, _, snap = loaded(session, world, resource, [person(1, 姓名="张三")])
    assert snap is not None and snap.consistency is None
    assert snap.details["consistency_basis"] == "none"


def test_consistency_with_real_base_databases(session: Session, world: World) -> None:
    """Wired to base.consistency_with_base (not replaced): the market's 姓名 disagrees with the
    police's, the authoritative source, for one of its people (Art. 16 一数一源)."""
    from tests.aggregation.base_helpers import build_city

    c = build_city(session, world)
    snap = quality.measure(session, c.market_pool, c.market_load)
    assert snap.consistency == pytest.approx(4 / 5)
    assert c.market_load.quality["consistency"] == 0.8
    dq = quality.department_quality(session, world.actor(session, "officer2"), world.market)
    assert dq.summary.averages.consistency == pytest.approx(4 / 5)


def test_a_pool_without_subject_key_counts_distinct_whole_rows(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    data = resource_input(
        "无主体标识测试", [("地名", "C", 20), ("面积", "N", None)], subject_kind="other"
    )
    (resource,) = publish_many(session, world, world.police, [data])
    rows = [
        {"地名": "解放碑", "面积": 10},
        {"地名": "解放碑", "面积": 10},  # the same record again
        {"地名": "朝天门", "面积": 12},
        {"地名": "朝天门", "面积": None},
    ]
    pool, _, snap = loaded(session, world, resource, rows)
    assert pool.subject_column is None
    assert snap is not None
    assert snap.uniqueness == pytest.approx(3 / 4)
    assert snap.details["uniqueness_basis"] == "rows" and snap.details["distinct_rows"] == 3
    assert snap.completeness == pytest.approx(7 / 8)


def test_an_empty_load_has_nothing_filled_and_nothing_invalid(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("空数据测试")])
    _, _, snap = loaded(session, world, resource, [], read=0)
    assert snap is not None
    assert (snap.rows, snap.completeness, snap.validity, snap.uniqueness) == (0, 0.0, 1.0, 1.0)
    assert snap.details["items"]["姓名"] == 0.0


def test_measuring_without_a_load_carries_validity_and_uniqueness(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("重新评估测试")])
    pool, _, _ = loaded(session, world, resource, [person(1, 姓名="张三")], measure=False)
    # Nothing measured before: the defaults.
    snap = quality.measure(session, pool, None)
    assert (snap.validity, snap.uniqueness, snap.load_id) == (1.0, 1.0, None)
    assert snap.details["validity_basis"] == "default"
    pool, load, first = loaded(
        session, world, resource, [person(1, 姓名="张三")], read=5, bad=3, duplicates=1
    )
    assert first is not None and first.validity == pytest.approx(2 / 5)
    agreement["value"] = 0.5  # a base database was rebuilt since
    again = quality.measure(session, pool, None)
    assert again.validity == first.validity and again.uniqueness == first.uniqueness
    assert again.details["validity_basis"] == "carried"
    assert again.consistency == 0.5 and again.load_id is None
    assert load.quality["snapshot_id"] == first.id  # a re-measurement leaves the load alone


def test_the_load_pipeline_measures_what_it_installed(
    session: Session, world: World, tmp_path: Path, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("流水线质量测试")])
    lines = ["公民身份号码,姓名,出生日期,备注"]
    lines += [f"{pid(1)},张三,1990-01-01,", f"{pid(2)},李四,,备注"]
    lines += [f"{pid(2)},李四,,备注"]  # a duplicate subject key
    lines += [f"{pid(3)},王五,1990-13-45,"]  # a bad date
    path = tmp_path / "people.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    actor = world.actor(session, "officer")
    load = loading.create_load(
        session,
        actor,
        resource_code=resource.code,
        path=path,
        filename=path.name,
        policy=BadRowPolicy.QUARANTINE,
    )
    session.commit()
    load = loading.execute(session, load.id)
    snap = session.scalar(select(QualitySnapshot).where(QualitySnapshot.load_id == load.id))
    assert snap is not None
    assert (load.rows_read, load.rows_bad, load.duplicates_removed) == (4, 1, 1)
    assert snap.validity == pytest.approx(3 / 4)
    assert snap.uniqueness == pytest.approx(2 / 3)
    assert snap.rows == 2 and snap.completeness == pytest.approx(6 / 8)
    assert load.quality["snapshot_id"] == snap.id


def test_trend_is_oldest_first_and_limited(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("趋势测试")])
    snaps = []
    for n in range(4):
        rows = [person(i, 姓名="有" if i < n else None) for i in range(4)]
        pool, _, snap = loaded(session, world, resource, rows)
        snaps.append(snap)
    officer = world.actor(session, "officer")
    assert [s.id for s in quality.trend(session, officer, pool.id)] == [s.id for s in snaps if s]
    last_two = quality.trend(session, officer, pool.id, limit=2)
    assert [s.id for s in last_two] == [snaps[2].id, snaps[3].id]  # type: ignore[union-attr]
    assert [s.details["items"]["姓名"] for s in last_two] == [0.5, 0.75]


# --- timeliness (Art. 13, 16, 18) ----------------------------------------------------------------


CYCLES = [c for c in UpdateCycle if c.max_days is not None]


def test_timeliness_at_each_cycle_boundary(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    """Loaded exactly max_days ago is on time (the due day itself); one day more is late."""
    inputs = [person_input(f"时效{c.value}", update_cycle=c.value) for c in CYCLES]
    resources = publish_many(session, world, world.police, inputs)
    loaded_on = {}
    for cycle, resource in zip(CYCLES, resources, strict=True):
        assert cycle.max_days is not None
        loaded_on[resource.code] = TODAY - timedelta(days=cycle.max_days)
        loaded(session, world, resource, [person(1)], at=beijing(loaded_on[resource.code]))
    officer = world.actor(session, "officer")

    on_due_day = {t.code: t for t in quality.timeliness(session, officer, today=TODAY)}
    day_after = {
        t.code: t for t in quality.timeliness(session, officer, today=TODAY + timedelta(days=1))
    }
    for cycle, resource in zip(CYCLES, resources, strict=True):
        t = on_due_day[resource.code]
        assert t.due_on == TODAY, cycle
        assert (t.late, t.status, t.status_label, t.days_overdue) == (
            False,
            "on_time",
            "按期",
            None,
        ), cycle
        late = day_after[resource.code]
        assert (late.late, late.status_label, late.days_overdue) == (True, "已超期", 1), cycle
        assert late.max_days == cycle.max_days and late.update_cycle == cycle.value


def test_never_loaded_is_late_and_irregular_is_never_late(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    never, irregular, irregular_never = publish_many(
        session,
        world,
        world.police,
        [
            person_input("从未汇聚", update_cycle="daily"),
            person_input("不定期", update_cycle="irregular"),
            person_input("不定期未汇聚", update_cycle="irregular"),
        ],
    )
    loaded(session, world, irregular, [person(1)], at=beijing(date(2020, 1, 1)))
    rows = {
        t.code: t for t in quality.timeliness(session, world.actor(session, "officer"), today=TODAY)
    }
    t = rows[never.code]
    assert (t.late, t.status_label, t.loaded_at, t.due_on, t.pool_id) == (
        True,
        "未汇聚",
        None,
        None,
        None,
    )
    t = rows[irregular.code]
    assert (t.late, t.status, t.status_label, t.due_on) == (False, "irregular", "不定期更新", None)
    assert t.max_days is None and t.pool_id is not None
    t = rows[irregular_never.code]
    assert (t.late, t.status_label) == (False, "未汇聚")


def test_timeliness_counts_beijing_dates(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    """Loaded at 00:30 Beijing time (16:30 UTC the day before) counts from the Beijing date."""
    (resource,) = publish_many(
        session, world, world.police, [person_input("北京时间", update_cycle="daily")]
    )
    loaded(session, world, resource, [person(1)], at=beijing(date(2026, 6, 14), hour=0))
    officer = world.actor(session, "officer")
    (t,) = quality.timeliness(session, officer, today=date(2026, 6, 15))
    assert t.due_on == date(2026, 6, 15) and not t.late
    (t,) = quality.timeliness(session, officer, today=date(2026, 6, 16))
    assert t.late


def test_timeliness_follows_the_current_catalog_and_the_scope(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    (police_res,) = publish_many(session, world, world.police, [person_input("公安资源")])
    (market_res,) = publish_many(session, world, world.market, [person_input("市场资源")])
    (yz_res,) = publish_many(session, world, world.yz_police, [person_input("渝中资源")])
    codes = lambda rows: {t.code for t in rows}  # noqa: E731
    city = world.actor(session, "city")
    assert codes(quality.timeliness(session, city, today=TODAY)) == {
        police_res.code,
        market_res.code,
        yz_res.code,
    }
    assert codes(quality.timeliness(session, world.actor(session, "auditor"), today=TODAY)) == {
        police_res.code,
        market_res.code,
        yz_res.code,
    }
    officer = world.actor(session, "officer")
    assert codes(quality.timeliness(session, officer, today=TODAY)) == {police_res.code}
    assert codes(quality.timeliness(session, world.actor(session, "yz_admin"))) == {yz_res.code}
    assert codes(quality.timeliness(session, city, department_id=world.market, today=TODAY)) == {
        market_res.code
    }
    # Another department's list: not found, as if it did not exist.
    with pytest.raises(NotFound):
        quality.timeliness(session, officer, department_id=world.market)
    with pytest.raises(NotFound):
        quality.timeliness(session, world.actor(session, "yz_admin"), department_id=world.police)


# --- department and city views --------------------------------------------------------------


def _two_police_pools(session: Session, world: World) -> tuple[Any, Any, Any]:
    a, b, never = publish_many(
        session,
        world,
        world.police,
        [
            person_input("人口甲", update_cycle="monthly"),
            person_input("人口乙", update_cycle="daily"),
            person_input("人口丙", update_cycle="weekly"),
        ],
    )
    full = [person(i, 姓名="有", 出生日期=date(1990, 1, 1), 备注="有") for i in range(4)]
    loaded(session, world, a, full, at=beijing(TODAY - timedelta(days=3)), read=5, bad=1)
    half = [person(i, 姓名="有", 出生日期=None, 备注=None) for i in range(4)]
    loaded(session, world, b, half, at=beijing(TODAY - timedelta(days=3)))  # daily: late
    return a, b, never


def test_department_quality_means_and_late_counts(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    _two_police_pools(session, world)
    dq = quality.department_quality(
        session, world.actor(session, "head"), world.police, today=TODAY
    )
    s = dq.summary
    assert (s.name, s.responsible, s.loaded, s.late, s.never_loaded, s.measured) == (
        "市公安局",
        3,
        2,
        2,  # 人口乙 is 3 days old on a daily cycle; 人口丙 was never loaded
        1,
        2,
    )
    assert s.averages.completeness == pytest.approx((1.0 + 0.5) / 2)
    assert s.averages.validity == pytest.approx((0.8 + 1.0) / 2)
    assert s.averages.consistency is None
    assert [p.name for p in dq.pools] == ["人口甲", "人口乙"]
    assert {t.name: t.status_label for t in dq.timeliness} == {
        "人口甲": "按期",
        "人口乙": "已超期",
        "人口丙": "未汇聚",
    }
    (point,) = dq.trend
    assert point.snapshots == 2 and point.metrics.completeness == pytest.approx(0.75)
    assert dq.version_number is not None


def test_a_department_mean_uses_each_pool_latest_measure_only(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("多次加载")])
    loaded(session, world, resource, [person(1, 姓名=None)])
    loaded(session, world, resource, [person(1, 姓名="张三", 出生日期=date(1990, 1, 1), 备注="有")])
    dq = quality.department_quality(session, world.actor(session, "officer"), world.police)
    assert dq.summary.averages.completeness == 1.0
    assert dq.pools[0].metrics.completeness == 1.0 and dq.summary.measured == 1


def test_city_quality_per_department_worst_pools_and_late_resources(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    _two_police_pools(session, world)
    (market_res,) = publish_many(session, world, world.market, [person_input("市场主体")])
    agreement["value"] = 0.2
    loaded(session, world, market_res, [person(1, 姓名="有")], user="officer2", at=beijing(TODAY))
    cq = quality.city_quality(session, world.actor(session, "city"), today=TODAY)
    assert cq.scope == "全市"
    by_name = {d.name: d for d in cq.departments}
    assert set(by_name) == {"市公安局", "市市场监督管理局"}
    assert (by_name["市公安局"].late, by_name["市市场监督管理局"].late) == (2, 0)
    assert (cq.responsible, cq.loaded, cq.late_total) == (4, 3, 2)
    assert {t.name for t in cq.late} == {"人口乙", "人口丙"}
    # Worst first: the market pool (consistency 20%) scores below the police pools.
    assert [p.name for p in cq.worst_pools] == ["市场主体", "人口乙", "人口甲"]
    assert cq.averages.consistency == pytest.approx(0.2)  # only the pool that has one


def test_a_district_bureau_oversees_its_region_only(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    _two_police_pools(session, world)
    (yz_res,) = publish_many(session, world, world.yz_police, [person_input("渝中人口")])
    loaded(session, world, yz_res, [person(1)], user="yz_officer", at=beijing(TODAY))
    yz_admin = world.actor(session, "yz_admin")
    cq = quality.city_quality(session, yz_admin, today=TODAY)
    assert cq.scope == "渝中区"
    assert [d.name for d in cq.departments] == ["渝中区公安分局"]
    assert [p.name for p in cq.worst_pools] == ["渝中人口"] and cq.late == []
    dq = quality.department_quality(session, yz_admin, world.yz_police)
    assert dq.summary.loaded == 1
    with pytest.raises(NotFound):
        quality.department_quality(session, yz_admin, world.police)


# --- who may read and measure (refused side) ----------------------------------------------------


def test_other_departments_are_not_found(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("公安人口")])
    pool, _, _ = loaded(session, world, resource, [person(1)])
    market = world.actor(session, "officer2")
    with pytest.raises(NotFound):
        quality.department_quality(session, market, world.police)
    with pytest.raises(NotFound):
        quality.trend(session, market, pool.id)
    with pytest.raises(NotFound):
        quality.remeasure(session, market, pool.id)
    with pytest.raises(NotFound):
        quality.department_quality(session, world.actor(session, "yz_officer"), world.police)


@pytest.mark.parametrize("username", ["citizen", "company", "plain"])
def test_the_public_and_people_without_a_role_are_refused(
    session: Session, world: World, username: str, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("公安人口")])
    pool, _, _ = loaded(session, world, resource, [person(1)])
    actor = world.actor(session, username)
    for call in (
        lambda: quality.department_quality(session, actor, world.police),
        lambda: quality.city_quality(session, actor),
        lambda: quality.timeliness(session, actor),
        lambda: quality.trend(session, actor, pool.id),
        lambda: quality.remeasure(session, actor, pool.id),
    ):
        with pytest.raises(PermissionDenied) as exc:
            call()
        assert exc.value.code == "aggregation.quality_forbidden"


def test_a_department_system_token_is_refused(session: Session, world: World) -> None:
    token = Actor(
        person_id=None,
        name="公安业务系统",
        grants=(RoleGrant(Role.DEPARTMENT_SYSTEM, department_id=world.police),),
        token_id=1,
        scopes=frozenset({"pool:write", "catalog:read"}),
    )
    with pytest.raises(PermissionDenied):
        quality.department_quality(session, token, world.police)


@pytest.mark.parametrize("username", ["officer", "head"])
def test_the_overview_is_for_supervisors(session: Session, world: World, username: str) -> None:
    with pytest.raises(PermissionDenied) as exc:
        quality.city_quality(session, world.actor(session, username))
    assert exc.value.code == "aggregation.quality_overview_forbidden"
    assert policy.quality_home_department(world.actor(session, username)) == world.police


def test_auditors_read_everything_but_do_not_measure(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("公安人口")])
    pool, _, _ = loaded(session, world, resource, [person(1)])
    auditor = world.actor(session, "auditor")
    assert quality.city_quality(session, auditor).departments[0].name == "市公安局"
    assert len(quality.trend(session, auditor, pool.id)) == 1
    with pytest.raises(PermissionDenied) as exc:
        quality.remeasure(session, auditor, pool.id)
    assert exc.value.code == "aggregation.cannot_measure"


@pytest.mark.parametrize("username", ["head", "yz_admin"])
def test_only_the_bureau_and_the_department_officers_measure_again(
    session: Session, world: World, username: str, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.yz_police, [person_input("渝中人口")])
    pool, _, _ = loaded(session, world, resource, [person(1)], user="yz_officer")
    actor = world.actor(session, username)
    with pytest.raises((PermissionDenied, NotFound)):
        quality.remeasure(session, actor, pool.id)


def test_remeasure_records_a_snapshot_and_an_audit_event(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:
    (resource,) = publish_many(session, world, world.police, [person_input("公安人口")])
    pool, _, _ = loaded(session, world, resource, [person(1)], read=2, bad=1)
    for username in ("officer", "city"):
        agreement["value"] = 0.75
        snap = quality.remeasure(session, world.actor(session, username), pool.id)
        assert snap.consistency == 0.75 and snap.validity == 0.5 and snap.load_id is None
        event = session.scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "aggregation.quality.measure")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
        assert event is not None and event.object_id == str(pool.id)
        assert event.department_id == world.police and "重新评估" in event.summary


def test_remeasure_needs_loaded_data(session: Session, world: World) -> None:
    from govdata.aggregation import pools

    resource = publish(session, world, world.police, person_input("未加载"))
    pool = pools.ensure_pool(session, published_form(session, resource))
    with pytest.raises(NotFound) as exc:
        quality.remeasure(session, world.actor(session, "officer"), pool.id)
    assert exc.value.code == "aggregation.pool_not_loaded"


def test_timeliness_labels_cycles_by_the_bureaus_current_list(
    session: Session, world: World, agreement: dict[str, float | None]
) -> None:  # Art. 13: the responsibility list in the words the city bureau keeps
    from govdata.catalog import vocabularies
    from govdata.catalog.vocabularies import UPDATE_CYCLE, EntryIn

    (resource,) = publish_many(
        session, world, world.police, [person_input("改名周期", update_cycle="daily")]
    )
    officer = world.actor(session, "officer")
    (before,) = [
        t for t in quality.timeliness(session, officer, today=TODAY) if t.code == resource.code
    ]
    assert before.cycle_label == "每日"
    renamed = [EntryIn(c.value, "每天" if c.value == "daily" else c.label) for c in UpdateCycle]
    vocabularies.publish(session, world.actor(session, "city"), UPDATE_CYCLE, renamed, {})
    (after,) = [
        t for t in quality.timeliness(session, officer, today=TODAY) if t.code == resource.code
    ]
    assert after.cycle_label == "每天" and after.update_cycle == "daily"
