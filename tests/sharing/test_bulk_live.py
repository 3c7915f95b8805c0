"""Bulk delivery against a real server (``govdata serve`` as a subprocess): the server is killed
mid-stream and the call is found recorded (Art. 40, fail closed; issue 13 §4)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord
from govdata.core.db import transaction
from govdata.sharing.sources import data_table
from tests.live import LiveDb, live_database
from tests.sharing.helpers import build_share_city, grant_to_yz

ROWS = 200_000  # some MB of CSV: more than the sockets' buffers hold


@pytest.fixture
def db(pg_cluster, tmp_path: Path, worker: str) -> Iterator[LiveDb]:  # type: ignore[no-untyped-def]
    with live_database(pg_cluster, tmp_path, f"govdata_bulk_live_{worker}") as live:
        yield live


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def _fill(session: Session, db: LiveDb) -> tuple[str, int]:
    sc = build_share_city(session, db.world)
    source = sc.person_source
    grant = grant_to_yz(session, db.world, sc, source, ["公民身份号码", "姓名"])
    table = data_table(source)
    key, name = source.item("公民身份号码"), source.item("姓名")
    assert table is not None and key is not None and name is not None
    load_id = session.scalar(select(table.c["_load_id"]).limit(1))
    batch = [
        {
            "_row": 1000 + n,
            "_load_id": load_id,
            key.column: f"5002{n:014d}",
            name.column: f"居民{n}",
        }
        for n in range(ROWS)
    ]
    session.execute(insert(table), batch)
    return sc.token, grant.id


def test_a_server_killed_mid_stream_leaves_the_call_recorded(db: LiveDb, tmp_path: Path) -> None:
    with transaction(db.factory) as session:
        token, grant_id = _fill(session, db)
    port = _free_port()
    env = {
        **os.environ,
        "GOVDATA_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "GOVDATA_VAR_DIR": str(tmp_path / "var"),
        "GOVDATA_JOBS": "inline",
        "GOVDATA_RATE_LIMIT": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "govdata.cli", "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request(
            "GET",
            f"/api/v1/sharing/data/{grant_id}/export.csv?purpose=household-check",
            headers={"Authorization": f"Bearer {token}"},
        )
        response = conn.getresponse()
        assert response.status == 200
        record_id = int(response.headers["X-Access-Record"])
        first = response.read(64 * 1024)  # the stream is under way; the rest is never read
        assert first.startswith(b"\xef\xbb\xbf")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        conn.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    with db.factory() as session:
        rec = session.get(AccessRecord, record_id)
        assert rec is not None  # committed before the first byte
        assert (rec.action, rec.outcome, rec.grant_id) == ("sharing.bulk", "allowed", grant_id)
        # Nothing closed it: it says interrupted, with at most the rows sent, and stays open
        # (so unsealed) until its time is past.
        assert rec.reason == "sharing.stream_interrupted"
        assert 0 <= rec.rows < ROWS
        assert rec.open_until is not None and rec.sealed is None
