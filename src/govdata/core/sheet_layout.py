"""Where a sheet's header and data are, in spreadsheets as offices make them.

A department's sheet rarely starts with its header: a merged title (“××局政务数据资源目录清单
（2026年）”), a line of notes or the unit's name stand above it, the header may take two rows (a
merged group such as “共享属性” above 共享类型, 共享条件, 共享方式), and below the data come
填表说明, 制表人 and 审核人. The catalog import and the pools' xlsx/xls loads both ask
``find_header`` which of the first ``SEARCH_ROWS`` rows hold the column names they know, and
``is_footer`` where the notes below the data begin; each says which rows it took.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

SEARCH_ROWS = 20  # the header is looked for in the sheet's first rows

# A note below the data starts with one of these words, followed by a colon (“制表人：张三”,
# “注：1. …”), or is the word alone (“填表说明”).
_FOOTER_WORDS = (
    "填表说明",
    "填报说明",
    "填写说明",
    "说明",
    "备注",
    "注",
    "附注",
    "制表人",
    "制表单位",
    "制表日期",
    "填表人",
    "填报人",
    "填表日期",
    "填报日期",
    "填报单位",
    "审核人",
    "审核",
    "负责人",
    "单位负责人",
    "联系人",
    "联系电话",
    "签字",
    "盖章",
)
_FOOTER = re.compile(rf"^(?:{'|'.join(_FOOTER_WORDS)})\s*(?:[:：]|$)")
_FOOTER_INITIALS = frozenset(word[0] for word in _FOOTER_WORDS)
_LABELLED = re.compile(r"^[^:：]{1,12}[:：]")


@dataclass(frozen=True)
class Header:
    """The header found: rows ``first``..``last`` (0-based indexes into the sheet's rows; equal
    unless the header takes two rows) and each column's name (``""``: no name)."""

    first: int
    last: int
    names: list[str]
    matched: int  # how many of the names are known ones

    @property
    def data_start(self) -> int:
        """The index of the first row below the header."""
        return self.last + 1

    def rows_label(self) -> str:
        """The header's rows as the spreadsheet numbers them: “第 3 行” or “第 3–4 行”."""
        if self.first == self.last:
            return f"第 {self.first + 1} 行"
        return f"第 {self.first + 1}–{self.last + 1} 行"


def _merged(upper: Sequence[str], lower: Sequence[str], known: Collection[str]) -> list[str]:
    """Two header rows as one: in each column the known name, the lower row's first (it is the
    more specific of a group above and its members below)."""
    width = max(len(upper), len(lower))
    names = []
    for i in range(width):
        low = lower[i] if i < len(lower) else ""
        up = upper[i] if i < len(upper) else ""
        if low in known or (low and up not in known):
            names.append(low)
        else:
            names.append(up)
    return names


def find_header(
    rows: Sequence[Sequence[Any]],
    known: Collection[str],
    *,
    key: Callable[[Any], str] = lambda cell: "" if cell is None else str(cell).strip(),
) -> Header:
    """The row (or two rows) among the first ``SEARCH_ROWS`` of ``rows`` (cells as text) that
    names the most columns in ``known``; ties go to a single row, then to the upper one.

    When no row names a known column, the first row that is not blank is the header (the
    caller's check then reports what it lacks, on that row).
    """
    head = [[key(c) for c in row] for row in rows[:SEARCH_ROWS]]
    single = [len({n for n in names if n in known}) for names in head]
    best: Header | None = None
    for index, names in enumerate(head):
        if single[index] and (best is None or single[index] > best.matched):
            best = Header(index, index, names, single[index])
        if index + 1 < len(head):
            merged = _merged(names, head[index + 1], known)
            matched = len({n for n in merged if n in known})
            # Two rows only when both add names (a group row above its members' row).
            if matched > max(single[index], single[index + 1]) and (
                best is None or matched > best.matched
            ):
                best = Header(index, index + 1, merged, matched)
    if best is not None:
        return best
    first = next((i for i, names in enumerate(head) if any(names)), 0)
    return Header(first, first, head[first] if head else [], 0)


def starts_footer(text: str) -> bool:
    """Whether a cell's text starts as a note below the data does (a cheap first test, run on
    every row of a load: most rows fail on their first character)."""
    text = text.lstrip()
    return text[:1] in _FOOTER_INITIALS and _FOOTER.match(text.rstrip()) is not None


def is_footer(cells: Sequence[str]) -> bool:
    """Whether a row below the data begins the notes under it (填表说明, 制表人…): its first
    filled cell starts with such a word, and it is alone or every filled cell is a “label：…”
    (制表人：张三, 审核人：李四). A data row whose first cell happens to start so (a resource named
    “说明：…”) has other cells without a colon, and stays data."""
    filled = [c for c in cells if c]
    if not filled or not _FOOTER.match(filled[0]):
        return False
    return len(filled) == 1 or all(_LABELLED.match(c) for c in filled)


def describe_rows(header_first: int, header_last: int, footer_first: int | None) -> str:
    """Which rows were read, as the spreadsheet numbers them, in a zh-CN sentence: “以第 3 行为
    表头（其上 2 行标题或说明未读取）；第 15 行起为表尾说明…，未读取。”; empty when the header is
    row 1 and nothing followed the data (nothing worth saying)."""
    if (header_first, header_last, footer_first) == (1, 1, None):
        return ""
    if header_first == header_last:
        rows = f"第 {header_first} 行"
    else:
        rows = f"第 {header_first}–{header_last} 行"
    text = f"以{rows}为表头"
    if header_first > 1:
        text += f"（其上 {header_first - 1} 行标题或说明未读取）"
    if footer_first is not None:
        text += f"；第 {footer_first} 行起为表尾说明（填表说明、制表人等），未读取"
    return text + "。"
