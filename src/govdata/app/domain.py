"""The shell's own registration: the platform's shared pages and core JSON API (home, sign-in,
account, the audit chain, the statutory calendar), beside the domains'."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from govdata.app.access_records import can_view_access_records
from govdata.org.policy import can_view_audit, is_staff
from govdata.web.domain import Domain, HomeSections, NavEntry, PeriodicJob


def _api() -> list[APIRouter]:
    from govdata.app.api import router

    return [router]


def _pages() -> list[APIRouter]:
    from govdata.app import account_pages, audit_pages, pages

    return [pages.router, account_pages.router, audit_pages.router]


def _home() -> HomeSections:
    from govdata.app.home import sections

    return sections


def _everyone(actor: object) -> bool:
    return True


PLATFORM = Domain(
    templates=Path(__file__).resolve().parent / "templates",
    name="platform",
    model_modules=(
        "govdata.core.access",
        "govdata.core.audit",
        "govdata.core.calendar",
        "govdata.core.obligations",
        "govdata.core.ratelimit",
    ),
    job_modules=("govdata.core.obligations",),
    api_routers=_api,
    page_routers=_pages,
    nav=(
        NavEntry("首页", "/", _everyone, order=0),
        NavEntry("工作日历", "/workdays", is_staff, order=900),
        NavEntry("审计日志", "/audit", can_view_audit, order=910),
        NavEntry("调用记录", "/audit/access", can_view_access_records, order=911),
        NavEntry("我的账户", "/account", _everyone, order=990),
    ),
    home_sections=_home,
    # Statutory clocks past their due date are flagged (Art. 50(8)), Beijing's small hours.
    periodic=(PeriodicJob("core.scan_overdue", "5 16 * * *"),),
)
