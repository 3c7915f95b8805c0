"""The demo city has a past (issue 16): a year of catalog versions, loads with the quality
measured after each, and corrections, so that the trend charts show months, not one day.

``govdata demo`` builds everything "now"; this step, run once after the other demo steps,
adds the twelve months before the current one:

- ``versions``: monthly catalog updates through the catalog's services, then every version
  dated in its month, in number order (Art. 12 ¶3, Art. 14);
- ``loads``: loads into the demo pools with their quality snapshots (Art. 17, 18, 20);
- ``corrections``: corrections answered in time, late or within an extension (Art. 19);
- ``calls``: the sharing demo's grants used in the months before the 60 days it records
  (Art. 40), from each grant's ``valid_from`` on.

Open-data downloads get no past: the open-data demo publishes every release today, and a
download before its release would be false.

Deterministic (seeded), and idempotent: a database whose audit log has the step's event is
left alone.

The audit log is not back-dated. It is a hash chain sealed in the order events are written,
and the demo city's own creation (``org.demo``) is its first event, written today: an event
dated last year cannot follow it without its time preceding its predecessor's. So the history
is recorded as what it is, today's writing of the demo's past: the catalog services record
their own events as they publish the monthly versions, and one ``demo.history.load`` event
states what was written and the months it covers (decision 0010: never insert or rewrite
events out of order).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation.models import Pool
from govdata.app.demo_history.calls import write_calls
from govdata.app.demo_history.corrections import write_corrections
from govdata.app.demo_history.loads import write_loads
from govdata.app.demo_history.months import month_starts
from govdata.app.demo_history.versions import publish_year
from govdata.core import audit, calendar
from govdata.core.actor import Actor
from govdata.core.audit import AuditEvent
from govdata.core.db import transaction
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import Person
from govdata.org.service import role_grants

__all__ = ["ACTION", "DemoHistory", "load_demo_history"]

ACTION = "demo.history.load"
SEED = 20_26_16  # issue 16


@dataclass(frozen=True)
class DemoHistory:
    """What ``load_demo_history`` wrote, for the CLI's summary line and the tests."""

    first_month: str  # YYYY-MM
    last_month: str
    versions: int  # catalog versions, all dated within the months
    loads: int
    snapshots: int
    corrections: int
    calls: int  # earlier recorded calls of the sharing demo's grants


def _city(session: Session) -> Actor:
    person = session.scalar(select(Person).where(Person.username == "demo.city"))
    if person is None:
        return BOOTSTRAP
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


def load_demo_history(factory: sessionmaker[Session]) -> DemoHistory | None:
    """Write the demo city's past year once; None when it is there already, or when there are
    no demo pools to give a past (``govdata demo --no-pools``)."""
    with transaction(factory) as session:
        if session.scalar(select(AuditEvent.id).where(AuditEvent.action == ACTION).limit(1)):
            return None
        if (
            session.scalar(select(Pool.id).where(Pool.current_load_id.is_not(None)).limit(1))
            is None
        ):
            return None
        rng = random.Random(SEED)  # noqa: S311 - demo data, reproducible on purpose
        months = month_starts(calendar.today())
        cal = calendar.load_calendar(session)
        versions = publish_year(session, _city(session), months, cal, rng)
        loads, snapshots = write_loads(session, months, cal, rng)
        corrections = write_corrections(session, months, cal, rng)
        calls = write_calls(session, cal, rng)
        result = DemoHistory(
            first_month=months[0].strftime("%Y-%m"),
            last_month=months[-1].strftime("%Y-%m"),
            versions=versions,
            loads=loads,
            snapshots=snapshots,
            corrections=corrections,
            calls=calls,
        )
        audit.record(
            session,
            BOOTSTRAP,
            ACTION,
            object_type="demo",
            object_id="history",
            summary=(
                f"载入演示城市过去一年（{result.first_month} 至 {result.last_month}）的历史："
                f"目录版本 {versions} 个（发布时间按月回溯），数据加载 {loads} 次及其质量评估 "
                f"{snapshots} 次，已答复的校核申请 {corrections} 项，"
                f"更早的共享调用记录 {calls} 条；"
                "业务时间为回溯的演示时间，"
                "本事件的时间是写入时间"
            ),
            change={
                "months": [m.isoformat() for m in months],
                "versions": versions,
                "loads": loads,
                "snapshots": snapshots,
                "corrections": corrections,
                "calls": calls,
            },
        )
    return result
