"""The scan runs every minute as a periodic job registered by the security domain (Art. 39),
and one open signal per kind and subject is enforced by the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from govdata.app.domains import all_domains, install
from govdata.core import jobs
from govdata.core.db import utcnow
from govdata.security.models import Signal
from tests.security.helpers import failed_sign_ins, signals


def test_the_scan_is_a_job_every_minute(
    test_sessionmaker: sessionmaker[Session], session: Session
) -> None:
    install(all_domains())
    assert jobs.periodic_jobs()["security.scan"] == "* * * * *"
    failed_sign_ins(session, "203.0.113.77", [f"u{i}" for i in range(10)], end=utcnow())
    session.commit()
    jobs.run_inline("security.scan", test_sessionmaker)
    assert [(s.kind, s.subject) for s in signals(session)] == [
        ("failed_sign_ins", "address:203.0.113.77")
    ]


def _signal(status: str) -> Signal:
    now = utcnow()
    return Signal(
        kind="probing",
        subject="address:203.0.113.1",
        subject_name="203.0.113.1",
        summary="",
        events=1,
        rows=0,
        first_seen=now,
        last_seen=now,
        detail={},
        status=status,
    )


def test_a_second_open_signal_for_the_same_subject_is_refused(session: Session) -> None:
    session.add_all([_signal("acknowledged"), _signal("acknowledged"), _signal("open")])
    session.flush()  # history may repeat; one open at a time
    session.add(_signal("open"))
    with pytest.raises(IntegrityError):
        session.flush()
