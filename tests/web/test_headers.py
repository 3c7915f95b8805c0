"""Security headers on every response, and no-store for what a signed-in person sees
(Art. 39 防范攻击、泄露; ASVS 14.4). Checked from the attacker's side: a framing page, an injected
inline script or style, a browser or proxy cache read after sign-out."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from govdata.web.headers import CSP

HTML = {"Accept": "text/html,application/xhtml+xml"}
SRC = Path(__file__).resolve().parents[2] / "src" / "govdata"


def _assert_secured(r, *, csp: str = CSP) -> None:  # type: ignore[no-untyped-def]
    assert r.headers["content-security-policy"] == csp, r.request.url
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in r.headers["permissions-policy"]


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_the_policy_allows_no_inline_script_or_style_and_no_framing() -> None:
    d = _directives(CSP)
    assert d["script-src"] == ["'self'"] and d["style-src"] == ["'self'"]
    assert d["default-src"] == ["'self'"] and d["object-src"] == ["'none'"]
    assert d["frame-ancestors"] == ["'none'"] and d["base-uri"] == ["'self'"]
    assert d["form-action"] == ["'self'"] and d["img-src"] == ["'self'", "data:"]


def test_every_kind_of_response_carries_the_headers(client: TestClient, settings) -> None:  # type: ignore[no-untyped-def]
    responses = [
        client.get("/login", headers=HTML),  # a page
        client.get("/api/v1/org/people"),  # JSON refusal (401)
        client.get("/static/style.css"),  # a static file
        client.get("/static/nothing.css"),  # a static 404
        client.get("/no/such/page", headers=HTML),  # an error page
        client.get("/api/v1/no/such/route"),  # a JSON 404
        client.post("/api/v1/auth/session", content=b"x" * (settings.max_body_bytes + 1)),  # 413
        client.get("/favicon.ico"),
    ]
    assert [r.status_code for r in responses] == [200, 401, 200, 404, 404, 404, 413, 200]
    for r in responses:
        _assert_secured(r)


def test_an_unexpected_500_carries_the_headers_too(app: FastAPI) -> None:
    # Starlette answers a 500 from ServerErrorMiddleware, outside every add_middleware layer.
    def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/boom-for-headers-test", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom-for-headers-test")
    assert r.status_code == 500
    _assert_secured(r)
    assert r.headers["cache-control"] == "no-store"


def test_a_signed_in_page_and_json_are_never_stored(sign_in) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("city")
    for url, headers in (("/", HTML), ("/org/people", HTML), ("/api/v1/org/people", {})):
        r = c.get(url, headers=headers)
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == "no-store", url


def test_a_bearer_request_is_never_stored_even_when_the_route_sets_caching(app: FastAPI) -> None:
    from fastapi.responses import JSONResponse

    def cached() -> JSONResponse:
        return JSONResponse({"x": 1}, headers={"Cache-Control": "public, max-age=3600"})

    app.add_api_route("/cached-for-headers-test", cached)
    with TestClient(app) as c:
        anonymous = c.get("/cached-for-headers-test")
        with_token = c.get("/cached-for-headers-test", headers={"Authorization": "Bearer x"})
        with_cookie = c.get("/cached-for-headers-test", headers={"Cookie": "govdata_session=s"})
    # A public response may choose its caching; a request with credentials never gets it.
    assert anonymous.headers["cache-control"] == "public, max-age=3600"
    assert with_token.headers["cache-control"] == "no-store"
    assert with_cookie.headers["cache-control"] == "no-store"


def test_sign_in_and_sign_out_pages_are_never_stored(app: FastAPI) -> None:
    from tests.web.test_pages import _form_sign_in

    with TestClient(app, raise_server_exceptions=False, headers=HTML) as c:
        assert c.get("/login").headers["cache-control"] == "no-store"
        r = _form_sign_in(c, "city")
        assert r.status_code == 303 and r.headers["cache-control"] == "no-store"
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', c.get("/").text)
        assert token
        r = c.post("/logout", data={"csrf_token": token.group(1)}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["cache-control"] == "no-store"
        # Sign-out empties the browser's cache of the site, back/forward cache included.
        assert r.headers["clear-site-data"] == '"cache"'


def test_static_assets_stay_cacheable_for_a_signed_in_browser(sign_in) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("city").get("/static/style.css")
    assert r.status_code == 200 and "cache-control" not in r.headers and r.headers["etag"]


def test_favicon_answers(client: TestClient) -> None:
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.content.startswith(b"<svg")


def test_the_api_docs_policy_allows_exactly_its_own_inline_script(client: TestClient) -> None:
    r = client.get("/api/docs")
    assert r.status_code == 200
    d = _directives(r.headers["content-security-policy"])
    scripts = re.findall(r"<script>(.*?)</script>", r.text, flags=re.DOTALL)
    assert scripts
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in d["script-src"]
    assert "'unsafe-inline'" not in d["script-src"] and d["frame-ancestors"] == ["'none'"]
    # Only the docs: every other page keeps the strict policy.
    _assert_secured(client.get("/login", headers=HTML))


# --- the pages themselves hold nothing the policy would block ----------------------------------

TEMPLATES = sorted(SRC.rglob("templates/**/*.html"))
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+\s*=|javascript:", re.IGNORECASE
)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_template_has_inline_script_style_or_handlers(path: Path) -> None:
    found = INLINE.findall(path.read_text(encoding="utf-8"))
    assert not found, f"{path}: {found}"


def test_the_static_scripts_a_page_names_exist(client: TestClient) -> None:
    names = set()
    for path in TEMPLATES:
        names.update(re.findall(r'<script src="([^"]+)"', path.read_text(encoding="utf-8")))
    assert names >= {"/static/load.js", "/static/back.js", "/static/nav.js"}
    for name in names:
        r = client.get(name)
        assert r.status_code == 200 and "javascript" in r.headers["content-type"], name


def test_a_quality_page_draws_its_charts_without_inline_style(sign_in) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("city")
    html = c.get("/aggregation/quality", headers=HTML).text
    assert '<svg role="img"' in html and 'class="pygal-chart' in html
    assert not INLINE.findall(html)
    assert '<link rel="stylesheet" href="/charts.css">' in html
    css = c.get("/charts.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".pygal-chart .color-3" in css.text and "&gt;" not in css.text


def test_the_security_page_draws_its_chart_without_inline_style(  # type: ignore[no-untyped-def]
    sign_in, session, world
) -> None:
    # Art. 39: the monitoring page itself runs under the strict policy; before, pygal's <style>
    # stayed in its SVG (blocked: the chart drew black) and the template had style attributes.
    from govdata.security.scanning import scan
    from tests.security.helpers import NOW, refusals

    refusals(session, world.actor(session, "officer"), 10)
    assert scan(session, NOW).created
    session.commit()
    html = sign_in("city").get("/security", headers=HTML).text
    assert 'data-testid="raised-chart"' in html and '<svg role="img"' in html
    assert not INLINE.findall(html)
    assert '<link rel="stylesheet" href="/charts.css">' in html
    # The probing signal's bar and legend in its own colour (the purple of the palette).
    assert 'class="series serie-2 color-3"' in html


def test_the_charts_stylesheet_is_cacheable_for_a_signed_in_browser(sign_in) -> None:  # type: ignore[no-untyped-def]
    # One file for every chart of every page, nothing personal in it: kept and revalidated,
    # unlike the pages (no-store).
    c = sign_in("city")
    r = c.get("/charts.css")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public, max-age=")
    _assert_secured(r)
    again = c.get("/charts.css", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    stale = c.get("/charts.css", headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.text == r.text
