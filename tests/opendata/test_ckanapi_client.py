"""The CKAN client ``ckanapi``, unmodified, against the app served by uvicorn (issue 14 §7):
``RemoteCKAN`` by POST and by GET, its error classes from our error types, and the
``ckanapi dump datasets --all`` command line (which runs worker processes of its own)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from ckanapi import NotAuthorized, NotFound, RemoteCKAN, SearchQueryError, ValidationError
from fastapi import FastAPI
from sqlalchemy.orm import Session

from govdata.opendata import keys
from tests.opendata.ckan_helpers import publish
from tests.opendata.helpers import OpenCity, build_open_city
from tests.world import World


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The test's app (its database transaction included) on a real port."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="ckan-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _city(session: Session, world: World) -> OpenCity:
    oc = build_open_city(session, world)
    publish(
        session, oc.person, [("公民身份号码", "C"), ("姓名", "C")], [("1", "张三"), ("2", "李四")]
    )
    session.commit()  # a savepoint: visible to the server's sessions on the same connection
    return oc


@pytest.mark.parametrize("get_only", [False, True])
def test_remote_ckan_reads_the_open_catalog(
    session: Session, world: World, live_url: str, get_only: bool
) -> None:
    oc = _city(session, world)
    name = oc.person.code.replace("/", "-").lower()
    with RemoteCKAN(live_url, get_only=get_only) as ckan:
        result = ckan.action.package_search(q="户籍", rows=10)
        assert result["count"] == 1 and result["results"][0]["name"] == name
        facets = ckan.call_action(
            "package_search", {"fq": "groups:市场监管", "facet.field": ["organization", "tags"]}
        )
        assert facets["count"] == 1
        assert (
            facets["search_facets"]["organization"]["items"][0]["display_name"]
            == "市市场监督管理局"
        )
        pkg = ckan.action.package_show(id=name)
        assert (
            pkg["title"] == "户籍人口基本信息" and pkg["resources"][0]["datastore_active"] is True
        )
        assert sorted(ckan.action.package_list()) == sorted(
            [name, oc.market.code.replace("/", "-").lower()]
        )
        # The harvester's incremental, paged query.
        page = ckan.action.package_search(
            fq="metadata_modified:[2020-01-01T00:00:00Z TO *]", rows=1, start=1, sort="id asc"
        )
        assert page["count"] == 2 and len(page["results"]) == 1
        with pytest.raises(NotFound):
            ckan.action.package_show(id="no-such-dataset")
        with pytest.raises(SearchQueryError):
            ckan.action.package_search(fq="maintainer:x")
        with pytest.raises(ValidationError):
            ckan.action.package_search(rows="many")
        with pytest.raises(NotAuthorized):  # Art. 33 ¶3: identity first
            ckan.action.datastore_search(resource_id=f"{name}-r1")


def test_remote_ckan_with_a_developer_key_reads_the_datastore(
    session: Session, world: World, live_url: str
) -> None:
    oc = _city(session, world)
    secret = keys.issue_key(session, world.people["citizen"], "ckanapi").secret
    session.commit()
    with RemoteCKAN(live_url, apikey=secret) as ckan:
        result = ckan.action.datastore_search(resource_id=oc.person.code, sort="姓名 asc")
    assert [r["姓名"] for r in result["records"]] == ["张三", "李四"] and result["total"] == 2


def test_ckanapi_dump_datasets_all(
    session: Session, world: World, live_url: str, tmp_path: Path
) -> None:
    oc = _city(session, world)
    out = tmp_path / "datasets.jsonl"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [
            str(bin_dir / "ckanapi"),
            "dump",
            "datasets",
            "--all",
            "-q",
            "-r",
            live_url,
            "-O",
            str(out),
        ],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, None), done.stderr.decode()
    dumped = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(d["id"] for d in dumped) == sorted([oc.person.code, oc.market.code])
    assert {d["title"] for d in dumped} == {"户籍人口基本信息", "个体经营者信息"}
