"""The security domain's registration with the shell (Ch. 6, Art. 39)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from govdata.security import policy
from govdata.web.domain import Domain, HomeSections, NavEntry, PeriodicJob


def _api() -> list[APIRouter]:
    from govdata.security.api import router

    return [router]


def _pages() -> list[APIRouter]:
    from govdata.security.pages import router

    return [router]


def _home() -> HomeSections:
    from govdata.security.dashboard import sections

    return sections


DOMAIN = Domain(
    templates=Path(__file__).resolve().parent / "templates",
    name="security",
    model_modules=("govdata.security.models",),
    job_modules=("govdata.security.tasks",),
    api_routers=_api,
    page_routers=_pages,
    nav=(NavEntry("安全监测", "/security", policy.can_view_signals, order=880),),
    home_sections=_home,
    # Monitoring and warning (Art. 39): the access records of the last minute, every minute.
    periodic=(PeriodicJob("security.scan", "* * * * *"),),
)
