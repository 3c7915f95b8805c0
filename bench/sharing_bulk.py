"""Issue 13 §4: bulk delivery of 1,000,000 granted rows, against the floor of PostgreSQL's
``COPY (SELECT granted columns …) TO STDOUT`` of the same rows.

A person pool of ``--rows`` rows (generated in PostgreSQL with ``generate_series``) is granted
(three of its items) to a department system. ``govdata serve`` runs as a subprocess; each round
streams, one after the other and read to the end by this process:

- ``copy``: ``COPY (SELECT <granted columns> FROM <pool> ORDER BY <key>, _row) TO STDOUT WITH
  (FORMAT csv)`` straight from PostgreSQL (psycopg, the floor: no HTTP, no checks);
- ``csv``: ``GET /api/v1/sharing/data/{grant}/export.csv`` (token, grant, quota, access record,
  formula neutralizing, HTTP);
- ``parquet``: ``GET …/export.parquet``.

Throughput is rows/s; the target is csv ≥ 0.5× copy. The server's resident memory is sampled
every 20 ms during each stream (peak RSS over its RSS before the round). Nothing asserts a time.

    .venv/bin/python bench/sharing_bulk.py [--rows 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from common import OUT_DIR, ROOT, drop_pg_database, fresh_database_url

sys.path.insert(0, str(ROOT))  # the tests' sharing city
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import select, text

from govdata.core.db import make_engine, make_sessionmaker, transaction
from govdata.core.migrate import upgrade
from govdata.sharing.sources import data_table
from tests.sharing.helpers import build_share_city, grant_to_yz
from tests.world import build_world

PG_DB = "govdata_bench_bulk"
ITEMS = ["公民身份号码", "姓名", "出生日期"]


def setup(url: str, rows: int) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as s:
        world = build_world(s)
        sc = build_share_city(s, world)
        grant = grant_to_yz(s, world, sc, sc.person_source, ITEMS)
        table = data_table(sc.person_source)
        assert table is not None
        cols = {name: sc.person_source.item(name) for name in ITEMS}
        key, name, born = (cols[n].column for n in ITEMS)  # type: ignore[union-attr]
        load_id = s.scalar(select(table.c["_load_id"]).limit(1))
        s.execute(
            text(
                f'INSERT INTO "{table.name}" (_row, _load_id, {key}, {name}, {born}) '
                "SELECT 1000 + g, :load, '5002' || lpad(g::text, 14, '0'), '居民' || g, "
                "date '1950-01-01' + (g % 20000) FROM generate_series(1, :n) AS g"
            ),
            {"load": load_id, "n": rows},
        )
        copy_sql = (
            f'COPY (SELECT {key}, {name}, {born} FROM "{table.name}" '
            f"ORDER BY {key}, _row) TO STDOUT WITH (FORMAT csv)"
        )
        out = {"token": sc.token, "grant": grant.id, "copy_sql": copy_sql, "table": table.name}
    with engine.connect() as conn:
        conn.execute(text(f'ANALYZE "{out["table"]}"'))
        conn.commit()
    engine.dispose()
    return out


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Sampler:
    """The server's peak RSS while a stream runs (every 20 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.stop = pid, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, _rss_kib(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def stream_copy(url: str, sql: str) -> tuple[float, int, int]:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    started = time.perf_counter()
    n, size = 0, 0
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur, cur.copy(sql) as copy:
        for block in copy:
            size += len(block)
            n += bytes(block).count(b"\n")
    return time.perf_counter() - started, n, size


def stream_http(port: int, path: str, token: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    assert r.status == 200, r.read()[:500]
    size, newlines, head = 0, 0, b""
    while chunk := r.read(1 << 20):
        if not head:
            head = chunk[:4]
        size += len(chunk)
        newlines += chunk.count(b"\n")
    conn.close()
    return time.perf_counter() - started, size, head + newlines.to_bytes(8, "big")


def serve(url: str, var: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "GOVDATA_DATABASE_URL": url,
        "GOVDATA_VAR_DIR": str(var),
        "GOVDATA_JOBS": "inline",
        "GOVDATA_RATE_LIMIT": "0",
    }
    cmd = [sys.executable, "-m", "govdata.cli", "serve", "--port", str(port), "--no-worker"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    url = fresh_database_url("postgresql", "sharing_bulk", pg_database=PG_DB)
    t0 = time.perf_counter()
    info = setup(url, args.rows)
    print(f"set-up: {args.rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    proc, port = serve(url, OUT_DIR / "sharing_bulk_var")
    results: dict[str, list[dict[str, Any]]] = {"copy": [], "csv": [], "parquet": []}
    base = f"/api/v1/sharing/data/{info['grant']}/export"
    try:
        stream_http(port, base + ".csv?purpose=household-check", info["token"])  # warm-up
        for r in range(args.rounds):
            seconds, rows, size = stream_copy(url, info["copy_sql"])
            results["copy"].append({"seconds": seconds, "rows": rows, "bytes": size})
            for fmt in ("csv", "parquet"):
                before = _rss_kib(proc.pid)
                with Sampler(proc.pid) as sampler:
                    seconds, size, tail = stream_http(
                        port, f"{base}.{fmt}?purpose=household-check", info["token"]
                    )
                entry = {
                    "seconds": seconds,
                    "bytes": size,
                    "rss_before_mib": before / 1024,
                    "rss_peak_mib": sampler.peak / 1024,
                }
                if fmt == "csv":
                    assert tail[:3] == b"\xef\xbb\xbf"
                    entry["rows"] = int.from_bytes(tail[4:], "big") - 1  # minus the header
                results[fmt].append(entry)
            line = ", ".join(
                f"{k} {results[k][-1]['seconds']:.2f} s" for k in ("copy", "csv", "parquet")
            )
            print(f"round {r + 1}: {line}", flush=True)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    summary: dict[str, Any] = {"rows": args.rows, "rounds": args.rounds}
    for k, runs in results.items():
        med = statistics.median(x["seconds"] for x in runs)
        summary[k] = {
            "median_seconds": round(med, 3),
            "rows_per_second": round(args.rows / med),
            "mib": round(runs[0]["bytes"] / 2**20, 1),
        }
        if k != "copy":
            summary[k]["rss_peak_over_before_mib"] = round(
                max(x["rss_peak_mib"] - x["rss_before_mib"] for x in runs), 1
            )
            summary[k]["rss_peak_mib"] = round(max(x["rss_peak_mib"] for x in runs), 1)
    summary["csv_vs_copy"] = round(
        summary["copy"]["median_seconds"] / summary["csv"]["median_seconds"], 2
    )
    summary["parquet_vs_copy"] = round(
        summary["copy"]["median_seconds"] / summary["parquet"]["median_seconds"], 2
    )
    summary["csv_rows_seen"] = [x.get("rows") for x in results["csv"]]
    summary["load_average"] = os.getloadavg()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "sharing_bulk.json").write_text(
        json.dumps({"summary": summary, "runs": results}, indent=2, ensure_ascii=False)
    )
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if not args.keep:
        drop_pg_database(PG_DB)


if __name__ == "__main__":
    main()
