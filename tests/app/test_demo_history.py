"""The demo city has a past (issue 16): a year of catalog versions, loads with their quality
measures and corrections, written once after the other demo steps, as ``govdata demo`` does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import loading, quality
from govdata.aggregation.corrections.deadlines import CORRECTION
from govdata.aggregation.models import (
    Correction,
    CorrectionStatus,
    Load,
    LoadProblem,
    LoadStatus,
    Pool,
    QualitySnapshot,
)
from govdata.app.demo_history import ACTION, DemoHistory, load_demo_history
from govdata.app.demo_history.calls import ENDED
from govdata.catalog import versions as catalog_versions
from govdata.catalog.models import CatalogVersion
from govdata.core import calendar
from govdata.core.access import AccessRecord
from govdata.core.actor import Actor, Role
from govdata.core.audit import AuditEvent
from govdata.core.audit_seal import seal
from govdata.core.audit_verify import verify
from govdata.core.calendar import CITY_TZ
from govdata.core.db import make_engine, make_sessionmaker, transaction
from govdata.core.obligations.models import Obligation
from govdata.core.settings import get_settings
from govdata.org.models import Person
from govdata.org.service import role_grants
from govdata.sharing.demo import load_demo_sharing
from govdata.sharing.models import Grant, GrantUsage
from tests import demo_city
from tests.demo_city import DemoCityBase


@dataclass
class Demo:
    engine: Engine
    factory: sessionmaker[Session]
    history: DemoHistory


@pytest.fixture(scope="module")
def demo(
    demo_city_base: DemoCityBase, tmp_path_factory: pytest.TempPathFactory, worker: str
) -> Iterator[Demo]:
    url, var = demo_city.copy(
        demo_city_base, tmp_path_factory.mktemp("demo-history"), f"govdata_demohist_{worker}"
    )
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVDATA_VAR_DIR", str(var))  # the pipeline's spool directory
        get_settings.cache_clear()
        try:
            assert load_demo_sharing(factory) is not None
            history = load_demo_history(factory)
            assert history is not None
            yield Demo(engine, factory, history)
        finally:
            get_settings.cache_clear()
            engine.dispose()


def _actor(session: Session, username: str) -> Actor:
    person = session.scalar(select(Person).where(Person.username == username))
    assert person is not None
    return Actor(person.id, person.name, role_grants(session, person.id))


def _day(at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(CITY_TZ).date()


def _month(value: datetime | date) -> str:
    if isinstance(value, datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(CITY_TZ)
    return value.strftime("%Y-%m")


def _months(session: Session, column: object) -> set[str]:
    return {_month(v) for v in session.scalars(select(column))}  # type: ignore[call-overload]


def test_history_spans_at_least_ten_months_of_each_kind(demo: Demo) -> None:
    # Art. 12 ¶3 versions, Art. 17/20 loads and quality, Art. 19 corrections.
    with Session(demo.engine) as session:
        this_month = _month(calendar.today())
        for column in (
            Load.finished_at,
            QualitySnapshot.measured_at,
            CatalogVersion.published_at,
            Correction.received_on,
        ):
            months = _months(session, column)
            past = {m for m in months if m < this_month}
            assert len(past) >= 10, (column, sorted(months))
            assert max(months) <= this_month, column  # nothing is dated in the future
    h = demo.history
    assert (h.versions, h.corrections) >= (10, 10)
    assert h.loads >= 12 * 6 and h.snapshots >= 12 * 6


def test_versions_are_dated_in_number_order_and_differ_as_published(demo: Demo) -> None:
    with Session(demo.engine) as session:
        versions = list(session.scalars(select(CatalogVersion).order_by(CatalogVersion.number)))
        times = [v.published_at for v in versions]
        assert times == sorted(times)
        assert len({_month(t) for t in times}) == len(versions)  # one month each
        # A monthly update is a real revision: the difference with its predecessor shows it.
        last = versions[-1]
        assert last.changed >= 1
        diff = catalog_versions.diff(session, _actor(session, "demo.city"), last.number)
        assert len(diff.changed) == last.changed


def test_history_loads_are_finished_loads_with_their_quality(demo: Demo) -> None:
    with Session(demo.engine) as session:
        this_month = _month(calendar.today())
        old = [
            load
            for load in session.scalars(select(Load).order_by(Load.id))
            if load.finished_at is not None and _month(load.finished_at) < this_month
        ]
        assert {load.status for load in old} == {LoadStatus.SUCCEEDED, LoadStatus.REJECTED}
        for load in old:
            assert load.created_at <= load.started_at <= load.finished_at
            problems = session.scalar(
                select(func.count(LoadProblem.id)).where(LoadProblem.load_id == load.id)
            )
            assert problems == load.problems_recorded
            if load.status == LoadStatus.SUCCEEDED:
                snap = session.get(QualitySnapshot, load.quality["snapshot_id"])
                assert snap is not None and snap.load_id == load.id
                assert snap.measured_at == load.finished_at
                assert snap.validity == round((load.rows_read - load.rows_bad) / load.rows_read, 4)
        # Today's loads are still the pools' current data.
        current = set(session.scalars(select(Pool.current_load_id)))
        assert not current & {load.id for load in old}


def test_corrections_are_answered_some_late_with_their_register_rows(demo: Demo) -> None:
    # Art. 19 ¶2: 10 working days, one extension; Art. 50(8): a late answer is recorded.
    with Session(demo.engine) as session:
        this_month = _month(calendar.today())
        old = [c for c in session.scalars(select(Correction)) if _month(c.received_on) < this_month]
        assert {c.status for c in old} == {CorrectionStatus.ACCEPTED, CorrectionStatus.REJECTED}
        late = [c for c in old if c.answered_on > c.due_on]
        assert late and len(late) < len(old)
        assert any(c.extension_days for c in old)
        for c in old:
            ob = session.scalar(
                select(Obligation).where(
                    Obligation.kind == CORRECTION.code, Obligation.subject_id == c.id
                )
            )
            assert ob is not None
            assert (ob.started_on, ob.due_on, ob.answered_on) == (
                c.received_on,
                c.due_on,
                c.answered_on,
            )
            assert ob.overdue == (c in late)
            assert c.received_on < c.answered_on


def test_department_quality_trend_shows_months(demo: Demo) -> None:
    # Art. 20 ¶2: the department's page charts its quality by day; the days span the year.
    with Session(demo.engine) as session:
        actor = _actor(session, "demo.officer")
        (department_id,) = actor.department_ids(Role.DEPARTMENT_OFFICER)
        dq = quality.department_quality(session, actor, department_id)
        assert len({p.day.strftime("%Y-%m") for p in dq.trend}) >= 10


def test_written_once_and_the_audit_chain_stays_in_time_order(demo: Demo) -> None:
    assert load_demo_history(demo.factory) is None
    with transaction(demo.factory) as session:
        assert (
            session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == ACTION))
            == 1
        )
        seal(session)
        result = verify(session)
        assert result.ok and result.pending == 0
        # No event was dated back: the chain's times never go backwards.
        times = list(session.scalars(select(AuditEvent.at).order_by(AuditEvent.seq)))
        assert times == sorted(times)


def test_the_latest_load_and_measure_are_todays_not_the_highest_id(demo: Demo) -> None:
    # The past is written after today's loads, so its ids are higher: lists and "latest"
    # measures follow time (Art. 20), not ids.
    with Session(demo.engine) as session:
        actor = _actor(session, "demo.officer")
        (department_id,) = actor.department_ids(Role.DEPARTMENT_OFFICER)
        pool = session.scalar(
            select(Pool).where(Pool.department_id == department_id).order_by(Pool.id).limit(1)
        )
        assert pool is not None and pool.current_load_id is not None
        listed = loading.list_loads(session, actor, pool_id=pool.id)
        assert listed[0].id == pool.current_load_id
        assert [x.created_at for x in listed] == sorted(
            (x.created_at for x in listed), reverse=True
        )
        dq = quality.department_quality(session, actor, department_id)
        (row,) = [p for p in dq.pools if p.pool_id == pool.id]
        today = session.scalar(
            select(QualitySnapshot.measured_at).where(
                QualitySnapshot.load_id == pool.current_load_id
            )
        )
        assert row.measured_at == today
        assert _month(row.measured_at) == _month(calendar.today())


def test_earlier_calls_fall_within_each_grants_life_with_their_counters(demo: Demo) -> None:
    # Art. 40: every call is recorded; the daily counters are the quota's (Art. 50(4)(5)).
    with Session(demo.engine) as session:
        assert demo.history.calls > 0
        starts: dict[int, date] = dict(session.execute(select(Grant.id, Grant.valid_from)).all())
        records = session.execute(
            select(AccessRecord.at, AccessRecord.grant_id, AccessRecord.outcome)
            .where(AccessRecord.grant_id.is_not(None))
            .add_columns(AccessRecord.reason)
        ).all()
        days = {(r.grant_id, _month(r.at)) for r in records}
        assert len({m for _g, m in days}) >= 4
        earlier = [r for r in records if _day(r.at) < calendar.today() - timedelta(days=60)]
        assert earlier
        allowed: Counter[tuple[int, date]] = Counter()
        for r in earlier:
            assert _day(r.at) >= starts[r.grant_id]
            assert r.reason not in ENDED
            if r.outcome == "allowed":
                allowed[(r.grant_id, _day(r.at))] += 1
        usage = {
            (u.grant_id, u.day): u.calls
            for u in session.scalars(select(GrantUsage))
            if (u.grant_id, u.day) in allowed
        }
        assert usage == dict(allowed)
