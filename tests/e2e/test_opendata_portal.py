"""Browser: the open-data portal on a phone (Chromium, 375 px wide), as an anonymous visitor
(Art. 32: browsing needs no sign-in): no page scrolls sideways and none breaks the strict CSP
(its stylesheet and the charts' are files)."""

from __future__ import annotations

from playwright.sync_api import Browser, ConsoleMessage

from tests.e2e.helpers import LiveServer

PHONE = {"width": 375, "height": 800}


def test_portal_pages_fit_a_phone_under_the_csp(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    try:
        for url in ("/open", "/open/datasets", "/open/departments", "/open/stats", "/open/terms"):
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (url, width)
            # The portal's stylesheet applied: one column on a phone.
            assert page.locator("nav.portal-nav").is_visible()
        page.goto("/open")
        page.fill("#q", "人口")
        page.click("form.portal-search button")
        page.wait_for_url("**/open/datasets?q=*")
        assert page.locator('[data-testid="total"]').is_visible()
        assert violations == []
    finally:
        context.close()
