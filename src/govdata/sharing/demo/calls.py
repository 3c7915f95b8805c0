"""The demo's recorded calls (Art. 40, 50(4)(5)): some tens of thousands of access records of
the data access API over the last 60 days, allowed and refused, mostly in office hours, each
with its grant, purpose, system, items and the subject's keyed digest; and the grants' daily
usage counters.

Inserted set-based (Core ``insert`` with many rows per statement, in batches): the records are
what ``sharing.access.record_call`` writes, made in bulk. Deterministic (a seeded
``random.Random``), so every run makes the same calls relative to today.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update
from sqlalchemy.orm import Session

from govdata.catalog.vocab import SubjectKind
from govdata.core.access import AccessRecord
from govdata.core.crypto import subject_digest
from govdata.core.settings import get_settings
from govdata.core.workdays import WorkCalendar
from govdata.org.models import ApiToken
from govdata.sharing.demo.plan import REFUSALS
from govdata.sharing.demo.workflow import BEIJING
from govdata.sharing.models import Grant, GrantMode, GrantStatus, GrantUsage
from govdata.sharing.sources import SharedSource, data_table

DAYS = 60
BATCH = 5000
SEED = 2719


@dataclass(frozen=True)
class Caller:
    """A grant in use: its system and how much it is called."""

    grant: Grant
    source: SharedSource
    token: ApiToken
    actor_name: str  # as ``org.auth.resolve_token`` names a system
    address: str
    calls: int
    handle: str


def subject_keys(session: Session, source: SharedSource, grant: Grant, limit: int) -> list[str]:
    """Real subjects of the source (within the grant's rows), in key order."""
    table = data_table(source)
    if table is None or source.key_column is None:
        return []
    stmt = select(table.c[source.key_column]).where(table.c[source.key_column].is_not(None))
    stmt = _within(stmt, source, grant, table)
    return [str(k) for k in session.scalars(stmt.order_by(table.c[source.key_column]).limit(limit))]


def _holds(session: Session, source: SharedSource, grant: Grant, key: str) -> bool:
    """Whether the subject ``key`` is in the source's data (within the grant's rows)."""
    table = data_table(source)
    if table is None or source.key_column is None:
        return False
    column = table.c[source.key_column]
    stmt = _within(select(column).where(column == key), source, grant, table)
    return session.scalar(stmt.limit(1)) is not None


def _within(stmt: Any, source: SharedSource, grant: Grant, table: Table) -> Any:
    cond = grant.row_condition
    if not cond:
        return stmt
    item = source.item(str(cond["item"]))
    if item is None:
        return stmt
    return stmt.where(table.c[item.column].in_([str(v) for v in cond["values"]]))


@dataclass(frozen=True)
class Days:
    all: list[date]
    work: list[date]

    def __bool__(self) -> bool:
        return bool(self.all)

    def first(self, n: int) -> Days:
        return Days(self.all[:n], [d for d in self.work if d in self.all[:n]])


class Clock:
    """Call times: working days weighted, office hours mostly (Beijing)."""

    def __init__(self, rng: random.Random, cal: WorkCalendar, today: date) -> None:
        self.rng = rng
        self.cal = cal
        self.today = today
        self.now = datetime.now(UTC)

    def days(self, first: date, last: date) -> Days:
        """The days from ``first`` to ``last`` within the last 60, and the working days."""
        first = max(first, self.today - timedelta(days=DAYS - 1))
        last = min(last, self.today)
        out: list[date] = []
        d = first
        while d <= last:
            out.append(d)
            d += timedelta(days=1)
        return Days(out, [d for d in out if self.cal.is_workday(d)])

    def pick(self, span: Days) -> datetime:
        rng = self.rng
        days, work = span.all, span.work
        off_hours = rng.random() < 0.07 or not work
        day = rng.choice(days if off_hours else work)
        if off_hours:
            minute = rng.choice([rng.randint(0, 7 * 60), rng.randint(19 * 60, 24 * 60 - 1)])
            if not self.cal.is_workday(day):
                minute = rng.randint(9 * 60, 17 * 60)
        else:
            minute = rng.choice([rng.randint(8 * 60 + 30, 12 * 60), rng.randint(14 * 60, 18 * 60)])
        when = datetime.combine(day, time(minute // 60, minute % 60, rng.randint(0, 59)), BEIJING)
        when = when.astimezone(UTC)
        return min(when, self.now - timedelta(seconds=rng.randint(1, 3600)))


def _action(rng: random.Random, caller: Caller) -> tuple[str, int, bool]:
    """(action, rows, about one subject)."""
    if caller.grant.mode == GrantMode.VERIFICATION:
        return "sharing.verify", 0, True
    r = rng.random()
    if caller.handle == "education_person" and r < 0.15:
        return "sharing.sync", rng.randint(40, 400), False
    if caller.handle == "tax_legal" and r < 0.08:
        return "sharing.bulk", rng.randint(500, 3000), False
    if caller.handle == "yz_market_tax" and r < 0.7:
        return "sharing.query", rng.randint(20, 200), False
    return "sharing.lookup", 0 if r > 0.97 else 1, True


def generate(
    session: Session,
    callers: Sequence[Caller],
    *,
    cal: WorkCalendar,
    today: date,
    citizen_key: str | None,
) -> tuple[list[dict[str, Any]], Counter[tuple[int, date]], Counter[tuple[int, date]]]:
    """The records, and the allowed calls and rows per (grant, Beijing day)."""
    rng = random.Random(SEED)  # noqa: S311 - demo data, reproducible on purpose
    clock = Clock(rng, cal, today)
    key = get_settings().subject_digest_key
    digests: dict[str, str] = {}

    def digest(value: str) -> str:
        if value not in digests:
            digests[value] = subject_digest(value, key)
        return digests[value]

    records: list[dict[str, Any]] = []
    calls: Counter[tuple[int, date]] = Counter()
    rows_by_day: Counter[tuple[int, date]] = Counter()
    refusal_codes = [c for c, _ in REFUSALS]
    refusal_weights = [w for _, w in REFUSALS]
    for caller in callers:
        g = caller.grant
        keys = subject_keys(session, caller.source, g, 2500)
        if not keys:
            continue
        end = g.expires_on or today
        if g.status == GrantStatus.REVOKED and g.revoked_at is not None:
            end = min(end, g.revoked_at.astimezone(BEIJING).date() - timedelta(days=1))
        live = clock.days(g.valid_from, end)
        after = clock.days(end + timedelta(days=1), today) if end < today else Days([], [])
        fields = ",".join(g.items)
        base = {
            "actor_id": None,
            "token_id": caller.token.id,
            "actor_name": caller.actor_name[:100],
            "actor_department_id": g.requester_department_id,
            "address": caller.address,
            "object_type": "share_source",
            "object_id": caller.source.code,
            "owner_department_id": g.provider_department_id,
            "personal": caller.source.subject_kind == SubjectKind.PERSON.value,
            "grant_id": g.id,
        }
        plan: list[tuple[Days, str | None]] = [(live, None)] * (caller.calls if live else 0)
        # Calls after the grant ended: refused (the system kept calling for a while).
        ended = (
            "sharing.grant_revoked" if g.status == GrantStatus.REVOKED else "sharing.grant_expired"
        )
        plan += [(after.first(10), ended)] * (min(60, caller.calls // 15) if after else 0)
        # The demo citizen's data is read by several departments (Art. 40: who used my data).
        own = citizen_key is not None and _holds(session, caller.source, g, citizen_key)
        mine = _CITIZEN_CALLS.get(caller.handle, 0) if own and live else 0
        for i, (days, forced) in enumerate(plan):
            when = clock.pick(days)
            action, rows, one = _action(rng, caller)
            outcome, reason, purpose = "allowed", "", g.purpose_code
            if forced is not None:
                outcome, reason = "refused", forced
            elif rng.random() < 0.03:
                outcome, reason = "refused", rng.choices(refusal_codes, refusal_weights)[0]
            if reason == "sharing.purpose_mismatch":
                purpose = rng.choice(["data-export", "statistics", "test"])
            if outcome == "refused":
                rows = 0
            subject = None
            if one:
                value = citizen_key if i < mine and citizen_key else rng.choice(keys)
                subject = digest(value)
            records.append(
                base
                | {
                    "at": when,
                    "action": action,
                    "rows": rows,
                    "fields": fields if outcome == "allowed" else "",
                    "outcome": outcome,
                    "reason": reason,
                    "purpose": purpose,
                    "subject_digest": subject,
                }
            )
            if outcome == "allowed":
                day = when.astimezone(BEIJING).date()
                calls[(g.id, day)] += 1
                rows_by_day[(g.id, day)] += rows
    records.sort(key=lambda r: r["at"])
    return records, calls, rows_by_day


# How many calls of each grant are about the demo citizen (besides the random subjects).
_CITIZEN_CALLS = {
    "civil_person": 6,
    "medical_person": 5,
    "education_person": 2,
    "housing_verify": 4,
    "yz_police_hukou": 3,
}


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), BATCH):
        yield rows[i : i + BATCH]


def _copy(conn: Connection, table: str, values: list[dict[str, Any]]) -> None:
    """PostgreSQL: ``COPY`` in the transaction (psycopg 3 adapts each value; datetimes are
    aware UTC, the columns ``timestamptz``)."""
    names = list(values[0])
    raw = conn.connection.driver_connection
    assert raw is not None
    columns = ", ".join(f'"{n}"' for n in names)
    with raw.cursor() as cur, cur.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
        for row in values:
            copy.write_row([row[n] for n in names])


def insert_calls(
    session: Session,
    records: list[dict[str, Any]],
    calls: Counter[tuple[int, date]],
    rows: Counter[tuple[int, date]],
) -> None:
    """Set-based inserts of the records and the daily usage counters, and each system's last
    use."""
    conn = session.connection()
    usage = [
        {"grant_id": g, "day": d, "calls": n, "rows": rows[(g, d)]}
        for (g, d), n in sorted(calls.items())
    ]
    for model, values in ((AccessRecord, records), (GrantUsage, usage)):
        if conn.dialect.name == "postgresql" and values:
            _copy(conn, str(model.__tablename__), values)
        else:
            for batch in _batches(values):
                conn.execute(insert(model), batch)
    last: dict[int, datetime] = {}
    for r in records:
        if r["token_id"] is not None:
            last[r["token_id"]] = max(last.get(r["token_id"], r["at"]), r["at"])
    for token_id, when in last.items():
        conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=when))
