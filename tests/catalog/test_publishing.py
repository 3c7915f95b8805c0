"""Publishing as a background job with progress (Art. 12 ¶3), and the search text segmented at
submission so that publishing does not segment a whole version."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from govdata.catalog import publishing, review, search, search_broad, service
from govdata.catalog.models import (
    CatalogPublication,
    CatalogVersion,
    EntryStatus,
    PublicationStatus,
    ResourceRevision,
    ReviewEntry,
)
from govdata.core import jobs
from govdata.core.db import make_engine, transaction, utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.migrate import upgrade
from govdata.org.models import RoleAssignment
from tests.catalog.factories import person_resource
from tests.conftest import BACKEND, new_database_url
from tests.world import World, build_world

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _approved(session: Session, world: World, *names: str) -> None:
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    for name in names:
        service.create_resource(session, officer, world.police, person_resource(name))
    review.submit(session, officer, world.police)
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)


def test_a_publication_is_queued_then_run_by_the_job(
    session: Session, test_sessionmaker: sessionmaker[Session], world: World
) -> None:
    city = world.actor(session, "city")
    with pytest.raises(InvalidInput) as nothing:
        publishing.request(session, city)
    assert nothing.value.code == "catalog.nothing_to_publish"
    _approved(session, world, "甲资源", "乙资源")
    with pytest.raises(PermissionDenied):
        publishing.request(session, world.actor(session, "officer"))
    publication = publishing.request(session, city, note="第一版")
    assert publication.status == PublicationStatus.QUEUED and publication.total == 2
    with pytest.raises(Conflict) as running:  # one at a time
        publishing.request(session, city)
    assert running.value.code == "catalog.publication_running"
    assert session.scalar(select(func.count(CatalogVersion.id))) == 0  # not in the request
    session.commit()

    publishing.run(test_sessionmaker, publication.id)
    session.expire_all()
    done = session.get(CatalogPublication, publication.id)
    assert done is not None and done.status == PublicationStatus.SUCCEEDED
    assert done.version_number == 1 and done.stage == "done" and done.finished_at is not None
    assert publishing.live(publication.id) is None
    version = session.scalar(select(CatalogVersion).where(CatalogVersion.number == 1))
    assert version is not None and version.note == "第一版" and version.resource_count == 2
    # Read by the city bureau and auditors; not by a department.
    assert publishing.get(session, world.actor(session, "auditor"), publication.id)
    with pytest.raises(NotFound):
        publishing.get(session, world.actor(session, "officer"), publication.id)


def test_publish_reports_its_stages(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every word is "broad" here, so the answers computed ahead get a stage of their own
    # rather than leaving the page at "index 100%" while they run.
    monkeypatch.setattr(search_broad, "BROAD_MIN_DOCS", 1)
    monkeypatch.setattr(search_broad, "BROAD_SHARE", 0.0)
    _approved(session, world, "甲资源", "乙资源", "丙资源")
    seen: list[tuple[str, int, int]] = []
    review.publish(session, world.actor(session, "city"), progress=lambda *p: seen.append(tuple(p)))
    stages = list(dict.fromkeys(stage for stage, _, _ in seen))
    assert stages == ["members", "resources", "submissions", "index", "broad"]
    assert ("index", 3, 3) in seen
    last_stage, done, total = seen[-1]
    assert last_stage == "broad" and done == total > 0
    assert set(publishing.STAGES) >= set(stages)


def test_a_failed_publication_publishes_nothing_and_says_why(
    session: Session, test_sessionmaker: sessionmaker[Session], world: World
) -> None:
    city = world.actor(session, "city")
    _approved(session, world, "甲资源")
    publication = publishing.request(session, city)
    # The requester is no longer the city bureau's when the job runs.
    for grant in session.scalars(
        select(RoleAssignment).where(RoleAssignment.person_id == world.people["city"])
    ):
        session.delete(grant)
    session.commit()
    publishing.run(test_sessionmaker, publication.id)
    session.expire_all()
    failed = session.get(CatalogPublication, publication.id)
    assert failed is not None and failed.status == PublicationStatus.FAILED
    assert failed.error.startswith("未发布新版本：只有市数据主管部门")
    assert session.scalar(select(func.count(CatalogVersion.id))) == 0
    assert session.scalar(select(ReviewEntry.status)) == EntryStatus.APPROVED


def test_a_silent_publication_does_not_block_the_next(session: Session, world: World) -> None:
    city = world.actor(session, "city")
    _approved(session, world, "甲资源")
    stuck = publishing.request(session, city)
    stuck.status = PublicationStatus.RUNNING
    stuck.heartbeat_at = utcnow() - publishing.STALE_AFTER - timedelta(minutes=1)
    session.flush()
    again = publishing.request(session, city)
    session.refresh(stuck)
    assert stuck.status == PublicationStatus.FAILED and "中断" in stuck.error
    assert again.status == PublicationStatus.QUEUED


def test_search_text_is_segmented_at_submission_and_used_when_publishing(
    session: Session, world: World
) -> None:
    officer = world.actor(session, "officer")
    res = service.create_resource(session, officer, world.police, person_resource("婚姻登记信息"))
    review.submit(session, officer, world.police)
    revision = session.get(ResourceRevision, res.latest_revision_id)
    assert revision is not None and revision.search_terms == search.document(revision.data)
    # Publishing indexes the stored text as it is, without segmenting the snapshot again.
    revision.search_terms = {**revision.search_terms, "abstract": "zqxmarker"}
    session.flush()
    (entry,) = session.scalars(select(ReviewEntry).where(ReviewEntry.resource_id == res.id))
    review.decide(session, world.actor(session, "city"), entry.id, approve=True)
    review.publish(session, world.actor(session, "city"))
    found = search.search(session, officer, "zqxmarker")
    assert [h.code for h in found.hits] == [res.code]


def test_the_page_publishes_in_the_background_and_shows_the_outcome(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    _approved(session, world, "甲资源")
    session.commit()
    city = sign_in("city")
    r = city.post(
        "/catalog/publish",
        data={"note": "页面发布", "confirm": "yes"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    url = r.headers["location"]
    assert url.startswith("/catalog/publications/")
    page = city.get(url, headers=HTML).text
    assert 'data-testid="publication-state">已发布<' in page
    assert 'href="/catalog/versions/1"' in page and "页面发布" in page
    assert 'http-equiv="refresh"' not in page  # ended: no more reloading
    assert sign_in("officer").get(url, headers=HTML).status_code == 404


def test_the_page_of_a_running_publication_shows_its_stage_and_reloads(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    _approved(session, world, "甲资源")
    publication = publishing.request(session, world.actor(session, "city"))
    publication.status = PublicationStatus.RUNNING
    publication.stage, publication.done, publication.total = "index", 40_000, 100_000
    session.commit()
    page = sign_in("city").get(f"/catalog/publications/{publication.id}", headers=HTML).text
    assert 'data-testid="publication-state">发布中<' in page and "更新目录检索索引" in page
    assert 'max="100000" value="40000"' in page and "已完成 40,000 / 100,000" in page
    assert '<meta http-equiv="refresh" content="2">' in page


@pytest.mark.skipif(BACKEND != "postgresql", reason="procrastinate runs on PostgreSQL")
def test_on_postgresql_the_worker_publishes_and_the_row_shows_progress(
    pg_cluster, tmp_path, worker: str
) -> None:  # type: ignore[no-untyped-def]
    url = new_database_url(pg_cluster, tmp_path, f"govdata_pub_{worker}")
    engine = make_engine(url)
    try:
        upgrade(engine)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        with transaction(factory) as session:
            world = build_world(session)
            _approved(session, world, "甲资源", "乙资源")
            publication_id = publishing.request(session, world.actor(session, "city")).id
        # Progress goes to the row through a connection of its own (the publish transaction
        # is not committed while it runs).
        publishing.progress_writer(factory, publication_id)("index", 5, 10)
        with factory() as session:
            row = session.get(CatalogPublication, publication_id)
            assert row is not None and (row.stage, row.done, row.total) == ("index", 5, 10)
        publishing.start(factory, engine, "procrastinate", publication_id)
        with factory() as session:  # queued, not run in the request
            queued = session.get(CatalogPublication, publication_id)
            assert queued is not None and queued.status == PublicationStatus.QUEUED
        jobs.run_worker(url, wait=False)
        with factory() as session:
            done = session.get(CatalogPublication, publication_id)
            assert done is not None and done.status == PublicationStatus.SUCCEEDED
            assert done.version_number == 1 and done.stage == "done"
    finally:
        engine.dispose()


def test_the_review_page_shows_the_running_publication_and_holds_the_next(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    _approved(session, world, "甲资源")
    publication = publishing.request(session, world.actor(session, "city"))
    session.commit()
    queue = sign_in("city").get("/catalog/review", headers=HTML).text
    assert f'href="/catalog/publications/{publication.id}"' in queue and "（排队中）" in queue
    assert "发布正在后台进行，完成后才能再次发布" in queue
    assert not re.search(r'<form method="get" action="/catalog/publish">', queue)


# --- the same over the API (Art. 12 ¶3) -----------------------------------------------------


def test_the_api_publishes_in_the_background_and_the_caller_follows_it(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    _approved(session, world, "甲资源", "乙资源")
    session.commit()
    city = sign_in("city")
    r = city.post("/api/v1/catalog/publications", json={"note": "接口发布"})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and body["total"] == 2 and body["note"] == "接口发布"
    assert r.headers["location"] == f"/api/v1/catalog/publications/{body['id']}"
    # The job ran after the response (in this process on SQLite, the test's jobs otherwise).
    followed = city.get(r.headers["location"]).json()
    assert followed["status"] == "succeeded" and followed["version_number"] == 1
    assert followed["stage"] == "done" and followed["stage_label"] == "完成"
    assert session.scalar(select(func.count(CatalogVersion.id))) == 1
    # The auditor follows it too; a department's officer does not learn it exists.
    assert sign_in("auditor").get(r.headers["location"]).status_code == 200
    hidden = sign_in("officer").get(r.headers["location"])
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "catalog.publication_not_found"


def test_the_api_refuses_what_the_page_refuses_and_records_nothing(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    city = sign_in("city")
    r = city.post("/api/v1/catalog/publications", json={})
    assert r.status_code == 400 and r.json()["error"]["code"] == "catalog.nothing_to_publish"
    assert "没有审核通过" in r.json()["error"]["message"]
    _approved(session, world, "甲资源")
    session.commit()
    r = sign_in("officer").post("/api/v1/catalog/publications", json={})
    assert r.status_code == 403
    r = city.post("/api/v1/catalog/publications", json={"note": "x" * 2001})
    assert r.status_code == 422
    assert session.scalar(select(func.count(CatalogPublication.id))) == 0
    # One at a time: a running publication holds the next with its id.
    running = publishing.request(session, world.actor(session, "city"))
    running.status = PublicationStatus.RUNNING
    session.commit()
    r = city.post("/api/v1/catalog/publications", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "catalog.publication_running"
    assert session.scalar(select(func.count(CatalogPublication.id))) == 1
    assert city.get("/api/v1/catalog/publications/999999").status_code == 404


def test_the_synchronous_route_is_marked_deprecated(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/api/openapi.json").json()
    assert spec["paths"]["/api/v1/catalog/versions"]["post"]["deprecated"] is True
    assert "/api/v1/catalog/publications" in spec["paths"]
