"""Cost of a signed document (Art. 28, decision 0014): ``signing.sign_delivery`` as the data
access API's lookup would call it, and ``signing.verify``, one after another.

    .venv/bin/python bench/sharing_signing.py [--n 300]

An in-memory SQLite database with one department and its key; a licence-sized document (nine
items). Prints, as JSON, ms per call (median and p95) of: ``sign_delivery``; its parts (the key
row read and the SM4-GCM open; the canonical form and SM3 digest; gmssl's SM2 signature); and
``verify``, with the machine's busy fraction before the run (the figure scales with it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from common import machine_busy


def timed(fn: Callable[[], Any], n: int) -> dict[str, float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "median_ms": round(statistics.median(times) * 1e3, 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1] * 1e3, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("GOVDATA_SIGNING_KEK", "bench-signing-kek")

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from govdata.app.domains import all_domains, install
    from govdata.core.actor import Actor, Role, RoleGrant
    from govdata.core.crypto import sm2_sign, sm3_hex
    from govdata.core.db import Base
    from govdata.org.models import Department, Region
    from govdata.sharing import keys, signing

    install(all_domains())
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    busy = machine_busy()
    with Session(engine) as session:
        city = Region(code="500000", name="重庆市", kind="city")
        session.add(city)
        session.flush()
        dept = Department(code="500000-026", name="市市场监督管理局", region_id=city.id)
        session.add(dept)
        session.flush()
        bureau = Actor(person_id=None, name="bench", grants=(RoleGrant(Role.CITY_BUREAU_ADMIN),))
        key = keys.create(session, bureau, dept.id)
        private = keys.private_key(key)
        document = {
            "证照名称": "食品经营许可证",
            "证照编号": "JY15001030012345",
            "持证主体": "重庆市渝中区示例餐饮有限公司",
            "统一社会信用代码": "91500103MA5U123456",
            "法定代表人": "张三",
            "经营场所": "重庆市渝中区解放碑街道民族路 100 号",
            "经营项目": ["热食类食品制售", "冷食类食品制售"],
            "发证日期": "2024-06-30",
            "有效期至": "2029-06-29",
        }
        envelope = signing.sign_delivery(
            session, department_id=dept.id, payload=document, source_code="base.licence", grant_id=1
        )
        known = signing.known_keys(session)
        statement = signing.statement(envelope["signature"])
        results = {
            "sign_delivery": timed(
                lambda: signing.sign_delivery(
                    session,
                    department_id=dept.id,
                    payload=document,
                    source_code="base.licence",
                    grant_id=1,
                ),
                args.n,
            ),
            "key_read_and_sm4_open": timed(
                lambda: keys.private_key(keys.current_key(session, dept.id)),  # type: ignore[arg-type]
                args.n,
            ),
            "canonical_and_sm3": timed(lambda: sm3_hex(signing.canonical(document)), args.n),
            "sm2_sign": timed(lambda: sm2_sign(private, key.public_key, statement), args.n),
            "verify": timed(lambda: signing.verify(envelope, known), args.n),
        }
    print(json.dumps({"machine_busy_before": round(busy, 2), "n": args.n, **results}, indent=2))


if __name__ == "__main__":
    main()
