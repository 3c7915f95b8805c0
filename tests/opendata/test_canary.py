"""The canary walk (Art. 30, 31 ¶2, 33): no value of an item that is not open, and no original
of a masked value, leaves the platform by any open-data read.

Canary values are planted in the open city's pools: in items not open (户籍人口基本信息's
出生日期, 个体经营者信息's 从业人数) and in the items a release masks (the originals of
公民身份号码 and 姓名). Releases are built from the pools with masking applied here (the
release builder lives in another part of the tree), published, and the datasets made signed
documents. Then every GET route of the app under the open-data prefixes is walked: the route
table is enumerated (so routes other parts add are walked too) and path parameters are filled
from the datasets, releases, rows and contributions; CKAN's actions also get ``id`` and
``resource_id``. The walk runs anonymously, as a fresh identified person, and as that person
holding an approved application for the conditional dataset; no body, error bodies and
files (xlsx unzipped) included, may hold a canary.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import zipfile
from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.routing import Route

from govdata.aggregation import pools
from govdata.aggregation.models import Pool
from govdata.core.calendar import today
from govdata.opendata import data_requests, feedback, reuses
from govdata.opendata.contributions import Decision
from govdata.opendata.models import OpenApplication, OpenApplicationStatus, Release
from govdata.sharing import keys, signing
from govdata.sharing.models import DocumentClass
from tests.aggregation.base_helpers import K1, K2, K3, K4
from tests.opendata.community_helpers import identified_person, publish_release
from tests.opendata.helpers import build_open_city
from tests.world import World

PREFIXES = ("/open", "/api/v1/opendata", "/api/3/action", "/api/action", "/catalog", "/dataset")
CANARY_DATE = date(1911, 10, 10)
CANARY_COUNT = 987654321
# Distinctive originals of masked names: a released "金*" says nothing of them.
NAMES = {K1: "金丝雀甲", K2: "金丝雀乙", K3: "金丝雀丙", K4: "金丝雀丁"}
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
MAX_URLS_PER_ROUTE = 40


def _needles() -> list[str]:
    texts = [
        CANARY_DATE.isoformat(),
        CANARY_DATE.strftime("%Y/%m/%d"),
        CANARY_DATE.strftime("%Y%m%d"),
        "1911年10月10日",
        str(CANARY_COUNT),
        f"{CANARY_COUNT:,}",
        K1,
        K2,
        K3,
        K4,
        *NAMES.values(),
    ]
    # JSON written with ASCII escapes carries the names as \\uXXXX.
    return texts + [json.dumps(t)[1:-1] for t in texts if not t.isascii()]


def _plant(session: Session, pool: Pool, values: dict[str, Any]) -> None:
    """Set the items in ``values`` on every row, and each row's name to its canary."""
    table = pools.current_table(pool)
    assert table is not None and pool.subject_column
    cols = {c["name"]: c["column"] for c in pool.columns}
    session.execute(update(table).values({cols[k]: v for k, v in values.items()}))
    key = table.c[pool.subject_column]
    for subject, name in NAMES.items():
        session.execute(update(table).where(key == subject).values({cols["姓名"]: name}))


def _bodies(content: bytes) -> list[str]:
    """The response as text, and each member's text if it is a zip (xlsx)."""
    out = [content.decode("utf-8", errors="ignore")]
    if content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            out += [zf.read(n).decode("utf-8", errors="ignore") for n in zf.namelist()]
    return out


def _get_routes(app: FastAPI) -> list[str]:
    """Every GET route under the open-data prefixes, as the app routes them (included routers
    flattened with their prefixes)."""
    return sorted(
        {
            r.path
            for r in iter_route_contexts(app.routes)
            if isinstance(r.original_route, (APIRoute, Route))
            and (r.path or "").startswith(PREFIXES)
            and "GET" in (r.methods or ())
        }
    )


def _urls(path: str, values: dict[str, list[str]], fallback: list[str]) -> list[str]:
    names = _PARAM.findall(path)
    choices = [values.get(n, fallback) for n in names]
    urls = []
    for combo in itertools.islice(itertools.product(*choices), MAX_URLS_PER_ROUTE):
        it = iter(combo)
        urls.append(_PARAM.sub(lambda _m, it=it: next(it), path))
    if path.startswith(("/api/3/action", "/api/action")) and not names:
        for v in values["code"]:
            urls += [f"{path}?id={v}", f"{path}?resource_id={v}", f"{path}?q={v}"]
        for v in values["release_id"]:
            urls.append(f"{path}?resource_id={v}")
    return urls


def test_no_open_data_read_carries_a_canary(
    app: FastAPI, sign_in: object, session: Session, world: World, monkeypatch: Any
) -> None:
    monkeypatch.setenv(keys.KEK_ENV, "test-signing-kek-canary")
    oc = build_open_city(session, world)
    _plant(session, oc.city.police_pool, {"出生日期": CANARY_DATE})
    _plant(session, oc.city.market_pool, {"从业人数": CANARY_COUNT})
    person_release = publish_release(session, oc.person, oc.city.police_pool)
    market_release = publish_release(session, oc.market, oc.city.market_pool)
    head = world.actor(session, "head")
    signing.designate(
        session, head, source_code=oc.person.code, document_class=DocumentClass.LICENCE
    )
    keys.create(session, head, world.police)
    # Contributions in every state, so the community pages have something to show.
    citizen = world.actor(session, "citizen")
    city = world.actor(session, "city")
    fb = feedback.submit(session, citizen, oc.person.code, rating=4, comment="好用")
    feedback.moderate(session, city, fb.id, Decision.PUBLISH)
    feedback.submit(session, citizen, oc.market.code, rating=2, comment="待审")
    ru = reuses.submit(
        session,
        citizen,
        kind="app",
        title="应用",
        description="说明",
        url="https://e.cn/",
        dataset_codes=[oc.person.code, oc.market.code],
    )
    reuses.moderate(session, city, ru.id, Decision.PUBLISH)
    rq = data_requests.submit(session, citizen, title="需求", description="说明")
    fresh = identified_person(session, "canary.walker", "500103199505050051")
    session.commit()
    assert session.get(Release, person_release.id) is not None

    values: dict[str, list[str]] = {
        "code": [oc.person.code, oc.market.code],
        "key": ["1", "2", "3"],
        "row": ["1", "2", "3"],
        "release_id": [str(person_release.id), str(market_release.id)],
        "version": ["1"],
        "feedback_id": [str(fb.id)],
        "reuse_id": [str(ru.id)],
        "request_id": [str(rq.id)],
        "department_id": [str(world.police), str(world.market)],
        "fmt": ["csv", "xlsx", "json"],
    }
    for alias in ("id", "name", "dataset", "dataset_code", "dataset_id", "resource_id"):
        values[alias] = values["code"] + values["release_id"] + [str(oc.person.id)]
    fallback = values["code"] + ["1", "2", str(person_release.id)]
    paths = _get_routes(app)
    assert "/open/datasets/{code:path}/records/{key}/signed.json" in paths

    anonymous = TestClient(app, raise_server_exceptions=False)
    walker = sign_in(fresh_username := "canary.walker")  # type: ignore[operator]
    needles = _needles()
    leaks: list[str] = []
    errors: list[str] = []
    delivered: list[str] = []

    def walk(label: str, get: Any) -> None:
        for path in paths:
            for url in _urls(path, values, fallback):
                r = get(url, follow_redirects=False)
                if r.status_code >= 500 and r.status_code != 503:
                    errors.append(f"{label} {url} {r.status_code}")
                if r.status_code == 200 and "signed.json" in url:
                    delivered.append(url)
                for body in _bodies(r.content):
                    leaks.extend(f"{label} {url}: {n}" for n in needles if n in body)

    walk("anonymous", anonymous.get)
    walk(fresh_username, walker.get)
    # The same person holding an approved application for the conditional dataset.
    now = today()
    session.add(
        OpenApplication(
            dataset_id=oc.market.id,
            applicant_id=fresh.person_id,
            provider_department_id=oc.market.department_id,
            status=OpenApplicationStatus.APPROVED,
            items=["姓名", "经营状态"],
            purpose="研究",
            scenario="论文",
            safeguards="离线存储",
            period_from=now,
            period_until=now + timedelta(days=30),
            agreement_version="2026-1",
            received_on=now,
            granted_items=["姓名", "经营状态"],
            granted_from=now - timedelta(days=1),
            granted_until=now + timedelta(days=30),
        )
    )
    session.commit()
    walk(f"{fresh_username}+application", walker.get)
    anonymous.close()
    assert leaks == []
    assert errors == []
    # The walk reached released data: the signed records were delivered to the identified walker.
    assert any(oc.person.code in u for u in delivered)
