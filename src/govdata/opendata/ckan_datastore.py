"""CKAN's ``datastore_search`` over a dataset's current release (Art. 31 ¶2, 33, 40).

The one way released rows leave through the CKAN-compatible API:

1. the resource is the dataset's *current published* release (``<code>`` or
   ``<code>-r<version>`` of that version; an older version is not found);
2. ``entitlement.may_obtain`` for the caller: identity for unconditionally open data
   (Art. 33 ¶3), an approved application in force for conditionally open data (Art. 33 ¶2);
3. the read sees only the items the caller is entitled to: fields, filters, ``q`` and sort on
   any other item are refused exactly as an item that does not exist (no oracle);
4. the read is recorded (``access.record_open_access``, action ``opendata.api``; Art. 40); a
   refusal for want of an application is recorded too.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor
from govdata.core.text import has_control
from govdata.opendata import entitlement, errors, store
from govdata.opendata.access import record_open_access
from govdata.opendata.ckan_query import ValidationError, as_bool, as_dict, as_int, as_list
from govdata.opendata.datasets import ensure_synced
from govdata.opendata.models import OpenDataset, Release, ReleaseStatus

ACTION = "opendata.api"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000  # a product decision: larger reads use the download
_RESOURCE = re.compile(r"(?P<code>.+?)-r(?P<version>\d+)")
_TYPES = {
    "C": "text",
    "M": "text",
    "G": "text",
    "N": "numeric",
    "Y": "numeric",
    "I": "int",
    "B": "float",
    "F": "float",
    "D": "date",
    "T": "timestamp",
    "L": "bool",
}


def ckan_name(code: str) -> str:
    """A package's CKAN name: CKAN allows only ``[a-z0-9_-]`` (a harvesting CKAN validates it),
    so the code's "/" (classification code / sequence) becomes "-" and letters are lowercased."""
    return code.replace("/", "-").lower()


def find_dataset(session: Session, ident: str) -> OpenDataset:
    """An open dataset by its code (the package id) or its CKAN name."""
    ident = ident.strip()
    if not ident or has_control(ident):
        raise errors.DatasetNotFound()  # no code holds one (PostgreSQL text cannot hold NUL)
    ensure_synced(session)
    candidates = {ident, ident.replace("-", "/"), ident.replace("-", "/").upper()}
    if "/" not in ident and "-" in ident:
        head, _, tail = ident.rpartition("-")  # only the last "-" was the "/"
        candidates |= {f"{head}/{tail}", f"{head}/{tail}".upper()}
    rows = list(
        session.scalars(
            select(OpenDataset)
            .where(OpenDataset.code.in_(candidates), OpenDataset.withdrawn.is_(False))
            .limit(2)
        )
    )
    exact = [r for r in rows if r.code == ident or ckan_name(r.code) == ident]
    if not exact:
        raise errors.DatasetNotFound()
    return exact[0]


def current_release(session: Session, ds: OpenDataset) -> Release | None:
    if ds.current_release_id is None:
        return None
    release = session.get(Release, ds.current_release_id)
    if release is None or release.status != ReleaseStatus.PUBLISHED.value:
        return None
    return release


def resolve(
    session: Session, resource: str, *, need_release: bool
) -> tuple[OpenDataset, Release | None]:
    """The dataset and current release a resource id names; ``<code>-r<n>`` only while version
    n is the current one."""
    m = _RESOURCE.fullmatch(resource)
    try:
        ds = find_dataset(session, resource)
        version = None
    except errors.DatasetNotFound:
        if m is None:
            raise
        ds = find_dataset(session, m["code"])
        version = int(m["version"])
    release = current_release(session, ds)
    if version is not None and (release is None or release.version != version):
        raise errors.ReleaseNotFound()
    if need_release and release is None:
        raise errors.NoRelease()
    return ds, release


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _sort(text: str) -> list[tuple[str, bool]]:
    out = []
    for part in text.split(","):
        bits = part.strip().split()
        if not bits:
            continue
        name = bits[0].strip('"')
        direction = bits[1].lower() if len(bits) > 1 else "asc"
        if direction not in ("asc", "desc"):
            raise ValidationError("sort", f"排序方向应为 asc 或 desc：{part.strip()}")
        out.append((name, direction == "desc"))
    return out


def _view(release: Release, items: tuple[str, ...] | None) -> Release:
    """The release as the caller may read it: only its entitled columns. A transient object,
    never added to the session."""
    if items is None:
        return release
    allowed = set(items)
    return Release(
        id=release.id,
        dataset_id=release.dataset_id,
        version=release.version,
        table_name=release.table_name,
        columns=[c for c in release.columns if c["name"] in allowed],
    )


def datastore_search(
    session: Session, actor: Actor | None, params: dict[str, Any], base: str
) -> dict[str, Any]:
    resource = params.get("resource_id") or params.get("id")
    if resource is None or str(resource).strip() == "":
        raise ValidationError("resource_id", "缺少参数 resource_id。")
    rid = str(resource).strip()
    ds, release = resolve(session, rid, need_release=True)
    assert release is not None
    try:
        ent = entitlement.may_obtain(session, actor, ds)
    except errors.ConditionalNotGranted as exc:
        assert actor is not None  # refused after identity: a person
        record_open_access(session, actor, ds, ACTION, rows=0, outcome="refused", reason=exc.code)
        exc.keep_changes = True  # the refusal's record is kept (Art. 40)
        raise
    view = _view(release, ent.items)
    limit = as_int(params, "limit", DEFAULT_LIMIT, maximum=MAX_LIMIT)
    offset = as_int(params, "offset", 0)
    fields = [f for f in as_list(params, "fields") if f != "_id"] or None
    filters = as_dict(params, "filters")
    q = params.get("q")
    if q is not None and not isinstance(q, str):
        raise ValidationError("q", "q 应为字符串。")
    sort = _sort(str(params.get("sort") or ""))
    try:
        page = store.read_page(
            session,
            view,
            offset=offset,
            limit=limit,
            fields=fields,
            filters=filters,
            q=q or None,
            sort=sort,
        )
    except KeyError as exc:
        name = str(exc.args[0]) if exc.args else ""
        raise ValidationError("fields", f"该资源没有可读取的字段：{name}") from exc
    names = [f["name"] for f in page.fields]
    record_open_access(session, ent.actor, ds, ACTION, rows=len(page.rows), fields=names)
    records = [{"_id": r[store.ROW_COLUMN], **{n: _json(r[n]) for n in names}} for r in page.rows]
    link = f"{base.rstrip('/')}/api/3/action/datastore_search"
    result: dict[str, Any] = {
        "resource_id": rid,
        "fields": [{"id": "_id", "type": "int"}]
        + [{"id": f["name"], "type": _TYPES.get(f["data_type"], "text")} for f in page.fields],
        "records": records,
        "records_format": "objects",
        "limit": limit,
        "offset": offset,
        "_links": {
            "start": f"{link}?{urlencode({'resource_id': rid})}",
            "next": f"{link}?{urlencode({'offset': offset + limit, 'resource_id': rid})}",
        },
    }
    if filters:
        result["filters"] = filters
    if q:
        result["q"] = q
    if params.get("sort"):
        result["sort"] = str(params["sort"])
    if as_bool(params, "include_total", True) and as_bool(params, "total", True):
        result["total"] = page.total
        result["total_was_estimated"] = False
    return result
