"""Reading and handling monitoring signals (Art. 39): the list the city bureau works through,
acknowledgement with a note (audited: who and when), and the figures of the page and home."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.calendar import CITY_TZ
from govdata.core.db import utcnow
from govdata.core.pagination import Page, paginate
from govdata.security import errors, policy
from govdata.security.models import Signal, SignalKind, SignalStatus


def _listing(status: SignalStatus | None, kind: SignalKind | None) -> Select[Any]:
    stmt = select(Signal)
    if status is not None:
        stmt = stmt.where(Signal.status == status.value)
    if kind is not None:
        stmt = stmt.where(Signal.kind == kind.value)
    # Open signals first, the most recent activity first within each.
    open_first = case((Signal.status == SignalStatus.OPEN.value, 0), else_=1)
    return stmt.order_by(open_first, Signal.last_seen.desc(), Signal.id.desc())


def list_signals(
    session: Session,
    actor: Actor,
    *,
    status: SignalStatus | None = None,
    kind: SignalKind | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Signal]:
    policy.require_view_signals(actor)
    return paginate(session, _listing(status, kind), offset, limit)


def get_signal(session: Session, actor: Actor, signal_id: int) -> Signal:
    policy.require_view_signals(actor)
    signal = session.get(Signal, signal_id)
    if signal is None:
        raise errors.signal_not_found()
    return signal


def acknowledge(session: Session, actor: Actor, signal_id: int, note: str) -> Signal:
    """The city bureau has looked into a signal: who, when and what it found (audited).

    Further activity of the same kind by the same subject then raises a new signal."""
    policy.require_manage_signals(actor)
    text = note.strip()
    if not text:
        raise errors.note_required()
    signal = get_signal(session, actor, signal_id)
    now = utcnow()
    # Conditional update: of two people acknowledging at once, one wins, the other is told.
    done = session.execute(
        update(Signal)
        .where(Signal.id == signal.id, Signal.status == SignalStatus.OPEN.value)
        .values(
            status=SignalStatus.ACKNOWLEDGED.value,
            acknowledged_by=actor.person_id,
            acknowledged_by_name=actor.name[:100],
            acknowledged_at=now,
            note=text[:500],
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise errors.already_acknowledged()
    session.refresh(signal)
    audit.record(
        session,
        actor,
        "security.signal.acknowledge",
        object_type="security_signal",
        object_id=signal.id,
        summary=f"确认安全预警第 {signal.id} 号（{signal.kind_enum.label}：{signal.subject_name}）",
        change={"note": signal.note, "kind": signal.kind, "subject": signal.subject},
    )
    return signal


def open_counts(session: Session, actor: Actor) -> dict[SignalKind, int]:
    policy.require_view_signals(actor)
    rows = session.execute(
        select(Signal.kind, func.count())
        .where(Signal.status == SignalStatus.OPEN.value)
        .group_by(Signal.kind)
    ).all()
    counts = dict.fromkeys(SignalKind, 0)
    for kind, n in rows:
        counts[SignalKind(kind)] = int(n)
    return counts


def raised_per_day(
    session: Session, actor: Actor, days: int = 14, today: date | None = None
) -> tuple[list[date], dict[SignalKind, list[int]]]:
    """Signals raised on each of the last ``days`` days (Beijing dates), by kind: the page's
    chart. Grouped in Python: at most a few hundred rows a fortnight."""
    policy.require_view_signals(actor)
    today = today or utcnow().astimezone(CITY_TZ).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time.min, CITY_TZ)
    dates = [first + timedelta(days=i) for i in range(days)]
    series = {k: [0] * days for k in SignalKind}
    for kind, created in session.execute(
        select(Signal.kind, Signal.created_at).where(Signal.created_at >= start)
    ):
        i = (created.astimezone(CITY_TZ).date() - first).days
        if 0 <= i < days:
            series[SignalKind(kind)][i] += 1
    return dates, series
