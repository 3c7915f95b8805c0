"""A department's catalog list: resources and their info items (Art. 11, 12, 16, 25, 31).

Every function takes the acting ``Actor``, checks permission through ``catalog.policy``, applies
the regulation's rules (``catalog.rules``), writes its audit event and flushes; the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from govdata.catalog import policy, rules, vocabularies, vocabulary_checks
from govdata.catalog.models import Classification, InfoItem, Resource, ResourceState
from govdata.catalog.schemas import InfoItemIn, ResourceIn
from govdata.catalog.vocab import Category
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import insert_unless_exists, utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.pagination import Page, paginate
from govdata.org import service as org_service
from govdata.org.models import Department

# Digits of each level below the class in the classification code (项 2, 目 3, 细目 3).
LEVEL_DIGITS = (2, 3, 3)
EDITABLE_STATES = frozenset({ResourceState.DRAFT, ResourceState.RETURNED, ResourceState.PUBLISHED})


# --- classification and codes -----------------------------------------------------------------


def classification_for(session: Session, category: Category, class_path: str) -> Classification:
    """The classification node for ``category`` + ``class_path``, created with its code if new.

    Codes follow the guide's layout: the class digit, then 项 (2 digits), 目 (3), 细目 (3),
    zero-filled: 基础/人口/户籍 → 101001000. Siblings are numbered in order of first use. Two
    units of work using a new node at once get the same node (``INSERT … ON CONFLICT``).
    """
    levels = rules.class_levels(class_path)
    node = _node(session, category, "") or _create_node(
        session, category, "", lambda: category.digit + "0" * 8
    )
    for depth in range(1, len(levels) + 1):
        path = "/".join(levels[:depth])
        next_code = partial(_next_child_code, session, category, node, depth)
        node = _node(session, category, path) or _create_node(session, category, path, next_code)
    return node


_NODE_ATTEMPTS = 5
_CLASSES = cast(Table, Classification.__table__)


def _create_node(
    session: Session, category: Category, path: str, code: Callable[[], str]
) -> Classification:
    """Insert the node unless it exists. A concurrent unit of work may create the same node
    (then it is used) or a sibling taking the same code (then the next number is tried)."""
    for _ in range(_NODE_ATTEMPTS):
        values = {"category": category.value, "path": path, "code": code(), "next_seq": 1}
        insert_unless_exists(session, _CLASSES, values)
        node = _node(session, category, path)
        if node is not None:
            return node
    raise Conflict("catalog.class_busy", "该分类正被同时修改，请稍后重试。")


def _node(session: Session, category: Category, path: str) -> Classification | None:
    return session.scalar(
        select(Classification).where(
            Classification.category == category.value, Classification.path == path
        )
    )


def _next_child_code(
    session: Session, category: Category, parent: Classification, depth: int
) -> str:
    start = 1 + sum(LEVEL_DIGITS[: depth - 1])
    width = LEVEL_DIGITS[depth - 1]
    prefix = parent.code[:start]
    siblings = session.scalars(
        select(Classification.code).where(
            Classification.category == category.value,
            Classification.code.startswith(prefix),
            Classification.path != parent.path,
        )
    ).all()
    used = [int(code[start : start + width]) for code in siblings if code[start : start + width]]
    number = max(used, default=0) + 1
    if number >= 10**width:
        raise InvalidInput("catalog.class_full", "该分类下的子分类数量已达上限。")
    return (prefix + str(number).zfill(width)).ljust(9, "0")


def lock_list(session: Session, department_id: int) -> None:
    """Writers of one department's list take turns until they commit (imports, new and changed
    resources): each then checks names against what the previous one stored (Art. 12).

    PostgreSQL: ``FOR NO KEY UPDATE`` on the department row, which rows referring to the
    department do not wait for; SQLite: its write lock does it already (BEGIN IMMEDIATE).
    """
    session.execute(
        select(Department.id).where(Department.id == department_id).with_for_update(key_share=True)
    )


def issue_code(session: Session, classification: Classification) -> str:
    """The next resource code in a classification: ``101001000/000001`` (never reused)."""
    seq = session.execute(
        update(Classification)
        .where(Classification.id == classification.id)
        .values(next_seq=Classification.next_seq + 1)
        .returning(Classification.next_seq)
    ).scalar_one()
    session.expire(classification, ["next_seq"])
    return f"{classification.code}/{seq - 1:06d}"


# --- reading ----------------------------------------------------------------------------------


def get_resource(session: Session, actor: Actor, resource_id: int) -> Resource:
    resource = session.scalar(
        policy.visible_resources(actor)
        .where(Resource.id == resource_id)
        .options(selectinload(Resource.items), selectinload(Resource.classification))
    )
    if resource is None:
        raise NotFound("catalog.resource_not_found", "未找到该政务数据资源。")
    return resource


def get_resource_by_code(session: Session, actor: Actor, code: str) -> Resource:
    resource = session.scalar(
        policy.visible_resources(actor)
        .where(Resource.code == code)
        .options(selectinload(Resource.items), selectinload(Resource.classification))
    )
    if resource is None:
        raise NotFound("catalog.resource_not_found", f"未找到代码为 {code} 的政务数据资源。")
    return resource


def list_resources(
    session: Session,
    actor: Actor,
    *,
    department_id: int | None = None,
    state: ResourceState | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Resource]:
    """A department's catalog list as its editor shows it (drafts included)."""
    stmt = policy.visible_resources(actor).options(selectinload(Resource.classification))
    if department_id is not None:
        stmt = stmt.where(Resource.department_id == department_id)
    if state is not None:
        stmt = stmt.where(Resource.state == state.value)
    if q:
        stmt = stmt.where(or_(Resource.name.contains(q), Resource.code.contains(q)))
    return paginate(session, stmt.order_by(Resource.department_id, Resource.code), offset, limit)


def state_counts(session: Session, actor: Actor, department_id: int) -> dict[str, int]:
    rows = session.execute(
        policy.visible_resources(actor)
        .with_only_columns(Resource.state, func.count())
        .where(Resource.department_id == department_id)
        .group_by(Resource.state)
    )
    return dict(rows.all())


def as_input(resource: Resource) -> ResourceIn:
    """A stored resource as the input that would recreate it (forms, export, round trips)."""
    return ResourceIn(
        category=Category(resource.classification.category),
        class_path=resource.classification.path,
        name=resource.name,
        abstract=resource.abstract,
        format=resource.format,
        format_subtype=resource.format_subtype,
        share_type=resource.share_type,
        share_conditions=resource.share_conditions,
        share_method=resource.share_method,
        open_type=resource.open_type,
        open_conditions=resource.open_conditions,
        legal_basis=resource.legal_basis,
        update_cycle=resource.update_cycle,
        published_on=resource.published_on,
        related_codes=list(resource.related_codes),
        security_level=resource.security_level,
        usage_requirements=resource.usage_requirements,
        subject_kind=resource.subject_kind,
        items=[
            InfoItemIn(
                name=i.name,
                data_type=i.data_type,
                length=i.length,
                share_type=None if i.share_type == resource.share_type else i.share_type,
                open_type=None if i.open_type == resource.open_type else i.open_type,
                is_subject_key=i.is_subject_key,
            )
            for i in resource.items
        ],
    )


def snapshot(
    resource: Resource, department: Department, classification: Classification
) -> dict[str, Any]:
    """The resource as a revision freezes it: every metadata field, by value (JSON-ready)."""
    data = as_input(resource).model_dump(mode="json")
    data["items"] = [
        {
            "name": i.name,
            "data_type": i.data_type,
            "length": i.length,
            "share_type": i.share_type,
            "open_type": i.open_type,
            "is_subject_key": i.is_subject_key,
        }
        for i in resource.items
    ]
    data.update(
        code=resource.code,
        classification_code=classification.code,
        department_code=department.code,
        department_name=department.name,
        withdrawn=resource.withdrawn,
    )
    return data


# --- writing ----------------------------------------------------------------------------------


def check_related_codes(session: Session, codes: list[str], own_code: str | None = None) -> None:
    wanted = {c.strip() for c in codes if c.strip()}
    if own_code in wanted:
        raise InvalidInput("catalog.related_code_self", "关联资源代码不能是本资源自身。")
    if not wanted:
        return
    found = set(session.scalars(select(Resource.code).where(Resource.code.in_(wanted))))
    missing = sorted(wanted - found)
    if missing:
        raise InvalidInput(
            "catalog.related_code_unknown",
            f"关联资源代码不存在：{'、'.join(missing)}。",
            detail={"codes": missing},
        )


def _check_name_free(
    session: Session, department_id: int, name: str, resource_id: int | None = None
) -> None:
    stmt = select(Resource.id).where(
        Resource.department_id == department_id,
        Resource.name == name,
        Resource.state != ResourceState.RETIRED,
    )
    if resource_id is not None:
        stmt = stmt.where(Resource.id != resource_id)
    if session.scalar(stmt) is not None:
        raise Conflict("catalog.resource_name_taken", f"本部门目录清单中已有名为“{name}”的资源。")


def lookup_problems(
    session: Session,
    department_id: int,
    *,
    name: str,
    related_codes: list[str],
    resource_id: int | None = None,
    own_code: str | None = None,
) -> list[rules.Problem]:
    """The problems only the database can tell (an unknown related code, a name already in
    the list), as ``rules.Problem``s: a form reports them together with the schema's and the
    rules' problems, every one at once (issue 16), before the service would refuse the first."""
    out: list[rules.Problem] = []
    checks: list[tuple[str, Callable[[], None]]] = [
        ("related_codes", lambda: check_related_codes(session, related_codes, own_code)),
    ]
    if name.strip():
        checks.append(
            ("name", lambda: _check_name_free(session, department_id, name.strip(), resource_id))
        )
    for field_name, check in checks:
        try:
            check()
        except (InvalidInput, Conflict) as exc:
            out.append(rules.Problem(exc.code, exc.message, field_name))
    return out


def _apply(
    session: Session, resource: Resource, data: ResourceIn, classification: Classification
) -> None:
    if resource.id is not None and resource.items:
        # Old items go first: the unit of work would insert the new ones before deleting.
        resource.items = []
        session.flush()
    resource.classification_id = classification.id
    resource.classification = classification
    resource.name = data.name
    resource.abstract = data.abstract
    resource.format = data.format
    resource.format_subtype = data.format_subtype
    resource.share_type = data.share_type.value
    resource.share_conditions = data.share_conditions
    resource.share_method = data.share_method
    resource.open_type = data.open_type.value
    resource.open_conditions = data.open_conditions
    resource.legal_basis = data.legal_basis
    resource.update_cycle = data.update_cycle.value
    resource.published_on = data.published_on
    resource.related_codes = sorted({c.strip() for c in data.related_codes if c.strip()})
    resource.security_level = data.security_level
    resource.usage_requirements = data.usage_requirements
    resource.subject_kind = rules.infer_subject(data).value
    resource.items = [
        InfoItem(
            position=n,
            name=i.name,
            data_type=i.data_type.value,
            length=i.length,
            share_type=(i.share_type or data.share_type).value,
            open_type=(i.open_type or data.open_type).value,
            is_subject_key=i.is_subject_key,
        )
        for n, i in enumerate(data.items, start=1)
    ]
    resource.updated_at = utcnow()


def create_resource(
    session: Session,
    actor: Actor,
    department_id: int,
    data: ResourceIn,
    *,
    audit_event: bool = True,
) -> Resource:
    """Add a resource to a department's catalog list; the platform issues its code."""
    department = org_service.get_department(session, actor, department_id)
    policy.require_edit_list(actor, department.id)
    lock_list(session, department.id)
    vocabs = vocabularies.current_all(session)
    data = vocabulary_checks.checked_input(session, data, vocabs)
    rules.require_valid(data, vocabs[vocabularies.RESOURCE_FORMAT].label_of)
    check_related_codes(session, data.related_codes)
    _check_name_free(session, department.id, data.name)
    classification = classification_for(session, data.category, data.class_path)
    resource = Resource(
        code=issue_code(session, classification),
        department_id=department.id,
        state=ResourceState.DRAFT,
        items=[],
    )
    _apply(session, resource, data, classification)
    session.add(resource)
    session.flush()
    if audit_event:
        audit.record(
            session,
            actor,
            "catalog.resource.create",
            object_type="resource",
            object_id=resource.code,
            summary=f"新增政务数据资源“{resource.name}”（{resource.code}）",
            change=data.model_dump(mode="json"),
            region_id=department.region_id,
            department_id=department.id,
        )
    return resource


def _require_editable(resource: Resource) -> None:
    if resource.state == ResourceState.RETIRED:
        raise Conflict(
            "catalog.resource_retired",
            f"“{resource.name}”已从目录中撤销，不能再修改；如需恢复请新增资源。",
        )
    if ResourceState(resource.state) not in EDITABLE_STATES:
        raise Conflict(
            "catalog.resource_under_review",
            f"“{resource.name}”正在审核或等待发布（{ResourceState(resource.state).label}），暂不能修改。",
        )


def update_resource(
    session: Session, actor: Actor, resource_id: int, data: ResourceIn, *, audit_event: bool = True
) -> Resource:
    """Replace a resource's metadata in the list; its code stays (the guide: a stable code)."""
    resource = get_resource(session, actor, resource_id)
    policy.require_edit_list(actor, resource.department_id)
    lock_list(session, resource.department_id)
    _require_editable(resource)
    vocabs = vocabularies.current_all(session)
    data = vocabulary_checks.checked_input(session, data, vocabs)
    rules.require_valid(data, vocabs[vocabularies.RESOURCE_FORMAT].label_of)
    check_related_codes(session, data.related_codes, own_code=resource.code)
    _check_name_free(session, resource.department_id, data.name, resource.id)
    if as_input(resource) == data and not resource.withdrawn:
        return resource  # nothing changed: the state stays as it is
    classification = classification_for(session, data.category, data.class_path)
    _apply(session, resource, data, classification)
    resource.withdrawn = False
    resource.state = ResourceState.DRAFT
    session.flush()
    if audit_event:
        department = session.get(Department, resource.department_id)
        audit.record(
            session,
            actor,
            "catalog.resource.update",
            object_type="resource",
            object_id=resource.code,
            summary=f"修改政务数据资源“{resource.name}”（{resource.code}）",
            change=data.model_dump(mode="json"),
            region_id=department.region_id if department else None,
            department_id=resource.department_id,
        )
    return resource


def withdraw_resource(session: Session, actor: Actor, resource_id: int) -> Resource | None:
    """Take a resource out of the list.

    A resource never submitted is simply deleted (returns None); one that has been submitted
    or published is marked withdrawn, and leaves the catalog when the withdrawal is approved
    and published (Art. 14: the catalog changes only through review).
    """
    resource = get_resource(session, actor, resource_id)
    policy.require_edit_list(actor, resource.department_id)
    _require_editable(resource)
    code, name = resource.code, resource.name
    if resource.latest_revision_id is None:
        session.delete(resource)
        result = None
    else:
        resource.withdrawn = True
        resource.state = ResourceState.DRAFT
        resource.updated_at = utcnow()
        result = resource
    session.flush()
    audit.record(
        session,
        actor,
        "catalog.resource.withdraw",
        object_type="resource",
        object_id=code,
        summary=f"撤销政务数据资源“{name}”（{code}）",
        department_id=resource.department_id if result else None,
    )
    return result
