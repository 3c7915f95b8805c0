"""The demo city's sharing (issue 13, §9), loaded after the aggregation demo so that every
sharing page shows something real.

- Thirteen requesting departments each get a system (an API token with ``sharing:read``; the
  demo's secrets are printed with the demo accounts).
- Registrations for the base databases and an unconditional pool (Art. 24, 25(2), 26 ¶2), one
  of them verification-only; applications for conditional pools in every state: pending
  (within its clock, overdue, extended), approved, narrowed (fewer items, the requester's
  district, a daily quota), refused with reason and basis, withdrawn; one grant expired, one
  revoked with its reason (Art. 50(4)(5)).
- Two objections (Art. 27): one being coordinated, with notes; one settled by an ordered grant.
- Signing keys (Art. 28): the provider of ``base.licence``'s, and 市公安局's, rotated once.
- About 30,000 recorded calls over the last 60 days (Art. 40), allowed and refused, and the
  grants' daily usage; ``demo.citizen`` is a person of the person base database, and some calls
  are about that person ("who used my data").

Everything but the calls is made through the platform's services, acting as the demo account
(or named officer) who would take each step, then moved to the story's past days (``workflow``).
Loaded once, in one transaction: a database that has grants already is left alone. The plan
is ``plan``; applications and grants are made in ``workflow``, objections in ``disputes``, keys
in ``signing_keys``, calls (bulk inserts of historical records) in ``calls``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from govdata.aggregation.models import Pool
from govdata.core import audit, calendar, obligations
from govdata.core.access import AccessRecord
from govdata.core.crypto import subject_digest, token_digest
from govdata.core.db import transaction
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import ApiToken, Department, Person, Region
from govdata.sharing import grants
from govdata.sharing.demo import calls, disputes, signing_keys, workflow
from govdata.sharing.demo.plan import DISPUTES, LEGAL, PERSON, STORIES, SYSTEMS, Story
from govdata.sharing.models import Grant, Objection, ShareApplication, SigningKey
from govdata.sharing.sources import SharedSource, data_table, get_source

__all__ = ["DemoSharing", "demo_tokens", "load_demo_sharing", "run_demo_step"]


@dataclass(frozen=True)
class DemoSharing:
    """What ``load_demo_sharing`` made, for the CLI's summary line and the tests."""

    systems: int
    applications: dict[str, int]  # by status
    grants: dict[str, int]  # by state today (active, expired, revoked …)
    objections: dict[str, int]  # by status
    signing_keys: dict[str, int]  # current / retired
    calls: int
    refused_calls: int
    citizen_calls: int


def _sources(session: Session) -> dict[str, SharedSource] | None:
    names = {s.source for s in STORIES} - {PERSON, LEGAL}
    codes = {
        str(name): str(code)
        for name, code in session.execute(select(Pool.name, Pool.code).where(Pool.name.in_(names)))
    }
    out: dict[str, SharedSource] = {}
    for handle in {s.source for s in STORIES}:
        code = handle if handle in (PERSON, LEGAL) else codes.get(handle)
        source = get_source(session, code) if code else None
        if source is None or not source.loaded:
            return None
        out[handle] = source
    return out


def _world(session: Session) -> workflow.World | None:
    """The demo city with the aggregation demo loaded, or None."""
    sources = _sources(session)
    if sources is None:
        return None
    names = {s.department for s in SYSTEMS}
    provider_ids = {s.provider_department_id for s in sources.values()}
    depts = {
        d.name: d
        for d in session.scalars(
            select(Department).where(Department.name.in_(names) | Department.id.in_(provider_ids))
        )
    }
    if not names <= set(depts):
        return None
    city = workflow.actor_of(session, "demo.city") or BOOTSTRAP
    w = workflow.World(
        session=session,
        today=calendar.today(),
        cal=calendar.load_calendar(session),
        depts=depts,
        regions={r.id: r for r in session.scalars(select(Region))},
        sources=sources,
        tokens={},
        city=city,
    )
    w.tokens = workflow.issue_tokens(session, depts)
    return w


def _citizen(session: Session, w: workflow.World) -> str | None:
    """The demo citizen is a person of the person base database: its identity digest is set
    (as identity authentication would, Ch. 5), so "who used my data" finds the calls."""
    person = session.scalar(select(Person).where(Person.username == "demo.citizen"))
    source = w.sources[PERSON]
    table = data_table(source)
    if person is None or table is None or source.key_column is None:
        return None
    column = table.c[source.key_column]
    keys = list(session.scalars(select(column).order_by(column).limit(200)))
    if not keys:
        return None
    key = str(keys[len(keys) // 2])
    person.identity_digest = subject_digest(key)
    return key


def load_demo_sharing(factory: sessionmaker[Session]) -> DemoSharing | None:
    """Load the demo city's sharing once; None when grants exist already (or the aggregation
    demo's sources do not)."""
    with transaction(factory) as session:
        if session.scalar(select(func.count(Grant.id))):
            return None
        w = _world(session)
        if w is None:
            return None
        made: dict[str, tuple[Story, ShareApplication, Grant | None]] = {}
        for story in STORIES:
            app, grant = workflow.make_story(w, story)
            made[story.handle] = (story, app, grant)
        callers: list[calls.Caller] = []
        for dispute in DISPUTES:
            story, app, _ = made[dispute.story]
            _, ordered = disputes.make_dispute(w, dispute, story, app)
            if ordered is not None:
                callers.append(_caller(w, story, ordered, dispute.ordered_calls))
        signing_keys.make_keys(w)
        callers += [
            _caller(w, story, grant, story.calls)
            for story, _, grant in made.values()
            if grant is not None and story.calls
        ]
        citizen_key = _citizen(session, w)
        records, per_day, rows = calls.generate(
            session, callers, cal=w.cal, today=w.today, citizen_key=citizen_key
        )
        calls.insert_calls(session, records, per_day, rows)
        # The daily scan flags the clock that ran out (Art. 50(8)), as the job would.
        obligations.scan_overdue(session, w.today)
        result = summary(session)
        audit.record(
            session,
            BOOTSTRAP,
            "demo.sharing.load",
            object_type="sharing",
            object_id="demo",
            summary=(
                f"载入演示共享数据：{sum(result.applications.values())} 个共享申请和登记，"
                f"{sum(result.grants.values())} 个授权，{result.calls} 条调用记录"
            ),
            change={
                "applications": result.applications,
                "grants": result.grants,
                "objections": result.objections,
                "signing_keys": result.signing_keys,
                "calls": result.calls,
            },
        )
        return result


def _caller(w: workflow.World, story: Story, grant: Grant, count: int) -> calls.Caller:
    token = w.tokens[story.requester]
    system = next(s for s in SYSTEMS if s.department == story.requester)
    return calls.Caller(
        grant=grant,
        source=w.sources[story.source],
        token=token,
        actor_name=f"{story.requester}·{token.name}",
        address=system.address,
        calls=count,
        handle=story.handle,
    )


def summary(session: Session) -> DemoSharing:
    today = calendar.today()
    states: dict[str, int] = {}
    for g in session.scalars(select(Grant)):
        state = grants.state(g, today)
        states[state] = states.get(state, 0) + 1
    digest = session.scalar(select(Person.identity_digest).where(Person.username == "demo.citizen"))
    return DemoSharing(
        systems=len(demo_tokens(session)),
        applications=_count(session, ShareApplication.status),
        grants=states,
        objections=_count(session, Objection.status),
        signing_keys=_keys(session),
        calls=_scalar(session, select(func.count(AccessRecord.id)).where(_sharing())),
        refused_calls=_scalar(
            session,
            select(func.count(AccessRecord.id)).where(
                _sharing(), AccessRecord.outcome == "refused"
            ),
        ),
        citizen_calls=_scalar(
            session,
            select(func.count(AccessRecord.id)).where(AccessRecord.subject_digest == digest),
        )
        if digest
        else 0,
    )


def _keys(session: Session) -> dict[str, int]:
    retired = SigningKey.retired_at.is_(None)
    rows = session.execute(select(retired, func.count()).group_by(retired))
    return {"current" if current else "retired": int(n) for current, n in rows}


def _sharing() -> ColumnElement[bool]:
    return AccessRecord.action.startswith("sharing.")


def _scalar(session: Session, stmt: Select[int]) -> int:
    return int(session.scalar(stmt) or 0)


def _count(session: Session, column: InstrumentedAttribute[str]) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).group_by(column))
    return {str(k): int(n) for k, n in rows}


def demo_tokens(session: Session) -> list[tuple[str, str, str]]:
    """(department, system, secret) of the demo systems present: published demo credentials,
    like the demo password."""
    depts = {
        d.name: d
        for d in session.scalars(
            select(Department).where(Department.name.in_([s.department for s in SYSTEMS]))
        )
    }
    out: list[tuple[str, str, str]] = []
    for system in SYSTEMS:
        dept = depts.get(system.department)
        if dept is None:
            continue
        secret = workflow.demo_secret(dept.code)
        if session.scalar(select(ApiToken.id).where(ApiToken.digest == token_digest(secret))):
            out.append((system.department, system.name, secret))
    return out


def run_demo_step(factory: sessionmaker[Session], console: Console) -> None:
    """``govdata demo``'s sharing step: load once, then print the summary and the systems'
    tokens (every run, like the accounts)."""
    with console.status("正在生成演示共享申请、授权和调用记录……"):
        result = load_demo_sharing(factory)
    if result is not None:
        a, g, k = result.applications, result.grants, result.signing_keys
        console.print(
            f"已载入演示共享数据：共享申请和登记 {sum(a.values())} 个（待答复 "
            f"{a.get('pending', 0)} 个），授权 {sum(g.values())} 个（有效 {g.get('active', 0)} 个，"
            f"已过期 {g.get('expired', 0)} 个，已撤销 {g.get('revoked', 0)} 个），异议 "
            f"{sum(result.objections.values())} 个，签名密钥 "
            f"{sum(k.values())} 个（已停用 {k.get('retired', 0)} 个），"
            f"调用记录 {result.calls} 条（拒绝 "
            f"{result.refused_calls} 条）；演示公民 demo.citizen 的数据被调用 "
            f"{result.citizen_calls} 次。"
        )
    with factory() as session:
        tokens = demo_tokens(session)
    if tokens:
        # One line each, the secret first and never cut (a table would truncate it).
        console.print("演示共享调用系统的接口令牌（权限范围 sharing:read，调用数据接口时使用）：")
        for dept, system, secret in tokens:
            console.print(f"  {secret}  {dept}·{system}", soft_wrap=True, highlight=False)
