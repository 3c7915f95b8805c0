"""The sharing JSON API under ``/api/v1/sharing`` (Ch. 4): one router per part.

The data access API for department systems (Art. 22) lives under ``/api/v1/sharing/data``.
"""

from __future__ import annotations

from fastapi import APIRouter

from govdata.sharing.api import bulk

router = APIRouter(prefix="/api/v1/sharing", tags=["sharing"])

# Each part's router, included once it exists (one line per part).
PARTS: list[APIRouter] = [
    bulk.router,
]

for _part in PARTS:
    router.include_router(_part)
