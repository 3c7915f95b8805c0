"""The tamper-evident audit chain (DESIGN principle 5; Art. 39 records, Art. 49 audit)."""

from __future__ import annotations

import threading

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.audit import GENESIS_HASH, AuditEvent, AuditHead, change_digest, verify
from govdata.core.db import make_engine
from govdata.core.migrate import upgrade
from tests.conftest import new_database_url

ALICE = Actor(person_id=1, name="测试员")


def _append(session: Session, n: int) -> list[AuditEvent]:
    events = [
        audit.record(
            session,
            ALICE,
            "test.event",
            object_type="thing",
            object_id=i,
            summary=f"第{i}次操作",
            change={"i": i},
            department_id=7,
        )
        for i in range(n)
    ]
    session.flush()
    return events


def _head(session: Session) -> AuditHead:
    head = session.get(AuditHead, 1)
    assert head is not None
    return head


def test_events_link_to_their_predecessor(session: Session) -> None:
    before = _head(session).seq
    events = _append(session, 3)
    assert [e.seq for e in events] == [before + 1, before + 2, before + 3]
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert _head(session).hash == events[2].hash
    assert events[0].digest == change_digest({"i": 0})
    assert verify(session).ok


def test_first_event_links_to_genesis(session: Session) -> None:
    first = session.scalar(select(AuditEvent).order_by(AuditEvent.seq).limit(1))
    if first is None:
        first = _append(session, 1)[0]
    assert first.seq == 1
    assert first.prev_hash == GENESIS_HASH


def test_tampered_summary_is_caught_and_named(session: Session) -> None:
    events = _append(session, 5)
    target = events[2].seq
    session.execute(update(AuditEvent).where(AuditEvent.seq == target).values(summary="改过的摘要"))
    session.expire_all()
    result = verify(session)
    assert not result.ok
    assert result.first_broken_seq == target
    assert result.reason is not None and "篡改" in result.reason


def test_tampered_actor_is_caught(session: Session) -> None:
    events = _append(session, 2)
    session.execute(
        update(AuditEvent).where(AuditEvent.seq == events[0].seq).values(actor_name="别人")
    )
    assert verify(session).first_broken_seq == events[0].seq


def test_rehashed_row_breaks_the_next_link(session: Session) -> None:
    """Recomputing a tampered row's own hash is not enough: its successor still links to the
    old hash."""
    events = _append(session, 3)
    session.execute(update(AuditEvent).where(AuditEvent.seq == events[1].seq).values(hash="f" * 64))
    result = verify(session)
    assert not result.ok
    assert result.first_broken_seq == events[1].seq


def test_deleted_event_is_caught(session: Session) -> None:
    events = _append(session, 4)
    session.execute(delete(AuditEvent).where(AuditEvent.seq == events[1].seq))
    result = verify(session)
    assert not result.ok
    assert result.first_broken_seq == events[1].seq


def test_truncated_tail_is_caught_by_the_head(session: Session) -> None:
    events = _append(session, 3)
    session.execute(delete(AuditEvent).where(AuditEvent.seq == events[-1].seq))
    result = verify(session)
    assert not result.ok
    assert result.first_broken_seq == events[-1].seq


def test_rolled_back_change_leaves_no_event(session: Session) -> None:
    count = session.scalar(select(func.count()).select_from(AuditEvent))
    nested = session.begin_nested()
    _append(session, 2)
    nested.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == count
    assert verify(session).ok


def test_concurrent_appends_keep_one_chain(pg_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two writers at once never link to the same predecessor (the head row serializes them)."""
    engine = make_engine(new_database_url(pg_cluster, tmp_path, "govdata_audit_concurrency"))
    upgrade(engine)
    factory = sessionmaker(bind=engine)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(25):
                with factory() as s, s.begin():
                    audit.record(
                        s,
                        Actor(person_id=k, name=f"写入者{k}"),
                        "test.concurrent",
                        object_type="thing",
                        object_id=f"{k}-{i}",
                        summary="并发写入",
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as s:
        result = verify(s)
        assert result.ok, result
        assert result.checked == 100
    engine.dispose()


def _committed_chain(pg_cluster, tmp_path, name: str, n: int):  # type: ignore[no-untyped-def]
    engine = make_engine(new_database_url(pg_cluster, tmp_path, name))
    upgrade(engine)
    factory = sessionmaker(bind=engine)
    with factory() as s, s.begin():
        _append(s, n)
    return engine, factory


def _all_ways(factory) -> list[object]:  # type: ignore[no-untyped-def]
    with factory() as s:
        return [verify(s, workers=w, parallel_from=0) for w in (1, 2, 3)]


def test_parallel_verify_agrees_with_serial(pg_cluster, tmp_path, worker) -> None:  # type: ignore[no-untyped-def]
    """The CLI checks ranges of the chain in several processes: same verdict, same event named."""
    engine, factory = _committed_chain(pg_cluster, tmp_path, f"govdata_audit_par_{worker}", 30)
    intact = _all_ways(factory)
    assert all(r.ok and r.checked == 30 for r in intact), intact
    # Tamper where the ranges meet (10/11 and 20/21 with three workers) and inside one.
    tampered: list[int] = []
    for seq in (11, 10, 17):
        with engine.begin() as conn:
            conn.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(summary="伪造"))
        tampered.append(seq)
        results = _all_ways(factory)
        assert {(r.ok, r.first_broken_seq, r.checked) for r in results} == {
            (False, min(tampered), min(tampered) - 1)
        }, results
    engine.dispose()


def test_parallel_verify_names_a_gap_at_a_range_end(pg_cluster, tmp_path, worker) -> None:  # type: ignore[no-untyped-def]
    engine, factory = _committed_chain(pg_cluster, tmp_path, f"govdata_audit_gap_{worker}", 30)
    with engine.begin() as conn:  # the last two events of the first of three ranges
        conn.execute(delete(AuditEvent).where(AuditEvent.seq.in_([9, 10])))
    results = _all_ways(factory)
    assert [(r.ok, r.first_broken_seq) for r in results] == [(False, 9)] * 3, results
    engine.dispose()


def test_parallel_verify_catches_a_truncated_tail(pg_cluster, tmp_path, worker) -> None:  # type: ignore[no-untyped-def]
    engine, factory = _committed_chain(pg_cluster, tmp_path, f"govdata_audit_tail_{worker}", 30)
    with engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq >= 29))
    results = _all_ways(factory)
    assert [(r.ok, r.first_broken_seq) for r in results] == [(False, 29)] * 3, results
    engine.dispose()
