"""Security headers on every response (Art. 39: 防范攻击、泄露; ASVS 14.4).

A pure ASGI middleware: it only adds headers to ``http.response.start``, so it costs nothing
per body chunk and works for pages, JSON, static files, error pages and the 413 of
``BodySizeLimit`` alike. ``HeaderedFastAPI`` installs it outside Starlette's
``ServerErrorMiddleware``, so that an unexpected 500 carries the headers too.

- Content-Security-Policy: no inline script or style anywhere (pages load ``/static``
  files only); the API's Swagger page alone gets its own policy (its CDN and the one inline
  script FastAPI writes, allowed by hash).
- ``Cache-Control: no-store`` on every response except static assets: whatever a signed-in
  person saw is never kept by the browser or a proxy, so Back after sign-out shows nothing.
  A response to a request without credentials may set its own Cache-Control (none does yet).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govdata.web.deps import ANON_COOKIE, SESSION_COOKIE

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=()"
)
# Static assets hold nothing personal: the browser may keep them (ETag revalidation). The
# charts' stylesheet (web/charts.py) is generated, but as static as the files.
CACHEABLE_PREFIXES = ("/static/", "/favicon.ico", "/charts.css")

_FIXED = (
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),  # for browsers without CSP frame-ancestors
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", PERMISSIONS_POLICY),
)
_CREDENTIAL_COOKIES = (SESSION_COOKIE.encode() + b"=", ANON_COOKIE.encode() + b"=")


def _has_credentials(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            return True
        if name == b"cookie" and any(c in value for c in _CREDENTIAL_COOKIES):
            return True
    return False


class SecurityHeaders:
    """Adds the security headers; ``policies`` maps a path to its own CSP (the API docs)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        csp: str = CSP,
        policies: dict[str, str] | None = None,
        cacheable_prefixes: Iterable[str] = CACHEABLE_PREFIXES,
    ) -> None:
        self.app = app
        self.csp = csp
        self.policies = dict(policies or {})
        self.cacheable = tuple(cacheable_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        csp = self.policies.get(path, self.csp)
        cacheable = path.startswith(self.cacheable)
        credentials = _has_credentials(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["content-security-policy"] = csp
                for name, value in _FIXED:
                    headers[name] = value
                if not cacheable and (credentials or "cache-control" not in headers):
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _inline_script_hashes(html: str) -> list[str]:
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
    ]


def docs_policy(app: FastAPI) -> str:
    """The Swagger page's CSP: FastAPI's page loads Swagger UI from its CDN and starts it with
    one inline script, allowed here by its hash (rendered as FastAPI renders the page)."""
    oauth2 = app.swagger_ui_oauth2_redirect_url
    html_bytes = get_swagger_ui_html(
        openapi_url=str(app.openapi_url),
        title=f"{app.title} - Swagger UI",
        oauth2_redirect_url=oauth2,
        init_oauth=app.swagger_ui_init_oauth,
        swagger_ui_parameters=app.swagger_ui_parameters,
    ).body
    html = bytes(html_bytes).decode()
    hashes = " ".join(_inline_script_hashes(html))
    cdn = "https://cdn.jsdelivr.net"
    return (
        f"default-src 'self'; script-src 'self' {cdn} {hashes}; "
        f"style-src 'self' {cdn} 'unsafe-inline'; "
        "img-src 'self' data: https://fastapi.tiangolo.com; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


class HeaderedFastAPI(FastAPI):
    """FastAPI with ``SecurityHeaders`` outermost: around ``ServerErrorMiddleware`` too, whose
    500 page every other middleware (added with ``add_middleware``) never sees."""

    def build_middleware_stack(self) -> ASGIApp:
        policies = {self.docs_url: docs_policy(self)} if self.docs_url else {}
        return SecurityHeaders(super().build_middleware_stack(), policies=policies)
