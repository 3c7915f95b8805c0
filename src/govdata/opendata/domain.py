"""The open-data domain's registration with the shell (Ch. 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter

from govdata.core.actor import Actor
from govdata.opendata import policy
from govdata.opendata.store import is_release_table
from govdata.web.domain import Domain, NavEntry, PeriodicJob


def _everyone(actor: Actor) -> bool:
    return True


def _public(actor: Actor) -> bool:
    return actor.is_public


def _answers(actor: Actor) -> bool:
    """Providers answer their datasets' applications and correction requests; the city bureau
    oversees them (Art. 29, 32 ¶2, 33 ¶2)."""
    return bool(actor.department_ids(*policy.STAFF_OF_DEPARTMENT)) or policy.is_bureau(actor)


def _reads_answers(actor: Actor) -> bool:
    """Auditors and district bureaus read the answers too, without answering (Art. 6 ¶2, 49)."""
    return (
        _answers(actor)
        or policy.oversees_all(actor)
        or policy.overseen_departments(actor) is not None
    )


def _sign_in_links(settings: Any) -> list[tuple[str, str]]:
    """Citizens and companies sign in through the city's unified identity platform when it is
    configured, or register with their real-name data (Art. 33 ¶3)."""
    from govdata.opendata import oidc

    links = [("通过统一身份认证平台登录", "/open/oidc/login")] if oidc.enabled(settings) else []
    return [*links, ("公众用户实名注册", "/open/register")]


def _api() -> list[APIRouter]:
    from govdata.opendata.api import extra_routers, router

    return [router, *extra_routers]


def _pages() -> list[APIRouter]:
    from govdata.opendata.pages import router

    return [router]


DOMAIN = Domain(
    templates=Path(__file__).resolve().parent / "templates",
    name="opendata",
    model_modules=("govdata.opendata.models",),
    job_modules=("govdata.opendata.tasks",),
    # Releases rebuilt when their pool moved or their update cycle came round (Art. 31 ¶2).
    periodic=(PeriodicJob("opendata.rebuild_releases", "30 2 * * *"),),
    api_routers=_api,
    sign_in_links=_sign_in_links,
    page_routers=_pages,
    unmanaged_tables=is_release_table,
    nav=(
        NavEntry("开放门户", "/open", _everyone, order=400),
        NavEntry("实名认证", "/open/identity", _public, also_under=("/open/register",), order=405),
        NavEntry("开放申请", "/open/applications", _public, order=410),
        NavEntry("目录纠错", "/open/corrections", _public, order=420),
        NavEntry("开发者密钥", "/open/developer/keys", _public, order=430),
        NavEntry("我的参与", "/open/my", _public, order=432),
        # The providers' and the bureau's side (Art. 31, 32 ¶2, 33 ¶2, 36, 37).
        NavEntry(
            "开放数据发布",
            "/opendata/releases",
            _answers,
            also_under=("/opendata/datasets",),
            order=435,
        ),
        NavEntry("开放申请答复", "/opendata/applications", _reads_answers, order=440),
        NavEntry("目录纠错答复", "/opendata/corrections", _reads_answers, order=450),
        NavEntry("内容审核", "/opendata/moderation", policy.can_moderate, order=470),
    ),
)
