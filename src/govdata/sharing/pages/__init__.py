"""The sharing pages (zh-CN, Ch. 4): one router per part."""

from __future__ import annotations

from fastapi import APIRouter

from govdata.sharing.pages import catalog, grants

router = APIRouter()

# Each part's router, included once it exists (one line per part).
PARTS: list[APIRouter] = [
    catalog.router,
    grants.router,
]

for _part in PARTS:
    router.include_router(_part)
