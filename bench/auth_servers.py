"""The servers of ``auth_endpoint.py``: this tree and, with ``--old REV``, an old commit.

Each is ``auth_endpoint.py`` itself run in its ``--prepare`` mode (a fresh database migrated and
seeded by the served tree's own code) and then its ``--serve`` mode, with ``PYTHONPATH`` at the
served tree's ``src/``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import PG_BENCH_DB, ROOT
from wrk import http, wait_ready

SCRIPT = Path(__file__).resolve().with_name("auth_endpoint.py")
SESSION_COOKIE = "govdata_session"
DEMO_USER = "demo.officer"
DEMO_PASSWORD = "Demo2026pass"


# --- the served trees ------------------------------------------------------------------------


@dataclass
class Server:
    label: str  # "new" or "old"
    tree: Path  # the checkout whose src/ is served
    url: str = ""
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    cookie: str = ""
    auth_path: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(self.tree / "src"))


@contextmanager
def old_checkout(rev: str) -> Iterator[Path]:
    """``rev`` checked out (detached) into a temporary directory, removed afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="govdata-old-"))
    path = parent / "tree"
    git = ["git", "-C", str(ROOT)]
    subprocess.run([*git, "worktree", "add", "--detach", str(path), rev], check=True)
    try:
        yield path
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(path)], check=False)
        shutil.rmtree(parent, ignore_errors=True)


def script_args(*args: str) -> list[str]:
    return [sys.executable, str(SCRIPT), *args]


def start(server: Server, args: argparse.Namespace) -> None:
    name = "auth_endpoint" if server.label == "new" else "auth_endpoint_old"
    pg_database = PG_BENCH_DB if server.label == "new" else f"{PG_BENCH_DB}_old"
    prep = subprocess.run(
        script_args("--prepare", name, "--db", args.db, "--pg-database", pg_database),
        env=server.env(),
        check=True,
        capture_output=True,
        text=True,
    )
    server.url = json.loads(prep.stdout.strip().splitlines()[-1])["url"]
    server.port = free_port()
    server.proc = subprocess.Popen(
        [
            *(("taskset", "-c", "0") if args.pin else ()),
            *script_args("--serve", str(server.port), "--url", server.url),
            *(("--thread-limit", str(args.thread_limit)) if args.thread_limit else ()),
            *(("--prototypes",) if args.prototypes and server.label == "new" else ()),
        ],
        env=server.env(),
    )
    wait_ready(server.base, server.proc)
    secret, dept_id = sign_in(server.base)
    server.cookie = f"{SESSION_COOKIE}={secret}"
    server.auth_path = f"/api/v1/org/departments/{dept_id}"
    status, _, body = http("GET", server.base + server.auth_path, cookie=server.cookie)
    if status != 200:
        raise SystemExit(f"{server.label}: authenticated endpoint returned {status}: {body!r}")
    status, _, _ = http("GET", server.base + server.auth_path)
    assert status == 401, f"without the cookie the endpoint must be 401, got {status}"
    server.facts = json.loads(http("GET", server.base + "/bench/stats")[2])
    print(
        f"{server.label}: {server.tree} serves govdata from {server.facts['govdata']}; "
        f"GET {server.auth_path} as {DEMO_USER}: 200 {body.decode()}",
        flush=True,
    )


def stop(server: Server) -> None:
    if server.proc is None:
        return
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign_in(base: str) -> tuple[str, int]:
    status, set_cookies, body = http(
        "POST", base + "/api/v1/auth/session", {"username": DEMO_USER, "password": DEMO_PASSWORD}
    )
    if status != 200:
        raise SystemExit(f"sign-in failed: {status} {body[:300]!r}")
    set_cookie = "\n".join(set_cookies)
    match = re.search(rf"(?:^|\n){SESSION_COOKIE}=([^;\n]+)", set_cookie)
    if not match:
        raise SystemExit(f"no {SESSION_COOKIE} cookie in {set_cookie!r}")
    person = json.loads(body)["person"]
    return match.group(1), int(person["department_id"])


def targets_of(server: Server, args: argparse.Namespace) -> list[tuple[str, str, str | None]]:
    targets: list[tuple[str, str, str | None]] = [
        ("bare_async", "/bench/bare", None),
        ("bare_sync", "/bench/bare-sync", None),
        ("auth", server.auth_path, server.cookie),
    ]
    if args.breakdown:
        targets.append(("db_floor", "/bench/db-floor", None))
        targets.append(("auth_me", "/api/v1/me", server.cookie))
    if args.prototypes and server.label == "new":
        path = server.auth_path.replace("/api/v1/org/", "/bench/proto/onehop/")
        targets.append(("proto_onehop", path, server.cookie))
    if args.targets:
        wanted = set(args.targets.split(","))
        targets = [t for t in targets if t[0] in wanted]
    for name, path, ck in targets:  # a benchmark of error responses is worthless
        status, _, body = http("GET", server.base + path, cookie=ck)
        if status != 200:
            raise SystemExit(f"{server.label} {name} {path}: {status}, not 200: {body[:300]!r}")
    return targets
