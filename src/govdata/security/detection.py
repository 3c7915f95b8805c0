"""Detection of monitoring signals over the access records (Art. 39: 监测、预警).

A scan looks at the access records (``core.access``) as set-based SQL, one grouped query per
kind and step, on SQLite and PostgreSQL alike:

1. open signals take in what their subject did since they were last seen (deduplication: the
   same kind and subject never raises a second open signal);
2. subjects whose activity within the rule's window reaches the threshold raise a new signal.
   Records up to the last signal of the same kind and subject (acknowledged or not) are not
   counted again: an acknowledged burst does not come back at the next scan.

What each kind counts (the thresholds are the city bureau's, ``SignalRule``):

* ``bulk_read``: personal rows an account or token read within the window, at least the
  threshold and more than ``factor`` × its median daily volume over the 30 days before the
  window (days without reads count as 0);
* ``off_hours_read``: personal rows read on a non-working day of the statutory calendar
  (``core.calendar``) or outside [hours_from, hours_to) Beijing time on a working day;
* ``probing``: refused requests and reads (any refused record but sign-ins) of one account,
  token or, for the anonymous, address;
* ``failed_sign_ins``: refused sign-ins (``auth.sign_in``) from one address;
* ``personal_export``: every export or download (actions ending ``.export``/``.download``) of
  personal data reaching ``threshold`` rows, since the last scan.

The watermark (``ScanState.scanned_to``) bounds the per-record kind and the update of open
signals; each scan looks back ``LAG`` before it, so a record whose request committed late (its
``at`` is when it was written) is still seen, without being counted twice (step 1 counts only
what is newer than the signal's ``last_seen``).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    distinct,
    extract,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord as AR
from govdata.core.calendar import CITY_TZ
from govdata.core.workdays import WorkCalendar
from govdata.security.models import Signal, SignalKind, SignalRule, SignalStatus

SIGN_IN = "auth.sign_in"  # failed sign-ins are recorded under this action (org.auth)
LAG = timedelta(minutes=10)
BASELINE_DAYS = 30
PERSONAL_READS = (SignalKind.BULK_READ, SignalKind.OFF_HOURS_READ, SignalKind.PERSONAL_EXPORT)
# Kinds whose threshold counts rows; the others count records.
ROW_KINDS = (SignalKind.BULK_READ, SignalKind.OFF_HOURS_READ)


def _sql(value: str) -> ColumnElement[str]:
    """A constant inlined in the SQL, not a bound parameter: PostgreSQL matches a GROUP BY
    expression to the select list's by its text, and two bound parameters never match.
    Only our own constants go through here."""
    return literal_column("'" + value + "'", String)


def subject_key(kind: SignalKind) -> ColumnElement[str]:
    """Who a record counts against: ``person:<id>``, ``token:<id>`` or ``address:<ip>``."""
    address = _sql("address:") + func.coalesce(AR.address, _sql("-"))
    if kind is SignalKind.FAILED_SIGN_INS:
        return address  # the account tried is the victim, the address the suspect
    return case(
        (AR.actor_id.is_not(None), _sql("person:") + cast(AR.actor_id, String)),
        (AR.token_id.is_not(None), _sql("token:") + cast(AR.token_id, String)),
        else_=address,
    )


def _local_day_hour(dialect: str) -> tuple[ColumnElement[str], ColumnElement[int]]:
    """A record's date (``YYYY-MM-DD``) and hour in Beijing time, in the engine's own SQL."""
    if dialect == "sqlite":
        # Stored as UTC text; Asia/Shanghai is UTC+8 all year (no daylight saving since 1991).
        day = func.strftime(_sql("%Y-%m-%d"), AR.at, _sql("+8 hours"))
        hour = cast(func.strftime(_sql("%H"), AR.at, _sql("+8 hours")), Integer)
        return day, hour
    local = func.timezone(_sql(str(CITY_TZ)), AR.at)
    return func.to_char(local, _sql("YYYY-MM-DD")), cast(extract("hour", local), Integer)


def days_off(calendar: WorkCalendar, start: datetime, end: datetime) -> list[str]:
    """The non-working days (Beijing dates) from ``start`` to ``end``, as ``YYYY-MM-DD``."""
    day, last = start.astimezone(CITY_TZ).date(), end.astimezone(CITY_TZ).date()
    out: list[str] = []
    while day <= last:
        if not calendar.is_workday(day):
            out.append(day.isoformat())
        day += timedelta(days=1)
    return out


@dataclass(frozen=True)
class Context:
    """What a scan's queries need besides the rule: the engine and the calendar."""

    dialect: str
    calendar: WorkCalendar


def _matches(
    kind: SignalKind, rule: SignalRule, ctx: Context, start: datetime, end: datetime
) -> list[ColumnElement[bool]]:
    """The records a kind counts, between ``start`` (excluded) and ``end``."""
    conds: list[ColumnElement[bool]] = [AR.at > start, AR.at <= end]
    if kind in PERSONAL_READS:
        conds += [AR.outcome == "allowed", AR.personal.is_(True)]
    if kind in ROW_KINDS:
        conds.append(AR.rows > 0)
    if kind is SignalKind.OFF_HOURS_READ:
        day, hour = _local_day_hour(ctx.dialect)
        off = days_off(ctx.calendar, start, end)
        conds.append(or_(day.in_(off), hour < rule.hours_from, hour >= rule.hours_to))
    elif kind is SignalKind.PERSONAL_EXPORT:
        conds += [
            or_(AR.action.like("%.export"), AR.action.like("%.download")),
            AR.rows >= rule.threshold,
        ]
    elif kind is SignalKind.PROBING:
        conds += [AR.outcome == "refused", AR.action != SIGN_IN]
    elif kind is SignalKind.FAILED_SIGN_INS:
        conds += [AR.outcome == "refused", AR.action == SIGN_IN]
    return conds


@dataclass(frozen=True)
class Activity:
    """One subject's matching records within a range."""

    subject: str
    name: str
    address: str | None
    events: int
    rows: int
    first: datetime
    last: datetime
    objects: int  # distinct objects (usernames tried, paths refused, pools read)


def _activity(rows: Any) -> dict[str, Activity]:
    return {
        r[0]: Activity(r[0], r[1] or "", r[2], int(r[3]), int(r[4]), r[5], r[6], int(r[7]))
        for r in rows
    }


def _columns(key: ColumnElement[str]) -> tuple[Any, ...]:
    return (
        key.label("subject"),
        func.max(AR.actor_name),
        func.max(AR.address),
        func.count(),
        func.coalesce(func.sum(AR.rows), 0),
        func.min(AR.at),
        func.max(AR.at),
        func.count(distinct(AR.object_id)),
    )


def news_of_open(
    session: Session,
    kind: SignalKind,
    rule: SignalRule,
    ctx: Context,
    since: datetime,
    now: datetime,
) -> dict[str, Activity]:
    """What the subjects of open signals did after each signal's ``last_seen`` (step 1)."""
    key = subject_key(kind)
    stmt = (
        select(*_columns(key))
        .select_from(AR)
        .join(
            Signal,
            and_(
                Signal.kind == kind.value,
                Signal.status == SignalStatus.OPEN.value,
                Signal.subject == key,
            ),
        )
        .where(*_matches(kind, rule, ctx, since, now), AR.at > Signal.last_seen)
        .group_by(key)
    )
    return _activity(session.execute(stmt))


def offenders(
    session: Session,
    kind: SignalKind,
    rule: SignalRule,
    ctx: Context,
    since: datetime,
    now: datetime,
) -> dict[str, Activity]:
    """Subjects whose activity reaches the threshold (step 2), not counting records up to
    their last signal of this kind."""
    key = subject_key(kind)
    measure: ColumnElement[int]
    if kind is SignalKind.PERSONAL_EXPORT:
        start, measure, threshold = since, func.count(), 1  # each export counts
    else:
        start = now - timedelta(minutes=rule.window_minutes)
        measure = func.sum(AR.rows) if kind in ROW_KINDS else func.count()
        threshold = max(rule.threshold, 1)
    seen = (
        select(Signal.subject, func.max(Signal.last_seen).label("last_seen"))
        .where(Signal.kind == kind.value)
        .group_by(Signal.subject)
        .subquery()
    )
    stmt = (
        select(*_columns(key))
        .select_from(AR)
        .outerjoin(seen, seen.c.subject == key)
        .where(
            *_matches(kind, rule, ctx, start, now),
            or_(seen.c.last_seen.is_(None), AR.at > seen.c.last_seen),
        )
        .group_by(key)
        .having(measure >= threshold)
    )
    return _activity(session.execute(stmt))


def _subject_filter(subjects: list[str]) -> ColumnElement[bool]:
    """The records of these subjects, through the indexed columns (not the key expression)."""
    ids: dict[str, list[Any]] = {"person": [], "token": [], "address": []}
    for s in subjects:
        kind, _, value = s.partition(":")
        ids[kind].append(int(value) if kind != "address" else value)
    return or_(
        AR.actor_id.in_(ids["person"]),
        AR.token_id.in_(ids["token"]),
        and_(AR.actor_id.is_(None), AR.token_id.is_(None), AR.address.in_(ids["address"])),
    )


def median_daily_rows(
    session: Session, rule: SignalRule, ctx: Context, subjects: list[str], before: datetime
) -> dict[str, float]:
    """Each subject's median personal rows per day (Beijing dates) over the ``BASELINE_DAYS``
    before ``before``; a day without reads counts as 0."""
    if not subjects:
        return {}
    key = subject_key(SignalKind.BULK_READ)
    day, _ = _local_day_hour(ctx.dialect)
    start = before - timedelta(days=BASELINE_DAYS)
    stmt = (
        select(key, day, func.sum(AR.rows))
        .where(
            *_matches(SignalKind.BULK_READ, rule, ctx, start, before),
            AR.at < before,
            _subject_filter(subjects),
        )
        .group_by(key, day)
    )
    per_day: dict[str, list[float]] = {s: [] for s in subjects}
    for subject, _day, total in session.execute(stmt):
        if subject in per_day:
            per_day[subject].append(float(total))
    out: dict[str, float] = {}
    for subject, totals in per_day.items():
        padded = totals + [0.0] * max(BASELINE_DAYS - len(totals), 0)
        out[subject] = float(statistics.median(padded))
    return out


def window_text(minutes: int) -> str:
    if minutes % 1440 == 0 and minutes > 2880:
        return f"{minutes // 1440} 天"
    if minutes % 60 == 0:
        return f"{minutes // 60} 小时"
    return f"{minutes} 分钟"


def summary(kind: SignalKind, a: Activity, detail: dict[str, Any]) -> str:
    """Why the signal was raised, in zh-CN, from the figures that raised it."""
    window = window_text(int(detail.get("window_minutes", 0)))
    threshold = int(detail.get("threshold", 0))
    if kind is SignalKind.BULK_READ:
        return (
            f"{a.name}在 {window}内读取个人数据 {a.rows:,} 行，高于其近 {BASELINE_DAYS} 日"
            f"每日读取量中位数（{detail['median_daily_rows']:,.0f} 行）的 "
            f"{detail['factor']:g} 倍，且达到最低阈值 {threshold:,} 行。"
        )
    if kind is SignalKind.OFF_HOURS_READ:
        return (
            f"{a.name}在非工作时间（非工作日，或工作日 {detail['hours_from']:02d}:00—"
            f"{detail['hours_to']:02d}:00 以外）读取个人数据 {a.rows:,} 行"
            f"（{window}内，阈值 {threshold:,} 行）。"
        )
    if kind is SignalKind.PROBING:
        return (
            f"{a.name or '匿名访问者'}在 {window}内被拒绝访问 {a.events} 次（阈值 {threshold} "
            f"次），涉及 {a.objects} 个不同的页面、接口或数据对象。"
        )
    if kind is SignalKind.FAILED_SIGN_INS:
        return (
            f"地址 {a.address or '未知'} 在 {window}内登录失败 {a.events} 次（阈值 {threshold} "
            f"次），尝试了 {a.objects} 个不同的用户名。"
        )
    reach = f"（单次达到 {threshold:,} 行的）" if threshold else ""
    return f"{a.name}导出或下载{reach}个人数据 {a.events} 次，共 {a.rows:,} 行。"


def rule_detail(kind: SignalKind, rule: SignalRule) -> dict[str, Any]:
    """The rule's parameters that a kind reads, kept with the signal it raised."""
    detail: dict[str, Any] = {"threshold": rule.threshold, "window_minutes": rule.window_minutes}
    if kind is SignalKind.BULK_READ:
        detail["factor"] = rule.factor
    if kind is SignalKind.OFF_HOURS_READ:
        detail |= {"hours_from": rule.hours_from, "hours_to": rule.hours_to}
    if kind is SignalKind.PERSONAL_EXPORT:
        detail.pop("window_minutes")
    return detail
