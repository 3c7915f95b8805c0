"""The sharing pages (zh-CN, Ch. 4): one router per part."""

from __future__ import annotations

from importlib import import_module

from fastapi import APIRouter

router = APIRouter()

# Each part's router, included once it exists (one line per part).
PARTS: list[APIRouter] = []
PARTS.append(
    import_module("govdata.sharing.pages.keys").router
)  # signing keys, signed documents (Art. 28)

for _part in PARTS:
    router.include_router(_part)
