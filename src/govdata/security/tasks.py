"""The monitoring scan as a periodic job (every minute, ``security.domain``)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from govdata.core.db import transaction
from govdata.core.jobs import job
from govdata.security.scanning import scan


@job("security.scan")
def scan_job(factory: sessionmaker[Session]) -> None:
    """One scan in a transaction of its own (Art. 39 监测、预警)."""
    with transaction(factory) as session:
        scan(session)
