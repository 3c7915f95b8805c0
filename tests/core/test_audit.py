"""The tamper-evident audit chain (DESIGN principle 5; Art. 39 records, Art. 49 audit).

Events are written by ``audit.record`` (an insert, in the change's transaction) and chained by
the sealer (``audit_seal.seal``); ``audit_verify.verify`` recomputes the chain. The rewrites
that need the signed checkpoints to be caught are in ``test_audit_checkpoints.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.audit import GENESIS_HASH, AuditEvent, AuditHead, change_digest
from govdata.core.audit_checkpoints import AuditConfig, CheckpointLog, write_signing_key
from govdata.core.audit_seal import pending_count, seal
from govdata.core.audit_verify import verify

ALICE = Actor(person_id=1, name="测试员")


def append(session: Session, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
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


def sealed_tail(session: Session, n: int) -> list[AuditEvent]:
    """The last ``n`` sealed events, in chain order."""
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq.desc())
    ).fetchmany(n)
    return sorted(rows, key=lambda e: e.seq or 0)


@pytest.fixture
def config(tmp_path: Path) -> AuditConfig:
    return AuditConfig(tmp_path / "checkpoints", write_signing_key(tmp_path / "key"))


def _head(session: Session) -> AuditHead:
    head = session.get(AuditHead, 1)
    assert head is not None
    return head


def test_record_only_inserts_and_the_sealer_links_events(session: Session) -> None:
    seal(session)  # whatever the world left pending
    before = _head(session).seq
    append(session, 3)
    pending = session.scalars(select(AuditEvent).where(AuditEvent.seq.is_(None))).all()
    assert len(pending) == 3
    assert all(e.prev_hash is None and e.hash is None for e in pending)
    assert _head(session).seq == before  # nothing shared was touched by the writers
    assert verify(session).pending == 3

    assert seal(session).sealed == 3
    session.expire_all()
    events = sealed_tail(session, 3)
    assert [e.seq for e in events] == [before + 1, before + 2, before + 3]
    assert [e.object_id for e in events] == ["0", "1", "2"]  # in the order they were written
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert _head(session).hash == events[2].hash
    assert events[0].digest == change_digest({"i": 0})
    result = verify(session)
    assert result.ok and result.pending == 0


def test_first_event_links_to_genesis(session: Session) -> None:
    append(session, 1)
    seal(session)
    first = session.scalar(select(AuditEvent).where(AuditEvent.seq == 1))
    assert first is not None
    assert first.prev_hash == GENESIS_HASH


def test_tampered_summary_is_caught_and_named(session: Session) -> None:
    append(session, 5)
    seal(session)
    target = sealed_tail(session, 5)[2].seq
    session.execute(update(AuditEvent).where(AuditEvent.seq == target).values(summary="改过的摘要"))
    session.expire_all()
    result = verify(session)
    assert not result.ok
    assert result.first_broken_seq == target
    assert result.reason is not None and "篡改" in result.reason


def test_tampered_actor_is_caught(session: Session) -> None:
    append(session, 2)
    seal(session)
    target = sealed_tail(session, 2)[0].seq
    session.execute(update(AuditEvent).where(AuditEvent.seq == target).values(actor_name="别人"))
    assert verify(session).first_broken_seq == target


def test_rehashed_row_breaks_the_next_link(session: Session) -> None:
    """Recomputing a tampered row's own hash is not enough: its successor still links to the
    old hash."""
    append(session, 3)
    seal(session)
    target = sealed_tail(session, 3)[1].seq
    session.execute(update(AuditEvent).where(AuditEvent.seq == target).values(hash="f" * 64))
    result = verify(session)
    assert not result.ok
    assert result.first_broken_seq == target


def test_deleted_event_is_caught(session: Session) -> None:
    append(session, 4)
    seal(session)
    target = sealed_tail(session, 4)[1].seq
    session.execute(delete(AuditEvent).where(AuditEvent.seq == target))
    result = verify(session)
    assert not result.ok
    assert result.first_broken_seq == target


def test_truncated_tail_is_caught_by_the_head(session: Session) -> None:
    append(session, 3)
    seal(session)
    target = sealed_tail(session, 1)[0].seq
    session.execute(delete(AuditEvent).where(AuditEvent.seq == target))
    result = verify(session)
    assert not result.ok
    assert result.first_broken_seq == target


def test_rolled_back_change_leaves_no_event(session: Session) -> None:
    count = session.scalar(select(func.count()).select_from(AuditEvent))
    nested = session.begin_nested()
    append(session, 2)
    nested.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == count
    seal(session)
    assert verify(session).ok


def test_events_written_between_seals_continue_one_chain(
    session: Session, config: AuditConfig
) -> None:
    """Each seal extends the chain from the head the previous one left, and its checkpoint
    follows on from the previous checkpoint."""
    for k in range(3):
        append(session, 2 + k, start=10 * k)
        result = seal(session, config)
        assert result.sealed == 2 + k
        assert result.checkpoint is not None
        assert result.checkpoint.size == result.size == _head(session).seq
    log = CheckpointLog(config.checkpoint_dir)
    lines = log.checkpoints.read_text().splitlines()
    assert len(lines) == 3
    assert log.hashes.stat().st_size == 32 * _head(session).seq
    assert seal(session, config).checkpoint is None  # nothing new: nothing signed
    assert verify(session).ok


def test_a_backlog_is_sealed_in_runs(session: Session) -> None:
    seal(session)
    append(session, 5)
    assert seal(session, limit=2).sealed == 2
    assert pending_count(session) == 3
    assert seal(session, limit=2).sealed == 2
    assert seal(session, limit=2).sealed == 1
    assert seal(session, limit=2).sealed == 0
    assert verify(session).ok


def test_a_sealed_event_unsealed_by_hand_is_caught(session: Session) -> None:
    """Setting a sealed event's hashes back to NULL is tampering like any other."""
    append(session, 3)
    seal(session)
    target = sealed_tail(session, 3)[1].seq
    session.execute(
        update(AuditEvent).where(AuditEvent.seq == target).values(prev_hash=None, hash=None)
    )
    result = verify(session)
    assert not result.ok
    assert result.first_broken_seq == target
