"""Access records under the audit chain (Art. 40; issue 13 §5; decision 0015).

Whoever can write the database can change a record of who read what (its rows, its outcome) or
delete it. The sealer seals the records in batches (hashes outside the database, a digest in the
chain); ``verify_records`` then names every changed or deleted record by its id. Written from
the tamperer's side: each test changes something and looks for it to be named.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from govdata.core import access_seal
from govdata.core.access import AccessRecord, record_access
from govdata.core.actor import Actor
from govdata.core.audit import AuditEvent
from govdata.core.audit_checkpoints import AuditConfig, load_checkpoints, write_signing_key
from govdata.core.audit_seal import seal
from govdata.core.audit_verify import verify
from govdata.core.db import utcnow

SYSTEM = Actor(person_id=None, name="渝中区公安分局系统", token_id=7, address="10.0.0.8")


@pytest.fixture
def config(tmp_path: Path) -> AuditConfig:
    return AuditConfig(tmp_path / "checkpoints", write_signing_key(tmp_path / "key"))


def _read(session: Session, n: int, *, start: int = 0) -> list[int]:
    """``n`` access records (sharing calls); their ids."""
    for i in range(start, start + n):
        record_access(
            session,
            SYSTEM,
            "sharing.lookup",
            object_type="share_source",
            object_id="500000000000/000001",
            rows=1,
            owner_department_id=2,
            fields=["公民身份号码", "姓名"],
            grant_id=3,
            purpose="household-check",
            subject_digest=f"{i:064x}",
        )
    ids = session.scalars(select(AccessRecord.id).order_by(AccessRecord.id.desc()).limit(n))
    return sorted(ids)


def _verify(session: Session, config: AuditConfig) -> access_seal.AccessVerifyResult:
    return access_seal.verify_records(session, config.checkpoint_dir)


def _chain_ok(session: Session, config: AuditConfig) -> bool:
    assert config.key is not None
    loaded = load_checkpoints(config.checkpoint_dir, [config.key.public])
    assert loaded.problem is None, loaded.problem
    return verify(session, reference=loaded.reference).ok


def test_records_are_sealed_and_verify_when_untouched(
    session: Session, config: AuditConfig
) -> None:
    ids = _read(session, 5)
    seal(session, config)
    sealed = session.scalars(select(AccessRecord.sealed).where(AccessRecord.id.in_(ids))).all()
    assert len(set(sealed)) == 1 and sealed[0] is not None
    # The batch's digest is carried by an event in the chain, sealed in the same run.
    event = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "audit.access_sealed", AuditEvent.object_id == str(sealed[0])
        )
    ).one()
    assert event.seq is not None
    _read(session, 3, start=5)
    seal(session, config)
    result = _verify(session, config)
    assert result.ok, result.describe()
    assert result.checked >= 8 and result.batches >= 2 and result.unsealed == 0
    assert _chain_ok(session, config)
    assert (config.checkpoint_dir / access_seal.HASHES_FILE).stat().st_size % 40 == 0


@pytest.mark.parametrize(
    "change", [{"rows": 0}, {"outcome": "refused"}, {"purpose": "other"}, {"address": None}]
)
def test_a_changed_record_is_named(
    session: Session, config: AuditConfig, change: dict[str, object]
) -> None:
    ids = _read(session, 4)
    seal(session, config)
    session.execute(update(AccessRecord).where(AccessRecord.id == ids[2]).values(**change))
    result = _verify(session, config)
    assert not result.ok
    assert result.modified == (ids[2],) and result.deleted == ()
    assert f"编号 {ids[2]}" in "".join(result.describe())
    # The chain itself is untouched: only the records' check fails.
    assert _chain_ok(session, config)


def test_a_deleted_record_is_named(session: Session, config: AuditConfig) -> None:
    ids = _read(session, 4)
    seal(session, config)
    session.execute(delete(AccessRecord).where(AccessRecord.id.in_([ids[0], ids[3]])))
    result = _verify(session, config)
    assert (result.ok, result.deleted, result.modified) == (False, (ids[0], ids[3]), ())
    assert "被删除" in "".join(result.describe())


def test_a_changed_record_marked_unsealed_is_still_named(
    session: Session, config: AuditConfig
) -> None:
    # Changing a record and clearing its seal gets it sealed again, with the new content; the
    # first seal still holds the old hash.
    ids = _read(session, 3)
    seal(session, config)
    session.execute(
        update(AccessRecord).where(AccessRecord.id == ids[1]).values(rows=0, sealed=None)
    )
    seal(session, config)
    result = _verify(session, config)
    assert result.modified == (ids[1],)


def test_rewriting_the_outside_files_is_caught_by_the_chain(
    session: Session, config: AuditConfig
) -> None:
    # Change a record, then make the files agree with it: the batch digest no longer matches
    # the event in the chain.
    ids = _read(session, 3)
    seal(session, config)
    session.execute(update(AccessRecord).where(AccessRecord.id == ids[0]).values(rows=99))
    book = access_seal.AccessLog(config.checkpoint_dir)
    batches = book.read_batches()
    rows = session.execute(select(*access_seal.COLUMNS).order_by(AccessRecord.id)).all()
    raw = b"".join(access_seal._ENTRY.pack(r[0], access_seal.record_hash(r)) for r in rows)
    book.hashes.write_bytes(raw)
    last = batches[-1]
    forged = access_seal.Batch(
        last.batch, 0, len(rows), rows[0][0], rows[-1][0], access_seal.sm3_hex(raw)
    )
    book.batches.write_text(forged.line() + "\n")
    result = _verify(session, config)
    assert not result.ok
    assert any("摘要不符" in p for p in result.problems)


def test_a_deleted_batch_file_is_noticed(session: Session, config: AuditConfig) -> None:
    _read(session, 2)
    seal(session, config)
    (config.checkpoint_dir / access_seal.BATCHES_FILE).unlink()
    result = _verify(session, config)
    assert not result.ok and any("封存文件不存在" in p for p in result.problems)


def test_a_batch_cut_from_the_middle_is_noticed(session: Session, config: AuditConfig) -> None:
    for k in range(3):
        _read(session, 2, start=2 * k)
        seal(session, config)
    book = access_seal.AccessLog(config.checkpoint_dir)
    batches = book.read_batches()
    book.batches.write_text(batches[0].line() + "\n" + batches[2].line() + "\n")
    result = _verify(session, config)
    assert any(f"第 {batches[1].batch} 批" in p for p in result.problems)
    assert not result.ok


def test_an_older_copy_of_the_files_checks_what_it_holds(
    session: Session, config: AuditConfig, tmp_path: Path
) -> None:
    import shutil

    _read(session, 2)
    seal(session, config)
    copy = tmp_path / "auditor"
    shutil.copytree(config.checkpoint_dir, copy)
    _read(session, 2, start=2)
    seal(session, config)
    result = access_seal.verify_records(session, copy)
    assert result.ok and result.later == 1


def test_an_open_record_waits_for_its_stream(session: Session, config: AuditConfig) -> None:
    # A bulk delivery's record is changed when its stream ends: not sealed before that.
    (rid,) = _read(session, 1)
    until = utcnow() + timedelta(hours=1)
    session.execute(update(AccessRecord).where(AccessRecord.id == rid).values(open_until=until))
    seal(session, config)
    assert session.scalar(select(AccessRecord.sealed).where(AccessRecord.id == rid)) is None
    session.execute(
        update(AccessRecord).where(AccessRecord.id == rid).values(rows=42, open_until=None)
    )
    seal(session, config)
    assert session.scalar(select(AccessRecord.sealed).where(AccessRecord.id == rid)) is not None
    assert _verify(session, config).ok
    # One that never closes (its server died) is sealed once its time is past.
    (other,) = _read(session, 1, start=9)
    session.execute(
        update(AccessRecord).where(AccessRecord.id == other).values(open_until=utcnow())
    )
    access_seal.seal_records(session, config.checkpoint_dir, now=utcnow() + timedelta(seconds=1))
    assert session.scalar(select(AccessRecord.sealed).where(AccessRecord.id == other)) is not None


def test_a_batch_whose_transaction_failed_is_cut_back(
    session: Session, config: AuditConfig
) -> None:
    _read(session, 2)
    seal(session, config)
    kept = access_seal.AccessLog(config.checkpoint_dir).read_batches()
    ids = _read(session, 2, start=2)
    nested = session.begin_nested()
    access_seal.seal_records(session, config.checkpoint_dir)  # files written ...
    nested.rollback()  # ... the database's part never committed
    assert len(access_seal.AccessLog(config.checkpoint_dir).read_batches()) == len(kept) + 1
    result = _verify(session, config)
    assert result.ok and result.unsealed == 2  # the last line, not yet cut, is not a finding
    seal(session, config)
    batches = access_seal.AccessLog(config.checkpoint_dir).read_batches()
    assert [b.batch for b in batches] == [*(b.batch for b in kept), kept[-1].batch + 1]
    assert (batches[-1].first, batches[-1].last) == (ids[0], ids[1])
    assert (config.checkpoint_dir / access_seal.HASHES_FILE).stat().st_size == 40 * (
        batches[-1].start + batches[-1].count
    )
    assert _verify(session, config).ok


def test_without_a_signing_key_nothing_is_sealed(session: Session, tmp_path: Path) -> None:
    # No checkpoint log, no lock: the records wait for a sealer that has one.
    _read(session, 1)
    seal(session, AuditConfig(tmp_path / "cp", None))
    unsealed = session.scalar(
        select(func.count()).select_from(AccessRecord).where(AccessRecord.sealed.is_(None))
    )
    assert unsealed and unsealed >= 1


def test_the_canonical_text_holds_every_column() -> None:
    names = {c.key for c in access_seal.COLUMNS}
    assert names == set(AccessRecord.__table__.c.keys()) - {"sealed", "open_until"}
    line = json.loads(access_seal.Batch(1, 0, 1, 5, 5, "ab").line())
    assert line == {"batch": 1, "start": 0, "count": 1, "first": 5, "last": 5, "digest": "ab"}


def test_a_committed_batch_is_kept_although_its_first_record_was_deleted(
    session: Session, config: AuditConfig
) -> None:
    # Deleting the first record of the last batch must not make the sealer think the batch
    # never committed (and cut its evidence).
    ids = _read(session, 3)
    seal(session, config)
    session.execute(delete(AccessRecord).where(AccessRecord.id == ids[0]))
    _read(session, 1, start=3)
    seal(session, config)
    result = _verify(session, config)
    assert result.deleted == (ids[0],)
