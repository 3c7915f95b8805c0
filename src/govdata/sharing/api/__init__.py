"""The sharing JSON API under ``/api/v1/sharing`` (Ch. 4): one router per part.

The data access API for department systems (Art. 22) lives under ``/api/v1/sharing/data``.
"""

from __future__ import annotations

from importlib import import_module

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/sharing", tags=["sharing"])

# Each part's router, included once it exists (one line per part).
PARTS: list[APIRouter] = []
PARTS.append(
    import_module("govdata.sharing.api.keys").router
)  # signing keys, signed documents (Art. 28)

for _part in PARTS:
    router.include_router(_part)
