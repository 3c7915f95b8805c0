"""Rewrites of the audit chain that only signed checkpoints outside the database catch (Art. 39;
issue 12 §2; decision 0010).

Whoever can write the database can recompute every SM3 hash after an edit, delete and renumber,
or cut the tail and move ``audit_head`` back: the chain is then consistent with itself, and
``verify`` without checkpoints passes (each test shows that first). With the checkpoints the
sealer signed at the time, ``verify`` names the first event that disagrees.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from govdata.core.audit import GENESIS_HASH, AuditEvent, AuditHead, _at_text, _event_bytes
from govdata.core.audit_checkpoints import (
    AuditConfig,
    CheckpointLog,
    Reference,
    load_checkpoints,
    parse_public_key,
    public_key_path,
    public_key_pem,
    read_signing_key,
    write_signing_key,
)
from govdata.core.audit_seal import seal
from govdata.core.audit_verify import VerifyResult, verify
from govdata.core.crypto import sm2_sign, sm2_verify, sm3
from tests.core.test_audit import append


@pytest.fixture
def config(tmp_path: Path) -> AuditConfig:
    return AuditConfig(tmp_path / "checkpoints", write_signing_key(tmp_path / "key"))


def _sealed_chain(session: Session, config: AuditConfig, batches: int = 3) -> int:
    """A chain sealed over several checkpoints (whatever the world left, then 4 events per
    batch); returns its size."""
    size = 0
    for k in range(batches):
        append(session, 4, start=100 * k)
        size = seal(session, config).size
    return size


def _reference(config: AuditConfig, *, directory: Path | None = None) -> Reference:
    assert config.key is not None
    loaded = load_checkpoints(directory or config.checkpoint_dir, [config.key.public])
    assert loaded.problem is None, loaded.problem
    assert loaded.reference is not None
    return loaded.reference


def _check(session: Session, config: AuditConfig, **kw: object) -> VerifyResult:
    return verify(session, reference=_reference(config, **kw))  # type: ignore[arg-type]


def _rechain(session: Session, start: int) -> None:
    """What an attacker with write access does: recompute prev_hash/hash from ``start`` to the
    end with the platform's own code, and set the head to the new end."""
    prev = GENESIS_HASH
    if start > 1:
        prev = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == start - 1)) or ""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.seq >= start).order_by(AuditEvent.seq)
    ).all()
    for e in events:
        assert e.seq is not None
        e.prev_hash = prev
        e.hash = sm3(
            _event_bytes(
                prev, e.seq, _at_text(e.at), e.actor_id, e.actor_name, e.action, e.object_type,
                e.object_id, e.region_id, e.department_id, e.summary, e.digest,
            )
        ).hex()  # fmt: skip
        prev = e.hash
    session.flush()
    last = session.scalar(select(func.max(AuditEvent.seq))) or 0
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=last, hash=prev))
    session.expire_all()


def _blind(session: Session) -> None:
    """Without checkpoints the rewrite is invisible: the database agrees with itself."""
    result = verify(session)
    assert result.ok, result


def test_edit_and_recompute_every_later_hash_is_named(
    session: Session, config: AuditConfig
) -> None:
    """(b) Edit one event, recompute every hash after it: the first edited event is named."""
    size = _sealed_chain(session, config)
    target = size - 6
    session.execute(update(AuditEvent).where(AuditEvent.seq == target).values(summary="改写的摘要"))
    _rechain(session, target)
    _blind(session)

    result = _check(session, config)
    assert not result.ok
    assert result.first_broken_seq == target
    assert result.checked == target - 1
    assert result.reason is not None and "检查点" in result.reason


def test_delete_and_renumber_is_named(session: Session, config: AuditConfig) -> None:
    """(c) Delete an event and renumber the rest into a gapless, rehashed chain."""
    size = _sealed_chain(session, config)
    target = size - 5
    session.execute(delete(AuditEvent).where(AuditEvent.seq == target))
    for seq in range(target + 1, size + 1):  # one by one: seq is unique
        session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(seq=seq - 1))
    _rechain(session, target)
    _blind(session)

    result = _check(session, config)
    assert not result.ok
    assert result.first_broken_seq == target


def test_deleted_tail_with_the_head_moved_back_is_named(
    session: Session, config: AuditConfig
) -> None:
    """(a) Delete the last events and move ``audit_head`` back to the new end."""
    size = _sealed_chain(session, config)
    keep = size - 3
    session.execute(delete(AuditEvent).where(AuditEvent.seq > keep))
    new_end = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == keep))
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=keep, hash=new_end))
    _blind(session)

    result = _check(session, config)
    assert not result.ok
    assert result.first_broken_seq == keep + 1
    assert result.reason is not None and "截断" in result.reason


def test_truncated_chain_is_named(session: Session, config: AuditConfig) -> None:
    """(d) Truncation: every event gone and the head back at the genesis."""
    _sealed_chain(session, config)
    session.execute(delete(AuditEvent))
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=0, hash=GENESIS_HASH))
    _blind(session)

    result = _check(session, config)
    assert not result.ok
    assert result.first_broken_seq == 1


def test_without_the_hash_log_the_rewrite_is_caught_in_its_checkpoint(
    session: Session, config: AuditConfig, tmp_path: Path
) -> None:
    """An auditor who kept only checkpoints.jsonl still catches the rewrite, placed between
    two checkpoints."""
    size = _sealed_chain(session, config)
    kept = tmp_path / "auditor"
    kept.mkdir()
    shutil.copy(CheckpointLog(config.checkpoint_dir).checkpoints, kept)
    target = size - 2
    session.execute(update(AuditEvent).where(AuditEvent.seq == target).values(action="x"))
    _rechain(session, target)

    reference = _reference(config, directory=kept)
    assert reference.hashes_size == 0 and reference.notes
    result = verify(session, reference=reference)
    assert not result.ok
    assert result.first_broken_seq == size - 3  # the first event of the last checkpoint
    assert result.reason is not None and f"{size - 3}–{size}" in result.reason


def test_a_tampered_hash_log_is_not_trusted(session: Session, config: AuditConfig) -> None:
    """Editing hashes.bin (no key needed) must not make an intact chain look broken."""
    size = _sealed_chain(session, config)
    hashes = CheckpointLog(config.checkpoint_dir).hashes
    data = bytearray(hashes.read_bytes())
    data[(size - 2) * 32] ^= 0xFF
    hashes.write_bytes(bytes(data))
    reference = _reference(config)
    assert reference.hashes_size < size - 1
    assert any("hashes" in n or "逐事件" in n for n in reference.notes)
    assert verify(session, reference=reference).ok


# --- (e) checkpoints that were not signed by the platform's key are refused ---------------------


def _lines(config: AuditConfig) -> list[str]:
    return CheckpointLog(config.checkpoint_dir).checkpoints.read_text().splitlines()


def _write(config: AuditConfig, lines: list[str]) -> None:
    CheckpointLog(config.checkpoint_dir).checkpoints.write_text("\n".join(lines) + "\n")


def _problem(config: AuditConfig, **kw: object) -> str | None:
    assert config.key is not None
    return load_checkpoints(config.checkpoint_dir, [config.key.public], **kw).problem  # type: ignore[arg-type]


def test_a_forged_last_checkpoint_is_refused(session: Session, config: AuditConfig) -> None:
    """A rewritten chain with a checkpoint claiming it, signature copied: refused."""
    _sealed_chain(session, config)
    lines = _lines(config)
    forged = json.loads(lines[-1])
    forged["head"] = "a" * 64
    _write(config, [*lines[:-1], json.dumps(forged)])
    problem = _problem(config)
    assert problem is not None and f"第 {len(lines)} 个检查点的签名无效" in problem


def test_a_checkpoint_signed_by_another_key_is_refused(
    session: Session, config: AuditConfig, tmp_path: Path
) -> None:
    _sealed_chain(session, config)
    lines = _lines(config)
    other = write_signing_key(tmp_path / "attacker")
    forged = json.loads(lines[-1])
    forged["sig"] = sm2_sign(other.private, other.public, b"anything")
    forged["key"] = other.key_id
    _write(config, [*lines[:-1], json.dumps(forged)])
    problem = _problem(config)
    assert problem is not None and "不在所给公钥中" in problem


def test_a_forged_earlier_checkpoint_breaks_the_link(session: Session, config: AuditConfig) -> None:
    """Only the last signature is checked by default: an earlier line is vouched for by the
    SM3 link each later line carries, so changing it is caught all the same."""
    _sealed_chain(session, config)
    lines = _lines(config)
    forged = json.loads(lines[0])
    forged["head"] = "b" * 64
    _write(config, [json.dumps(forged), *lines[1:]])
    problem = _problem(config)
    assert problem is not None and "第 2 个检查点与前一个检查点衔接不上" in problem
    assert _problem(config, all_signatures=True) is not None


def test_a_dropped_checkpoint_breaks_the_link(session: Session, config: AuditConfig) -> None:
    _sealed_chain(session, config)
    lines = _lines(config)
    _write(config, [lines[0], lines[2]])
    problem = _problem(config)
    assert problem is not None and "衔接不上" in problem


def test_every_signature_verifies_when_asked(session: Session, config: AuditConfig) -> None:
    _sealed_chain(session, config)
    assert _problem(config, all_signatures=True) is None


# --- the log and the key ------------------------------------------------------------------------


def test_the_log_catches_up_after_a_seal_that_wrote_no_checkpoint(
    session: Session, config: AuditConfig
) -> None:
    """Sealed without a key (or a crash after the commit): the next seal with the key first
    brings the log up to the chain, so every sealed event is in it."""
    append(session, 3)
    size = seal(session).size  # no config: sealed, no checkpoint
    append(session, 2)
    result = seal(session, config)
    assert result.checkpoint is not None
    assert (result.checkpoint.start, result.checkpoint.size) == (0, size + 2)
    assert verify(session, reference=_reference(config)).ok


def test_hashes_left_by_an_interrupted_append_are_cut_back(
    session: Session, config: AuditConfig
) -> None:
    size = _sealed_chain(session, config, batches=1)
    hashes = CheckpointLog(config.checkpoint_dir).hashes
    with hashes.open("ab") as f:  # a crash after the hashes, before the checkpoint line
        f.write(b"\x01" * 64)
    append(session, 1)
    assert seal(session, config).checkpoint is not None
    assert hashes.stat().st_size == 32 * (size + 1)
    assert verify(session, reference=_reference(config)).ok


def test_no_checkpoint_over_a_chain_shorter_than_the_log(
    session: Session, config: AuditConfig
) -> None:
    """After the tail was cut, the sealer does not sign a different history over the
    checkpoints that recorded the old one (it still seals, so the platform keeps working)."""
    size = _sealed_chain(session, config, batches=1)
    session.execute(delete(AuditEvent).where(AuditEvent.seq > size - 2))
    last = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == size - 2))
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=size - 2, hash=last))
    append(session, 1)
    result = seal(session, config)
    assert result.sealed == 1 and result.checkpoint is None
    assert len(_lines(config)) == 1
    assert not verify(session, reference=_reference(config)).ok


def test_signing_key_file_is_private_and_round_trips(tmp_path: Path) -> None:
    key = write_signing_key(tmp_path / "k")
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    assert read_signing_key(tmp_path / "k") == key
    pem = public_key_path(tmp_path / "k").read_text()
    assert parse_public_key(pem) == key.public == parse_public_key(key.public)
    with pytest.raises(FileExistsError):
        write_signing_key(tmp_path / "k")  # never overwrites a key
    with pytest.raises(ValueError):
        parse_public_key("not a key")


def test_sm2_signature_refuses_out_of_range_and_foreign_input(tmp_path: Path) -> None:
    key = write_signing_key(tmp_path / "k")
    sig = sm2_sign(key.private, key.public, b"m")
    assert sm2_verify(key.public, b"m", sig)
    assert not sm2_verify(key.public, b"n", sig)
    n = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123".lower()
    assert not sm2_verify(key.public, b"m", n + sig[64:])  # r = n: outside [1, n-1]
    assert not sm2_verify(key.public, b"m", "0" * 64 + sig[64:])
    assert not sm2_verify(key.public, b"m", "zz" * 64)
    assert not sm2_verify("00" * 64, b"m", sig)


def test_signatures_verify_with_openssl(tmp_path: Path, session: Session) -> None:
    """Auditors need not trust our code: OpenSSL verifies a checkpoint's SM2 signature (with
    SM3 and the standard's default id) against the PEM public key we hand out."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    config = AuditConfig(tmp_path / "cp", write_signing_key(tmp_path / "key"))
    append(session, 2)
    cp = seal(session, config).checkpoint
    assert cp is not None and config.key is not None
    (tmp_path / "msg").write_bytes(cp.message())
    r, s = int(cp.sig[:64], 16), int(cp.sig[64:], 16)
    (tmp_path / "sig.der").write_bytes(_der_signature(r, s))
    (tmp_path / "pub.pem").write_text(public_key_pem(config.key.public))
    cmd = [
        "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
        "-rawin", "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig.der"),
        "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
    ]  # fmt: skip
    ok = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if "unsupported" in ok.stderr.lower() or "unknown" in ok.stderr.lower():
        pytest.skip(f"this OpenSSL has no SM2: {ok.stderr}")
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "msg").write_bytes(cp.message() + b"x")
    bad = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert bad.returncode != 0


def _der_signature(r: int, s: int) -> bytes:
    def integer(i: int) -> bytes:
        b = i.to_bytes((i.bit_length() + 8) // 8, "big")
        return b"\x02" + bytes([len(b)]) + b

    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


def test_unsealed_tail_is_reported_pending_not_broken(
    session: Session, config: AuditConfig
) -> None:
    _sealed_chain(session, config, batches=1)
    append(session, 2)
    result = _check(session, config)
    assert result.ok and result.pending == 2


def test_pending_events_are_not_in_the_chain(session: Session) -> None:
    seal(session)
    append(session, 1)
    assert (
        session.execute(text("SELECT count(*) FROM audit_events WHERE seq IS NULL")).scalar() == 1
    )


def test_a_line_still_being_appended_is_not_read(session: Session, config: AuditConfig) -> None:
    """verify may read the log while the sealer appends: a partial last line is not there yet
    (not a forged checkpoint)."""
    _sealed_chain(session, config, batches=2)
    log = CheckpointLog(config.checkpoint_dir)
    with log.checkpoints.open("a") as f:
        f.write('{"origin":"govdata/au')
    assert _problem(config) is None
    assert _reference(config).checkpoints == 2


def test_a_long_backlog_is_caught_up_in_parts(session: Session, config: AuditConfig) -> None:
    """A chain sealed before there was a key (an upgraded database) is brought into the log a
    part per run, in order, and the events sealed meanwhile follow."""
    append(session, 5)
    size = seal(session).size
    append(session, 1)
    first = seal(session, config, limit=size - 2)
    assert first.checkpoint is not None and first.checkpoint.size == size - 2
    second = seal(session, config, limit=size - 2)
    assert second.checkpoint is not None and second.checkpoint.size == size + 1
    assert verify(session, reference=_reference(config)).ok


def test_an_unusable_checkpoint_directory_does_not_stop_sealing(
    session: Session, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    key = write_signing_key(tmp_path / "key")
    append(session, 1)
    result = seal(session, AuditConfig(blocker / "checkpoints", key))
    assert result.sealed >= 1 and result.checkpoint is None
