"""Defining a thematic database (Art. 11, 12, 17 ¶3, 25(3)) and registering it in the catalog.

Defining one also registers it in the department's catalog list as a thematic resource (a draft
to submit like any other, Art. 12), whose data must be shared according to law (Art. 25(3)).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import policy
from govdata.aggregation.errors import ThematicInvalid
from govdata.aggregation.models import BaseKind, ThematicDatabase
from govdata.aggregation.subjects import KEY_LENGTH
from govdata.aggregation.text import plain
from govdata.aggregation.thematic import definition as definitions
from govdata.aggregation.thematic.definition import ThematicColumn, ThematicDefinition
from govdata.aggregation.thematic.materialize import materialize
from govdata.catalog import published, vocabularies
from govdata.catalog import service as catalog_service
from govdata.catalog.schemas import InfoItemIn, ResourceIn
from govdata.catalog.vocab import (
    Category,
    DataType,
    OpenType,
    ResourceFormat,
    ShareType,
    SubjectKind,
    UpdateCycle,
)
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.errors import Conflict
from govdata.org import service as org_service

# The catalog class of a thematic resource, by its base (Category.THEMATIC / class path).
CLASS_PATHS = {
    BaseKind.PERSON: "自然人",
    BaseKind.LEGAL_ENTITY: "法人",
    BaseKind.GEO: "自然资源和空间地理",
    BaseKind.LICENCE: "电子证照",
}
SUBJECT_KINDS = {
    BaseKind.PERSON: SubjectKind.PERSON,
    BaseKind.LEGAL_ENTITY: SubjectKind.LEGAL_PERSON,
    BaseKind.GEO: SubjectKind.OTHER,
    BaseKind.LICENCE: SubjectKind.OTHER,
}


def define(
    session: Session,
    actor: Actor,
    department_id: int,
    *,
    name: str,
    description: str,
    definition: ThematicDefinition | Mapping[str, Any],
    legal_basis: str = "",
) -> ThematicDatabase:
    """Define, materialize and register a thematic database (Art. 17 ¶3, 25(3)).

    ``legal_basis`` is what the registered resource cites; blank takes the sources' own bases.
    All or nothing: a refused registration leaves neither the database nor its table.
    """
    dept = org_service.get_department(session, actor, department_id)
    policy.require_define_thematic(actor, dept.id)
    name = plain(name, "主题数据库名称")
    if not 2 <= len(name) <= 200:
        raise ThematicInvalid("name", "主题数据库名称须为2至200个字。")
    description = plain(description, "说明")
    legal_basis = plain(legal_basis, "法律法规依据")
    if len(description) > 4000 or len(legal_basis) > 2000:
        raise ThematicInvalid("description", "说明不能超过4000个字，依据不能超过2000个字。")
    if session.scalar(
        select(ThematicDatabase.id).where(
            ThematicDatabase.department_id == dept.id, ThematicDatabase.name == name
        )
    ):
        raise Conflict("aggregation.thematic_name_taken", f"本部门已有名为“{name}”的主题数据库。")
    norm, columns = definitions.check(session, dept.id, ThematicDefinition.parse(definition))
    with session.begin_nested():
        db = ThematicDatabase(
            department_id=dept.id,
            name=name,
            description=description,
            definition=norm.stored(),
            created_by=actor.person_id,
            row_count=0,
            stale=True,
        )
        session.add(db)
        session.flush()
        materialize(session, db)
        db.resource_id, code = _register(session, actor, db, norm, columns, legal_basis)
        session.flush()
    audit.record(
        session,
        actor,
        "aggregation.thematic.define",
        object_type="thematic_database",
        object_id=db.id,
        summary=f"建立主题数据库“{name}”（{db.row_count} 行），登记为目录资源 {code}",
        change={"name": name, "definition": norm.stored(), "resource": code},
        department_id=dept.id,
    )
    return db


# --- registration in the catalog (Art. 11, 12, 25(3)) -----------------------------------------


def _values(enum: type[StrEnum]) -> set[str]:
    return {m.value for m in enum}


def _register(
    session: Session,
    actor: Actor,
    db: ThematicDatabase,
    spec: ThematicDefinition,
    columns: list[ThematicColumn],
    legal_basis: str,
) -> tuple[int, str]:
    """Register the thematic resource in the department's catalog list: its items are the
    subject key and the columns; its basis, security level and update cycle follow its
    sources. Returns the resource's id and code."""
    base = definitions.base_of(session, spec)
    kind = BaseKind(base.kind)
    sources = published.listing(session, codes={c.resource_code for c in columns})
    bases = [r.legal_basis.strip() for r in sources]
    basis = legal_basis.strip() or "；".join(dict.fromkeys(b for b in bases if b))
    # The strictest of the sources' security levels (Art. 11), the shortest update cycle.
    security = vocabularies.strictest(session, [r.security_level for r in sources])
    timed = [r.update_cycle for r in sources if r.update_cycle.max_days is not None]
    cycle = min(timed, key=lambda c: c.max_days or 0) if timed else UpdateCycle.IRREGULAR
    items = [
        InfoItemIn(
            name=base.key_name,
            data_type=DataType.C,
            length=KEY_LENGTH,
            is_subject_key=True,
        )
    ]
    for c in columns:
        data_type = DataType(c.data_type) if c.data_type in _values(DataType) else DataType.C
        length = c.length if c.length else (255 if data_type is DataType.C else None)
        share = (
            ShareType(c.share_type)
            if c.share_type in _values(ShareType)
            else ShareType.UNCONDITIONAL
        )
        items.append(
            InfoItemIn(
                name=c.label,
                data_type=data_type,
                length=length,
                share_type=None if share is ShareType.UNCONDITIONAL else share,
            )
        )
    data = ResourceIn(
        category=Category.THEMATIC,
        class_path=CLASS_PATHS[kind],
        name=db.name,
        abstract=db.description
        or f"{db.name}（主题数据库，汇聚自{base.name}和部门政务数据资源池）",
        format=ResourceFormat.DATABASE,
        share_type=ShareType.UNCONDITIONAL,  # Art. 25(3)
        share_method="共享系统",
        open_type=OpenType.NONE,
        legal_basis=basis,
        update_cycle=cycle,
        security_level=security,
        subject_kind=SUBJECT_KINDS[kind],
        items=items,
    )
    created = catalog_service.create_resource(session, actor, db.department_id, data)
    return created.id, created.code
