"""Loading a persons pool (issue 5): the load pipeline against a raw COPY and a row-by-row loader.

    .venv/bin/python bench/pool_load.py [--rows 10000000] [--sqlite-rows 1000000]
                                        [--insert-rows 200000] [--only copy,pipeline-pg,...]
                                        [--profile] [--wait-quiet 300] [--keep]

1. Generates ``bench/out/persons_<rows>.csv`` (``_pooldata.persons_csv``: 20 info items of
   types C, D, I, N, L keyed by 公民身份号码, ~0.1 % bad rows, ~0.2 % repeated keys, values to
   clean) unless it is there from an earlier run.
2. Creates a fresh, migrated database (PostgreSQL ``govdata_bench_pool``; SQLite
   ``bench/out/pool_load.db``) with one department and publishes a persons resource with the
   file's 20 info items through the catalog services (create, submit, approve, publish: a pool
   is created for published resources only, Art. 12, 17).
3. Runs each contender **in its own process**, one after the other, and records its wall time
   and the process's peak RSS (``VmHWM``; the PostgreSQL server's own memory is not counted):

   ``pipeline-pg``      ``loading.create_load`` (policy quarantine, full load) and
                        ``tasks.run_load``: read in batches, clean and validate (Polars), binary
                        COPY to staging in a thread of its own (pgpq), repeated keys tracked
                        while writing and removed by one DELETE, index, install, quality,
                        audit, the after-load refresh of base and thematic databases; to the
                        commit.
   ``copy``             the physical floor: ``COPY raw FROM STDIN (FORMAT csv, HEADER)`` of the
                        same file through psycopg 3 into a table of 20 TEXT columns (no
                        validation, no types, no index), in one transaction.
   ``insert``           a row-by-row loader as CKAN's DataPusher does it: Python's csv module,
                        each value converted to its type in Python, one ``INSERT`` per row
                        (psycopg 3, prepared after 5 executions), a commit per 10,000 rows,
                        rows that do not convert skipped; on the first ``--insert-rows`` rows
                        only, its time for the whole file extrapolated from its rate.
   ``pipeline-sqlite``  the pipeline into the SQLite file, on the file's first
                        ``--sqlite-rows`` rows (default 1,000,000; ``--sqlite-rows 0`` for the
                        whole file).

4. Prints the table (rows, seconds, rows/s, throughput against the COPY floor, peak RSS) and
   PASS/FAIL against the issue's targets: the pipeline ≥ 50 % of the COPY floor's throughput,
   ≥ 20× the row-by-row loader, peak RSS ≤ 2 GiB. ``--profile`` runs cProfile over the
   pipeline (on the same file; use a smaller ``--rows``) and prints the top functions.

The pipeline's stages are timed by wrapping ``reading.batches`` (time spent producing batches),
``validation.check_batch``, ``duplicates.RepeatedKeys.keep_last``, the writers (on PostgreSQL
the COPY thread's time overlaps the others; "wait for the COPY thread" is what the load waited
for it), ``loading.install.remove_repeated``, ``loading.install.key_index``, ``quality.measure``
and the problem and quarantine inserts. JSON goes to
``bench/out/pool_load.json`` (``pool_load_<rows>_<contenders>.json`` for other runs). Each
contender's CPU time is recorded apart: its own process, its PostgreSQL backends (read before
they exit) and everything else on the machine meanwhile (other people's work: 2 shared cores).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, select

from _pooldata import (
    PERSON_ITEMS,
    expected_counts,
    persons_csv,
    pids_cpu_seconds,
    postmaster_pid,
    server_cpu_seconds,
    watch_backends,
)
from common import (
    OUT_DIR,
    CpuMeter,
    drop_pg_database,
    fresh_database_url,
    machine_info,
    pg_server_version,
    wait_for_quiet,
    write_json,
)

SCRIPT = Path(__file__).resolve()
POSTMASTER: list[int | None] = [None]  # the local server's postmaster, for its CPU time
PG_DATABASE = "govdata_bench_pool"
DEPARTMENT_CODE = "500000-007"
RESOURCE_NAME = "常住人口基本信息"
INSERT_COMMIT_EVERY = 10_000
CONTENDERS = ("copy", "pipeline-pg", "insert", "pipeline-sqlite")


def _status_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process in MiB (not ``ru_maxrss``, which
    Linux carries over ``exec`` from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- databases ---------------------------------------------------------------------------------


def setup_database(db: str) -> str:
    """A fresh, migrated database with one department and the published persons resource."""
    from govdata.catalog import review, service
    from govdata.catalog.models import ReviewEntry
    from govdata.catalog.schemas import ResourceIn
    from govdata.core.db import make_engine, make_sessionmaker, transaction
    from govdata.core.migrate import upgrade
    from govdata.org.demo import BOOTSTRAP
    from govdata.org.models import Department, Region

    url = fresh_database_url(db, "pool_load", pg_database=PG_DATABASE)
    engine = make_engine(url)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        city = Region(code="500000", name="重庆市", kind="city")
        session.add(city)
        session.flush()
        dept = Department(code=DEPARTMENT_CODE, name="市公安局", region_id=city.id)
        session.add(dept)
        session.flush()
        data = ResourceIn.model_validate(
            {
                "category": "basic",
                "class_path": "人口/户籍",
                "name": RESOURCE_NAME,
                "abstract": "本市常住人口的身份、户籍、居住、联系和家庭信息。",
                "format": "database",
                "share_type": "unconditional",
                "open_type": "none",
                "legal_basis": "《中华人民共和国居民身份证法》第六条",
                "update_cycle": "monthly",
                "security_level": "sensitive",
                "subject_kind": "person",
                "items": [
                    {
                        "name": n,
                        "data_type": t,
                        "length": length,
                        "is_subject_key": n == "公民身份号码",
                    }
                    for n, t, length in PERSON_ITEMS
                ],
            }
        )
        service.create_resource(session, BOOTSTRAP, dept.id, data)
        submission = review.submit(session, BOOTSTRAP, dept.id)
        for entry in session.scalars(
            select(ReviewEntry).where(ReviewEntry.submission_id == submission.id)
        ):
            review.decide(session, BOOTSTRAP, entry.id, approve=True)
        review.publish(session, BOOTSTRAP, note="bench")
    engine.dispose()
    return url


# --- children: one contender per process -------------------------------------------------------


class Stages:
    """Seconds spent in wrapped functions (and in producing the reader's batches)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - started
                self.calls[label] += 1

        setattr(owner, name, timed)

    def wrap_generator(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        stages = self

        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            it = iter(original(*args, **kwargs))
            while True:
                started = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    stages.spent[label] += time.perf_counter() - started
                    return
                stages.spent[label] += time.perf_counter() - started
                stages.calls[label] += 1
                yield item

        setattr(owner, name, timed)

    def report(self) -> dict[str, Any]:
        return {k: {"s": round(v, 2), "calls": self.calls[k]} for k, v in self.spent.items()}


def child_pipeline(url: str, csv_path: Path, profile: bool) -> dict[str, Any]:
    from govdata.aggregation import (
        duplicates,
        loading,
        quality,
        reading,
        tasks,
        validation,
        writing,
    )
    from govdata.aggregation.models import BadRowPolicy, Load, LoadMode
    from govdata.catalog.models import Resource
    from govdata.core.db import make_engine, make_sessionmaker, transaction
    from govdata.org.demo import BOOTSTRAP

    stages = Stages()
    stages.wrap_generator(reading, "batches", "read CSV batches (Polars scan)")
    stages.wrap(validation, "check_batch", "clean + validate (Polars)")
    stages.wrap(duplicates.RepeatedKeys, "keep_last", "repeated keys: batch + hash probe")
    # On PostgreSQL these two run in the COPY thread, overlapping the ones above.
    stages.wrap(writing.CopyWriter, "_send", "COPY thread: encode (pgpq) + send")
    stages.wrap(writing.SqliteWriter, "write", "write staging (executemany)")
    stages.wrap(writing.CopyWriter, "_wait", "wait for the COPY thread")
    stages.wrap(loading.pipeline, "_store_problems", "store problems")
    stages.wrap(loading.pipeline, "_quarantine", "store quarantined rows")
    stages.wrap(loading.install, "remove_repeated", "remove repeated keys (DELETE)")
    stages.wrap(loading.install, "key_index", "unique index on the key")
    stages.wrap(loading.install, "install", "install (index+quality+audit)")
    stages.wrap(quality, "measure", "quality.measure")
    stages.wrap(tasks, "after_load", "after_load (base, thematic)")

    engine = make_engine(url)
    backends = watch_backends(engine)
    factory = make_sessionmaker(engine)
    with factory() as session:
        code = session.scalars(select(Resource.code)).one()
    rss_before = _status_mib("VmRSS")
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with transaction(factory) as session:
        load = loading.create_load(
            session,
            BOOTSTRAP,
            resource_code=code,
            path=csv_path,
            filename=csv_path.name,
            policy=BadRowPolicy.QUARANTINE,
            mode=LoadMode.REPLACE,
            channel="cli",
        )
        load_id = load.id
    done = tasks.run_load(factory, load_id)
    seconds = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    out: dict[str, Any] = {}
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(40)
        out["profile_cumulative"] = buf.getvalue()
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(25)
        out["profile_tottime"] = buf.getvalue()
    with factory() as session:
        final = session.get(Load, load_id)
        assert final is not None
        out["load"] = {
            "status": final.status,
            "error": final.error_message,
            "rows_read": final.rows_read,
            "rows_bad": final.rows_bad,
            "rows_loaded": final.rows_loaded,
            "duplicates_removed": final.duplicates_removed,
            "problems_recorded": final.problems_recorded,
            "quality": final.quality,
        }
    backend_cpu = pids_cpu_seconds(backends)
    engine.dispose()
    return {
        "contender": "pipeline",
        "rows": done.rows_read,
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1),
        "rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(_status_mib("VmHWM"), 1),
        "backend_cpu_s": round(backend_cpu, 1),
        "stages": stages.report(),
        **out,
    }


def child_copy(url: str, csv_path: Path) -> dict[str, Any]:
    import psycopg

    names = ", ".join(f"c{i + 1} text" for i in range(len(PERSON_ITEMS)))
    rss_before = _status_mib("VmRSS")
    started = time.perf_counter()
    with psycopg.connect(_psycopg_url(url)) as conn:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_raw_persons")
            cur.execute(f"CREATE TABLE bench_raw_persons ({names})")
            with (
                cur.copy("COPY bench_raw_persons FROM STDIN (FORMAT csv, HEADER)") as copy,
                csv_path.open("rb") as f,
            ):
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
            rows = cur.rowcount
        conn.commit()
        seconds = time.perf_counter() - started
        backend_cpu = pids_cpu_seconds([conn.info.backend_pid])
    with psycopg.connect(_psycopg_url(url), autocommit=True) as conn:
        conn.execute("DROP TABLE bench_raw_persons")
    return {
        "contender": "copy",
        "rows": rows,
        "seconds": round(seconds, 2),
        "backend_cpu_s": round(backend_cpu, 1),
        "rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(_status_mib("VmHWM"), 1),
    }


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日")
_BOOLS = {"true": True, "1": True, "是": True, "false": False, "0": False, "否": False}


def _convert(data_type: str, raw: str) -> Any:
    """A value converted the way a generic loader converts it (no check digits, no specs)."""
    value = raw.strip()
    if value == "":
        return None
    if data_type == "I":
        return int(value)
    if data_type == "N":
        try:
            return Decimal(value)
        except InvalidOperation:
            raise ValueError(value) from None
    if data_type == "D":
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(value, fmt).date()
            except ValueError:
                continue
        raise ValueError(value)
    if data_type == "L":
        return _BOOLS[value.lower()]
    return value


def _sql_type(data_type: str, length: int | None) -> str:
    return {
        "C": f"varchar({length})" if length else "text",
        "D": "date",
        "I": "bigint",
        "N": "numeric(38, 10)",
        "L": "boolean",
    }[data_type]


def child_insert(url: str, csv_path: Path, limit: int) -> dict[str, Any]:
    import psycopg

    columns = ", ".join(f"c{i + 1} {_sql_type(t, n)}" for i, (_, t, n) in enumerate(PERSON_ITEMS))
    marks = ", ".join("%s" for _ in PERSON_ITEMS)
    types = [t for _, t, _ in PERSON_ITEMS]
    rss_before = _status_mib("VmRSS")
    inserted = skipped = 0
    started = time.perf_counter()
    with psycopg.connect(_psycopg_url(url)) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_row_persons")
        conn.execute(f"CREATE TABLE bench_row_persons ({columns})")
        conn.commit()
        sql = f"INSERT INTO bench_row_persons VALUES ({marks})"
        with csv_path.open(encoding="utf-8", newline="") as f, conn.cursor() as cur:
            reader = csv.reader(f)
            next(reader)
            for n, row in enumerate(reader):
                if n >= limit:
                    break
                try:
                    values = [_convert(t, v) for t, v in zip(types, row, strict=True)]
                except (ValueError, KeyError):
                    skipped += 1
                    continue
                try:
                    cur.execute(sql, values)
                except psycopg.errors.DataError:  # e.g. a value too long for its column
                    conn.rollback()
                    skipped += 1
                    continue
                inserted += 1
                if inserted % INSERT_COMMIT_EVERY == 0:
                    conn.commit()
        conn.commit()
        seconds = time.perf_counter() - started
        backend_cpu = pids_cpu_seconds([conn.info.backend_pid])
    with psycopg.connect(_psycopg_url(url), autocommit=True) as conn:
        conn.execute("DROP TABLE bench_row_persons")
    return {
        "contender": "insert",
        "rows": inserted + skipped,
        "inserted": inserted,
        "skipped": skipped,
        "seconds": round(seconds, 2),
        "backend_cpu_s": round(backend_cpu, 1),
        "rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(_status_mib("VmHWM"), 1),
    }


def run_child(kind: str, url: str, csv_path: Path, *extra: str) -> dict[str, Any]:
    cmd = [sys.executable, str(SCRIPT), "--child", kind, "--url", url, "--path", str(csv_path)]
    cmd += list(extra)
    pg0 = server_cpu_seconds(POSTMASTER[0])
    meter = CpuMeter()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    meter.start()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    busy_s, _ = meter.stop()
    time.sleep(0.5)  # its backends' exit, so that the server's reading no longer holds them
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg_cpu = server_cpu_seconds(POSTMASTER[0]) - pg0
    own_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_cpu_s"] = round(own_cpu, 1)
    pg_cpu += result.get("backend_cpu_s", 0.0)  # its backends, read before they exited
    if url.startswith("postgresql"):
        result["postgres_cpu_s"] = round(pg_cpu, 1)
    # CPU the rest of the machine used meanwhile (other people's test suites): 2 cores shared.
    result["other_cpu_s"] = round(
        busy_s - own_cpu - (pg_cpu if url.startswith("postgresql") else 0), 1
    )
    print(
        f"  {kind:<16} {result['rows']:>11,} rows {result['seconds']:9.2f} s"
        f"   peak RSS {result['peak_rss_mib']:7.1f} MiB",
        flush=True,
    )
    for label, v in result.get("stages", {}).items():
        print(f"      {label:<40} {v['s']:8.2f} s  ({v['calls']} calls)", flush=True)
    print(
        f"      CPU: this process {result['process_cpu_s']} s, PostgreSQL "
        f"{result.get('postgres_cpu_s', '-')} s, other work {result['other_cpu_s']} s",
        flush=True,
    )
    if "load" in result:
        print(f"      load: {json.dumps(result['load'], ensure_ascii=False)}", flush=True)
    for key in ("profile_tottime", "profile_cumulative"):
        if key in result:
            print(result[key], flush=True)
    return result


# --- main --------------------------------------------------------------------------------------


def prefix_file(source: Path, rows: int) -> Path:
    """The first ``rows`` data rows of ``source`` as a file of their own (cached)."""
    target = OUT_DIR / f"persons_{rows}.csv"
    if target.exists():
        return target
    tmp = target.with_suffix(".part")
    with source.open("rb") as src, tmp.open("wb") as dst:
        for n, line in enumerate(src):
            if n > rows:
                break
            dst.write(line)
    tmp.rename(target)
    return target


def verdicts(results: dict[str, Any], rows: int) -> list[dict[str, Any]]:
    table: list[dict[str, Any]] = []
    copy_rate = None
    if "copy" in results:
        copy_rate = results["copy"]["rows"] / results["copy"]["seconds"]
    for kind in CONTENDERS:
        r = results.get(kind)
        if r is None:
            continue
        rate = r["rows"] / r["seconds"]
        row = {
            "contender": kind,
            "rows": r["rows"],
            "seconds": r["seconds"],
            "rows_per_s": round(rate),
            # Against PostgreSQL's COPY only for PostgreSQL contenders.
            "vs_copy": round(rate / copy_rate, 3) if copy_rate and "sqlite" not in kind else None,
            "peak_rss_mib": r["peak_rss_mib"],
        }
        if kind == "insert":
            row["extrapolated_s"] = round(rows / rate, 1)
        table.append(row)
    return table


def print_table(table: list[dict[str, Any]], rows: int) -> None:
    print()
    print(
        f"{'contender':<18}{'rows':>12}{'seconds':>10}{'rows/s':>10}{'vs COPY':>9}"
        f"{'peak RSS MiB':>14}"
    )
    for r in table:
        secs = f"{r['seconds']:.1f}"
        vs = f"{r['vs_copy']:.2f}" if r["vs_copy"] is not None else "—"
        print(
            f"{r['contender']:<18}{r['rows']:>12,}{secs:>10}{r['rows_per_s']:>10,}{vs:>9}"
            f"{r['peak_rss_mib']:>14.0f}"
        )
        if "extrapolated_s" in r:
            print(f"{'':<18}{rows:>12,}{r['extrapolated_s']:>10.0f}  (extrapolated from its rate)")


def targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The issue's targets for the pipeline on PostgreSQL."""
    out: list[tuple[str, str, str]] = []
    for kind in ("pipeline-pg",):
        pipe = results.get(kind)
        if pipe is None:
            continue
        rate = pipe["rows"] / pipe["seconds"]
        if "copy" in results:
            floor = results["copy"]["rows"] / results["copy"]["seconds"]
            ratio = rate / floor
            verdict = "PASS" if ratio >= 0.5 else "FAIL"
            out.append((f"{kind}: throughput ≥ 50 % of raw COPY", f"{ratio:.1%}", verdict))
        if "insert" in results:
            ratio = rate / (results["insert"]["rows"] / results["insert"]["seconds"])
            verdict = "PASS" if ratio >= 20 else "FAIL"
            out.append((f"{kind}: ≥ 20× the row-by-row loader", f"{ratio:.1f}×", verdict))
        peak = pipe["peak_rss_mib"]
        verdict = "PASS" if peak <= 2048 else "FAIL"
        out.append((f"{kind}: peak RSS ≤ 2 GiB", f"{peak:.0f} MiB", verdict))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--sqlite-rows", type=int, default=1_000_000)
    parser.add_argument("--insert-rows", type=int, default=200_000)
    parser.add_argument("--only", default=",".join(CONTENDERS))
    parser.add_argument("--profile", action="store_true", help="cProfile the pipeline")
    parser.add_argument("--wait-quiet", type=float, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.child == "pipeline":
            measured = child_pipeline(args.url, args.path, args.profile)
        elif args.child == "copy":
            measured = child_copy(args.url, args.path)
        else:
            measured = child_insert(args.url, args.path, args.limit)
        print(json.dumps(measured, ensure_ascii=False))
        return

    only = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = set(only) - set(CONTENDERS)
    if unknown:
        raise SystemExit(f"unknown contenders {sorted(unknown)}; choose from {CONTENDERS}")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    csv_path = OUT_DIR / f"persons_{args.rows}.csv"
    print(f"persons file {csv_path.name} ...", flush=True)
    gen_s = persons_csv(csv_path, args.rows)
    size = csv_path.stat().st_size
    print(f"  {size / 1e9:.2f} GB" + (f", generated in {gen_s:.1f} s" if gen_s else " (cached)"))

    busy = wait_for_quiet(args.wait_quiet)
    result: dict[str, Any] = {
        "benchmark": "pool_load",
        "machine": machine_info(),
        "machine_busy_before": round(busy, 3),
        "rows": args.rows,
        "file": csv_path.name,
        "file_bytes": size,
        "expected": expected_counts(args.rows),
        "contenders": {},
    }
    results: dict[str, Any] = result["contenders"]
    pg = [c for c in only if not c.endswith("sqlite")]
    if pg:
        print("postgresql: fresh database, published persons resource ...", flush=True)
        url = setup_database("postgresql")
        result["postgresql"] = pg_server_version(url)
        POSTMASTER[0] = postmaster_pid(url)
        # The floor first: the pipeline then runs on a server whose caches hold the file's
        # pages no more than the floor's did.
        if "copy" in pg:
            results["copy"] = run_child("copy", url, csv_path)
        profile = ["--profile"] if args.profile else []
        if "pipeline-pg" in pg:
            results["pipeline-pg"] = run_child("pipeline", url, csv_path, *profile)
        if "insert" in pg:
            results["insert"] = run_child(
                "insert", url, csv_path, "--limit", str(min(args.insert_rows, args.rows))
            )
        if not args.keep:
            drop_pg_database(PG_DATABASE)
    for kind in ("pipeline-sqlite",):
        if kind not in only:
            continue
        sqlite_rows = args.sqlite_rows or args.rows
        path = csv_path if sqlite_rows >= args.rows else prefix_file(csv_path, sqlite_rows)
        print(f"sqlite: fresh database, {sqlite_rows:,} rows ...", flush=True)
        url = setup_database("sqlite")
        results[kind] = run_child("pipeline", url, path)
        results[kind]["db_bytes"] = Path(make_url(url).database or "").stat().st_size
        if not args.keep:
            for suffix in ("", "-wal", "-shm"):
                Path(str(make_url(url).database) + suffix).unlink(missing_ok=True)
    result["table"] = verdicts(results, args.rows)
    result["targets"] = targets(results)
    print_table(result["table"], args.rows)
    for name, value, verdict in result["targets"]:
        print(f"  {verdict}  {name}: {value}")
    name = "pool_load" + ("" if args.rows == 10_000_000 else f"_{args.rows}")
    name += "" if only == list(CONTENDERS) else "_" + "-".join(only)
    name += ".json"
    path = write_json(name, result)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
