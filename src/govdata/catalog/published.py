"""The published catalog as other domains read it (Art. 11, 12, 13): typed, one query a call.

Aggregation, and next sharing and open data, read resources, their info items, share and open
types (Art. 24, 30), subject kind (Art. 16), provider, classification and update cycle only
through this module: never the catalog's tables, never a revision's JSON snapshot by key.

A resource is *published* while the current published version carries it
(``Resource.published_revision_id``); what it carries is that revision, frozen when it was
submitted. A department that asked to withdraw it waits for the review (Art. 12, 14): until the
withdrawal is published the resource stays in the catalog with ``withdrawal_pending`` set, and
each domain decides what that means for it (aggregation loads nothing more into it).

``CatalogResource`` is a resource of a department's catalog list, published or not: what a
reference to it (a base item's source, a registered thematic resource) shows. ``members`` is
the one set-based read: a published version's resources as a subquery, for statements that
join them to a domain's own tables (the responsibility lists against the pools, Art. 13).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, Subquery, cast, select
from sqlalchemy.orm import Session, aliased

from govdata.catalog.models import CatalogVersion, CatalogVersionMember, Resource, ResourceRevision
from govdata.catalog.vocab import (
    ID_NUMBER_ITEM_NAMES,
    USCC_ITEM_NAMES,
    Category,
    DataType,
    OpenType,
    ShareType,
    SubjectKind,
    UpdateCycle,
)
from govdata.org.models import Department


@dataclass(frozen=True)
class PublishedItem:
    """An info item (信息项) as the published revision carries it."""

    name: str
    data_type: DataType
    length: int | None
    share_type: ShareType  # the item's own, or the resource's where it has none (Art. 24)
    open_type: OpenType  # likewise (Art. 30)
    is_subject_key: bool  # marked as the subject key in the catalog (Art. 16)


@dataclass(frozen=True)
class PublishedResource:
    """A resource as the published catalog carries it: its published revision."""

    resource_id: int
    revision_id: int
    revision_number: int
    code: str
    name: str
    abstract: str
    department_id: int  # the providing department
    department_code: str
    department_name: str
    category: Category
    class_path: str
    classification_code: str
    format: str
    share_type: ShareType
    share_conditions: str
    open_type: OpenType
    open_conditions: str
    legal_basis: str
    update_cycle: UpdateCycle
    security_level: str  # a code of the city bureau's 安全级别 list (catalog.vocabularies)
    subject_kind: SubjectKind
    items: tuple[PublishedItem, ...]
    withdrawal_pending: bool  # its department asked to withdraw it; the review has not ended

    def item(self, name: str) -> PublishedItem | None:
        return next((i for i in self.items if i.name == name), None)

    @property
    def subject_key(self) -> PublishedItem | None:
        """The item that identifies whom a record is about (Art. 16): the one marked as such;
        failing that, the 公民身份号码 (persons) or 统一社会信用代码 (legal persons) item."""
        marked = next((i for i in self.items if i.is_subject_key), None)
        if marked is not None:
            return marked
        names = {
            SubjectKind.PERSON: ID_NUMBER_ITEM_NAMES,
            SubjectKind.LEGAL_PERSON: USCC_ITEM_NAMES,
        }.get(self.subject_kind)
        if not names:
            return None
        return next((i for i in self.items if i.name in names), None)


@dataclass(frozen=True)
class CatalogResource:
    """A resource of a department's catalog list, published or not, as a reference shows it
    (its working name), with its published form when the catalog carries it."""

    resource_id: int
    code: str
    name: str
    department_id: int
    department_name: str
    published: PublishedResource | None


@dataclass(frozen=True)
class Version:
    """A published version of the city's catalog (Art. 12 ¶3)."""

    id: int
    number: int


# --- reading ------------------------------------------------------------------------------------


def find(session: Session, code: str) -> PublishedResource | None:
    """The published resource with ``code``; None when the catalog does not carry it."""
    found = session.execute(_published().where(Resource.code == code)).first()
    return _typed(*found) if found is not None else None


def get_many(session: Session, resource_ids: Iterable[int]) -> dict[int, PublishedResource]:
    """The published ones among ``resource_ids``, by resource id."""
    wanted = set(resource_ids)
    if not wanted:
        return {}
    rows = session.execute(_published().where(Resource.id.in_(wanted)))
    return {r.resource_id: r for r in (_typed(*row) for row in rows)}


def listing(
    session: Session,
    *,
    department_ids: Collection[int] | Select[int] | None = None,
    codes: Collection[str] | None = None,
    exclude_category: Category | None = None,
    limit: int | None = None,
) -> list[PublishedResource]:
    """Published resources in code order: of some departments (ids, or a query of ids), with
    some codes, without a category (thematic resources are built, not collected)."""
    stmt = _published()
    if department_ids is not None:
        stmt = stmt.where(Resource.department_id.in_(department_ids))
    if codes is not None:
        stmt = stmt.where(Resource.code.in_(codes))
    if exclude_category is not None:
        stmt = stmt.where(ResourceRevision.category != exclude_category.value)
    stmt = stmt.order_by(Resource.code)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_typed(*row) for row in session.execute(stmt)]


def listing_state(session: Session) -> int:
    """A hash of all that ``listing`` reads apart from the frozen revisions themselves: each
    resource's published revision (with its creation time, so that another database's revision
    of the same id differs), withdrawal request and department name. Equal states give
    equal listings, so a caller may keep a listing for as long as the state is unchanged (the
    aggregation pages, issue 16: the full listing costs ~0.3 s, this ~10 ms)."""
    rows = session.execute(
        select(
            Resource.id,
            Resource.published_revision_id,
            Resource.withdrawn,
            ResourceRevision.withdrawn,
            cast(ResourceRevision.created_at, String),  # as text: no datetime per row
            Department.name,
        )
        .join(ResourceRevision, ResourceRevision.id == Resource.published_revision_id)
        .join(Department, Department.id == Resource.department_id)
        .order_by(Resource.id)
    )
    return hash(tuple(tuple(r) for r in rows))


def resource(session: Session, code: str) -> CatalogResource | None:
    """The resource with ``code`` in any department's catalog list, published or not."""
    found = session.execute(_referenced().where(Resource.code == code)).first()
    return _reference(*found) if found is not None else None


def resources(session: Session, resource_ids: Iterable[int]) -> dict[int, CatalogResource]:
    """The resources with these ids, published or not, by id."""
    wanted = set(resource_ids)
    if not wanted:
        return {}
    rows = session.execute(_referenced().where(Resource.id.in_(wanted)))
    return {r.resource_id: r for r in (_reference(*row) for row in rows)}


def resources_by_code(session: Session, codes: Iterable[str]) -> dict[str, CatalogResource]:
    """The resources with these codes, published or not, by code."""
    wanted = set(codes)
    if not wanted:
        return {}
    rows = session.execute(_referenced().where(Resource.code.in_(wanted)))
    return {r.code: r for r in (_reference(*row) for row in rows)}


def current_version(session: Session) -> Version | None:
    """The latest published version; None before the first one."""
    row = session.execute(
        select(CatalogVersion.id, CatalogVersion.number)
        .order_by(CatalogVersion.number.desc())
        .limit(1)
    ).first()
    return Version(id=int(row[0]), number=int(row[1])) if row is not None else None


def members(version_id: int) -> Subquery:
    """The resources a published version carries, one row each, to join in a statement:
    ``resource_id``, ``code``, ``name``, ``department_id`` (its department's responsibility
    list, Art. 13) and ``update_cycle``."""
    return (
        select(
            ResourceRevision.resource_id.label("resource_id"),
            ResourceRevision.code.label("code"),
            ResourceRevision.name.label("name"),
            ResourceRevision.department_id.label("department_id"),
            ResourceRevision.update_cycle.label("update_cycle"),
        )
        .join(CatalogVersionMember, CatalogVersionMember.revision_id == ResourceRevision.id)
        .where(CatalogVersionMember.version_id == version_id)
        .subquery("catalog_members")
    )


# --- the statements and their typing ------------------------------------------------------------


def _published() -> Select[bool, ResourceRevision, str, str]:
    return (
        select(Resource.withdrawn, ResourceRevision, Department.code, Department.name)
        .join(ResourceRevision, ResourceRevision.id == Resource.published_revision_id)
        .join(Department, Department.id == Resource.department_id)
        .where(ResourceRevision.withdrawn.is_(False))
    )


def _referenced() -> Select[int, str, str, int, bool, ResourceRevision, str, str]:
    revision = aliased(ResourceRevision)
    return (
        select(
            Resource.id,
            Resource.code,
            Resource.name,
            Resource.department_id,
            Resource.withdrawn,
            revision,
            Department.code,
            Department.name,
        )
        .outerjoin(
            revision,
            (revision.id == Resource.published_revision_id) & revision.withdrawn.is_(False),
        )
        .join(Department, Department.id == Resource.department_id)
    )


def _reference(
    resource_id: int,
    code: str,
    name: str,
    department_id: int,
    withdrawal_pending: bool,
    revision: ResourceRevision | None,
    department_code: str,
    department_name: str,
) -> CatalogResource:
    return CatalogResource(
        resource_id=resource_id,
        code=code,
        name=name,
        department_id=department_id,
        department_name=department_name,
        published=(
            _typed(withdrawal_pending, revision, department_code, department_name)
            if revision is not None
            else None
        ),
    )


def _typed(
    withdrawal_pending: bool,
    revision: ResourceRevision,
    department_code: str,
    department_name: str,
) -> PublishedResource:
    """The revision's snapshot (``catalog.service.snapshot``) as typed values."""
    data: dict[str, Any] = revision.data or {}
    share = ShareType(revision.share_type)
    opened = OpenType(revision.open_type)
    return PublishedResource(
        resource_id=revision.resource_id,
        revision_id=revision.id,
        revision_number=revision.number,
        code=revision.code,
        name=revision.name,
        abstract=str(data.get("abstract") or ""),
        department_id=revision.department_id,
        department_code=department_code,
        department_name=department_name,
        category=Category(revision.category),
        class_path=str(data.get("class_path") or ""),
        classification_code=revision.classification_code,
        format=revision.format,
        share_type=share,
        share_conditions=str(data.get("share_conditions") or ""),
        open_type=opened,
        open_conditions=str(data.get("open_conditions") or ""),
        legal_basis=str(data.get("legal_basis") or ""),
        update_cycle=UpdateCycle(revision.update_cycle),
        security_level=str(data.get("security_level") or ""),
        subject_kind=SubjectKind(data.get("subject_kind") or SubjectKind.OTHER),
        items=tuple(
            PublishedItem(
                name=str(i["name"]),
                data_type=DataType(i["data_type"]),
                length=int(i["length"]) if i.get("length") else None,
                share_type=ShareType(i.get("share_type") or share),
                open_type=OpenType(i.get("open_type") or opened),
                is_subject_key=bool(i.get("is_subject_key")),
            )
            for i in data.get("items", [])
        ),
        withdrawal_pending=bool(withdrawal_pending),
    )


# --- a light index (lists that filter many resources, then read one page in full) -------------


@dataclass(frozen=True)
class IndexEntry:
    """A published resource's few fields that lists filter on (the share catalog, Art. 26);
    ``item_names`` only when asked for (it decodes the revision's snapshot)."""

    resource_id: int
    code: str
    name: str
    department_id: int
    department_name: str
    category: str  # Category value
    share_type: str  # ShareType value
    update_cycle: str
    withdrawal_pending: bool
    item_names: tuple[str, ...]


def index(session: Session, *, with_item_names: bool = False) -> list[IndexEntry]:
    """Every published resource in code order, as ``IndexEntry``: plain columns, no typed
    snapshot, so that a list of thousands filters in milliseconds and reads only its page with
    ``listing(codes=...)`` or ``find``."""
    columns: list[Any] = [
        Resource.withdrawn,
        ResourceRevision.resource_id,
        ResourceRevision.code,
        ResourceRevision.name,
        ResourceRevision.department_id,
        Department.name,
        ResourceRevision.category,
        ResourceRevision.share_type,
        ResourceRevision.update_cycle,
    ]
    if with_item_names:
        columns.append(ResourceRevision.data)
    stmt = (
        select(*columns)
        .join(ResourceRevision, ResourceRevision.id == Resource.published_revision_id)
        .join(Department, Department.id == Resource.department_id)
        .where(ResourceRevision.withdrawn.is_(False))
        .order_by(Resource.code)
    )
    out: list[IndexEntry] = []
    for row in session.execute(stmt):
        data: dict[str, Any] = (row[9] or {}) if with_item_names else {}
        out.append(
            IndexEntry(
                resource_id=row[1],
                code=row[2],
                name=row[3],
                department_id=row[4],
                department_name=row[5],
                category=row[6],
                share_type=row[7],
                update_cycle=row[8],
                withdrawal_pending=bool(row[0]),
                item_names=tuple(str(i["name"]) for i in data.get("items", [])),
            )
        )
    return out
