"""Target A: an authenticated JSON endpoint against a bare FastAPI endpoint, same server, same run.

    .venv/bin/python bench/auth_endpoint.py [--db sqlite|postgresql] [--duration 15]
                                            [--connections 32] [--rounds 3] [--breakdown]
                                            [--prototypes] [--pin] [--old REV]

Creates a fresh database, migrates it, loads the demo org, builds ``create_app`` and adds bare
routes to that same app (``/bench/bare``: ``async def`` returning a dict; ``/bench/bare-sync``: the
same as a plain ``def``, which FastAPI runs in its thread pool). Serves it with uvicorn (one
worker) in a subprocess, signs in as ``demo.officer`` and drives each endpoint with ``wrk``,
interleaved round by round (bare, bare-sync, auth, bare, ...).

The authenticated endpoint is ``GET /api/v1/org/departments/{id}`` of the officer's own
department: session lookup (SM3 of the cookie, a join of web_sessions and people), the role
grants query, and the visibility-scoped department query, serialized through ``DepartmentOut``.
``--breakdown`` adds ``/bench/db-floor`` (the least a DB-backed JSON route of the served tree
does: its session and ``SELECT 1``, no authentication; written as that tree writes its JSON
routes, so with ``web.deps.unit_of_work`` where the tree has it) and ``GET /api/v1/me``.

``--old REV`` also serves the commit ``REV`` beside this tree: checked out with ``git worktree
add`` into a temporary directory, given a fresh database of its own migrated and seeded by its
own code, and served by this script with ``PYTHONPATH`` at its ``src/`` (this tree is served
with ``PYTHONPATH`` at this tree's ``src/``). Both servers run for the whole run; each round
measures every endpoint on the new server and then on the old one, one after the other, so
both see the same machine. The summary gives, per endpoint, new against old (req/s ratio and
p99), and the authenticated route's ratio to the bare route and to the DB floor of its own
server. ``--old`` implies ``--breakdown``.

Reported per endpoint: the median and the best round by requests/s (p99 latency taken from the
same round as the figure it accompanies), and the server process's CPU time per request
(utime + stime of the uvicorn process from /proc, divided by the requests wrk completed) which
does not depend on how much CPU wrk took from the server. JSON goes to ``bench/out/``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import shutil
import statistics
from contextlib import ExitStack
from dataclasses import asdict
from typing import Any

from auth_servers import Server, old_checkout, start, stop, targets_of
from common import (
    OUT_DIR,
    PG_BENCH_DB,
    ROOT,
    CpuMeter,
    fresh_database_url,
    machine_info,
    pg_server_version,
    postgres_cpu_seconds,
    rate_limit_settings,
    wait_for_quiet,
    write_json,
    wrk_version,
)
from govdata.web.deps import DbSession  # at module level: FastAPI resolves annotations here
from wrk import WrkRun, http, parse_wrk, process_cpu_seconds, run_wrk

SECRET_KEY = "bench-secret-key-not-for-production"


# --- the server and its database (run in subprocesses, under the served tree's PYTHONPATH) ----


def serve(url: str, port: int, thread_limit: int | None = None, prototypes: bool = False) -> None:
    import uvicorn
    from sqlalchemy import event, text

    import govdata
    from govdata.core.db import make_engine
    from govdata.core.settings import Settings

    create_app = app_factory()

    engine = make_engine(url)
    connects = [0]

    @event.listens_for(engine, "connect")
    def _count(*_: object) -> None:  # new DBAPI connections: pool churn shows here
        connects[0] += 1

    settings = Settings(
        database_url=url,
        secret_key=SECRET_KEY,
        var_dir=OUT_DIR / "var",
        log_json=True,
        **rate_limit_settings(Settings),
    )
    app = create_app(settings, engine)

    @app.get("/bench/bare")
    async def bare():
        return {"ok": True}

    @app.get("/bench/bare-sync")
    def bare_sync():
        return {"ok": True}

    if prototypes:
        from prototypes import add_prototype_routes

        add_prototype_routes(app)

    def db_floor(session: DbSession):
        # The least any DB-backed route does: the request's transaction and one trivial query.
        return {"ok": session.execute(text("SELECT 1")).scalar_one() == 1}

    try:  # a tree with one thread-pool call per JSON route (decision 0007) writes them so
        from govdata.web.deps import unit_of_work
    except ImportError:
        one_hop = False
    else:
        db_floor = unit_of_work(db_floor)
        one_hop = True
    app.get("/bench/db-floor")(db_floor)

    @app.get("/bench/stats")
    async def stats():
        return {
            "db_connects": connects[0],
            "pool": engine.pool.status(),
            "govdata": govdata.__file__,
            "db_floor_one_hop": one_hop,
        }

    if not thread_limit:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return

    # Experiment: fewer threads for the sync routes and dependencies than anyio's default 40.
    import anyio.to_thread
    import uvloop

    async def run() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = thread_limit
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
        await uvicorn.Server(config).serve()

    uvloop.run(run())


def app_factory() -> Any:
    """``create_app`` of the served tree: in the shell package since issue 11, else in web."""
    for module in ("govdata.app", "govdata.web.app"):
        try:
            return getattr(importlib.import_module(module), "create_app")
        except (ImportError, AttributeError):
            continue
    raise SystemExit("the served tree has no create_app in govdata.app or govdata.web.app")


def prepare_database(db: str, name: str, pg_database: str) -> str:
    from govdata.core.db import make_engine, make_sessionmaker, transaction
    from govdata.core.migrate import upgrade
    from govdata.org.demo import load_demo_org

    url = fresh_database_url(db, name, pg_database)
    engine = make_engine(url)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        accounts = load_demo_org(session)
    assert accounts is not None, "fresh database already held the demo org"
    engine.dispose()
    return url


# --- measuring -------------------------------------------------------------------------------


def measure(
    server: Server, name: str, path: str, ck: str | None, rnd: int, args: argparse.Namespace
) -> WrkRun:
    meter = CpuMeter()
    meter.start()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg0 = postgres_cpu_seconds()
    conn0 = json.loads(http("GET", server.base + "/bench/stats")[2])["db_connects"]
    cpu0 = process_cpu_seconds(server.pid)
    out = run_wrk(
        server.base + path,
        threads=args.threads,
        connections=args.connections,
        duration=args.duration,
        cookie=ck,
        cpu=1 if args.pin else None,
    )
    user1, sys1 = process_cpu_seconds(server.pid)
    cpu = (user1 + sys1) - sum(cpu0)
    sys_cpu = sys1 - cpu0[1]
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg_cpu = postgres_cpu_seconds() - pg0
    machine_cpu, _ = meter.stop()
    conns = json.loads(http("GET", server.base + "/bench/stats")[2])["db_connects"] - conn0
    wrk_cpu = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    parsed = parse_wrk(out)
    run = WrkRun(
        name=name,
        server=server.label,
        round=rnd,
        db_connects=conns,
        server_cpu_s=round(cpu, 2),
        server_cpu_us_per_req=round(cpu / max(parsed["requests"], 1) * 1e6, 1),
        server_sys_fraction=round(sys_cpu / cpu, 2) if cpu else 0.0,
        wrk_cpu_s=round(wrk_cpu, 2),
        postgres_cpu_s=round(pg_cpu, 2),
        other_cpu_s=round(max(machine_cpu - cpu - wrk_cpu - pg_cpu, 0.0), 2),
        **parsed,
    )
    flag = ""
    if run.non_2xx or run.socket_errors:
        flag = f"  !! non-2xx={run.non_2xx} socket_errors={run.socket_errors}"
    print(
        f"round {rnd} {server.label:<3} {name:<12} {run.requests_per_s:>8.1f} req/s  "
        f"p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms  "
        f"server CPU {run.server_cpu_us_per_req:7.1f} us/req "
        f"({run.server_sys_fraction:.0%} sys)  pg CPU {run.postgres_cpu_s:4.1f} s  "
        f"other CPU {run.other_cpu_s:4.1f} s  new DB conns {run.db_connects}{flag}",
        flush=True,
    )
    return run


def summarize(runs: list[WrkRun]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for key in dict.fromkeys(f"{r.server}:{r.name}" for r in runs):
        mine = [r for r in runs if f"{r.server}:{r.name}" == key]
        by_rps = sorted(mine, key=lambda r: r.requests_per_s)
        median_run = by_rps[(len(by_rps) - 1) // 2]  # the lower median: a real round
        summary[key] = {
            "median_rps": statistics.median(r.requests_per_s for r in mine),
            "median_round_p99_ms": median_run.p99_ms,
            "median_p99_ms": statistics.median(r.p99_ms for r in mine),
            "best_rps": by_rps[-1].requests_per_s,
            "best_round_p99_ms": by_rps[-1].p99_ms,
            "median_server_cpu_us_per_req": statistics.median(
                r.server_cpu_us_per_req for r in mine
            ),
            "errors": sum(r.non_2xx + r.socket_errors for r in mine),
        }
    return summary


def ratios_of(summary: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Within each server: a route against the bare routes and the DB floor; across: new/old."""

    def ratio(a: str, b: str) -> dict[str, float]:
        return {
            "median": round(summary[a]["median_rps"] / summary[b]["median_rps"], 3),
            "best": round(summary[a]["best_rps"] / summary[b]["best_rps"], 3),
        }

    out: dict[str, dict[str, float]] = {}
    for key in summary:
        server, name = key.split(":")
        for base in ("bare_async", "bare_sync", "db_floor"):
            if name != base and not name.startswith("bare") and f"{server}:{base}" in summary:
                out[f"{key}/{server}:{base}"] = ratio(key, f"{server}:{base}")
        if server == "new" and f"old:{name}" in summary:
            out[f"{key}/old:{name}"] = ratio(key, f"old:{name}")
    return out


# --- main ------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per endpoint")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also measure /bench/db-floor (the tree's least DB-backed route: a session and "
        "SELECT 1, no auth) and GET /api/v1/me (session lookup and grants)",
    )
    parser.add_argument(
        "--old",
        metavar="REV",
        help="also serve commit REV (git worktree in a temp dir, its own database) beside this "
        "tree and measure both, interleaved; implies --breakdown",
    )
    parser.add_argument(
        "--wait-quiet", type=float, default=300, help="wait up to N s for an idle machine"
    )
    parser.add_argument(
        "--thread-limit",
        type=int,
        help="experiment: anyio thread-pool size of the server (default: anyio's 40)",
    )
    parser.add_argument(
        "--prototypes",
        action="store_true",
        help="also measure the bench-only prototype of prototypes.py (new server only)",
    )
    parser.add_argument(
        "--targets", help="comma-separated subset of endpoints to measure (default: all)"
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the servers to CPU 0 and wrk to CPU 1 (taskset) instead of letting them share",
    )
    parser.add_argument(
        "--noise-limit",
        type=float,
        default=1.0,
        help="CPU-seconds other processes may use during one wrk run before its round is "
        "measured again",
    )
    parser.add_argument("--retries", type=int, default=3, help="re-measurements per round")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    parser.add_argument("--pg-database", default=PG_BENCH_DB, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.old:
        args.breakdown = True
    return args


def main() -> None:
    args = parse_args()
    if args.serve:
        serve(args.url, args.serve, args.thread_limit, args.prototypes)
        return
    if args.prepare:
        print(json.dumps({"url": prepare_database(args.db, args.prepare, args.pg_database)}))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")

    busy_before = wait_for_quiet(args.wait_quiet)
    servers = [Server("new", ROOT)]
    with ExitStack() as stack:
        if args.old:
            servers.append(Server("old", stack.enter_context(old_checkout(args.old))))
        for server in servers:
            stack.callback(stop, server)
            print(f"{server.label}: a fresh {args.db} database with the demo org ...", flush=True)
            start(server, args)
        plan = [(server, targets_of(server, args)) for server in servers]
        # Endpoint by endpoint, the new server then the old one, in each round.
        steps = [
            (server, target)
            for i in range(max(len(t) for _, t in plan))
            for server, targets in plan
            if i < len(targets)
            for target in [targets[i]]
        ]
        for server, (name, path, ck) in steps:
            print(f"warm-up {server.label} {name} ({args.warmup}s)", flush=True)
            run_wrk(
                server.base + path,
                threads=args.threads,
                connections=args.connections,
                duration=args.warmup,
                cookie=ck,
                cpu=1 if args.pin else None,
            )
        runs, discarded = measure_rounds(steps, args)
        for server in servers:
            status, _, _ = http("GET", server.base + server.auth_path, cookie=server.cookie)
            assert status == 200, f"{server.label}: session no longer valid after the run"
    report(args, servers, runs, discarded, busy_before)


def measure_rounds(
    steps: list[tuple[Server, tuple[str, str, str | None]]], args: argparse.Namespace
) -> tuple[list[WrkRun], list[WrkRun]]:
    # A round during which other work took CPU (the machine is shared) is measured again,
    # after waiting for quiet, up to --retries times; if every attempt was disturbed the
    # last one is kept and listed in "noisy_rounds_in_summary".
    runs: list[WrkRun] = []
    discarded: list[WrkRun] = []
    for rnd in range(1, args.rounds + 1):
        for attempt in range(args.retries + 1):
            this_round = [measure(s, *target, rnd, args) for s, target in steps]
            noisy = [r for r in this_round if r.other_cpu_s > args.noise_limit]
            if not noisy or attempt == args.retries:
                runs.extend(this_round)
                break
            discarded.extend(this_round)
            print(
                f"round {rnd}: other work took up to "
                f"{max(r.other_cpu_s for r in noisy):.1f} CPU-s; measuring it again",
                flush=True,
            )
            wait_for_quiet(args.wait_quiet)
    return runs, discarded


def report(
    args: argparse.Namespace,
    servers: list[Server],
    runs: list[WrkRun],
    discarded: list[WrkRun],
    busy_before: float,
) -> None:
    summary = summarize(runs)
    ratios = ratios_of(summary)
    verdict = None
    if "new:auth" in summary and "old:auth" in summary:
        new, old = summary["new:auth"], summary["old:auth"]
        verdict = {
            "rps_new_over_old": round(new["median_rps"] / old["median_rps"], 3),
            "p99_new_ms": new["median_round_p99_ms"],
            "p99_old_ms": old["median_round_p99_ms"],
            "pass": new["median_rps"] >= 1.4 * old["median_rps"]
            and new["median_round_p99_ms"] <= old["median_round_p99_ms"],
        }
    result = {
        "benchmark": "auth_endpoint",
        "db": args.db,
        "database": pg_server_version(servers[0].url) if args.db == "postgresql" else "sqlite",
        "servers": {
            s.label: {"tree": str(s.tree), "rev": args.old if s.label == "old" else None} | s.facts
            for s in servers
        },
        "wrk": wrk_version(),
        "wrk_args": f"-t{args.threads} -c{args.connections} -d{args.duration}s --latency",
        "rounds": args.rounds,
        "thread_limit": args.thread_limit,
        "prototypes": args.prototypes,
        "pinned": args.pin,
        "machine": machine_info(),
        "machine_busy_before": round(busy_before, 3),
        "other_cpu_s_total": round(sum(r.other_cpu_s for r in runs), 1),
        "noisy_rounds_in_summary": sorted(
            {r.round for r in runs if r.other_cpu_s > args.noise_limit}
        ),
        "discarded_runs": [asdict(r) for r in discarded],
        "summary": summary,
        "ratios": ratios,
        "target_new_over_old_ge_1_4_p99_no_worse": verdict,
        "runs": [asdict(r) for r in runs],
    }
    suffix = f"_threads{args.thread_limit}" if args.thread_limit else ""
    suffix += f"_c{args.connections}" if args.connections != 32 else ""
    suffix += "_proto" if args.prototypes else ""
    suffix += "_pinned" if args.pin else ""
    suffix += "_breakdown" if args.breakdown and not args.old else ""
    suffix += "_old-vs-new" if args.old else ""
    suffix += "_" + args.targets.replace(",", "-") if args.targets else ""
    path = write_json(f"auth_endpoint_{args.db}{suffix}.json", result)

    print()
    print(
        f"{args.db}: wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
        f"{args.rounds} interleaved rounds"
        + (f"; old = {args.old}, new = {ROOT}" if args.old else "")
    )
    header = (
        f"{'endpoint':<16} {'median req/s':>12} {'p99 ms':>8} {'best req/s':>11} "
        f"{'p99 ms':>8} {'srv CPU us/req':>15}"
    )
    print(header)
    print("-" * len(header))
    for key, s in summary.items():
        print(
            f"{key:<16} {s['median_rps']:>12.1f} {s['median_round_p99_ms']:>8.2f} "
            f"{s['best_rps']:>11.1f} {s['best_round_p99_ms']:>8.2f} "
            f"{s['median_server_cpu_us_per_req']:>15.1f}"
        )
    for key, r in ratios.items():  # all of them are in the JSON
        route = key.split("/")[0].split(":")[1]
        if route in ("auth", "auth_me", "proto_onehop") or "/old:" in key:
            print(f"ratio {key}: median {r['median']:.3f}, best {r['best']:.3f}")
    if verdict is not None:
        print(
            f"target new auth >= 1.4x old auth (medians), p99 no worse: "
            f"{verdict['rps_new_over_old']:.3f}x, p99 {verdict['p99_new_ms']:.1f} ms vs "
            f"{verdict['p99_old_ms']:.1f} ms: {'PASS' if verdict['pass'] else 'FAIL'}"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
