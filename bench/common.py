"""Helpers shared by the benchmarks: fresh databases, machine facts, JSON output."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "govdata_bench"


def pg_admin_url() -> str:
    return os.environ.get("GOVDATA_BENCH_PG_URL") or DEFAULT_PG_ADMIN_URL


def fresh_database_url(db: str, name: str, pg_database: str = PG_BENCH_DB) -> str:
    """An empty database: a SQLite file ``bench/out/<name>.db`` or PostgreSQL ``govdata_bench``.

    For PostgreSQL the server of ``GOVDATA_BENCH_PG_URL`` (default: the local development server)
    is used; the benchmark database on it is dropped and created again.
    """
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if db == "sqlite":
        path = OUT_DIR / f"{name}.db"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    if db != "postgresql":
        raise SystemExit(f"unknown --db {db!r}: sqlite or postgresql")
    admin_url = pg_admin_url()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{pg_database}"'))
    admin.dispose()
    return make_url(admin_url).set(database=pg_database).render_as_string(hide_password=False)


def drop_pg_database(pg_database: str) -> None:
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)'))
    admin.dispose()


def pg_server_version(url: str) -> str | None:
    if not url.startswith("postgresql"):
        return None
    eng = create_engine(url)
    with eng.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
        fsync = conn.execute(text("SHOW fsync")).scalar_one()
        sync_commit = conn.execute(text("SHOW synchronous_commit")).scalar_one()
    eng.dispose()
    return f"{version} (fsync={fsync}, synchronous_commit={sync_commit})"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    import sqlite3

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "mem_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "packages": {
            p: _version(p)
            for p in (
                "fastapi",
                "starlette",
                "uvicorn",
                "uvloop",
                "httptools",
                "pydantic",
                "sqlalchemy",
                "psycopg",
                "anyio",
            )
        },
    }


def wrk_version() -> str | None:
    try:
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else None


def write_json(name: str, data: dict[str, Any]) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return total - idle, total


class CpuMeter:
    """CPU-seconds the whole machine spent busy between ``start()`` and ``stop()``."""

    def __init__(self) -> None:
        self._hz = os.sysconf("SC_CLK_TCK")
        self._busy0 = self._total0 = 0

    def start(self) -> None:
        self._busy0, self._total0 = _cpu_ticks()

    def stop(self) -> tuple[float, float]:
        """(busy CPU-seconds, busy fraction of all CPUs)."""
        busy, total = _cpu_ticks()
        d_busy, d_total = busy - self._busy0, total - self._total0
        return d_busy / self._hz, (d_busy / d_total if d_total else 0.0)


def machine_busy(seconds: float = 2.0) -> float:
    """Fraction of all CPUs busy over a short sample, before we start anything."""
    meter = CpuMeter()
    meter.start()
    time.sleep(seconds)
    return meter.stop()[1]


def wait_for_quiet(max_wait: float, threshold: float = 0.10) -> float:
    """Wait (at most ``max_wait`` s) until other work leaves the CPUs idle; say if it never did.

    Returns the last sampled busy fraction; the benchmarks record it in their JSON.
    """
    deadline = time.monotonic() + max_wait
    while True:
        busy = machine_busy()
        if busy <= threshold:
            print(f"machine quiet: {busy:.0%} CPU busy before the run", flush=True)
            return busy
        if time.monotonic() >= deadline:
            print(
                f"WARNING: the machine is {busy:.0%} busy with other work; "
                "figures of this run are not representative",
                flush=True,
            )
            return busy
        print(f"machine {busy:.0%} busy with other work; waiting ...", flush=True)
        time.sleep(5)


def postgres_cpu_seconds() -> float:
    """CPU-seconds of the local PostgreSQL server's processes (all ``postgres`` commands).

    Counted apart from "other" CPU: on ``--db postgresql`` the server works for the benchmark.
    Backends that exit between two readings take their CPU with them (it then shows as other).
    """
    hz = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text_ = stat.read_text()
        except OSError:
            continue
        comm = text_[text_.find("(") + 1 : text_.rfind(")")]
        if comm == "postgres":
            fields = text_.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / hz


def rate_limit_settings(settings_cls: type) -> dict[str, object]:
    """Settings keywords for the rate limits (decision 0011), for a tree that has them: off,
    unless ``GOVDATA_BENCH_RATE_LIMITS=1``, then on with budgets no run reaches (every hit
    counted, none refused): the cost of counting."""
    if "rate_limit_enabled" not in getattr(settings_cls, "__dataclass_fields__", {}):
        return {}
    if os.environ.get("GOVDATA_BENCH_RATE_LIMITS", "0") != "1":
        return {"rate_limit_enabled": False}
    huge = "100000000/minute"
    return {
        "rate_limit_enabled": True,
        "rate_limit_per_address": huge,
        "rate_limit_per_person": huge,
        "rate_limit_per_token": huge,
        "rate_limit_personal_reads": huge,
        "rate_limit_personal_rows": huge,
    }
