"""Reading thematic databases (Art. 17 ¶3): in the scope of the owning department
(``policy.visible_thematic``); other departments obtain the data through the sharing system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.aggregation import policy, tables, traces
from govdata.aggregation.errors import ThematicNotFound
from govdata.aggregation.models import ThematicDatabase
from govdata.aggregation.thematic import definition
from govdata.aggregation.thematic.definition import ThematicColumn
from govdata.catalog import published
from govdata.catalog.published import CatalogResource
from govdata.core.access import record_access
from govdata.core.actor import Actor
from govdata.core.errors import DomainError


def list_thematic(
    session: Session, actor: Actor, department_id: int | None = None
) -> list[ThematicDatabase]:
    stmt = policy.visible_thematic(actor)
    if department_id is not None:
        stmt = stmt.where(ThematicDatabase.department_id == department_id)
    return list(session.scalars(stmt.order_by(ThematicDatabase.department_id, ThematicDatabase.id)))


def get_thematic(session: Session, actor: Actor, thematic_id: int) -> ThematicDatabase:
    db: ThematicDatabase | None = session.scalars(
        policy.visible_thematic(actor).where(ThematicDatabase.id == thematic_id)
    ).one_or_none()
    if db is None:
        raise ThematicNotFound()
    return db


@dataclass(frozen=True)
class ThematicRows:
    key_name: str
    columns: list[ThematicColumn]
    rows: list[dict[str, Any]]  # "subject_key" and one entry per column label
    total: int
    offset: int
    limit: int


def rows(
    session: Session, actor: Actor, thematic_id: int, offset: int = 0, limit: int = 50
) -> ThematicRows:
    """A page of a thematic database's rows, in subject-key order (the read is recorded with
    the rows it returned, Art. 40)."""
    db = get_thematic(session, actor, thematic_id)
    base = definition.base_of(session, definition.of(db))
    columns = describe(session, db)
    offset, limit = max(offset, 0), min(max(limit, 1), 200)
    if db.table_name is None:
        return ThematicRows(base.key_name, columns, [], 0, offset, limit)
    table = tables.thematic_table(db.table_name, len(columns))
    total = int(session.scalar(select(func.count()).select_from(table)) or 0)
    result = session.execute(
        select(table).order_by(table.c.subject_key).offset(offset).limit(limit)
    ).mappings()
    out = []
    for r in result:
        row: dict[str, Any] = {"subject_key": r["subject_key"]}
        for c in columns:
            row[c.label] = r.get(c.column)
        out.append(row)
    labels = [base.key_name, *(c.label for c in columns)]
    record_access(
        session,
        actor,
        "aggregation.thematic_rows.read",
        object_type="thematic",
        object_id=db.id,
        rows=len(out),
        personal=traces.base_is_personal(base, labels),
        owner_department_id=db.department_id,
        fields=labels,
    )
    return ThematicRows(base.key_name, columns, out, total, offset, limit)


def describe(session: Session, db: ThematicDatabase) -> list[ThematicColumn]:
    """The columns of a definition as they stand now (a gone source keeps its label)."""
    try:
        return definition.resolve(session, definition.of(db), strict=False)
    except DomainError:
        return []


def registered_resource(session: Session, db: ThematicDatabase) -> CatalogResource | None:
    """The thematic resource it is registered as in its department's catalog list."""
    if db.resource_id is None:
        return None
    return published.resources(session, [db.resource_id]).get(db.resource_id)
