"""The open-data domain's registration with the shell (Ch. 5)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from govdata.opendata.store import is_release_table
from govdata.web.domain import Domain, PeriodicJob


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
    page_routers=_pages,
    unmanaged_tables=is_release_table,
    nav=(),
)
