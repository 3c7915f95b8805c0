"""The aggregation domain's registration with the shell (Ch. 3)."""

from __future__ import annotations

from pathlib import Path

import typer
from fastapi import APIRouter

from govdata.aggregation import policy
from govdata.org.policy import is_staff
from govdata.web.domain import Domain, HomeSections, NavEntry, PeriodicJob


def _api() -> list[APIRouter]:
    from govdata.aggregation.api import router

    return [router]


def _pages() -> list[APIRouter]:
    from govdata.aggregation.pages import router

    return [router]


def _cli(root: typer.Typer) -> None:
    from govdata.aggregation.cli import pool_app

    root.add_typer(pool_app, name="pool")


def _home() -> HomeSections:
    from govdata.aggregation.dashboard import sections

    return sections


def is_unmanaged_table(name: str) -> bool:
    """Pool, base and thematic tables are created at run time from the catalog."""
    from govdata.aggregation.tables import is_data_table

    return is_data_table(name)


DOMAIN = Domain(
    templates=Path(__file__).resolve().parent / "templates",
    name="aggregation",
    model_modules=("govdata.aggregation.models",),
    job_modules=("govdata.aggregation.tasks",),
    api_routers=_api,
    page_routers=_pages,
    nav=(
        NavEntry("数据资源池", "/aggregation/pools", policy.can_open_pools, order=100),
        NavEntry("数据质量", "/aggregation/quality", policy.can_read_quality, order=110),
        NavEntry("基础数据库", "/aggregation/base", policy.can_read_bases, order=120),
        NavEntry("主题数据库", "/aggregation/thematic", is_staff, order=130),
        NavEntry("数据校核", "/aggregation/corrections", policy.can_open_pools, order=140),
    ),
    home_sections=_home,
    # Loads a killed process left behind are failed and cleaned up (decision 0005).
    periodic=(PeriodicJob("aggregation.sweep", "*/10 * * * *"),),
    unmanaged_tables=is_unmanaged_table,
    cli=_cli,
)
