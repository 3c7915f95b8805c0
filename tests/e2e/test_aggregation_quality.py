"""Browser: the quality pages (Art. 20). The city bureau's overview shows the departments' chart
and the late resources; from there the department's page and a pool's trend chart; the bureau
measures a pool again. A department officer is taken to the own department's page.

The resources live in 市统计局, which no other browser test uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import quality
from govdata.catalog import review, service
from govdata.catalog.models import Resource, ReviewEntry
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.db import utcnow
from govdata.core.ids import make_id_number
from tests.aggregation.factories import fill_pool, resource_input
from tests.e2e.helpers import LiveServer, login_ok

NAV = 'nav[aria-label="主导航"]'
DEPARTMENT = "市统计局"
CITY = Actor(person_id=None, name="e2e", grants=(RoleGrant(Role.CITY_BUREAU_ADMIN),))
ON_TIME, LATE, NEVER = "e2e质量人口（按期）", "e2e质量人口（超期）", "e2e质量人口（未汇聚）"
ITEMS = [("公民身份号码", "C", 18), ("姓名", "C", 20), ("出生日期", "D", None)]


def _people(n: int, named: int) -> list[dict[str, object]]:
    return [
        {
            "公民身份号码": make_id_number("500103", utcnow().date() - timedelta(days=9000), i),
            "姓名": f"居民{i}" if i < named else None,
        }
        for i in range(n)
    ]


def _setup(session: Session, department_id: int) -> None:
    if session.scalar(select(Resource.id).where(Resource.name == ON_TIME)) is not None:
        return
    cycles = {ON_TIME: "weekly", LATE: "daily", NEVER: "monthly"}
    created = {
        name: service.create_resource(
            session,
            CITY,
            department_id,
            resource_input(name, ITEMS, key="公民身份号码", update_cycle=cycle),
        )
        for name, cycle in cycles.items()
    }
    submission = review.submit(session, CITY, department_id)
    for entry in session.scalars(
        select(ReviewEntry).where(ReviewEntry.submission_id == submission.id)
    ):
        review.decide(session, CITY, entry.id, approve=True)
    review.publish(session, CITY, note="e2e数据质量")
    for r in created.values():
        session.refresh(r)
    # Two loads of the on-time resource (a trend), one load of the late one five days ago.
    for named in (5, 8):
        pool, load = fill_pool(session, CITY, created[ON_TIME], _people(10, named))
        quality.measure(session, pool, load)
    pool, load = fill_pool(
        session, CITY, created[LATE], _people(4, 4), loaded_at=utcnow() - timedelta(days=5)
    )
    quality.measure(session, pool, load)


@pytest.fixture(scope="module")
def statistics(live_server: LiveServer) -> Iterator[int]:
    department_id = live_server.departments[DEPARTMENT]
    factory = sessionmaker(bind=live_server.engine, expire_on_commit=False)
    with factory() as session, session.begin():
        _setup(session, department_id)
    yield department_id


def test_the_bureau_sees_the_chart_the_late_resources_and_a_pool_trend(
    page: Page, statistics: int
) -> None:
    login_ok(page, "demo.city")
    page.locator(NAV).get_by_role("link", name="数据质量").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("数据质量总览 · 全市")

    # The departments' chart: an inline SVG with its title, drawn (not an empty box).
    chart = page.get_by_test_id("departments-chart").locator("svg")
    expect(chart).to_have_attribute("aria-label", "各部门数据质量（全市，最新评估的平均值）")
    expect(chart.locator("title").first).to_have_text("各部门数据质量（全市，最新评估的平均值）")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    expect(page.get_by_role("img", name="各部门数据质量（全市，最新评估的平均值）")).to_be_visible()

    # The late resources, highlighted.
    late = page.get_by_test_id("timeliness").get_by_test_id("timeliness-row")
    expect(late.filter(has_text=LATE).get_by_test_id("timeliness-status")).to_have_text("已超期")
    expect(late.filter(has_text=NEVER).get_by_test_id("timeliness-status")).to_have_text("未汇聚")
    expect(late.filter(has_text=ON_TIME)).to_have_count(0)

    # The department's page: its timeliness, its pools' chart.
    row = page.get_by_test_id("departments").get_by_role("row").filter(has_text=DEPARTMENT)
    expect(row).to_contain_text("63.3%")  # completeness: the mean of 18/30 and 8/12
    row.get_by_role("link", name=DEPARTMENT).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{DEPARTMENT} · 数据质量")
    rows = page.get_by_test_id("timeliness").get_by_test_id("timeliness-row")
    expect(rows.filter(has_text=ON_TIME).get_by_test_id("timeliness-status")).to_have_text("按期")
    expect(rows.filter(has_text=LATE).get_by_test_id("timeliness-status")).to_have_text("已超期")
    expect(page.get_by_role("img", name=f"{DEPARTMENT}各数据资源池的数据质量")).to_be_visible()

    # The pool's trend over its loads, and the same numbers in the table.
    page.get_by_test_id("pools").get_by_role("link", name=ON_TIME).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{ON_TIME} · 数据质量")
    trend = page.get_by_role("img", name=f"{ON_TIME}数据质量趋势（按加载）")
    expect(trend).to_be_visible()
    expect(trend.locator("title").first).to_have_text(f"{ON_TIME}数据质量趋势（按加载）")
    expect(page.get_by_test_id("trend").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("items").get_by_role("row").filter(has_text="姓名")).to_contain_text(
        "80.0%"
    )

    # The bureau measures again: a third point without a load.
    page.get_by_role("button", name="重新评估质量").click()
    expect(page.get_by_role("status")).to_have_text("已重新评估该数据资源池的数据质量。")
    expect(page.get_by_test_id("trend").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("trend").locator("tbody tr").first).to_contain_text("重新评估")


def test_an_officer_is_taken_to_the_own_department(page: Page, statistics: int) -> None:
    login_ok(page, "demo.officer")
    page.locator(NAV).get_by_role("link", name="数据质量").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("市公安局 · 数据质量")
    expect(page.get_by_role("link", name="返回数据质量总览")).to_have_count(0)
    # Another department's page: not found.
    response = page.goto(f"/aggregation/quality/departments/{statistics}")
    assert response is not None and response.status == 404
