"""The sharing JSON API under ``/api/v1/sharing`` (Ch. 4): one router per part.

The data access API for department systems (Art. 22) lives under ``/api/v1/sharing/data``;
"who used my data" (``/api/v1/my/data-use``) has its own router (``api.usage.my_router``).
"""

from __future__ import annotations

from fastapi import APIRouter

from govdata.core.schemas import ERROR_RESPONSES
from govdata.sharing.api import applications, bulk, catalog, data, grants, keys, objections, usage

router = APIRouter(prefix="/api/v1/sharing", tags=["sharing"], responses=ERROR_RESPONSES)

for _part in (
    catalog,
    grants,
    applications,
    objections,
    usage,
    keys,
    data,
    bulk,
):
    router.include_router(_part.router)

__all__ = ["router"]
