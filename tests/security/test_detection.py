"""Monitoring signals from the access records (Art. 39 监测、预警): each kind fires above its
threshold and not below, an open signal takes in further activity instead of flooding, and the
city bureau's thresholds take effect at the next scan."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.audit import AuditEvent
from govdata.core.errors import PermissionDenied
from govdata.core.workdays import CalendarEntry
from govdata.security import rules, service
from govdata.security.models import DEFAULT_RULES, SignalKind, SignalRule
from govdata.security.scanning import scan
from govdata.security.schemas import RuleUpdate
from tests.security.helpers import NOW, beijing, failed_sign_ins, read, refusals, signals
from tests.world import World


def _set(session: Session, world: World, kind: SignalKind, **values: object) -> None:
    rule = rules.current_rules(session)[kind]
    data = {f: getattr(rule, f) for f in rules.FIELDS} | values
    rules.update_rule(session, world.actor(session, "city"), kind.value, RuleUpdate(**data))


# --- the seeded rules --------------------------------------------------------------------------


def test_the_migration_seeds_every_kind_with_its_default(session: Session) -> None:
    seeded = {r.kind: r for r in session.scalars(select(SignalRule))}
    assert set(seeded) == {k.value for k in SignalKind}
    for kind, values in DEFAULT_RULES.items():
        row = seeded[kind.value]
        assert row.enabled and (row.hours_from, row.hours_to) == (8, 20)
        assert all(getattr(row, f) == v for f, v in values.items()), kind


# --- probing (防攻击) --------------------------------------------------------------------------


def test_probing_fires_at_the_threshold_and_not_below(session: Session, world: World) -> None:
    officer = world.actor(session, "officer")
    refusals(session, officer, 9)  # default: 10 within 10 minutes
    assert scan(session, NOW).created == []
    refusals(session, officer, 1, end=NOW + timedelta(seconds=30))
    created = scan(session, NOW + timedelta(minutes=1)).created
    assert [(s.kind, s.subject, s.events) for s in created] == [
        ("probing", f"person:{world.people['officer']}", 10)
    ]
    assert "王专员" in created[0].summary and "10 次" in created[0].summary


def test_refusals_spread_beyond_the_window_do_not_fire(session: Session, world: World) -> None:
    # 12 refusals, one every 2 minutes: never 10 within 10 minutes.
    refusals(session, world.actor(session, "officer"), 12, every=timedelta(minutes=2))
    assert scan(session, NOW).created == []


def test_anonymous_probing_counts_against_the_address(session: Session, world: World) -> None:
    from govdata.core.actor import Actor

    refusals(session, Actor(person_id=None, name="匿名访问者"), 10, address="203.0.113.50")
    refusals(session, Actor(person_id=None, name="匿名访问者"), 5, address="203.0.113.51")
    created = scan(session, NOW).created
    assert [(s.subject, s.subject_name) for s in created] == [
        ("address:203.0.113.50", "203.0.113.50")
    ]


def test_an_open_signal_takes_in_further_activity(session: Session, world: World) -> None:
    officer = world.actor(session, "officer")
    refusals(session, officer, 10)
    first = scan(session, NOW).created
    assert len(first) == 1
    # Scanning again with nothing new changes nothing (no double count).
    again = scan(session, NOW + timedelta(minutes=1))
    assert again.created == [] and again.updated == 0
    refusals(session, officer, 15, end=NOW + timedelta(minutes=6))
    later = scan(session, NOW + timedelta(minutes=7))
    assert later.created == [] and later.updated == 1
    [signal] = signals(session, "probing")
    assert signal.id == first[0].id and signal.events == 25
    assert signal.last_seen == NOW + timedelta(minutes=6)


def test_after_acknowledgement_only_new_activity_counts(session: Session, world: World) -> None:
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    refusals(session, officer, 10)
    [first] = scan(session, NOW).created
    service.acknowledge(session, city, first.id, "已核实：该人员误用书签")
    # Three more within the same 10 minutes: with the acknowledged ten, 13 in the window,
    # but what was acknowledged is not raised again.
    refusals(session, officer, 3, end=NOW + timedelta(minutes=2))
    assert scan(session, NOW + timedelta(minutes=2)).created == []
    refusals(session, officer, 7, end=NOW + timedelta(minutes=4))
    [second] = scan(session, NOW + timedelta(minutes=4)).created
    assert second.id != first.id and second.events == 10


# --- failed sign-ins from one address (防攻击、访问认证) -------------------------------------


def test_failed_sign_ins_from_one_address_fire(session: Session) -> None:
    failed_sign_ins(session, "203.0.113.9", [f"user{i}" for i in range(10)])
    [signal] = scan(session, NOW).created
    assert (signal.kind, signal.subject, signal.events) == (
        "failed_sign_ins",
        "address:203.0.113.9",
        10,
    )
    assert signal.detail["objects"] == 10 and "10 个不同的用户名" in signal.summary
    assert signal.subject_name == signal.address == "203.0.113.9"


def test_failed_sign_ins_spread_over_addresses_do_not_fire(session: Session) -> None:
    failed_sign_ins(session, "203.0.113.9", [f"user{i}" for i in range(5)])
    failed_sign_ins(session, "203.0.113.10", [f"user{i}" for i in range(5)])
    assert scan(session, NOW).created == []


def test_failed_sign_ins_are_not_probing(session: Session) -> None:
    failed_sign_ins(session, "203.0.113.9", ["city"] * 12)
    assert [s.kind for s in scan(session, NOW).created] == ["failed_sign_ins"]


# --- thresholds the city bureau sets ------------------------------------------------------------


def test_a_lower_threshold_takes_effect_at_the_next_scan(session: Session, world: World) -> None:
    officer = world.actor(session, "officer")
    refusals(session, officer, 5)
    assert scan(session, NOW).created == []
    _set(session, world, SignalKind.PROBING, threshold=5)
    assert [s.events for s in scan(session, NOW + timedelta(seconds=10)).created] == [5]


def test_a_disabled_rule_raises_nothing(session: Session, world: World) -> None:
    _set(session, world, SignalKind.FAILED_SIGN_INS, enabled=False)
    failed_sign_ins(session, "203.0.113.9", [f"user{i}" for i in range(20)])
    assert scan(session, NOW).created == []


def test_a_longer_window_counts_older_records(session: Session, world: World) -> None:
    officer = world.actor(session, "officer")
    refusals(session, officer, 12, every=timedelta(minutes=2))
    assert scan(session, NOW).created == []
    _set(session, world, SignalKind.PROBING, window_minutes=30)
    assert [s.events for s in scan(session, NOW + timedelta(seconds=1)).created] == [12]


def test_rule_changes_are_the_city_bureaus_and_audited(session: Session, world: World) -> None:
    for username in ("auditor", "officer", "yz_admin"):
        with pytest.raises(PermissionDenied):
            _set_as(session, world, username, threshold=3)
    _set(session, world, SignalKind.PROBING, threshold=3)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "security.rule.update")
    ).one()
    assert event.actor_id == world.people["city"] and event.object_id == "probing"
    rule = rules.current_rules(session)[SignalKind.PROBING]
    assert (rule.threshold, rule.updated_by, rule.updated_by_name) == (
        3,
        world.people["city"],
        "陈市管",
    )


def _set_as(session: Session, world: World, username: str, **values: object) -> None:
    rule = rules.current_rules(session)[SignalKind.PROBING]
    data = {f: getattr(rule, f) for f in rules.FIELDS} | values
    rules.update_rule(session, world.actor(session, username), "probing", RuleUpdate(**data))


# --- exports of personal data (防泄露) ---------------------------------------------------------


def test_every_export_of_personal_data_fires(session: Session, world: World) -> None:
    officer = world.actor(session, "officer")
    read(session, officer, at=NOW, rows=40, action="aggregation.pool.export")
    read(session, officer, at=NOW, rows=900, personal=False, action="catalog.list.export")
    read(session, officer, at=NOW, rows=500, action="aggregation.pool_rows.read")
    [signal] = scan(session, NOW).created
    assert (signal.kind, signal.events, signal.rows) == ("personal_export", 1, 40)
    # A download later is the same open signal, counted on.
    read(session, officer, at=NOW + timedelta(minutes=5), rows=60, action="opendata.file.download")
    assert scan(session, NOW + timedelta(minutes=6)).created == []
    [signal] = signals(session, "personal_export")
    assert (signal.events, signal.rows) == (2, 100)


def test_an_export_threshold_in_rows(session: Session, world: World) -> None:
    _set(session, world, SignalKind.PERSONAL_EXPORT, threshold=100)
    officer = world.actor(session, "officer")
    read(session, officer, at=NOW, rows=99, action="aggregation.pool.export")
    assert scan(session, NOW).created == []
    read(
        session, officer, at=NOW + timedelta(minutes=1), rows=100, action="aggregation.pool.export"
    )
    assert [s.rows for s in scan(session, NOW + timedelta(minutes=1)).created] == [100]


# --- bulk reads (防窃取) -----------------------------------------------------------------------


def _history(session: Session, world: World, username: str, per_day: int, days: int = 30) -> None:
    actor = world.actor(session, username)
    for d in range(1, days + 1):
        read(session, actor, at=NOW - timedelta(days=d, hours=1), rows=per_day)


def test_a_bulk_read_far_above_the_usual_volume_fires(session: Session, world: World) -> None:
    _history(session, world, "officer", 300)  # median 300 a day
    read(session, world.actor(session, "officer"), at=NOW, rows=5000)  # > 5 × 300 and ≥ 1000
    [signal] = scan(session, NOW).created
    assert (signal.kind, signal.rows) == ("bulk_read", 5000)
    assert signal.detail["median_daily_rows"] == 300
    assert "5,000 行" in signal.summary and "300 行" in signal.summary


def test_a_read_within_the_usual_volume_does_not_fire(session: Session, world: World) -> None:
    _history(session, world, "officer2", 2000)  # median 2000: 5 × 2000 = 10000
    read(session, world.actor(session, "officer2"), at=NOW, rows=5000)
    assert scan(session, NOW).created == []


def test_a_small_read_does_not_fire_without_history(session: Session, world: World) -> None:
    read(session, world.actor(session, "officer"), at=NOW, rows=999)  # minimum 1000
    assert scan(session, NOW).created == []


def test_days_without_reads_count_in_the_median(session: Session, world: World) -> None:
    # Ten busy days of 3000 among thirty: the median day is 0, so 4000 today is far above it.
    _history(session, world, "officer", 3000, days=10)
    read(session, world.actor(session, "officer"), at=NOW, rows=4000)
    [signal] = scan(session, NOW).created
    assert signal.detail["median_daily_rows"] == 0


def test_a_higher_factor_takes_effect(session: Session, world: World) -> None:
    _history(session, world, "officer", 300)
    _set(session, world, SignalKind.BULK_READ, factor=20.0)  # 20 × 300 = 6000 > 5000
    read(session, world.actor(session, "officer"), at=NOW, rows=5000)
    assert scan(session, NOW).created == []


# --- reads outside working hours (防窃取) -----------------------------------------------------


@pytest.mark.parametrize(
    ("at", "fires"),
    [
        (beijing(2026, 10, 1, 10, 0), True),  # National Day, a Thursday: a holiday
        (beijing(2026, 10, 10, 10, 0), False),  # a Saturday made a working day (调休)
        (beijing(2026, 10, 13, 22, 30), True),  # a working day, after 20:00
        (beijing(2026, 10, 13, 7, 59), True),  # a working day, before 08:00
        (beijing(2026, 10, 13, 8, 0), False),  # a working day, in working hours
        (beijing(2026, 10, 17, 15, 0), True),  # an ordinary Saturday
    ],
)
def test_off_hours_reads_follow_the_calendar(
    session: Session, world: World, at: object, fires: bool
) -> None:
    read(session, world.actor(session, "officer"), at=at, rows=150)  # type: ignore[arg-type]
    kinds = [s.kind for s in scan(session, at + timedelta(minutes=1)).created]  # type: ignore[operator]
    assert ("off_hours_read" in kinds) is fires


def test_a_holiday_the_bureau_enters_counts_at_once(session: Session, world: World) -> None:
    at = beijing(2026, 10, 14, 10, 0)  # a Wednesday, a working day
    read(session, world.actor(session, "officer"), at=at, rows=150)
    calendar.set_day(
        session,
        world.actor(session, "city"),
        CalendarEntry(day=date(2026, 10, 14), is_workday=False, name="临时调整"),
    )
    assert [s.kind for s in scan(session, at + timedelta(minutes=1)).created] == ["off_hours_read"]


def test_off_hours_below_the_threshold_do_not_fire(session: Session, world: World) -> None:
    read(session, world.actor(session, "officer"), at=beijing(2026, 10, 13, 23, 0), rows=99)
    assert scan(session, beijing(2026, 10, 13, 23, 1)).created == []


def test_working_hours_are_the_bureaus_to_set(session: Session, world: World) -> None:
    at = beijing(2026, 10, 13, 21, 0)
    _set(session, world, SignalKind.OFF_HOURS_READ, hours_from=7, hours_to=22)
    read(session, world.actor(session, "officer"), at=at, rows=150)
    assert scan(session, at + timedelta(minutes=1)).created == []


# --- the audit trail ---------------------------------------------------------------------------


def test_raised_signals_and_their_acknowledgement_are_audited(
    session: Session, world: World
) -> None:
    refusals(session, world.actor(session, "officer"), 10)
    [signal] = scan(session, NOW).created
    raised = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "security.signals_raised")
    ).one()
    assert raised.actor_id is None
    acked = service.acknowledge(session, world.actor(session, "city"), signal.id, " 已处理 ")
    assert (acked.status, acked.acknowledged_by, acked.note) == (
        "acknowledged",
        world.people["city"],
        "已处理",
    )
    assert acked.acknowledged_at is not None
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "security.signal.acknowledge")
    ).one()
    assert event.actor_id == world.people["city"] and event.object_id == str(signal.id)
