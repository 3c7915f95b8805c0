"""The audit chain under real commits: concurrent writers, the sealer thread, parallel verify
(Art. 39, 40; issue 12 §2; decision 0010). Each test has a database of its own (tests/live.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from govdata.core import audit, audit_seal
from govdata.core import calendar as cal
from govdata.core.actor import Actor
from govdata.core.audit import AuditEvent
from govdata.core.audit_checkpoints import AuditConfig, load_checkpoints, write_signing_key
from govdata.core.audit_seal import seal, start_sealer
from govdata.core.audit_verify import VerifyResult, verify
from govdata.core.calendar import CalendarDay
from govdata.core.db import transaction
from govdata.core.workdays import CalendarEntry
from govdata.org.demo import BOOTSTRAP
from tests.conftest import BACKEND
from tests.core.test_audit import append
from tests.core.test_audit_checkpoints import _rechain
from tests.live import LiveDb, in_thread, live_database

ALICE = Actor(person_id=1, name="测试员")


@pytest.fixture
def db(pg_cluster, tmp_path: Path, worker: str, request: pytest.FixtureRequest) -> Iterator[LiveDb]:  # type: ignore[no-untyped-def]
    name = f"govdata_audit_{request.node.name[5:30]}_{worker}".lower()
    with live_database(pg_cluster, tmp_path, name) as live:
        yield live


@pytest.fixture
def config(tmp_path: Path) -> AuditConfig:
    return AuditConfig(tmp_path / "checkpoints", write_signing_key(tmp_path / "key"))


def _verify(factory: sessionmaker[Session], config: AuditConfig, workers: int = 1) -> VerifyResult:
    assert config.key is not None
    loaded = load_checkpoints(config.checkpoint_dir, [config.key.public])
    assert loaded.problem is None, loaded.problem
    with factory() as s:
        return verify(s, reference=loaded.reference, workers=workers, parallel_from=0)


def _count(factory: sessionmaker[Session], *where: object) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0)  # type: ignore[arg-type]


def test_concurrent_audited_transactions_do_not_wait_for_each_other(db: LiveDb) -> None:
    """(f) The event insert takes no shared lock: a second audited transaction commits while
    the first is still open. The old design made it wait for the head row until the first
    ended; with a lock timeout it fails."""
    if BACKEND != "postgresql":
        pytest.skip("SQLite has one writer at a time by design")
    first = db.factory()
    try:
        first.execute(text("SELECT 1"))
        audit.record(first, ALICE, "test.first", object_type="t", object_id=1, summary="一")

        def second() -> None:
            with transaction(db.factory) as s:
                # Waiting on a lock the open transaction holds would fail here.
                s.execute(text("SET LOCAL lock_timeout = '5s'"))
                audit.record(s, ALICE, "test.second", object_type="t", object_id=2, summary="二")

        thread, out = in_thread(second)
        thread.join(60)
        assert not thread.is_alive()
        assert "error" not in out, out.get("error")
        # Committed and visible while the first is still open.
        assert _count(db.factory, AuditEvent.action == "test.second") == 1
        first.commit()
    finally:
        first.close()
    seal(db.factory)
    with db.factory() as s:
        assert verify(s).ok
    assert _count(db.factory, AuditEvent.seq.is_(None)) == 0


@pytest.fixture
def audit_unwritable(db: LiveDb) -> None:
    """A trigger that refuses every audit insert (a full disk, a revoked grant, a bug)."""
    with db.engine.begin() as conn:
        if BACKEND == "postgresql":
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'audit unavailable'; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
                    "BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END"
                )
            )


def test_a_change_whose_event_cannot_be_written_does_not_happen(
    db: LiveDb, audit_unwritable: None
) -> None:
    """(g) The event is written in the change's own transaction: no event, no change (it is
    never queued for later, where a failure would leave the change unrecorded)."""
    day = date(2031, 5, 6)
    with pytest.raises(Exception, match="audit unavailable"), transaction(db.factory) as s:
        cal.set_day(s, BOOTSTRAP, CalendarEntry(day, False, "测试假日"))
    with db.factory() as s:
        assert s.get(CalendarDay, day) is None


def test_the_sealer_thread_seals_what_is_committed(db: LiveDb, config: AuditConfig) -> None:
    """(h) With the thread running, a committed event is sealed and signed into a checkpoint
    without anyone calling seal; a run that fails is logged and the next one seals."""
    calls = {"n": 0}
    real = audit_seal._seal_in

    def flaky(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    audit_seal._seal_in = flaky  # type: ignore[assignment]
    stop = threading.Event()
    thread = start_sealer(db.factory, config, interval=0.05, stop=stop)
    try:
        with transaction(db.factory) as s:
            cal.set_day(s, BOOTSTRAP, CalendarEntry(date(2031, 5, 7), False, "测试假日"))
        deadline = time.monotonic() + 60  # a bound for a stuck thread, not a speed target
        while _count(db.factory, AuditEvent.seq.is_(None)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _count(db.factory, AuditEvent.seq.is_(None)) == 0
        assert thread.is_alive()  # the failed run did not stop the loop
    finally:
        stop.set()
        thread.join()
        audit_seal._seal_in = real  # type: ignore[assignment]
    assert calls["n"] >= 2
    result = _verify(db.factory, config)
    assert result.ok and result.covered == result.checked > 0


def test_concurrent_writers_and_two_sealers_make_one_chain(db: LiveDb, config: AuditConfig) -> None:
    """Writers in four threads while two sealers (as in two processes) run: every event is
    sealed exactly once, into one chain that the checkpoints cover."""
    errors: list[BaseException] = []
    before = _count(db.factory)

    def writer(k: int) -> None:
        try:
            for i in range(25):
                with transaction(db.factory) as s:
                    audit.record(s, Actor(person_id=k, name=f"写入者{k}"), "test.concurrent",
                                 object_type="thing", object_id=f"{k}-{i}", summary="并发写入")  # fmt: skip
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    stops = [threading.Event(), threading.Event()]
    sealers = [start_sealer(db.factory, config, interval=0.01, stop=e) for e in stops]
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in stops:
        e.set()
    for t in sealers:
        t.join()
    seal(db.factory, config)
    assert errors == []
    assert _count(db.factory, AuditEvent.seq.is_(None)) == 0
    result = _verify(db.factory, config)
    assert result.ok, result
    assert result.checked == result.covered == before + 100


def _sealed(db: LiveDb, config: AuditConfig, n: int) -> int:
    with transaction(db.factory) as s:
        append(s, n)
    return seal(db.factory, config).size


def _all_ways(db: LiveDb, config: AuditConfig) -> list[VerifyResult]:
    return [_verify(db.factory, config, workers=w) for w in (1, 2, 3)]


def test_parallel_verify_agrees_with_serial(db: LiveDb, config: AuditConfig) -> None:
    """The CLI checks ranges of the chain in several processes: same verdict, same event
    named, for plain tampering and for a rewrite only the checkpoints show."""
    size = _sealed(db, config, 30)
    assert all(r.ok and r.checked == size for r in _all_ways(db, config))
    third = size // 3
    with db.factory() as s, s.begin():  # rewritten where the second range starts, rehashed on
        s.execute(update(AuditEvent).where(AuditEvent.seq == third + 1).values(summary="改写"))
        _rechain(s, third + 1)
    results = _all_ways(db, config)
    assert {(r.ok, r.first_broken_seq) for r in results} == {(False, third + 1)}, results
    with db.engine.begin() as conn:  # and plainly tampered inside the first range
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(summary="伪造"))
    results = _all_ways(db, config)
    assert {(r.ok, r.first_broken_seq) for r in results} == {(False, 3)}, results


def test_parallel_verify_names_a_cut_tail(db: LiveDb, config: AuditConfig) -> None:
    size = _sealed(db, config, 30)
    with db.engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq > size - 2))
        conn.execute(
            text("UPDATE audit_head SET seq = :s, hash = (SELECT hash FROM audit_events "
                 "WHERE seq = :s) WHERE id = 1"),
            {"s": size - 2},
        )  # fmt: skip
    results = _all_ways(db, config)
    assert [(r.ok, r.first_broken_seq) for r in results] == [(False, size - 1)] * 3, results
