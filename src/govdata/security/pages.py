"""zh-CN pages of the security domain: ``/security``, the city bureau's security page (Art. 39):
open signals first with their counts, acknowledgement with a note, the thresholds, a chart.
Auditors read it; nobody else."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from govdata.core.types import DbId, Offset
from govdata.security import charts, policy, rules, scanning, service
from govdata.security.models import SignalKind, SignalStatus
from govdata.security.schemas import RuleUpdate
from govdata.web.deps import CurrentActor, DbSession, form_csrf
from govdata.web.templating import render

router = APIRouter(prefix="/security", dependencies=[Depends(form_csrf)], include_in_schema=False)

PAGE_SIZE = 50
FLASHES = {
    "acknowledged": "已确认该安全预警。",
    "rule": "已保存监测规则，下一次扫描起生效。",
    "scanned": "扫描完成：新发出 {created} 条预警，更新 {updated} 条未处理的预警。",
}
SUBJECT_TYPES = {"person": "人员", "token": "接口令牌", "address": "地址"}


def _flash(msg: str | None, created: int, updated: int) -> str | None:
    text = FLASHES.get(msg or "")
    return text.format(created=created, updated=updated) if text else None


@router.get("")
def security_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    status: Annotated[SignalStatus | None, Query()] = None,
    kind: Annotated[SignalKind | None, Query()] = None,
    offset: Offset = 0,
    msg: Annotated[str | None, Query(max_length=20)] = None,
    created: Annotated[int, Query(ge=0, le=100_000)] = 0,
    updated: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    page = service.list_signals(
        session, actor, status=status, kind=kind, offset=offset, limit=PAGE_SIZE
    )
    counts = service.open_counts(session, actor)
    dates, series = service.raised_per_day(session, actor)
    chart = charts.raised_chart("近 14 天每日发出的安全预警（按类别）", dates, series)
    query = {k: v for k, v in (("status", status), ("kind", kind)) if v is not None}
    return render(
        request,
        "security/signals.html",
        {
            "title": "安全监测",
            "page": page,
            "counts": counts,
            "open_total": sum(counts.values()),
            "kinds": list(SignalKind),
            "kind_labels": {k.value: k.label for k in SignalKind},
            "status": status,
            "kind": kind,
            "rules": rules.list_rules(session, actor),
            "can_manage": policy.can_manage_signals(actor),
            "chart": chart,
            "dates": dates,
            "series": series,
            "subject_types": SUBJECT_TYPES,
            "flash": _flash(msg, created, updated),
            "prev_url": "?" + urlencode({**query, "offset": max(offset - PAGE_SIZE, 0)}),
            "next_url": "?" + urlencode({**query, "offset": offset + PAGE_SIZE}),
        },
    )


@router.post("/signals/{signal_id}/acknowledge")
def acknowledge(
    session: DbSession,
    actor: CurrentActor,
    signal_id: DbId,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    service.acknowledge(session, actor, signal_id, note)
    return RedirectResponse("/security?msg=acknowledged", status_code=303)


@router.post("/rules/{kind}")
def update_rule(
    session: DbSession,
    actor: CurrentActor,
    kind: SignalKind,
    threshold: Annotated[int, Form()],
    window_minutes: Annotated[int, Form()],
    factor: Annotated[float, Form()] = 1.0,
    hours_from: Annotated[int, Form()] = 8,
    hours_to: Annotated[int, Form()] = 20,
    enabled: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    data = RuleUpdate(
        enabled=enabled is not None,
        threshold=threshold,
        window_minutes=window_minutes,
        factor=factor,
        hours_from=hours_from,
        hours_to=hours_to,
    )
    rules.update_rule(session, actor, kind.value, data)
    return RedirectResponse(f"/security?msg=rule#rule-{kind.value}", status_code=303)


@router.post("/scan")
def scan_now(session: DbSession, actor: CurrentActor) -> Response:
    result = scanning.scan_as(session, actor)
    query = urlencode({"msg": "scanned", "created": len(result.created), "updated": result.updated})
    return RedirectResponse(f"/security?{query}", status_code=303)
