"""我的参与: a person's ratings and comments, reuses and data requests with how each stands
(Art. 36, 37)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from govdata.opendata import mine
from govdata.opendata.data_requests import RequestStatus
from govdata.opendata.models import ModerationStatus, ReuseKind
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/open/my")
def my_contributions(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    return render(
        request,
        "opendata/mine.html",
        {
            "title": "我的参与",
            "mine": mine.contributions(session, actor),
            "moderation": {s.value: s.label for s in ModerationStatus},
            "request_status": {s.value: s.label for s in RequestStatus},
            "kinds": {k.value: k.label for k in ReuseKind},
        },
    )
