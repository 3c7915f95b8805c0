"""Jinja2 rendering shared by every domain's pages: zh-CN layout, navigation, CSRF field."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from govdata.core.actor import Actor
from govdata.core.crypto import new_token
from govdata.web.csrf import csrf_token
from govdata.web.deps import ANON_COOKIE, CSRF_FIELD, browser_secret, get_settings

# Shown times are Beijing time; stored times are UTC.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# The layout and error page; each domain's own directory is added as it registers.
_loaders: list[BaseLoader] = [FileSystemLoader(Path(__file__).resolve().parent / "templates")]
_template_dirs: set[Path] = set()
templates = Jinja2Templates(
    env=Environment(loader=ChoiceLoader(_loaders), autoescape=select_autoescape())
)


def add_template_dir(directory: Path) -> None:
    """Make a domain's templates (``<domain>/templates``) findable by name (idempotent)."""
    if directory not in _template_dirs:
        _template_dirs.add(directory)
        _loaders.append(FileSystemLoader(directory))


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
        "nav": request.app.state.navigation(actor, request.url.path),
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
