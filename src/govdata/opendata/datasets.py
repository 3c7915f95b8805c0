"""The open catalog as the portal reads it (Art. 30, 32): ``OpenDataset`` rows refreshed from
the published catalog.

The published catalog is the one source of a dataset's metadata: ``sync`` copies every
resource of the current version whose open type is unconditional or conditional, with its
items open to the public (an item's own open type, else the resource's; an item not open is
never listed), into ``open_datasets``; a resource that left the open catalog keeps its row
with ``withdrawn`` set, so its releases and records stay explainable and nothing is served.
``ensure_synced`` runs ``sync`` when the catalog has a newer version than the one reflected:
one indexed read on every portal request, a full refresh only after a publication.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from govdata.catalog import published
from govdata.catalog.published import PublishedResource
from govdata.catalog.segmentation import segment
from govdata.catalog.vocab import OpenType
from govdata.core.db import utcnow
from govdata.core.text import has_control
from govdata.opendata import errors

# Imported for its flush listener: the search index follows every write of a dataset.
from govdata.opendata import search_index as _search_index  # noqa: F401
from govdata.opendata.models import OpenCatalogSync, OpenDataset
from govdata.opendata.vocab import DEFAULT_LICENCE

OPEN_TYPES = (OpenType.UNCONDITIONAL.value, OpenType.CONDITIONAL.value)


@dataclass(frozen=True)
class SyncResult:
    version_id: int | None
    added: int
    changed: int
    withdrawn: int


def open_items(res: PublishedResource) -> list[dict[str, str]]:
    """The items the public may see (Art. 30): an item's own open type, else the resource's."""
    return [
        {"name": i.name, "data_type": i.data_type.value, "open_type": i.open_type.value}
        for i in res.items
        if i.open_type.value in OPEN_TYPES
    ]


def tags_of(res: PublishedResource) -> list[str]:
    """Keywords: the parts of its class path (主题/分类) and its subject kind's label."""
    parts = [p.strip() for p in res.class_path.replace("＞", "/").replace(">", "/").split("/")]
    tags = [p for p in parts if p]
    label = getattr(res.subject_kind, "label", "")
    if label and label not in tags:
        tags.append(label)
    return tags[:10]


def _search_text(res: PublishedResource, items: Iterable[dict[str, str]], tags: list[str]) -> str:
    text = " ".join(
        [res.name, res.abstract, res.department_name, " ".join(tags)] + [i["name"] for i in items]
    )
    return " ".join(segment(text))


def _fill(row: OpenDataset, res: PublishedResource) -> None:
    items = open_items(res)
    tags = tags_of(res)
    row.resource_id = res.resource_id
    row.revision_id = res.revision_id
    row.code = res.code
    row.name = res.name
    row.abstract = res.abstract
    row.department_id = res.department_id
    row.department_code = res.department_code
    row.department_name = res.department_name
    row.category = res.category.value
    row.class_path = res.class_path
    row.open_type = res.open_type.value
    row.open_conditions = res.open_conditions
    row.legal_basis = res.legal_basis
    row.update_cycle = res.update_cycle.value
    row.format = res.format
    row.subject_kind = res.subject_kind.value
    row.items = items
    row.tags = tags
    row.search_text = _search_text(res, items, tags)
    row.licence = row.licence or DEFAULT_LICENCE


def sync(session: Session) -> SyncResult:
    """Refresh the read model from the current published version (Art. 32)."""
    version = published.current_version(session)
    now = utcnow()
    existing = {d.resource_id: d for d in session.scalars(select(OpenDataset))}
    open_now = [r for r in published.listing(session) if r.open_type.value in OPEN_TYPES]
    added = changed = 0
    seen: set[int] = set()
    for res in open_now:
        seen.add(res.resource_id)
        row = existing.get(res.resource_id)
        if row is None:
            row = OpenDataset(first_published_at=now, metadata_modified=now, licence="")
            _fill(row, res)
            session.add(row)
            added += 1
        elif row.revision_id != res.revision_id or row.withdrawn:
            _fill(row, res)
            row.withdrawn = False
            row.metadata_modified = now
            changed += 1
    gone = [rid for rid, row in existing.items() if rid not in seen and not row.withdrawn]
    if gone:
        session.execute(
            update(OpenDataset)
            .where(OpenDataset.resource_id.in_(gone))
            .values(withdrawn=True, metadata_modified=now)
        )
    state = session.scalar(select(OpenCatalogSync).limit(1))
    if state is None:
        state = OpenCatalogSync()
        session.add(state)
    state.version_id = version.id if version is not None else None
    state.synced_at = now
    session.flush()
    return SyncResult(state.version_id, added, changed, len(gone))


def ensure_synced(session: Session) -> None:
    """``sync`` when the published catalog has moved on since the last one."""
    version = published.current_version(session)
    synced = session.scalar(select(OpenCatalogSync.version_id).limit(1))
    if version is not None and synced != version.id:
        sync(session)


def get_dataset(session: Session, code: str) -> OpenDataset:
    """An open dataset by its code; withdrawn ones are not found (nothing is served)."""
    if not code or has_control(code):
        raise errors.DatasetNotFound()  # no code holds one (PostgreSQL text cannot hold NUL)
    ensure_synced(session)
    row = session.scalar(
        select(OpenDataset).where(OpenDataset.code == code, OpenDataset.withdrawn.is_(False))
    )
    if row is None:
        raise errors.DatasetNotFound()
    return row


def get_dataset_by_id(session: Session, dataset_id: int) -> OpenDataset:
    row = session.get(OpenDataset, dataset_id)
    if row is None or row.withdrawn:
        raise errors.DatasetNotFound()
    return row


def count_open(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(OpenDataset).where(OpenDataset.withdrawn.is_(False))
        )
        or 0
    )


def count_download(session: Session, dataset_id: int, n: int = 1) -> None:
    """One more download of a dataset (the portal's counts and "most used" ordering)."""
    session.execute(
        update(OpenDataset)
        .where(OpenDataset.id == dataset_id)
        .values(downloads=OpenDataset.downloads + n)
    )
