"""Browser: everyone's pages on a phone (issue 16), 390 px wide as an iPhone 12–15 in portrait.

The navigation folds behind one "菜单" button that opens it; a table wider than the screen
scrolls sideways in its own box (the page itself does not), its header cells stay on one line
and no column is squeezed to a character a line. On a desktop the navigation shows as before.
And after signing out, Back shows no page with personal data, however far back one goes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import LiveServer, login_ok

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport=PHONE)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_navigation_folds_behind_a_menu_button_on_a_phone(phone: Page) -> None:
    login_ok(phone, "demo.city")
    phone.goto("/org/people")
    menu = phone.get_by_role("button", name=re.compile("^菜单"))
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_contain_text("人员与角色")  # the page one is on
    nav = phone.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="部门", exact=True)).to_be_hidden()
    # Folded, the navigation takes one line, not the screen (the city's ~30 entries).
    assert nav.bounding_box()["height"] < 60  # type: ignore[index]

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    link = nav.get_by_role("link", name="部门", exact=True)
    expect(link).to_be_visible()
    link.click()
    expect(phone).to_have_url(re.compile(r"/org/departments"))
    expect(phone.get_by_role("button", name=re.compile("^菜单"))).to_have_attribute(
        "aria-expanded", "false"
    )


def test_a_wide_table_scrolls_sideways_instead_of_wrapping_every_character(phone: Page) -> None:
    login_ok(phone, "demo.city")
    phone.goto("/org/people")
    table = phone.locator("main table").first
    expect(table).to_be_visible()
    sizes = table.evaluate(
        """t => ({
            table: [t.scrollWidth, t.clientWidth],
            page: document.documentElement.scrollWidth,
            viewport: window.innerWidth,
            headers: [...t.querySelectorAll('th')].map(c => {
                const s = getComputedStyle(c);
                const inner = c.getBoundingClientRect().height
                    - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom);
                return [c.innerText, inner / parseFloat(s.lineHeight)];
            }),
            cells: [...t.querySelectorAll('td')].filter(c => c.innerText.trim().length > 1)
                .map(c => [c.innerText, c.clientWidth / parseFloat(getComputedStyle(c).fontSize)]),
        })"""
    )
    scroll, client = sizes["table"]
    assert scroll > client, sizes["table"]  # the table is wider than the screen: it scrolls
    assert sizes["page"] <= sizes["viewport"]  # and the page around it does not
    for text, lines in sizes["headers"]:
        assert lines < 1.5, (text, lines)  # one line each
    assert sizes["cells"]
    for text, width in sizes["cells"]:
        assert width >= 4, (text, width)  # room for several characters, never one a line
    table.evaluate("t => { t.scrollLeft = t.scrollWidth; }")
    assert table.evaluate("t => t.scrollLeft") > 0


def test_the_navigation_stays_open_on_a_desktop(page: Page) -> None:
    login_ok(page, "demo.city")
    page.goto("/org/people")
    expect(page.get_by_role("button", name=re.compile("^菜单"))).to_be_hidden()
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="部门", exact=True)).to_be_visible()


def test_back_after_sign_out_shows_no_personal_data_on_any_page_back(page: Page) -> None:
    # Art. 39 (防范泄露): someone at a shared computer presses Back, twice, after sign-out.
    login_ok(page, "demo.city")
    page.goto("/org/people")
    expect(page.get_by_role("link", name="demo.officer", exact=True)).to_be_visible()
    page.goto("/account")
    expect(page.get_by_text("陈市管").first).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/logout")) as signed_out:
        page.get_by_role("button", name="退出登录").click()
    assert signed_out.value.all_headers().get("clear-site-data") == '"cache"'
    expect(page).to_have_url(re.compile(r"/login$"))

    for path in ("/account", "/org/people"):
        page.go_back()
        # Fetched again (not from a cache), and the server answers with the sign-in page.
        expect(page).to_have_url(re.compile(rf"/login\?next={re.escape(path)}$"))
        expect(page.get_by_label("用户名", exact=True)).to_be_visible()
        expect(page.get_by_text("demo.officer", exact=True)).to_have_count(0)
        expect(page.get_by_text("陈市管")).to_have_count(0)


def test_no_page_of_the_navigation_scrolls_sideways_on_a_phone(phone: Page) -> None:
    # Wide tables scroll in their own box; long select options and forms shrink to the screen.
    login_ok(phone, "demo.city")
    hrefs = phone.eval_on_selector_all(
        "#main-nav-list a", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(hrefs) > 10
    wide = []
    for href in hrefs:
        phone.goto(href)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide.append((href, width))
    assert wide == []
