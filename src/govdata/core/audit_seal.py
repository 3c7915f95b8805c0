"""The sealer: committed audit events join the chain, and a signed checkpoint records it.

``audit.record`` only inserts an event; it takes no shared lock, so audited transactions do not
queue on each other (Art. 40: every data access is recorded). Every ~0.5 s one sealer at a time
(PostgreSQL: an advisory transaction lock; SQLite: its write lock; the checkpoint directory: a
file lock) takes the committed events not yet sealed, in id order, gives them consecutive
``seq``, computes ``prev_hash`` and ``hash`` (``audit._event_bytes``: the canonical text and
SM3), writes them in one set-based statement, advances ``audit_head``, commits, and then
appends their hashes and a signed checkpoint to the log outside the database
(``audit_checkpoints``). A crash between the commit and the append is made good at the next run:
the log is first brought up to the chain's head. Decision 0010. Before that, under the same
lock, access records are sealed in batches whose digests enter the chain as events
(``access_seal``, decision 0015).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, sessionmaker

from govdata.core.audit import GENESIS_HASH, PG_REST, REST_COLUMNS, sqlite_rest
from govdata.core.audit_checkpoints import (
    AuditConfig,
    Checkpoint,
    CheckpointLog,
    CheckpointLogError,
)
from govdata.core.crypto import sm3
from govdata.core.db import transaction

log = structlog.get_logger(__name__)

# pg_try_advisory_xact_lock key: "govdata audit sealer".
_LOCK_KEY = 0x676F7661_75646974
_LIMIT = 50_000  # events per seal: a backlog is worked off in runs that each commit


@dataclass(frozen=True)
class SealResult:
    sealed: int  # events given their place in the chain by this run
    size: int  # the chain's size after it
    head: str
    checkpoint: Checkpoint | None = None
    skipped: bool = False  # another sealer was running


@dataclass(frozen=True)
class _Sealed:
    result: SealResult
    start: int  # the log's size before this run
    hashes: list[str]  # the hashes of events start+1..size, for the log


def seal(
    target: Session | sessionmaker[Session],
    config: AuditConfig | None = None,
    *,
    limit: int = _LIMIT,
    access: bool = True,
) -> SealResult:
    """Seal the committed unsealed events and sign a checkpoint over them; with ``access``,
    first the access records not sealed yet (decision 0015).

    ``target``: a session factory (the sealer's own transaction, committed before the log is
    written), or a session whose transaction the caller owns (tests; the log is written at
    once). Without a signing key in ``config`` the chain is sealed and no checkpoint written.
    """
    book = CheckpointLog(config.checkpoint_dir) if config and config.key else None
    with book.locked() if book else nullcontext(True) as ours:
        if ours is False:
            return SealResult(0, 0, "", skipped=True)
        if ours is None:  # an unusable directory does not stop the chain from being sealed
            book = None
        if book is not None and access:  # access records first: their batch's event joins now
            _seal_access(target, book.directory)
        covered = _covered(book)
        if isinstance(target, Session):
            sealed = _seal_in(target, covered, limit)
        else:
            with transaction(target, write=True) as session:
                sealed = _seal_in(session, covered, limit)
        if book is None or config is None or config.key is None or not sealed.hashes:
            return sealed.result
        try:
            cp = book.extend(config.key, sealed.start, sealed.hashes)
        except (CheckpointLogError, OSError) as exc:
            log.error("audit.checkpoint_failed", error=str(exc))
            return sealed.result
        r = sealed.result
        return SealResult(r.sealed, r.size, r.head, cp)


def _seal_access(target: Session | sessionmaker[Session], directory: Path) -> None:
    """Seal the access records not sealed yet (``core.access_seal``, decision 0015), under the
    checkpoint directory's lock. A failure is logged; the chain is sealed all the same."""
    from govdata.core.access_seal import seal_records

    try:
        if isinstance(target, Session):
            with target.begin_nested():
                seal_records(target, directory)
        else:
            with transaction(target, write=True) as session:
                seal_records(session, directory)
    except Exception:
        log.exception("audit.access_seal_failed")


def _covered(book: CheckpointLog | None) -> int | None:
    if book is None:
        return None
    try:
        return book.covered()
    except (ValueError, TypeError, OSError) as exc:  # a damaged last line
        log.error("audit.checkpoint_log_unreadable", error=str(exc))
        return None


def _seal_in(session: Session, covered: int | None, limit: int) -> _Sealed:
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    if (
        pg
        and not conn.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _LOCK_KEY}
        ).scalar()
    ):
        return _Sealed(SealResult(0, 0, "", skipped=True), 0, [])
    head_sql = "SELECT seq, hash FROM audit_head WHERE id = 1"
    row = conn.execute(text(f"{head_sql} FOR UPDATE" if pg else head_sql)).first()
    if row is None:  # a database created without the initial migration's head row
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"),
                     {"h": GENESIS_HASH})  # fmt: skip
        size, head = 0, GENESIS_HASH
    else:
        size, head = int(row[0]), str(row[1])
    backlog = _backlog(conn, covered, size, limit)
    # Raw SQL: the server's text of ``at`` (its format holds colons that text() would bind).
    # Only constant fragments of our own are joined in; the limit is a bound parameter.
    if pg:
        sql = f"SELECT id, {PG_REST} FROM audit_events WHERE seq IS NULL ORDER BY id LIMIT %s"  # noqa: S608
        pending = [(r[0], str(r[1])) for r in conn.exec_driver_sql(sql, (limit,))]
    else:
        sql = f"SELECT id, {REST_COLUMNS} FROM audit_events WHERE seq IS NULL ORDER BY id LIMIT ?"  # noqa: S608
        pending = [(r[0], sqlite_rest(r[1:])) for r in conn.exec_driver_sql(sql, (limit,))]
    updates: list[tuple[int, int, str, str]] = []  # (id, seq, prev_hash, hash)
    new_hashes: list[str] = []
    for event_id, rest in pending:
        size += 1
        h = sm3(f"{head}\x1f{size}\x1f{rest}".encode()).hex()
        updates.append((event_id, size, head, h))
        new_hashes.append(h)
        head = h
    if updates:
        _write(conn, pg, updates)
        conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
                     {"s": size, "h": head})  # fmt: skip
    result = SealResult(len(updates), size, head)
    if backlog is None:
        return _Sealed(result, 0, [])
    start, old, whole = backlog
    # A long backlog is caught up in parts; this run's events follow once it is whole.
    return _Sealed(result, start, old + new_hashes if whole else old)


def _backlog(
    conn: Connection, covered: int | None, size: int, limit: int
) -> tuple[int, list[str], bool] | None:
    """Where the log stands, the sealed hashes it lacks (a crash after a commit, a key given
    later, an old chain: at most ``limit`` a run) and whether that is all of them; None when
    no checkpoint can be written."""
    if covered is None:
        return None
    if covered > size:
        # The log vouches for events the database no longer holds (truncated, or restored from
        # an older backup): verify reports it; signing a different history over it would hide it.
        log.error("audit.checkpoints_ahead_of_chain", covered=covered, chain=size)
        return None
    if covered == size:
        return covered, [], True
    upto = min(size, covered + limit)
    rows = conn.execute(
        text("SELECT seq, hash FROM audit_events WHERE seq > :a AND seq <= :b ORDER BY seq"),
        {"a": covered, "b": upto},
    ).all()
    if [r[0] for r in rows] != list(range(covered + 1, upto + 1)):
        log.error("audit.chain_gap_before_checkpoint", covered=covered, chain=size)
        return None
    return covered, [str(r[1]) for r in rows], upto == size


def _write(conn: Connection, pg: bool, updates: list[tuple[int, int, str, str]]) -> None:
    if pg:  # one statement whatever the batch: four arrays
        ids, seqs, prevs, hashes = (list(col) for col in zip(*updates, strict=True))
        conn.execute(
            text(
                "UPDATE audit_events AS e SET seq = v.seq, prev_hash = v.prev, hash = v.hash "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]), "
                "CAST(:prevs AS text[]), CAST(:hashes AS text[])) AS v(id, seq, prev, hash) "
                "WHERE e.id = v.id"
            ),
            {"ids": ids, "seqs": seqs, "prevs": prevs, "hashes": hashes},
        )
        return
    # SQLite runs in-process: one prepared statement executed per row costs no round trips.
    conn.exec_driver_sql(
        "UPDATE audit_events SET seq = ?, prev_hash = ?, hash = ? WHERE id = ?",
        [(s, p, h, i) for i, s, p, h in updates],
    )


def pending_count(session: Session) -> int:
    return int(
        session.execute(text("SELECT count(*) FROM audit_events WHERE seq IS NULL")).scalar_one()
    )


# --- the sealer thread --------------------------------------------------------------------------


# Access records are sealed at most this often by the sealer thread (a manual ``seal`` seals
# them at once). Every page that reads personal data writes one, so sealing them at every run
# would commit twice a second whenever anyone works; on SQLite each such commit makes a unit of
# work that read before it and writes after it fail at once (SQLITE_BUSY_SNAPSHOT).
ACCESS_SEAL_SECONDS = 10.0


def start_sealer(
    factory: sessionmaker[Session],
    config: AuditConfig,
    *,
    interval: float = 0.5,
    stop: threading.Event | None = None,
) -> threading.Thread:
    """Seal every ``interval`` seconds in a daemon thread of this process (``govdata serve``,
    ``worker``). Several processes may each run one: the locks let one seal at a time. A failing
    run is logged and the next one tries again; a backlog is sealed without waiting."""
    stopped = stop or threading.Event()

    def loop() -> None:
        last_access = float("-inf")
        while not stopped.is_set():
            busy = False
            now = time.monotonic()
            access = now - last_access >= ACCESS_SEAL_SECONDS
            try:
                busy = seal(factory, config, access=access).sealed >= _LIMIT
                if access:
                    last_access = now
            except Exception:
                log.exception("audit.seal_failed")
            if not busy:
                stopped.wait(interval)

    thread = threading.Thread(target=loop, name="govdata-audit-sealer", daemon=True)
    thread.start()
    return thread


@contextmanager
def sealing(
    factory: sessionmaker[Session], config: AuditConfig, *, interval: float = 0.5
) -> Iterator[threading.Thread]:
    """The sealer thread for the length of a block (benchmarks, tests); sealed once more at
    the end so that nothing the block committed is left pending."""
    stop = threading.Event()
    thread = start_sealer(factory, config, interval=interval, stop=stop)
    try:
        yield thread
    finally:
        stop.set()
        thread.join()
        seal(factory, config)
