"""Spooled uploads (Art. 17 ¶1): a file waits in ``var/spool`` only while a load may read it,
whatever happens to the request, the load or the process."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi import UploadFile
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import loading, pools, spool, tasks, validation
from govdata.aggregation.api import pools as pools_api
from govdata.aggregation.models import Load, LoadStatus
from govdata.catalog.models import Resource
from govdata.core.ids import make_id_number
from govdata.core.settings import get_settings
from tests.aggregation.factories import person_pool_resource
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def pid(n: int) -> str:
    return make_id_number("500103", date(1990, 1, 1 + n), n)


GOOD = f"公民身份号码,姓名\n{pid(1)},张三\n".encode()


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GOVDATA_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        yield loading.spool_dir()
    finally:
        get_settings.cache_clear()


@pytest.fixture
def resource(session: Session, world: World) -> Resource:
    r = person_pool_resource(session, world, world.police, "户籍人口暂存测试", [("姓名", "C", 20)])
    session.commit()
    return r


def spooled(session: Session, world: World, resource: Resource, content: bytes) -> Load:
    path = loading.spool_path("p.csv")
    path.write_bytes(content)
    load = loading.create_load(
        session,
        world.actor(session, "officer"),
        resource_code=resource.code,
        path=path,
        filename="p.csv",
    )
    session.commit()
    return load


def test_a_jsonl_push_that_is_not_utf8_is_refused_and_leaves_nothing(
    sign_in, session: Session, world: World, resource: Resource, spool_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    # It ended with Python's English message, an unhandled exception in the background task
    # and the file left in var/spool for good.
    lines = [json.dumps({"公民身份号码": pid(1), "姓名": "甲"}, ensure_ascii=False).encode()]
    second = json.dumps({"公民身份号码": pid(2), "姓名": "张三"}, ensure_ascii=False)
    lines.append(second.encode("gb18030"))
    c = sign_in("officer")
    r = c.post(
        f"/api/v1/aggregation/loads?resource={resource.code}",
        files={"file": ("p.jsonl", b"\n".join(lines), "application/x-ndjson")},
    )
    assert r.status_code == 202, r.text
    load = c.get(f"/api/v1/aggregation/loads/{r.json()['id']}").json()
    assert (load["status"], load["error_code"]) == ("rejected", "aggregation.bad_encoding")
    assert load["error_message"].startswith("第 2 行含有不是 UTF-8 编码的字节")
    assert load["rows_loaded"] == 0
    assert list(spool_dir.iterdir()) == []
    pool = pools.get_pool(session, world.actor(session, "officer"), load["pool_id"])
    assert pool.row_count == 0 and pool.current_load_id is None


def test_a_load_that_raises_still_removes_its_file(
    session: Session,
    world: World,
    resource: Resource,
    spool_dir: Path,
    test_sessionmaker: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load = spooled(session, world, resource, GOOD)
    path = Path(load.spool_path)
    assert path.exists()

    def broken(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(validation, "check_batch", broken)
    with pytest.raises(RuntimeError):
        tasks.run_load(test_sessionmaker, load.id)
    session.expire_all()
    assert session.get(Load, load.id).status == LoadStatus.FAILED  # type: ignore[union-attr]
    assert not path.exists()


def test_orphans_are_removed_once_no_load_will_read_them(
    session: Session, world: World, resource: Resource, spool_dir: Path
) -> None:
    queued = Path(spooled(session, world, resource, GOOD).spool_path)
    old = time.time() - 2 * loading.STALE_AFTER.total_seconds()
    orphan = spool_dir / "abandoned.csv"  # a request that failed after spooling its file
    orphan.write_bytes(GOOD)
    transcoded = spool_dir / "govdata-utf8-x.csv"  # left by a process that died
    transcoded.write_bytes(GOOD)
    fresh = spool_dir / "uploading.csv"  # being received right now
    fresh.write_bytes(GOOD)
    for path in (queued, orphan, transcoded):
        os.utime(path, (old, old))
    removed = spool.remove_orphans(session)
    assert sorted(removed) == sorted([orphan, transcoded])
    assert queued.exists() and fresh.exists()


def test_a_file_cut_short_while_spooling_is_removed(
    spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cut(source: object, target: io.BufferedWriter, length: int = 0) -> None:
        target.write(b"half")
        raise OSError("No space left on device")

    monkeypatch.setattr(pools_api.shutil, "copyfileobj", cut)
    with pytest.raises(OSError):
        pools_api.receive_file(UploadFile(io.BytesIO(GOOD), filename="p.csv"))
    assert list(spool_dir.iterdir()) == []


def test_an_upload_page_that_fails_unexpectedly_leaves_no_file(
    sign_in, resource: Resource, spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(loading, "create_load", broken)
    r = sign_in("officer").post(
        "/aggregation/pools/loads",
        data={"resource": resource.code, "policy": "quarantine", "mode": "replace"},
        files={"file": ("people.csv", GOOD, "text/csv")},
        headers=HTML,
    )
    assert r.status_code == 500
    assert list(spool_dir.iterdir()) == []
