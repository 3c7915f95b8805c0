"""JSON API of aggregation (Ch. 3) under ``/api/v1/aggregation``; one module per area."""

from __future__ import annotations

from fastapi import APIRouter

from govdata.aggregation.api import base, corrections, pools, quality, thematic
from govdata.core.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/aggregation", tags=["aggregation"], responses=ERROR_RESPONSES)
for _module in (pools, quality, base, thematic, corrections):
    router.include_router(_module.router)

__all__ = ["router"]
