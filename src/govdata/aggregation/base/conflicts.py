"""Conflicts of a base database (Art. 16, 20): where another department's pool disagrees with
the authoritative value of a base item, for the city bureau's quality queue.

``recompute`` finds them, set-based, for one item and one other pool in a scope of subject
keys; the base's value is never touched (一数一源: a wrong authoritative value is corrected at
its source, Art. 19). The queue is read by the bureau, auditors and the departments involved
(``policy.visible_conflicts``) and a conflict is closed with a note (Art. 20 ¶1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast as typed

from sqlalchemy import Table, and_, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from govdata.aggregation import policy, pools, traces
from govdata.aggregation.base.scope import Scope, where
from govdata.aggregation.errors import ConflictNotFound
from govdata.aggregation.labels import department_names
from govdata.aggregation.models import (
    BaseConflict,
    BaseDatabase,
    BaseItem,
    BaseKind,
    ConflictStatus,
    Pool,
)
from govdata.aggregation.subjects import KEY_COLUMN, dialect_name, key_expr, value_expr
from govdata.aggregation.tables import LOAD_COLUMN
from govdata.aggregation.text import plain
from govdata.catalog import published
from govdata.core import audit
from govdata.core.access import record_access
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput

AUTO_CLOSE_NOTE = "来源数据已一致，差异自动消除。"

# --- finding them (Art. 16) ---------------------------------------------------------------------


def recompute(
    session: Session,
    base: BaseDatabase,
    btable: Table,
    item: BaseItem,
    other: Pool,
    scope: Scope,
) -> None:
    """Disagreements between ``other`` and the authoritative value of ``item`` (Art. 16, 20).

    Open conflicts whose disagreement is gone are closed; new disagreements become open
    conflicts, never twice the same open one, and one a person resolved comes back only when
    the other source loads the disagreeing value again. The base's value is never touched.
    """
    dialect = dialect_name(session)
    table = pools.current_table(other)
    if table is None:
        return
    conflicts = typed(Table, BaseConflict.__table__)
    key = key_expr(dialect, other, table)
    other_value = value_expr(dialect, other, table, item.name)
    if other_value is None:
        return
    authoritative = btable.c[f"v{item.id}"]
    now = utcnow()
    # 1. Close open conflicts that no longer hold.
    still = table.alias("still")
    still_key = key_expr(dialect, other, still)
    still_value = value_expr(dialect, other, still, item.name)
    assert still_value is not None
    bstill = btable.alias("bstill")
    session.execute(
        update(conflicts)
        .where(
            conflicts.c.item_id == item.id,
            conflicts.c.other_pool_id == other.id,
            conflicts.c.status == ConflictStatus.OPEN.value,
            ~exists()
            .select_from(bstill.join(still, still_key == bstill.c[KEY_COLUMN]))
            .where(
                bstill.c[KEY_COLUMN] == conflicts.c.subject_key,
                bstill.c[f"v{item.id}"] == conflicts.c.authoritative_value,
                still_value == conflicts.c.other_value,
            ),
            *where(scope.keys(dialect, conflicts.c.subject_key)),
        )
        .values(
            status=ConflictStatus.RESOLVED.value,
            resolved_at=now,
            note=AUTO_CLOSE_NOTE,
        )
    )
    expire(session)
    # 2. Open the new ones.
    known = conflicts.alias("known")
    session.execute(
        insert(conflicts).from_select(
            [
                "base_id",
                "item_id",
                "subject_key",
                "authoritative_value",
                "other_value",
                "other_pool_id",
                "other_load_id",
                "status",
                "detected_at",
                "note",
            ],
            select(
                literal(base.id),
                literal(item.id),
                btable.c[KEY_COLUMN],
                authoritative,
                other_value,
                literal(other.id),
                table.c[LOAD_COLUMN],
                literal(ConflictStatus.OPEN.value),
                literal(now, type_=conflicts.c.detected_at.type),
                literal(""),
            )
            .select_from(btable.join(table, key == btable.c[KEY_COLUMN]))
            .where(
                authoritative.is_not(None),
                other_value.is_not(None),
                authoritative != other_value,
                ~exists().where(
                    known.c.item_id == item.id,
                    known.c.other_pool_id == other.id,
                    known.c.subject_key == btable.c[KEY_COLUMN],
                    known.c.authoritative_value == authoritative,
                    known.c.other_value == other_value,
                    or_(
                        known.c.status == ConflictStatus.OPEN.value,
                        and_(
                            known.c.resolved_by.is_not(None),
                            known.c.other_load_id == table.c[LOAD_COLUMN],
                        ),
                    ),
                ),
                *where(scope.keys(dialect, btable.c[KEY_COLUMN])),
            ),
        )
    )


def expire(session: Session) -> None:
    """Conflicts loaded in the session before a set-based UPDATE reload on next access."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, BaseConflict):
            session.expire(obj)


# --- the quality queue (Art. 20) ---------------------------------------------------------------


def list_conflicts(
    session: Session,
    actor: Actor,
    kind: BaseKind | str | None = None,
    status: ConflictStatus | str | None = ConflictStatus.OPEN,
    *,
    subject_key: str | None = None,
    offset: int = 0,
    limit: int = 200,
) -> list[BaseConflict]:
    """The quality queue (Art. 20): the bureau and auditors see all; a department sees the
    conflicts of the bases it leads and those involving its own data."""
    policy.require_read_bases(actor)
    stmt = policy.visible_conflicts(actor)
    if kind is not None:
        stmt = stmt.where(BaseDatabase.kind == BaseKind(kind).value)
    if status is not None:
        stmt = stmt.where(BaseConflict.status == ConflictStatus(status).value)
    if subject_key:
        stmt = stmt.where(BaseConflict.subject_key == plain(subject_key, "主体标识"))
    stmt = stmt.order_by(BaseConflict.detected_at.desc(), BaseConflict.id.desc())
    listed = list(session.scalars(stmt.offset(max(offset, 0)).limit(min(max(limit, 1), 500))))
    if listed:  # subject keys and both values (Art. 40): recorded when any is shown
        _record_read(session, actor, listed, kind)
    return listed


def _record_read(
    session: Session, actor: Actor, listed: Sequence[BaseConflict], kind: BaseKind | str | None
) -> None:
    bases = {
        b.id: b
        for b in session.scalars(
            select(BaseDatabase).where(BaseDatabase.id.in_({c.base_id for c in listed}))
        )
    }
    leads = {b.lead_department_id for b in bases.values()}
    record_access(
        session,
        actor,
        "aggregation.base_conflicts.read",
        object_type="base_conflicts",
        object_id=BaseKind(kind).value if kind is not None else "all",
        rows=len(listed),
        personal=any(traces.base_is_personal(b, [b.key_name]) for b in bases.values()),
        owner_department_id=next(iter(leads)) if len(leads) == 1 else None,
        fields=["主体标识", "权威值", "其他来源值"],
    )


def count_conflicts(session: Session, actor: Actor, status: ConflictStatus | None) -> int:
    policy.require_read_bases(actor)
    stmt = policy.visible_conflicts(actor)
    if status is not None:
        stmt = stmt.where(BaseConflict.status == status.value)
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


@dataclass(frozen=True)
class ConflictInfo:
    """What a conflict's row shows besides its values."""

    base_kind: str
    base_name: str
    item_name: str
    authoritative_resource: str
    authoritative_department: str
    other_pool_code: str
    other_pool_name: str
    other_department: str
    can_resolve: bool
    # The other pool's department may be asked to check its value (校核, Art. 19): by a person
    # who may apply for corrections, when the pool is not the person's own department's.
    can_correct: bool = False
    # Auditors read personal data masked (issue 16; Art. 41, 42, 49; ``aggregation.masking``): a
    # person's key and values; a legal person's personal items. Pages and the API alike.
    key_masked: bool = False
    values_masked: bool = False


def describe_conflicts(
    session: Session, actor: Actor, conflicts: Sequence[BaseConflict]
) -> dict[int, ConflictInfo]:
    if not conflicts:
        return {}
    bases = {b.id: b for b in session.scalars(select(BaseDatabase))}
    items = {
        i.id: i
        for i in session.scalars(
            select(BaseItem).where(BaseItem.id.in_({c.item_id for c in conflicts}))
        )
    }
    pool_rows = {
        p.id: p
        for p in session.scalars(
            select(Pool).where(Pool.id.in_({c.other_pool_id for c in conflicts}))
        )
    }
    resources = published.resources(session, {i.source_resource_id for i in items.values()})
    depts = department_names(session, {p.department_id for p in pool_rows.values()})
    out = {}
    masks = policy.masks_personal(actor)
    for c in conflicts:
        base = bases[c.base_id]
        item = items[c.item_id]
        key_masked = masks and base.kind == BaseKind.PERSON.value
        res = resources[item.source_resource_id]
        other = pool_rows[c.other_pool_id]
        out[c.id] = ConflictInfo(
            base_kind=base.kind,
            base_name=base.name,
            item_name=item.name,
            authoritative_resource=f"{res.name}（{res.code}）",
            authoritative_department=res.department_name,
            other_pool_code=other.code,
            other_pool_name=other.name,
            other_department=depts.get(other.department_id, ""),
            can_resolve=policy.can_resolve_conflict(actor, base)
            and c.status == ConflictStatus.OPEN.value,
            can_correct=policy.can_apply_correction(actor)
            and other.department_id not in policy.correction_departments(actor)
            and c.status == ConflictStatus.OPEN.value,
            key_masked=key_masked,
            values_masked=key_masked or (masks and traces.personal_items([item.name])),
        )
    return out


def resolve_conflict(session: Session, actor: Actor, conflict_id: int, note: str) -> BaseConflict:
    """Close a conflict with a note (the bureau or the base's lead department, Art. 20 ¶1).

    Resolving records how the disagreement was handled; the authoritative value stays (a wrong
    authoritative value is corrected at its source, Art. 19).
    """
    policy.require_read_bases(actor)
    conflict: BaseConflict | None = session.scalars(
        policy.visible_conflicts(actor).where(BaseConflict.id == conflict_id)
    ).one_or_none()
    if conflict is None:
        raise ConflictNotFound()
    base = session.get(BaseDatabase, conflict.base_id)
    assert base is not None
    policy.require_resolve_conflict(actor, base)
    if conflict.status != ConflictStatus.OPEN.value:
        raise Conflict("aggregation.conflict_closed", "该数据冲突已处理。")
    note = plain(note, "处理说明")
    if not note:
        raise InvalidInput("aggregation.conflict_note_required", "处理数据冲突须填写处理说明。")
    if len(note) > 2000:
        raise InvalidInput("aggregation.conflict_note_too_long", "处理说明不能超过2000个字。")
    conflict.status = ConflictStatus.RESOLVED.value
    conflict.resolved_by = actor.person_id
    conflict.resolved_at = utcnow()
    conflict.note = note
    item = session.get(BaseItem, conflict.item_id)
    audit.record(
        session,
        actor,
        "aggregation.base.conflict.resolve",
        object_type="base_conflict",
        object_id=conflict.id,
        summary=f"处理{base.name}“{item.name if item else ''}”的数据冲突"
        f"（主体 {conflict.subject_key}）",
        change={"note": note},
        department_id=base.lead_department_id,
    )
    return conflict


MAX_BULK = 200


def resolve_conflicts(
    session: Session, actor: Actor, conflict_ids: Sequence[int], note: str
) -> list[BaseConflict]:
    """Close several conflicts with one note (issue 16: the page's bulk action), all or
    nothing: the first refusal (not visible, not the actor's to resolve, already closed, no
    note) ends the whole unit of work with its code."""
    ids = list(dict.fromkeys(conflict_ids))
    if not ids:
        raise InvalidInput("aggregation.conflicts_none_selected", "请先勾选要处理的数据冲突。")
    if len(ids) > MAX_BULK:
        raise InvalidInput("aggregation.conflicts_too_many", f"一次最多处理{MAX_BULK}条数据冲突。")
    return [resolve_conflict(session, actor, cid, note) for cid in ids]
