"""Setting and clearing the sign-in cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS)."""

from __future__ import annotations

from starlette.responses import Response

from govdata.core.settings import Settings
from govdata.web.deps import ANON_COOKIE, SESSION_COOKIE


def set_session_cookie(response: Response, settings: Settings, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    # The anonymous pre-sign-in cookie is done with: rotation at sign-in.
    response.delete_cookie(ANON_COOKIE, path="/")


# Sign-out also empties what the browser kept of this site's pages: its HTTP cache and its
# back/forward cache, so that Back shows no page of the person who signed out (pages carry
# no-store already, web/headers.py; Chromium may still keep a no-store page in its back/forward
# cache). Cookies and storage are left: the sign-in cookie is deleted by name just below.
CLEAR_SITE_DATA = '"cache"'


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
