"""The page shell per role: navigation, the home page's real counts, audit log, calendar."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from govdata.core.db import utcnow
from govdata.core.workdays import add_working_days, default_calendar
from govdata.org.demo import CITY_DEPARTMENTS, DEMO_ACCOUNTS, DISTRICT_DEPARTMENTS
from govdata.org.models import Department, Person, Region
from tests.e2e.helpers import LOCKED_USERNAME, LiveServer, login_ok

NAV = 'nav[aria-label="主导航"]'

CATALOG_NAV = ["政务数据资源目录", "开放目录"]
AGGREGATION_NAV = ["数据资源池", "数据质量", "基础数据库", "主题数据库", "数据校核"]
SHARING_NAV = ["共享目录", "共享申请", "共享授权", "共享调用", "共享异议", "签名密钥"]
OPEN_ANSWERS_NAV = ["开放门户", "开放数据发布", "开放申请答复", "目录纠错答复"]


def _oversight(*opendata: str, synonyms: bool = False) -> list[str]:
    return [
        "首页",
        "行政区域",
        "部门",
        "人员与角色",
        "目录审核",
        *CATALOG_NAV,
        *(["检索同义词", "代码表"] if synonyms else []),  # the city bureau keeps them
        *AGGREGATION_NAV,
        *SHARING_NAV,
        *opendata,
        "安全监测",
        "工作日历",
        "审计日志",
        "调用记录",
        "我的账户",
    ]


CITY_NAV = _oversight(*OPEN_ANSWERS_NAV, "内容审核", synonyms=True)
AUDITOR_NAV = _oversight("开放门户", "开放申请答复", "目录纠错答复")  # read-only (Art. 49)
DISTRICT_NAV = [
    "首页",
    "行政区域",
    "部门",
    "人员与角色",
    "目录审核",
    *CATALOG_NAV,
    *AGGREGATION_NAV,
    *SHARING_NAV,
    "开放门户",
    "开放申请答复",  # its districts' departments', read-only (Art. 6 ¶2)
    "目录纠错答复",
    "工作日历",
    "调用记录",
    "我的账户",
]
DEPARTMENT_NAV = [
    "首页",
    "行政区域",
    "本部门",
    "人员与角色",
    "目录清单",
    *CATALOG_NAV,
    *AGGREGATION_NAV,
    *SHARING_NAV,
    *OPEN_ANSWERS_NAV,
    "工作日历",
    "我的账户",
]
PUBLIC_NAV = [
    "首页",
    "开放目录",
    "谁用了我的数据",
    "开放门户",
    "实名认证",
    "开放申请",
    "目录纠错",
    "开发者密钥",
    "我的参与",
    "我的账户",
]

# From the domains' NavEntry rules (govdata.app.domains) and each demo account's role, written out.
EXPECTED_NAV = {
    "demo.city": CITY_NAV,
    "demo.district": DISTRICT_NAV,
    "demo.officer": DEPARTMENT_NAV,
    "demo.head": DEPARTMENT_NAV,
    "demo.officer2": DEPARTMENT_NAV,
    "demo.district_officer": DEPARTMENT_NAV,
    "demo.auditor": AUDITOR_NAV,
    "demo.citizen": PUBLIC_NAV,
    "demo.company": PUBLIC_NAV,
}
NAMES = {a.username: a.name for a in DEMO_ACCOUNTS}


def test_every_demo_account_is_covered() -> None:
    assert set(EXPECTED_NAV) == set(NAMES)


@pytest.mark.parametrize("username", list(EXPECTED_NAV))
def test_each_role_sees_only_its_own_navigation(page: Page, username: str) -> None:
    login_ok(page, username)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("who")).to_contain_text(NAMES[username])
    expect(page.get_by_role("heading", level=1)).to_have_text(f"您好，{NAMES[username]}")

    links = page.locator(NAV).get_by_role("link")
    assert links.all_inner_texts() == EXPECTED_NAV[username]
    expect(page.locator(NAV).locator('[aria-current="page"]')).to_have_text("首页")

    # Every entry shown opens without an error.
    hrefs = [a.get_attribute("href") for a in links.all()]
    for href in hrefs:
        assert href is not None
        response = page.goto(href)
        assert response is not None
        assert response.status == 200, f"{username}: {href} -> {response.status}"
        expect(page.get_by_role("alert")).to_have_count(0)


@pytest.mark.parametrize("username", ["demo.citizen", "demo.company"])
def test_public_accounts_are_refused_staff_pages(page: Page, username: str) -> None:
    login_ok(page, username)
    for href in ["/org/regions", "/workdays", "/audit"]:
        response = page.goto(href)
        assert response is not None
        assert response.status == 403, href
        expect(page.get_by_role("heading", level=1)).to_have_text("无权访问")


def test_city_home_shows_real_department_count(page: Page, live_server: LiveServer) -> None:
    with live_server.engine.connect() as conn:
        departments = conn.scalar(select(func.count()).select_from(Department))
        districts = conn.scalar(
            select(func.count()).select_from(Region).where(Region.kind != "city")
        )
    # The demo city as the DB holds it: 40 city departments, 6 in each district.
    assert departments == len(CITY_DEPARTMENTS) + districts * len(DISTRICT_DEPARTMENTS)

    login_ok(page, "demo.city")
    stat = page.get_by_test_id("stat-departments")
    expect(stat.locator(".n")).to_have_text(str(departments))
    expect(stat.locator(".l")).to_have_text("可见部门")
    expect(page.get_by_test_id("stat-regions").locator(".n")).to_have_text(str(districts))
    page.screenshot(path="/tmp/govdata-home.png", full_page=True)

    stat.click()
    expect(page).to_have_url(re.compile(r"/org/departments$"))
    expect(page.get_by_text(f"共 {departments} 个部门。")).to_be_visible()


def test_district_home_counts_only_its_region(page: Page, live_server: LiveServer) -> None:
    with live_server.engine.connect() as conn:
        yuzhong = conn.scalar(
            select(func.count())
            .select_from(Department)
            .join(Region, Department.region_id == Region.id)
            .where(Region.name == "渝中区")
        )
    assert yuzhong == len(DISTRICT_DEPARTMENTS)
    login_ok(page, "demo.district")
    expect(page.get_by_test_id("stat-departments").locator(".n")).to_have_text(str(yuzhong))
    expect(page.get_by_test_id("stat-regions")).to_have_count(0)


def test_auditor_filters_the_audit_log_and_verifies_the_chain(page: Page) -> None:
    login_ok(page, "demo.auditor")
    page.locator(NAV).get_by_role("link", name="审计日志").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("审计日志")

    # The action is chosen by its zh-CN name (Art. 41, 42); the table names it too.
    page.get_by_test_id("filter-action").select_option(value="auth.sign_in")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"action=auth\.sign_in"))
    rows = page.locator("table tbody tr")
    expect(rows.first).not_to_contain_text("没有符合条件的事件")
    codes = [c.get_attribute("title") for c in page.get_by_test_id("action-cell").all()]
    assert codes and all(c == "auth.sign_in" for c in codes), codes
    # The auditor's own sign-in is there.
    expect(rows.filter(has_text="吴审计")).not_to_have_count(0)

    page.get_by_role("button", name="校验审计链完整性").click()
    result = page.get_by_test_id("verify-result")
    expect(result).to_contain_text("审计链完整")
    expect(result).to_have_text(re.compile(r"已校验 [1-9]\d* 个已封存事件.*签名检查点一致"))


def _compute_deadline(page: Page, start: date, days: int) -> None:
    page.get_by_label("起算日期").fill(start.isoformat())
    page.get_by_label("工作日数").fill(str(days))
    page.get_by_role("button", name="计算到期日").click()


def test_calendar_computes_statutory_deadlines(page: Page) -> None:
    login_ok(page, "demo.officer")
    page.locator(NAV).get_by_role("link", name="工作日历").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("法定工作日历")

    # Across the National Day holiday of 2025: the official calendar, final.
    start = date(2025, 9, 30)
    due = add_working_days(start, 10)
    assert not default_calendar().is_provisional(start, due)
    _compute_deadline(page, start, 10)
    result = page.get_by_test_id("deadline-result")
    expect(result).to_contain_text(f"到期日：{due.isoformat()}")
    expect(result).to_contain_text("正式")
    expect(result).not_to_contain_text("暂定")

    # Into a year whose schedule is not yet published: computed on weekdays, marked 暂定.
    start = date(2026, 12, 24)
    due = add_working_days(start, 10)
    assert default_calendar().is_provisional(start, due), "precondition: 2027 not published"
    _compute_deadline(page, start, 10)
    result = page.get_by_test_id("deadline-result")
    expect(result).to_contain_text(f"到期日：{due.isoformat()}")
    expect(result.locator(".badge")).to_contain_text("暂定")


def _luminance(rgb: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+", rgb)[:3])

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def _contrast(fg: str, bg: str) -> float:
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_role_badges_in_the_header_are_legible(page: Page) -> None:
    """The header names the person and their roles; the role must be readable (WCAG AA 4.5:1)."""
    login_ok(page, "demo.city")
    badge = page.get_by_test_id("who").locator(".badge")
    expect(badge).to_have_text("市数据主管部门管理员")
    fg, bg = badge.evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
    ratio = _contrast(fg, bg)
    assert ratio >= 4.5, f"role badge text {fg} on {bg}: contrast {ratio:.2f}:1"


def test_locked_accounts_stat_lists_the_locked_accounts(
    page: Page, live_server: LiveServer
) -> None:
    with live_server.engine.connect() as conn:
        locked = set(
            conn.scalars(select(Person.username).where(Person.locked_until > utcnow())).all()
        )
    assert LOCKED_USERNAME in locked
    login_ok(page, "demo.city")
    stat = page.get_by_test_id("stat-locked")
    expect(stat.locator(".n")).to_have_text(str(len(locked)))
    stat.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("人员与角色")
    listed = set(page.locator("table tbody tr td:nth-child(1)").all_inner_texts())
    assert listed == locked, f"the stat counts {sorted(locked)}, its link lists {sorted(listed)}"


def test_city_admin_people_pages_reach_every_department(
    page: Page, live_server: LiveServer
) -> None:
    """The city has more departments than one list page holds (280 > 200): the people list
    still names each person's department, and 新建人员 offers every department."""
    problems = []
    login_ok(page, "demo.city")

    page.goto("/org/people?q=e2e.lockout")
    row = page.locator("table tbody tr").filter(has_text="e2e.lockout")
    expect(row).to_have_count(1)
    shown = row.locator("td:nth-child(3)").inner_text()
    if shown != live_server.lockout_department:
        problems.append(
            f"people list shows {shown!r} as the department, not {live_server.lockout_department!r}"
        )

    page.goto("/org/people/new")
    options = page.locator("#department_id option").all_inner_texts()
    missing = sorted(set(live_server.departments) - set(options))
    if missing:
        problems.append(
            f"新建人员 offers {len(options) - 1} of {len(live_server.departments)} departments; missing e.g. {missing[:3]}"
        )
    assert not problems, problems
