"""The sharing domain's registration with the shell (Ch. 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter

from govdata.core.actor import Actor
from govdata.sharing import policy
from govdata.web.domain import Domain, NavEntry


def _api() -> list[APIRouter]:
    from govdata.sharing.api import router
    from govdata.sharing.api.usage import my_router  # /api/v1/my: outside /api/v1/sharing

    return [router, my_router]


def _pages() -> list[APIRouter]:
    from govdata.sharing.pages import router

    return [router]


def _middleware() -> list[Any]:
    from govdata.sharing.hot_dispatch import HotDispatch

    return [HotDispatch]


async def _shutdown(app: Any) -> None:
    from govdata.sharing.hotpath import shutdown

    await shutdown(app)


def _public(actor: Actor) -> bool:
    return actor.is_public


DOMAIN = Domain(
    templates=Path(__file__).resolve().parent / "templates",
    name="sharing",
    model_modules=("govdata.sharing.models",),
    api_routers=_api,
    page_routers=_pages,
    asgi_middleware=_middleware,
    shutdown=_shutdown,
    nav=(
        NavEntry("共享目录", "/sharing/catalog", policy.can_browse, order=200),
        NavEntry("共享申请", "/sharing/applications", policy.can_view_usage, order=210),
        NavEntry("共享授权", "/sharing/grants", policy.can_view_usage, order=220),
        NavEntry("共享调用", "/sharing/usage", policy.can_view_usage, order=230),
        NavEntry("共享异议", "/sharing/objections", policy.can_view_disputes, order=240),
        NavEntry("签名密钥", "/sharing/keys", policy.can_browse, order=250),
        # Art. 40: the person the data is about sees who read it (as Estonia's data tracker).
        NavEntry("谁用了我的数据", "/my/data-use", _public, order=300),
    ),
)
