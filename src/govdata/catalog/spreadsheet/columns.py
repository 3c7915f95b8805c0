"""The workbook's layout and cells: sheets, headers, import problems, and rows read into fields."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from govdata.catalog import vocabularies
from govdata.catalog.schemas import ResourceIn
from govdata.catalog.vocab import (
    Category,
    DataType,
    LabelledEnum,
    OpenType,
    ShareType,
    SubjectKind,
)
from govdata.catalog.vocabularies import Vocabulary
from govdata.core.errors import InvalidInput
from govdata.core.sheet_layout import describe_rows
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


# Which fields a column's cell holds (a problem in the cell leaves them unknown to the rules).
_RESOURCE_COLUMN_FIELDS: dict[str, list[str]] = {}
for _field, _column in RESOURCE_FIELD_COLUMNS.items():
    if _field != "items":
        _RESOURCE_COLUMN_FIELDS.setdefault(_column, []).append(_field)
_ITEM_COLUMN_FIELDS = {column: [name] for name, column in ITEM_FIELD_COLUMNS.items()}


def _unknown_fields(problems: list[ImportProblem], columns: dict[str, list[str]]) -> set[str]:
    return {name for p in problems for name in columns.get(p.column, ())}


# --- limits (a product decision: far above any department's list, far below a denial of service)

MAX_PROBLEMS = 1000  # the report lists this many; the rest are counted

RELATED_SEPARATORS = re.compile(r"[;；,，、\s]+")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$"),
)
_TRUE = frozenset({"是", "y", "yes", "1", "true", "t"})
_FALSE = frozenset({"否", "n", "no", "0", "false", "f"})

# What calamine gives for a cell: str, int, float, bool, date, datetime, time or timedelta.
Cell = Any


# --- public types -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProblem:
    sheet: str
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str  # the header name
    code: str
    message: str


@dataclass(frozen=True)
class SheetLayout:
    """Which rows of a sheet were read: its header (rows ``header_first``..``header_last``, as
    the spreadsheet numbers them) and, when notes such as 填表说明 or 制表人 follow the data, the
    row they begin on (``footer_first``; it and the rows after it are not read)."""

    sheet: str
    header_first: int = 1
    header_last: int = 1
    footer_first: int | None = None

    @property
    def usual(self) -> bool:
        """The header on row 1 and nothing below the data: nothing worth saying."""
        return not describe_rows(self.header_first, self.header_last, self.footer_first)

    def describe(self) -> str:
        """A zh-CN sentence saying which rows were taken as the header and which were left."""
        rows = describe_rows(self.header_first, self.header_last, self.footer_first)
        return f"工作表“{self.sheet}”{rows}"


class ImportRejected(InvalidInput):
    """The file has problems; nothing was stored. ``problems`` holds at most ``MAX_PROBLEMS``."""

    def __init__(
        self, problems: list[ImportProblem], layouts: tuple[SheetLayout, ...] = ()
    ) -> None:
        ordered = sorted(problems, key=_problem_order)
        shown = ordered[:MAX_PROBLEMS]
        more = len(ordered) - len(shown)
        message = f"导入失败：文件中有 {len(ordered)} 处问题，未导入任何数据。请修改后重新导入。"
        if more:
            message += f"（以下列出前 {len(shown)} 处，另有 {more} 处未列出。）"
        # Which rows were read as the header, so that a row number in a problem can be found.
        message += "".join(layout.describe() for layout in layouts if not layout.usual)
        super().__init__(
            "catalog.import_rejected",
            message,
            detail={
                "problems": [asdict(p) for p in shown],
                "more": more,
                "layouts": [asdict(layout) for layout in layouts],
            },
        )
        self.problems = shown
        self.more = more
        self.total = len(ordered)
        self.layouts = layouts


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    # The code of every resource row, in the order of the rows (new ones: the issued code).
    codes: list[str]
    # Which rows of each sheet were read as its header (and where notes below the data began).
    layouts: tuple[SheetLayout, ...] = ()

    @property
    def layout_notes(self) -> list[str]:
        return [layout.describe() for layout in self.layouts if not layout.usual]


def _problem_order(p: ImportProblem) -> tuple[int, int, int, str]:
    sheet = SHEETS.index(p.sheet) if p.sheet in SHEETS else len(SHEETS)
    headers = RESOURCE_HEADERS if p.sheet == RESOURCE_SHEET else ITEM_HEADERS
    column = headers.index(p.column) if p.column in headers else len(headers)
    return sheet, p.row, column, p.code


# --- cells ------------------------------------------------------------------------------------


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
    layout: SheetLayout | None = None

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


# --- parsing rows -----------------------------------------------------------------------------


@dataclass
class _ItemRow:
    row: int
    resource_name: str
    fields: dict[str, Any]
    ok: bool
    unknown: set[str] = field(default_factory=set)  # fields whose cell could not be read


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
    unknown: set[str] = field(default_factory=set)  # fields whose cell could not be read
    duplicate: bool = False  # its name is an earlier row's: its items went to that row


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
        # The city bureau's current list decides it, through its mappings (``resolve_codes``).
        fields["format"] = head.strip()
        fields["format_subtype"] = subtype.strip()
    fields["share_type"] = enum(ShareType, R_SHARE_TYPE, required=True)
    fields["share_conditions"] = text(R_SHARE_CONDITIONS)
    fields["share_method"] = text(R_SHARE_METHOD)
    fields["open_type"] = enum(OpenType, R_OPEN_TYPE, required=True)
    fields["open_conditions"] = text(R_OPEN_CONDITIONS)
    # The bureau's labels (``resolve_codes``); a blank cell is reported here.
    cycle_text = _required(sheet, cells, row, R_UPDATE_CYCLE, problems)
    if cycle_text is not None:
        fields["update_cycle"] = cycle_text
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
    # The city bureau's current list decides it, through its mappings (``resolve_security``).
    fields["security_level"] = text(R_SECURITY)
    fields["usage_requirements"] = text(R_USAGE)
    fields["subject_kind"] = enum(SubjectKind, R_SUBJECT, required=False)
    found = problems.items[before:]
    unknown = _unknown_fields(found, _RESOURCE_COLUMN_FIELDS)
    return _ResourceRow(row, name, code, fields, ok=not found, unknown=unknown)


# The code lists the bureau keeps (``catalog.vocabularies``), by the resource field and column
# their codes sit in.
LIST_COLUMNS = (
    (vocabularies.SECURITY_LEVEL, "security_level", R_SECURITY),
    (vocabularies.RESOURCE_FORMAT, "format", R_FORMAT),
    (vocabularies.UPDATE_CYCLE, "update_cycle", R_UPDATE_CYCLE),
)


def resolve_codes(
    vocabs: dict[str, Vocabulary], records: list[_ResourceRow], problems: _Problems
) -> None:
    """Each row's 安全级别, 资源格式 and 更新周期 cells as codes of the bureau's current lists: a
    blank security level is the default, an old label or code is mapped as the bureau said (an
    import carrying “敏感” after the bureau adopted 一般/重要/核心 stores what it mapped 敏感
    to); anything else is the cell's problem."""
    for name, field_name, column in LIST_COLUMNS:
        vocab = vocabs[name]
        for record in records:
            if field_name in record.unknown or (
                field_name not in record.fields and not vocab.spec.blank_is_default
            ):
                continue  # a blank required cell: reported already
            text = str(record.fields.get(field_name) or "")
            code = vocab.resolve(text) if text else vocab.default_code
            if code is None:
                problems.add(
                    RESOURCE_SHEET,
                    record.row,
                    column,
                    "catalog.import_label_unknown",
                    f"“{text}”不是有效的{column}，"
                    f"可填：{'、'.join(e.label for e in vocab.active)}。",
                )
                record.ok = False
                record.unknown.add(field_name)
                if field_name == "format":
                    record.unknown.add("format_subtype")
                continue
            record.fields[field_name] = code


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
    found = problems.items[before:]
    unknown = _unknown_fields(found, _ITEM_COLUMN_FIELDS)
    return _ItemRow(row, resource_name, fields, ok=not found, unknown=unknown)
