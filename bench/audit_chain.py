"""Target B: ``govdata audit verify`` on 1,000,000 events, and the cost an audit append adds.

    .venv/bin/python bench/audit_chain.py [--db sqlite|postgresql] [--events 1000000]
                                          [--verify-runs 3] [--writes 2000] [--profile]
                                          [--check-parallel]

1. Generates ``--events`` chained audit events into a fresh database (SQLite file under
   ``bench/out/`` or PostgreSQL ``govdata_bench``), migrated with the real migrations. The chain is
   computed with the hashing of ``govdata.core.audit`` itself (``_event_bytes``, ``_at_text``,
   ``change_digest``, ``GENESIS_HASH``, ``sm3``) and bulk inserted (``executemany`` on SQLite,
   ``COPY`` on PostgreSQL); the ``audit_head`` row is set to the last seq and hash, as
   ``audit.record`` would have left it. Then ``ANALYZE`` (PostgreSQL: ``VACUUM (ANALYZE)``, as
   autovacuum would have done on a table that grew over months).
2. Times ``govdata audit verify`` as a subprocess, wall time of the whole command (interpreter
   start, imports, the verification), ``--verify-runs`` times, and checks that it reports the
   chain intact with exactly ``--events`` events. Times ``govdata.core.audit.verify()``
   in-process too, in one process and (when it takes ``workers``) over all cores; ``--profile``
   runs the one-process verify under cProfile and prints the hot spots.
3. Times ``--writes`` small writes (one person's phone, ORM, one transaction each, as a request
   would) with and without ``audit.record(...)`` in the same transaction, interleaved in blocks,
   on the database that now
   holds the chain; then verifies the chain again.
4. ``--check-parallel``: on tampered 30,000-event chains, verify with 2 and 3 workers must
   report exactly what one process reports.

JSON goes to ``bench/out/audit_chain_<db>.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import io
import os
import pstats
import re
import resource
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

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
from govdata.core.audit import GENESIS_HASH, _at_text, _event_bytes, change_digest
from govdata.core.audit_verify import verify
from govdata.core.crypto import sm3
from govdata.core.db import make_engine, make_sessionmaker, transaction
from govdata.core.migrate import upgrade
from govdata.org.models import Person

COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "region_id",
    "department_id",
    "summary",
    "digest",
    "prev_hash",
    "hash",
)

# A plausible mix: who acted, on what, with a zh-CN summary of ordinary length.
ACTORS = [(None, "系统初始化"), (3, "王专员"), (4, "赵局长"), (7, "吴审计"), (1, "陈市管")]
ACTIONS = [
    ("org.person.update", "person", "修改账户 demo.user{n}"),
    ("sharing.access", "share_grant", "市公安局通过共享系统读取“人口基础信息”第{n}批"),
    ("catalog.resource.update", "resource", "修改数据资源“企业登记信息{n}”的信息项"),
    ("opendata.download", "dataset", "公众下载开放数据集“公交线路{n}”"),
    ("auth.sign_in", "person", "账户 demo.officer 登录（第{n}次）"),
]


# --- 1. generate ---------------------------------------------------------------------------


def generate_rows(n: int, batch: int, *, db_text_at: bool):
    """Yield lists of row tuples, chained exactly as ``audit.record`` chains them."""
    digests = [change_digest({"field": "phone", "value": f"138{i:08d}"}) for i in range(1024)]
    at = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)
    step = timedelta(microseconds=2_345)
    prev = GENESIS_HASH
    rows: list[tuple[Any, ...]] = []
    for seq in range(1, n + 1):
        actor_id, actor_name = ACTORS[seq % len(ACTORS)]
        action, otype, summary_t = ACTIONS[seq % len(ACTIONS)]
        oid = str(seq % 9973)
        region = None if seq % 3 == 0 else 1 + seq % 41
        dept = None if seq % 4 == 0 else 1 + seq % 280
        summary = summary_t.format(n=seq % 1000)
        digest = digests[seq % 1024]
        at_text = _at_text(at)
        h = sm3(
            _event_bytes(
                prev,
                seq,
                at_text,
                actor_id,
                actor_name,
                action,
                otype,
                oid,
                region,
                dept,
                summary,
                digest,
            )
        ).hex()
        # SQLite: the text SQLAlchemy's DATETIME stores; PostgreSQL: a timestamptz.
        at_value = f"{at_text[:10]} {at_text[11:26]}" if db_text_at else at
        row = (seq, at_value, actor_id, actor_name, action, otype, oid, region, dept, summary)
        rows.append((*row, digest, prev, h))
        prev = h
        at += step
        if len(rows) == batch:
            yield rows
            rows = []
    if rows:
        yield rows


def generate(
    engine: Engine, n: int, batch: int = 50_000, *, quiet: bool = False
) -> tuple[int, str]:
    sqlite = engine.dialect.name == "sqlite"
    last_seq, last_hash = 0, GENESIS_HASH
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if sqlite:
            cur.execute("BEGIN")
            insert = (
                f"INSERT INTO audit_events ({', '.join(COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in COLUMNS)})"
            )
        done = 0
        for rows in generate_rows(n, batch, db_text_at=sqlite):
            if sqlite:
                cur.executemany(insert, rows)
            else:
                with cur.copy(f"COPY audit_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            last_seq, last_hash = rows[-1][0], rows[-1][-1]
            done += len(rows)
            if not quiet and (done % 200_000 == 0 or done == n):
                print(f"  {done:>9,} events", flush=True)
        param = "?" if sqlite else "%s"
        cur.execute(
            f"UPDATE audit_head SET seq = {param}, hash = {param} WHERE id = 1",
            (last_seq, last_hash),
        )
        if sqlite:
            cur.execute("COMMIT")
        else:
            raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE" if sqlite else "VACUUM (ANALYZE) audit_events"))
    return last_seq, last_hash


def check_format(engine: Engine) -> None:
    """The generated rows must read back as audit.record's rows do: one real append, verified."""
    sm = make_sessionmaker(engine)
    with transaction(sm) as session:
        audit.record(
            session,
            Actor(person_id=None, name="bench"),
            "bench.format_check",
            object_type="bench",
            object_id=0,
            summary="格式核对",
        )
    with engine.connect() as conn:
        got = conn.execute(text("SELECT at FROM audit_events ORDER BY seq DESC LIMIT 2")).scalars()
        print(f"  stored 'at' of the real append and of the last generated event: {list(got)}")


# --- 2. verify -----------------------------------------------------------------------------


def verify_cli(url: str, expected: int) -> dict[str, Any]:
    env = dict(
        os.environ,
        GOVDATA_DATABASE_URL=url,
        GOVDATA_SECRET_KEY="bench-secret-key-not-for-production",
        GOVDATA_VAR_DIR=str(OUT_DIR / "var"),
        COLUMNS="200",
        NO_COLOR="1",
    )
    cmd = [str(ROOT / ".venv" / "bin" / "govdata"), "audit", "verify"]
    meter = CpuMeter()
    meter.start()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg0 = postgres_cpu_seconds()
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    wall = time.perf_counter() - started
    pg_cpu = postgres_cpu_seconds() - pg0
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_cpu, _ = meter.stop()
    cli_cpu = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    out = (proc.stdout + proc.stderr).strip()
    m = re.search(r"已校验 (\d+) 个事件，用时 ([\d.]+) 秒", out)
    checked = int(m.group(1)) if m else None
    ok = proc.returncode == 0 and "审计链完整" in out and checked == expected
    if not ok:
        raise SystemExit(f"govdata audit verify did not report {expected} intact events:\n{out}")
    return {
        "wall_s": round(wall, 3),
        "reported_s": float(m.group(2)) if m else None,
        "checked": checked,
        "cli_cpu_s": round(cli_cpu, 2),
        "postgres_cpu_s": round(pg_cpu, 2),
        # CPU the rest of the machine used meanwhile: noise, should be ~0.
        "other_cpu_s": round(max(machine_cpu - cli_cpu - pg_cpu, 0.0), 2),
        "output": out,
    }


def verify_in_process(
    engine: Engine, *, workers: int = 1, profile: bool = False
) -> tuple[float, int, str | None]:
    sm = make_sessionmaker(engine)
    kwargs: dict[str, Any] = {"workers": workers} if verify_supports_workers() else {}
    prof = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if prof:
        prof.enable()
    with transaction(sm) as session:
        result = verify(session, **kwargs)
    if prof:
        prof.disable()
    elapsed = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"in-process verify failed: {result}")
    report = None
    if prof:
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats("tottime").print_stats(18)
        report = buf.getvalue()
    return elapsed, result.checked, report


def cli_startup(url: str) -> float:
    """Wall time of ``govdata --help``: interpreter start and the CLI's imports."""
    env = dict(os.environ, GOVDATA_DATABASE_URL=url, COLUMNS="200")
    cmd = [str(ROOT / ".venv" / "bin" / "govdata"), "audit", "--help"]
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True, cwd=ROOT)
        times.append(time.perf_counter() - started)
    return min(times)


# --- 3. append cost ------------------------------------------------------------------------


def append_cost(engine: Engine, writes: int, block: int = 250) -> dict[str, Any]:
    """Per-write time of a small ORM write alone and with an audit append in the same transaction.

    Modes run interleaved in blocks of ``block`` writes (rotating their order) so that drift in
    the machine or the database touches all of them alike.
    """
    sm = make_sessionmaker(engine)
    with transaction(sm) as session:
        person = Person(
            username="bench.writer", name="压测账户", password_hash="x", phone="13800000000"
        )
        session.add(person)
        session.flush()
        pid = person.id
    actor = Actor(person_id=pid, name="压测账户")
    counter = 0
    recorders: dict[str, Any] = {"plain": None, "audited": audit.record}

    def one(record: Any) -> float:
        nonlocal counter
        counter += 1
        phone = f"139{counter:08d}"
        started = time.perf_counter()
        with transaction(sm) as session:
            p = session.get(Person, pid)
            assert p is not None
            p.phone = phone
            session.flush()
            if record is not None:
                record(
                    session,
                    actor,
                    "org.person.update",
                    object_type="person",
                    object_id=pid,
                    summary=f"修改账户 {p.username}",
                    change={"phone": phone},
                    department_id=p.department_id,
                )
        return time.perf_counter() - started

    for _ in range(100):  # warm-up: connections, statement caches
        for record in recorders.values():
            one(record)
    samples: dict[str, list[float]] = {mode: [] for mode in recorders}
    modes = list(recorders)
    for b in range(max(1, writes // block)):
        for mode in modes[b % len(modes) :] + modes[: b % len(modes)]:
            samples[mode].extend(one(recorders[mode]) for _ in range(block))

    def stats(xs: list[float]) -> dict[str, float]:
        us = sorted(x * 1e6 for x in xs)
        return {
            "n": len(us),
            "mean_us": round(statistics.fmean(us), 1),
            "median_us": round(statistics.median(us), 1),
            "p99_us": round(us[int(len(us) * 0.99) - 1], 1),
        }

    result: dict[str, Any] = {mode: stats(xs) for mode, xs in samples.items()}
    for mode in modes[1:]:
        result[f"{mode}_adds_median_us"] = round(
            result[mode]["median_us"] - result["plain"]["median_us"], 1
        )
        result[f"{mode}_adds_mean_us"] = round(
            result[mode]["mean_us"] - result["plain"]["mean_us"], 1
        )
    return result


# --- the parallel path of audit.verify --------------------------------------------------


def verify_supports_workers() -> bool:
    return "workers" in inspect.signature(verify).parameters


TAMPERS = {
    "intact": [],
    "content (seq 12345)": ["UPDATE audit_events SET summary = 'x' WHERE seq = 12345"],
    "first event": ["UPDATE audit_events SET actor_name = 'x' WHERE seq = 1"],
    "time (seq 7)": [
        "UPDATE audit_events SET at = (SELECT at FROM audit_events WHERE seq = 5) WHERE seq = 7"
    ],
    "missing (seq 20000)": ["DELETE FROM audit_events WHERE seq = 20000"],
    "prev_hash at range starts": [
        "UPDATE audit_events SET prev_hash = 'x' WHERE seq = 10001",
        "UPDATE audit_events SET prev_hash = 'x' WHERE seq = 15001",
    ],
    "missing range starts": ["DELETE FROM audit_events WHERE seq IN (10001, 15001)"],
    "gap over a range": ["DELETE FROM audit_events WHERE seq BETWEEN 9000 AND 21000"],
    "truncated tail": ["DELETE FROM audit_events WHERE seq > 9000"],
    "head row": ["UPDATE audit_head SET seq = seq + 1"],
}


def check_parallel_equivalent(db: str, n: int = 30_000) -> dict[str, Any]:
    """The parallel path must report exactly what one process reports, intact or tampered.

    Not a test suite, a guard for this benchmark: a fast verify that missed tampering would
    make its timing meaningless. Chains of ``n`` events; 2 and 3 workers split them at 15001
    and 10001/20001, where several tamperings are placed.
    """
    from common import drop_pg_database

    out: dict[str, Any] = {}
    for name, statements in TAMPERS.items():
        url = fresh_database_url(db, "audit_tamper", "govdata_bench_tamper")
        engine = make_engine(url)
        upgrade(engine)
        generate(engine, n, quiet=True)
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
        sm = make_sessionmaker(engine)
        results = []
        for workers in (1, 2, 3):
            with transaction(sm) as session:
                results.append(verify(session, workers=workers, parallel_from=0))
        engine.dispose()
        same = all(r == results[0] for r in results)
        detected = all(r.ok == (name == "intact") for r in results)
        out[name] = {"same": same, "detected": detected, "results": [repr(r) for r in results]}
        print(f"  {name:<28} {'same' if same else 'DIFFERENT'}: {results[0]}", flush=True)
        if not same:
            for workers, r in zip((2, 3), results[1:], strict=True):
                print(f"  {'':<28} workers={workers}: {r}", flush=True)
        if not detected:
            raise SystemExit(f"verify missed the tampering {name!r}: {results}")
    if db == "postgresql":
        drop_pg_database("govdata_bench_tamper")
    return out


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--verify-runs", type=int, default=3)
    parser.add_argument("--writes", type=int, default=2000, help="writes per mode")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process verify")
    parser.add_argument(
        "--check-parallel",
        action="store_true",
        help="check on tampered 30,000-event chains that verify's parallel path reports "
        "exactly what one process reports",
    )
    parser.add_argument(
        "--wait-quiet", type=float, default=300, help="wait up to N s for an idle machine"
    )
    args = parser.parse_args()

    url = fresh_database_url(args.db, "audit_chain")
    engine = make_engine(url)
    upgrade(engine)

    print(f"generating {args.events:,} chained events into {args.db} ...", flush=True)
    started = time.perf_counter()
    last_seq, _ = generate(engine, args.events)
    gen_s = time.perf_counter() - started
    print(f"  generated and inserted in {gen_s:.1f} s (head seq {last_seq})", flush=True)

    # The CLI must see exactly the generated chain; the format check appends one event after.
    busy_before = wait_for_quiet(args.wait_quiet)
    print("govdata audit verify (subprocess):", flush=True)
    cli_runs = []
    for i in range(args.verify_runs):
        r = verify_cli(url, args.events)
        cli_runs.append(r)
        print(
            f"  run {i + 1}: wall {r['wall_s']:.2f} s, CPU {r['cli_cpu_s']:.2f} s, "
            f"pg CPU {r['postgres_cpu_s']:.2f} s, other CPU {r['other_cpu_s']:.2f} s "
            f"| {r['output']}",
            flush=True,
        )
    startup = cli_startup(url)
    print(f"  `govdata audit --help` (start-up and imports only): {startup:.2f} s")

    in_proc_s, checked, report = verify_in_process(engine)
    print(f"audit.verify() in-process, one process: {in_proc_s:.2f} s for {checked:,}", flush=True)
    cores = os.cpu_count() or 1
    par_s = None
    if verify_supports_workers():
        par_s, _, _ = verify_in_process(engine, workers=cores)
        print(f"audit.verify(workers={cores}) in-process: {par_s:.2f} s", flush=True)
    prof_s = None
    if args.profile:
        prof_s, _, report = verify_in_process(engine, profile=True)
        print(f"audit.verify() under cProfile, one process: {prof_s:.2f} s\n{report}", flush=True)

    check_format(engine)
    print(f"append cost: {args.writes} writes per mode, interleaved blocks ...", flush=True)
    meter = CpuMeter()
    meter.start()
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    pg0 = postgres_cpu_seconds()
    cost = append_cost(engine, args.writes)
    pg_cpu = postgres_cpu_seconds() - pg0
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    machine_cpu, _ = meter.stop()
    own = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    cost["bench_cpu_s"] = round(own, 2)
    cost["postgres_cpu_s"] = round(pg_cpu, 2)
    # CPU used meanwhile by everything else: noise, should be ~0.
    cost["other_cpu_s"] = round(max(machine_cpu - own - pg_cpu, 0.0), 2)
    with transaction(make_sessionmaker(engine)) as session:  # every append extended the chain
        after = verify(session, **({"workers": cores} if verify_supports_workers() else {}))
    print(f"  chain after the appends: {after}", flush=True)
    if not after.ok:
        raise SystemExit("the appends broke the chain")
    equivalence = None
    if args.check_parallel and verify_supports_workers():
        print("parallel and one-process verify on tampered 30,000-event chains:")
        equivalence = check_parallel_equivalent(args.db)
    engine.dispose()

    walls = [r["wall_s"] for r in cli_runs]
    result = {
        "benchmark": "audit_chain",
        "db": args.db,
        "database": pg_server_version(url) if args.db == "postgresql" else "sqlite (WAL)",
        "events": args.events,
        "machine": machine_info(),
        "machine_busy_before_verify": round(busy_before, 3),
        "generate_s": round(gen_s, 1),
        "cli_verify_runs": cli_runs,
        "cli_verify_wall_median_s": statistics.median(walls),
        "cli_verify_wall_best_s": min(walls),
        "cli_startup_s": round(startup, 3),
        "in_process_verify_s": round(in_proc_s, 3),
        "in_process_us_per_event": round(in_proc_s / checked * 1e6, 2),
        "in_process_parallel_verify_s": round(par_s, 3) if par_s is not None else None,
        "in_process_parallel_workers": cores if par_s is not None else None,
        "target_verify_le_5s": statistics.median(walls) <= 5.0,
        "append_cost": cost,
        "parallel_equivalence": equivalence,
        "profile": report,
    }
    path = write_json(f"audit_chain_{args.db}.json", result)

    print()
    print(f"{args.db}: {args.events:,} events")
    print(
        f"  govdata audit verify, wall (median of {len(walls)}): {statistics.median(walls):.2f} s"
    )
    print(f"  govdata audit verify, wall (best):            {min(walls):.2f} s")
    print(f"  audit.verify() in-process, one process:      {in_proc_s:.2f} s")
    if par_s is not None:
        print(f"  audit.verify(workers={cores}) in-process:         {par_s:.2f} s")
    verdict = "PASS" if result["target_verify_le_5s"] else "FAIL"
    print(f"  target <= 5 s (CLI wall, median): {verdict}")
    print(f"  {'write':<14} {'mean us':>9} {'median us':>10} {'p99 us':>9}")
    for mode in [m for m in cost if isinstance(cost[m], dict)]:
        s = cost[mode]
        print(f"  {mode:<14} {s['mean_us']:>9.1f} {s['median_us']:>10.1f} {s['p99_us']:>9.1f}")
    for mode in [m for m in cost if isinstance(cost[m], dict) and m != "plain"]:
        print(
            f"  {mode} adds {cost[f'{mode}_adds_median_us']:.1f} us (median), "
            f"{cost[f'{mode}_adds_mean_us']:.1f} us (mean) per write"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
