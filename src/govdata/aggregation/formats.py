"""Reading xlsx, xls and JSON Lines load files (CSV is ``reading``'s own): rows of cells or JSON
objects into frames of String columns plus ``_row``, as ``reading.batches`` yields them."""

from __future__ import annotations

import itertools
import json
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import polars as pl

from govdata.core.errors import InvalidInput
from govdata.core.settings import get_settings
from govdata.core.sheet_layout import (
    SEARCH_ROWS,
    Header,
    describe_rows,
    find_header,
    is_footer,
    starts_footer,
)
from govdata.core.xlsx_limits import XlsxTooLarge, check_xls, check_xlsx, limits_for

ROW = "_row"
MAX_LINE = 32 << 20  # the longest JSON line a load reads

# The kind of a JSON value that is not a string, in a side column ``JSON_TYPE + item`` of the
# batch (present only when the batch has one), so that validation can refuse a number or an
# array given for a text item instead of storing its text.
JSON_TYPE = "_json_type:"


def _text(value: Any) -> str | None:
    """A cell or JSON value as the text the validator reads."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)  # e.g. a GeoJSON geometry
    return str(value)


def _frame(header: list[str], rows: list[list[str | None]], numbers: list[int]) -> pl.DataFrame:
    data: dict[str, Any] = {ROW: pl.Series(ROW, numbers, pl.Int64)}
    for i, name in enumerate(header):
        data[name] = pl.Series(name, [r[i] if i < len(r) else None for r in rows], pl.String)
    return pl.DataFrame(data)


def check_header(header: list[str]) -> list[str]:
    """The header's names, trimmed; an item named twice, or a name the reader keeps for itself,
    refuses the file (Polars would rename a repeated ``企业名称`` to ``企业名称_duplicated_0``)."""
    names = [h.strip() for h in header]
    columns: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        columns.setdefault(name, []).append(index + 1)
    repeated = {name: where for name, where in columns.items() if len(where) > 1}
    if repeated:
        listed = "；".join(
            f"“{name}”（第 {'、'.join(map(str, where))} 列）" for name, where in repeated.items()
        )
        raise InvalidInput(
            "aggregation.duplicate_column",
            f"表头中有重复的信息项：{listed}。每个信息项只能有一列。",
            detail={"columns": list(repeated)},
        )
    reserved = [n for n in names if n == ROW or n.startswith(JSON_TYPE)]
    if reserved:
        raise InvalidInput(
            "aggregation.reserved_column",
            f"列名“{reserved[0]}”为平台保留，不能用作信息项名称。",
            detail={"columns": reserved},
        )
    return names


def _check_size(path: Path, *, legacy: bool) -> None:
    """Art. 39: a zip bomb or a sparse sheet is refused before calamine spends the memory (an
    .xls is not compressed and its grid is bounded by the format: ``check_xls``)."""
    try:
        if legacy:
            check_xls(limits_for(get_settings()))
        else:
            check_xlsx(path, limits_for(get_settings()))
    except XlsxTooLarge as exc:
        raise InvalidInput(
            "aggregation.file_too_large_expanded",
            f"{exc.message}请拆分文件，或改用 CSV 上传大批量数据。",
            detail={"reason": exc.reason, **exc.detail},
            status=413,
        ) from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise _malformed() from None


def _malformed() -> InvalidInput:
    return InvalidInput(
        "aggregation.malformed_xlsx",
        "无法读取该 Excel 文件：文件已损坏，或不是 Excel 工作簿（.xlsx 或 .xls）。"
        "请在 Excel 或 WPS 中另存为 .xlsx 后重新上传。",
    )


@dataclass
class SheetRows:
    """Which rows of a spreadsheet load were read: the header (rows ``header_first``..
    ``header_last``, as the spreadsheet numbers them) and where notes below the data began."""

    header_first: int = 1
    header_last: int = 1
    footer_first: int | None = None

    def describe(self) -> str:
        """A zh-CN note for the load's report (empty: the header on row 1, nothing below)."""
        return describe_rows(self.header_first, self.header_last, self.footer_first)


def _letter(index: int) -> str:
    """A column's letters as the spreadsheet shows them (0: A, 26: AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _check_unnamed(cells: list[str | None], names: list[str], number: int, found: Header) -> None:
    """A value in a column the header gives no name is refused (it would be lost unseen)."""
    stray = next((i for i, c in enumerate(cells) if c and (i >= len(names) or not names[i])), None)
    if stray is not None:
        raise InvalidInput(
            "aggregation.unnamed_column",
            f"第 {number} 行第 {_letter(stray)} 列有数据，但该列在表头（{found.rows_label()}）"
            "中没有列名。请填写列名（信息项名称）或删除该列数据。",
            detail={"row": number, "column": _letter(stray)},
        )


def _cell_name(value: Any) -> str:
    return (_text(value) or "").strip()


def xlsx_batches(
    path: Path,
    batch_rows: int,
    *,
    legacy: bool = False,
    expected: Collection[str] = (),
    layout: SheetRows | None = None,
) -> Iterator[pl.DataFrame]:
    """The first sheet's rows (xlsx, or ``legacy`` .xls) in frames.

    The header is the row (or two rows, a merged group above its items) among the first
    ``SEARCH_ROWS`` that names the most ``expected`` items, whatever stands above it (a merged
    title, the unit's name); the data ends where notes such as 填表说明 or 制表人 begin. Blank
    rows are no records. ``layout`` is told which rows were taken.
    """
    from python_calamine import CalamineWorkbook

    _check_size(path, legacy=legacy)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
        head = list(itertools.islice(rows, SEARCH_ROWS))
    except Exception:  # calamine raises its own error types (in English) for damaged files
        raise _malformed() from None
    if not head:
        return
    if expected:
        found = find_header(head, set(expected), key=_cell_name)
    else:
        found = Header(0, 0, [_cell_name(v) for v in head[0]], 0)
    names = found.names
    keep = [i for i, name in enumerate(names) if name]  # a column without a name is no item
    header = check_header([names[i] for i in keep])
    whole = len(keep) == len(names)  # every column named: rows are taken as they are
    if layout is not None:
        layout.header_first, layout.header_last = found.first + 1, found.last + 1
    buffer: list[list[str | None]] = []
    numbers: list[int] = []
    number = found.data_start
    for row in itertools.chain(head[found.data_start :], rows):
        number += 1
        cells = [_text(v) if v != "" else None for v in row]
        first = cells[0] if cells and cells[0] else next((c for c in cells if c), None)
        if first is None:
            continue  # a blank row is no record
        if starts_footer(first) and is_footer([c.strip() if c else "" for c in cells]):
            if layout is not None:
                layout.footer_first = number  # it and what follows are notes, not records
            break
        if not whole or len(cells) > len(names):
            _check_unnamed(cells, names, number, found)
            cells = [cells[i] if i < len(cells) else None for i in keep]
        buffer.append(cells)
        numbers.append(number)
        if len(buffer) >= batch_rows:
            yield _frame(header, buffer, numbers)
            buffer, numbers = [], []
    if buffer:
        yield _frame(header, buffer, numbers)


def jsonl_batches(path: Path, batch_rows: int) -> Iterator[pl.DataFrame]:
    """JSON Lines, UTF-8, one object a line. Lines are read as bytes and decoded one by one, so
    that a line that is not UTF-8 (or longer than ``MAX_LINE``) is refused with its number."""
    header: list[str] = []
    known: set[str] = set()
    records: list[dict[str, Any]] = []
    with path.open("rb") as f:
        number = 0
        while raw := f.readline(MAX_LINE + 1):
            number += 1
            line = _jsonl_line(raw, number)
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise InvalidInput(
                    "aggregation.malformed_jsonl",
                    f"第 {number} 行不是有效的 JSON 对象。",
                    detail={"row": number},
                ) from None
            if not isinstance(obj, dict):
                raise InvalidInput(
                    "aggregation.malformed_jsonl",
                    f"第 {number} 行不是 JSON 对象（每行应为一条记录）。",
                    detail={"row": number},
                )
            if not known.issuperset(obj):
                header += [key for key in obj if key not in known]
                known.update(obj)
                check_header(header)
            obj[ROW] = number
            records.append(obj)
            if len(records) >= batch_rows:
                yield _records_frame(header, records)
                records = []
    if records:
        yield _records_frame(header, records)


def _jsonl_line(raw: bytes, number: int) -> str:
    if len(raw) > MAX_LINE:
        raise InvalidInput(
            "aggregation.jsonl_line_too_long",
            f"第 {number} 行超过 {MAX_LINE >> 20} MiB，无法读取。",
            detail={"row": number},
        )
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "aggregation.bad_encoding",
            f"第 {number} 行含有不是 UTF-8 编码的字节（该行第 {exc.start + 1} 个字节）。"
            "JSON Lines 文件须为 UTF-8 编码，请另存为 UTF-8 后重新上传。",
            detail={"row": number},
        ) from None
    return line.removeprefix("\ufeff") if number == 1 else line


def _json_type(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "object"


def _records_frame(header: list[str], records: list[dict[str, Any]]) -> pl.DataFrame:
    data: dict[str, Any] = {ROW: pl.Series(ROW, [r[ROW] for r in records], pl.Int64)}
    kinds: dict[str, Any] = {}
    for name in header:
        values = [r.get(name) for r in records]
        data[name] = pl.Series(name, [_text(v) for v in values], pl.String)
        types = [_json_type(v) for v in values]
        if any(types):
            side = JSON_TYPE + name.strip()
            kinds[side] = pl.Series(side, types, pl.String)
    return pl.DataFrame(data | kinds)
