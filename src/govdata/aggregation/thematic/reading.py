"""Reading thematic databases (Art. 17 ¶3): in the scope of the owning department
(``policy.visible_thematic``); other departments obtain the data through the sharing system.

Auditors read personal values masked and reveal one row only with a stated reason, audited
(issue 16; Art. 41, 42, 49; ``aggregation.masking``), as on the pool and base record pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.aggregation import masking, policy, tables, traces
from govdata.aggregation.errors import ThematicNotFound
from govdata.aggregation.models import BaseDatabase, BaseKind, Pool, ThematicDatabase
from govdata.aggregation.thematic import definition
from govdata.aggregation.thematic.definition import ThematicColumn
from govdata.catalog import published
from govdata.catalog.published import CatalogResource
from govdata.core import audit
from govdata.core.access import record_access
from govdata.core.actor import Actor
from govdata.core.errors import DomainError, NotFound


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
    masked: list[str] = field(default_factory=list)  # labels shown masked (auditors)
    key_masked: bool = False  # the subject key shown masked (a person's)


def personal_labels(base: BaseDatabase, columns: list[ThematicColumn]) -> tuple[bool, list[str]]:
    """(whether the subject key is personal, the personal column labels): every column of a
    thematic database on the person base (its rows are persons), else the columns whose item or
    label names a person's identifying or contact data (``traces.personal_items``)."""
    if base.kind == BaseKind.PERSON.value:
        return True, [c.label for c in columns]
    return False, [c.label for c in columns if traces.personal_items([c.label, c.item])]


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
    key_masked, masked = False, list[str]()
    if policy.masks_personal(actor):
        key_masked, masked = personal_labels(base, columns)
        hidden = set(masked) | ({"subject_key"} if key_masked else set())
        for row in out:
            for name in hidden:
                row[name] = masking.mask(row.get(name))
    shown = [n for n in labels if n not in masked and not (key_masked and n == base.key_name)]
    record_access(
        session,
        actor,
        "aggregation.thematic_rows.read",
        object_type="thematic",
        object_id=db.id,
        rows=len(out),
        personal=traces.base_is_personal(base, labels),
        owner_department_id=db.department_id,
        fields=shown,
    )
    return ThematicRows(base.key_name, columns, out, total, offset, limit, masked, key_masked)


@dataclass(frozen=True)
class RevealedThematicRow:
    position: int  # 1-based, in subject-key order, as the page numbers its rows
    row: dict[str, Any]  # "subject_key" and one entry per column label
    reason: str
    items: list[str]


def reveal_row(
    session: Session, actor: Actor, thematic_id: int, position: int, reason: str
) -> RevealedThematicRow:
    """The ``position``-th row (subject-key order) unmasked, for an auditor who states why
    (issue 16; Art. 41, 42, 49): audited under the pool reveal's action, with the reason and
    the subject key, and recorded as a read of the personal items (Art. 40)."""
    db = get_thematic(session, actor, thematic_id)
    policy.require_reveal(actor)
    why = masking.require_reason(reason)
    base = definition.base_of(session, definition.of(db))
    columns = describe(session, db)
    found = None
    if db.table_name is not None and position >= 1:
        table = tables.thematic_table(db.table_name, len(columns))
        nth = select(table).order_by(table.c.subject_key).offset(position - 1).limit(1)
        found = session.execute(nth).mappings().first()
    if found is None:
        raise NotFound("aggregation.row_not_found", f"该主题数据库中没有第 {position} 行。")
    row: dict[str, Any] = {"subject_key": found["subject_key"]}
    for c in columns:
        row[c.label] = found.get(c.column)
    key_masked, masked = personal_labels(base, columns)
    items = ([base.key_name] if key_masked else []) + masked
    audit.record(
        session,
        actor,
        "aggregation.pool_row.reveal",
        object_type="thematic_database",
        object_id=db.id,
        summary=f"{actor.name}查看了主题数据库{db.name}第 {position} 行未遮盖的个人信息，"
        f"理由：{why}",
        change={
            "thematic_id": db.id,
            "row": position,
            "subject_key": str(found["subject_key"]),
            "items": items,
            "reason": why,
        },
        department_id=db.department_id,
    )
    masking.record_reveal_access(
        session,
        actor,
        object_type="thematic_row",
        object_id=f"{db.id}:{found['subject_key']}",
        department_id=db.department_id,
        items=items,
        reason=why,
    )
    return RevealedThematicRow(position, row, why, items)


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


@dataclass(frozen=True)
class RefreshPreview:
    """What refreshing a thematic database now will do (issue 16: a full rebuild says what it
    will do, with counts, before it is done)."""

    db: ThematicDatabase
    base_name: str
    base_rows: int  # the subjects it selects from
    columns: int
    pools: list[tuple[str, str, int | None]]  # (code, name, rows now; None: not loaded)
    filters: int


def refresh_preview(session: Session, actor: Actor, thematic_id: int) -> RefreshPreview:
    """Read-only, with the same permission as ``refresh`` (Art. 17 ¶3)."""
    db = get_thematic(session, actor, thematic_id)
    policy.require_define_thematic(actor, db.department_id)
    spec = definition.of(db)
    base = definition.base_of(session, spec)
    columns = describe(session, db)
    codes = sorted({c.resource_code for c in columns if c.origin == "pool"})
    found = {p.code: p for p in session.scalars(select(Pool).where(Pool.code.in_(codes)))}
    pools = [
        (
            code,
            found[code].name if code in found else "",
            found[code].row_count if code in found and found[code].table_name else None,
        )
        for code in codes
    ]
    return RefreshPreview(db, base.name, base.row_count, len(columns), pools, len(spec.filters))
