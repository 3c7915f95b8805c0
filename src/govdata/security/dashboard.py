"""The security card on the home page of those who watch the signals (Art. 39)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor
from govdata.security import policy
from govdata.security.models import Signal, SignalStatus
from govdata.web.domain import Section, Stat


def sections(session: Session, actor: Actor) -> list[Section]:
    if not policy.can_view_signals(actor):
        return []
    n = (
        session.scalar(
            select(func.count()).select_from(Signal).where(Signal.status == SignalStatus.OPEN.value)
        )
        or 0
    )
    note = None
    if n and policy.can_manage_signals(actor):
        note = f"{n} 条未处理的安全预警，请在“安全监测”页核查并确认。"
    elif n:
        note = f"{n} 条未处理的安全预警。"
    return [
        Section(
            "安全监测",
            [Stat("security_open", "未处理的安全预警", n, "/security?status=open")],
            note=note,
        )
    ]
