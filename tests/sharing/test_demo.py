"""The demo city's sharing (issue 13, §9), loaded on a fresh database after the demo city, a
small demo catalog and the aggregation demo, exactly as ``govdata demo`` does (its CLI step)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation.models import BaseDatabase, BaseKind
from govdata.core import calendar, obligations
from govdata.core.access import AccessRecord
from govdata.core.actor import Actor, Role
from govdata.core.audit import AuditEvent
from govdata.core.crypto import subject_digest
from govdata.core.db import make_engine, make_sessionmaker, transaction
from govdata.core.migrate import upgrade
from govdata.core.settings import get_settings
from govdata.org import auth
from govdata.org.demo import default_regions_csv, load_demo_org
from govdata.org.models import ApiToken, Department, Person
from govdata.org.service import role_grants
from govdata.sharing import grants, keys
from govdata.sharing.demo import (
    DemoSharing,
    demo_tokens,
    load_demo_sharing,
    run_demo_step,
    summary,
)
from govdata.sharing.demo.calls import BEIJING
from govdata.sharing.demo.plan import SYSTEMS
from govdata.sharing.models import (
    ApplicationKind,
    Grant,
    GrantMode,
    GrantOrigin,
    GrantSystem,
    GrantUsage,
    Objection,
    ObjectionNote,
    ShareApplication,
)
from govdata.sharing.sources import data_table, get_source
from tests import demo_city
from tests.conftest import new_database_url
from tests.demo_city import DemoCityBase
from tests.pgcluster import PgCluster


@dataclass
class Demo:
    engine: Engine
    factory: sessionmaker[Session]
    result: DemoSharing
    first_output: str
    second_output: str


def _run(factory: sessionmaker[Session]) -> str:
    out = io.StringIO()
    run_demo_step(factory, Console(file=out, width=80, force_terminal=False))  # a narrow terminal
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(
    demo_city_base: DemoCityBase, tmp_path_factory: pytest.TempPathFactory, worker: str
) -> Iterator[Demo]:
    url, var = demo_city.copy(
        demo_city_base, tmp_path_factory.mktemp("sharing-demo"), f"govdata_sharedemo_{worker}"
    )
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVDATA_VAR_DIR", str(var))  # the pipeline's spool directory
        get_settings.cache_clear()
        try:
            first = _run(factory)
            with factory() as session:
                result = summary(session)
            second = _run(factory)  # running the demo again reuses what is there
            yield Demo(engine, factory, result, first, second)
        finally:
            get_settings.cache_clear()
            engine.dispose()


def account(session: Session, username: str) -> Actor:
    person = session.scalars(select(Person).where(Person.username == username)).one()
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


def dept_id(session: Session, name: str) -> int:
    return session.scalars(select(Department.id).where(Department.name == name)).one()


def application(session: Session, requester: str, source_name: str) -> ShareApplication:
    return session.scalars(
        select(ShareApplication).where(
            ShareApplication.requester_department_id == dept_id(session, requester),
            ShareApplication.source_name == source_name,
        )
    ).one()


def test_applications_in_every_state(demo: Demo) -> None:  # Art. 24, 26 ¶2
    assert demo.result.applications == {
        "registered": 6,
        "pending": 3,
        "approved": 3,
        "narrowed": 1,
        "refused": 2,
        "withdrawn": 1,
    }
    with demo.factory() as session:
        apps = list(session.scalars(select(ShareApplication)))
        kind = obligations.kinds()["sharing.application"]  # the applications service's
        for app in apps:
            registration = app.kind == ApplicationKind.REGISTRATION
            # Registrations are effective at once and have no clock; applications have one.
            assert registration == (app.status == "registered")
            assert (app.received_on is None) == registration
            assert (app.due_on is None) == registration
            assert app.token_ids and app.calling_system and app.duty and app.legal_basis
            if registration:
                assert app.grant_id is not None
                continue
            assert app.due_on is not None and app.received_on is not None
            # The clock is the register's, of the real kind, and agrees with the application.
            ob = obligations.find(session, kind, "share_application", app.id)
            assert ob is not None and ob.kind == "sharing.application"
            assert ob.started_on == app.received_on and ob.due_on == app.due_on
            assert ob.answered_on == app.answered_on
            if not app.extension_days:  # 10 working days from receipt, on the calendar
                assert app.due_on == obligations.deadline(session, kind, app.received_on).due
        refused = [a for a in apps if a.status == "refused"]
        assert all(a.refusal_reason and a.refusal_basis and a.answered_on for a in refused)
        assert all(a.grant_id is None for a in refused)
        withdrawn = next(a for a in apps if a.status == "withdrawn")
        assert withdrawn.grant_id is None and withdrawn.decided_by is None
        # Made and answered by people: the requester's officer, the provider's officer.
        for app in apps:
            assert app.created_by is not None
            maker = Actor(
                person_id=app.created_by, name="", grants=role_grants(session, app.created_by)
            )
            assert app.requester_department_id in maker.department_ids(Role.DEPARTMENT_OFFICER)
            if app.decided_by is not None:
                decider = Actor(
                    person_id=app.decided_by, name="", grants=role_grants(session, app.decided_by)
                )
                assert app.provider_department_id in decider.department_ids()
                assert app.decided_at is not None and app.answered_on is not None
                assert app.decided_at.astimezone(BEIJING).date() == app.answered_on


def test_pending_clocks_within_overdue_and_extended(demo: Demo) -> None:  # Art. 26, 50(8)
    today = calendar.today()
    with demo.factory() as session:
        pending = {
            a.source_name + "/" + str(a.requester_department_id): a
            for a in session.scalars(
                select(ShareApplication).where(ShareApplication.status == "pending")
            )
        }
        assert len(pending) == 3
        within = application(session, "渝中区人力资源和社会保障局", "流动人口居住登记信息")
        overdue = application(session, "市住房和城乡建设委员会", "社会保险参保人员信息")
        extended = application(session, "市医疗保障局", "社会保险参保人员信息")
        assert within.status == overdue.status == extended.status == "pending"
        assert within.due_on is not None and within.due_on >= today
        assert within.extension_days == 0
        assert overdue.due_on is not None and overdue.due_on < today
        assert extended.due_on is not None and extended.due_on >= today
        assert extended.extension_days == 10 and extended.extension_reason
        assert extended.original_due_on is not None and extended.original_due_on < today
        # The extension was approved by the providing department's head.
        assert extended.extended_by is not None
        head = Actor(
            person_id=extended.extended_by,
            name="",
            grants=role_grants(session, extended.extended_by),
        )
        assert extended.provider_department_id in head.department_ids(Role.DEPARTMENT_HEAD)
        # The register agrees: the overdue one is flagged (Art. 50(8)), the others are not.
        by_subject = {
            ob.subject_id: ob
            for ob in session.scalars(
                select(obligations.Obligation).where(
                    obligations.Obligation.subject_type == "share_application"
                )
            )
        }
        assert by_subject[overdue.id].overdue and by_subject[overdue.id].is_open
        assert not by_subject[within.id].overdue
        assert by_subject[extended.id].due_on == extended.due_on
        assert by_subject[extended.id].extended_by == extended.extended_by
        answered = session.scalars(
            select(ShareApplication).where(
                ShareApplication.status.in_(["approved", "narrowed", "refused", "withdrawn"])
            )
        ).all()
        assert all(not by_subject[a.id].is_open for a in answered)
        # The provider's demo officer finds the pending application in the to-do list.
        todo = obligations.open_for(session, account(session, "demo.district_officer"))
        assert any(t.kind == "sharing.application" and str(within.id) in t.title for t in todo)


def test_grants_narrowed_expired_revoked_verification(demo: Demo) -> None:  # Art. 26, 50(4)(5)
    today = calendar.today()
    assert demo.result.grants == {"active": 9, "expired": 1, "revoked": 1}
    with demo.factory() as session:
        all_grants = list(session.scalars(select(Grant)))
        narrowed = application(session, "渝中区市场监督管理局", "纳税人登记信息")
        assert narrowed.status == "narrowed" and narrowed.grant_id is not None
        g = session.get(Grant, narrowed.grant_id)
        assert g is not None
        assert set(g.items) < set(narrowed.items)
        assert g.row_condition == {
            "item": "主管税务机关",
            "values": ["国家税务总局重庆市渝中区税务局"],
        }
        assert g.daily_quota == 300
        states = {x.id: grants.state(x, today) for x in all_grants}
        expired = [x for x in all_grants if states[x.id] == "expired"]
        assert len(expired) == 1 and expired[0].expires_on is not None
        assert expired[0].expires_on < today
        revoked = [x for x in all_grants if states[x.id] == "revoked"]
        assert len(revoked) == 1 and "第五十条" in revoked[0].revoke_reason
        assert revoked[0].revoked_at is not None and revoked[0].revoked_by_name
        verification = [x for x in all_grants if x.mode == GrantMode.VERIFICATION]
        assert len(verification) == 1 and verification[0].source_code == "base.person"
        registered = [
            x
            for x in all_grants
            if x.origin == GrantOrigin.REGISTRATION
            and x.source_code == "base.person"
            and x.mode == GrantMode.DATA
            and states[x.id] == "active"
        ]
        assert len(registered) == 3
        # Every grant names its requester's system, a token with sharing:read.
        for x in all_grants:
            tokens = session.scalars(
                select(ApiToken)
                .join(GrantSystem, GrantSystem.token_id == ApiToken.id)
                .where(GrantSystem.grant_id == x.id)
            ).all()
            assert len(tokens) == 1
            assert tokens[0].department_id == x.requester_department_id
            assert "sharing:read" in tokens[0].scope_list
        # Each grant was made through the grants service, which audits it.
        created = session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "sharing.grant_created")
        )
        assert created == len(all_grants)


def test_objections_coordinating_and_settled_with_an_ordered_grant(demo: Demo) -> None:  # Art. 27
    assert demo.result.objections == {"coordinating": 1, "settled": 1}
    with demo.factory() as session:
        objections = {o.status: o for o in session.scalars(select(Objection))}
        coordinating, settled = objections["coordinating"], objections["settled"]
        notes = session.scalars(
            select(ObjectionNote).where(ObjectionNote.objection_id == coordinating.id)
        ).all()
        assert len(notes) >= 2 and {n.department_id for n in notes} >= {
            coordinating.department_id,
            coordinating.provider_department_id,
        }
        assert coordinating.answered_on is None and coordinating.ordered_grant_id is None
        assert settled.ordered == "grant" and settled.outcome and settled.answered_on
        assert settled.result == "partly"
        # Each has the register's clock of the real kind, agreeing with the objection.
        kind = obligations.kinds()["sharing.objection"]
        for o in (coordinating, settled):
            ob = obligations.find(session, kind, "objection", o.id)
            assert ob is not None and ob.started_on == o.received_on and ob.due_on == o.due_on
            assert o.due_on == obligations.deadline(session, kind, o.received_on).due
            assert ob.answered_on == o.answered_on
        assert settled.settled_at is not None
        assert settled.settled_at.astimezone(BEIJING).date() == settled.answered_on
        ordered = session.get(Grant, settled.ordered_grant_id)
        assert ordered is not None and ordered.origin == GrantOrigin.ORDER
        assert ordered.valid_from == settled.answered_on
        assert ordered.objection_id == settled.id
        assert ordered.requester_department_id == settled.department_id
        # The refusal the objection was about stays on record.
        refused = session.get(ShareApplication, settled.application_id)
        assert refused is not None and refused.status == "refused"
        # The district's bureau coordinated its own district's dispute.
        district = account(session, "demo.district")
        assert settled.settled_by == district.person_id
        assert settled.region_id in district.region_ids()


def test_made_through_the_services(demo: Demo) -> None:  # Art. 26, 27, 28
    """Every step left the audit events its service writes, and no hand-made stand-ins."""
    with demo.factory() as session:
        ours = [
            str(i)
            for i in session.scalars(
                select(obligations.Obligation.id).where(
                    obligations.Obligation.kind.startswith("sharing.")
                )
            )
        ]
        actions = Counter(
            session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.action.startswith("sharing.")
                    | (
                        AuditEvent.action.startswith("obligation.")
                        & (AuditEvent.object_type == "obligation")
                        & AuditEvent.object_id.in_(ours)
                    )
                )
            )
        )
        assert {a: n for a, n in actions.items() if not a.startswith("sharing.grant")} == {
            "sharing.application.register": 6,
            "sharing.application.submit": 10,
            "sharing.application.approve": 4,  # 3 as asked, 1 narrowed
            "sharing.application.refuse": 2,
            "sharing.application.withdraw": 1,
            "obligation.open": 12,  # 10 applications, 2 objections
            "obligation.answer": 8,  # 7 answered or withdrawn, 1 objection settled
            "obligation.extension.request": 1,
            "obligation.extension.approve": 1,
            "sharing.objection_raised": 2,
            "sharing.objection_taken_up": 2,
            "sharing.objection_note": 3,  # the bureau's first note goes with taking it up
            "sharing.objection_settled": 1,
            "sharing.signing_key.create": 2,
            "sharing.signing_key.rotate": 1,
        }
        assert actions["sharing.grant_revoked"] == 1
        # The services' subject types: no stand-in left.
        sharing = obligations.Obligation.kind.startswith("sharing.")
        rows = session.execute(
            select(obligations.Obligation.kind, obligations.Obligation.subject_type).where(
                sharing | obligations.Obligation.subject_type.in_(["share_objection"])
            )
        )
        kinds = Counter((kind, subject) for kind, subject in rows)
        assert kinds == {
            ("sharing.application", "share_application"): 10,
            ("sharing.objection", "objection"): 2,
        }
        assert not session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.object_type == "share_objection")
        )
        # Every step was taken by a person (the services act for people only).
        steps = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action.startswith("sharing.application.")
                | AuditEvent.action.startswith("sharing.objection")
                | AuditEvent.action.startswith("obligation.extension")
            )
        ).all()
        assert steps and all(e.actor_id is not None for e in steps)


def test_signing_keys_current_and_retired(demo: Demo) -> None:  # Art. 28
    assert demo.result.signing_keys == {"current": 2, "retired": 1}
    with demo.factory() as session:
        licence = session.scalars(
            select(BaseDatabase).where(BaseDatabase.kind == BaseKind.LICENCE.value)
        ).one()
        published = keys.published(session)
        assert len(published) == 3
        licence_keys = [k for k in published if k.department_id == licence.lead_department_id]
        assert len(licence_keys) == 1 and licence_keys[0].current
        police = dept_id(session, "市公安局")
        old, new = sorted(
            (k for k in published if k.department_id == police), key=lambda k: k.created_at
        )
        assert old.retired_at is not None and not old.current and new.current
        assert old.created_at < old.retired_at <= new.created_at
        # Made and rotated by the department's head (the demo account), through ``sharing.keys``.
        head = account(session, "demo.head")
        assert police in head.department_ids(Role.DEPARTMENT_HEAD)
        rotated = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "sharing.signing_key.rotate")
        ).one()
        assert rotated.actor_id == head.person_id and rotated.object_id == new.key_id
        # The current keys can open their private halves (the KEK in the var directory).
        for k in published:
            row = keys.current_key(session, k.department_id)
            assert row is not None and keys.private_key(row)


def test_calls_are_recorded_with_grant_purpose_system_and_subject(demo: Demo) -> None:  # Art. 40
    today = calendar.today()
    with demo.factory() as session:
        records = session.scalars(
            select(AccessRecord).where(AccessRecord.action.startswith("sharing."))
        ).all()
        assert len(records) == demo.result.calls >= 30_000
        grant_by_id = {g.id: g for g in session.scalars(select(Grant))}
        tokens = {t.id: t for t in session.scalars(select(ApiToken))}
        assert all(r.grant_id in grant_by_id and r.token_id in tokens for r in records)
        assert all(r.purpose and r.actor_id is None for r in records)
        days = {r.at.astimezone(BEIJING).date() for r in records}
        assert min(days) >= today - timedelta(days=59) and max(days) <= today
        allowed = [r for r in records if r.outcome == "allowed"]
        refused = [r for r in records if r.outcome == "refused"]
        assert len(refused) == demo.result.refused_calls and 300 < len(refused) < len(records) / 10
        assert {r.reason for r in refused} <= {
            "sharing.purpose_mismatch",
            "sharing.item_not_granted",
            "sharing.system_not_named",
            "sharing.grant_expired",
            "sharing.grant_revoked",
            "request.rate_limited",
        }
        assert {"sharing.grant_expired", "sharing.grant_revoked"} <= {r.reason for r in refused}
        for r in allowed:
            g = grant_by_id[r.grant_id or 0]
            day = r.at.astimezone(BEIJING).date()
            # An allowed call is made under a grant in force that day, for its purpose, by the
            # system it names, and returns only granted items.
            assert g.valid_from <= day and (g.expires_on is None or day <= g.expires_on)
            assert g.revoked_at is None or r.at < g.revoked_at
            assert r.purpose == g.purpose_code
            assert tokens[r.token_id or 0].department_id == g.requester_department_id
            assert set(r.fields.split(",")) <= set(g.items)
        actions = Counter(r.action for r in records)
        assert set(actions) == {
            "sharing.lookup",
            "sharing.verify",
            "sharing.query",
            "sharing.sync",
            "sharing.bulk",
        }
        assert actions["sharing.lookup"] > len(records) / 2
        cal = calendar.load_calendar(session)
        office = [
            r
            for r in records
            if 8 <= r.at.astimezone(BEIJING).hour < 18
            and cal.is_workday(r.at.astimezone(BEIJING).date())
        ]
        assert len(office) > 0.85 * len(records)
        # The daily counters agree with the allowed calls; the narrowed grant's quota holds.
        per_grant = Counter(r.grant_id for r in allowed)
        usage = dict(
            session.execute(
                select(GrantUsage.grant_id, func.sum(GrantUsage.calls)).group_by(
                    GrantUsage.grant_id
                )
            ).all()
        )
        assert {k: int(v) for k, v in usage.items()} == dict(per_grant)
        quota = session.scalars(select(Grant).where(Grant.daily_quota.is_not(None))).one()
        assert quota.daily_quota is not None
        assert all(
            u.calls <= quota.daily_quota
            for u in session.scalars(select(GrantUsage).where(GrantUsage.grant_id == quota.id))
        )


def test_subject_digests_are_of_real_subjects(demo: Demo) -> None:  # Art. 40
    with demo.factory() as session:
        for code in ("base.person", "base.legal_entity"):
            source = get_source(session, code)
            assert source is not None and source.key_column is not None
            table = data_table(source)
            assert table is not None
            keys = session.scalars(select(table.c[source.key_column])).all()
            digests = {subject_digest(str(k)) for k in keys}
            recorded = set(
                session.scalars(
                    select(AccessRecord.subject_digest).where(
                        AccessRecord.object_id == code,
                        AccessRecord.subject_digest.is_not(None),
                    )
                )
            )
            assert recorded and recorded <= digests
            # Never the key itself.
            assert not recorded & {str(k) for k in keys}
        # Lookups and verifications name a subject; queries, syncs and bulk deliveries do not.
        assert not session.scalar(
            select(func.count(AccessRecord.id)).where(
                AccessRecord.action.in_(["sharing.lookup", "sharing.verify"]),
                AccessRecord.subject_digest.is_(None),
            )
        )
        assert not session.scalar(
            select(func.count(AccessRecord.id)).where(
                AccessRecord.action.in_(["sharing.query", "sharing.sync", "sharing.bulk"]),
                AccessRecord.subject_digest.is_not(None),
            )
        )


def test_the_demo_citizen_sees_who_used_the_data(demo: Demo) -> None:  # Art. 40
    with demo.factory() as session:
        citizen = session.scalars(select(Person).where(Person.username == "demo.citizen")).one()
        assert citizen.identity_digest is not None
        source = get_source(session, "base.person")
        assert source is not None and source.key_column is not None
        table = data_table(source)
        assert table is not None
        keys = session.scalars(select(table.c[source.key_column])).all()
        assert citizen.identity_digest in {subject_digest(str(k)) for k in keys}
        mine = session.scalars(
            select(AccessRecord).where(AccessRecord.subject_digest == citizen.identity_digest)
        ).all()
        assert len(mine) == demo.result.citizen_calls >= 20
        assert len({r.actor_department_id for r in mine}) >= 4
        assert {r.purpose for r in mine} >= {"social-assistance-identity", "household-check"}


def test_systems_have_tokens_printed_every_run(demo: Demo) -> None:  # Art. 22, 26 ¶2
    with demo.factory() as session:
        tokens = demo_tokens(session)
        assert [d for d, _, _ in tokens] == [s.department for s in SYSTEMS]
        for dept, system, secret in tokens:
            actor = auth.resolve_token(session, secret)
            assert actor is not None and actor.token_id is not None
            assert "sharing:read" in actor.scopes
            assert actor.department_ids() == {dept_id(session, dept)}
            assert system in actor.name
            assert secret in demo.first_output and secret in demo.second_output
    assert "已载入演示共享数据" in demo.first_output
    assert "已载入演示共享数据" not in demo.second_output


def test_loaded_once(demo: Demo) -> None:
    before = demo.result
    assert load_demo_sharing(demo.factory) is None
    with demo.factory() as session:
        assert summary(session) == before
        assert session.scalar(select(func.count(ApiToken.id))) == len(SYSTEMS)


def test_no_demo_without_the_aggregation_demo(
    pg_cluster: PgCluster | None, tmp_path: Path, worker: str
) -> None:
    """Before the pools exist there is nothing to share: the step does nothing."""
    url = new_database_url(pg_cluster, tmp_path, f"govdata_sharedemo_empty_{worker}")
    engine = make_engine(url)
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)
        with transaction(factory) as session:
            assert load_demo_org(session, default_regions_csv()) is not None
        assert load_demo_sharing(factory) is None
        with factory() as session:
            assert not session.scalar(select(func.count(ShareApplication.id)))
            assert not session.scalar(select(func.count(ApiToken.id)))
            assert not keys.published(session)
    finally:
        engine.dispose()
