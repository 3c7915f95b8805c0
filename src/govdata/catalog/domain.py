"""The catalog domain's registration with the shell (Ch. 2)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from govdata.catalog import policy
from govdata.org import policy as org_policy
from govdata.web.domain import Domain, HomeSections, NavEntry


def _api() -> list[APIRouter]:
    from govdata.catalog.api import router

    return [router]


def _pages() -> list[APIRouter]:
    from govdata.catalog.pages import router

    return [router]


def _home() -> HomeSections:
    from govdata.catalog.dashboard import sections

    return sections


def is_unmanaged_table(name: str) -> bool:
    """The search index is kept by migration 0003, not by the models (an FTS5 virtual table and
    its shadow tables on SQLite, a tsvector table on PostgreSQL)."""
    from govdata.catalog.search import is_index_table

    return is_index_table(name)


DOMAIN = Domain(
    templates=Path(__file__).resolve().parent / "templates",
    name="catalog",
    model_modules=("govdata.catalog.models",),
    api_routers=_api,
    page_routers=_pages,
    nav=(
        NavEntry(
            "目录清单",
            "/catalog/my",
            policy.can_keep_lists,
            also_under=("/catalog/departments", "/catalog/working", "/catalog/demands"),
            order=60,
        ),
        NavEntry(
            "目录审核",
            "/catalog/review",
            policy.can_view_review,
            also_under=(
                "/catalog/submissions",
                "/catalog/districts",
                "/catalog/compilations",
                "/catalog/publish",
                "/catalog/publications",
            ),
            order=70,
        ),
        NavEntry("政务数据资源目录", "/catalog", policy.can_read_published, order=80),
        NavEntry("开放目录", "/catalog/open", policy.can_read_open_catalog, order=90),
        # The city bureau keeps the search synonyms (others read them on the search page).
        NavEntry("检索同义词", "/catalog/synonyms", org_policy.is_city_admin, order=95),
        # The city bureau keeps the code lists (安全级别; others read them at the same address).
        NavEntry("代码表", "/catalog/vocabularies", org_policy.is_city_admin, order=96),
    ),
    home_sections=_home,
    unmanaged_tables=is_unmanaged_table,
    job_modules=("govdata.catalog.publishing",),
)
