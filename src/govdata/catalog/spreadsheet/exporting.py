"""Export in the import's layout (xlsx, a zip of CSVs, JSON) and the problems report."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import policy, versions, vocabularies
from govdata.catalog.models import (
    CatalogVersionMember,
    Resource,
    ResourceRevision,
    ResourceState,
)
from govdata.catalog.schemas import ResourceIn
from govdata.catalog.spreadsheet.columns import (
    ITEM_HEADERS,
    ITEM_SHEET,
    R_ABSTRACT,
    R_CATEGORY,
    R_CODE,
    R_FORMAT,
    R_LEGAL_BASIS,
    R_NAME,
    R_OPEN_CONDITIONS,
    R_OPEN_TYPE,
    R_PROVIDER,
    R_PROVIDER_CODE,
    R_PUBLISHED_ON,
    R_RELATED,
    R_SECURITY,
    R_SHARE_CONDITIONS,
    R_SHARE_METHOD,
    R_SHARE_TYPE,
    R_SUBJECT,
    R_UPDATE_CYCLE,
    R_USAGE,
    RESOURCE_HEADERS,
    RESOURCE_SHEET,
    ImportProblem,
)
from govdata.catalog.spreadsheet.reading import (
    _chunks,
)
from govdata.catalog.spreadsheet.storing import (
    _stored,
)
from govdata.catalog.versions import CatalogFilter
from govdata.catalog.vocab import (
    Category,
    LabelledEnum,
    OpenType,
    ShareType,
    SubjectKind,
)
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import InvalidInput
from govdata.core.spreadsheet_safety import neutralize, xlsx_row
from govdata.org import service as org_service

# --- export -----------------------------------------------------------------------------------

EXPORT_FORMATS = ("xlsx", "csv", "json")


# Characters XML 1.0 cannot carry; openpyxl refuses them.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class _Entry:
    """One resource to export: its code, its department, its ``ResourceIn`` fields as JSON."""

    code: str
    department_code: str
    department_name: str
    data: dict[str, Any]
    extra: dict[str, Any]
    # The bureau's labels by list and code (安全级别, 资源格式, 更新周期; a retired code: its
    # last label, which an import maps as the bureau said).
    list_labels: dict[str, dict[str, str]]


def _label(enum: type[LabelledEnum], value: str | None) -> str:
    return enum(value).label if value else ""


def _list_label(entry: _Entry, name: str) -> str:
    code = entry.data.get(vocabularies.LISTS[name].field) or ""
    return entry.list_labels[name].get(code, code)


def _list_labels(session: Session) -> dict[str, dict[str, str]]:
    return {
        name: {e.code: e.label for e in vocab.entries}
        for name, vocab in vocabularies.current_all(session).items()
    }


def _resource_cells(entry: _Entry) -> list[Any]:
    d = entry.data
    category = _label(Category, d["category"])
    fmt = _list_label(entry, vocabularies.RESOURCE_FORMAT)
    published_on = d.get("published_on")
    cells = {
        R_CATEGORY: f"{category}/{d['class_path']}" if d.get("class_path") else category,
        R_NAME: d["name"],
        R_CODE: entry.code,
        R_PROVIDER: entry.department_name,
        R_PROVIDER_CODE: entry.department_code,
        R_ABSTRACT: d.get("abstract", ""),
        R_FORMAT: f"{fmt}/{d['format_subtype']}" if d.get("format_subtype") else fmt,
        R_SHARE_TYPE: _label(ShareType, d["share_type"]),
        R_SHARE_CONDITIONS: d.get("share_conditions", ""),
        R_SHARE_METHOD: d.get("share_method", ""),
        R_OPEN_TYPE: _label(OpenType, d["open_type"]),
        R_OPEN_CONDITIONS: d.get("open_conditions", ""),
        R_UPDATE_CYCLE: _list_label(entry, vocabularies.UPDATE_CYCLE),
        R_PUBLISHED_ON: date.fromisoformat(published_on) if published_on else None,
        R_RELATED: ";".join(d.get("related_codes") or []),
        R_LEGAL_BASIS: d.get("legal_basis", ""),
        R_SECURITY: _list_label(entry, vocabularies.SECURITY_LEVEL),
        R_USAGE: d.get("usage_requirements", ""),
        R_SUBJECT: _label(SubjectKind, d.get("subject_kind")),
    }
    return [cells[h] for h in RESOURCE_HEADERS]


def _item_cells(entry: _Entry) -> Iterator[list[Any]]:
    d = entry.data
    for item in d.get("items") or []:
        share, open_ = item.get("share_type"), item.get("open_type")
        yield [
            d["name"],
            item["name"],
            item["data_type"],
            item.get("length"),
            _label(ShareType, share) if share and share != d["share_type"] else "",
            _label(OpenType, open_) if open_ and open_ != d["open_type"] else "",
            "是" if item.get("is_subject_key") else "否",
        ]


def _clean(value: Any) -> Any:
    return _ILLEGAL_XML.sub("", value) if isinstance(value, str) else value


def _xlsx(
    sheets: list[tuple[str, Sequence[str], Sequence[int]]], rows: Iterable[tuple[int, list[Any]]]
) -> bytes:
    """A write-only workbook (constant memory): ``rows`` yields (sheet index, cells)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    worksheets = []
    for title, headers, widths in sheets:
        ws = workbook.create_sheet(title)
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A2"
        header = []
        for text in headers:  # our own column names
            cell = WriteOnlyCell(ws, text)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        worksheets.append(ws)
    for index, cells in rows:
        ws = worksheets[index]
        ws.append(xlsx_row(ws, cells))  # text never a formula (Art. 39)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


_RESOURCE_WIDTHS = (18, 28, 20, 20, 14, 40, 16, 12, 24, 12, 12, 24, 10, 12, 24, 30, 10, 20, 10)
_ITEM_WIDTHS = (28, 20, 10, 10, 12, 12, 12)


def _export_xlsx(entries: Iterable[_Entry]) -> bytes:
    def rows() -> Iterator[tuple[int, list[Any]]]:
        # Both sheets are written in one pass; each write-only sheet streams to its own file.
        for entry in entries:
            yield 0, _resource_cells(entry)
            for cells in _item_cells(entry):
                yield 1, cells

    return _xlsx(
        [
            (RESOURCE_SHEET, RESOURCE_HEADERS, _RESOURCE_WIDTHS),
            (ITEM_SHEET, ITEM_HEADERS, _ITEM_WIDTHS),
        ],
        rows(),
    )


def _csv_text(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return neutralize(_clean(value))  # Art. 39: formula-like text prefixed with '


def _export_csv(entries: Iterable[_Entry]) -> bytes:
    resources, items = io.StringIO(), io.StringIO()
    rw, iw = csv.writer(resources), csv.writer(items)
    rw.writerow(RESOURCE_HEADERS)
    iw.writerow(ITEM_HEADERS)
    for entry in entries:
        rw.writerow([_csv_text(v) for v in _resource_cells(entry)])
        for cells in _item_cells(entry):
            iw.writerow([_csv_text(v) for v in cells])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("resources.csv", resources.getvalue().encode("utf-8-sig"))
        archive.writestr("items.csv", items.getvalue().encode("utf-8-sig"))
    return buffer.getvalue()


def _export_json(entries: Iterable[_Entry], meta: dict[str, Any]) -> bytes:
    resources = [
        {
            "code": e.code,
            "department_code": e.department_code,
            "department_name": e.department_name,
            **e.extra,
            **e.data,
        }
        for e in entries
    ]
    document = {**meta, "exported_at": utcnow().isoformat(), "resources": resources}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _export(fmt: str, entries: Iterable[_Entry], meta: dict[str, Any]) -> bytes:
    if fmt == "xlsx":
        return _export_xlsx(entries)
    if fmt == "csv":
        return _export_csv(entries)
    return _export_json(entries, meta)


def _require_format(fmt: str) -> None:
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(
            "catalog.export_format_unknown", f"导出格式“{fmt}”无效，可选：xlsx、csv、json。"
        )


def export_list(session: Session, actor: Actor, department_id: int, fmt: str) -> bytes:
    """A department's working catalog list (drafts included, withdrawn and retired left out),
    in the import's layout: importing it back changes nothing."""
    _require_format(fmt)
    department = org_service.get_department(session, actor, department_id)
    rows = session.execute(
        policy.visible_resources(actor)
        .with_only_columns(Resource.id, Resource.code, Resource.state)
        .where(
            Resource.department_id == department.id,
            Resource.state != ResourceState.RETIRED,
            Resource.withdrawn.is_(False),
        )
        .order_by(Resource.code)
    ).all()

    labels = _list_labels(session)

    def entries() -> Iterator[_Entry]:
        for chunk in _chunks(rows, 1000):
            stored = _stored(session, [row.id for row in chunk])
            for row in chunk:
                data = stored[row.id].data.model_dump(mode="json")
                yield _Entry(
                    row.code, department.code, department.name, data, {"state": row.state}, labels
                )

    meta = {"kind": "list", "department_code": department.code, "department_name": department.name}
    return _export(fmt, entries(), meta)


_INPUT_FIELDS = tuple(ResourceIn.model_fields)


def _published_input(data: dict[str, Any]) -> dict[str, Any]:
    """A revision's snapshot as ``ResourceIn`` fields (an item equal to its resource inherits)."""
    out = {k: data.get(k) for k in _INPUT_FIELDS}
    out["items"] = [
        {
            **item,
            "share_type": None
            if item.get("share_type") == data.get("share_type")
            else item.get("share_type"),
            "open_type": None
            if item.get("open_type") == data.get("open_type")
            else item.get("open_type"),
        }
        for item in data.get("items") or []
    ]
    return out


def export_published(
    session: Session,
    actor: Actor,
    fmt: str,
    *,
    number: int | None = None,
    flt: CatalogFilter | None = None,
) -> bytes:
    """A published version of the catalog (the current one unless ``number``), filtered."""
    policy.require_read_published(actor)
    _require_format(fmt)
    version = versions.get_version(session, number)
    stmt = (
        select(ResourceRevision.code, ResourceRevision.number, ResourceRevision.data)
        .join(CatalogVersionMember, CatalogVersionMember.revision_id == ResourceRevision.id)
        .where(CatalogVersionMember.version_id == version.id)
    )
    if flt is not None:
        stmt = versions.apply_filter(stmt, flt)
    stmt = stmt.order_by(ResourceRevision.code).execution_options(yield_per=2000)

    labels = _list_labels(session)

    def entries() -> Iterator[_Entry]:
        for code, revision, data in session.execute(stmt):
            yield _Entry(
                code,
                str(data.get("department_code", "")),
                str(data.get("department_name", "")),
                _published_input(data),
                {"revision": revision},
                labels,
            )

    meta = {
        "kind": "published",
        "version": version.number,
        "published_at": version.published_at.isoformat(),
    }
    return _export(fmt, entries(), meta)


def problems_report_xlsx(problems: list[ImportProblem]) -> bytes:
    """The problems of a rejected import as a workbook to download and work through."""
    headers = ("工作表", "行号", "列", "问题代码", "问题说明")
    return _xlsx(
        [("导入问题", headers, (12, 8, 20, 36, 80))],
        ((0, [p.sheet, p.row, p.column, p.code, p.message]) for p in problems),
    )
