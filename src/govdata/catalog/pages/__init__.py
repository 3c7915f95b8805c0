"""zh-CN pages of the catalog (Ch. 2): department lists, district compilation, city review,
the published catalog with its versions, responsibility, share and open catalogs, search, import.

Handlers only translate HTTP to the catalog services and back. A form the service refuses is
shown again with the message and everything the user typed; the unit of work is ended first
(``finish_failed``) so that nothing of the refused change is stored.

The modules' routers carry neither the prefix nor the CSRF check: both come from ``router``
here, once, when they are included. They are included in the order the routes must be matched.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from govdata.catalog.pages import (
    demands,
    lists,
    published,
    review,
    synonyms,
    transfer,
    vocabularies,
)
from govdata.web.deps import form_csrf

router = APIRouter(
    prefix="/catalog",
    dependencies=[Depends(form_csrf), Depends(vocabularies.load_lists)],
    include_in_schema=False,
)
router.include_router(lists.router)
router.include_router(demands.router)
router.include_router(review.router)
# "/catalog" itself: an included router may not hold an empty path when included without a prefix.
router.add_api_route("", published.published_catalog, methods=["GET"])
router.include_router(published.router)
router.include_router(transfer.router)
router.include_router(synonyms.router)
router.include_router(vocabularies.router)

__all__ = ["router"]
