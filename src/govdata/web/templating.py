"""Jinja2 rendering shared by every domain's pages: zh-CN layout, navigation, CSRF field."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup

from govdata.core.actor import Actor
from govdata.core.crypto import new_token
from govdata.web.csrf import csrf_token
from govdata.web.deps import ANON_COOKIE, CSRF_FIELD, browser_secret, get_settings
from govdata.web.nav import navigation

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# Shown times are Beijing time; stored times are UTC.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _template_dirs() -> list[str]:
    dirs = [str(PACKAGE_ROOT / "web" / "templates")]
    for child in sorted(PACKAGE_ROOT.iterdir()):
        candidate = child / "templates"
        if child.name != "web" and candidate.is_dir():
            dirs.append(str(candidate))
    return dirs


templates = Jinja2Templates(directory=_template_dirs())
templates.env.loader = ChoiceLoader([FileSystemLoader(d) for d in _template_dirs()])


def _local(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).strftime(fmt)
    return value.strftime("%Y-%m-%d")


templates.env.filters["local"] = _local
WEEKDAYS = "一二三四五六日"
templates.env.filters["weekday"] = lambda d: "周" + WEEKDAYS[d.weekday()]


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with the layout's needs: actor, navigation, and a CSRF token.

    A browser without any cookie yet gets an anonymous one here, so that even the sign-in
    form carries a token bound to it.
    """
    settings = get_settings(request)
    secret = browser_secret(request)
    new_anon = None
    if secret is None:
        secret = new_anon = new_token()
    token = csrf_token(settings.secret_key, secret)
    actor: Actor | None = getattr(request.state, "actor", None)
    ctx: dict[str, Any] = {
        "actor": actor,
        "nav": navigation(actor, request.url.path),
        "csrf_token": token,
        "csrf_field": Markup(  # noqa: S704 - token is our own hex digest
            f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">'
        ),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    if new_anon is not None:
        response.set_cookie(
            ANON_COOKIE,
            new_anon,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        )
    return response
