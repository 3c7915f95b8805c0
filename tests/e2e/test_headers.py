"""Browser: what the security headers promise, checked in Chromium (Art. 39; ASVS 14.4).

After sign-out, Back shows no page with personal data (no-store); pages run under the strict
CSP without a single violation: the quality charts and the security page's chart keep their
colours (the stylesheet is a file), a load's page follows the load to its end (its script is a
file)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.e2e.helpers import LiveServer, login_ok
from tests.e2e.test_aggregation_quality import statistics  # noqa: F401 - a fixture
from tests.e2e.test_aggregation_upload import _csv, resource_code  # noqa: F401 - a fixture


@pytest.fixture
def violations(page: Page) -> Iterator[list[str]]:
    """Every CSP violation Chromium reports on ``page`` (it logs each to the console)."""
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", on_console)
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    yield found


def test_back_after_sign_out_shows_no_personal_data(page: Page) -> None:
    login_ok(page, "demo.city")
    page.goto("/org/people")
    expect(page.get_by_role("link", name="demo.officer", exact=True)).to_be_visible()
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    page.go_back()
    # Not shown from the cache: fetched again, and the server sends the sign-in page.
    expect(page).to_have_url(re.compile(r"/login\?next=/org/people"))
    expect(page.get_by_label("用户名", exact=True)).to_be_visible()
    expect(page.get_by_text("demo.officer", exact=True)).to_have_count(0)
    page.reload()
    expect(page.get_by_label("用户名", exact=True)).to_be_visible()


@pytest.mark.usefixtures("statistics")
def test_charts_keep_their_colours_under_the_policy(page: Page, violations: list[str]) -> None:
    login_ok(page, "demo.city")
    page.goto("/aggregation/quality")
    chart = page.get_by_test_id("departments-chart").locator("svg")
    expect(chart).to_be_visible()
    series = chart.locator(".color-0").first
    # pygal's colours and fonts come from charts.css: a blocked stylesheet would leave black.
    assert series.evaluate("e => getComputedStyle(e).fill") == "rgb(9, 105, 218)"
    title = chart.locator("text.title").first
    assert "Noto Sans CJK SC" in title.evaluate("e => getComputedStyle(e).fontFamily")
    page.goto("/no/such/page")
    expect(page.get_by_role("link", name="返回上一页")).to_be_visible()
    assert violations == []


def test_the_security_chart_keeps_its_colours_under_the_policy(
    page: Page, live_server: LiveServer, violations: list[str]
) -> None:
    # Art. 39: a signal raised today (repeated failed sign-ins from one address), drawn in its
    # kind's colour; before, pygal's inline <style> was blocked and the chart drew black.
    from sqlalchemy.orm import Session

    from govdata.core.db import utcnow
    from govdata.security.scanning import scan
    from tests.security.helpers import failed_sign_ins

    now = utcnow()
    with Session(live_server.engine) as session, session.begin():
        failed_sign_ins(session, "203.0.113.77", [f"guess{i}" for i in range(12)], end=now)
        assert scan(session, now + timedelta(seconds=1)).created

    login_ok(page, "demo.city")
    page.goto("/security")
    chart = page.get_by_test_id("raised-chart").locator("svg")
    expect(chart).to_be_visible()
    page.screenshot(path="/tmp/govdata-security.png", full_page=True)  # for a person to look at
    fill = "e => getComputedStyle(e).fill"
    # failed sign-ins: the fourth kind, in blue; its bar of today stands (not black, not empty)
    bars = chart.locator(".series.serie-3 rect.reactive")
    assert bars.last.evaluate(fill) == "rgb(9, 105, 218)"
    assert float(bars.last.get_attribute("height") or 0) > 0
    # every kind's legend swatch in its own colour: red, yellow, purple, blue, green
    swatches = chart.locator(".legends .legend rect")
    assert [swatches.nth(i).evaluate(fill) for i in range(5)] == [
        "rgb(207, 34, 46)",
        "rgb(191, 135, 0)",
        "rgb(130, 80, 223)",
        "rgb(9, 105, 218)",
        "rgb(26, 127, 55)",
    ]
    title = chart.locator("text.title").first
    assert "Noto Sans CJK SC" in title.evaluate("e => getComputedStyle(e).fontFamily")
    expect(chart.locator(".legends")).to_contain_text("同一地址反复登录失败")
    assert violations == []


def test_a_load_page_follows_the_load_under_the_policy(
    page: Page,
    resource_code: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    violations: list[str],
) -> None:
    login_ok(page, "demo.officer")
    page.goto(f"/aggregation/pools/load?resource={resource_code}")
    page.get_by_label("数据文件").set_input_files(str(_csv(tmp_path / "people.csv", 60_000)))
    with page.expect_response(lambda r: "/aggregation/loads/" in r.url) as first:
        page.get_by_role("button", name="开始加载").click()
    scripts = page.evaluate("[...document.scripts].map(s => s.src)")
    expect(page.get_by_test_id("load-status-label")).to_have_text("已完成", timeout=60_000)
    expect(page.get_by_test_id("rows-loaded")).to_have_text("60,000")
    assert first.value.ok
    # The page that showed the load running named its scripts as files (load.js, and the
    # navigation's nav.js of every page), never inline.
    assert scripts and all(re.search(r"/static/(load|nav)\.js$", src) for src in scripts)
    assert violations == []
