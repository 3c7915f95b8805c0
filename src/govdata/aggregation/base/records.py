"""One subject's base record with the provenance of every value (Art. 16, 25(2)).

Each value carries the load that wrote it (``l<N>``): Load → pool → resource, department and
when it was loaded. Reading a record is audited: it reads a person's or an organization's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import masking, policy, traces
from govdata.aggregation.errors import BaseRecordNotFound
from govdata.aggregation.labels import department_names
from govdata.aggregation.models import (
    BaseConflict,
    BaseDatabase,
    BaseKind,
    ConflictStatus,
    Load,
    Pool,
)
from govdata.aggregation.subjects import KEY_COLUMN, KEY_LENGTH, base_table, items_of, require_base
from govdata.aggregation.text import plain
from govdata.catalog import published
from govdata.core import audit
from govdata.core.access import record_access
from govdata.core.actor import Actor
from govdata.core.errors import InvalidInput


@dataclass(frozen=True)
class Provenance:
    """Where a value came from: the load, its pool's resource and department, and when."""

    load_id: int
    department_id: int
    department_name: str
    resource_code: str
    resource_name: str
    loaded_at: datetime | None


@dataclass(frozen=True)
class RecordValue:
    item: str
    value: str | None
    provenance: Provenance | None


@dataclass(frozen=True)
class BaseRecord:
    kind: str
    base_name: str
    key_name: str
    subject_key: str
    values: list[RecordValue]
    conflicts: list[BaseConflict] = field(default_factory=list)
    # Items shown masked (auditors, issue 16; ``aggregation.masking``); values of these items
    # in ``values`` are masked already, the conflicts' values are masked by the page.
    masked_items: list[str] = field(default_factory=list)
    reveal_reason: str | None = None  # the auditor's stated reason, when revealed


def _masked_items(base: BaseDatabase, names: list[str]) -> list[str]:
    """What an auditor sees masked: every item of the person base (the reader typed whose
    record it is), the personal items of another base (a legal representative, a phone)."""
    if base.kind == BaseKind.PERSON.value:
        return list(names)
    return [n for n in names if traces.personal_items([n])]


def record(
    session: Session,
    actor: Actor,
    kind: BaseKind | str,
    subject_key: str,
    *,
    reveal_reason: str | None = None,
) -> BaseRecord:
    """One subject's base record, every value with its provenance (Art. 16, 25(2)).

    Staff read it; public accounts and systems are refused. The lookup is recorded in the
    audit chain: it reads a person's or an organization's data. Auditors read personal values
    masked unless they give ``reveal_reason`` (issue 16; Art. 41, 42, 49), which the audit event
    and the access record keep.
    """
    policy.require_read_bases(actor)
    why = None
    if reveal_reason is not None:
        policy.require_reveal(actor)
        why = masking.require_reason(reveal_reason)
    base = require_base(session, kind)
    key = plain(subject_key, base.key_name)
    if not key or len(key) > KEY_LENGTH:
        raise InvalidInput("aggregation.subject_key_invalid", f"请输入有效的{base.key_name}。")
    items = items_of(session, base)
    btable = base_table(base, [i.id for i in items])
    row = session.execute(select(btable).where(btable.c[KEY_COLUMN] == key)).mappings().first()
    if row is None:
        raise BaseRecordNotFound(base.name, base.key_name, key)
    load_ids = {int(row[f"l{i.id}"]) for i in items if row[f"l{i.id}"] is not None}
    provenance = _provenance(session, load_ids)
    values = [
        RecordValue(
            item=i.name,
            value=row[f"v{i.id}"],
            provenance=provenance.get(int(row[f"l{i.id}"]))
            if row[f"l{i.id}"] is not None
            else None,
        )
        for i in items
    ]
    conflicts = list(
        session.scalars(
            select(BaseConflict)
            .where(
                BaseConflict.base_id == base.id,
                BaseConflict.subject_key == key,
                BaseConflict.status == ConflictStatus.OPEN.value,
            )
            .order_by(BaseConflict.id)
        )
    )
    names = [i.name for i in items]
    hidden = _masked_items(base, names) if why is None and policy.masks_personal(actor) else []
    if hidden:
        values = [
            RecordValue(v.item, masking.mask(v.value), v.provenance) if v.item in hidden else v
            for v in values
        ]
    audit.record(
        session,
        actor,
        "aggregation.base.record.read",
        object_type="base_record",
        object_id=f"{base.kind}:{key}",
        summary=f"查阅{base.name}主体记录"
        + (f"（查看未遮盖的个人信息，理由：{why}）" if why else ""),
    )
    record_access(
        session,
        actor,
        "aggregation.base_record.read",
        object_type="base_record",
        object_id=f"{base.kind}:{key}",
        rows=1,
        personal=traces.base_is_personal(base, [base.key_name, *names]),
        owner_department_id=base.lead_department_id,
        fields=[base.key_name, *(n for n in names if n not in hidden)],
        purpose=(why or "")[:200],
    )
    return BaseRecord(
        kind=base.kind,
        base_name=base.name,
        key_name=base.key_name,
        subject_key=key,
        values=values,
        conflicts=conflicts,
        masked_items=hidden,
        reveal_reason=why,
    )


def _provenance(session: Session, load_ids: set[int]) -> dict[int, Provenance]:
    if not load_ids:
        return {}
    rows = session.execute(
        select(Load.id, Load.finished_at, Pool.department_id, Pool.resource_id)
        .join(Pool, Pool.id == Load.pool_id)
        .where(Load.id.in_(load_ids))
    ).all()
    depts = department_names(session, {int(r[2]) for r in rows})
    resources = published.resources(session, {int(r[3]) for r in rows})
    return {
        int(r[0]): Provenance(
            load_id=int(r[0]),
            department_id=int(r[2]),
            department_name=depts.get(int(r[2]), ""),
            resource_code=resources[int(r[3])].code,
            resource_name=resources[int(r[3])].name,
            loaded_at=r[1],
        )
        for r in rows
    }
