"""The sharing JSON API under ``/api/v1/sharing`` (Ch. 4): one router per part.

The data access API for department systems (Art. 22) lives under ``/api/v1/sharing/data``.
"""

from __future__ import annotations

from fastapi import APIRouter

from govdata.core.schemas import ERROR_RESPONSES
from govdata.sharing.api import data

router = APIRouter(prefix="/api/v1/sharing", tags=["sharing"], responses=ERROR_RESPONSES)

# Each part's router, included once it exists (one line per part).
PARTS: list[APIRouter] = [
    data.router,
]

for _part in PARTS:
    router.include_router(_part)
