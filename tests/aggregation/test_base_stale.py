"""A base database whose rebuild after a load failed (Art. 17 ¶2, 18; issue 11 §6): the load
stands, the base is marked stale with when and why, its pages say so, and the next rebuild
(a full build) catches up and clears the mark. On PostgreSQL the rebuild is a job that
procrastinate retries."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import base, tasks
from govdata.aggregation.models import BaseDatabase, BaseKind, Load, LoadStatus
from govdata.core import jobs
from govdata.core.audit import AuditEvent
from tests.aggregation.base_helpers import K1, base_rows, build_city, upsert
from tests.conftest import BACKEND
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _person_base(session: Session) -> BaseDatabase:
    return session.scalars(select(BaseDatabase).where(BaseDatabase.kind == BaseKind.PERSON)).one()


def _broken(*_: Any, **__: Any) -> Any:
    raise RuntimeError("disk full")


def _failed_rebuild(
    session: Session, world: World, factory: sessionmaker[Session], monkeypatch: Any
) -> Load:
    c = build_city(session, world)
    load = upsert(session, c.police_pool, [{"公民身份号码": K1, "姓名": "张叁"}])
    session.commit()
    with monkeypatch.context() as m:
        m.setattr(base, "rebuild_after_load", _broken)
        tasks.after_load(factory, load.id)  # inline (SQLite, the CLI): logged, not raised
    session.expire_all()
    return load


def test_a_failed_rebuild_marks_the_base_stale_and_the_next_clears_it(
    session: Session, world: World, test_sessionmaker: sessionmaker[Session], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    load = _failed_rebuild(session, world, test_sessionmaker, monkeypatch)
    db = _person_base(session)
    assert db.stale_since is not None
    assert f"第{load.id}号加载" in db.stale_reason and "户籍" in db.stale_reason
    assert base_rows(session)[K1]["姓名"][0] == "张三"  # the base kept its previous state
    assert session.get(Load, load.id).status == LoadStatus.SUCCEEDED  # type: ignore[union-attr]
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "aggregation.base.stale")
    ).all()
    assert len(events) == 1 and events[0].actor_name == "系统"
    # The next rebuild (the retry, or the next load) is a full build: caught up, mark cleared.
    tasks.after_load(test_sessionmaker, load.id)
    session.expire_all()
    db = _person_base(session)
    assert db.stale_since is None and db.stale_reason == ""
    assert base_rows(session)[K1]["姓名"][0] == "张叁"


def test_a_manual_full_build_clears_the_mark(
    session: Session, world: World, test_sessionmaker: sessionmaker[Session], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _failed_rebuild(session, world, test_sessionmaker, monkeypatch)
    assert _person_base(session).stale_since is not None
    base.build(session, world.actor(session, "officer"), BaseKind.PERSON)
    assert _person_base(session).stale_since is None
    assert base_rows(session)[K1]["姓名"][0] == "张叁"


def test_the_base_pages_and_api_show_the_mark(
    session: Session, world: World, test_sessionmaker: sessionmaker[Session], monkeypatch, sign_in
) -> None:  # type: ignore[no-untyped-def]
    load = _failed_rebuild(session, world, test_sessionmaker, monkeypatch)
    session.commit()
    officer = sign_in("officer")
    r = officer.get("/aggregation/base/person", headers=HTML)
    assert r.status_code == 200
    assert 'data-testid="stale-notice"' in r.text and "未能随数据资源池更新" in r.text
    assert f"第{load.id}号加载" in r.text
    r = officer.get("/aggregation/base", headers=HTML)
    assert 'data-testid="stale-person"' in r.text and "待更新" in r.text
    body = officer.get("/api/v1/aggregation/bases/person").json()
    assert body["stale_since"] and f"第{load.id}号加载" in body["stale_reason"]


def test_the_job_raises_for_procrastinate_to_retry(
    session: Session, world: World, test_sessionmaker: sessionmaker[Session], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    c = build_city(session, world)
    load = upsert(session, c.police_pool, [{"公民身份号码": K1, "姓名": "张叁"}])
    session.commit()
    monkeypatch.setattr(base, "rebuild_after_load", _broken)
    with pytest.raises(RuntimeError):
        tasks.after_load_job(test_sessionmaker, load_id=load.id)
    session.expire_all()
    assert _person_base(session).stale_since is not None


@pytest.mark.skipif(BACKEND != "postgresql", reason="procrastinate runs on PostgreSQL")
def test_the_rebuild_job_declares_its_retry(engine) -> None:  # type: ignore[no-untyped-def]
    app = jobs.procrastinate_app(engine.url.render_as_string(hide_password=False))
    strategy = app.tasks["aggregation.after_load"].retry_strategy
    assert strategy is not None and strategy.max_attempts == 5
    assert app.tasks["aggregation.run_load"].retry_strategy is None
