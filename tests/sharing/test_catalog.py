"""The share catalog in use (Art. 24–26), at the service: search and filters, share types with
their conditions and basis, freshness, quality, "not shared" sources, the spreadsheet."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govdata.aggregation import thematic
from govdata.aggregation.quality.measure import remeasure
from govdata.catalog import review
from govdata.catalog.models import Resource, ResourceRevision, ReviewEntry
from govdata.core import calendar
from govdata.core.errors import DomainError
from govdata.sharing import catalog
from govdata.sharing.catalog import CatalogFilters
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.world import World


def set_revision(session: Session, resource: Resource, **changes: Any) -> None:
    """Edit a resource's published revision in place (the catalog's workflow is tested in
    tests/catalog; sources read the published revision)."""
    rev = session.get(ResourceRevision, resource.published_revision_id)
    assert rev is not None
    data = {**rev.data, **changes}
    if changes.get("share_type") == "none":
        data["items"] = [{**it, "share_type": "none"} for it in data["items"]]
    values: dict[str, Any] = {"data": data}
    if "share_type" in changes:
        values["share_type"] = changes["share_type"]
    session.execute(update(ResourceRevision).where(ResourceRevision.id == rev.id).values(**values))
    session.expire_all()


def codes(page: Any) -> list[str]:
    return [e.code for e in page.items]


@pytest.fixture
def sc(session: Session, world: World) -> ShareCity:
    return build_share_city(session, world)


def test_entries_show_share_types_conditions_basis_and_provider(
    session: Session, world: World, sc: ShareCity
) -> None:
    officer = world.actor(session, "yz_officer")
    page = catalog.browse(session, officer)
    assert page.total == 3
    # Base databases first (Art. 25(2)), then resources in code order.
    assert codes(page)[0] == "base.person"
    by_code = {e.code: e for e in page.items}
    base = by_code["base.person"]
    assert base.share_type_label == "无条件共享" and "第二十五条第（二）项" in base.rule_note
    assert base.department_name == "市公安局" and base.kind_label == "基础数据库"
    market = by_code[sc.market_source.code]
    assert market.department_name == "市市场监督管理局"
    assert market.source.share_conditions == "仅限履行市场监管、社会救助职责的部门"
    assert market.source.legal_basis == "《市场主体登记管理条例》第三十五条"
    assert "第二十五条第（一）项" in market.rule_note and not market.basis_missing
    assert market.apply_label == "申请共享"
    items = {i.name: market.item_label(i) for i in market.source.items}
    assert items["从业人数"] == "不予共享" and items["经营状态"] == "有条件共享"
    person = by_code[sc.person_source.code]
    assert person.apply_label == "无条件共享登记" and person.rule_note == ""
    assert person.source.loaded and person.source.row_count == 3


def test_search_by_name_code_item_and_provider(
    session: Session, world: World, sc: ShareCity
) -> None:
    officer = world.actor(session, "yz_officer")

    def search(text: str) -> list[str]:
        return codes(catalog.browse(session, officer, CatalogFilters(q=text)))

    assert search("个体经营") == [sc.market_source.code]
    assert search("从业人数") == [sc.market_source.code]  # an item's name
    assert search(sc.person_source.code) == [sc.person_source.code]
    assert search("市场监督") == [sc.market_source.code]  # the provider's name
    # 出生日期 is an item of the police pool and of the person base database.
    assert search("出生日期") == ["base.person", sc.person_source.code]
    assert search("不存在的资源") == []


def test_filters_by_provider_share_type_kind_and_loaded(
    session: Session, world: World, sc: ShareCity
) -> None:
    officer = world.actor(session, "yz_officer")

    def found(**kw: Any) -> list[str]:
        return codes(catalog.browse(session, officer, CatalogFilters(**kw)))

    assert found(department_id=world.market) == [sc.market_source.code]
    assert found(department_id=world.police) == ["base.person", sc.person_source.code]
    assert found(share_type="conditional") == [sc.market_source.code]
    assert found(share_type="unconditional") == ["base.person", sc.person_source.code]
    assert found(kind="base") == ["base.person"]
    assert found(kind="pool") == [sc.person_source.code, sc.market_source.code]
    assert found(loaded=False) == []
    assert len(found(loaded=True)) == 3
    assert found(kind="pool", share_type="unconditional", q="户籍") == [sc.person_source.code]
    _, providers = catalog.browse_with_providers(session, officer, CatalogFilters(kind="base"))
    assert [d for _, d in providers] == ["市公安局", "市市场监督管理局"]  # of the whole catalog


def test_paging(session: Session, world: World, sc: ShareCity) -> None:
    officer = world.actor(session, "yz_officer")
    first = catalog.browse(session, officer, offset=0, limit=2)
    second = catalog.browse(session, officer, offset=2, limit=2)
    assert first.total == second.total == 3
    assert first.has_next and not second.has_next
    assert len(first.items) == 2 and len(second.items) == 1
    assert set(codes(first)).isdisjoint(codes(second))


def test_a_not_shared_source_is_listed_marked_with_an_objection_link(
    session: Session, world: World, sc: ShareCity
) -> None:
    # Art. 24: listed, marked; no apply button; Art. 27: object instead.
    set_revision(session, sc.city.police_res, share_type="none", legal_basis="")
    entry = catalog.get_entry(session, world.actor(session, "yz_officer"), sc.person_source.code)
    assert not entry.shared and entry.apply_label is None
    assert entry.share_type_label == "不予共享"
    assert entry.basis_missing  # Art. 25(1): a basis is owed
    assert entry.object_url == (
        f"/sharing/objections/new?source={sc.person_source.code.replace('/', '%2F')}"
        "&kind=share_type"
    )
    listed = catalog.browse(session, world.actor(session, "yz_officer"), CatalogFilters(q="户籍"))
    assert [e.shared for e in listed.items] == [False]


def publish_thematic(session: Session, world: World, sc: ShareCity) -> str:
    """A thematic database over the person base database and the police pool, registered and
    published in the catalog (Art. 12, 17 ¶3); its resource code."""
    db = thematic.define(
        session,
        world.actor(session, "officer"),
        world.police,
        name="户籍人口出生专题",
        description="户籍人口的姓名与出生日期。",
        definition={
            "base_kind": "person",
            "base_items": ["姓名"],
            "pool_items": [{"resource_code": sc.city.police_res.code, "item": "出生日期"}],
            "filters": [],
        },
    )
    city = world.actor(session, "city")
    submission = review.submit(session, city, world.police)
    session.refresh(submission)
    for entry in session.scalars(
        select(ReviewEntry).where(ReviewEntry.submission_id == submission.id)
    ):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    resource = session.get(Resource, db.resource_id)
    assert resource is not None
    return resource.code


def test_a_thematic_database_is_shared_by_law(
    session: Session, world: World, sc: ShareCity
) -> None:
    # Art. 25(3): the registered resource's share type applies, with the rule's note.
    code = publish_thematic(session, world, sc)
    officer = world.actor(session, "yz_officer")
    entry = catalog.get_entry(session, officer, code)
    assert entry.source.kind.value == "thematic" and entry.kind_label == "主题数据库"
    assert entry.rule_note == catalog.THEMATIC_NOTE
    assert entry.department_name == "市公安局" and entry.source.loaded
    assert entry.freshness.status == "on_time" and entry.quality is None
    assert [i.name for i in entry.source.items] == ["姓名", "出生日期"]
    found = catalog.browse(session, officer, CatalogFilters(kind="thematic"))
    assert [e.code for e in found.items] == [code]


def test_freshness_against_the_update_cycle(session: Session, world: World, sc: ShareCity) -> None:
    officer = world.actor(session, "yz_officer")
    entry = catalog.get_entry(session, officer, sc.person_source.code)
    # Monthly: on time today, late 31 days after the load's day (Art. 18, 20).
    assert entry.freshness.status == "on_time" and not entry.freshness.late
    assert entry.freshness.due_on is not None
    later = catalog.freshness(entry.source, entry.freshness.due_on + timedelta(days=1))
    assert later.late and later.label == "已超期"
    on_due = catalog.freshness(entry.source, entry.freshness.due_on)
    assert not on_due.late
    # The base database has no update cycle of its own: built, never late.
    base = catalog.get_entry(session, officer, "base.person")
    assert base.freshness.status == "irregular" and base.freshness.loaded_at is not None


def test_a_late_source_is_flagged_in_the_list(
    session: Session, world: World, sc: ShareCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calendar, "today", lambda: date.today() + timedelta(days=60))
    page = catalog.browse(session, world.actor(session, "yz_officer"), CatalogFilters(kind="pool"))
    assert [e.freshness.status for e in page.items] == ["late", "late"]


def test_quality_is_the_pools_latest_snapshot(
    session: Session, world: World, sc: ShareCity
) -> None:
    city = world.actor(session, "city")
    remeasure(session, city, sc.city.police_pool.id)
    latest = remeasure(session, city, sc.city.police_pool.id)
    entry = catalog.get_entry(session, world.actor(session, "yz_officer"), sc.person_source.code)
    assert entry.quality is not None and entry.score is not None
    assert entry.quality_measured_at == latest.measured_at
    assert 0 < entry.score <= 1 and entry.quality_measured_at is not None
    base = catalog.get_entry(session, world.actor(session, "yz_officer"), "base.person")
    assert base.quality is None and base.score is None


def test_unknown_code_is_not_found(session: Session, world: World, sc: ShareCity) -> None:
    with pytest.raises(DomainError) as exc:
        catalog.get_entry(session, world.actor(session, "yz_officer"), "base.nothing")
    assert (exc.value.code, exc.value.status) == ("sharing.source_not_found", 404)


@pytest.mark.parametrize("username", ["citizen", "company", "plain"])
def test_the_public_and_people_without_a_role_cannot_browse(
    session: Session, world: World, sc: ShareCity, username: str
) -> None:
    with pytest.raises(DomainError) as exc:
        catalog.browse(session, world.actor(session, username))
    assert (exc.value.code, exc.value.status) == ("sharing.browse_forbidden", 403)


@pytest.mark.parametrize("username", ["city", "auditor", "officer", "yz_admin"])
def test_staff_browse(session: Session, world: World, sc: ShareCity, username: str) -> None:
    assert catalog.browse(session, world.actor(session, username)).total == 3


def test_own_grants_on_the_source(session: Session, world: World, sc: ShareCity) -> None:
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    code = sc.person_source.code
    assert [
        x.id for x in catalog.own_grants(session, world.actor(session, "yz_officer"), code)
    ] == [g.id]
    assert [x.id for x in catalog.own_grants(session, world.actor(session, "officer"), code)] == [
        g.id
    ]
    assert catalog.own_grants(session, world.actor(session, "jb_officer"), code) == []
    assert catalog.own_grants(session, world.actor(session, "yz_officer"), "base.person") == []


def test_the_spreadsheet_has_sources_and_items_and_no_live_formula(
    session: Session, world: World, sc: ShareCity
) -> None:
    # Art. 39: a condition typed as a formula stays text in the officers' spreadsheet.
    set_revision(session, sc.city.market_res, share_conditions='=HYPERLINK("http://x","点此")')
    body = catalog.export_xlsx(session, world.actor(session, "yz_officer"))
    wb = load_workbook(io.BytesIO(body))
    sources = list(wb["共享目录"].iter_rows(values_only=True))
    assert sources[0][:5] == ("资源代码", "资源名称", "来源类型", "提供部门", "共享属性")
    assert [r[0] for r in sources[1:]] == [
        "base.person",
        sc.person_source.code,
        sc.market_source.code,
    ]
    market_row = wb["共享目录"]["F4"]
    assert market_row.value == '=HYPERLINK("http://x","点此")' and market_row.data_type == "s"
    items = list(wb["信息项"].iter_rows(values_only=True))
    assert ("个体经营者信息", "从业人数", "I", "不予共享") in [r[1:5] for r in items]
    # Filters narrow the spreadsheet as the list.
    only = catalog.export_xlsx(
        session, world.actor(session, "yz_officer"), CatalogFilters(kind="base")
    )
    rows = list(load_workbook(io.BytesIO(only))["共享目录"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["base.person"]


@pytest.mark.parametrize(
    "flt",
    [
        CatalogFilters(),
        CatalogFilters(q="姓名"),
        CatalogFilters(q="市公安局"),
        CatalogFilters(kind="thematic"),
        CatalogFilters(kind="pool", loaded=True),
        CatalogFilters(share_type="unconditional"),
        CatalogFilters(loaded=False),
    ],
)
def test_the_light_index_keeps_what_the_full_read_keeps(
    session: Session, world: World, sc: ShareCity, flt: CatalogFilters
) -> None:
    # The list filters over ``published.index``; the spreadsheet over the full sources: the
    # same sources, in the same order, whatever the filter.
    publish_thematic(session, world, sc)
    officer = world.actor(session, "yz_officer")
    listed = [e.code for e in catalog.browse(session, officer, flt, limit=200).items]
    assert listed == [e.code for e in catalog.entries(session, officer, flt)]


def test_the_spreadsheet_labels_cycles_by_the_bureaus_current_list(
    session: Session, world: World, sc: ShareCity
) -> None:  # Art. 26: the share catalog in the words the city bureau keeps
    from govdata.catalog import vocabularies
    from govdata.catalog.vocab import UpdateCycle
    from govdata.catalog.vocabularies import UPDATE_CYCLE, EntryIn

    renamed = [EntryIn(c.value, f"{c.label}（新）") for c in UpdateCycle]
    vocabularies.publish(session, world.actor(session, "city"), UPDATE_CYCLE, renamed, {})
    body = catalog.export_xlsx(session, world.actor(session, "yz_officer"))
    sources = list(load_workbook(io.BytesIO(body))["共享目录"].iter_rows(values_only=True))
    column = sources[0].index("更新周期")
    cycles = [r[column] for r in sources[1:]]
    assert any(str(c).endswith("（新）") for c in cycles)
    assert all(c == "—" or str(c).endswith("（新）") for c in cycles), cycles
