"""Issue 14 §2: a 1,000,000-row open-data release downloaded as CSV through the real route,
against the floor of PostgreSQL's ``COPY (SELECT … ORDER BY _row) TO STDOUT`` of the same rows.

A published release of the open city's 户籍人口基本信息 (tests.opendata) is written with
``generate_series`` into its table ``odr_<id>``: the two open items and one item closed since
(never sent). ``govdata serve`` runs as a subprocess; the demo citizen (checked identity)
signs in; each round streams, one after the other, read to the end by this process:

- ``copy``: ``COPY (SELECT c0, c1 FROM odr_<id> ORDER BY _row) TO STDOUT WITH (FORMAT csv)``
  straight from PostgreSQL (psycopg, the floor: no HTTP, no checks, no neutralizing);
- ``csv``: ``GET /open/datasets/{code}/download.csv`` (session, identity, entitlement, access
  record and count committed first, formula neutralizing in the SELECT, HTTP);
- ``json`` (with ``--json``): ``…/download.json``, the batched path (key-range reads, Python).

Throughput is rows/s; the target is csv ≥ 0.5× copy. The server's resident memory is sampled
every 20 ms during each stream. Nothing asserts a time.

    .venv/bin/python bench/opendata_download.py [--rows 1000000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from common import OUT_DIR, ROOT, drop_pg_database, fresh_database_url
from sharing_bulk import Sampler, _rss_kib, serve, stream_copy

sys.path.insert(0, str(ROOT))  # the tests' open city
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import text

from govdata.core.db import make_engine, make_sessionmaker, transaction, utcnow
from govdata.core.migrate import upgrade
from govdata.opendata import store
from govdata.opendata.models import Release, ReleaseStatus
from tests.opendata.helpers import build_open_city
from tests.world import PASSWORD, build_world

PG_DB = "govdata_bench_open_download"


def setup(url: str, rows: int) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as s:
        world = build_world(s)
        oc = build_open_city(s, world)
        release = Release(
            dataset_id=oc.person.id,
            version=1,
            status=ReleaseStatus.PUBLISHED,
            columns=[
                store.released_column(0, "公民身份号码", "C"),
                store.released_column(1, "姓名", "C"),
                store.released_column(2, "出生日期", "C"),  # closed since: never sent
            ],
            row_count=rows,
            published_at=utcnow(),
        )
        s.add(release)
        s.flush()
        table = store.create_table(s.connection(), release)
        s.execute(
            text(
                f'INSERT INTO "{table.name}" (_row, c0, c1, c2) '
                "SELECT g, '5002***' || lpad((g % 10000)::text, 4, '0'), '居民' || g, "
                "(date '1950-01-01' + (g % 20000))::text FROM generate_series(1, :n) AS g"
            ),
            {"n": rows},
        )
        oc.person.current_release_id = release.id
        out = {
            "code": oc.person.code,
            "table": table.name,
            "copy_sql": f'COPY (SELECT c0, c1 FROM "{table.name}" ORDER BY _row) '
            "TO STDOUT WITH (FORMAT csv)",
        }
    with engine.connect() as conn:
        conn.execute(text(f'ANALYZE "{out["table"]}"'))
        conn.commit()
    engine.dispose()
    return out


def sign_in(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"username": "citizen", "password": PASSWORD})
    conn.request("POST", "/api/v1/auth/session", body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    assert r.status == 200, r.status
    match = re.search(r"govdata_session=([^;]+)", r.getheader("set-cookie") or "")
    assert match is not None
    conn.close()
    return f"govdata_session={match.group(1)}"


def stream_page(port: int, path: str, cookie: str) -> tuple[float, int, int, bytes]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path, headers={"Cookie": cookie})
    r = conn.getresponse()
    assert r.status == 200, r.read()[:500]
    size, newlines, head = 0, 0, b""
    while chunk := r.read(1 << 20):
        if not head:
            head = chunk[:3]
        size += len(chunk)
        newlines += chunk.count(b"\n")
    conn.close()
    return time.perf_counter() - started, size, newlines, head


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--json", action="store_true", help="also download as JSON")
    args = parser.parse_args()
    url = fresh_database_url("postgresql", "opendata_download", pg_database=PG_DB)
    t0 = time.perf_counter()
    info = setup(url, args.rows)
    print(f"set-up: {args.rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    proc, port = serve(url, OUT_DIR / "opendata_download_var")
    formats = ["csv", "json"] if args.json else ["csv"]
    results: dict[str, list[dict[str, Any]]] = {"copy": [], **{f: [] for f in formats}}
    path = f"/open/datasets/{quote(info['code'])}/download"
    try:
        cookie = sign_in(port)
        for r in range(args.rounds):
            seconds, rows, size = stream_copy(url, info["copy_sql"])
            results["copy"].append({"seconds": seconds, "rows": rows, "bytes": size})
            for fmt in formats:
                before = _rss_kib(proc.pid)
                with Sampler(proc.pid) as sampler:
                    seconds, size, newlines, head = stream_page(port, f"{path}.{fmt}", cookie)
                assert fmt != "csv" or head == b"\xef\xbb\xbf"
                results[fmt].append(
                    {
                        "seconds": seconds,
                        "bytes": size,
                        "rows": newlines - 1,  # the header (CSV) or the closing "]" line (JSON)
                        "rss_before_mib": before / 1024,
                        "rss_peak_mib": sampler.peak / 1024,
                    }
                )
            line = ", ".join(f"{k} {results[k][-1]['seconds']:.2f} s" for k in results)
            print(f"round {r + 1}: {line}", flush=True)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except Exception:
            proc.kill()
    summary: dict[str, Any] = {"rows": args.rows, "rounds": args.rounds}
    for k, runs in results.items():
        med = statistics.median(x["seconds"] for x in runs)
        summary[k] = {
            "median_seconds": round(med, 3),
            "rows_per_second": round(args.rows / med),
            "mib": round(runs[0]["bytes"] / 2**20, 1),
        }
    for fmt in formats:
        summary[fmt]["rows_seen"] = [x["rows"] for x in results[fmt]]
        summary[fmt]["rss_peak_over_before_mib"] = round(
            max(x["rss_peak_mib"] - x["rss_before_mib"] for x in results[fmt]), 1
        )
    summary["csv_vs_copy"] = round(
        summary["copy"]["median_seconds"] / summary["csv"]["median_seconds"], 2
    )
    summary["load_average"] = os.getloadavg()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    Path(OUT_DIR / "opendata_download.json").write_text(
        json.dumps({"summary": summary, "runs": results}, indent=2, ensure_ascii=False)
    )
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if not args.keep:
        drop_pg_database(PG_DB)


if __name__ == "__main__":
    main()
