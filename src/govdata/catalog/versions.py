"""The published catalog and what derives from it (Art. 12 ¶3, 13, 26, 32).

Everything here reads a published ``CatalogVersion`` (the current one unless a number is given):
the catalog itself with its filters, the difference between two versions, each department's
responsibility list, the share catalog and the open catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from govdata.catalog import policy
from govdata.catalog.models import CatalogVersion, CatalogVersionMember, ResourceRevision
from govdata.catalog.vocab import OpenType, ShareType
from govdata.core.actor import Actor
from govdata.core.errors import InvalidInput, NotFound
from govdata.core.pagination import Page, paginate


def list_versions(session: Session, actor: Actor) -> list[CatalogVersion]:
    policy.require_read_published(actor)
    return list(session.scalars(select(CatalogVersion).order_by(CatalogVersion.number.desc())))


def get_version(session: Session, number: int | None = None) -> CatalogVersion:
    """A published version by number; the current one when ``number`` is None."""
    stmt = select(CatalogVersion)
    stmt = (
        stmt.where(CatalogVersion.number == number)
        if number is not None
        else stmt.order_by(CatalogVersion.number.desc()).limit(1)
    )
    version = session.scalar(stmt)
    if version is None:
        if number is None:
            raise NotFound("catalog.no_published_version", "政务数据资源目录尚未发布。")
        raise NotFound("catalog.version_not_found", f"未找到第{number}版目录。")
    return version


@dataclass(frozen=True)
class CatalogFilter:
    department_id: int | None = None
    region_id: int | None = None
    category: str | None = None
    share_type: str | None = None
    open_type: str | None = None
    update_cycle: str | None = None
    format: str | None = None
    # The share catalog lists what may be shared, the open catalog what may be opened.
    share_types: tuple[str, ...] = ()
    open_types: tuple[str, ...] = ()


SHARE_CATALOG = (ShareType.UNCONDITIONAL.value, ShareType.CONDITIONAL.value)
OPEN_CATALOG = (OpenType.UNCONDITIONAL.value, OpenType.CONDITIONAL.value)


def members_query(version_id: int, flt: CatalogFilter | None = None) -> Select[ResourceRevision]:
    """The revisions a version contains, filtered; ordered by code."""
    stmt = (
        select(ResourceRevision)
        .join(CatalogVersionMember, CatalogVersionMember.revision_id == ResourceRevision.id)
        .where(CatalogVersionMember.version_id == version_id)
    )
    if flt is not None:
        stmt = apply_filter(stmt, flt)
    return stmt.order_by(ResourceRevision.code)


def apply_filter(stmt: Select[Any], flt: CatalogFilter) -> Select[Any]:
    rev = ResourceRevision
    for column, value in (
        (rev.department_id, flt.department_id),
        (rev.region_id, flt.region_id),
        (rev.category, flt.category),
        (rev.share_type, flt.share_type),
        (rev.open_type, flt.open_type),
        (rev.update_cycle, flt.update_cycle),
        (rev.format, flt.format),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if flt.share_types:
        stmt = stmt.where(rev.share_type.in_(flt.share_types))
    if flt.open_types:
        stmt = stmt.where(rev.open_type.in_(flt.open_types))
    return stmt


def published(
    session: Session,
    actor: Actor,
    *,
    number: int | None = None,
    flt: CatalogFilter | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[CatalogVersion, Page[ResourceRevision]]:
    policy.require_read_published(actor)
    return _page(session, number, flt, offset, limit)


def _page(
    session: Session, number: int | None, flt: CatalogFilter | None, offset: int, limit: int
) -> tuple[CatalogVersion, Page[ResourceRevision]]:
    version = get_version(session, number)
    return version, paginate(session, members_query(version.id, flt), offset, limit)


def share_catalog(
    session: Session,
    actor: Actor,
    *,
    flt: CatalogFilter | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[CatalogVersion, Page[ResourceRevision]]:
    """The share catalog (Art. 26): published resources shared with or without conditions."""
    base = flt or CatalogFilter()
    return published(
        session,
        actor,
        flt=CatalogFilter(**{**base.__dict__, "share_types": SHARE_CATALOG}),
        offset=offset,
        limit=limit,
    )


def open_catalog(
    session: Session, *, flt: CatalogFilter | None = None, offset: int = 0, limit: int = 50
) -> tuple[CatalogVersion, Page[ResourceRevision]]:
    """The open catalog (Art. 32): published resources opened with or without conditions.

    Public: anyone may read it, signed in or not.
    """
    base = flt or CatalogFilter()
    open_only = CatalogFilter(**{**base.__dict__, "open_types": OPEN_CATALOG})
    return _page(session, None, open_only, offset, limit)


def published_revision(
    session: Session, actor: Actor, code: str, number: int | None = None
) -> ResourceRevision:
    """One resource as a published version carries it, for those who read the catalog."""
    policy.require_read_published(actor)
    return _revision(session, code, number)


def public_revision(
    session: Session, actor: Actor | None, code: str, number: int | None = None
) -> ResourceRevision:
    """One published resource for anyone: readers of the catalog see every resource, the
    public (signed in or not) only what the open catalog carries (Art. 32)."""
    revision = _revision(session, code, number)
    if not policy.can_read_published(actor) and revision.open_type not in OPEN_CATALOG:
        raise NotFound("catalog.resource_not_found", f"未找到代码为 {code} 的政务数据资源。")
    return revision


def _revision(session: Session, code: str, number: int | None) -> ResourceRevision:
    version = get_version(session, number)
    revision = session.scalar(members_query(version.id).where(ResourceRevision.code == code))
    if revision is None:
        raise NotFound(
            "catalog.resource_not_published", f"第{version.number}版目录中没有资源 {code}。"
        )
    return revision


def facet_counts(session: Session, version_id: int, column: str) -> dict[str, int]:
    col = getattr(ResourceRevision, column)
    rows = session.execute(
        select(col, func.count())
        .join(CatalogVersionMember, CatalogVersionMember.revision_id == ResourceRevision.id)
        .where(CatalogVersionMember.version_id == version_id)
        .group_by(col)
    )
    return {str(k): v for k, v in rows.all()}


# --- differences between versions -------------------------------------------------------------


@dataclass
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass
class ChangedResource:
    code: str
    name: str
    changes: list[FieldChange]


@dataclass
class VersionDiff:
    old: CatalogVersion | None
    new: CatalogVersion
    added: list[ResourceRevision] = field(default_factory=list)
    removed: list[ResourceRevision] = field(default_factory=list)
    changed: list[ChangedResource] = field(default_factory=list)


def field_changes(
    before: dict[str, Any], after: dict[str, Any], keys: Iterable[str] | None = None
) -> list[FieldChange]:
    """The fields of two revision snapshots that differ, in ``keys`` order (default: sorted)."""
    if keys is None:
        keys = sorted(set(before) | set(after))
    return [
        FieldChange(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)
    ]


def diff(
    session: Session, actor: Actor, new_number: int, old_number: int | None = None
) -> VersionDiff:
    """What changed from ``old_number`` (default: the version before) to ``new_number``."""
    policy.require_read_published(actor)
    new = get_version(session, new_number)
    if old_number is None:
        old_number = new.number - 1
    old = get_version(session, old_number) if old_number >= 1 else None
    new_members = dict(
        session.execute(
            select(CatalogVersionMember.resource_id, CatalogVersionMember.revision_id).where(
                CatalogVersionMember.version_id == new.id
            )
        ).all()
    )
    old_members: dict[int, int] = {}
    if old is not None:
        old_members = dict(
            session.execute(
                select(CatalogVersionMember.resource_id, CatalogVersionMember.revision_id).where(
                    CatalogVersionMember.version_id == old.id
                )
            ).all()
        )
    added_ids = [new_members[r] for r in new_members.keys() - old_members.keys()]
    removed_ids = [old_members[r] for r in old_members.keys() - new_members.keys()]
    changed_pairs = [
        (old_members[r], new_members[r])
        for r in new_members.keys() & old_members.keys()
        if old_members[r] != new_members[r]
    ]
    wanted = set(added_ids) | set(removed_ids) | {i for pair in changed_pairs for i in pair}
    revisions = _revisions(session, wanted)
    result = VersionDiff(old=old, new=new)
    result.added = sorted((revisions[i] for i in added_ids), key=lambda r: r.code)
    result.removed = sorted((revisions[i] for i in removed_ids), key=lambda r: r.code)
    for old_id, new_id in changed_pairs:
        before, after = revisions[old_id], revisions[new_id]
        changes = field_changes(before.data, after.data)
        result.changed.append(ChangedResource(after.code, after.name, changes))
    result.changed.sort(key=lambda c: c.code)
    return result


def compare(session: Session, actor: Actor, first: int, second: int) -> VersionDiff:
    """What changed between any two published versions, the older taken as the base."""
    if first == second:
        raise InvalidInput("catalog.compare_same_version", "请选择两个不同的版本进行比较。")
    old, new = sorted((first, second))
    return diff(session, actor, new, old)


def version_numbers(session: Session, actor: Actor) -> list[int]:
    """Every published version's number, newest first (for choosing what to compare)."""
    policy.require_read_published(actor)
    return list(
        session.scalars(select(CatalogVersion.number).order_by(CatalogVersion.number.desc()))
    )


def _revisions(session: Session, ids: set[int]) -> dict[int, ResourceRevision]:
    found: dict[int, ResourceRevision] = {}
    id_list = sorted(ids)
    for start in range(0, len(id_list), 1000):  # bounded IN lists
        chunk = id_list[start : start + 1000]
        for rev in session.scalars(select(ResourceRevision).where(ResourceRevision.id.in_(chunk))):
            found[rev.id] = rev
    return found


# --- responsibility lists (Art. 13) ------------------------------------------------------------


@dataclass(frozen=True)
class ResponsibilityItem:
    code: str
    name: str
    update_cycle: str
    share_type: str
    open_type: str
    subject_kind: str


@dataclass(frozen=True)
class ResponsibilityList:
    """Which resources a department must collect, and how often (Art. 13, Art. 16)."""

    department_id: int
    version_number: int
    items: list[ResponsibilityItem]


def responsibility_list(
    session: Session, actor: Actor, department_id: int, number: int | None = None
) -> ResponsibilityList:
    policy.require_read_published(actor)
    version = get_version(session, number)
    revisions = session.scalars(
        members_query(version.id, CatalogFilter(department_id=department_id))
    )
    return ResponsibilityList(
        department_id=department_id,
        version_number=version.number,
        items=[
            ResponsibilityItem(
                code=r.code,
                name=r.name,
                update_cycle=r.update_cycle,
                share_type=r.share_type,
                open_type=r.open_type,
                subject_kind=str(r.data.get("subject_kind", "other")),
            )
            for r in revisions
        ],
    )


def responsibility_overview(
    session: Session, actor: Actor, number: int | None = None
) -> dict[int, int]:
    """How many resources each department is responsible for in a version."""
    policy.require_read_published(actor)
    version = get_version(session, number)
    rows = session.execute(
        select(ResourceRevision.department_id, func.count())
        .join(CatalogVersionMember, CatalogVersionMember.revision_id == ResourceRevision.id)
        .where(CatalogVersionMember.version_id == version.id)
        .group_by(ResourceRevision.department_id)
    )
    return dict(rows.all())
