"""Two first loads of one resource at once (issue 11 §6): both get the one pool, neither a 500.

The pool is created on first use (Art. 17 ¶1); the race needs two committing transactions, so
it runs against a database of its own. On SQLite writers are serialised by the write lock
(``BEGIN IMMEDIATE``), so the check-then-insert race is PostgreSQL's.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from govdata.aggregation import pools
from govdata.aggregation.models import Pool
from govdata.catalog import published
from govdata.core.db import transaction
from tests.aggregation.test_cli_pool import cli_db  # noqa: F401 - fixture
from tests.conftest import POSTGRES

pytestmark = pytest.mark.skipif(
    not POSTGRES, reason="SQLite serialises writers: no check-then-insert race"
)


def test_two_first_loads_share_one_pool(cli_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    engine, _, code, _ = cli_db
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    both_checked = threading.Barrier(2, timeout=20)
    real_layout = pools.layout

    def layout_after_both_checked(revision: Any) -> Any:
        # Both transactions have looked for the pool and found none: now both create it.
        both_checked.wait()
        return real_layout(revision)

    monkeypatch.setattr(pools, "layout", layout_after_both_checked)
    results: list[int] = []
    errors: list[BaseException] = []

    def first_load() -> None:
        try:
            with transaction(factory) as session:
                resource = published.find(session, code)
                assert resource is not None
                results.append(pools.ensure_pool(session, resource).id)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=first_load) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Pool)) == 1
