"""The organization domain's registration with the shell (Art. 5-7, 39)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from govdata.org import policy
from govdata.web.domain import Domain, HomeSections, NavEntry


def _api() -> list[APIRouter]:
    from govdata.org.api import router

    return [router]


def _pages() -> list[APIRouter]:
    from govdata.org.pages import router

    return [router]


def _home() -> HomeSections:
    from govdata.org.dashboard import sections

    return sections


DOMAIN = Domain(
    templates=Path(__file__).resolve().parent / "templates",
    name="org",
    model_modules=("govdata.org.models",),
    api_routers=_api,
    page_routers=_pages,
    nav=(
        NavEntry("行政区域", "/org/regions", policy.is_staff, order=20),
        NavEntry("部门", "/org/departments", policy.can_list_departments, order=30),
        NavEntry("本部门", "/org/my-department", policy.has_department_role, order=40),
        NavEntry("人员与角色", "/org/people", policy.can_list_people, order=50),
    ),
    home_sections=_home,
)
