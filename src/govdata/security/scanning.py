"""The scan that turns access records into monitoring signals (Art. 39), run every minute by the
job ``security.scan`` and on demand from the security page. See ``detection`` for what each
kind counts.

One scan at a time: the watermark row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite has
one writer anyway), so a scan started meanwhile waits and then sees what this one raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import SYSTEM, Actor
from govdata.core.calendar import load_calendar
from govdata.core.db import insert_unless_exists, utcnow
from govdata.security import detection, policy
from govdata.security.models import ScanState, Signal, SignalKind, SignalRule, SignalStatus
from govdata.security.rules import current_rules

log = structlog.get_logger(__name__)

FIRST_LOOKBACK = timedelta(days=1)  # a new installation does not warn about older history
MAX_LOOKBACK = timedelta(days=7)  # after a long stop, the per-record kinds look this far back


@dataclass
class ScanResult:
    scanned_from: datetime
    scanned_to: datetime
    created: list[Signal] = field(default_factory=list)
    updated: int = 0


def _lock_state(session: Session, now: datetime) -> ScanState:
    stmt = select(ScanState).where(ScanState.id == 1).with_for_update()
    state = session.scalars(stmt).one_or_none()
    if state is None:
        insert_unless_exists(
            session,
            ScanState.__table__,  # type: ignore[arg-type]
            {"id": 1, "scanned_to": now - FIRST_LOOKBACK, "scans": 0},
        )
        state = session.scalars(stmt).one()
    return state


def _open_signals(session: Session, kind: SignalKind) -> dict[str, Signal]:
    stmt = select(Signal).where(Signal.kind == kind.value, Signal.status == SignalStatus.OPEN)
    return {s.subject: s for s in session.scalars(stmt)}


def _scan_kind(
    session: Session,
    kind: SignalKind,
    rule: SignalRule,
    ctx: detection.Context,
    since: datetime,
    now: datetime,
    result: ScanResult,
) -> None:
    open_by_subject = _open_signals(session, kind)
    # 1. Deduplication: an open signal takes in its subject's further activity.
    if open_by_subject:
        for a in detection.news_of_open(session, kind, rule, ctx, since, now).values():
            signal = open_by_subject[a.subject]
            signal.events += a.events
            signal.rows += a.rows
            signal.last_seen = max(signal.last_seen, a.last)
            signal.address = a.address or signal.address
            result.updated += 1
    # 2. New signals: subjects over the threshold without an open signal of this kind.
    found = {
        s: a
        for s, a in detection.offenders(session, kind, rule, ctx, since, now).items()
        if s not in open_by_subject
    }
    if not found:
        return
    window_start = now - timedelta(minutes=rule.window_minutes)
    medians: dict[str, float] = {}
    if kind is SignalKind.BULK_READ:
        medians = detection.median_daily_rows(session, rule, ctx, list(found), window_start)
    for subject, a in sorted(found.items()):
        detail = detection.rule_detail(kind, rule)
        if kind is SignalKind.BULK_READ:
            median = medians.get(subject, 0.0)
            if a.rows <= rule.factor * median:
                continue  # within the account's usual volume
            detail["median_daily_rows"] = median
        detail |= {"events": a.events, "rows": a.rows, "objects": a.objects}
        signal = Signal(
            kind=kind.value,
            subject=subject,
            subject_name=_subject_name(subject, a)[:100],
            address=a.address,
            summary=detection.summary(kind, a, detail)[:500],
            events=a.events,
            rows=a.rows,
            first_seen=a.first,
            last_seen=a.last,
            detail=detail,
            status=SignalStatus.OPEN.value,
            created_at=now,
        )
        session.add(signal)
        result.created.append(signal)


def _subject_name(subject: str, a: detection.Activity) -> str:
    """An account's or token's name as recorded; an address subject is named by its address
    (whatever name the anonymous records carry)."""
    if subject.startswith("address:"):
        return subject.removeprefix("address:")
    return a.name or subject


def scan(session: Session, now: datetime | None = None) -> ScanResult:
    """Raise and update signals from the access records up to ``now`` (Art. 39 监测、预警).

    Flushes; the caller commits. Raised signals are recorded in the audit chain (one event per
    scan that raised any)."""
    now = now or utcnow()
    state = _lock_state(session, now)
    since = max(min(state.scanned_to, now) - detection.LAG, now - MAX_LOOKBACK)
    result = ScanResult(scanned_from=since, scanned_to=now)
    rules = current_rules(session)
    # The calendar in force (a few hundred rows): a holiday the bureau just entered counts.
    ctx = detection.Context(session.get_bind().dialect.name, load_calendar(session))
    for kind in (k for k in SignalKind if rules[k].enabled):
        _scan_kind(session, kind, rules[kind], ctx, since, now, result)
    state.scanned_to = max(state.scanned_to, now)
    state.scans += 1
    session.flush()
    if result.created:
        by_kind: dict[str, int] = {}
        for s in result.created:
            by_kind[s.kind] = by_kind.get(s.kind, 0) + 1
        audit.record(
            session,
            SYSTEM,
            "security.signals_raised",
            object_type="security_scan",
            object_id=now.isoformat(timespec="seconds"),
            summary=f"安全监测发出 {len(result.created)} 条预警（第三十九条）",
            change={"ids": [s.id for s in result.created], "by_kind": by_kind},
        )
    log.info(
        "security.scan",
        created=len(result.created),
        updated=result.updated,
        since=since.isoformat(),
    )
    return result


def scan_as(session: Session, actor: Actor) -> ScanResult:
    """A scan the city bureau asks for now (after changing a threshold), not at the next minute."""
    policy.require_manage_signals(actor)
    return scan(session)
