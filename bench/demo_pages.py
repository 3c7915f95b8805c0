"""Issue 16 ("No page of the demo takes over 0.5 s"): every page each demo account reaches,
timed over HTTP against a running demo.

Signs in as each demo account (password ``Demo2026pass``), and once signed out for the open
portal, against a server serving the demo with its rate limits off (a crawl is one client
asking for thousands of pages): ``govdata demo --no-serve``, then ``GOVDATA_RATE_LIMIT=0
govdata serve --port 8102``. Walks the site from ``/`` (signed out: ``/open``) breadth-first
through the links of each page: same-origin GET pages only (no API, static files, downloads
or exports, which are files, not pages), at most ``--per-pattern`` pages per path pattern (ids
as ``{n}``) and ``--max-pages`` per account. Each page is requested ``--rounds`` times one
after another: median and maximum client time, bytes and status. A measurement, not a test:
nothing is asserted; pages over ``--budget`` ms are listed.

    .venv/bin/python bench/demo_pages.py --base http://127.0.0.1:8102 [--rounds 3]
        [--json bench/out/demo_pages.json]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import statistics
import sys
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aggregation_pages import get, sign_in

ACCOUNTS = (
    "demo.city",
    "demo.district",
    "demo.head",
    "demo.officer",
    "demo.officer2",
    "demo.district_officer",
    "demo.auditor",
    "demo.citizen",
    "demo.company",
    None,  # signed out: the open portal
)
HREF = re.compile(r'href="([^"#]+)"')
SKIP = re.compile(
    r"^/(?:static|api|favicon)|/(?:export|download|sign-out|logout)\b|"
    r"\.(?:xlsx|xls|csv|json|jsonl|parquet|ttl|jsonld|rdf|xml|pdf|zip|txt|svg|png|sig)(?:$|\?)"
)


def pattern(path: str) -> str:
    """The page's path with its ids as ``{n}`` and its query's keys only: one kind of page."""
    parts = urlsplit(path)
    keys = sorted(k.split("=", 1)[0] for k in parts.query.split("&") if k)
    return re.sub(r"/\d+(?=/|$)", "/{n}", parts.path) + ("?" + "&".join(keys) if keys else "")


def crawl(base: str, cookie: str, max_pages: int, per_pattern: int, start: str) -> list[str]:
    """The pages reachable from ``start``, breadth-first, as the account sees them."""
    seen: set[str] = {start}
    kinds: dict[str, int] = {}
    queue: deque[str] = deque([start])
    order: list[str] = []
    while queue and len(order) < max_pages:
        path = queue.popleft()
        status, _, _, text = get(base + path, cookie)
        if status == 429:
            raise SystemExit("rate limited: serve the demo with GOVDATA_RATE_LIMIT=0")
        if status != 200 or "<html" not in text[:2000].lower():
            continue
        order.append(path)
        for raw in HREF.findall(text):
            link = html.unescape(raw)
            if link.startswith(base):
                link = link[len(base) :]
            if not link.startswith("/") or link.startswith("//") or SKIP.search(link):
                continue
            if link in seen:
                continue
            seen.add(link)
            kind = pattern(link)
            if kinds.get(kind, 0) >= per_pattern:
                continue
            kinds[kind] = kinds.get(kind, 0) + 1
            queue.append(link)
    return order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8102")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=500.0, help="ms; pages above are listed")
    parser.add_argument("--max-pages", type=int, default=150)
    parser.add_argument("--per-pattern", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    results = []
    for user in ACCOUNTS:
        cookie = sign_in(args.base, user) if user else ""
        start = "/" if user else "/open"  # the home page asks who you are; the portal does not
        pages = crawl(args.base, cookie, args.max_pages, args.per_pattern, start)
        for path in pages:
            times, status, size = [], 0, 0
            for _ in range(args.rounds):
                status, size, ms, _ = get(args.base + path, cookie)
                times.append(ms)
            results.append(
                {
                    "user": user or "(signed out)",
                    "path": path,
                    "status": status,
                    "bytes": size,
                    "median_ms": round(statistics.median(times), 1),
                    "max_ms": round(max(times), 1),
                }
            )
        mine = [r for r in results if r["user"] == (user or "(signed out)")]
        worst = max(mine, key=lambda r: r["median_ms"]) if mine else None
        print(
            f"{user or '(signed out)':22} {len(mine):4} pages; slowest "
            + (f"{worst['path']} {worst['median_ms']} ms" if worst else "-"),
            flush=True,
        )
    over = [r for r in results if r["median_ms"] > args.budget]
    print(f"\n{len(results)} page visits; over {args.budget:.0f} ms (median): {len(over)}")
    for r in sorted(over, key=lambda r: -r["median_ms"]):
        print(f"  {r['user']:22} {r['path']:60} {r['median_ms']:>8.1f} ms {r['bytes']:>9,} B")
    print("slowest ten:")
    for r in sorted(results, key=lambda r: -r["median_ms"])[:10]:
        print(f"  {r['user']:22} {r['path']:60} {r['median_ms']:>8.1f} ms {r['status']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
