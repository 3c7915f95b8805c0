"""zh-CN pages of aggregation (Ch. 3) under ``/aggregation``: pools and loads, quality, base and
thematic databases, corrections. As in the catalog, the prefix and the CSRF check come from
``router`` here, once.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from govdata.aggregation.pages import (
    base,
    base_checks,
    base_confirm,
    corrections,
    pools,
    quality,
    thematic,
)
from govdata.web.deps import form_csrf

router = APIRouter(
    prefix="/aggregation", dependencies=[Depends(form_csrf)], include_in_schema=False
)
# base_checks before base: ``/base/{kind}`` would take ``/base/conflicts``.
for _module in (pools, quality, base_checks, base_confirm, base, thematic, corrections):
    router.include_router(_module.router)

__all__ = ["router"]
