"""Issue 13 §Benchmarks: the data access API's lookup and verification against a bare endpoint.

A 1,000,000-person base database (the test city's person base, then ``generate_series`` fills
its table to 1,000,000 subjects, ``bench/sharing_data.py``), a field-level grant (公民身份号码 and
姓名 of 4 items, a daily quota so the quota's upsert runs) naming a system token, one uvicorn
worker serving ``create_app`` plus a bare ``async def`` route (``/bench/bare``). Every lookup is
the real route: token check, grant, quota, a durable access record, then the row.

Measured, in this order:

1. ``wrk -t2 -c64 -d<D>s --latency`` (a Lua script picks a random subject of the million per
   request): the bare route, lookup and verification on the hot path (decision 0014), and
   lookup on the ordinary path (``--plain``: a second server with the hot path off);
2. ``hey -z <D>s -c 50 -q 10`` (a steady 500 req/s, one subject): p99 of lookup and
   verification on the hot path, over every request and over those sent after the first
   second (when hey opens its 50 connections at once); with ``--independent``, the same rate
   again from 50 independent callers (a hey process each, at its own phase: hey's own workers
   tick together, so its 500 req/s arrives as 50 calls at once every 100 ms);
3. the access records after: allowed records of each action against the 2xx responses the
   clients counted (calls without a record: must be 0).

Rate limits are off in the server (the bare route has none either); the per-token limit is a
setting (``GOVDATA_RATE_LIMIT_PER_TOKEN``) a deployment sizes to its grants.

    .venv/bin/python bench/sharing_lookup.py                # ~4 min with generation
    .venv/bin/python bench/sharing_lookup.py --plain        # adds the ordinary path
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent), str(BENCH.parent / "src")]

from common import OUT_DIR, machine_info, write_json  # noqa: E402
from wrk import parse_wrk, wait_ready  # noqa: E402

PG_DATABASE = "govdata_bench_sharing"
SECRET_KEY = "bench-secret-key-not-for-production"


def serve(url: str, port: int, hot_pool: int) -> None:
    import dataclasses

    import uvicorn

    from govdata.app import create_app, ready_to_serve
    from govdata.core.db import make_engine
    from govdata.core.settings import Settings

    engine = make_engine(url)
    settings = Settings(
        database_url=url,
        secret_key=SECRET_KEY,
        var_dir=OUT_DIR / "var",
        log_json=True,
        rate_limit_enabled=False,
    )
    app = create_app(dataclasses.replace(settings, sharing_hot_path_pool=hot_pool), engine)

    @app.get("/bench/bare")
    async def bare() -> dict[str, bool]:
        return {"ok": True}

    uvicorn.run(
        ready_to_serve(app), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def _lua(path: str, method: str, secret: str, grant_id: int) -> str:
    """wrk's script: a random subject of the million per request."""
    if method == "GET":
        build = (
            f'return wrk.format("GET", "{path}".. k .. "?purpose=household-check'
            '&items=%E5%A7%93%E5%90%8D")'
        )
    else:
        build = (
            'local body = \'{"purpose":"household-check","subject_key":"\' .. k .. '
            '\'","values":{"姓名":"居民\' .. n .. \'"}}\'\n'
            f'  return wrk.format("POST", "{path}", nil, body)'
        )
    return (
        f'wrk.headers["Authorization"] = "Bearer {secret}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        "math.randomseed(os.time())\n"
        "request = function()\n"
        "  local n = math.random(1, 1000000)\n"
        '  local k = string.format("5001011990%08d", n)\n'
        f"  {build}\n"
        "end\n"
    )


def _get(url: str, secret: str) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def run_wrk(
    base: str, lua: str | None, path: str, connections: int, duration: int
) -> dict[str, Any]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        if lua:
            f.write(lua)
            cmd += ["-s", f.name]
    cmd.append(base + path)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    result = parse_wrk(out)
    result["ok"] = result["requests"] - result["non_2xx"]
    return result


def _hey_command(url: str, secret: str, duration: int, workers: int, body: str | None) -> list[str]:
    """hey at 10 req/s a worker, per-request CSV out."""
    cmd = ["hey", "-o", "csv", "-z", f"{duration}s", "-c", str(workers), "-q", "10"]
    cmd += ["-H", f"Authorization: Bearer {secret}"]
    if body is not None:
        cmd += ["-m", "POST", "-T", "application/json", "-d", body]
    return [*cmd, url]


def _summary(rows: list[dict[str, str]], span: float) -> dict[str, Any]:
    """Rate, p50 / p99 of every request and of those sent after its process's first second
    (``steady_*``: connections opening), and the status codes."""
    if not rows:
        raise SystemExit("hey answered no request")
    codes: dict[int, int] = {}
    for r in rows:
        codes[int(r["status-code"])] = codes.get(int(r["status-code"]), 0) + 1
    every = sorted(float(r["response-time"]) * 1000 for r in rows)
    steady = sorted(float(r["response-time"]) * 1000 for r in rows if float(r["offset"]) >= 1.0)
    return {
        "requests_per_s": round(len(rows) / (span or 1.0), 1),
        "p50_ms": round(_quantile(every, 0.50), 1),
        "p99_ms": round(_quantile(every, 0.99), 1),
        "steady_p50_ms": round(_quantile(steady, 0.50), 1),
        "steady_p99_ms": round(_quantile(steady, 0.99), 1),
        "max_ms": round(every[-1], 1),
        "codes": codes,
        "ok": codes.get(200, 0),
    }


def run_hey(url: str, secret: str, duration: int, *, body: str | None = None) -> dict[str, Any]:
    """500 req/s from one hey (50 workers at 10 req/s each, ticking together); latencies from
    its per-request CSV. ``steady_*`` leaves out the first second, when hey opens its 50
    connections at once."""
    cmd = _hey_command(url, secret, duration, 50, body)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    return _summary(rows, max((float(r["offset"]) for r in rows), default=1.0))


def run_hey_independent(
    url: str, secret: str, duration: int, *, body: str | None = None, clients: int = 50
) -> dict[str, Any]:
    """The same 500 req/s from ``clients`` independent callers: one hey process each (one
    connection, 10 req/s), started at its own moment, so each ticks at its own phase, as 50
    department systems do. hey's own ``-c 50`` ticks its workers together: 50 calls land in the
    same millisecond every 100 ms."""
    cmd = _hey_command(url, secret, duration, 1, body)
    rng = random.Random(13)
    procs = []
    for _ in range(clients):
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
        time.sleep(rng.uniform(0, 0.004))
    rows: list[dict[str, str]] = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"hey exited {proc.returncode}")
        rows += list(csv.DictReader(io.StringIO(out)))
    return {"clients": clients} | _summary(rows, duration)


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def settle(url: str) -> float:
    """CHECKPOINT, VACUUM ANALYZE of what the calls wrote, then wait (≤ 120 s) until no
    autovacuum worker runs: the seconds it took."""
    from sqlalchemy import create_engine, text

    t0 = time.perf_counter()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))
        conn.execute(text("VACUUM ANALYZE access_records"))
        conn.execute(text("VACUUM ANALYZE sharing_grant_usage"))
        while time.perf_counter() - t0 < 120:
            busy = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
                )
            ).scalar()
            if not busy:
                break
            time.sleep(1)
    engine.dispose()
    return round(time.perf_counter() - t0, 1)


def records(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT action, count(*) FROM access_records "
                "WHERE outcome = 'allowed' AND action LIKE 'sharing.%' GROUP BY action"
            )
        ).all()
    engine.dispose()
    return {str(a): int(n) for a, n in rows}


def start(url: str, hot_pool: int, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--url", url, "--hot-pool", str(hot_pool)]
    )
    wait_ready(f"http://127.0.0.1:{port}", proc)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", type=int)
    parser.add_argument("--url")
    parser.add_argument("--hot-pool", type=int, default=8)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--plain", action="store_true", help="also the ordinary path")
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument(
        "--steady",
        choices=("after", "first", "settled"),
        default="after",
        help="the 500 req/s phases after the 64-client runs (as always), before them, or after"
        " them once PostgreSQL has settled (CHECKPOINT, VACUUM ANALYZE of the tables the calls"
        " wrote, no autovacuum running): a diagnosis of what the steady tail follows",
    )
    parser.add_argument(
        "--independent",
        action="store_true",
        help="after hey's 500 req/s (50 workers ticking together), the same rate from 50"
        " independent callers (a hey process each, at its own phase)",
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.url, args.serve, args.hot_pool)
        return

    from sharing_data import prepare

    t0 = time.perf_counter()
    prepared = prepare(PG_DATABASE, args.subjects)
    print(f"prepared in {time.perf_counter() - t0:.0f} s: {prepared['facts']}", flush=True)
    url, secret, gid = prepared["url"], prepared["secret"], prepared["grant_id"]
    lookup_path = f"/api/v1/sharing/data/{gid}/subjects/"
    verify_path = f"/api/v1/sharing/data/{gid}/verify"
    results: dict[str, Any] = {"facts": prepared["facts"], "machine": machine_info()}
    servers = [("hot", args.hot_pool, 18765)] + ([("plain", 0, 18766)] if args.plain else [])
    before = records(url)
    for label, pool, port in servers:
        proc = start(url, pool, port)
        base = f"http://127.0.0.1:{port}"
        try:
            status, body = _get(
                base + lookup_path + "500101199000000001?purpose=household-check", secret
            )
            print(f"{label}: sample lookup {status} {body.decode()}", flush=True)
            assert status == 200, body
            runs = {
                "bare": (None, "/bench/bare"),
                "lookup": (_lua(lookup_path, "GET", secret, gid), lookup_path),
                "verify": (_lua(verify_path, "POST", secret, gid), verify_path),
            }

            def saturate() -> None:
                for name, (lua, path) in runs.items():
                    if label == "plain" and name != "lookup":
                        continue
                    r = run_wrk(base, lua, path, 64, args.duration)
                    results[f"{label}:{name}:c64"] = r
                    print(f"{label} {name} c64: {r}", flush=True)

            if args.steady != "first" or label != "hot":
                saturate()
            if label == "hot" and args.steady == "settled":
                results["settled_s"] = settle(url)
                print(f"settled in {results['settled_s']} s", flush=True)
            if label == "hot":
                key = "500101199000123456"
                lookup_url = (
                    f"{base}{lookup_path}{key}?purpose=household-check&items=%E5%A7%93%E5%90%8D"
                )
                body_json = json.dumps(
                    {
                        "purpose": "household-check",
                        "subject_key": key,
                        "values": {"姓名": "居民123456"},
                    },
                    ensure_ascii=False,
                )
                for suffix, runner in (("", run_hey), (":independent", run_hey_independent)):
                    if suffix and not args.independent:
                        continue
                    r = runner(lookup_url, secret, args.duration)
                    results[f"hot:lookup:500rps{suffix}"] = r
                    print(f"hot lookup 500 req/s{suffix}: {r}", flush=True)
                    r = runner(base + verify_path, secret, args.duration, body=body_json)
                    results[f"hot:verify:500rps{suffix}"] = r
                    print(f"hot verify 500 req/s{suffix}: {r}", flush=True)
                if args.steady == "first":
                    saturate()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    after = records(url)
    counted = {a: after.get(a, 0) - before.get(a, 0) for a in ("sharing.lookup", "sharing.verify")}
    ok = {"sharing.lookup": 0, "sharing.verify": 0}
    for name, r in results.items():
        if ":lookup:" in name:
            ok["sharing.lookup"] += r["ok"]
        elif ":verify:" in name:
            ok["sharing.verify"] += r["ok"]
    # The sample lookup of each server is a 200 the clients did not count.
    ok["sharing.lookup"] += len(servers)
    results["records"] = {
        "allowed_records": counted,
        "ok_responses": ok,
        "calls_without_record": {a: max(0, ok[a] - counted[a]) for a in ok},
    }
    bare = results["hot:bare:c64"]["requests_per_s"]
    for name in ("hot:lookup:c64", "hot:verify:c64", "plain:lookup:c64"):
        if name in results:
            results[name]["ratio_to_bare"] = round(results[name]["requests_per_s"] / bare, 3)
    print(
        json.dumps(
            {k: v for k, v in results.items() if k != "machine"}, indent=1, ensure_ascii=False
        )
    )
    print("written to", write_json("sharing_lookup", results))
    if not args.keep:
        from common import drop_pg_database

        drop_pg_database(PG_DATABASE)


if __name__ == "__main__":
    main()
