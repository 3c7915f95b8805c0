"""Tokens hold only their scopes (issue 12 §1; Art. 39 访问认证, least privilege).

A department system's token reads what its scopes name and nothing else, as it writes; what no
scope names is for signed-in people. Tokens open no page. Written from the attacker's side: a
token of some scope tries every read of the JSON API, and every page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govdata.aggregation.models import BadRowPolicy, Load, LoadMode, LoadProblem, LoadStatus
from govdata.core.db import utcnow
from govdata.core.ids import make_id_number
from govdata.org import auth
from govdata.org.schemas import TokenCreate
from tests.aggregation.factories import fill_pool, person_pool_resource
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}
ALL = frozenset(auth.SCOPES)

# --- what every GET route of the JSON API needs from a token ----------------------------------


@dataclass(frozen=True)
class Scoped:
    """Opened by a token holding every one of ``scopes`` (``any_of``: any one of them)."""

    scopes: frozenset[str]
    any_of: bool = False

    def sufficient(self) -> list[frozenset[str]]:
        """The smallest sets of scopes that open the route."""
        return [frozenset({s}) for s in self.scopes] if self.any_of else [self.scopes]


@dataclass(frozen=True)
class People:
    """Opened by no scope: a token holding them all is refused with ``code``."""

    code: str


OPEN = "open"  # the token's own identity, the open catalog (Art. 32)


def scoped(*scopes: str) -> Scoped:
    return Scoped(frozenset(scopes))


ORG_READ = scoped("org:read")
CATALOG_READ = scoped("catalog:read")
CATALOG_WRITE = scoped("catalog:write")
POOL_READ = scoped("pool:read")
# Loads: all of them with pool:read; those pushed through the API with pool:write (their
# outcome, Art. 18), as ``test_pool_write_follows_the_api_loads_and_nothing_else`` shows.
LOADS = Scoped(frozenset({"pool:read", "pool:write"}), any_of=True)
QUALITY = People("aggregation.quality_forbidden")
BASES = People("aggregation.base_staff_only")
THEMATIC = People("aggregation.thematic_people_only")
CORRECTIONS = People("aggregation.correction_people_only")
SECURITY = People("security.forbidden")

#: Every GET route under /api/v1. A new route fails ``test_every_read_is_classified`` until it
#: is written down here with what it needs.
READS: dict[str, Scoped | People | str] = {
    "/api/v1/me": OPEN,
    "/api/v1/auth/sessions": People("auth.people_only"),
    "/api/v1/org/regions": ORG_READ,
    "/api/v1/org/departments": ORG_READ,
    "/api/v1/org/departments/{department_id}": ORG_READ,
    "/api/v1/org/people": ORG_READ,
    "/api/v1/org/people/{person_id}": ORG_READ,
    "/api/v1/org/people/{person_id}/grants": ORG_READ,
    "/api/v1/org/departments/{department_id}/tokens": People("org.cannot_manage_tokens"),
    "/api/v1/audit/events": People("audit.forbidden"),
    "/api/v1/audit/verify": People("audit.forbidden"),
    "/api/v1/audit/checkpoints": People("audit.forbidden"),
    "/api/v1/audit/checkpoints/hashes": People("audit.forbidden"),
    "/api/v1/audit/public-key": People("audit.forbidden"),
    "/api/v1/audit/access-records": People("audit.access_records_forbidden"),
    "/api/v1/workdays/years": People("auth.people_only"),
    "/api/v1/workdays/years/{year}": People("auth.people_only"),
    "/api/v1/workdays/deadline": People("auth.people_only"),
    # The catalog: published (catalog:read), lists before review (catalog:write).
    "/api/v1/catalog/resources": CATALOG_WRITE,
    "/api/v1/catalog/resources/{resource_id}": CATALOG_WRITE,
    "/api/v1/catalog/submissions": CATALOG_WRITE,
    "/api/v1/catalog/submissions/{submission_id}/entries": CATALOG_WRITE,
    "/api/v1/catalog/demands": CATALOG_WRITE,
    "/api/v1/catalog/demands/{demand_id}/suggestions": scoped("catalog:write", "catalog:read"),
    "/api/v1/catalog/changes": CATALOG_WRITE,
    "/api/v1/catalog/overdue": CATALOG_WRITE,
    "/api/v1/catalog/versions": CATALOG_READ,
    "/api/v1/catalog/versions/{number}/diff": CATALOG_READ,
    "/api/v1/catalog/publications/{publication_id}": People("catalog.publication_people_only"),
    "/api/v1/catalog/published": CATALOG_READ,
    "/api/v1/catalog/published/{code:path}": CATALOG_READ,
    "/api/v1/catalog/share-catalog": CATALOG_READ,
    "/api/v1/catalog/responsibility/{department_id}": CATALOG_READ,
    "/api/v1/catalog/search": CATALOG_READ,
    # The code lists the published catalog is written in (issue 16).
    "/api/v1/catalog/vocabularies": CATALOG_READ,
    "/api/v1/catalog/vocabularies/{name}": CATALOG_READ,
    "/api/v1/catalog/open-catalog": OPEN,
    # Aggregation: the department's pools (pool:read); loads also by pool:write (see below).
    "/api/v1/aggregation/pools": POOL_READ,
    "/api/v1/aggregation/pools/{pool_id}": POOL_READ,
    "/api/v1/aggregation/pools/{pool_id}/rows": POOL_READ,
    "/api/v1/aggregation/pools/{pool_id}/specs": POOL_READ,
    "/api/v1/aggregation/loads": LOADS,
    "/api/v1/aggregation/loads/{load_id}": LOADS,
    "/api/v1/aggregation/loads/{load_id}/problems": LOADS,
    "/api/v1/aggregation/loads/{load_id}/report.xlsx": LOADS,
    "/api/v1/aggregation/quality/city": QUALITY,
    "/api/v1/aggregation/quality/departments/{department_id}": QUALITY,
    "/api/v1/aggregation/quality/timeliness": QUALITY,
    "/api/v1/aggregation/quality/pools/{pool_id}/trend": QUALITY,
    "/api/v1/aggregation/bases": BASES,
    "/api/v1/aggregation/bases/{kind}": BASES,
    "/api/v1/aggregation/bases/{kind}/records/{subject_key}": BASES,
    "/api/v1/aggregation/base-conflicts": BASES,
    "/api/v1/aggregation/repeated-collection": People("aggregation.repeated_staff_only"),
    "/api/v1/aggregation/thematic": THEMATIC,
    "/api/v1/aggregation/thematic/{thematic_id}": THEMATIC,
    "/api/v1/aggregation/thematic/{thematic_id}/rows": THEMATIC,
    "/api/v1/aggregation/corrections": CORRECTIONS,
    "/api/v1/aggregation/corrections/overdue": CORRECTIONS,
    "/api/v1/aggregation/corrections/{correction_id}": CORRECTIONS,
    # Security monitoring: the city bureau and auditors only (Art. 39).
    "/api/v1/security/signals": SECURITY,
    "/api/v1/security/signals/counts": SECURITY,
    "/api/v1/security/signals/{signal_id}": SECURITY,
    "/api/v1/security/rules": SECURITY,
    # Sharing management: applications are handled by people; systems use the data access API.
    "/api/v1/sharing/applications": People("sharing.applications_people_only"),
    "/api/v1/sharing/applications/{application_id}": People("sharing.applications_people_only"),
    # Signing departments' public keys (Art. 28): published to anyone, as the open catalog.
    "/api/v1/sharing/keys": OPEN,
    # Sharing objections (Art. 27): departments' and bureaus' people, never a system.
    "/api/v1/sharing/objections": People("sharing.objection_people_only"),
    "/api/v1/sharing/objections/{objection_id}": People("sharing.objection_people_only"),
    # Sharing usage: management data, for people (Art. 40, 41, 49); a person's own data use.
    "/api/v1/sharing/usage/summary": People("auth.people_only"),
    "/api/v1/sharing/usage/records": People("auth.people_only"),
    "/api/v1/my/data-use": People("auth.people_only"),
    # Sharing (Ch. 4): the share catalog is part of the published catalog (catalog:read);
    # grants are management data for people (no scope opens them).
    "/api/v1/sharing/catalog": CATALOG_READ,
    "/api/v1/sharing/catalog/{code:path}": CATALOG_READ,
    "/api/v1/sharing/grants": People("auth.people_only"),
    "/api/v1/sharing/grants/{grant_id}": People("auth.people_only"),
    # The data access API (Art. 22, 26 ¶2): department systems under a grant (sharing:read).
    "/api/v1/sharing/data/{grant_id}/subjects/{subject_key}": scoped("sharing:read"),
    "/api/v1/sharing/data/{grant_id}/rows": scoped("sharing:read"),
    # Bulk delivery (Art. 22, 26 ¶2): department systems under a grant (sharing:read).
    "/api/v1/sharing/data/{grant_id}/export.csv": scoped("sharing:read"),
    "/api/v1/sharing/data/{grant_id}/export.parquet": scoped("sharing:read"),
    # Open-data community (Art. 34, 36, 37): published feedback, requests and reuses are public;
    # the moderation queue is the city bureau's; signed records are for people, not systems.
    "/api/v1/opendata/datasets/{code:path}/feedback": OPEN,
    "/api/v1/opendata/requests": OPEN,
    "/api/v1/opendata/requests/{request_id}": OPEN,
    "/api/v1/opendata/reuses": OPEN,
    "/api/v1/opendata/reuses/{reuse_id}": OPEN,
    "/api/v1/opendata/moderation": People("opendata.not_moderator"),
    "/api/v1/opendata/datasets/{code:path}/records/{row}/signed": People("opendata.people_only"),
    # The open catalog (Art. 32) is public: browsing needs no sign-in, a token sees it too.
    "/api/v1/opendata/datasets": OPEN,
    "/api/v1/opendata/datasets/{code:dataset_code}": OPEN,
    # Open-data applications, correction requests and developer keys are people's own records
    # (Art. 32 ¶2, 33): a department system's token is refused outright.
    "/api/v1/opendata/applications": People("opendata.people_only"),
    "/api/v1/opendata/applications/{application_id}": People("opendata.people_only"),
    "/api/v1/opendata/corrections": People("opendata.people_only"),
    "/api/v1/opendata/corrections/{request_id}": People("opendata.people_only"),
    "/api/v1/opendata/keys": People("opendata.people_only"),
    # Open-data releases (Art. 31 ¶2): managed by the provider's people, never a system.
    "/api/v1/opendata/datasets/{code:path}/rules": People("auth.people_only"),
    "/api/v1/opendata/datasets/{code:path}/releases": People("auth.people_only"),
    "/api/v1/opendata/datasets/{code:path}/releases/{release_id}": People("auth.people_only"),
}

#: Routes whose answer for an id naming nothing in this world is a refusal of its own rather
#: than 404 (the data access API: ``sharing.no_grant``, each refusal its own code).
ABSENT_CODES = {
    "/api/v1/sharing/data/{grant_id}/subjects/{subject_key}": "sharing.no_grant",
    "/api/v1/sharing/data/{grant_id}/rows": "sharing.no_grant",
    "/api/v1/sharing/data/{grant_id}/export.csv": "sharing.no_grant",
    "/api/v1/sharing/data/{grant_id}/export.parquet": "sharing.no_grant",
}

#: Query parameters a route requires.
QUERIES = {
    "/api/v1/workdays/deadline": "?start=2026-03-02&days=5",
    "/api/v1/catalog/search": "?q=人口",
    "/api/v1/sharing/data/{grant_id}/subjects/{subject_key}": "?purpose=check",
    "/api/v1/sharing/data/{grant_id}/rows": "?purpose=check",
    "/api/v1/sharing/data/{grant_id}/export.csv": "?purpose=check",
    "/api/v1/sharing/data/{grant_id}/export.parquet": "?purpose=check",
}


def _get_routes(app: FastAPI) -> set[str]:
    return {
        r.path
        for r in iter_route_contexts(app.routes)
        if isinstance(r.original_route, APIRoute)
        and (r.path or "").startswith("/api/v1/")
        and "GET" in (r.methods or ())
    }


# --- a department with data, and its tokens -------------------------------------------------


@dataclass(frozen=True)
class Police:
    """市公安局's published person resource, its pool of rows, a staff load and an API load."""

    resource_id: int
    code: str
    pool_id: int
    staff_load_id: int
    api_load_id: int
    id_numbers: list[str]


def _api_load(session: Session, pool_id: int, department_id: int) -> Load:
    load = Load(
        pool_id=pool_id,
        department_id=department_id,
        status=LoadStatus.REJECTED,
        policy=BadRowPolicy.REJECT_FILE,
        mode=LoadMode.REPLACE,
        channel="api",
        filename="push.csv",
        file_format="csv",
        created_by_name="市公安局·推送系统",
        finished_at=utcnow(),
        rows_read=1,
        rows_bad=1,
        problems_recorded=1,
        error_code="aggregation.bad_rows",
    )
    session.add(load)
    session.flush()
    session.add(
        LoadProblem(
            load_id=load.id,
            row_number=2,
            column="公民身份号码",
            code="ids.id_number_invalid",
            message="公民身份号码校验位不正确",
            value="50010319800101001X",
        )
    )
    return load


@pytest.fixture
def police(session: Session, world: World) -> Police:
    resource = person_pool_resource(
        session, world, world.police, "户籍人口信息", [("姓名", "C", 20)]
    )
    ids = [make_id_number("500103", date(1980, 1, 1), i) for i in range(3)]
    city = world.actor(session, "city")
    pool, load = fill_pool(
        session,
        city,
        resource,
        [{"公民身份号码": n, "姓名": f"居民{i}"} for i, n in enumerate(ids)],
    )
    api = _api_load(session, pool.id, world.police)
    session.commit()
    return Police(resource.id, resource.code, pool.id, load.id, api.id, ids)


def token(session: Session, world: World, *scopes: str, department: str = "police") -> str:
    """A committed token of the department's system holding exactly ``scopes``."""
    dept = getattr(world, department)
    username = {"police": "officer", "market": "officer2"}[department]
    issued = auth.issue_token(
        session,
        world.actor(session, username),
        dept,
        TokenCreate(name="业务系统", scopes=sorted(scopes)),
    )
    session.commit()
    return issued.secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _url(path: str, world: World, police: Police) -> str:
    ids: dict[str, Any] = {
        "department_id": world.police,
        "person_id": world.people["officer"],
        "resource_id": police.resource_id,
        "pool_id": police.pool_id,
        "load_id": police.api_load_id,
        "code": police.code,
        "kind": "person",
        "subject_key": police.id_numbers[0],
        "year": 2026,
        "number": 1,
        "submission_id": 1,
        "demand_id": 1,
        "thematic_id": 1,
        "correction_id": 1,
        "signal_id": 1,
        "application_id": 1,
        "objection_id": 1,
        "grant_id": 1,
        "row": 1,
        "request_id": 1,
        "release_id": 1,
        "publication_id": 1,
        "name": "resource_format",
    }
    return path.replace(":path}", "}").replace(":dataset_code}", "}").format(**ids) + QUERIES.get(
        path, ""
    )


def _error_code(r: Any) -> str | None:
    try:
        return str(r.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


# --- coverage: every read, from the refused side and from the allowed side ---------------------


def test_every_read_is_classified(app: FastAPI) -> None:
    # Art. 39: no GET route of the API is left without a decision on what a token needs.
    routes = _get_routes(app)
    assert len(routes) > 45
    assert routes - READS.keys() == set(), "classify the new routes in READS"
    assert READS.keys() - routes == set(), "READS names routes that no longer exist"
    named = {s for need in READS.values() if isinstance(need, Scoped) for s in need.scopes}
    assert named <= ALL


def test_a_token_without_the_scope_is_refused_every_read(
    client: TestClient, session: Session, world: World, police: Police
) -> None:
    # Art. 39: each route, called with a token that holds every OTHER scope, answers 403
    # auth.scope_missing; routes no scope opens refuse a token holding them all.
    secrets: dict[frozenset[str], str] = {}

    def secret_for(scopes: frozenset[str]) -> str:
        if scopes not in secrets:
            secrets[scopes] = token(session, world, *scopes)
        return secrets[scopes]

    wrong: dict[str, tuple[int, str | None]] = {}
    for path, need in READS.items():
        if need == OPEN:
            continue
        if isinstance(need, Scoped):
            held, expected = ALL - need.scopes, "auth.scope_missing"
        else:
            assert isinstance(need, People)
            held, expected = ALL, need.code
        r = client.get(_url(path, world, police), headers=bearer(secret_for(held)))
        if (r.status_code, _error_code(r)) != (403, expected):
            wrong[path] = (r.status_code, _error_code(r))
    assert wrong == {}


def test_a_token_with_the_scope_gets_its_read(
    client: TestClient, session: Session, world: World, police: Police
) -> None:
    # The other side: exactly the scopes READS names are enough (200, or 404 for an id that
    # does not exist in this world), so READS says what the code does.
    wrong: dict[str, tuple[int, str | None]] = {}
    for path, need in READS.items():
        if not isinstance(need, Scoped):
            continue
        for scopes in need.sufficient():
            secret = token(session, world, *scopes)
            r = client.get(_url(path, world, police), headers=bearer(secret))
            absent = (r.status_code, _error_code(r)) == (403, ABSENT_CODES.get(path))
            if absent:
                continue
            if r.status_code not in (200, 404) or (r.status_code == 404 and "{" not in path):
                wrong[f"{path} {sorted(scopes)}"] = (r.status_code, _error_code(r))
    assert wrong == {}


def test_open_reads_show_a_token_only_itself_and_the_open_catalog(
    client: TestClient, session: Session, world: World
) -> None:
    secret = token(session, world, "org:read")
    me = client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.json()["person_id"] is None and me.json()["scopes"] == ["org:read"]
    r = client.get("/api/v1/catalog/open-catalog", headers=bearer(secret))
    assert r.status_code in (200, 404)  # public (Art. 32); 404: nothing published yet


# --- the attack as reported -----------------------------------------------------------------


@pytest.mark.parametrize("scope", ["org:read", "catalog:read", "catalog:write", "pool:write"])
def test_a_token_of_another_scope_reads_no_pool_rows(
    client: TestClient, session: Session, world: World, police: Police, scope: str
) -> None:
    # The finding: any token read its department's pool rows (persons with ID numbers).
    secret = token(session, world, scope)
    r = client.get(f"/api/v1/aggregation/pools/{police.pool_id}/rows", headers=bearer(secret))
    assert r.status_code == 403 and _error_code(r) == "auth.scope_missing"
    assert police.id_numbers[0] not in r.text


def test_pool_read_reads_its_own_department_only(
    client: TestClient, session: Session, world: World, police: Police
) -> None:
    own = token(session, world, "pool:read")
    r = client.get(f"/api/v1/aggregation/pools/{police.pool_id}/rows", headers=bearer(own))
    assert r.status_code == 200 and r.json()["total"] == 3
    other = token(session, world, "pool:read", department="market")
    r = client.get(f"/api/v1/aggregation/pools/{police.pool_id}/rows", headers=bearer(other))
    assert r.status_code == 404
    r = client.get("/api/v1/aggregation/loads", headers=bearer(other))
    assert r.status_code == 200 and r.json() == []


@pytest.mark.parametrize("scope", ["org:read", "catalog:read", "catalog:write"])
def test_a_token_of_another_scope_reads_no_load_or_report(
    client: TestClient, session: Session, world: World, police: Police, scope: str
) -> None:
    secret = token(session, world, scope)
    for url in (
        "/api/v1/aggregation/loads",
        f"/api/v1/aggregation/loads/{police.api_load_id}",
        f"/api/v1/aggregation/loads/{police.api_load_id}/problems",
        f"/api/v1/aggregation/loads/{police.api_load_id}/report.xlsx",
    ):
        r = client.get(url, headers=bearer(secret))
        assert (r.status_code, _error_code(r)) == (403, "auth.scope_missing"), url


def test_pool_write_follows_the_api_loads_and_nothing_else(
    client: TestClient, session: Session, world: World, police: Police
) -> None:
    # Product decision: the pushing system learns its push's outcome (Art. 18), no more.
    secret = token(session, world, "pool:write")
    listed = client.get("/api/v1/aggregation/loads", headers=bearer(secret))
    assert listed.status_code == 200
    assert [x["id"] for x in listed.json()] == [police.api_load_id]
    problems = client.get(
        f"/api/v1/aggregation/loads/{police.api_load_id}/problems", headers=bearer(secret)
    )
    assert problems.status_code == 200 and problems.json()["total"] == 1
    staff = client.get(f"/api/v1/aggregation/loads/{police.staff_load_id}", headers=bearer(secret))
    assert staff.status_code == 404
    for url in (
        f"/api/v1/aggregation/pools/{police.pool_id}",
        f"/api/v1/aggregation/pools/{police.pool_id}/specs",
    ):
        r = client.get(url, headers=bearer(secret))
        assert (r.status_code, _error_code(r)) == (403, "auth.scope_missing"), url
    other = token(session, world, "pool:write", department="market")
    r = client.get(f"/api/v1/aggregation/loads/{police.api_load_id}", headers=bearer(other))
    assert r.status_code == 404


def test_a_pushing_system_follows_its_push_without_reading_the_pool(
    client: TestClient, session: Session, world: World
) -> None:
    # Art. 17 ¶1, 18: the push API answers 202 "then poll it"; pool:write alone can poll.
    resource = person_pool_resource(session, world, world.police, "推送人口", [("姓名", "C", 20)])
    session.commit()
    secret = token(session, world, "pool:write")
    ids = [make_id_number("500103", date(1990, 1, 2), n) for n in (1, 2)]
    body = ("公民身份号码,姓名\n" + "".join(f"{n},居民\n" for n in ids)).encode()
    r = client.post(
        f"/api/v1/aggregation/loads?resource={resource.code}",
        files={"file": ("p.csv", body, "text/csv")},
        headers=bearer(secret),
    )
    assert r.status_code == 202, r.text
    load = client.get(f"/api/v1/aggregation/loads/{r.json()['id']}", headers=bearer(secret))
    assert load.status_code == 200
    assert load.json()["status"] == "succeeded" and load.json()["rows_loaded"] == 2
    rows = client.get(
        f"/api/v1/aggregation/pools/{load.json()['pool_id']}/rows", headers=bearer(secret)
    )
    assert (rows.status_code, _error_code(rows)) == (403, "auth.scope_missing")
    assert ids[0] not in rows.text


def test_catalog_drafts_need_catalog_write(
    client: TestClient, session: Session, world: World, police: Police
) -> None:
    reader = token(session, world, "catalog:read", "org:read", "pool:read")
    for url in (
        "/api/v1/catalog/resources",
        f"/api/v1/catalog/resources/{police.resource_id}",
        "/api/v1/catalog/submissions",
        "/api/v1/catalog/demands",
        "/api/v1/catalog/changes",
    ):
        r = client.get(url, headers=bearer(reader))
        assert (r.status_code, _error_code(r)) == (403, "auth.scope_missing"), url
    keeper = token(session, world, "catalog:write")
    r = client.get("/api/v1/catalog/resources", headers=bearer(keeper))
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["items"]] == [police.resource_id]


# --- pages are for people --------------------------------------------------------------------


def test_a_token_opens_no_page(
    client: TestClient, session: Session, world: World, police: Police
) -> None:
    # The finding: /org/people answered 200 to a bearer token. Tokens are for the API only.
    secret = token(session, world, "org:read", "pool:read", "pool:write", "catalog:write")
    for url in (
        "/",
        "/org/people",
        "/org/my-department",
        "/aggregation/pools",
        f"/aggregation/pools/{police.pool_id}",
        f"/aggregation/loads/{police.api_load_id}",
        f"/catalog/departments/{world.police}/list",
    ):
        r = client.get(url, headers=bearer(secret))
        assert (r.status_code, _error_code(r)) == (401, "auth.token_not_for_pages"), url
        assert police.id_numbers[0] not in r.text
        page = client.get(url, headers=HTML | bearer(secret), follow_redirects=False)
        assert page.status_code == 303, url  # as an anonymous visitor: to the sign-in page
        assert page.headers["location"].startswith("/login")
    # The sign-in page itself is shown, anonymous: no redirect loop for a client that follows.
    login = client.get("/login", headers=HTML | bearer(secret), follow_redirects=False)
    assert login.status_code == 200
    # The same token still works on the JSON API.
    r = client.get("/api/v1/org/people", headers=bearer(secret))
    assert r.status_code == 200 and r.json()["total"] >= 1


def test_pages_never_look_at_the_token(sign_in: Any, world: World) -> None:
    # A signed-in person's page ignores an Authorization header: an invalid token there is
    # not even resolved (on the API it is a 401).
    officer = sign_in("officer")
    junk = bearer("gd_junk_token")
    r = officer.get("/org/people", headers=HTML | junk)
    assert r.status_code == 200  # type: ignore[attr-defined]
    api = officer.get("/api/v1/org/people", headers=junk)
    assert api.status_code == 401 and _error_code(api) == "auth.invalid_token"  # type: ignore[attr-defined]
