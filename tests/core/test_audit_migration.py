"""Migration 0008 upgrades a database that already holds a chain (decision 0010)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import column, table, text

from govdata.core import audit
from govdata.core.audit import GENESIS_HASH, _at_text, _event_bytes, change_digest
from govdata.core.audit_seal import seal
from govdata.core.audit_verify import verify
from govdata.core.crypto import sm3
from govdata.core.db import UTCDateTime, make_engine, make_sessionmaker, transaction
from govdata.core.migrate import downgrade, upgrade
from tests.conftest import new_database_url
from tests.core.test_audit import ALICE

# Revision 0007's table, its ``at`` stored as SQLAlchemy stores it on each engine.
_OLD = table(
    "audit_events",
    column("at", UTCDateTime()),
    *(column(c) for c in ("seq", "actor_id", "actor_name", "action", "object_type", "object_id",
                          "region_id", "department_id", "summary", "digest", "prev_hash", "hash")),
)  # fmt: skip


def _old_chain(conn: object, n: int) -> str:
    """Events as revision 0007's ``audit.record`` wrote them: seq, prev_hash and hash at once."""
    prev = GENESIS_HASH
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    for seq in range(1, n + 1):
        at += timedelta(seconds=1, microseconds=seq)
        digest = change_digest({"seq": seq})
        values = (
            seq,
            at,
            3,
            "王专员",
            "org.person.update",
            "person",
            str(seq),
            1,
            2,
            f"第{seq}次",
            digest,
        )
        h = sm3(_event_bytes(prev, seq, _at_text(at), *values[2:])).hex()
        conn.execute(  # type: ignore[attr-defined]
            _OLD.insert(),
            dict(zip(
                ("seq", "at", "actor_id", "actor_name", "action", "object_type", "object_id",
                 "region_id", "department_id", "summary", "digest"),
                values, strict=True,
            ), prev_hash=prev, hash=h),
        )  # fmt: skip
        prev = h
    conn.execute(  # type: ignore[attr-defined]
        text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": n, "h": prev}
    )
    return prev


def test_upgrade_keeps_an_existing_chain_and_continues_it(
    pg_cluster, tmp_path: Path, worker: str
) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(new_database_url(pg_cluster, tmp_path, f"govdata_audit_mig_{worker}"))
    try:
        upgrade(engine, "0007")
        with engine.begin() as conn:
            last = _old_chain(conn, 5)
        upgrade(engine)
        factory = make_sessionmaker(engine)
        with factory() as s:
            assert verify(s).ok and verify(s).checked == 5
            ids = s.execute(text("SELECT id, seq FROM audit_events ORDER BY id")).all()
            assert [tuple(r) for r in ids] == [(i, i) for i in range(1, 6)]  # id = old seq
        with transaction(factory) as s:
            event = audit.record(
                s, ALICE, "test.after", object_type="t", object_id=1, summary="升级后"
            )
            assert event.seq is None
        seal(factory)
        with factory() as s:
            row = s.execute(
                text("SELECT id, seq, prev_hash FROM audit_events WHERE action = 'test.after'")
            ).one()
            assert (row.id, row.seq, row.prev_hash) == (6, 6, last)  # ids go on after the old
            assert verify(s).ok
        downgrade(engine, "0007")  # all sealed: the old table takes them back
        with engine.connect() as conn:
            assert conn.execute(text("SELECT max(seq) FROM audit_events")).scalar() == 6
        upgrade(engine)
    finally:
        engine.dispose()
