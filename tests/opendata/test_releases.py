"""Releases (Art. 31 ¶2): built from the open city's pool by the provider's rules, scanned,
published, superseded, rebuilt when the pool changes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from govdata.core.audit import AuditEvent
from govdata.core.errors import InvalidInput, PermissionDenied
from govdata.core.ids import make_id_number
from govdata.opendata import releases, store
from govdata.opendata.errors import ReleaseState
from govdata.opendata.models import OpenDataset, Release, ReleaseStatus
from tests.aggregation.base_helpers import K1, K2, upsert
from tests.opendata.helpers import OpenCity, build_open_city
from tests.world import World


def rows_of(session: Session, release: Release) -> list[dict[str, object]]:
    return store.read_page(session, release, limit=1000).rows


@pytest.fixture
def oc(session: Session, world: World) -> OpenCity:
    return build_open_city(session, world)


def test_build_by_defaults_masks_the_key_and_names(
    session: Session, world: World, oc: OpenCity
) -> None:
    officer = world.actor(session, "officer")
    release = releases.build(session, officer, oc.person.code)
    assert release.status == ReleaseStatus.READY.value, release.scan
    assert release.version == 1 and release.row_count == 3
    assert release.pool_load_id == oc.city.police_pool.current_load_id
    assert [c["name"] for c in release.columns] == ["公民身份号码", "姓名"]
    rows = rows_of(session, release)
    assert {r["公民身份号码"] for r in rows} == {
        K1[:3] + "*" * 11 + K1[-4:],
        K2[:3] + "*" * 11 + K2[-4:],
        "500***********0033",
    }
    assert {r["姓名"] for r in rows} == {"张*", "李*", "王*"}
    # Masked originals never reach the table.
    flat = " ".join(str(v) for r in rows for v in r.values())
    assert K1 not in flat and "张三" not in flat


def test_items_not_open_and_dropped_items_are_absent_from_the_table(
    session: Session, world: World, oc: OpenCity
) -> None:
    officer = world.actor(session, "officer")
    releases.set_rules(session, officer, oc.person.code, [{"item": "姓名", "method": "drop"}])
    release = releases.build(session, officer, oc.person.code)
    table = store.table_of(release)
    cols = {c["name"] for c in inspect(session.connection()).get_columns(table.name)}
    assert cols == {"_row", "c0"}  # 公民身份号码 only: 姓名 dropped, 出生日期 not open (Art. 30)
    assert [c["name"] for c in release.columns] == ["公民身份号码"]
    assert "张三" not in str(rows_of(session, release))


def test_a_rule_on_an_item_not_open_is_refused_and_nothing_written(
    session: Session, world: World, oc: OpenCity
) -> None:
    officer = world.actor(session, "officer")
    with pytest.raises(InvalidInput) as exc:
        releases.set_rules(
            session,
            officer,
            oc.person.code,
            [{"item": "姓名", "method": "keep"}, {"item": "出生日期", "method": "keep"}],
        )
    assert exc.value.code == "opendata.rule_item" and "出生日期" in exc.value.message
    assert all(v.default for v in releases.rules_view(session, officer, oc.person.code))


def test_pseudonymize_and_generalize_rules(session: Session, world: World, oc: OpenCity) -> None:
    officer = world.actor(session, "officer")
    releases.set_rules(
        session,
        officer,
        oc.person.code,
        [
            {"item": "公民身份号码", "method": "pseudonymize"},
            {"item": "姓名", "method": "mask", "params": {"keep_first": 0, "keep_last": 1}},
        ],
    )
    release = releases.build(session, officer, oc.person.code)
    rows = rows_of(session, release)
    assert all(len(str(r["公民身份号码"])) == 64 for r in rows)
    assert {r["姓名"] for r in rows} == {"*三", "*四", "*五"}
    events = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(oc.person.id))
    ).all()
    assert "opendata.rules_set" in events


def test_a_failing_scan_blocks_publishing(session: Session, world: World, oc: OpenCity) -> None:
    officer = world.actor(session, "officer")
    real_id = make_id_number("500103", date(1985, 6, 1), 7)
    upsert(session, oc.city.police_pool, [{"公民身份号码": real_id, "姓名": "陈七"}])
    releases.set_rules(
        session, officer, oc.person.code, [{"item": "公民身份号码", "method": "keep"}]
    )
    release = releases.build(session, officer, oc.person.code)
    assert release.status == ReleaseStatus.BLOCKED.value
    assert release.scan is not None and not release.scan["passed"]
    finding = release.scan["findings"][0]
    assert (finding["kind"], finding["column"], finding["count"]) == (
        "id_number",
        "公民身份号码",
        1,
    )
    assert real_id not in str(release.scan)  # the report never holds the raw value
    with pytest.raises(ReleaseState):
        releases.publish(session, officer, oc.person.code, release.id)
    assert session.get(OpenDataset, oc.person.id).current_release_id is None  # type: ignore[union-attr]


def test_k_anonymity_declared_blocks(session: Session, world: World, oc: OpenCity) -> None:
    officer = world.actor(session, "officer")
    releases.set_rules(
        session,
        officer,
        oc.person.code,
        [
            {
                "item": "姓名",
                "method": "mask",
                "params": {"keep_first": 1, "keep_last": 0},
                "quasi_identifier": True,
            }
        ],
    )
    release = releases.build(session, officer, oc.person.code)
    assert release.status == ReleaseStatus.BLOCKED.value
    assert release.scan["k_anonymity"]["small_classes"] == 3  # type: ignore[index]


def test_publish_then_a_new_version_supersedes(
    session: Session, world: World, oc: OpenCity
) -> None:
    officer, head = world.actor(session, "officer"), world.actor(session, "head")
    first = releases.build(session, officer, oc.person.code)
    releases.publish(session, officer, oc.person.code, first.id)
    dataset = session.get(OpenDataset, oc.person.id)
    assert dataset is not None and dataset.current_release_id == first.id
    with pytest.raises(ReleaseState):
        releases.publish(session, officer, oc.person.code, first.id)  # already published
    second = releases.build(session, head, oc.person.code)
    assert second.version == 2
    releases.publish(session, head, oc.person.code, second.id)
    assert first.status == ReleaseStatus.SUPERSEDED.value
    assert second.status == ReleaseStatus.PUBLISHED.value and second.published_by == head.person_id
    assert dataset.current_release_id == second.id
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.action == "opendata.release_published")
    ).all()
    assert len(actions) == 2
    assert [r.version for r in releases.list_releases(session, head, oc.person.code)] == [2, 1]


def test_only_the_provider_or_the_bureau_manages(
    session: Session, world: World, oc: OpenCity
) -> None:
    # Art. 29, 31: the providing department (市公安局) or the city bureau.
    for name in ("officer2", "citizen", "yz_officer", "plain"):
        with pytest.raises(PermissionDenied):
            releases.build(session, world.actor(session, name), oc.person.code)
        with pytest.raises(PermissionDenied):
            releases.set_rules(session, world.actor(session, name), oc.person.code, [])
    assert session.scalar(select(func.count()).select_from(Release)) == 0
    bureau = releases.build(session, world.actor(session, "city"), oc.person.code)
    assert bureau.status == ReleaseStatus.READY.value


def test_a_second_build_waits_for_the_running_one(
    session: Session, world: World, oc: OpenCity
) -> None:
    officer = world.actor(session, "officer")
    releases.request_build(session, officer, oc.person.code)
    with pytest.raises(ReleaseState):
        releases.request_build(session, officer, oc.person.code)


def test_rebuild_when_the_pool_changes(session: Session, world: World, oc: OpenCity) -> None:
    officer = world.actor(session, "officer")
    first = releases.build(session, officer, oc.person.code)
    assert releases.due_for_rebuild(session) == []
    load = upsert(
        session, oc.city.police_pool, [{"公民身份号码": "500101199005050055", "姓名": "孙八"}]
    )
    due = releases.due_for_rebuild(session)
    assert [(d.code, reason) for d, reason in due] == [(oc.person.code, "pool_changed")]
    new = releases.create_release(session, due[0][0], reason="pool_changed", built_by=None)
    built = releases.execute_build(session, new.id)
    assert built.status == ReleaseStatus.READY.value and built.pool_load_id == load.id
    assert built.row_count == first.row_count + 1 and built.version == 2
    assert releases.due_for_rebuild(session) == []


def test_aggregate_release_is_counts(session: Session, world: World, oc: OpenCity) -> None:
    officer2 = world.actor(session, "officer2")
    releases.set_rules(
        session,
        officer2,
        oc.market.code,
        [{"item": "经营状态", "method": "aggregate"}],
    )
    release = releases.build(session, officer2, oc.market.code)
    assert [c["name"] for c in release.columns] == ["经营状态", "数量"]
    rows = {r["经营状态"]: r["数量"] for r in rows_of(session, release)}
    assert rows == {"存续": 2, "注销": 1}
    # Cells under k are small classes: the scan blocks such a release (Art. 9).
    assert release.status == ReleaseStatus.BLOCKED.value


def test_no_pool_data_is_refused(session: Session, world: World, oc: OpenCity) -> None:
    officer = world.actor(session, "officer")
    oc.city.police_pool.table_name = None
    session.flush()
    with pytest.raises(InvalidInput) as exc:
        releases.build(session, officer, oc.person.code)
    assert exc.value.code == "opendata.no_pool"
    assert session.scalar(select(func.count()).select_from(Release)) == 0


def test_demo_releases_publishes_each_dataset_with_a_pool_once(
    session: Session, world: World, oc: OpenCity
) -> None:
    from govdata.opendata.demo.releases import demo_releases

    assert demo_releases(session) == 2
    for ds in (oc.person, oc.market):
        session.refresh(ds)
        assert ds.current_release_id is not None
    assert demo_releases(session) == 0  # already published: left alone
    assert session.scalar(select(func.count()).select_from(Release)) == 2


def test_a_build_that_fails_keeps_no_table(
    session: Session, world: World, oc: OpenCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    from govdata.opendata import build

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(build, "run", broken)
    release = releases.build(session, world.actor(session, "officer"), oc.person.code)
    assert release.status == ReleaseStatus.FAILED.value
    assert release.table_name is None and "RuntimeError" in release.error
    assert not inspect(session.connection()).has_table(store.release_table_name(release.id))
    with pytest.raises(ReleaseState):
        releases.publish(session, world.actor(session, "officer"), oc.person.code, release.id)


def test_the_periodic_job_builds_a_new_version_after_a_load(
    session: Session, world: World, oc: OpenCity, test_sessionmaker: object
) -> None:
    from govdata.opendata import tasks

    officer = world.actor(session, "officer")
    first = releases.build(session, officer, oc.person.code)
    releases.publish(session, officer, oc.person.code, first.id)
    upsert(session, oc.city.police_pool, [{"公民身份号码": "500101199005050055", "姓名": "孙八"}])
    session.commit()
    tasks.rebuild_releases_job(test_sessionmaker)  # type: ignore[arg-type]
    session.expire_all()
    new = session.scalars(select(Release).where(Release.version == 2)).one()
    assert (new.status, new.reason, new.row_count) == ("ready", "pool_changed", 4)
    # Art. 41: the schedule's version is on the audit trail, saying why it was made.
    event = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "opendata.release_requested",
            AuditEvent.object_id == str(new.id),
        )
    ).one()
    assert event.actor_name == "开放数据定期更新" and "资源池数据已更新" in event.summary
    # It waits for the provider: the public still gets the published one.
    assert session.get(OpenDataset, oc.person.id).current_release_id == first.id  # type: ignore[union-attr]


def test_small_batches_give_the_same_release_with_awkward_text(
    session: Session, world: World, oc: OpenCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Values with commas, quotes and line breaks cross batch boundaries (COPY's CSV on
    # PostgreSQL, streamed partitions elsewhere) and come out whole.
    from govdata.opendata import build

    officer2 = world.actor(session, "officer2")
    awkward = ['存续,"在营"', "注销\n第二行", '"', ""]
    upsert(
        session,
        oc.city.market_pool,
        [
            {"公民身份号码": f"50010119900606{i:04d}", "姓名": "某", "经营状态": v}
            for i, v in enumerate(awkward)
        ],
    )
    whole = releases.build(session, officer2, oc.market.code)
    monkeypatch.setattr(build, "_BATCH_BYTES", 8)
    monkeypatch.setattr(build, "_READ_BYTES", 5)
    monkeypatch.setattr(build, "BATCH_ROWS", 1)
    batched = releases.build(session, officer2, oc.market.code)
    assert batched.row_count == whole.row_count == 7

    def values(r: Release) -> list[object]:
        return sorted((str(x["公民身份号码"]), x["经营状态"]) for x in rows_of(session, r))

    assert values(batched) == values(whole)
    got = {v for _, v in values(batched)}
    assert set(awkward) <= got


def test_a_masked_items_raw_value_in_another_batch_blocks_publishing(
    session: Session, world: World, oc: OpenCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Art. 31 ¶2: a masked name typed into another row's free text, many rows (here: batches)
    # away, is found: the whole release is checked against the whole pool.
    from govdata.opendata import build

    officer2 = world.actor(session, "officer2")
    rows = [
        {"公民身份号码": f"50010119900606{i:04d}", "姓名": f"甲{i}某", "经营状态": "存续"}
        for i in range(6)
    ]
    rows[5]["经营状态"] = "甲0某"  # the first row's name, in the last row
    upsert(session, oc.city.market_pool, rows)
    monkeypatch.setattr(build, "_BATCH_BYTES", 8)
    monkeypatch.setattr(build, "_READ_BYTES", 5)
    monkeypatch.setattr(build, "BATCH_ROWS", 1)  # every row a batch of its own
    release = releases.build(session, officer2, oc.market.code)
    assert release.status == ReleaseStatus.BLOCKED.value, release.scan
    assert release.scan is not None
    (finding,) = [f for f in release.scan["findings"] if f["kind"] == "raw_value"]
    assert (finding["column"], finding["count"]) == ("经营状态", 1)
    assert "甲0某" not in str(release.scan)  # shown masked, never the raw value
    with pytest.raises(ReleaseState):
        releases.publish(session, officer2, oc.market.code, release.id)
