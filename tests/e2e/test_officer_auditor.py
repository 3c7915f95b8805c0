"""An officer's resource form and an auditor's audit page in the browser (issue 16): the
legal-basis label follows the share and open choices as they are made (Art. 25, 31); the
audit page names actions in zh-CN, filters by them and exports what it shows (Art. 49)."""

from __future__ import annotations

import io

import openpyxl
from playwright.sync_api import Page, expect

from govdata.core import calendar
from tests.e2e.helpers import LiveServer, login_ok


def test_legal_basis_label_follows_the_choices(page: Page, live_server: LiveServer) -> None:
    police = live_server.departments["市公安局"]
    login_ok(page, "demo.officer")
    page.goto(f"/catalog/departments/{police}/resources/new")
    marker = page.get_by_test_id("legal-basis-required")
    expect(marker).to_be_visible()  # the defaults: 有条件共享, 不予开放
    page.select_option("#share_type", "unconditional")
    page.select_option("#open_type", "unconditional")
    expect(marker).to_be_hidden()
    expect(page.locator("#legal_basis")).not_to_have_attribute("aria-required", "true")
    page.select_option("#item_open_0", "none")  # one item not opened is enough
    expect(marker).to_be_visible()
    expect(page.locator("#legal_basis")).to_have_attribute("aria-required", "true")


def test_auditor_filters_by_name_and_exports(page: Page, live_server: LiveServer) -> None:
    login_ok(page, "demo.auditor")
    page.goto("/audit")
    page.get_by_test_id("filter-action").select_option(label="登录")
    with page.expect_navigation():
        page.get_by_role("button", name="筛选").click()
    cells = page.get_by_test_id("action-cell")
    expect(cells.first).to_have_text("登录")
    assert set(cells.all_inner_texts()) == {"登录"}
    with page.expect_download() as info:
        page.get_by_test_id("export-xlsx").click()
    download = info.value
    assert download.suggested_filename == f"审计日志-{calendar.today().isoformat()}.xlsx"
    path = download.path()
    sheet = openpyxl.load_workbook(io.BytesIO(path.read_bytes())).active
    rows = list(sheet.values)
    assert rows[0][3] == "操作" and rows[1:] and {r[3] for r in rows[1:]} == {"登录"}
    # The export is itself in the trail.
    page.goto("/audit?action=audit.export")
    expect(page.get_by_test_id("action-cell").first).to_have_text("导出审计日志")
