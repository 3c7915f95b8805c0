"""What the public portal shows (Art. 29, 32, 33, 40): the home page's figures, a dataset's
page (its metadata, open items, releases, quality and, for an entitled visitor, a preview),
departments and the statistics. Browsing needs no sign-in (Art. 32: the open catalog is
public); only values of released rows are guarded, by ``entitlement.may_obtain``, and every
preview leaves an access record (``opendata.preview``, Art. 40).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from govdata.aggregation.models import Pool, QualitySnapshot
from govdata.core.access import AccessRecord
from govdata.core.actor import Actor
from govdata.core.calendar import CITY_TZ
from govdata.core.db import utcnow
from govdata.core.errors import DomainError, NotFound
from govdata.opendata import access, datasets, downloads, entitlement, search, store
from govdata.opendata.models import OpenDataset, Release, ReleaseStatus

PREVIEW_ROWS = 10  # the dataset page's preview of the current release
HOME_LIST = 6
STATS_DAYS = 30
PREVIEW_ACTION = "opendata.preview"
LISTED = (ReleaseStatus.PUBLISHED.value, ReleaseStatus.SUPERSEDED.value)


@dataclass(frozen=True)
class Home:
    datasets: int
    departments: int
    releases: int
    downloads: int
    newest: list[OpenDataset]
    most_used: list[OpenDataset]
    themes: dict[str, int]


def _open() -> Any:
    return OpenDataset.withdrawn.is_(False)


def home(session: Session) -> Home:
    datasets.ensure_synced(session)
    d = OpenDataset
    n, depts, dl = session.execute(
        select(func.count(), func.count(func.distinct(d.department_id)), func.sum(d.downloads))
        .select_from(d)
        .where(_open())
    ).one()
    releases = session.scalar(
        select(func.count())
        .select_from(Release)
        .join(d, d.id == Release.dataset_id)
        .where(_open(), Release.status.in_(LISTED))
    )
    newest = search.search(session, sort="newest", limit=HOME_LIST, facets=True)
    used = search.search(session, sort="downloads", limit=HOME_LIST, facets=False)
    return Home(
        datasets=int(n or 0),
        departments=int(depts or 0),
        releases=int(releases or 0),
        downloads=int(dl or 0),
        newest=newest.hits,
        most_used=[h for h in used.hits if h.downloads > 0],
        themes=newest.facets.get("theme", {}),
    )


# --- a dataset's page ----------------------------------------------------------------------


@dataclass(frozen=True)
class Quality:
    """The pool's latest quality measurement (Art. 20), as ratios 0..1."""

    measured_at: datetime
    completeness: float
    validity: float
    uniqueness: float
    consistency: float | None


@dataclass
class DatasetView:
    dataset: OpenDataset
    releases: list[Release]  # published and superseded, newest first
    current: Release | None
    quality: Quality | None
    preview: store.Page | None = None  # only for an entitled visitor
    refusal: DomainError | None = None  # why no preview: sign in, apply, no release
    granted_items: tuple[str, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def quality_of(session: Session, resource_id: int) -> Quality | None:
    """The latest quality snapshot of the dataset's pool (aggregation keeps no public read of
    it for one pool by resource: read here, only the four published ratios)."""
    row = session.execute(
        select(QualitySnapshot)
        .join(Pool, Pool.id == QualitySnapshot.pool_id)
        .where(Pool.resource_id == resource_id)
        .order_by(QualitySnapshot.measured_at.desc(), QualitySnapshot.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    return Quality(row.measured_at, row.completeness, row.validity, row.uniqueness, row.consistency)


def history(session: Session, dataset_id: int) -> list[Release]:
    """Its releases the public has had (published, then superseded), newest first."""
    return list(
        session.scalars(
            select(Release)
            .where(Release.dataset_id == dataset_id, Release.status.in_(LISTED))
            .order_by(Release.version.desc())
        )
    )


def dataset_view(session: Session, actor: Actor | None, code: str) -> DatasetView:
    """The dataset's page. The preview (first ``PREVIEW_ROWS`` rows, only the items the visitor
    may obtain) is shown after ``may_obtain`` and recorded (Art. 33, 40); an anonymous or
    unentitled visitor gets the reason and the way (sign in, apply) instead."""
    dataset = datasets.get_dataset(session, code)
    view = DatasetView(
        dataset=dataset,
        releases=history(session, dataset.id),
        current=None,
        quality=quality_of(session, dataset.resource_id),
    )
    try:
        release = downloads.current_release(session, dataset)
        view.current = release
        granted = entitlement.may_obtain(session, actor, dataset)
    except DomainError as exc:
        view.refusal = exc
        return view
    columns = downloads.columns_for(dataset, release, granted.items)
    view.granted_items = granted.items
    view.preview = store.read_page(
        session, release, limit=PREVIEW_ROWS, fields=[c["name"] for c in columns]
    )
    access.record_open_access(
        session,
        granted.actor,
        dataset,
        PREVIEW_ACTION,
        rows=len(view.preview.rows),
        fields=[c["name"] for c in columns],
    )
    return view


# --- departments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentRow:
    code: str
    name: str
    datasets: int
    downloads: int


def departments(session: Session) -> list[DepartmentRow]:
    """Departments with open datasets, most datasets first."""
    datasets.ensure_synced(session)
    d = OpenDataset
    rows = session.execute(
        select(d.department_code, d.department_name, func.count(), func.sum(d.downloads))
        .where(_open())
        .group_by(d.department_code, d.department_name)
    ).all()
    out = [DepartmentRow(r[0], r[1], int(r[2]), int(r[3] or 0)) for r in rows]
    return sorted(out, key=lambda r: (-r.datasets, r.code))


def department(session: Session, code: str) -> DepartmentRow:
    found = next((r for r in departments(session) if r.code == code), None)
    if found is None:
        raise DepartmentNotFound()
    return found


class DepartmentNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("opendata.department_not_found", "没有该部门开放的数据集。")


# --- statistics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    by_department: list[tuple[str, int]]
    by_theme: list[tuple[str, int]]
    by_open_type: list[tuple[str, int]]
    downloads_by_day: list[tuple[str, int]]  # Beijing days, oldest first
    total_downloads: int


def downloads_by_day(session: Session, days: int = STATS_DAYS) -> list[tuple[str, int]]:
    """Allowed downloads per Beijing day over the last ``days`` days, from the access records
    (Art. 40). Grouped by the UTC hour in SQL (the same text on both engines), shifted to
    Beijing days here: at most 24 groups a day reach Python."""
    since = utcnow() - timedelta(days=days)
    if session.get_bind().dialect.name == "postgresql":
        # timestamptz as text follows the session's TimeZone: name UTC explicitly.
        hour: Any = func.to_char(func.timezone("UTC", AccessRecord.at), "YYYY-MM-DD HH24")
    else:  # SQLite stores UTC text (core.db.UTCDateTime)
        hour = func.substr(cast(AccessRecord.at, String), 1, 13)
    rows = session.execute(
        select(hour, func.count())
        .where(
            AccessRecord.action == downloads.ACTION,
            AccessRecord.outcome == "allowed",
            AccessRecord.at >= since,
        )
        .group_by(hour)
    ).all()
    per_day: Counter[str] = Counter()
    for text, n in rows:
        at = datetime.strptime(str(text)[:13].replace("T", " "), "%Y-%m-%d %H")
        local = at + timedelta(hours=8)  # Beijing has no daylight saving: UTC+8 always
        per_day[local.strftime("%m-%d")] += int(n)
    today = utcnow().astimezone(CITY_TZ).date()
    labels = [(today - timedelta(days=i)).strftime("%m-%d") for i in range(days - 1, -1, -1)]
    return [(label, per_day.get(label, 0)) for label in labels]


def stats(session: Session) -> Stats:
    page = search.search(session, limit=0)
    names = page.department_names
    by_dept = [(names.get(k, k), v) for k, v in page.facets.get("department", {}).items()]
    labels = {"unconditional": "无条件开放", "conditional": "有条件开放"}
    by_type = [(labels.get(k, k), v) for k, v in page.facets.get("open_type", {}).items()]
    total = session.scalar(select(func.sum(OpenDataset.downloads)).where(_open()))
    return Stats(
        by_department=by_dept,
        by_theme=list(page.facets.get("theme", {}).items()),
        by_open_type=by_type,
        downloads_by_day=downloads_by_day(session),
        total_downloads=int(total or 0),
    )
