"""Issue 12 §2: audited writes under 64 concurrent writers, and verify of 1,000,000 events.

    .venv/bin/python bench/audit_writers.py [--writers 64] [--processes 4] [--seconds 10]
                                            [--rounds 3] [--events 1000000] [--verify-runs 3]

PostgreSQL only (the server of ``GOVDATA_BENCH_PG_URL``, default the local one; fsync as the
server has it). One run measures, in interleaved rounds (the order rotates):

1. **floor**: a small write without an audit event: one transaction that reads a person and sets
   their phone (ORM, as a request would), each writer on a person of its own so that writers do
   not wait on each other's rows;
2. **old**: the same write plus the old design's append (``old_append`` below, copied from
   ``core/audit.py`` before issue 12: advance the one ``audit_head`` row, insert the chained
   event, set the head's hash; the head row's lock is held until commit);
3. **new**: the same write plus ``audit.record`` (an insert), with the sealer thread running
   in this process as in ``govdata serve``. While it runs, the age of the oldest pending event
   is sampled every 0.1 s: how far sealing lags behind (target ≤ 2 s).

``--writers`` writers run as threads spread over ``--processes`` processes (one interpreter
would measure the GIL, not the database). Writes per second over ``--seconds`` per round,
latency p50/p99; target: new ≥ 0.7 × floor.

Then ``--events`` chained events are generated set-based (the hashing of
``core.audit``) with a signed checkpoint per 1,000 events in a checkpoint directory, and
``govdata audit verify --checkpoints DIR --public-key FILE`` is timed as a subprocess
(target ≤ 5 s). JSON goes to ``bench/out/audit_writers.json``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from sqlalchemy import Engine, bindparam, insert, text, update

from audit_chain import COLUMNS, generate_rows
from common import (
    OUT_DIR,
    ROOT,
    CpuMeter,
    fresh_database_url,
    machine_info,
    pg_server_version,
    postgres_cpu_seconds,
    wait_for_quiet,
    write_json,
)
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.audit import AuditEvent, AuditHead, _at_text, _event_bytes, change_digest
from govdata.core.audit_checkpoints import AuditConfig, CheckpointLog, write_signing_key
from govdata.core.audit_seal import seal, start_sealer
from govdata.core.crypto import sm3
from govdata.core.db import make_engine, make_sessionmaker, transaction, utcnow
from govdata.core.migrate import upgrade
from govdata.org.models import Person

MODES = ("floor", "old", "new")

# --- the old design, as core/audit.py had it before issue 12 (commit dd089fb) ------------------
_HEAD_ADVANCE = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(seq=AuditHead.seq + 1)
    .returning(AuditHead.seq, AuditHead.hash)
)
_HEAD_SET = update(AuditHead).where(AuditHead.id == 1).values(hash=bindparam("h"))
_EVENT_INSERT = insert(AuditEvent)


def old_append(
    session: Any,
    actor: Actor,
    action: str,
    *,
    object_type: str,
    object_id: Any,
    summary: str,
    change: dict[str, Any],
    department_id: int | None,
) -> None:
    """The old ``audit.record``: the head row's lock serializes every audited transaction."""
    session.flush()
    conn = session.connection()
    seq, prev_hash = conn.execute(_HEAD_ADVANCE).one()
    at = utcnow()
    digest = change_digest(change)
    oid = str(object_id)
    h = sm3(
        _event_bytes(
            prev_hash,
            seq,
            _at_text(at),
            actor.person_id,
            actor.name,
            action,
            object_type,
            oid,
            None,
            department_id,
            summary,
            digest,
        )
    ).hex()
    conn.execute(
        _EVENT_INSERT,
        {
            "seq": seq,
            "at": at,
            "actor_id": actor.person_id,
            "actor_name": actor.name,
            "action": action,
            "object_type": object_type,
            "object_id": oid,
            "region_id": None,
            "department_id": department_id,
            "summary": summary,
            "digest": digest,
            "prev_hash": prev_hash,
            "hash": h,
        },
    )
    conn.execute(_HEAD_SET, {"h": h})


# --- writers --------------------------------------------------------------------------------


def _writer_process(
    url: str, mode: str, person_ids: list[int], seconds: float, start_at: float, out: Any
) -> None:
    engine = make_engine(url, pool_size=len(person_ids), max_overflow=0)
    factory = make_sessionmaker(engine)
    latencies: list[list[float]] = [[] for _ in person_ids]
    errors: list[str] = []

    def one(k: int, pid: int) -> None:
        actor = Actor(person_id=pid, name=f"压测{k}")
        n = 0
        while time.time() < start_at:
            time.sleep(0.001)
        end = start_at + seconds
        while time.time() < end:
            n += 1
            phone = f"139{pid % 1000:03d}{n % 100000:05d}"
            t0 = time.perf_counter()
            try:
                with transaction(factory) as s:
                    p = s.get(Person, pid)
                    assert p is not None
                    p.phone = phone
                    s.flush()
                    kw = {
                        "object_type": "person",
                        "object_id": pid,
                        "summary": f"修改账户 {p.username}",
                        "change": {"phone": phone},
                        "department_id": p.department_id,
                    }
                    if mode == "old":
                        old_append(s, actor, "org.person.update", **kw)  # type: ignore[arg-type]
                    elif mode == "new":
                        audit.record(s, actor, "org.person.update", **kw)  # type: ignore[arg-type]
            except Exception as exc:  # counted, not hidden
                errors.append(repr(exc)[:200])
                continue
            latencies[k].append(time.perf_counter() - t0)

    threads = [threading.Thread(target=one, args=(k, pid)) for k, pid in enumerate(person_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    out.put({"latencies": [x for xs in latencies for x in xs], "errors": errors})


def _setup_people(engine: Engine, n: int) -> list[int]:
    with transaction(make_sessionmaker(engine)) as s:
        people = [
            Person(username=f"bench.w{k}", name=f"压测{k}", password_hash="x", phone="13800000000")
            for k in range(n)
        ]
        s.add_all(people)
        s.flush()
        return [p.id for p in people]


def run_mode(
    url: str,
    engine: Engine,
    mode: str,
    people: list[int],
    processes: int,
    seconds: float,
    config: AuditConfig,
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    chunks = [people[i::processes] for i in range(processes)]
    start_at = time.time() + 3.0  # after every process has imported and connected
    procs = [
        ctx.Process(target=_writer_process, args=(url, mode, c, seconds, start_at, out))
        for c in chunks
    ]
    for p in procs:
        p.start()
    stop = threading.Event()
    sealer = start_sealer(make_sessionmaker(engine), config, stop=stop) if mode == "new" else None
    lag: list[float] = []
    meter = CpuMeter()
    while time.time() < start_at:
        time.sleep(0.01)
    meter.start()
    pg0 = postgres_cpu_seconds()
    with engine.connect() as conn:
        while time.time() < start_at + seconds:
            if mode == "new":
                age = conn.execute(
                    text(
                        "SELECT extract(epoch FROM now() - min(at)) "
                        "FROM audit_events WHERE seq IS NULL"
                    )
                ).scalar()
                conn.commit()
                lag.append(float(age or 0.0))
            time.sleep(0.1)
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    busy, _ = meter.stop()
    pg_cpu = postgres_cpu_seconds() - pg0
    drained = None
    if sealer is not None:
        t0 = time.perf_counter()
        stop.set()
        sealer.join()
        seal(make_sessionmaker(engine), config)
        drained = time.perf_counter() - t0
    lat = sorted(x for r in results for x in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    return {
        "mode": mode,
        "writes": len(lat),
        "writes_per_s": round(len(lat) / seconds, 1),
        "p50_ms": round(lat[len(lat) // 2] * 1e3, 2) if lat else None,
        "p99_ms": round(lat[int(len(lat) * 0.99)] * 1e3, 2) if lat else None,
        "errors": len(errors),
        "error_samples": errors[:3],
        "machine_cpu_s": round(busy, 1),
        "postgres_cpu_s": round(pg_cpu, 1),
        "seal_lag_max_s": round(max(lag), 3) if lag else None,
        "seal_lag_p99_s": round(sorted(lag)[int(len(lag) * 0.99)], 3) if lag else None,
        "final_seal_s": round(drained, 3) if drained is not None else None,
    }


# --- verify of a long chain ---------------------------------------------------------------------


def generate_chain(engine: Engine, n: int, config: AuditConfig, per_checkpoint: int) -> None:
    """``n`` sealed events (COPY) and their signed checkpoints, as the sealer would have left
    them had it sealed ``per_checkpoint`` events a run."""
    assert config.key is not None
    log = CheckpointLog(config.checkpoint_dir)
    raw = engine.raw_connection()
    last_seq, last_hash, size = 0, "", 0
    pending: list[str] = []
    try:
        cur = raw.cursor()
        for rows in generate_rows(n, 50_000, db_text_at=False):
            with cur.copy(f"COPY audit_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            for row in rows:
                pending.append(row[-1])
                if len(pending) == per_checkpoint:
                    log.extend(config.key, size, pending)
                    size += len(pending)
                    pending = []
            last_seq, last_hash = rows[-1][0], rows[-1][-1]
        if pending:
            log.extend(config.key, size, pending)
        cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (last_seq, last_hash))
        cur.execute("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), %s)", (last_seq,))
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) audit_events"))


def verify_cli(url: str, config: AuditConfig, expected: int) -> dict[str, Any]:
    pub = config.checkpoint_dir.parent / "audit_key.pub.pem"
    env = dict(
        os.environ,
        GOVDATA_DATABASE_URL=url,
        GOVDATA_VAR_DIR=str(OUT_DIR / "var"),
        GOVDATA_SECRET_KEY="bench",
        COLUMNS="200",
        NO_COLOR="1",
        PYTHONPATH=str(ROOT / "src"),
    )
    cmd = [
        sys.executable,
        "-m",
        "govdata.cli",
        "audit",
        "verify",
        "--checkpoints",
        str(config.checkpoint_dir),
        "--public-key",
        str(pub),
    ]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    wall = time.perf_counter() - started
    out = (proc.stdout + proc.stderr).strip()
    m = re.search(r"已校验 (\d+) 个事件", out)
    if proc.returncode != 0 or not m or int(m.group(1)) != expected or "签名检查点一致" not in out:
        raise SystemExit(f"verify did not report {expected} intact events:\n{out}")
    return {"wall_s": round(wall, 3), "output": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per-checkpoint", type=int, default=1000)
    parser.add_argument("--verify-runs", type=int, default=3)
    parser.add_argument("--wait-quiet", type=float, default=300)
    args = parser.parse_args()

    keydir = OUT_DIR / "audit_writers"
    shutil.rmtree(keydir, ignore_errors=True)
    keydir.mkdir(parents=True)
    config = AuditConfig(keydir / "checkpoints", write_signing_key(keydir / "audit_key"))

    url = fresh_database_url("postgresql", "audit_writers", "govdata_bench_writers")
    engine = make_engine(url)
    upgrade(engine)
    people = _setup_people(engine, args.writers)
    busy_before = wait_for_quiet(args.wait_quiet)
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        order = MODES[r % 3 :] + MODES[: r % 3]
        for mode in order:
            res = run_mode(url, engine, mode, people, args.processes, args.seconds, config)
            res["round"] = r + 1
            rounds.append(res)
            print(
                f"round {r + 1} {mode:<5} {res['writes_per_s']:>8.1f} writes/s  "
                f"p50 {res['p50_ms']} ms  p99 {res['p99_ms']} ms  errors {res['errors']}  "
                f"seal lag max {res['seal_lag_max_s']} s",
                flush=True,
            )
    summary: dict[str, Any] = {}
    for mode in MODES:
        rates = [x["writes_per_s"] for x in rounds if x["mode"] == mode]
        summary[mode] = {"writes_per_s_median": statistics.median(rates), "rounds": rates}
    floor = summary["floor"]["writes_per_s_median"]
    summary["new_over_floor"] = round(summary["new"]["writes_per_s_median"] / floor, 3)
    summary["old_over_floor"] = round(summary["old"]["writes_per_s_median"] / floor, 3)
    lags = [x["seal_lag_max_s"] for x in rounds if x["mode"] == "new"]
    summary["seal_lag_max_s"] = max(lags)
    with transaction(make_sessionmaker(engine)) as s:  # every round's events in one chain
        from govdata.core.audit_verify import verify

        chain = verify(s, workers=os.cpu_count() or 1)
    print(f"chain after the writers: {chain}", flush=True)
    engine.dispose()

    print(f"generating {args.events:,} events with a checkpoint per {args.per_checkpoint} ...")
    shutil.rmtree(config.checkpoint_dir, ignore_errors=True)
    url2 = fresh_database_url("postgresql", "audit_verify", "govdata_bench_verify")
    engine2 = make_engine(url2)
    upgrade(engine2)
    t0 = time.perf_counter()
    generate_chain(engine2, args.events, config, args.per_checkpoint)
    gen_s = time.perf_counter() - t0
    engine2.dispose()
    print(f"  generated in {gen_s:.1f} s", flush=True)
    wait_for_quiet(args.wait_quiet)
    runs = [verify_cli(url2, config, args.events) for _ in range(args.verify_runs)]
    walls = [x["wall_s"] for x in runs]
    print(f"govdata audit verify, {args.events:,} events with checkpoints: {walls} s", flush=True)
    print(runs[-1]["output"])

    result = {
        "benchmark": "audit_writers",
        "database": pg_server_version(url),
        "machine": machine_info(),
        "machine_busy_before": round(busy_before, 3),
        "writers": args.writers,
        "processes": args.processes,
        "seconds_per_round": args.seconds,
        "rounds": rounds,
        "summary": summary,
        "target_new_ge_0_7_floor": summary["new_over_floor"] >= 0.7,
        "target_seal_lag_le_2s": summary["seal_lag_max_s"] <= 2.0,
        "chain_after_writers": repr(chain),
        "verify_events": args.events,
        "verify_checkpoints": -(-args.events // args.per_checkpoint),
        "verify_generate_s": round(gen_s, 1),
        "verify_cli_runs": runs,
        "verify_wall_median_s": statistics.median(walls),
        "target_verify_le_5s": statistics.median(walls) <= 5.0,
    }
    path = write_json("audit_writers.json", result)
    print()
    for mode in MODES:
        print(
            f"  {mode:<5} {summary[mode]['writes_per_s_median']:>8.1f} writes/s (median of "
            f"{args.rounds})"
        )
    print(
        f"  new / floor {summary['new_over_floor']:.2f} (target >= 0.7: "
        f"{'PASS' if result['target_new_ge_0_7_floor'] else 'FAIL'}); "
        f"old / floor {summary['old_over_floor']:.2f}"
    )
    print(f"  seal lag max {summary['seal_lag_max_s']} s (target <= 2 s)")
    print(
        f"  verify {args.events:,}: median {statistics.median(walls):.2f} s (target <= 5 s: "
        f"{'PASS' if result['target_verify_le_5s'] else 'FAIL'})"
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
