"""The open catalog in CKAN's shapes (issue 14 §7; Art. 32): the actions of the
CKAN-compatible API, so ``ckanapi`` and CKAN's harvester read the city's open data unmodified.

A dataset is a CKAN *package*: name and id are its code, ``notes`` its abstract, its department
the *organization*, its theme (the first part of its class path) its *group*, its keywords its
*tags*; ``extras`` carry the open type and update cycle. It has one *resource*: its current
release (id ``<code>-r<version>``; the dataset's code names it too), CSV, at the portal's
download URL, ``datastore_active`` once released. Metadata is public (Art. 32: the open catalog
is browsed without sign-in). Released rows leave only through ``datastore_search``, after
``entitlement.may_obtain`` for the caller, only the items it is entitled to, and each read
leaves an access record (Art. 33, 40).

Every action is ``f(session, actor, params, base) -> result`` with ``params`` CKAN's data dict
(unknown keys ignored) and ``base`` the site's address for absolute URLs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor
from govdata.core.errors import NotFound
from govdata.opendata import ckan_datastore, search
from govdata.opendata.ckan_datastore import ckan_name, find_dataset
from govdata.opendata.ckan_query import (
    ValidationError,
    as_bool,
    as_int,
    search_params,
)
from govdata.opendata.datasets import ensure_synced
from govdata.opendata.models import OpenDataset, Release, ReleaseStatus
from govdata.opendata.search_index import theme_of
from govdata.opendata.vocab import DEFAULT_LICENCE, LICENCES

CKAN_VERSION = "2.10.4"  # the API version whose shapes these follow
Action = Callable[[Session, Actor | None, dict[str, Any], str], Any]

# CKAN's facet names → search's dimensions.
FACET_DIMENSIONS = {
    "organization": "department",
    "groups": "theme",
    "tags": "tags",
    "res_format": "format",
    "open_type": "open_type",
    "update_cycle": "update_cycle",
}
OPEN_TYPE_LABELS = {"unconditional": "无条件开放", "conditional": "有条件开放"}


def ckan_time(value: datetime | None) -> str | None:
    """CKAN's timestamps: ISO 8601 in UTC without an offset."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def absolute(base: str, path: str) -> str:
    return path if path.startswith(("http://", "https://")) else base.rstrip("/") + path


def download_url(base: str, code: str) -> str:
    return absolute(base, f"/open/datasets/{code}/download.csv")


def _required(params: dict[str, Any], name: str = "id") -> str:
    value = params.get(name)
    if value is None or str(value).strip() == "":
        raise ValidationError(name, f"缺少参数 {name}。")
    return str(value).strip()


# --- shapes ------------------------------------------------------------------------------------


def organization_dict(code: str, name: str, count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": code,
        "name": code,
        "title": name,
        "display_name": name,
        "description": "",
        "type": "organization",
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
        "image_url": "",
        "image_display_url": "",
    }
    if count is not None:
        out["package_count"] = count
    return out


def group_name(theme: str) -> str:
    """A theme's CKAN group name: CKAN (and a harvesting CKAN creating the group) accepts only
    ``[a-z0-9_-]{2,100}``, and themes are Chinese, so the name is a stable digest of the theme;
    the theme itself is the group's title."""
    return "theme-" + hashlib.sha256(theme.encode("utf-8")).hexdigest()[:12]


def group_dict(theme: str, count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": group_name(theme),
        "name": group_name(theme),
        "title": theme,
        "display_name": theme,
        "description": "",
        "type": "group",
        "is_organization": False,
        "approval_status": "approved",
        "state": "active",
        "image_url": "",
        "image_display_url": "",
    }
    if count is not None:
        out["package_count"] = count
    return out


def resource_id(ds: OpenDataset, release: Release | None) -> str:
    name = ckan_name(ds.code)
    return f"{name}-r{release.version}" if release is not None else name


def resource_dict(ds: OpenDataset, release: Release | None, base: str) -> dict[str, Any]:
    released = release is not None
    when = release.published_at if release is not None else None
    return {
        "id": resource_id(ds, release),
        "package_id": ds.code,  # the package's id
        "name": f"{ds.name}（第{release.version}版）" if release is not None else ds.name,
        "description": "经脱敏处理并通过泄露扫描的开放数据（第三十一条）。"
        if released
        else "尚未发布开放数据。",
        "format": "CSV",
        "mimetype": "text/csv",
        "mimetype_inner": None,
        "url": download_url(base, ds.code),
        "url_type": None,
        "resource_type": None,
        "datastore_active": released,
        "position": 0,
        "state": "active",
        "size": None,
        "hash": "",
        "created": ckan_time(when or ds.first_published_at),
        "last_modified": ckan_time(when),
        "metadata_modified": ckan_time(when or ds.metadata_modified),
        "cache_url": None,
        "cache_last_updated": None,
        "row_count": release.row_count if release is not None else None,
    }


def package_dict(ds: OpenDataset, release: Release | None, base: str) -> dict[str, Any]:
    licence = LICENCES.get(ds.licence or DEFAULT_LICENCE) or LICENCES[DEFAULT_LICENCE]
    theme = theme_of(ds.class_path)
    extras = [
        ("open_type", ds.open_type),
        ("open_type_label", OPEN_TYPE_LABELS.get(ds.open_type, ds.open_type)),
        ("update_cycle", ds.update_cycle),
        ("open_items", "、".join(i["name"] for i in ds.items)),
        ("class_path", ds.class_path),
    ]
    if ds.open_conditions:
        extras.append(("open_conditions", ds.open_conditions))
    tags = list(ds.tags or [])
    return {
        "id": ds.code,
        "name": ckan_name(ds.code),
        "title": ds.name,
        "notes": ds.abstract,
        "type": "dataset",
        "state": "active",
        "private": False,
        "isopen": True,
        "license_id": licence.id,
        "license_title": licence.title,
        "license_url": absolute(base, licence.url),
        "metadata_created": ckan_time(ds.first_published_at),
        "metadata_modified": ckan_time(ds.metadata_modified),
        "owner_org": ds.department_code,
        "organization": organization_dict(ds.department_code, ds.department_name),
        "groups": [group_dict(theme)],
        "tags": [
            {"id": t, "name": t, "display_name": t, "state": "active", "vocabulary_id": None}
            for t in tags
        ],
        "num_tags": len(tags),
        "extras": [{"key": k, "value": v} for k, v in extras],
        "resources": [resource_dict(ds, release, base)],
        "num_resources": 1,
        "author": ds.department_name,
        "author_email": None,
        "maintainer": ds.department_name,
        "maintainer_email": None,
        "url": absolute(base, f"/open/datasets/{ds.code}"),
        "version": str(release.version) if release is not None else None,
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


def current_releases(session: Session, rows: Sequence[OpenDataset]) -> dict[int, Release]:
    """The published release of each dataset that has one, by dataset id (one query)."""
    ids = [d.current_release_id for d in rows if d.current_release_id is not None]
    if not ids:
        return {}
    found = session.scalars(
        select(Release).where(Release.id.in_(ids), Release.status == ReleaseStatus.PUBLISHED.value)
    )
    return {r.dataset_id: r for r in found}


def packages(session: Session, rows: Sequence[OpenDataset], base: str) -> list[dict[str, Any]]:
    releases = current_releases(session, rows)
    return [package_dict(d, releases.get(d.id), base) for d in rows]


# --- actions -----------------------------------------------------------------------------------


def package_search(
    session: Session, actor: Actor | None, params: dict[str, Any], base: str
) -> dict[str, Any]:
    p = search_params(params)
    flt = p.flt
    if flt.themes:  # fq groups: by the group's name or by its title (the theme)
        themes = {group_name(t): t for t, _ in _groups(session)}
        flt = replace(flt, themes=tuple(themes.get(t, t) for t in flt.themes))
    dims = [FACET_DIMENSIONS[f] for f in p.facet_fields if f in FACET_DIMENSIONS]
    page = search.search(
        session,
        p.q,
        flt,
        sort=p.sort,
        offset=p.start,
        limit=p.rows,
        facets=bool(dims),
        facet_fields=dims,
    )
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    for name in p.facet_fields:
        dim = FACET_DIMENSIONS.get(name)
        if dim is None:
            continue
        counts = [(k, n) for k, n in page.facets.get(dim, {}).items() if n >= p.facet_mincount]
        counts.sort(key=lambda kv: (-kv[1], kv[0]))
        if p.facet_limit >= 0:
            counts = counts[: p.facet_limit]
        items: list[dict[str, Any]] = []
        for k, n in counts:
            if dim == "department":
                items.append({"name": k, "display_name": page.department_names.get(k, k)})
            elif dim == "theme":  # a group's name is its theme's digest; the theme its title
                items.append({"name": group_name(k), "display_name": k})
            else:
                items.append({"name": k, "display_name": k})
            items[-1]["count"] = n
        facets[name] = {item["name"]: item["count"] for item in items}
        search_facets[name] = {"title": name, "items": items}
    return {
        "count": page.total,
        "sort": p.sort_text,
        "facets": facets,
        "search_facets": search_facets,
        "results": packages(session, page.hits, base),
    }


def _dataset(session: Session, params: dict[str, Any]) -> OpenDataset:
    code = params.get("id") or params.get("name_or_id") or params.get("name")
    if code is None or str(code).strip() == "":
        raise ValidationError("id", "缺少参数 id。")
    return find_dataset(session, str(code).strip())


def package_show(
    session: Session, actor: Actor | None, params: dict[str, Any], base: str
) -> dict[str, Any]:
    return packages(session, [_dataset(session, params)], base)[0]


def _open() -> Any:
    return OpenDataset.withdrawn.is_(False)


def package_list(
    session: Session, actor: Actor | None, params: dict[str, Any], base: str
) -> list[str]:
    ensure_synced(session)
    stmt = select(OpenDataset.code).where(_open()).order_by(OpenDataset.code)
    limit = as_int(params, "limit", 0)
    offset = as_int(params, "offset", 0)
    if limit:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return [ckan_name(c) for c in session.scalars(stmt)]


def _whole(session: Session, dimension: str) -> search.DatasetPage:
    # The whole open catalog's facet counts: cached by search until the catalog changes.
    return search.search(session, "", limit=0, facet_fields=[dimension])


def _organizations(session: Session) -> list[tuple[str, str, int]]:
    page = _whole(session, "department")
    orgs = [
        (code, page.department_names.get(code, code), n)
        for code, n in page.facets.get("department", {}).items()
    ]
    return sorted(orgs, key=lambda o: (o[1], o[0]))


def _groups(session: Session) -> list[tuple[str, int]]:
    return sorted(_whole(session, "theme").facets.get("theme", {}).items())


def _listing(params: dict[str, Any], entries: list[Any]) -> list[Any]:
    offset = as_int(params, "offset", 0)
    limit = as_int(params, "limit", 0)
    return entries[offset : offset + limit] if limit else entries[offset:]


def organization_list(
    session: Session, actor: Actor | None, params: dict[str, Any], base: str
) -> list[Any]:
    orgs = _organizations(session)
    if as_bool(params, "all_fields", False):
        return _listing(params, [organization_dict(c, n, k) for c, n, k in orgs])
    return _listing(params, [c for c, _, _ in orgs])


def _with_packages(
    session: Session,
    out: dict[str, Any],
    flt: search.DatasetFilter,
    params: dict[str, Any],
    base: str,
) -> dict[str, Any]:
    if as_bool(params, "include_datasets", False):
        page = search.search(session, "", flt, sort="name", limit=1000, facets=False)
        out["packages"] = packages(session, page.hits, base)
    return out


def organization_show(
    session: Session, actor: Actor | None, params: dict[str, Any], base: str
) -> dict[str, Any]:
    wanted = _required(params)
    for code, name, count in _organizations(session):
        if wanted == code:
            out = organization_dict(code, name, count)
            flt = search.DatasetFilter(department_codes=(code,))
            return _with_packages(session, out, flt, params, base)
    raise NotFound("opendata.organization_not_found", "没有开放数据集的该部门。")


def group_list(
    session: Session, actor: Actor | None, params: dict[str, Any], base: str
) -> list[Any]:
    groups = _groups(session)
    if as_bool(params, "all_fields", False):
        return _listing(params, [group_dict(t, n) for t, n in groups])
    return _listing(params, [group_name(t) for t, _ in groups])


def group_show(
    session: Session, actor: Actor | None, params: dict[str, Any], base: str
) -> dict[str, Any]:
    wanted = _required(params)
    for theme, count in _groups(session):
        if wanted in (theme, group_name(theme)):
            out = group_dict(theme, count)
            return _with_packages(session, out, search.DatasetFilter(themes=(theme,)), params, base)
    raise NotFound("opendata.group_not_found", "开放目录中没有该主题。")


def tag_list(session: Session, actor: Actor | None, params: dict[str, Any], base: str) -> list[Any]:
    query = str(params.get("query") or params.get("q") or "").strip()
    tags = _whole(session, "tags").facets.get("tags", {})
    names = sorted(t for t in tags if query in t)
    if as_bool(params, "all_fields", False):
        return [{"id": t, "name": t, "vocabulary_id": None} for t in names]
    return names


def resource_show(
    session: Session, actor: Actor | None, params: dict[str, Any], base: str
) -> dict[str, Any]:
    ds, release = ckan_datastore.resolve(session, _required(params), need_release=False)
    return resource_dict(ds, release, base)


def status_show(
    session: Session, actor: Actor | None, params: dict[str, Any], base: str
) -> dict[str, Any]:
    return {
        "ckan_version": CKAN_VERSION,
        "site_title": "重庆市公共数据开放平台",
        "site_description": "依照《重庆市政务数据资源管理暂行办法》第五章开放的政务数据。",
        "site_url": base.rstrip("/"),
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore", "dcat"],
    }


ACTIONS: dict[str, Action] = {
    "package_search": package_search,
    "package_show": package_show,
    "package_list": package_list,
    "organization_list": organization_list,
    "organization_show": organization_show,
    "group_list": group_list,
    "group_show": group_show,
    "tag_list": tag_list,
    "resource_show": resource_show,
    "datastore_search": ckan_datastore.datastore_search,
    "status_show": status_show,
}
# Actions that write (an access record): they take the write lock at once on SQLite.
WRITING_ACTIONS = frozenset({"datastore_search"})
