"""The code lists in the browser (issue 16): the city bureau adds a resource format on the
资源格式 tab of /catalog/vocabularies and a department's resource form offers it at once; the
update cycles' tab offers renaming only (docs/decisions/0021)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import LiveServer, login_ok

NAV = 'nav[aria-label="主导航"]'


def test_the_bureau_adds_a_format_and_the_resource_form_offers_it(
    page: Page, new_page, live_server: LiveServer
) -> None:  # type: ignore[no-untyped-def]
    login_ok(page, "demo.city")
    page.locator(NAV).get_by_role("link", name="代码表").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("代码表：安全级别")
    tabs = page.get_by_test_id("vocab-lists")
    tabs.get_by_role("link", name="资源格式").click()
    expect(page).to_have_url(re.compile(r"/catalog/vocabularies/resource_format$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("代码表：资源格式")
    expect(tabs.get_by_role("link", name="资源格式")).to_have_attribute("aria-current", "page")
    current = page.get_by_test_id("vocab-current")
    expect(current).to_contain_text("电子表格")
    # The first blank row after the guide's seven formats.
    page.get_by_label("第8行代码").fill("e2e_geo")
    page.get_by_label("第8行名称").fill("e2e地理数据")
    page.get_by_label("说明").fill("e2e新增格式")
    page.get_by_role("button", name=re.compile("^发布第 \\d+ 版$")).click()
    expect(page.get_by_role("status")).to_have_text("已发布代码表的新版本。")
    expect(page).to_have_url(re.compile(r"/catalog/vocabularies/resource_format\?msg=published"))
    expect(current).to_contain_text("e2e地理数据")
    expect(page.get_by_test_id("vocab-history")).to_contain_text("e2e新增格式")

    # A department officer's new-resource form offers it (no release, no restart).
    officer = new_page()
    login_ok(officer, "demo.officer")
    dept = live_server.departments["市公安局"]
    officer.goto(f"/catalog/departments/{dept}/resources/new")
    fmt = officer.get_by_label("资源格式", exact=True)
    expect(fmt.locator("option", has_text="e2e地理数据")).to_have_count(1)
    fmt.select_option(label="e2e地理数据")
    expect(fmt).to_have_value("e2e_geo")


def test_the_update_cycles_tab_offers_renaming_only(page: Page) -> None:
    login_ok(page, "demo.city")
    page.goto("/catalog/vocabularies/update_cycle")
    expect(page.get_by_role("heading", level=1)).to_have_text("代码表：更新周期")
    expect(page.get_by_test_id("vocab-fixed")).to_contain_text("只能更改名称和顺序")
    form = page.get_by_test_id("vocab-edit")
    expect(form.get_by_role("checkbox")).to_have_count(0)
    expect(form.locator("tbody tr")).to_have_count(8)
    expect(page.get_by_label("第2行名称")).to_have_value("每日")
