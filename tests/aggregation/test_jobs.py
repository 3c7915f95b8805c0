"""Loads as procrastinate jobs on PostgreSQL (DESIGN: jobs): queued by the web layer, run by a
worker, against a committed database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from govdata.aggregation import loading
from govdata.aggregation.cli import OPERATOR
from govdata.aggregation.models import Load, LoadStatus
from govdata.core import jobs
from govdata.core.db import transaction
from tests.aggregation.test_cli_pool import cli_db, people_csv  # noqa: F401 - fixture
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="procrastinate runs on PostgreSQL")


def test_a_deferred_load_is_run_by_the_worker(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    engine, _, code, url = cli_db
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with transaction(factory) as session:
        load = loading.create_load(
            session,
            OPERATOR,
            resource_code=code,
            path=people_csv(tmp_path / "p.csv", 100),
            filename="p.csv",
            channel="api",
        )
        load_id = load.id
    job_id = jobs.defer("aggregation.run_load", url, load_id=load_id)
    assert job_id > 0
    with factory() as session:
        assert session.get(Load, load_id).status == LoadStatus.QUEUED  # type: ignore[union-attr]
    jobs.run_worker(url, wait=False)
    with factory() as session:
        done = session.scalars(select(Load).where(Load.id == load_id)).one()
        assert done.status == LoadStatus.SUCCEEDED and done.rows_loaded == 100
