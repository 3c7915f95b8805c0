"""The open-data JSON API under ``/api/v1/opendata`` (Ch. 5): one router per part.

The CKAN-compatible action API (``/api/3/action``, ``/api/action``) and the DCAT documents
(``/catalog.ttl`` …) have routers of their own (``extra_routers``): outside ``/api/v1``, in
the shapes their clients expect.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from govdata.core.schemas import ERROR_RESPONSES
from govdata.opendata.api import applications, community, corrections, keys, portal, releases

router = APIRouter(prefix="/api/v1/opendata", tags=["opendata"], responses=ERROR_RESPONSES)

_PARTS: tuple[Any, ...] = (
    keys,
    applications,
    corrections,
    releases,
    community,
    portal,
)
for _part in _PARTS:
    router.include_router(_part.router)

# Routers outside /api/v1 (CKAN's and DCAT's shapes).
from govdata.opendata.api import ckan, dcat  # noqa: E402

extra_routers: list[APIRouter] = [ckan.router, dcat.router]

__all__ = ["extra_routers", "router"]
