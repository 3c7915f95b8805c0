"""Driving ``wrk`` and reading what it and the served process did (for ``auth_endpoint.py``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not m:
        raise ValueError(f"unparsed latency {value!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


@dataclass
class WrkRun:
    name: str
    server: str  # "new" (this tree) or "old" (the --old commit)
    round: int
    requests_per_s: float
    requests: int
    p50_ms: float
    p99_ms: float
    avg_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    db_connects: int  # DBAPI connections the server opened during the run
    server_cpu_s: float
    server_cpu_us_per_req: float
    server_sys_fraction: float  # kernel share of the server's CPU (thread switches, sockets)
    wrk_cpu_s: float
    postgres_cpu_s: float  # the local PostgreSQL server's processes
    other_cpu_s: float  # CPU the rest of the machine used meanwhile: noise, should be ~0


def parse_wrk(output: str) -> dict[str, Any]:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    lat = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if not (rps and total and lat and p50 and p99):
        raise SystemExit(f"could not parse wrk output:\n{output}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "requests_per_s": float(rps.group(1)),
        "requests": int(total.group(1)),
        "avg_ms": _ms(lat.group(1)),
        "max_ms": _ms(lat.group(3)),
        "p50_ms": _ms(p50.group(1)),
        "p99_ms": _ms(p99.group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(g) for g in sock.groups()) if sock else 0,
    }


def run_wrk(
    url: str,
    *,
    threads: int,
    connections: int,
    duration: int,
    cookie: str | None,
    cpu: int | None = None,
) -> str:
    cmd = ["taskset", "-c", str(cpu)] if cpu is not None else []
    cmd += ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return out.stdout


def process_cpu_seconds(pid: int) -> tuple[float, float]:
    """(utime, stime) of a process (all its threads) in seconds, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / hz, int(fields[12]) / hz  # fields 14 and 15 of stat(5)


def http(
    method: str, url: str, body: dict[str, Any] | None = None, cookie: str | None = None
) -> tuple[int, list[str], bytes]:
    """Status, the Set-Cookie headers and the body of one request."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers.get_all("Set-Cookie") or [], resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get_all("Set-Cookie") or [], exc.read()


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            status, _, _ = http("GET", base + "/bench/bare")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become ready")
