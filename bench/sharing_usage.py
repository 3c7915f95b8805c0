"""Issue 13 §5: the sharing usage dashboards over a few hundred thousand access records.

Generates ``--records`` sharing calls (default 300,000) over 60 Beijing days: 40 requesting
and 20 providing departments in 4 regions, 30 sources, 200 grants, 60 systems, 5 % refused
under 6 refusal codes, every call about one of 50,000 subjects (keyed digests). Then times,
each ``--rounds`` times (the median is reported), in one process:

* ``usage.summary`` for the city bureau (every record of the last 30 days), a provider, a
  requester and a district bureau;
* ``usage.list_records`` (first page, and a page 100 pages in) for the city bureau and a
  provider;
* ``usage.export_xlsx`` for a provider (its 30 days) and for the city bureau (capped at
  ``EXPORT_MAX_ROWS``);
* ``mydata.my_data_use`` for one subject.

``--db sqlite|postgresql`` (PostgreSQL: database ``govdata_bench_usage`` on the development
server, dropped at the end). Measurements, not tests: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from common import drop_pg_database, fresh_database_url, machine_info, write_json
from govdata.core.access import AccessRecord
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.crypto import subject_digest
from govdata.core.db import make_engine, make_sessionmaker
from govdata.core.migrate import upgrade
from govdata.org.models import Department, Person, Region
from govdata.sharing import mydata, usage, usage_export
from govdata.sharing.usage import UsageFilter

PG_DB = "govdata_bench_usage"
TODAY = date(2026, 3, 31)
REASONS = [
    "sharing.purpose_mismatch",
    "sharing.grant_expired",
    "sharing.item_not_granted",
    "sharing.no_grant",
    "sharing.system_not_named",
    "request.rate_limited",
]
ACTIONS = list(usage.ACTIONS)


def _org(session: Session) -> tuple[list[int], list[int], list[int]]:
    regions = [Region(code=f"5001{i:02d}", name=f"区{i}", kind="district") for i in range(4)]
    session.add_all(regions)
    session.flush()
    depts = [
        Department(code=f"B-{i:03d}", name=f"测试部门{i}", region_id=regions[i % 4].id)
        for i in range(60)
    ]
    session.add_all(depts)
    session.flush()
    ids = [d.id for d in depts]
    return ids[:20], ids[20:], [r.id for r in regions]


def generate(sm: Any, n: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with sm() as session:
        providers, requesters, regions = _org(session)
        person = Person(
            username="bench-citizen",
            name="测试公民",
            kind="public",
            password_hash="x",
            identity_digest=subject_digest("subject-7"),
        )
        session.add(person)
        session.commit()
    digests = [subject_digest(f"subject-{i}") for i in range(50_000)]
    start = datetime.combine(TODAY - timedelta(days=59), datetime.min.time(), UTC)
    span = 60 * 86_400
    batch: list[dict[str, Any]] = []
    # Records are appended as calls happen: in time order (as the table is in use).
    moments = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(n))
    t0 = time.perf_counter()
    with sm() as session:
        for at in moments:
            grant = rng.randrange(200)
            refused = rng.random() < 0.05
            req = requesters[grant % 40]
            batch.append(
                {
                    "at": at,
                    "actor_id": None,
                    "token_id": 1000 + grant % 60,
                    "actor_name": f"业务系统{grant % 60}",
                    "actor_department_id": req,
                    "address": "10.0.0.1",
                    "action": ACTIONS[rng.randrange(5)],
                    "object_type": "share_source",
                    "object_id": f"SRC-{grant % 30}",
                    "owner_department_id": providers[grant % 20],
                    "rows": 0 if refused else rng.randrange(1, 20),
                    "personal": True,
                    "fields": "公民身份号码,姓名",
                    "outcome": "refused" if refused else "allowed",
                    "reason": REASONS[rng.randrange(6)] if refused else "",
                    "grant_id": grant + 1,
                    "purpose": "household-check",
                    "subject_digest": digests[rng.randrange(50_000)],
                }
            )
            if len(batch) == 10_000:
                session.execute(insert(AccessRecord), batch)
                batch = []
        if batch:
            session.execute(insert(AccessRecord), batch)
        session.commit()
    return {
        "records": n,
        "insert_s": round(time.perf_counter() - t0, 1),
        "providers": providers,
        "requesters": requesters,
        "regions": regions,
        "person_id": person.id,
    }


def _median_ms(sm: Any, fn: Callable[[Session], object], rounds: int) -> dict[str, Any]:
    times = []
    out: object = None
    for _ in range(rounds):
        with sm() as session:
            t = time.perf_counter()
            out = fn(session)
            times.append((time.perf_counter() - t) * 1000)
            session.rollback()
    return {
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "out": out,
    }


def measure(sm: Any, facts: dict[str, Any], rounds: int) -> dict[str, Any]:
    city = Actor(1, "市管", (RoleGrant(Role.CITY_BUREAU_ADMIN),))
    provider = Actor(
        2, "提供", (RoleGrant(Role.DEPARTMENT_OFFICER, department_id=facts["providers"][0]),)
    )
    requester = Actor(
        3, "使用", (RoleGrant(Role.DEPARTMENT_OFFICER, department_id=facts["requesters"][0]),)
    )
    district = Actor(
        4, "区管", (RoleGrant(Role.DISTRICT_BUREAU_ADMIN, region_id=facts["regions"][0]),)
    )
    citizen = Actor(facts["person_id"], "公民", (RoleGrant(Role.CITIZEN),))
    f = UsageFilter()

    def summary(actor: Actor) -> Callable[[Session], object]:
        return lambda s: usage.summary(s, actor, f, today=TODAY).total.calls

    def records(actor: Actor, offset: int) -> Callable[[Session], object]:
        return lambda s: usage.list_records(s, actor, f, offset=offset, today=TODAY).total

    def export(actor: Actor) -> Callable[[Session], object]:
        return lambda s: usage_export.export_xlsx(s, actor, f, today=TODAY).rows

    cases: dict[str, Callable[[Session], object]] = {
        "summary city (30 days)": summary(city),
        "summary provider": summary(provider),
        "summary requester": summary(requester),
        "summary district bureau": summary(district),
        "records city page 1": records(city, 0),
        "records city page 101": records(city, 5000),
        "records provider page 1": records(provider, 0),
        "export provider": export(provider),
        "export city (capped)": export(city),
        "my data use": lambda s: mydata.my_data_use(s, citizen, today=TODAY).page.total,
    }
    results = {}
    for name, fn in cases.items():
        results[name] = _median_ms(sm, fn, 1 if name.startswith("export") else rounds)
        print(f"  {name:28} {results[name]}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    url = fresh_database_url(args.db, "sharing_usage", PG_DB)
    engine = make_engine(url)
    upgrade(engine)
    sm = make_sessionmaker(engine)
    print(f"[{args.db}] generating {args.records:,} access records ...", flush=True)
    facts = generate(sm, args.records, args.seed)
    print(f"  inserted in {facts['insert_s']} s", flush=True)
    if args.db == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE access_records")
    results = measure(sm, facts, args.rounds)
    engine.dispose()
    if args.db == "postgresql":
        drop_pg_database(PG_DB)
    path = write_json(
        f"sharing_usage_{args.db}.json",
        {"machine": machine_info(), "db": args.db, "records": args.records, "results": results},
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
