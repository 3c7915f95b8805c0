"""Who used whose shared data (共享调用情况; Art. 40, 41, 49, 50(4)(5)).

Every call of the data access API leaves one access record (``sharing.access.record_call``:
``object_type="share_source"``, the source's code, the provider as ``owner_department_id``,
the requesting department as ``actor_department_id``, the token, grant, purpose, rows,
outcome). This module reads them for the usage dashboards:

- a provider sees who read what of its data, a requester its own reads, a district bureau those
  of its region's departments, the city bureau and auditors all (``policy.usage_scope``);
- figures come from three set-based ``GROUP BY`` queries over the filtered range (per Beijing
  date; per grant, parties, source and system; per action and refusal code), each returning as
  many rows as its keys, not as the records; the page's tables and charts are sums of those;
- the records table and the xlsx export show no subject: only a keyed digest is stored, and the
  dashboards do not show even that (the person's own view is ``mydata``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    String,
    case,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.access import AccessRecord as AR
from govdata.core.actor import Actor
from govdata.core.calendar import CITY_TZ
from govdata.core.errors import InvalidInput
from govdata.core.pagination import Page
from govdata.org.models import Department
from govdata.sharing import errors, policy
from govdata.sharing.models import Grant, GrantUsage

SHARE_SOURCE = "share_source"
ACTIONS: dict[str, str] = {
    "sharing.lookup": "单条查询",
    "sharing.verify": "数据核验",
    "sharing.query": "分页查询",
    "sharing.sync": "增量同步",
    "sharing.bulk": "批量交付",
}
OUTCOMES: dict[str, str] = {"allowed": "允许", "refused": "拒绝"}
DEFAULT_DAYS = 30
MAX_DAYS = 366


def _refusal_labels() -> dict[str, str]:
    classes: list[Any] = [
        errors.NoGrant,
        errors.GrantOfAnotherDepartment,
        errors.SystemNotNamed,
        errors.GrantExpired,
        errors.GrantNotYetValid,
        errors.GrantRevoked,
        errors.ItemNotGranted,
        errors.PurposeMismatch,
        errors.OutsideRowConditions,
        errors.VerificationOnly,
        errors.SourceNotLoaded,
        errors.SubjectNotFound,
        errors.BadCursor,
        errors.RecordUnavailable,
    ]
    labels = {e.code: e.message for e in (cls() for cls in classes)}
    labels["auth.scope_missing"] = "接口令牌缺少 sharing:read 权限范围。"
    labels["sharing.system_required"] = "数据调用接口仅供部门信息系统使用接口令牌调用。"
    labels["request.rate_limited"] = "超出个人数据读取限额（第三十九条）。"
    return labels


REFUSALS = _refusal_labels()


def refusal_label(code: str) -> str:
    return REFUSALS.get(code, code or "（未注明）")


# --- errors ------------------------------------------------------------------------------------


class BadDate(InvalidInput):
    def __init__(self, label: str, value: str) -> None:
        super().__init__(
            "sharing.usage_bad_date", f"{label}“{value[:20]}”不是有效日期（YYYY-MM-DD）。"
        )


class BadRange(InvalidInput):
    def __init__(self, message: str) -> None:
        super().__init__("sharing.usage_bad_range", message)


class BadFilter(InvalidInput):
    def __init__(self, message: str) -> None:
        super().__init__("sharing.usage_bad_filter", message)


# --- the filter --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageFilter:
    """What the dashboards, the records table and the export show: Beijing dates (inclusive;
    by default the last 30 days), either party, the source, grant, outcome and action."""

    since: date | None = None
    until: date | None = None
    requester_department_id: int | None = None
    provider_department_id: int | None = None
    source: str | None = None
    grant_id: int | None = None
    outcome: Literal["allowed", "refused"] | None = None
    action: str | None = None

    def period(self, today: date | None = None) -> tuple[date, date]:
        until = self.until or today or calendar.today()
        since = self.since or until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            raise BadRange("起始日期不能晚于截止日期。")
        if (until - since).days + 1 > MAX_DAYS:
            raise BadRange(f"一次最多查看 {MAX_DAYS} 天的调用情况，请缩小日期范围。")
        return since, until

    def query(self) -> dict[str, str]:
        """The filter as query parameters (links, paging, the export)."""
        pairs = {
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "requester": str(self.requester_department_id or ""),
            "provider": str(self.provider_department_id or ""),
            "source": self.source or "",
            "grant": str(self.grant_id or ""),
            "outcome": self.outcome or "",
            "action": self.action or "",
        }
        return {k: v for k, v in pairs.items() if v}


def _date(value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise BadDate(label, value) from None
    if not date(2000, 1, 1) <= parsed <= date(9998, 12, 31):
        raise BadDate(label, value)
    return parsed


def _id(value: str | None, label: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise BadFilter(f"{label}“{value[:20]}”不是有效编号。")
    return int(value)


def parse_filter(
    *,
    since: str | None = None,
    until: str | None = None,
    requester: str | None = None,
    provider: str | None = None,
    source: str | None = None,
    grant: str | None = None,
    outcome: str | None = None,
    action: str | None = None,
) -> UsageFilter:
    """The filter from query parameters as typed; bad input is refused with a zh-CN message."""
    if outcome and outcome not in OUTCOMES:
        raise BadFilter("调用结果只能是“允许”或“拒绝”。")
    if action and action not in ACTIONS:
        raise BadFilter("调用方式不在可选范围内。")
    f = UsageFilter(
        since=_date(since, "起始日期"),
        until=_date(until, "截止日期"),
        requester_department_id=_id(requester, "使用部门"),
        provider_department_id=_id(provider, "提供部门"),
        source=(source or "").strip()[:80] or None,
        grant_id=_id(grant, "授权编号"),
        outcome="allowed" if outcome == "allowed" else "refused" if outcome == "refused" else None,
        action=action or None,
    )
    f.period()  # a bad range is refused before anything is read
    return f


def _conditions(actor: Actor, f: UsageFilter, today: date | None) -> list[ColumnElement[bool]]:
    since, until = f.period(today)
    start = datetime.combine(since, time.min, CITY_TZ)
    end = datetime.combine(until + timedelta(days=1), time.min, CITY_TZ)
    conds: list[ColumnElement[bool]] = [
        AR.object_type == SHARE_SOURCE,
        AR.at >= start,
        AR.at < end,
        policy.usage_scope(actor, AR.actor_department_id, AR.owner_department_id),
    ]
    if f.requester_department_id is not None:
        conds.append(AR.actor_department_id == f.requester_department_id)
    if f.provider_department_id is not None:
        conds.append(AR.owner_department_id == f.provider_department_id)
    if f.source:
        conds.append(AR.object_id == f.source)
    if f.grant_id is not None:
        conds.append(AR.grant_id == f.grant_id)
    if f.outcome is not None:
        conds.append(AR.outcome == f.outcome)
    if f.action is not None:
        conds.append(AR.action == f.action)
    return conds


def local_date(dialect: str, column: Any = AR.at) -> ColumnElement[str]:
    """A timestamp's Beijing date as ``YYYY-MM-DD``, in the engine's own SQL (as the security
    domain's scan computes it)."""
    if dialect == "sqlite":
        # Stored as UTC text; Asia/Shanghai is UTC+8 all year (no daylight saving since 1991).
        return func.strftime(_sql("%Y-%m-%d"), column, _sql("+8 hours"))
    return func.to_char(func.timezone(_sql(str(CITY_TZ)), column), _sql("YYYY-MM-DD"))


def _sql(value: str) -> ColumnElement[str]:
    """A constant as SQL text, the same on every call (statement caching); our constants only."""
    return literal_column("'" + value + "'", String)


# --- the summary -------------------------------------------------------------------------------


@dataclass
class Tally:
    """Calls (allowed and refused) and rows returned, for one key of one dimension."""

    key: Any
    label: str
    calls: int = 0
    refused: int = 0
    rows: int = 0

    @property
    def allowed(self) -> int:
        return self.calls - self.refused

    def add(self, calls: int, refused: int, rows: int) -> None:
        self.calls += calls
        self.refused += refused
        self.rows += rows


@dataclass
class GrantUse(Tally):
    requester: str = ""
    provider: str = ""
    source_name: str = ""
    purpose_code: str = ""
    daily_quota: int | None = None
    today_calls: int = 0  # the daily quota's counter for today (Beijing)


@dataclass
class Summary:
    since: date
    until: date
    total: Tally
    days: list[Tally]  # one per day of the period, key = date
    requesters: list[Tally]
    providers: list[Tally]
    sources: list[Tally]
    grants: list[GrantUse]
    systems: list[Tally]
    actions: list[Tally]
    refusals: list[Tally] = field(default_factory=list)


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Department.id, Department.name).where(Department.id.in_(ids)))
    return {int(i): str(n) for i, n in rows}


def _source_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(
        select(Grant.source_code, func.max(Grant.source_name))
        .where(Grant.source_code.in_(codes))
        .group_by(Grant.source_code)
    )
    return {str(c): str(n) for c, n in rows}


def _sorted(tallies: dict[Any, Tally]) -> list[Tally]:
    return sorted(tallies.values(), key=lambda t: (-t.calls, str(t.label)))


def _aggregate(session: Session, conds: list[ColumnElement[bool]], *keys: Any) -> list[Any]:
    """Calls, refusals, rows (and the system's name) per ``keys`` over the filtered records."""
    return list(
        session.execute(
            select(
                *keys,
                func.count(),
                func.sum(case((AR.outcome == "refused", 1), else_=0)),
                func.sum(func.coalesce(AR.rows, 0)),
                func.max(AR.actor_name),
            )
            .where(*conds)
            .group_by(*keys)
        ).all()
    )


def summary(
    session: Session, actor: Actor, f: UsageFilter, *, today: date | None = None
) -> Summary:
    """The dashboards' figures for the filter, within the actor's scope (Art. 40, 41, 49)."""
    policy.require_view_usage(actor)
    since, until = f.period(today)
    # Three set-based passes over the range, each as long as its keys, not as the records:
    # per Beijing day; per grant and the parties, source and system it was used by (at most the
    # grants in use times their systems); per action and refusal code.
    conds = _conditions(actor, f, today)
    per_day = _aggregate(session, conds, local_date(session.get_bind().dialect.name))
    per_use = _aggregate(
        session,
        conds,
        AR.actor_department_id,
        AR.owner_department_id,
        AR.object_id,
        AR.grant_id,
        AR.token_id,
    )
    per_action = _aggregate(session, conds, AR.action, AR.reason)
    names = _names(session, {i for row in per_use for i in row[:2] if i is not None})
    sources = _source_names(session, {row[2] for row in per_use if row[2]})

    def dept(i: int | None) -> str:
        return names.get(i, f"部门 {i}") if i is not None else "（未注明）"

    n_days = (until - since).days + 1
    days = {since + timedelta(days=k): Tally(since + timedelta(days=k), "") for k in range(n_days)}
    for t in days.values():
        t.label = t.key.strftime("%m-%d")
    total = Tally("all", "合计")
    for d, n, r, w, _ in per_day:
        total.add(int(n), int(r or 0), int(w or 0))
        day_tally = days.get(date.fromisoformat(d))
        if day_tally is not None:
            day_tally.add(int(n), int(r or 0), int(w or 0))
    tallies: dict[str, dict[Any, Tally]] = {
        k: {} for k in ("requester", "provider", "source", "system", "action", "refusal")
    }
    by_grant: dict[Any, GrantUse] = {}
    for req, prov, code, grant_id, token_id, n, r, w, system in per_use:
        counts = (int(n), int(r or 0), int(w or 0))
        tallies["requester"].setdefault(req, Tally(req, dept(req))).add(*counts)
        tallies["provider"].setdefault(prov, Tally(prov, dept(prov))).add(*counts)
        label = sources.get(code, "")
        source = Tally(code, f"{label}（{code}）" if label else str(code))
        tallies["source"].setdefault(code, source).add(*counts)
        if grant_id is not None:
            by_grant.setdefault(grant_id, GrantUse(grant_id, f"授权 {grant_id}")).add(*counts)
        name = f"{system}（令牌 {token_id}）" if token_id is not None else str(system)
        # A token's name in the records already starts with its department ("部门·系统").
        who = name if name.startswith(f"{dept(req)}·") else f"{dept(req)}·{name}"
        tallies["system"].setdefault((req, token_id), Tally(token_id, who)).add(*counts)
    for action, reason, n, r, w, _ in per_action:
        counts = (int(n), int(r or 0), int(w or 0))
        tallies["action"].setdefault(action, Tally(action, ACTIONS.get(action, str(action)))).add(
            *counts
        )
        if counts[1]:
            refusal = Tally(reason, refusal_label(reason or ""))
            tallies["refusal"].setdefault(reason, refusal).add(counts[1], counts[1], 0)
    _describe_grants(session, by_grant, today or calendar.today())
    return Summary(
        since=since,
        until=until,
        total=total,
        days=list(days.values()),
        requesters=_sorted(tallies["requester"]),
        providers=_sorted(tallies["provider"]),
        sources=_sorted(tallies["source"]),
        grants=sorted(by_grant.values(), key=lambda t: (-t.calls, t.key)),
        systems=_sorted(tallies["system"]),
        actions=_sorted(tallies["action"]),
        refusals=_sorted(tallies["refusal"]),
    )


def _describe_grants(session: Session, uses: dict[Any, GrantUse], today: date) -> None:
    """Each grant's parties, source, purpose and daily quota, and today's count against it."""
    if not uses:
        return
    ids = list(uses)
    grants = session.execute(
        select(
            Grant.id,
            Grant.requester_department_id,
            Grant.provider_department_id,
            Grant.source_name,
            Grant.purpose_code,
            Grant.daily_quota,
        ).where(Grant.id.in_(ids))
    ).all()
    names = _names(session, {i for g in grants for i in (g[1], g[2])})
    counted = dict(
        session.execute(
            select(GrantUsage.grant_id, GrantUsage.calls).where(
                GrantUsage.grant_id.in_(ids), GrantUsage.day == today
            )
        ).all()
    )
    for gid, req, prov, source_name, purpose_code, quota in grants:
        use = uses[gid]
        use.requester = names.get(req, "")
        use.provider = names.get(prov, "")
        use.source_name = source_name
        use.purpose_code = purpose_code
        use.daily_quota = quota
        use.today_calls = int(counted.get(gid, 0))
        use.label = f"授权 {gid}：{source_name}"


# --- the records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageRecord:
    """One sharing call as the dashboards show it: no subject (not even its digest)."""

    id: int
    at: datetime
    action: str
    action_label: str
    requester_department_id: int | None
    requester: str
    system: str
    token_id: int | None
    provider_department_id: int | None
    provider: str
    source: str
    source_name: str
    grant_id: int | None
    purpose: str
    fields: list[str]
    rows: int
    personal: bool
    outcome: str
    outcome_label: str
    reason: str
    reason_label: str


def statement(actor: Actor, f: UsageFilter, today: date | None) -> Any:
    """The records as plain rows (no ORM identity map: the export reads tens of thousands)."""
    table = AR.__table__
    return select(*table.c).where(*_conditions(actor, f, today)).order_by(AR.id.desc())


def count(session: Session, actor: Actor, f: UsageFilter, today: date | None) -> int:
    stmt = select(func.count()).select_from(AR).where(*_conditions(actor, f, today))
    return int(session.scalar(stmt) or 0)


def as_records(session: Session, rows: Sequence[Any]) -> list[UsageRecord]:
    names = _names(
        session,
        {i for r in rows for i in (r.actor_department_id, r.owner_department_id) if i is not None},
    )
    sources = _source_names(session, {r.object_id for r in rows if r.object_id})
    return [
        UsageRecord(
            id=r.id,
            at=r.at,
            action=r.action,
            action_label=ACTIONS.get(r.action, r.action),
            requester_department_id=r.actor_department_id,
            requester=names.get(r.actor_department_id, "") if r.actor_department_id else "",
            system=r.actor_name,
            token_id=r.token_id,
            provider_department_id=r.owner_department_id,
            provider=names.get(r.owner_department_id, "") if r.owner_department_id else "",
            source=r.object_id,
            source_name=sources.get(r.object_id, ""),
            grant_id=r.grant_id,
            purpose=r.purpose,
            fields=[x for x in r.fields.split(",") if x],
            rows=r.rows,
            personal=r.personal,
            outcome=r.outcome,
            outcome_label=OUTCOMES.get(r.outcome, r.outcome),
            reason=r.reason,
            reason_label=refusal_label(r.reason) if r.outcome == "refused" else "",
        )
        for r in rows
    ]


def list_records(
    session: Session,
    actor: Actor,
    f: UsageFilter,
    *,
    offset: int = 0,
    limit: int = 50,
    today: date | None = None,
) -> Page[UsageRecord]:
    """The filtered records, newest first, within the actor's scope."""
    policy.require_view_usage(actor)
    offset = max(offset, 0)
    limit = min(max(limit, 1), 200)
    total = count(session, actor, f, today)
    rows = session.execute(statement(actor, f, today).offset(offset).limit(limit)).all()
    return Page(items=as_records(session, rows), total=total, offset=offset, limit=limit)


def by_department(rows: list[Tally]) -> dict[int, str]:
    """Departments named in a summary's tallies (for the filter's choices): only departments
    that appear in records the actor may read."""
    return {int(t.key): t.label for t in rows if isinstance(t.key, int)}
