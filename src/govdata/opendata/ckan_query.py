"""CKAN's request parameters, read into the platform's terms (issue 14 §7; Art. 32).

CKAN clients (``ckanapi``, CKAN's harvester, portals' scripts) send Solr-flavoured parameters:
``fq`` terms such as ``organization:x tags:"a b" metadata_modified:[2026-01-01T00:00:00Z TO *]``,
``sort`` such as ``metadata_modified desc`` or ``score desc, name asc``, integer ``rows`` and
``start``, and lists either as JSON lists or as a JSON string (a GET query). What the open
catalog cannot mean is refused with CKAN's error types, never silently widened: an unknown
``fq`` field or a negated term is a *Search Query Error* (400), a bad integer a *Validation
Error* (409).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from govdata.core.errors import InvalidInput
from govdata.opendata.search import MAX_ROWS, DatasetFilter, Sort


class SearchQueryError(InvalidInput):
    """CKAN's ``Search Query Error`` (400): a query the open catalog cannot answer."""

    def __init__(self, message: str) -> None:
        super().__init__("opendata.ckan_search_query", message, status=400)


class ValidationError(InvalidInput):
    """CKAN's ``Validation Error`` (409): ``fields`` maps a parameter to its problems."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__("opendata.ckan_invalid", message, detail={param: [message]}, status=409)


# fq fields → DatasetFilter fields; CKAN's own fields every open dataset satisfies are accepted.
_FQ_FIELDS = {
    "organization": "department_codes",
    "owner_org": "department_codes",
    "tags": "tags",
    "groups": "themes",
    "res_format": "formats",
    "license_id": "licences",
    "name": "codes",
    "id": "codes",
    "open_type": "open_types",
    "update_cycle": "update_cycles",
}
_ALWAYS = {"dataset_type": "dataset", "capacity": "public", "state": "active", "type": "dataset"}
_TERM = re.compile(r'([+-]?)([A-Za-z_.]+):("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\}|[^\s"]+)')
_NOW = re.compile(r"NOW(?:/DAY)?(?:([+-])(\d+)(DAYS?|HOURS?|MONTHS?|YEARS?))?(?:/DAY)?$")


def _date(value: str, *, upper: bool) -> datetime | None:
    value = value.strip()
    if value == "*":
        return None
    m = _NOW.match(value)
    if m:
        now = datetime.now(UTC)
        if m.group(1):
            n = int(m.group(2)) * (-1 if m.group(1) == "-" else 1)
            unit = m.group(3).rstrip("S")
            days = {"DAY": 1, "HOUR": 1 / 24, "MONTH": 30, "YEAR": 365}[unit]
            now += timedelta(days=n * days)
        return now
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchQueryError(
            f"无法识别的日期：{value}（应为 ISO 8601，如 2026-01-01T00:00:00Z）"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # Solr's dates are UTC
    if upper and len(value) <= 10:  # a bare date as an upper bound includes that day
        parsed += timedelta(days=1) - timedelta(microseconds=1)
    return parsed


def _range(value: str) -> tuple[datetime | None, datetime | None]:
    inner = value[1:-1].strip()
    parts = re.split(r"\s+TO\s+", inner)
    if len(parts) != 2:
        raise SearchQueryError(f"范围应写作 [起 TO 止]：{value}")
    return _date(parts[0], upper=False), _date(parts[1], upper=True)


def parse_fq(fq: str, flt: DatasetFilter | None = None) -> DatasetFilter:
    """``fq`` terms ANDed onto ``flt``."""
    flt = flt or DatasetFilter()
    rest = _TERM.sub(" ", fq).replace("AND", " ").strip()
    if rest:
        raise SearchQueryError(f"无法解析的筛选条件：{rest}")
    values: dict[str, list[str]] = {}
    for sign, name, raw in _TERM.findall(fq):
        if sign == "-":
            raise SearchQueryError(f"不支持排除条件：-{name}:{raw}")
        if name in ("metadata_modified", "metadata_created") and raw[:1] in "[{":
            lo, hi = _range(raw)
            if name == "metadata_modified":
                if lo is not None:
                    flt = replace(flt, modified_from=max(lo, flt.modified_from or lo))
                if hi is not None:
                    flt = replace(flt, modified_until=min(hi, flt.modified_until or hi))
            continue
        value = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
        if name in _ALWAYS or name == "site_id":
            if name in _ALWAYS and value != _ALWAYS[name]:
                flt = replace(flt, codes=("",))  # no dataset has an empty code: none matches
            continue
        target = _FQ_FIELDS.get(name)
        if target is None:
            raise SearchQueryError(f"不支持的筛选字段：{name}")
        values.setdefault(target, []).append(value)
    for target, vs in values.items():
        if target == "tags":
            flt = replace(flt, tags=(*flt.tags, *vs))
            continue
        # Two values of one single-valued field: nothing has both ("" matches no dataset).
        current = tuple(getattr(flt, target))
        wanted = tuple(dict.fromkeys(vs))
        merged = wanted if len(wanted) == 1 else ("",)
        if current:
            merged = tuple(v for v in current if v in merged) or ("",)
        changes: dict[str, Any] = {target: merged}
        flt = replace(flt, **changes)
    return flt


# CKAN sort keys → the platform's orders.
_SORTS: dict[tuple[str, str], Sort] = {
    ("score", "desc"): "relevance",
    ("metadata_modified", "desc"): "newest",
    ("metadata_modified", "asc"): "oldest",
    ("metadata_created", "desc"): "newest",
    ("metadata_created", "asc"): "oldest",
    ("title_string", "asc"): "name",
    ("title", "asc"): "name",
    ("name", "asc"): "code",
    ("id", "asc"): "code",
    ("views_recent", "desc"): "downloads",
    ("views_total", "desc"): "downloads",
}
DEFAULT_SORT = "score desc, metadata_modified desc"


def parse_sort(sort: str, *, has_query: bool) -> Sort:
    """The first sort key decides (ties are broken by the platform's own order)."""
    keys = [k.split() for k in sort.split(",") if k.strip()]
    for key in keys:
        name, direction = key[0], (key[1].lower() if len(key) > 1 else "asc")
        found = _SORTS.get((name, direction))
        if found is None:
            raise SearchQueryError(f"不支持的排序：{name} {direction}")
        if found == "relevance" and not has_query:
            continue  # without a query every score is equal: the next key decides
        return found
    return "relevance" if has_query else "newest"


def as_int(params: dict[str, Any], name: str, default: int, *, maximum: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationError(name, f"{name} 应为非负整数。") from exc
    if value < 0:
        raise ValidationError(name, f"{name} 应为非负整数。")
    return min(value, maximum) if maximum is not None else value


def as_bool(params: dict[str, Any], name: str, default: bool) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in ("true", "1", "yes", "on")


def as_list(params: dict[str, Any], name: str) -> list[str]:
    """A list given as a list, a JSON list string or a comma-separated string."""
    raw = params.get(name)
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except ValueError as exc:
                raise ValidationError(name, f"{name} 不是有效的 JSON 列表。") from exc
        else:
            return [p.strip() for p in text.split(",") if p.strip()]
    if not isinstance(raw, list) or not all(isinstance(v, str | int | float) for v in raw):
        raise ValidationError(name, f"{name} 应为字符串列表。")
    return [str(v) for v in raw]


def as_dict(params: dict[str, Any], name: str) -> dict[str, Any]:
    raw = params.get(name)
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ValidationError(name, f"{name} 不是有效的 JSON 对象。") from exc
    if not isinstance(raw, dict):
        raise ValidationError(name, f"{name} 应为 JSON 对象。")
    return raw


@dataclass(frozen=True)
class SearchParams:
    q: str
    flt: DatasetFilter
    sort: Sort
    sort_text: str
    rows: int
    start: int
    facet_fields: list[str] = field(default_factory=list)
    facet_limit: int = 50
    facet_mincount: int = 1


def search_params(params: dict[str, Any]) -> SearchParams:
    q = str(params.get("q") or "").strip()
    if q in ("*:*", "*"):
        q = ""
    fq_raw = params.get("fq") or ""
    fq_list = params.get("fq_list")
    fq = " ".join([str(fq_raw), *(as_list(params, "fq_list") if fq_list else [])])
    flt = parse_fq(fq)
    sort_text = str(params.get("sort") or DEFAULT_SORT)
    facet_limit_raw = params.get("facet.limit")
    facet_limit = 50
    if facet_limit_raw not in (None, ""):
        try:
            facet_limit = int(str(facet_limit_raw))
        except ValueError as exc:
            raise ValidationError("facet.limit", "facet.limit 应为整数。") from exc
    return SearchParams(
        q=q,
        flt=flt,
        sort=parse_sort(sort_text, has_query=bool(q)),
        sort_text=sort_text,
        rows=as_int(params, "rows", 10, maximum=MAX_ROWS),
        start=as_int(params, "start", 0),
        facet_fields=as_list(params, "facet.field"),
        facet_limit=facet_limit,
        facet_mincount=as_int(params, "facet.mincount", 1),
    )
