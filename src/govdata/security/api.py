"""JSON API of the security domain under ``/api/v1/security`` (Art. 39): the signals, their
acknowledgement, the thresholds, and a scan on demand. Read by the city bureau and auditors;
changed by the city bureau only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from govdata.core.pagination import PageOut
from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import DbId, Offset
from govdata.security import rules, scanning, service
from govdata.security.models import Signal, SignalKind, SignalRule, SignalStatus
from govdata.security.schemas import (
    AcknowledgeIn,
    KindCount,
    RuleOut,
    RuleUpdate,
    ScanOut,
    SignalOut,
)
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter(prefix="/api/v1/security", tags=["security"], responses=ERROR_RESPONSES)
Limit = Annotated[int, Query(ge=1, le=200)]


def signal_out(s: Signal) -> SignalOut:
    kind = s.kind_enum
    return SignalOut.model_validate(
        {
            **{c: getattr(s, c) for c in SignalOut.model_fields if hasattr(s, c)},
            "kind_label": kind.label,
            "article": kind.article,
        }
    )


def rule_out(r: SignalRule) -> RuleOut:
    kind = SignalKind(r.kind)
    return RuleOut.model_validate(
        {**{c: getattr(r, c) for c in RuleOut.model_fields if c != "label"}, "label": kind.label}
    )


@router.get("/signals", response_model=PageOut[SignalOut])
@unit_of_work
def list_signals(
    session: DbSession,
    actor: CurrentActor,
    status: SignalStatus | None = None,
    kind: SignalKind | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[SignalOut]:
    page = service.list_signals(
        session, actor, status=status, kind=kind, offset=offset, limit=limit
    )
    return PageOut[SignalOut](
        items=[signal_out(s) for s in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/signals/counts", response_model=list[KindCount])
@unit_of_work
def open_counts(session: DbSession, actor: CurrentActor) -> list[KindCount]:
    counts = service.open_counts(session, actor)
    return [KindCount(kind=k, label=k.label, open=n) for k, n in counts.items()]


@router.get("/signals/{signal_id}", response_model=SignalOut)
@unit_of_work
def get_signal(session: DbSession, actor: CurrentActor, signal_id: DbId) -> SignalOut:
    return signal_out(service.get_signal(session, actor, signal_id))


@router.post("/signals/{signal_id}/acknowledge", response_model=SignalOut)
@unit_of_work
def acknowledge(
    session: DbSession, actor: ApiActor, signal_id: DbId, body: AcknowledgeIn
) -> SignalOut:
    return signal_out(service.acknowledge(session, actor, signal_id, body.note))


@router.get("/rules", response_model=list[RuleOut])
@unit_of_work
def list_rules(session: DbSession, actor: CurrentActor) -> list[RuleOut]:
    return [rule_out(r) for r in rules.list_rules(session, actor)]


@router.put("/rules/{kind}", response_model=RuleOut)
@unit_of_work
def update_rule(session: DbSession, actor: ApiActor, kind: SignalKind, body: RuleUpdate) -> RuleOut:
    return rule_out(rules.update_rule(session, actor, kind.value, body))


@router.post("/scan", response_model=ScanOut)
@unit_of_work
def scan_now(session: DbSession, actor: ApiActor) -> ScanOut:
    """Scan now rather than at the next minute (the city bureau, after changing a threshold)."""
    result = scanning.scan_as(session, actor)
    return ScanOut(
        scanned_from=result.scanned_from,
        scanned_to=result.scanned_to,
        created=len(result.created),
        updated=result.updated,
    )
