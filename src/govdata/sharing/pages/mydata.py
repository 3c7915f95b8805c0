"""``/my/data-use``: 谁用了我的数据 (Art. 40), for a signed-in citizen or company."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from govdata.core.types import Offset
from govdata.sharing import charts, mydata
from govdata.web.deps import CurrentActor, DbSession, form_csrf
from govdata.web.templating import render

router = APIRouter(prefix="/my", dependencies=[Depends(form_csrf)], include_in_schema=False)

PAGE_SIZE = 20


@router.get("/data-use")
def my_data_use_page(
    request: Request, session: DbSession, actor: CurrentActor, offset: Offset = 0
) -> Response:
    result = mydata.my_data_use(session, actor, offset=offset, limit=PAGE_SIZE)
    return render(
        request,
        "sharing/mydata.html",
        {
            "title": "谁用了我的数据",
            "r": result,
            "page": result.page,
            "explanation": mydata.EXPLANATION,
            "not_verified": mydata.NOT_VERIFIED_DETAIL,
            "chart": charts.per_month("近 12 个月与您有关的数据调用次数", result.months)
            if result.verified
            else None,
            "prev_url": "?" + urlencode({"offset": max(offset - PAGE_SIZE, 0)}),
            "next_url": "?" + urlencode({"offset": offset + PAGE_SIZE}),
        },
    )
