"""The sharing pages (zh-CN, Ch. 4): one router per part. Every form posted to them carries
the CSRF token (Art. 39), checked here once for all parts."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from govdata.sharing.pages import applications, catalog, grants, keys, mydata, objections, usage
from govdata.web.deps import form_csrf

router = APIRouter(dependencies=[Depends(form_csrf)], include_in_schema=False)

for _part in (
    catalog,
    grants,
    applications,
    objections,
    usage,
    mydata,
    keys,
):
    router.include_router(_part.router)

__all__ = ["router"]
