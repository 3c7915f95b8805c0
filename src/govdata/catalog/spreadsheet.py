"""Catalog lists in spreadsheets: import a department's list from xlsx, export lists and versions.

Departments keep their 目录清单 in spreadsheets (Art. 11, 12). The workbook has two sheets:

``信息资源``
    one row per resource. Headers (matched by name, in any order): 信息资源分类 (基础, 主题 or
    部门, optionally followed by ``/项/目/细目``), 信息资源名称, 信息资源代码 (blank: a new
    resource, the platform issues its code), 信息资源提供方 (the department's name, for
    reading only), 信息资源提供方代码 (blank: the department imported into), 信息资源摘要,
    信息资源格式 (``数据库`` or ``数据库/PostgreSQL``: format, "/", sub-type), 共享类型,
    共享条件, 共享方式, 开放类型, 开放条件, 更新周期, 发布日期 (a date cell, or the text
    ``YYYY-MM-DD``, ``YYYY/MM/DD`` or ``YYYY年M月D日``), 关联资源代码 (separated by ``;``,
    ``；`` or ``,``), 法律依据, 安全级别 (公开/内部/敏感/受限, blank: 内部), and two optional
    headers the platform adds so that round trips are lossless: 使用要求 and 数据主体
    (自然人/法人/其他, blank: inferred from the subject-key item or the class, Art. 16).
``信息项``
    one row per info item: 信息资源名称 (naming its resource in the first sheet), 信息项名称,
    数据类型 (the guide's letter, or its label such as 字符型), 数据长度, and optionally 共享类型
    and 开放类型 (blank: the item inherits the resource's) and 是否主体标识 (是/否, Y/N, 1/0,
    TRUE/FALSE; blank: 否).

Columns whose cell is always needed (分类, 名称, 格式, 共享类型, 开放类型, 更新周期; 信息资源名称,
信息项名称, 数据类型) must be present; any other column may be left out and then reads as blank
cells. A row replaces the resource's metadata and its whole list of items; resources of the
department that the file does not mention are left as they are (withdrawing is done on the page).

Import is all or nothing (DESIGN principle 4): every row is checked first — the regulation's
rules (``rules.check_resource``, reported with the rules' own codes), labels, required cells,
codes, names and related codes (``catalog.import_*`` codes) — and if anything is wrong,
``ImportRejected`` lists every problem with its sheet, row (as the spreadsheet numbers it: the
header is row 1), column, code and a zh-CN message, and nothing is stored. Otherwise the rows are
stored in the caller's transaction (this module flushes, never commits) with one audit event
``catalog.list.import`` for the whole file. A row equal to the stored resource changes nothing,
not even its state. Small imports go through ``service.create_resource`` /
``service.update_resource``; large ones through a set-based path here that writes the same rows
(same codes, items, states; BENCHMARKS.md, "Catalog import and publish").

Export writes the same two-sheet layout, so an exported list imports back unchanged:

``xlsx``
    the workbook above (``export_list``: a department's working list without withdrawn or
    retired resources; ``export_published``: a published version).
``csv``
    a zip holding ``resources.csv`` and ``items.csv``: the two sheets, same headers and cells,
    UTF-8 with a BOM (so that Excel opens Chinese text correctly), CRLF line ends. A cell that
    begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so
    that a spreadsheet does not run it as a formula (OWASP "CSV injection").
``json``
    ``{"kind": "list"|"published", ..., "resources": [...]}``; each resource has ``code``,
    ``department_code``, ``department_name`` and the fields of ``schemas.ResourceIn`` with their
    stable English values (an item's ``share_type``/``open_type`` is null when it inherits).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import cache
from types import SimpleNamespace
from typing import Any, cast

from pydantic import ValidationError
from python_calamine import CalamineError, CalamineWorkbook
from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from govdata.catalog import policy, rules, service, versions
from govdata.catalog.models import (
    CatalogVersionMember,
    Classification,
    InfoItem,
    Resource,
    ResourceRevision,
    ResourceState,
)
from govdata.catalog.schemas import ResourceIn
from govdata.catalog.versions import CatalogFilter
from govdata.catalog.vocab import (
    Category,
    DataType,
    LabelledEnum,
    OpenType,
    ResourceFormat,
    SecurityLevel,
    ShareType,
    SubjectKind,
    UpdateCycle,
)
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import InvalidInput
from govdata.org import service as org_service
from govdata.org.models import Department

# --- layout -----------------------------------------------------------------------------------

RESOURCE_SHEET = "信息资源"
ITEM_SHEET = "信息项"
SHEETS = (RESOURCE_SHEET, ITEM_SHEET)

R_CATEGORY = "信息资源分类"
R_NAME = "信息资源名称"
R_CODE = "信息资源代码"
R_PROVIDER = "信息资源提供方"
R_PROVIDER_CODE = "信息资源提供方代码"
R_ABSTRACT = "信息资源摘要"
R_FORMAT = "信息资源格式"
R_SHARE_TYPE = "共享类型"
R_SHARE_CONDITIONS = "共享条件"
R_SHARE_METHOD = "共享方式"
R_OPEN_TYPE = "开放类型"
R_OPEN_CONDITIONS = "开放条件"
R_UPDATE_CYCLE = "更新周期"
R_PUBLISHED_ON = "发布日期"
R_RELATED = "关联资源代码"
R_LEGAL_BASIS = "法律依据"
R_SECURITY = "安全级别"
R_USAGE = "使用要求"  # not in the list: kept so that round trips are lossless
R_SUBJECT = "数据主体"  # likewise (blank: inferred, Art. 16)

RESOURCE_HEADERS = (
    R_CATEGORY,
    R_NAME,
    R_CODE,
    R_PROVIDER,
    R_PROVIDER_CODE,
    R_ABSTRACT,
    R_FORMAT,
    R_SHARE_TYPE,
    R_SHARE_CONDITIONS,
    R_SHARE_METHOD,
    R_OPEN_TYPE,
    R_OPEN_CONDITIONS,
    R_UPDATE_CYCLE,
    R_PUBLISHED_ON,
    R_RELATED,
    R_LEGAL_BASIS,
    R_SECURITY,
    R_USAGE,
    R_SUBJECT,
)
RESOURCE_REQUIRED = (R_CATEGORY, R_NAME, R_FORMAT, R_SHARE_TYPE, R_OPEN_TYPE, R_UPDATE_CYCLE)

I_RESOURCE = "信息资源名称"
I_NAME = "信息项名称"
I_TYPE = "数据类型"
I_LENGTH = "数据长度"
I_SHARE_TYPE = "共享类型"
I_OPEN_TYPE = "开放类型"
I_SUBJECT_KEY = "是否主体标识"

ITEM_HEADERS = (I_RESOURCE, I_NAME, I_TYPE, I_LENGTH, I_SHARE_TYPE, I_OPEN_TYPE, I_SUBJECT_KEY)
ITEM_REQUIRED = (I_RESOURCE, I_NAME, I_TYPE)

# Where a ``ResourceIn`` / ``InfoItemIn`` field sits in the sheets (to place rule problems).
RESOURCE_FIELD_COLUMNS = {
    "category": R_CATEGORY,
    "class_path": R_CATEGORY,
    "name": R_NAME,
    "abstract": R_ABSTRACT,
    "format": R_FORMAT,
    "format_subtype": R_FORMAT,
    "share_type": R_SHARE_TYPE,
    "share_conditions": R_SHARE_CONDITIONS,
    "share_method": R_SHARE_METHOD,
    "open_type": R_OPEN_TYPE,
    "open_conditions": R_OPEN_CONDITIONS,
    "legal_basis": R_LEGAL_BASIS,
    "update_cycle": R_UPDATE_CYCLE,
    "published_on": R_PUBLISHED_ON,
    "related_codes": R_RELATED,
    "security_level": R_SECURITY,
    "usage_requirements": R_USAGE,
    "subject_kind": R_SUBJECT,
    "items": R_NAME,  # a problem of the resource's items as a whole
}
ITEM_FIELD_COLUMNS = {
    "name": I_NAME,
    "data_type": I_TYPE,
    "length": I_LENGTH,
    "share_type": I_SHARE_TYPE,
    "open_type": I_OPEN_TYPE,
    "is_subject_key": I_SUBJECT_KEY,
}

# --- limits (a product decision: far above any department's list, far below a denial of service)

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024  # a zip bomb is refused before it is parsed
MAX_RESOURCE_ROWS = 50_000
MAX_ITEM_ROWS = 500_000
MAX_PROBLEMS = 1000  # the report lists this many; the rest are counted
# From this many changed rows on, the set-based path stores them (the services' rules, same rows).
BULK_THRESHOLD = 200
_CHUNK = 900  # bounded IN lists (SQLite's default limit on bound parameters is 999 on old builds)

RELATED_SEPARATORS = re.compile(r"[;；,，、\s]+")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$"),
)
_TRUE = frozenset({"是", "y", "yes", "1", "true", "t"})
_FALSE = frozenset({"否", "n", "no", "0", "false", "f"})
# Characters XML 1.0 cannot carry; openpyxl refuses them.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# What calamine gives for a cell: str, int, float, bool, date, datetime, time or timedelta.
Cell = Any


_RESOURCES = cast(Table, Resource.__table__)
_ITEMS = cast(Table, InfoItem.__table__)
_CLASSES = cast(Table, Classification.__table__)

# --- public types -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProblem:
    sheet: str
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str  # the header name
    code: str
    message: str


class ImportRejected(InvalidInput):
    """The file has problems; nothing was stored. ``problems`` holds at most ``MAX_PROBLEMS``."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        ordered = sorted(problems, key=_problem_order)
        shown = ordered[:MAX_PROBLEMS]
        more = len(ordered) - len(shown)
        message = f"导入失败：文件中有 {len(ordered)} 处问题，未导入任何数据。请修改后重新导入。"
        if more:
            message += f"（以下列出前 {len(shown)} 处，另有 {more} 处未列出。）"
        super().__init__(
            "catalog.import_rejected",
            message,
            detail={"problems": [asdict(p) for p in shown], "more": more},
        )
        self.problems = shown
        self.more = more
        self.total = len(ordered)


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    # The code of every resource row, in the order of the rows (new ones: the issued code).
    codes: list[str]


def _problem_order(p: ImportProblem) -> tuple[int, int, int, str]:
    sheet = SHEETS.index(p.sheet) if p.sheet in SHEETS else len(SHEETS)
    headers = RESOURCE_HEADERS if p.sheet == RESOURCE_SHEET else ITEM_HEADERS
    column = headers.index(p.column) if p.column in headers else len(headers)
    return sheet, p.row, column, p.code


# --- reading the workbook ---------------------------------------------------------------------


def _refuse(code: str, message: str, status: int | None = None, **detail: Any) -> InvalidInput:
    return InvalidInput(code, message, detail=detail or None, status=status)


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
        "文件不是 Excel 工作簿（.xlsx）。如为 .xls、.csv 或 WPS 格式，"
        "请在 Excel 中另存为 .xlsx 后导入。",
    )
    if not content.startswith(b"PK\x03\x04"):
        raise not_xlsx
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise not_xlsx from None
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise not_xlsx
    if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED_BYTES:
        raise _refuse(
            "catalog.import_too_large", "工作簿解压后的内容过大，请分批导入。", status=413
        )
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


def _text(value: Cell) -> str:
    """A cell as text: numbers without a spurious ``.0``, dates as ISO, whitespace trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _header_key(text: str) -> str:
    # Templates often mark required columns with an asterisk.
    return text.strip().strip("*＊").strip()


@dataclass
class _Sheet:
    name: str
    columns: dict[str, int]  # header -> column index
    rows: list[tuple[int, list[Cell]]]  # (spreadsheet row number, cells), blank rows left out

    def cell(self, cells: list[Cell], header: str) -> Cell:
        index = self.columns.get(header)
        if index is None or index >= len(cells):
            return None
        return cells[index]


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _read_sheet(
    name: str,
    rows: list[list[Cell]],
    known: Sequence[str],
    required: Sequence[str],
    problems: list[ImportProblem],
) -> _Sheet:
    header = [_header_key(_text(c)) for c in rows[0]] if rows else []
    columns: dict[str, int] = {}
    for index, text in enumerate(header):
        if not text:
            continue
        if text in columns:
            problems.append(
                ImportProblem(
                    name,
                    1,
                    text,
                    "catalog.import_header_duplicate",
                    f"列名“{text}”出现了不止一次（第 {_column_letter(columns[text])} 列和第 "
                    f"{_column_letter(index)} 列）。",
                )
            )
        elif text not in known:
            problems.append(
                ImportProblem(
                    name,
                    1,
                    text,
                    "catalog.import_header_unknown",
                    f"无法识别的列名“{text}”（第 {_column_letter(index)} 列）。可用的列名："
                    f"{'、'.join(known)}。",
                )
            )
        else:
            columns[text] = index
    for text in required:
        if text not in columns:
            problems.append(
                ImportProblem(
                    name,
                    1,
                    text,
                    "catalog.import_header_missing",
                    f"工作表“{name}”的第 1 行缺少必需的列“{text}”。",
                )
            )
    data: list[tuple[int, list[Cell]]] = []
    blank_with_data: set[int] = set()
    for number, cells in enumerate(rows[1:], start=2):
        if all(_text(c) == "" for c in cells):
            continue
        data.append((number, cells))
        for index, c in enumerate(cells):
            if (index >= len(header) or not header[index]) and _text(c) != "":
                blank_with_data.add(index)
    for index in sorted(blank_with_data):
        letter = _column_letter(index)
        problems.append(
            ImportProblem(
                name,
                1,
                letter,
                "catalog.import_header_blank",
                f"第 {letter} 列有数据但没有列名，请填写列名或删除该列数据。",
            )
        )
    return _Sheet(name, columns, data)


# --- parsing rows -----------------------------------------------------------------------------


@dataclass
class _ItemRow:
    row: int
    resource_name: str
    fields: dict[str, Any]
    ok: bool


@dataclass
class _ResourceRow:
    row: int
    name: str
    code: str
    fields: dict[str, Any]
    ok: bool
    items: list[_ItemRow] = field(default_factory=list)
    data: ResourceIn | None = None  # once the row and its items have passed every check
    resource_id: int | None = None  # the existing resource a code names


class _Problems:
    def __init__(self) -> None:
        self.items: list[ImportProblem] = []

    def add(self, sheet: str, row: int, column: str, code: str, message: str) -> None:
        self.items.append(ImportProblem(sheet, row, column, code, message))


@cache
def _members(enum: type[LabelledEnum]) -> dict[str, LabelledEnum]:
    """What ``LabelledEnum.parse`` accepts (value or label), as one lookup (150,000 cells)."""
    return {text: member for member in enum for text in (member.value, member.label)}


def _parse_enum(
    enum: type[LabelledEnum],
    text: str,
    sheet: str,
    row: int,
    column: str,
    problems: _Problems,
) -> LabelledEnum | None:
    member = _members(enum).get(text.strip())
    if member is None:
        problems.add(
            sheet,
            row,
            column,
            "catalog.import_label_unknown",
            f"“{text}”不是有效的{column}，可填：{'、'.join(enum.labels())}。",
        )
    return member


def _parse_date(value: Cell) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return None
    return None


def _parse_bool(value: Cell) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _parse_int(value: Cell) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = _text(value)
    return int(text) if re.fullmatch(r"[+-]?\d{1,9}", text) else None


def _required(
    sheet: _Sheet, cells: list[Cell], row: int, column: str, problems: _Problems
) -> str | None:
    text = _text(sheet.cell(cells, column))
    if not text:
        problems.add(
            sheet.name, row, column, "catalog.import_cell_required", f"“{column}”不能为空。"
        )
        return None
    return text


def _parse_resource(
    sheet: _Sheet, row: int, cells: list[Cell], department: Department, problems: _Problems
) -> _ResourceRow:
    before = len(problems.items)
    s = RESOURCE_SHEET

    def text(column: str) -> str:
        return _text(sheet.cell(cells, column))

    def enum(kind: type[LabelledEnum], column: str, *, required: bool) -> LabelledEnum | None:
        raw = _required(sheet, cells, row, column, problems) if required else text(column)
        return _parse_enum(kind, raw, s, row, column, problems) if raw else None

    fields: dict[str, Any] = {}
    category_text = _required(sheet, cells, row, R_CATEGORY, problems)
    if category_text is not None:
        head, _, rest = category_text.partition("/")
        category = _parse_enum(Category, head, s, row, R_CATEGORY, problems)
        fields["category"] = category
        fields["class_path"] = "/".join(part.strip() for part in rest.split("/")) if rest else ""
    name = _required(sheet, cells, row, R_NAME, problems) or ""
    fields["name"] = name
    code = text(R_CODE)
    provider_code = text(R_PROVIDER_CODE)
    if provider_code and provider_code != department.code:
        problems.add(
            s,
            row,
            R_PROVIDER_CODE,
            "catalog.import_wrong_department",
            f"信息资源提供方代码“{provider_code}”与导入的部门（{department.name}，"
            f"{department.code}）不一致；一个文件只能导入本部门的目录清单。",
        )
    fields["abstract"] = text(R_ABSTRACT)
    format_text = _required(sheet, cells, row, R_FORMAT, problems)
    if format_text is not None:
        head, _, subtype = format_text.partition("/")
        fields["format"] = _parse_enum(ResourceFormat, head.strip(), s, row, R_FORMAT, problems)
        fields["format_subtype"] = subtype.strip()
    fields["share_type"] = enum(ShareType, R_SHARE_TYPE, required=True)
    fields["share_conditions"] = text(R_SHARE_CONDITIONS)
    fields["share_method"] = text(R_SHARE_METHOD)
    fields["open_type"] = enum(OpenType, R_OPEN_TYPE, required=True)
    fields["open_conditions"] = text(R_OPEN_CONDITIONS)
    fields["update_cycle"] = enum(UpdateCycle, R_UPDATE_CYCLE, required=True)
    published_cell = sheet.cell(cells, R_PUBLISHED_ON)
    if _text(published_cell):
        published_on = _parse_date(published_cell)
        if published_on is None:
            problems.add(
                s,
                row,
                R_PUBLISHED_ON,
                "catalog.import_date_invalid",
                f"“{_text(published_cell)}”不是有效的日期，"
                "请填写日期或 YYYY-MM-DD、YYYY/MM/DD、YYYY年M月D日 格式的文字。",
            )
        fields["published_on"] = published_on
    related = text(R_RELATED)
    fields["related_codes"] = [c for c in RELATED_SEPARATORS.split(related) if c]
    fields["legal_basis"] = text(R_LEGAL_BASIS)
    security = enum(SecurityLevel, R_SECURITY, required=False)
    if security is not None:
        fields["security_level"] = security
    fields["usage_requirements"] = text(R_USAGE)
    fields["subject_kind"] = enum(SubjectKind, R_SUBJECT, required=False)
    return _ResourceRow(row, name, code, fields, ok=len(problems.items) == before)


def _parse_item(sheet: _Sheet, row: int, cells: list[Cell], problems: _Problems) -> _ItemRow:
    before = len(problems.items)
    s = ITEM_SHEET
    resource_name = _required(sheet, cells, row, I_RESOURCE, problems) or ""
    fields: dict[str, Any] = {"name": _required(sheet, cells, row, I_NAME, problems) or ""}
    type_text = _required(sheet, cells, row, I_TYPE, problems)
    if type_text is not None:
        if len(type_text) == 1:
            type_text = type_text.upper()
        fields["data_type"] = _parse_enum(DataType, type_text, s, row, I_TYPE, problems)
    length_cell = sheet.cell(cells, I_LENGTH)
    if _text(length_cell):
        length = _parse_int(length_cell)
        if length is None:
            problems.add(
                s,
                row,
                I_LENGTH,
                "catalog.import_number_invalid",
                f"数据长度“{_text(length_cell)}”不是整数。",
            )
        fields["length"] = length
    for column, kind, key in (
        (I_SHARE_TYPE, ShareType, "share_type"),
        (I_OPEN_TYPE, OpenType, "open_type"),
    ):
        raw = _text(sheet.cell(cells, column))
        if raw:
            fields[key] = _parse_enum(kind, raw, s, row, column, problems)
    key_cell = sheet.cell(cells, I_SUBJECT_KEY)
    if _text(key_cell):
        flag = _parse_bool(key_cell)
        if flag is None:
            problems.add(
                s,
                row,
                I_SUBJECT_KEY,
                "catalog.import_bool_invalid",
                f"是否主体标识“{_text(key_cell)}”无法识别，请填写“是”或“否”。",
            )
        fields["is_subject_key"] = bool(flag)
    return _ItemRow(row, resource_name, fields, ok=len(problems.items) == before)


_PYDANTIC_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "string_too_short": lambda ctx: f"至少须有 {ctx.get('min_length')} 个字符。",
    "string_too_long": lambda ctx: f"最多 {ctx.get('max_length')} 个字符。",
    "too_long": lambda ctx: f"最多 {ctx.get('max_length')} 个。",
    "greater_than_equal": lambda ctx: f"不能小于 {ctx.get('ge')}。",
    "less_than_equal": lambda ctx: f"不能大于 {ctx.get('le')}。",
}


def _validation_problems(exc: ValidationError, record: _ResourceRow, problems: _Problems) -> None:
    for error in exc.errors():
        loc = error["loc"]
        explain = _PYDANTIC_MESSAGES.get(error["type"])
        detail = explain(error.get("ctx") or {}) if explain else "取值不符合要求。"
        if loc and loc[0] == "items" and len(loc) >= 3 and isinstance(loc[1], int):
            item = record.items[loc[1]]
            column = ITEM_FIELD_COLUMNS.get(str(loc[2]), I_NAME)
            problems.add(
                ITEM_SHEET, item.row, column, "catalog.import_value_invalid", f"{column}{detail}"
            )
        elif loc and loc[0] == "items":
            problems.add(
                RESOURCE_SHEET,
                record.row,
                R_NAME,
                "catalog.import_value_invalid",
                f"一个政务数据资源的信息项{detail}",
            )
        else:
            column = RESOURCE_FIELD_COLUMNS.get(str(loc[0]) if loc else "", R_NAME)
            problems.add(
                RESOURCE_SHEET,
                record.row,
                column,
                "catalog.import_value_invalid",
                f"{column}{detail}",
            )


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


def _rule_problems(record: _ResourceRow, data: ResourceIn, problems: _Problems) -> None:
    """``rules.check_resource``'s problems, placed on the row and column they are about."""
    found = rules.check_resource(data)
    items = data.items
    # The rules report these item by item, in the items' order: point at the item's own row.
    per_item: dict[str, Iterator[int]] = {
        "catalog.item_length_required": iter(
            [n for n, i in enumerate(items) if i.data_type is DataType.C and i.length is None]
        ),
        "catalog.item_name_duplicate": iter(
            [n for n, i in enumerate(items) if i.name in {j.name for j in items[:n]}]
        ),
        "catalog.subject_key_multiple": iter(
            [n for n, i in enumerate(items) if i.is_subject_key][1:2]
        ),
    }
    item_columns = {
        "catalog.item_length_required": I_LENGTH,
        "catalog.item_name_duplicate": I_NAME,
        "catalog.subject_key_multiple": I_SUBJECT_KEY,
    }
    for problem in found:
        index = next(per_item[problem.code], None) if problem.code in per_item else None
        if index is not None:
            item_row = record.items[index].row
            problems.add(
                ITEM_SHEET, item_row, item_columns[problem.code], problem.code, problem.message
            )
            continue
        column = RESOURCE_FIELD_COLUMNS.get(problem.field, R_NAME)
        problems.add(RESOURCE_SHEET, record.row, column, problem.code, problem.message)


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


@dataclass(frozen=True)
class _Stored:
    data: ResourceIn
    state: str
    withdrawn: bool


def _stored(session: Session, ids: Sequence[int]) -> dict[int, _Stored]:
    """Stored resources as ``service.as_input`` sees them, read with two plain queries.

    ``as_input`` reads attributes only, so it is given plain views of the rows rather than ORM
    objects: ten times cheaper for a whole list, and the caller's session does not collect
    thousands of objects that the set-based path would then leave stale.
    """
    out: dict[int, _Stored] = {}
    for chunk in _chunks(sorted(set(ids))):
        items: dict[int, list[SimpleNamespace]] = defaultdict(list)
        for item in session.execute(
            select(_ITEMS)
            .where(_ITEMS.c.resource_id.in_(chunk))
            .order_by(_ITEMS.c.resource_id, _ITEMS.c.position)
        ).mappings():
            items[item["resource_id"]].append(SimpleNamespace(**item))
        for row in session.execute(
            select(_RESOURCES, Classification.category, Classification.path)
            .join(Classification, Classification.id == _RESOURCES.c.classification_id)
            .where(_RESOURCES.c.id.in_(chunk))
        ).mappings():
            view = SimpleNamespace(
                **row,
                classification=SimpleNamespace(category=row["category"], path=row["path"]),
                items=items.get(row["id"], []),
            )
            data = service.as_input(cast(Resource, view))
            out[row["id"]] = _Stored(data, row["state"], row["withdrawn"])
    return out


def _check(
    session: Session, department: Department, content: bytes
) -> tuple[list[_ResourceRow], _Problems]:
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
    if header_problems:
        raise ImportRejected(header_problems)  # rows cannot be read against unknown columns
    if not rsheet.rows:
        raise _refuse(
            "catalog.import_no_rows",
            f"工作表“{RESOURCE_SHEET}”没有数据行（第 1 行为列名，数据从第 2 行开始）。",
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

    # The schema's limits and the regulation's rules, on rows whose every cell could be read
    # (a rule over half-read items would report problems that are not there).
    for record in records:
        if not record.ok or not all(item.ok for item in record.items):
            continue
        try:
            data = ResourceIn.model_validate(
                {**record.fields, "items": [item.fields for item in record.items]}
            )
        except ValidationError as exc:
            _validation_problems(exc, record, problems)
            continue
        _rule_problems(record, data, problems)
        record.data = _normalized(data)
        record.fields, record.items = {}, []  # all in ``data`` now (10,000 rows: ~50 MB)
    return records, problems


def _check_unique(records: list[_ResourceRow], problems: _Problems) -> dict[str, _ResourceRow]:
    """Names and codes are unique within the file; returns the rows by name (first wins)."""
    by_name: dict[str, _ResourceRow] = {}
    by_code: dict[str, _ResourceRow] = {}
    for record in records:
        first = by_name.get(record.name) if record.name else None
        if first is not None:
            record.ok = False  # its items went to the first row of that name: no rules on it
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


def import_catalog(
    session: Session, actor: Actor, department_id: int, content: bytes
) -> ImportResult:
    """Import a department's catalog list from an xlsx file: every row, or nothing.

    Raises ``ImportRejected`` (every problem, by sheet, row and column) when any row is wrong,
    ``InvalidInput`` for a file that cannot be read at all, and the services' errors for
    permissions. Writes in the caller's transaction and flushes; the caller commits.
    """
    department = org_service.get_department(session, actor, department_id)
    policy.require_edit_list(actor, department.id)
    records, problems = _check(session, department, content)

    to_create = [r for r in records if r.data is not None and r.resource_id is None]
    to_update: list[_ResourceRow] = []
    unchanged = 0
    existing = [r for r in records if r.data is not None and r.resource_id is not None]
    for chunk in _chunks(existing):  # the stored copies of one chunk at a time in memory
        stored = _stored(session, [r.resource_id for r in chunk if r.resource_id])
        unchanged += _compare(chunk, stored, to_update, problems)
    if problems.items:
        raise ImportRejected(problems.items)
    if len(to_create) + len(to_update) >= BULK_THRESHOLD:
        codes = _store_bulk(session, department, to_create, to_update)
    else:
        codes = _store_with_services(session, actor, department, to_create, to_update)
    created = [codes[r.row] for r in to_create]
    updated = [r.code for r in to_update]
    if created or updated:
        audit.record(
            session,
            actor,
            "catalog.list.import",
            object_type="department",
            object_id=department.code,
            summary=(
                f"{department.name}导入目录清单：新增{len(created)}条、修改{len(updated)}条、"
                f"未变{unchanged}条"
            ),
            change={"created": created, "updated": updated, "unchanged": unchanged},
            region_id=department.region_id,
            department_id=department.id,
        )
    return ImportResult(
        created=len(created),
        updated=len(updated),
        unchanged=unchanged,
        codes=[codes.get(r.row, r.code) for r in records],
    )


def _compare(
    records: Sequence[_ResourceRow],
    stored: dict[int, _Stored],
    to_update: list[_ResourceRow],
    problems: _Problems,
) -> int:
    """Sort rows naming existing resources into changed (``to_update``) and unchanged (counted);
    a changed row of a resource under review or retired is a problem."""
    unchanged = 0
    for record in records:
        assert record.resource_id is not None
        current = stored[record.resource_id]
        if current.data == record.data and not current.withdrawn:
            unchanged += 1  # as service.update_resource: nothing changed, the state stays
            continue
        state = ResourceState(current.state)
        if state not in service.EDITABLE_STATES:
            problems.add(
                RESOURCE_SHEET,
                record.row,
                R_CODE,
                "catalog.import_resource_locked",
                f"“{record.name}”（{record.code}）已从目录中撤销，不能再修改；如需恢复请新增资源。"
                if state is ResourceState.RETIRED
                else f"“{record.name}”（{record.code}）{state.label}，暂不能修改；"
                "请在审核结束后导入，或保持该行与平台上的内容一致。",
            )
            continue
        to_update.append(record)
    return unchanged


def _store_with_services(
    session: Session,
    actor: Actor,
    department: Department,
    to_create: list[_ResourceRow],
    to_update: list[_ResourceRow],
) -> dict[int, str]:
    """Store through the services, row by row in the file's order (codes issued in that order)."""
    codes: dict[int, str] = {}
    for record in sorted(to_create + to_update, key=lambda r: r.row):
        assert record.data is not None
        if record.resource_id is None:
            resource = service.create_resource(
                session, actor, department.id, record.data, audit_event=False
            )
            codes[record.row] = resource.code
        else:
            service.update_resource(
                session, actor, record.resource_id, record.data, audit_event=False
            )
    return codes


_APPLIED_COLUMNS = (
    "classification_id",
    "name",
    "abstract",
    "format",
    "format_subtype",
    "share_type",
    "share_conditions",
    "share_method",
    "open_type",
    "open_conditions",
    "legal_basis",
    "update_cycle",
    "published_on",
    "related_codes",
    "security_level",
    "usage_requirements",
    "subject_kind",
    "updated_at",
)


def _stored_values(data: ResourceIn, classification_id: int, now: datetime) -> dict[str, Any]:
    """The columns ``service._apply`` sets, for the set-based path."""
    return {
        "classification_id": classification_id,
        "name": data.name,
        "abstract": data.abstract,
        "format": data.format.value,
        "format_subtype": data.format_subtype,
        "share_type": data.share_type.value,
        "share_conditions": data.share_conditions,
        "share_method": data.share_method,
        "open_type": data.open_type.value,
        "open_conditions": data.open_conditions,
        "legal_basis": data.legal_basis,
        "update_cycle": data.update_cycle.value,
        "published_on": data.published_on,
        "related_codes": sorted({c.strip() for c in data.related_codes if c.strip()}),
        "security_level": data.security_level.value,
        "usage_requirements": data.usage_requirements,
        "subject_kind": rules.infer_subject(data).value,
        "updated_at": now,
    }


def _item_values(data: ResourceIn) -> list[dict[str, Any]]:
    return [
        {
            "position": n,
            "name": i.name,
            "data_type": i.data_type.value,
            "length": i.length,
            "share_type": (i.share_type or data.share_type).value,
            "open_type": (i.open_type or data.open_type).value,
            "is_subject_key": i.is_subject_key,
        }
        for n, i in enumerate(data.items, start=1)
    ]


def _store_bulk(
    session: Session,
    department: Department,
    to_create: list[_ResourceRow],
    to_update: list[_ResourceRow],
) -> dict[int, str]:
    """The services' writes, set-based: the same rows, codes, items and states.

    Rules, permissions, names and related codes were checked for every row by ``_check``.
    Classifications are found or created in the file's order (``service.classification_for``,
    as the services call it row by row) and each classification's codes are reserved in one
    statement, in the file's order, so the codes are those the services would have issued.
    """
    now = utcnow()
    nodes: dict[tuple[Category, str], Classification] = {}
    node_of: dict[int, Classification] = {}  # row -> its classification
    for record in sorted(to_create + to_update, key=lambda r: r.row):
        assert record.data is not None
        key = (record.data.category, "/".join(rules.class_levels(record.data.class_path)))
        if key not in nodes:
            nodes[key] = service.classification_for(session, *key)
        node_of[record.row] = nodes[key]
    conn = session.connection()
    creates = sorted(to_create, key=lambda r: r.row)
    updates = sorted(to_update, key=lambda r: r.row)
    codes = _reserve_codes(session, conn, creates, node_of)

    new_ids: dict[int, int] = {}
    for chunk in _chunks(creates):
        rows = []
        for record in chunk:
            assert record.data is not None
            rows.append(
                {
                    **_stored_values(record.data, node_of[record.row].id, now),
                    "code": codes[record.row],
                    "department_id": department.id,
                    "state": ResourceState.DRAFT.value,
                    "withdrawn": False,
                    "created_at": now,
                }
            )
        # A plain executemany and then the ids by code: INSERT .. RETURNING with many rows
        # is three times slower on PostgreSQL (BENCHMARKS.md, "Catalog import and publish").
        conn.execute(insert(_RESOURCES), rows)
        id_of = dict(
            conn.execute(
                select(_RESOURCES.c.code, _RESOURCES.c.id).where(
                    _RESOURCES.c.code.in_([row["code"] for row in rows])
                )
            ).all()
        )
        for record in chunk:
            new_ids[record.row] = id_of[codes[record.row]]
    deleted_items = _update_changed(conn, updates, node_of, now)

    item_rows: list[dict[str, Any]] = []
    for record in [*creates, *updates]:
        assert record.data is not None
        rid = new_ids[record.row] if record.resource_id is None else record.resource_id
        item_rows.extend({**v, "resource_id": rid} for v in _item_values(record.data))
    for item_chunk in _chunks(item_rows, 5000):
        conn.execute(insert(_ITEMS), list(item_chunk))

    # Objects the caller's session holds for the changed rows no longer match them.
    for resource_id in (r.resource_id for r in updates):
        held = session.identity_map.get(identity_key(Resource, resource_id))
        if held is not None:
            session.expire(held)
    for item_id in deleted_items:
        item = session.identity_map.get(identity_key(InfoItem, item_id))
        if item is not None:
            session.expunge(item)
    return codes


def _reserve_codes(
    session: Session,
    conn: Connection,
    creates: list[_ResourceRow],
    node_of: dict[int, Classification],
) -> dict[int, str]:
    """Codes for the new rows: one ``next_seq`` advance per classification (as issue_code)."""
    batches: dict[int, list[_ResourceRow]] = defaultdict(list)
    nodes: dict[int, Classification] = {}
    for record in creates:
        node = node_of[record.row]
        batches[node.id].append(record)
        nodes[node.id] = node
    codes: dict[int, str] = {}
    for node_id, batch in batches.items():
        node = nodes[node_id]
        end = conn.execute(
            update(_CLASSES)
            .where(_CLASSES.c.id == node_id)
            .values(next_seq=_CLASSES.c.next_seq + len(batch))
            .returning(_CLASSES.c.next_seq)
        ).scalar_one()
        for seq, record in enumerate(batch, start=end - len(batch)):
            codes[record.row] = f"{node.code}/{seq:06d}"  # as service.issue_code
        session.expire(node, ["next_seq"])
    return codes


def _update_changed(
    conn: Connection,
    updates: list[_ResourceRow],
    node_of: dict[int, Classification],
    now: datetime,
) -> list[int]:
    """Changed resources: their columns as ``service._apply`` sets them, their items removed
    (returns the removed items' ids)."""
    if not updates:
        return []
    stmt = (
        update(_RESOURCES)
        .where(_RESOURCES.c.id == bindparam("b_id"))
        .values(
            {
                **{c: bindparam(f"b_{c}", type_=_RESOURCES.c[c].type) for c in _APPLIED_COLUMNS},
                "withdrawn": False,
                "state": ResourceState.DRAFT.value,
            }
        )
    )
    params: list[dict[str, Any]] = []
    for record in updates:
        assert record.data is not None and record.resource_id is not None
        applied = _stored_values(record.data, node_of[record.row].id, now)
        params.append({"b_id": record.resource_id, **{f"b_{k}": v for k, v in applied.items()}})
    for chunk in _chunks(params, 1000):
        conn.execute(stmt, list(chunk))
    deleted: list[int] = []
    for ids in _chunks([r.resource_id for r in updates]):
        deleted.extend(
            conn.execute(
                delete(_ITEMS).where(_ITEMS.c.resource_id.in_(ids)).returning(_ITEMS.c.id)
            ).scalars()
        )
    return deleted


# --- export -----------------------------------------------------------------------------------

EXPORT_FORMATS = ("xlsx", "csv", "json")


@dataclass(frozen=True)
class _Entry:
    """One resource to export: its code, its department, its ``ResourceIn`` fields as JSON."""

    code: str
    department_code: str
    department_name: str
    data: dict[str, Any]
    extra: dict[str, Any]


def _label(enum: type[LabelledEnum], value: str | None) -> str:
    return enum(value).label if value else ""


def _resource_cells(entry: _Entry) -> list[Any]:
    d = entry.data
    category = _label(Category, d["category"])
    fmt = _label(ResourceFormat, d["format"])
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
        R_UPDATE_CYCLE: _label(UpdateCycle, d["update_cycle"]),
        R_PUBLISHED_ON: date.fromisoformat(published_on) if published_on else None,
        R_RELATED: ";".join(d.get("related_codes") or []),
        R_LEGAL_BASIS: d.get("legal_basis", ""),
        R_SECURITY: _label(SecurityLevel, d.get("security_level")),
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
        for text in headers:
            cell = WriteOnlyCell(ws, text)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        worksheets.append(ws)
    for index, cells in rows:
        ws = worksheets[index]
        out: list[Any] = []
        for raw in cells:
            value = _clean(raw)
            if isinstance(value, str) and value.startswith("="):
                cell = WriteOnlyCell(ws, value)
                cell.data_type = "s"  # text, never a formula
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)
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


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = _clean(str(value))
    return f"'{text}" if text.startswith(_CSV_FORMULA_START) else text


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

    def entries() -> Iterator[_Entry]:
        for chunk in _chunks(rows, 1000):
            stored = _stored(session, [row.id for row in chunk])
            for row in chunk:
                data = stored[row.id].data.model_dump(mode="json")
                yield _Entry(row.code, department.code, department.name, data, {"state": row.state})

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
    fmt: str,
    *,
    number: int | None = None,
    flt: CatalogFilter | None = None,
) -> bytes:
    """A published version of the catalog (the current one unless ``number``), filtered.

    The caller checks that the actor may read the published catalog
    (``policy.require_read_published``).
    """
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

    def entries() -> Iterator[_Entry]:
        for code, revision, data in session.execute(stmt):
            yield _Entry(
                code,
                str(data.get("department_code", "")),
                str(data.get("department_name", "")),
                _published_input(data),
                {"revision": revision},
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
