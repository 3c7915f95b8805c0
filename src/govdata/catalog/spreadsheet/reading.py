"""Reading an import: the workbook opened or refused, sheets read (``sheets``), rows checked."""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import inputs, rules, vocabularies
from govdata.catalog.models import (
    Resource,
    ResourceState,
)
from govdata.catalog.schemas import ResourceIn
from govdata.catalog.spreadsheet.columns import (
    I_LENGTH,
    I_NAME,
    I_RESOURCE,
    I_SUBJECT_KEY,
    ITEM_FIELD_COLUMNS,
    ITEM_HEADERS,
    ITEM_REQUIRED,
    ITEM_SHEET,
    R_CODE,
    R_NAME,
    R_RELATED,
    RESOURCE_FIELD_COLUMNS,
    RESOURCE_HEADERS,
    RESOURCE_REQUIRED,
    RESOURCE_SHEET,
    SHEETS,
    Cell,
    ImportProblem,
    ImportRejected,
    SheetLayout,
    _parse_item,
    _parse_resource,
    _Problems,
    _ResourceRow,
    resolve_codes,
)
from govdata.catalog.spreadsheet.sheets import _read_sheet
from govdata.core.errors import InvalidInput
from govdata.core.settings import Settings, get_settings
from govdata.core.xlsx_limits import (
    OLE_SIGNATURE,
    XlsxTooLarge,
    check_xls,
    check_xlsx,
    limits_for,
)
from govdata.org.models import Department

# --- limits (a product decision: far above any department's list, far below a denial of service)

MAX_FILE_BYTES = 64 * 1024 * 1024
# What a workbook may expand to: the setting GOVDATA_CATALOG_XLSX_MAX_EXPANDED_BYTES
# (core/xlsx_limits.py checks it, with the ratio, entries, rows and grid limits).
MAX_UNCOMPRESSED_BYTES = Settings.catalog_xlsx_max_expanded_bytes
MAX_RESOURCE_ROWS = 50_000
MAX_ITEM_ROWS = 500_000
_CHUNK = 900  # bounded IN lists (SQLite's default limit on bound parameters is 999 on old builds)


# --- reading the workbook ---------------------------------------------------------------------


def _refuse(code: str, message: str, status: int | None = None, **detail: Any) -> InvalidInput:
    return InvalidInput(code, message, detail=detail or None, status=status)


def _check_xlsx(content: bytes, not_xlsx: InvalidInput) -> None:
    """An xlsx is a zip holding a workbook, and expands within the limits (Art. 39)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise not_xlsx from None
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise not_xlsx
    # Art. 39: a zip bomb or a sparse sheet is refused before calamine spends the memory.
    try:
        check_xlsx(content, limits_for(get_settings(), catalog=True))
    except XlsxTooLarge as exc:
        raise _refuse(
            "catalog.import_too_large",
            f"{exc.message}请分批导入。",
            status=413,
            reason=exc.reason,
            **exc.detail,
        ) from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise not_xlsx from None


def _open_workbook(content: bytes) -> dict[str, list[list[Cell]]]:
    """The two sheets as rows of cells (row 0 is the spreadsheet's row 1), or a refusal."""
    if not content:
        raise _refuse("catalog.import_empty", "上传的文件是空的。")
    if len(content) > MAX_FILE_BYTES:
        raise _refuse(
            "catalog.import_too_large",
            f"文件超过 {MAX_FILE_BYTES // (1024 * 1024)} MB，请分批导入。",
            status=413,
        )
    not_xlsx = _refuse(
        "catalog.import_not_xlsx",
        "文件不是 Excel 工作簿（.xlsx 或 .xls）。如为 .csv 或其他格式，"
        "请在 Excel 或 WPS 中另存为 .xlsx 后导入。",
    )
    if content.startswith(b"PK\x03\x04"):
        _check_xlsx(content, not_xlsx)
    elif content.startswith(OLE_SIGNATURE):
        # Legacy Excel (.xls), as many offices and WPS still save: no zip to bomb, and a grid
        # the format bounds (``check_xls``).
        try:
            check_xls(limits_for(get_settings(), catalog=True))
        except XlsxTooLarge as exc:
            raise _refuse("catalog.import_too_large", exc.message, status=413) from None
    else:
        raise not_xlsx
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
    except CalamineError:
        raise not_xlsx from None
    try:
        missing = [name for name in SHEETS if name not in workbook.sheet_names]
        if missing:
            raise _refuse(
                "catalog.import_sheet_missing",
                f"工作簿缺少工作表{'、'.join(f'“{m}”' for m in missing)}"
                f"（须有“{RESOURCE_SHEET}”和“{ITEM_SHEET}”两个工作表）。",
                sheets=missing,
            )
        sheets: dict[str, list[list[Cell]]] = {}
        limits = {RESOURCE_SHEET: MAX_RESOURCE_ROWS, ITEM_SHEET: MAX_ITEM_ROWS}
        for name in SHEETS:
            try:
                sheet = workbook.get_sheet_by_name(name)
                if sheet.height > limits[name] + 1:
                    raise _refuse(
                        "catalog.import_too_many_rows",
                        f"工作表“{name}”超过 {limits[name]} 行，请分批导入。",
                        status=413,
                    )
                # Leading empty rows and columns kept, so that row and column numbers are the
                # spreadsheet's own.
                sheets[name] = list(sheet.to_python(skip_empty_area=False))
            except CalamineError:
                raise not_xlsx from None
        return sheets
    finally:
        workbook.close()


# --- checking rows ----------------------------------------------------------------------------


def _schema_problems(
    errors: list[inputs.SchemaError], record: _ResourceRow, problems: _Problems
) -> None:
    """The schema's limits, placed on the cell they are about."""
    for error in errors:
        path = error.path
        detail = error.explain or "取值不符合要求。"
        if error.item is not None and len(path) >= 3:
            column = ITEM_FIELD_COLUMNS.get(str(path[2]), I_NAME)
            row = record.items[error.item].row
            problems.add(
                ITEM_SHEET, row, column, "catalog.import_value_invalid", f"{column}{detail}"
            )
        elif path and path[0] == "items":
            problems.add(
                RESOURCE_SHEET,
                record.row,
                R_NAME,
                "catalog.import_value_invalid",
                f"一个政务数据资源的信息项{detail}",
            )
        else:
            column = RESOURCE_FIELD_COLUMNS.get(str(path[0]) if path else "", R_NAME)
            problems.add(
                RESOURCE_SHEET,
                record.row,
                column,
                "catalog.import_value_invalid",
                f"{column}{detail}",
            )


# Where an item's rule problem points: the cell of the item's own row it is about.
_ITEM_RULE_COLUMNS = {
    "catalog.item_length_required": I_LENGTH,
    "catalog.item_name_duplicate": I_NAME,
    "catalog.subject_key_multiple": I_SUBJECT_KEY,
}


def _rule_problems(found: list[rules.Problem], record: _ResourceRow, problems: _Problems) -> None:
    """``rules.check_resource``'s problems, placed on the row and column they are about."""
    for problem in found:
        if problem.item is not None:
            column = _ITEM_RULE_COLUMNS.get(problem.code, I_NAME)
            row = record.items[problem.item].row
            problems.add(ITEM_SHEET, row, column, problem.code, problem.message)
            continue
        column = RESOURCE_FIELD_COLUMNS.get(problem.field, R_NAME)
        problems.add(RESOURCE_SHEET, record.row, column, problem.code, problem.message)


def _normalized(data: ResourceIn) -> ResourceIn:
    """The input as the services would store it, so that equality with a stored one is exact.

    Related codes sorted without duplicates, the subject as inferred, an item's share/open type
    equal to the resource's recorded as inherited: ``service._apply`` stores the same values.
    """
    items = [
        item.model_copy(
            update={
                "share_type": None if item.share_type == data.share_type else item.share_type,
                "open_type": None if item.open_type == data.open_type else item.open_type,
            }
        )
        if item.share_type == data.share_type or item.open_type == data.open_type
        else item
        for item in data.items
    ]
    return data.model_copy(
        update={
            "related_codes": sorted({c.strip() for c in data.related_codes if c.strip()}),
            "subject_kind": rules.infer_subject(data),
            "items": items,
        }
    )


# --- what the database holds ------------------------------------------------------------------


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _existing_codes(session: Session, codes: Iterable[str]) -> set[str]:
    wanted = sorted(set(codes))
    found: set[str] = set()
    for chunk in _chunks(wanted):
        found.update(session.scalars(select(Resource.code).where(Resource.code.in_(chunk))))
    return found


def _check(
    session: Session, department: Department, content: bytes
) -> tuple[list[_ResourceRow], _Problems, tuple[SheetLayout, ...]]:
    """Parse and check every row; ``data`` is set on each row whose cells could all be read."""
    sheets = _open_workbook(content)
    header_problems: list[ImportProblem] = []
    rsheet = _read_sheet(
        RESOURCE_SHEET, sheets[RESOURCE_SHEET], RESOURCE_HEADERS, RESOURCE_REQUIRED, header_problems
    )
    isheet = _read_sheet(
        ITEM_SHEET, sheets[ITEM_SHEET], ITEM_HEADERS, ITEM_REQUIRED, header_problems
    )
    del sheets  # the cells live on in the sheets' rows until those are parsed
    layouts = tuple(s.layout for s in (rsheet, isheet) if s.layout is not None)
    if header_problems:
        # Rows cannot be read against unknown columns.
        raise ImportRejected(header_problems, layouts)
    if not rsheet.rows:
        raise _refuse(
            "catalog.import_no_rows",
            f"工作表“{RESOURCE_SHEET}”没有数据行（列名行之下应为每个资源一行）。",
        )
    problems = _Problems()
    records = [_parse_resource(rsheet, n, cells, department, problems) for n, cells in rsheet.rows]
    rsheet.rows.clear()
    by_name = _check_unique(records, problems)
    for number, cells in isheet.rows:
        item = _parse_item(isheet, number, cells, problems)
        if not item.resource_name:
            continue
        owner = by_name.get(item.resource_name)
        if owner is None:
            problems.add(
                ITEM_SHEET,
                number,
                I_RESOURCE,
                "catalog.import_item_resource_unknown",
                f"信息资源“{item.resource_name}”不在工作表“{RESOURCE_SHEET}”中，"
                "信息项须属于本文件列出的资源。",
            )
        else:
            owner.items.append(item)
    isheet.rows.clear()
    _check_codes_and_names(session, department, records, problems)
    _check_related(session, records, problems)
    # The bureau's current code lists, with their mappings of old values (issue 16).
    vocabs = vocabularies.current_all(session)
    resolve_codes(vocabs, records, problems)

    # The schema's limits and the regulation's rules, on every row in the same pass as its
    # cells: a rule reading a cell that could not be read is left out (it would report a
    # problem that is not there), every other one runs (``inputs``).
    for record in records:
        if record.duplicate:
            continue
        unknown = set(record.unknown)
        unknown.update(
            f"items.{n}.{f}" for n, item in enumerate(record.items) for f in item.unknown
        )
        raw = {**record.fields, "items": [item.fields for item in record.items]}
        result = inputs.read(raw, unknown, vocabs[vocabularies.RESOURCE_FORMAT].label_of)
        _schema_problems(result.schema, record, problems)
        _rule_problems(result.problems, record, problems)
        if result.data is None or not record.ok or not all(item.ok for item in record.items):
            continue
        record.data = _normalized(result.data)
        record.fields, record.items = {}, []  # all in ``data`` now (10,000 rows: ~50 MB)
    return records, problems, layouts


def _check_unique(records: list[_ResourceRow], problems: _Problems) -> dict[str, _ResourceRow]:
    """Names and codes are unique within the file; returns the rows by name (first wins)."""
    by_name: dict[str, _ResourceRow] = {}
    by_code: dict[str, _ResourceRow] = {}
    for record in records:
        first = by_name.get(record.name) if record.name else None
        if first is not None:
            record.ok = False  # its items went to the first row of that name: no rules on it
            record.duplicate = True
            problems.add(
                RESOURCE_SHEET,
                record.row,
                R_NAME,
                "catalog.import_name_duplicate",
                f"信息资源名称“{record.name}”与第 {first.row} 行重复；同一部门的资源名称不能重复。",
            )
        elif record.name:
            by_name[record.name] = record
        first = by_code.get(record.code) if record.code else None
        if first is not None:
            problems.add(
                RESOURCE_SHEET,
                record.row,
                R_CODE,
                "catalog.import_code_duplicate",
                f"信息资源代码“{record.code}”与第 {first.row} 行重复。",
            )
        elif record.code:
            by_code[record.code] = record
    return by_name


def _check_codes_and_names(
    session: Session, department: Department, records: list[_ResourceRow], problems: _Problems
) -> None:
    """Codes name this department's resources; names are not another resource's."""
    held = session.execute(
        select(Resource.id, Resource.code, Resource.name, Resource.state).where(
            Resource.department_id == department.id
        )
    ).all()
    id_of_code = {row.code: row.id for row in held}
    code_of_id = {row.id: row.code for row in held}
    holders: dict[str, list[int]] = defaultdict(list)
    for row in held:
        if row.state != ResourceState.RETIRED:
            holders[row.name].append(row.id)
    for record in records:
        if record.code:
            record.resource_id = id_of_code.get(record.code)
            if record.resource_id is None:
                problems.add(
                    RESOURCE_SHEET,
                    record.row,
                    R_CODE,
                    "catalog.import_code_unknown",
                    f"信息资源代码“{record.code}”不是{department.name}已有的政务数据资源；"
                    "新增资源请将代码留空，由平台赋码。",
                )
                continue
        others = [i for i in holders.get(record.name, []) if i != record.resource_id]
        if others:
            problems.add(
                RESOURCE_SHEET,
                record.row,
                R_NAME,
                "catalog.import_name_taken",
                f"本部门目录清单中已有名为“{record.name}”的资源（{code_of_id[others[0]]}），"
                "修改该资源请填写其信息资源代码。",
            )


def _check_related(session: Session, records: list[_ResourceRow], problems: _Problems) -> None:
    """Related codes name resources that exist, and not the resource itself (Art. 11)."""
    known = _existing_codes(session, [c for r in records for c in r.fields["related_codes"]])
    for record in records:
        codes = record.fields["related_codes"]
        if record.code and record.code in codes:
            problems.add(
                RESOURCE_SHEET,
                record.row,
                R_RELATED,
                "catalog.import_related_code_self",
                "关联资源代码不能是本资源自身。",
            )
        missing = sorted({c for c in codes if c not in known})
        if missing:
            problems.add(
                RESOURCE_SHEET,
                record.row,
                R_RELATED,
                "catalog.import_related_code_unknown",
                f"关联资源代码不存在：{'、'.join(missing)}。",
            )
