"""Storing a checked import: unchanged rows left alone, others via the services or set-based."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from govdata.catalog import policy, rules, service
from govdata.catalog.models import (
    Classification,
    InfoItem,
    Resource,
    ResourceState,
)
from govdata.catalog.schemas import ResourceIn
from govdata.catalog.spreadsheet.columns import (
    R_CODE,
    RESOURCE_SHEET,
    ImportRejected,
    ImportResult,
    _Problems,
    _ResourceRow,
)
from govdata.catalog.spreadsheet.reading import (
    _check,
    _chunks,
)
from govdata.catalog.vocab import (
    Category,
)
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.org import service as org_service
from govdata.org.models import Department

# From this many changed rows on, the set-based path stores them (the services' rules, same rows).
BULK_THRESHOLD = 200

_RESOURCES = cast(Table, Resource.__table__)
_ITEMS = cast(Table, InfoItem.__table__)
_CLASSES = cast(Table, Classification.__table__)


# --- stored resources -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stored:
    data: ResourceIn
    state: str
    withdrawn: bool


def _stored(session: Session, ids: Sequence[int]) -> dict[int, _Stored]:
    """Stored resources as ``service.as_input`` sees them, read with two plain queries.

    ``as_input`` reads attributes only, so it is given plain views of the rows rather than ORM
    objects: ten times cheaper for a whole list, and the caller's session does not collect
    thousands of objects that the set-based path would then leave stale.
    """
    out: dict[int, _Stored] = {}
    for chunk in _chunks(sorted(set(ids))):
        items: dict[int, list[SimpleNamespace]] = defaultdict(list)
        for item in session.execute(
            select(_ITEMS)
            .where(_ITEMS.c.resource_id.in_(chunk))
            .order_by(_ITEMS.c.resource_id, _ITEMS.c.position)
        ).mappings():
            items[item["resource_id"]].append(SimpleNamespace(**item))
        for row in session.execute(
            select(_RESOURCES, Classification.category, Classification.path)
            .join(Classification, Classification.id == _RESOURCES.c.classification_id)
            .where(_RESOURCES.c.id.in_(chunk))
        ).mappings():
            view = SimpleNamespace(
                **row,
                classification=SimpleNamespace(category=row["category"], path=row["path"]),
                items=items.get(row["id"], []),
            )
            data = service.as_input(cast(Resource, view))
            out[row["id"]] = _Stored(data, row["state"], row["withdrawn"])
    return out


# --- import -----------------------------------------------------------------------------------


def import_catalog(
    session: Session, actor: Actor, department_id: int, content: bytes
) -> ImportResult:
    """Import a department's catalog list from an xlsx file: every row, or nothing.

    Raises ``ImportRejected`` (every problem, by sheet, row and column) when any row is wrong,
    ``InvalidInput`` for a file that cannot be read at all, and the services' errors for
    permissions. Writes in the caller's transaction and flushes; the caller commits.
    """
    department = org_service.get_department(session, actor, department_id)
    policy.require_edit_list(actor, department.id)
    service.lock_list(session, department.id)  # a concurrent import of it stores first
    records, problems, layouts = _check(session, department, content)

    to_create = [r for r in records if r.data is not None and r.resource_id is None]
    to_update: list[_ResourceRow] = []
    unchanged = 0
    existing = [r for r in records if r.data is not None and r.resource_id is not None]
    for chunk in _chunks(existing):  # the stored copies of one chunk at a time in memory
        stored = _stored(session, [r.resource_id for r in chunk if r.resource_id])
        unchanged += _compare(chunk, stored, to_update, problems)
    if problems.items:
        raise ImportRejected(problems.items, layouts)
    if len(to_create) + len(to_update) >= BULK_THRESHOLD:
        codes = _store_bulk(session, department, to_create, to_update)
    else:
        codes = _store_with_services(session, actor, department, to_create, to_update)
    created = [codes[r.row] for r in to_create]
    updated = [r.code for r in to_update]
    if created or updated:
        audit.record(
            session,
            actor,
            "catalog.list.import",
            object_type="department",
            object_id=department.code,
            summary=(
                f"{department.name}导入目录清单：新增{len(created)}条、修改{len(updated)}条、"
                f"未变{unchanged}条"
            ),
            change={"created": created, "updated": updated, "unchanged": unchanged},
            region_id=department.region_id,
            department_id=department.id,
        )
    return ImportResult(
        created=len(created),
        updated=len(updated),
        unchanged=unchanged,
        codes=[codes.get(r.row, r.code) for r in records],
        layouts=layouts,
    )


def _compare(
    records: Sequence[_ResourceRow],
    stored: dict[int, _Stored],
    to_update: list[_ResourceRow],
    problems: _Problems,
) -> int:
    """Sort rows naming existing resources into changed (``to_update``) and unchanged (counted);
    a changed row of a resource under review or retired is a problem."""
    unchanged = 0
    for record in records:
        assert record.resource_id is not None
        current = stored[record.resource_id]
        if current.data == record.data and not current.withdrawn:
            unchanged += 1  # as service.update_resource: nothing changed, the state stays
            continue
        state = ResourceState(current.state)
        if state not in service.EDITABLE_STATES:
            problems.add(
                RESOURCE_SHEET,
                record.row,
                R_CODE,
                "catalog.import_resource_locked",
                f"“{record.name}”（{record.code}）已从目录中撤销，不能再修改；如需恢复请新增资源。"
                if state is ResourceState.RETIRED
                else f"“{record.name}”（{record.code}）{state.label}，暂不能修改；"
                "请在审核结束后导入，或保持该行与平台上的内容一致。",
            )
            continue
        to_update.append(record)
    return unchanged


def _store_with_services(
    session: Session,
    actor: Actor,
    department: Department,
    to_create: list[_ResourceRow],
    to_update: list[_ResourceRow],
) -> dict[int, str]:
    """Store through the services, row by row in the file's order (codes issued in that order)."""
    codes: dict[int, str] = {}
    for record in sorted(to_create + to_update, key=lambda r: r.row):
        assert record.data is not None
        if record.resource_id is None:
            resource = service.create_resource(
                session, actor, department.id, record.data, audit_event=False
            )
            codes[record.row] = resource.code
        else:
            service.update_resource(
                session, actor, record.resource_id, record.data, audit_event=False
            )
    return codes


_APPLIED_COLUMNS = (
    "classification_id",
    "name",
    "abstract",
    "format",
    "format_subtype",
    "share_type",
    "share_conditions",
    "share_method",
    "open_type",
    "open_conditions",
    "legal_basis",
    "update_cycle",
    "published_on",
    "related_codes",
    "security_level",
    "usage_requirements",
    "subject_kind",
    "updated_at",
)


def _stored_values(data: ResourceIn, classification_id: int, now: datetime) -> dict[str, Any]:
    """The columns ``service._apply`` sets, for the set-based path."""
    return {
        "classification_id": classification_id,
        "name": data.name,
        "abstract": data.abstract,
        "format": data.format,
        "format_subtype": data.format_subtype,
        "share_type": data.share_type.value,
        "share_conditions": data.share_conditions,
        "share_method": data.share_method,
        "open_type": data.open_type.value,
        "open_conditions": data.open_conditions,
        "legal_basis": data.legal_basis,
        "update_cycle": data.update_cycle.value,
        "published_on": data.published_on,
        "related_codes": sorted({c.strip() for c in data.related_codes if c.strip()}),
        "security_level": data.security_level,
        "usage_requirements": data.usage_requirements,
        "subject_kind": rules.infer_subject(data).value,
        "updated_at": now,
    }


def _item_values(data: ResourceIn) -> list[dict[str, Any]]:
    return [
        {
            "position": n,
            "name": i.name,
            "data_type": i.data_type.value,
            "length": i.length,
            "share_type": (i.share_type or data.share_type).value,
            "open_type": (i.open_type or data.open_type).value,
            "is_subject_key": i.is_subject_key,
        }
        for n, i in enumerate(data.items, start=1)
    ]


def _store_bulk(
    session: Session,
    department: Department,
    to_create: list[_ResourceRow],
    to_update: list[_ResourceRow],
) -> dict[int, str]:
    """The services' writes, set-based: the same rows, codes, items and states.

    Rules, permissions, names and related codes were checked for every row by ``_check``.
    Classifications are found or created in the file's order (``service.classification_for``,
    as the services call it row by row) and each classification's codes are reserved in one
    statement, in the file's order, so the codes are those the services would have issued.
    """
    now = utcnow()
    nodes: dict[tuple[Category, str], Classification] = {}
    node_of: dict[int, Classification] = {}  # row -> its classification
    for record in sorted(to_create + to_update, key=lambda r: r.row):
        assert record.data is not None
        key = (record.data.category, "/".join(rules.class_levels(record.data.class_path)))
        if key not in nodes:
            nodes[key] = service.classification_for(session, *key)
        node_of[record.row] = nodes[key]
    conn = session.connection()
    creates = sorted(to_create, key=lambda r: r.row)
    updates = sorted(to_update, key=lambda r: r.row)
    codes = _reserve_codes(session, conn, creates, node_of)

    new_ids: dict[int, int] = {}
    for chunk in _chunks(creates):
        rows = []
        for record in chunk:
            assert record.data is not None
            rows.append(
                {
                    **_stored_values(record.data, node_of[record.row].id, now),
                    "code": codes[record.row],
                    "department_id": department.id,
                    "state": ResourceState.DRAFT.value,
                    "withdrawn": False,
                    "created_at": now,
                }
            )
        # A plain executemany and then the ids by code: INSERT .. RETURNING with many rows
        # is three times slower on PostgreSQL (BENCHMARKS.md, "Catalog import and publish").
        conn.execute(insert(_RESOURCES), rows)
        id_of = dict(
            conn.execute(
                select(_RESOURCES.c.code, _RESOURCES.c.id).where(
                    _RESOURCES.c.code.in_([row["code"] for row in rows])
                )
            ).all()
        )
        for record in chunk:
            new_ids[record.row] = id_of[codes[record.row]]
    deleted_items = _update_changed(conn, updates, node_of, now)

    item_rows: list[dict[str, Any]] = []
    for record in [*creates, *updates]:
        assert record.data is not None
        rid = new_ids[record.row] if record.resource_id is None else record.resource_id
        item_rows.extend({**v, "resource_id": rid} for v in _item_values(record.data))
    for item_chunk in _chunks(item_rows, 5000):
        conn.execute(insert(_ITEMS), list(item_chunk))

    # Objects the caller's session holds for the changed rows no longer match them.
    for resource_id in (r.resource_id for r in updates):
        held = session.identity_map.get(identity_key(Resource, resource_id))
        if held is not None:
            session.expire(held)
    for item_id in deleted_items:
        item = session.identity_map.get(identity_key(InfoItem, item_id))
        if item is not None:
            session.expunge(item)
    return codes


def _reserve_codes(
    session: Session,
    conn: Connection,
    creates: list[_ResourceRow],
    node_of: dict[int, Classification],
) -> dict[int, str]:
    """Codes for the new rows: one ``next_seq`` advance per classification (as issue_code)."""
    batches: dict[int, list[_ResourceRow]] = defaultdict(list)
    nodes: dict[int, Classification] = {}
    for record in creates:
        node = node_of[record.row]
        batches[node.id].append(record)
        nodes[node.id] = node
    codes: dict[int, str] = {}
    for node_id, batch in batches.items():
        node = nodes[node_id]
        end = conn.execute(
            update(_CLASSES)
            .where(_CLASSES.c.id == node_id)
            .values(next_seq=_CLASSES.c.next_seq + len(batch))
            .returning(_CLASSES.c.next_seq)
        ).scalar_one()
        for seq, record in enumerate(batch, start=end - len(batch)):
            codes[record.row] = f"{node.code}/{seq:06d}"  # as service.issue_code
        session.expire(node, ["next_seq"])
    return codes


def _update_changed(
    conn: Connection,
    updates: list[_ResourceRow],
    node_of: dict[int, Classification],
    now: datetime,
) -> list[int]:
    """Changed resources: their columns as ``service._apply`` sets them, their items removed
    (returns the removed items' ids)."""
    if not updates:
        return []
    stmt = (
        update(_RESOURCES)
        .where(_RESOURCES.c.id == bindparam("b_id"))
        .values(
            {
                **{c: bindparam(f"b_{c}", type_=_RESOURCES.c[c].type) for c in _APPLIED_COLUMNS},
                "withdrawn": False,
                "state": ResourceState.DRAFT.value,
            }
        )
    )
    params: list[dict[str, Any]] = []
    for record in updates:
        assert record.data is not None and record.resource_id is not None
        applied = _stored_values(record.data, node_of[record.row].id, now)
        params.append({"b_id": record.resource_id, **{f"b_{k}": v for k, v in applied.items()}})
    for chunk in _chunks(params, 1000):
        conn.execute(stmt, list(chunk))
    deleted: list[int] = []
    for ids in _chunks([r.resource_id for r in updates]):
        deleted.extend(
            conn.execute(
                delete(_ITEMS).where(_ITEMS.c.resource_id.in_(ids)).returning(_ITEMS.c.id)
            ).scalars()
        )
    return deleted
