"""Department names for labels on pages and in the API (providers and applicants are named to
whoever sees a record, as the published catalog names its providers)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.org.models import Department


def departments(session: Session, ids: Iterable[int | None]) -> dict[int, Department]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(wanted)))}


def department_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Department.id, Department.name).where(Department.id.in_(wanted)))
    return {int(i): str(n) for i, n in rows}
