"""The city bureau's security page in a browser (Art. 39 监测、预警): it lowers a threshold,
an officer's refused visits raise a probing signal, and the bureau acknowledges it with a note."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.e2e.helpers import login_ok


def test_the_city_bureau_sees_a_signal_and_acknowledges_it(
    page: Page, new_page: Callable[[], Page]
) -> None:
    login_ok(page, "demo.city")
    page.locator('nav[aria-label="主导航"]').get_by_role("link", name="安全监测").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("安全监测")

    # Three refusals within ten minutes are enough from now on.
    rule = page.get_by_test_id("rule-probing")
    rule.get_by_test_id("threshold-probing").fill("3")
    with page.expect_navigation():
        rule.get_by_test_id("save-probing").click()
    expect(page.get_by_role("status")).to_contain_text("已保存监测规则")
    expect(page.get_by_test_id("threshold-probing")).to_have_value("3")

    # An officer tries the security page three times, and is refused each time.
    officer = new_page()
    login_ok(officer, "demo.officer2")
    for _ in range(3):
        response = officer.goto("/security")
        assert response is not None and response.status == 403
        expect(officer.get_by_role("heading", level=1)).to_have_text("无权访问")

    with page.expect_navigation():
        page.get_by_test_id("scan-now").click()
    expect(page.get_by_role("status")).to_contain_text("扫描完成")
    row = page.locator('tr[data-kind="probing"]', has_text="孙专员")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("未处理")
    # (other browser tests may have been refused for this officer within the window too)
    expect(row).to_contain_text(re.compile(r"被拒绝访问 \d+ 次"))

    row.get_by_label("处理说明").fill("已联系该专员：误点书签，无异常")
    with page.expect_navigation():
        row.get_by_role("button", name="确认").click()
    expect(page.get_by_role("status")).to_have_text("已确认该安全预警。")
    row = page.locator('tr[data-kind="probing"]', has_text="孙专员")
    expect(row).to_contain_text("已确认")
    expect(row).to_contain_text("陈市管 于")
    expect(row).to_contain_text("误点书签，无异常")
    expect(row.get_by_role("button", name="确认")).to_have_count(0)
