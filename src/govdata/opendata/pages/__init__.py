"""The open-data pages (zh-CN, Ch. 5): the public portal under ``/open`` (browsing needs no
sign-in, Art. 32) and the providers' and the bureau's pages under ``/opendata``. Every form
posted to them carries the CSRF token (Art. 39), checked here once for all parts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from govdata.opendata.pages import (
    applications,
    community,
    corrections,
    downloads,
    identity,
    keys,
    mine,
    portal,
    releases,
)
from govdata.web.deps import form_csrf

router = APIRouter(dependencies=[Depends(form_csrf)], include_in_schema=False)

_PARTS: tuple[Any, ...] = (
    identity,
    keys,
    applications,
    corrections,
    releases,
    community,
    mine,
    portal,
    downloads,
)
for _part in _PARTS:
    router.include_router(_part.router)

__all__ = ["router"]
