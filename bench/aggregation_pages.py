"""Issue 16: response time and size of the aggregation pages of a running demo, over HTTP.

Signs in as demo accounts (password ``Demo2026pass``) against a server already serving the demo
(``govdata demo --no-serve`` then ``govdata serve --port 8102``), finds the pool, load, quality
and correction pages from the lists, and requests each page ``--rounds`` times one after
another: median and maximum time, bytes and status per page. A measurement, not a test: nothing
is asserted, a page over ``--budget`` ms is only marked.

    .venv/bin/python bench/aggregation_pages.py --base http://127.0.0.1:8102 [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wrk import http

SESSION_COOKIE = "govdata_session"
PASSWORD = "Demo2026pass"

# account -> pages named directly; "discover" pages are found by links on the first page listed.
PAGES: dict[str, list[str]] = {
    "demo.city": [
        "/aggregation/pools",
        "/aggregation/base",
        "/aggregation/base/person",
        "/aggregation/base/legal_entity",
        "/aggregation/base/conflicts",
        "/aggregation/base/conflicts?status=all",
        "/aggregation/base/repeated",
        "/aggregation/quality",
        "/aggregation/corrections",
        "/aggregation/thematic",
    ],
    "demo.officer": [
        "/aggregation/pools",
        "/aggregation/base/repeated",
        "/aggregation/quality",
        "/aggregation/corrections",
    ],
    "demo.auditor": [
        "/aggregation/pools",
        "/aggregation/base/person",
        "/aggregation/base/conflicts",
        "/aggregation/base/repeated",
        "/aggregation/quality",
    ],
}
LINKS = re.compile(r'href="(/aggregation/(?:pools|loads|quality/departments|corrections)/\d+)"')


def sign_in(base: str, user: str) -> str:
    status, set_cookies, body = http(
        "POST", base + "/api/v1/auth/session", {"username": user, "password": PASSWORD}
    )
    if status != 200:
        raise SystemExit(f"sign-in of {user} failed: {status} {body[:300]!r}")
    match = re.search(rf"(?:^|\n){SESSION_COOKIE}=([^;\n]+)", "\n".join(set_cookies))
    if not match:
        raise SystemExit(f"no {SESSION_COOKIE} cookie for {user}")
    return f"{SESSION_COOKIE}={match.group(1)}"


def get(url: str, cookie: str) -> tuple[int, int, float, str]:
    req = urllib.request.Request(url, headers={"Cookie": cookie})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        body = exc.read()
        status = exc.code
    elapsed = (time.perf_counter() - start) * 1000
    return status, len(body), elapsed, body.decode("utf-8", "replace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8102")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=500.0, help="ms; pages above are marked")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    results = []
    for user, paths in PAGES.items():
        cookie = sign_in(args.base, user)
        found: list[str] = []
        for path in paths:
            _, _, _, text = get(args.base + path, cookie)  # warm-up, and links to follow
            found += [p for p in LINKS.findall(text) if p not in found and p not in paths]
        # the first two of each kind of linked page
        kinds: dict[str, list[str]] = {}
        for path in found:
            kinds.setdefault(path.rsplit("/", 1)[0], []).append(path)
        extra = [p for group in kinds.values() for p in group[:2]]
        for path in paths + extra:
            times = []
            status = size = 0
            for _ in range(args.rounds):
                status, size, ms, _ = get(args.base + path, cookie)
                times.append(ms)
            row = {
                "user": user,
                "path": path,
                "status": status,
                "bytes": size,
                "median_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
            }
            results.append(row)
            mark = "  OVER" if row["median_ms"] > args.budget else ""
            print(
                f"{user:14} {path:48} {status} {size:>9,} B "
                f"median {row['median_ms']:>8.1f} ms  max {row['max_ms']:>8.1f} ms{mark}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
