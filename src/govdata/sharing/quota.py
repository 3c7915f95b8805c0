"""A grant's daily quota (Art. 26 ¶2: the provider may grant a limited number of calls a day).

The counter is ``GrantUsage`` (grant, Beijing day): one conditional upsert per call takes a
call from the day's quota and says whether there was one left, so two workers racing for the
last call cannot both get it. A call refused for the quota takes nothing (the upsert's
``WHERE`` leaves the row alone), so the counter is the number of calls the grant served.
Rows returned are added after the read (``add_rows``), for the usage dashboards.

The quota resets at Beijing midnight: a refused call is told to retry then (``Retry-After``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from govdata.core.calendar import CITY_TZ
from govdata.core.errors import TooManyRequests
from govdata.sharing.models import GrantUsage


class QuotaExceeded(TooManyRequests):
    """429 with ``Retry-After`` to the next Beijing midnight (Art. 26 ¶2: the grant's quota)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "sharing.quota_exceeded",
            "该授权今日的调用次数已用完，请于北京时间次日零时后再调用。",
            retry_after=retry_after,
        )


def beijing_day(now: datetime | None = None) -> date:
    return (now or datetime.now(CITY_TZ)).astimezone(CITY_TZ).date()


def seconds_to_midnight(now: datetime | None = None) -> int:
    """Seconds from ``now`` to the next midnight in Beijing (at least 1)."""
    at = (now or datetime.now(CITY_TZ)).astimezone(CITY_TZ)
    midnight = datetime.combine(at.date() + timedelta(days=1), time.min, CITY_TZ)
    return max(1, int((midnight - at).total_seconds() + 0.999))


def take_call(session: Session, grant_id: int, daily_quota: int | None, day: date) -> int:
    """Count one call under the grant on ``day``; raise ``QuotaExceeded`` when the day's quota
    is spent (and count nothing). Returns the day's calls including this one."""
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(GrantUsage)
    stmt = ins.values(grant_id=grant_id, day=day, calls=1, rows=0)
    where = GrantUsage.calls < daily_quota if daily_quota is not None else None
    upsert = stmt.on_conflict_do_update(
        index_elements=[GrantUsage.grant_id, GrantUsage.day],
        set_={"calls": GrantUsage.calls + 1},
        where=where,
    ).returning(GrantUsage.calls)
    calls = session.execute(upsert).scalar_one_or_none()
    if calls is None or (daily_quota is not None and calls > daily_quota):
        # A quota of 0 calls never happens (grants.create refuses it); None: the row was kept.
        raise QuotaExceeded(seconds_to_midnight())
    return int(calls)


def add_rows(session: Session, grant_id: int, day: date, rows: int) -> None:
    if rows <= 0:
        return
    session.execute(
        update(GrantUsage)
        .where(GrantUsage.grant_id == grant_id, GrantUsage.day == day)
        .values(rows=GrantUsage.rows + rows)
    )
