"""A sheet of an import read: its header found below a title or notes, its data rows up to the
notes below them (填表说明, 制表人), every header problem placed on the header's row."""

from __future__ import annotations

from collections.abc import Sequence

from govdata.catalog.spreadsheet.columns import (
    Cell,
    ImportProblem,
    SheetLayout,
    _column_letter,
    _header_key,
    _Sheet,
    _text,
)
from govdata.core.sheet_layout import SEARCH_ROWS, find_header, is_footer, starts_footer


def _header_text(value: Cell) -> str:
    return _header_key(_text(value))


def _read_sheet(
    name: str,
    rows: list[list[Cell]],
    known: Sequence[str],
    required: Sequence[str],
    problems: list[ImportProblem],
) -> _Sheet:
    """The sheet's columns and data rows. The header is the row (or two rows: a merged group
    above its columns) among the first rows that names the most known columns, whatever stands
    above it (a title, notes); the data ends where notes such as 填表说明 or 制表人 begin."""
    found = find_header(rows, set(known), key=_header_text)
    header = found.names
    at = found.first + 1  # the header's row as the spreadsheet numbers it
    if rows and found.matched == 0:
        problems.append(
            ImportProblem(
                name,
                at,
                "",
                "catalog.import_header_not_found",
                f"工作表“{name}”的前 {SEARCH_ROWS} 行中没有列名行（应有"
                f"{'、'.join(f'“{r}”' for r in required)}等列名）。请使用导出的模板填写。",
            )
        )
        return _Sheet(name, {}, [])  # no header taken: nothing to say of its rows
    columns: dict[str, int] = {}
    for index, text in enumerate(header):
        if not text:
            continue
        if text in columns:
            problems.append(
                ImportProblem(
                    name,
                    at,
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
                    at,
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
                    at,
                    text,
                    "catalog.import_header_missing",
                    f"工作表“{name}”的{found.rows_label()}（表头）缺少必需的列“{text}”。",
                )
            )
    data: list[tuple[int, list[Cell]]] = []
    blank_with_data: set[int] = set()
    footer: int | None = None
    for number, cells in enumerate(rows[found.data_start :], start=found.data_start + 1):
        # The first filled cell only: most rows are data (500,000 item rows at most).
        first = next((text for c in cells if (text := _text(c))), None)
        if first is None:
            continue
        if starts_footer(first) and is_footer([_text(c) for c in cells]):
            footer = number  # 填表说明, 制表人…: it and what follows are not data
            break
        data.append((number, cells))
        for index, c in enumerate(cells):
            if (index >= len(header) or not header[index]) and _text(c) != "":
                blank_with_data.add(index)
    for index in sorted(blank_with_data):
        letter = _column_letter(index)
        problems.append(
            ImportProblem(
                name,
                at,
                letter,
                "catalog.import_header_blank",
                f"第 {letter} 列有数据但没有列名，请填写列名或删除该列数据。",
            )
        )
    return _Sheet(name, columns, data, SheetLayout(name, at, found.last + 1, footer))
