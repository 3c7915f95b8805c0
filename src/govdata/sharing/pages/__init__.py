"""The sharing pages (zh-CN, Ch. 4): one router per part."""

from __future__ import annotations

from fastapi import APIRouter

from govdata.sharing.pages import applications, keys

router = APIRouter()

for _part in (applications, keys):
    router.include_router(_part.router)

__all__ = ["router"]
