"""zh-CN pages of developer keys (issue 14 §9, Art. 33 ¶3).

- ``/open/developer/keys``: a signed-in person with a checked identity creates a key (the
  secret shown once, on the answer to the creation, never in a URL), lists their keys with
  today's calls against the quota, and revokes them.
- ``/open/developers``: the API's page, for everyone: endpoints, examples, quotas.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from govdata.core.types import DbId
from govdata.opendata import keys
from govdata.opendata.api_auth import beijing_day
from govdata.opendata.policy import identity_checked
from govdata.web.deps import CurrentActor, DbSession, OptionalActor, get_settings
from govdata.web.templating import render

router = APIRouter()

FLASHES = {"revoked": "已吊销该密钥：使用它的调用将被拒绝。"}


def _page(request: Request, session: DbSession, actor: CurrentActor, **extra: Any) -> Response:
    if not identity_checked(session, actor):
        # Art. 33 ¶3: keys obtain open data, so they need identity authentication first. The
        # page (a menu entry of every public account) says so and links to it; a form posted
        # without it is refused.
        return render(
            request,
            "opendata/keys_list.html",
            {"title": "开发者密钥", "identified": False},
            status_code=200 if request.method == "GET" else 403,
        )
    views = keys.list_keys(session, actor, beijing_day())
    return render(
        request,
        "opendata/keys_list.html",
        {
            "title": "开发者密钥",
            "identified": True,
            "keys": views,
            "limit": keys.MAX_LIVE_KEYS,
            **extra,
        },
    )


@router.get("/open/developer/keys")
def keys_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _page(request, session, actor, flash=FLASHES.get(msg or ""))


@router.post("/open/developer/keys")
def create_key(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    name: Annotated[str, Form(max_length=100)],
) -> Response:
    if not identity_checked(session, actor):
        return _page(request, session, actor)  # the same 403 page that asks for identity
    issued = keys.create_key(session, actor, name)
    # Rendered, not redirected: the secret is shown once and never travels in a URL.
    return _page(request, session, actor, issued=issued)


@router.post("/open/developer/keys/{key_id}/revoke")
def revoke_key(session: DbSession, actor: CurrentActor, key_id: DbId) -> Response:
    keys.revoke_key(session, actor, key_id)
    return RedirectResponse("/open/developer/keys?msg=revoked", status_code=303)


@router.get("/open/developers")
def developers_page(request: Request, actor: OptionalActor) -> Response:
    settings = get_settings(request)
    return render(
        request,
        "opendata/keys_developers.html",
        {
            "title": "开发者中心",
            "base_url": str(request.base_url).rstrip("/"),
            "daily_quota": settings.opendata_key_daily_quota,
            "anonymous_rate": settings.opendata_anonymous_rate,
        },
    )
