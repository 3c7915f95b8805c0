"""Issue 16: the large aggregation pages are paged, searchable, sorted and summarized.

The base page's list of possible sources (900+ resources in the demo), repeated collection (a
summary per department, then paged detail, Art. 50(3)), the quality overview's department table
(hide the empty ones, search, sort, Art. 20) and the conflict queue's bulk action and its way to
a 校核 (Art. 16, 19, 20).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from govdata.aggregation import base, repeated
from govdata.aggregation.models import BaseConflict, BaseKind, ConflictStatus
from govdata.aggregation.pages import base as base_pages
from govdata.aggregation.pages import base_checks
from govdata.aggregation.quality import overview
from govdata.aggregation.quality.reports import DepartmentSummary, Metrics
from govdata.core.errors import DomainError, InvalidInput
from tests.aggregation.base_helpers import K2, build_city
from tests.aggregation.factories import person_pool_resource
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


# --- the base page's possible sources ----------------------------------------------------------


def test_source_options_are_searched_sorted_and_paged(session: Session, world: World) -> None:
    c = build_city(session, world)
    officer = world.actor(session, "officer")
    page = base.find_source_options(session, officer, BaseKind.PERSON)
    assert page.total == 2 and {o.code for o in page.items} == {
        c.police_res.code,
        c.market_res.code,
    }
    # By department name: 市公安局 before 市市场监督管理局.
    assert [o.code for o in page.items] == [c.police_res.code, c.market_res.code]
    by_name = base.find_source_options(session, officer, BaseKind.PERSON, sort="name")
    assert [o.name for o in by_name.items] == sorted(o.name for o in page.items)
    # Searched by a name part, an item, a department or a code.
    for q in ("个体", "经营状态", "市场监督", c.market_res.code):
        found = base.find_source_options(session, officer, BaseKind.PERSON, q=q)
        assert [o.code for o in found.items] == [c.market_res.code], q
    assert base.find_source_options(session, officer, BaseKind.PERSON, q="没有这个").total == 0
    first = base.find_source_options(session, officer, BaseKind.PERSON, limit=1)
    second = base.find_source_options(session, officer, BaseKind.PERSON, offset=1, limit=1)
    assert first.total == second.total == 2 and first.has_next and not second.has_next
    assert first.items[0].code != second.items[0].code


def test_a_newly_published_resource_is_a_source_at_once(session: Session, world: World) -> None:
    """The listing kept between requests (``aggregation.collected``) follows the catalog."""
    build_city(session, world)
    officer = world.actor(session, "officer")
    assert base.find_source_options(session, officer, BaseKind.PERSON).total == 2
    added = person_pool_resource(session, world, world.police, "流动人口登记", [("姓名", "C", 50)])
    found = base.find_source_options(session, officer, BaseKind.PERSON)
    assert found.total == 3 and added.code in {o.code for o in found.items}


def test_the_base_page_pages_the_sources_and_fills_the_form(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = build_city(session, world)
    session.commit()
    monkeypatch.setattr(base_pages, "OPTIONS_PAGE", 1)
    officer = sign_in("officer")
    r = officer.get("/aggregation/base/person", headers=HTML)
    assert r.status_code == 200
    # No select repeating every resource per item: a code field and one paged table.
    assert '<select name="source_resource_code"' not in r.text
    assert len(re.findall(r'data-testid="source-option"', r.text)) == 1
    assert "共 2 个资源" in r.text and 'data-testid="next-page"' in r.text
    r = officer.get("/aggregation/base/person?q=个体", headers=HTML)
    assert "共 1 个资源" in r.text and c.market_res.code in r.text
    r = officer.get(f"/aggregation/base/person?source={c.market_res.code}", headers=HTML)
    assert re.search(rf'data-testid="add-source-code"[^>]*value="{c.market_res.code}"', r.text), (
        "选作来源 fills the add form"
    )
    assert officer.get("/aggregation/base/person?sort=drop", headers=HTML).status_code == 422


# --- repeated collection (Art. 50(3)) ----------------------------------------------------------


def test_repeated_collection_is_summarized_per_department(session: Session, world: World) -> None:
    c = build_city(session, world)
    person_pool_resource(session, world, world.market, "个体工商户从业人员", [("姓名", "C", 50)])
    flags = repeated.find(session, world.actor(session, "city"))
    [summary] = repeated.summarize(flags)
    assert (summary.department_name, summary.resources, summary.items) == (
        "市市场监督管理局",
        2,
        2,
    )
    assert summary.bases == ("自然人基础数据库",)
    assert summary.authoritative_departments == ("市公安局",)
    assert c.market_res.code in {f.resource_code for f in flags}
    assert repeated.summarize([]) == []


def test_the_repeated_page_shows_the_summary_then_paged_detail(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_city(session, world)
    person_pool_resource(session, world, world.market, "个体工商户从业人员", [("姓名", "C", 50)])
    session.commit()
    monkeypatch.setattr(base_checks, "REPEATED_PAGE", 1)
    auditor = sign_in("auditor")
    r = auditor.get("/aggregation/base/repeated", headers=HTML)
    assert r.status_code == 200
    html = r.text
    assert "共 2 个重复采集的信息项，涉及 1 个部门、2 个资源" in html
    assert html.index('data-testid="repeated-summary"') < html.index('data-testid="repeated"')
    assert len(re.findall(r'data-testid="repeated-row"', html)) == 1
    assert "第 1–1 项，共 2 项" in html
    r = auditor.get("/aggregation/base/repeated?offset=1", headers=HTML)
    assert len(re.findall(r'data-testid="repeated-row"', r.text)) == 1 and "上一页" in r.text
    r = auditor.get(f"/aggregation/base/repeated?department_id={world.police}", headers=HTML)
    assert "未发现重复采集" in r.text  # the police's own items are not repeated collection
    # A department sees only its own; the public is still refused.
    assert "未发现重复采集" in sign_in("officer").get("/aggregation/base/repeated").text
    assert sign_in("citizen").get("/aggregation/base/repeated", headers=HTML).status_code == 403


# --- the quality overview's department table (Art. 20) -----------------------------------------


def _dept(code: str, name: str, **kw: int | float | None) -> DepartmentSummary:
    score = kw.pop("score", None)
    metrics = Metrics(score, score, score, score) if isinstance(score, float) else Metrics()
    return DepartmentSummary(0, code, name, averages=metrics, **kw)  # type: ignore[arg-type]


def test_the_department_table_hides_the_empty_searches_and_sorts() -> None:
    rows = [
        _dept("003", "市公安局", responsible=5, loaded=4, late=1, measured=4, score=0.9),
        _dept("001", "市档案馆"),
        _dept("002", "市民政局", responsible=8, loaded=2, late=6, measured=2, score=0.5),
        _dept("004", "市税务局", responsible=1),  # nothing loaded yet: no figures
        _dept("005", "市统计局", responsible=1, loaded=1),  # loaded, not yet measured
    ]
    shown = overview.arrange(rows)
    assert [d.name for d in shown.rows] == ["市民政局", "市公安局", "市统计局"]
    assert (shown.total, shown.with_data) == (5, 3)
    every = [d.name for d in overview.arrange(rows, show_all=True).rows]
    assert "市档案馆" in every and "市税务局" in every
    assert [d.name for d in overview.arrange(rows, sort="score").rows] == [
        "市民政局",
        "市公安局",
        "市统计局",  # no score: last
    ]
    order = ["市民政局", "市公安局", "市统计局"]
    assert [d.name for d in overview.arrange(rows, sort="late").rows] == order  # 6, 1, 0
    assert [d.name for d in overview.arrange(rows, sort="responsible").rows] == order  # 8, 5, 1
    assert [d.name for d in overview.arrange(rows, q="公安").rows] == ["市公安局"]
    assert [d.name for d in overview.arrange(rows, q="003").rows] == ["市公安局"]
    assert overview.arrange(rows, q="档案").rows == []  # hidden unless all are shown


def test_the_overview_page_hides_departments_without_data(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in
) -> None:
    build_city(session, world)
    # The city big-data bureau has a resource to collect and has loaded nothing.
    person_pool_resource(session, world, world.city_bureau, "人口信息汇总", [("姓名", "C", 50)])
    session.commit()
    city = sign_in("city")
    r = city.get("/aggregation/quality", headers=HTML)
    assert r.status_code == 200
    shown = len(re.findall(r'data-testid="department-row"', r.text))
    r = city.get("/aggregation/quality?show=all&sort=score", headers=HTML)
    every = len(re.findall(r'data-testid="department-row"', r.text))
    assert every == shown + 1  # the big-data bureau, hidden by default
    assert "尚未汇聚任何数据的 1 个部门已隐藏" in city.get("/aggregation/quality").text
    r = city.get("/aggregation/quality?show=all&q=没有这个部门", headers=HTML)
    assert "没有名称或代码含“没有这个部门”的部门" in r.text
    assert city.get("/aggregation/quality?sort=drop", headers=HTML).status_code == 422


# --- the conflict queue (Art. 16, 19, 20) -------------------------------------------------------


def test_conflicts_are_resolved_together_or_not_at_all(session: Session, world: World) -> None:
    build_city(session, world)
    session.commit()
    city = world.actor(session, "city")
    [conflict] = base.list_conflicts(session, city, None, ConflictStatus.OPEN)
    with pytest.raises(DomainError) as err:
        base.resolve_conflicts(session, city, [conflict.id, 999_999], "已核实")
    assert err.value.code == "aggregation.conflict_not_found"
    session.rollback()
    assert session.get(BaseConflict, conflict.id).status == ConflictStatus.OPEN.value  # type: ignore[union-attr]
    with pytest.raises(InvalidInput) as bad:
        base.resolve_conflicts(session, city, [], "已核实")
    assert bad.value.code == "aggregation.conflicts_none_selected"
    done = base.resolve_conflicts(session, city, [conflict.id, conflict.id], "已通知核对")
    assert [c.status for c in done] == [ConflictStatus.RESOLVED.value]


def test_the_conflict_page_bulk_action_and_its_way_to_a_correction(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in
) -> None:
    c = build_city(session, world)
    session.commit()
    city = sign_in("city")
    r = city.get("/aggregation/base/conflicts", headers=HTML)
    assert 'data-testid="bulk-resolve"' in r.text
    conflict_id = re.search(r'name="ids" value="(\d+)"', r.text).group(1)  # type: ignore[union-attr]
    link = re.search(
        r'href="(/aggregation/corrections/new\?[^"]+)" data-testid="conflict-correct"', r.text
    )
    assert link is not None
    assert f"pool={c.market_pool.id}" in link.group(1) and f"key={K2}" in link.group(1)
    # The link leads to a form, not a refusal: the city bureau may ask the market to check.
    form = city.get(link.group(1).replace("&amp;", "&"), headers=HTML)
    assert form.status_code == 200 and 'data-testid="refusal"' not in form.text
    # Read-only and other departments: no checkboxes, no bulk form, no dead correction links.
    r = sign_in("auditor").get("/aggregation/base/conflicts", headers=HTML)
    assert "李*四" in r.text  # masked for auditors (test_pool_privacy)
    assert 'data-testid="bulk-resolve"' not in r.text and "conflict-correct" not in r.text
    market = sign_in("officer2")
    r = market.get("/aggregation/base/conflicts", headers=HTML)
    assert 'data-testid="bulk-resolve"' not in r.text
    assert "conflict-correct" not in r.text  # its own pool's value: corrected directly
    refused = market.post(
        "/aggregation/base/conflicts/resolve", data={"ids": [conflict_id], "note": "x"}
    )
    assert refused.status_code == 403
    r = city.post("/aggregation/base/conflicts/resolve", data={"note": "已核实"})
    assert r.status_code == 422 and "请先勾选要处理的数据冲突" in r.text
    r = city.post(
        "/aggregation/base/conflicts/resolve",
        data={"ids": [conflict_id], "note": ""},
    )
    assert r.status_code == 422 and "须填写处理说明" in r.text
    r = city.post(
        "/aggregation/base/conflicts/resolve",
        data={"ids": [conflict_id], "note": "已通知市场监管局核对", "kind": "person"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "msg=resolved_many" in r.headers["location"]
    assert "已处理所选的数据冲突" in city.get(r.headers["location"], headers=HTML).text
    assert "没有数据冲突" in city.get("/aggregation/base/conflicts", headers=HTML).text
