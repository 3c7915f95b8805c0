"""Where a CSV file goes wrong, said in zh-CN with its row and item (Art. 17 ¶1: bad input is
refused before anything is stored, and the department can find what to fix).

``reading`` finds some faults itself while it cuts the file into record-aligned chunks (a stray
quote, a quote left open, a record too long to hold); ``Fault`` carries the buffer and the byte
offset, and ``Fault.refusal`` turns it into the refusal once the reader knows which row the
buffer starts at. When Polars refuses a chunk, ``locate`` reads that one chunk again with
Python's ``csv`` module (strict quoting) to find the first record it cannot read. Both run only
on a file that is being refused: the normal path of a load never comes here.

Rows are numbered as everywhere else in a load: by record, the header being row 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from govdata.core.errors import InvalidInput

QUOTE, COMMA, LF = 0x22, 0x2C, 0x0A
BOM = b"\xef\xbb\xbf"

STRAY_QUOTE = "aggregation.csv_stray_quote"
UNCLOSED_QUOTE = "aggregation.csv_unclosed_quote"
BAD_QUOTE = "aggregation.csv_bad_quote"
RECORD_TOO_LONG = "aggregation.csv_record_too_long"
TOO_MANY_FIELDS = "aggregation.csv_too_many_fields"
BAD_ENCODING = "aggregation.bad_encoding"
MALFORMED = "aggregation.malformed_csv"


@dataclass(eq=False)
class Fault(Exception):
    """A fault the chunker found at ``offset`` of ``buf`` (which starts at a record boundary)."""

    code: str
    buf: bytes
    offset: int
    limit: int = 0  # RECORD_TOO_LONG: the longest record read, in bytes

    def refusal(self, first_row: int, header: list[str] | None) -> InvalidInput:
        """The refusal, ``buf`` starting at row ``first_row``: the first fault of the file, so
        a record before this one that a strict reader refuses is named instead."""
        records, start = _records_before(self.buf, self.offset)
        earlier = find(self.buf[:start], first_row, header) if start else None
        if earlier is not None:
            return earlier
        row = first_row + records
        header = header if header is not None else _header_of(self.buf, first_row)
        field = _field_at(self.buf[start : self.offset + 1], self.offset - start)
        item = "" if self.code == RECORD_TOO_LONG else _item(header, field, row)
        if self.code == STRAY_QUOTE:
            text = (
                f'第 {row} 行{item}有未成对的英文双引号（"）。引号只能包住整个字段，'
                '字段内的引号须写成两个（""），请修改后重新上传。'
            )
        elif self.code == UNCLOSED_QUOTE:
            text = (
                f'第 {row} 行{item}以英文双引号（"）开始的字段没有闭合，'
                "文件其余部分无法读取。请补上闭合的引号后重新上传。"
            )
        else:
            mib = max(1, self.limit >> 20)
            text = (
                f"第 {row} 行超过 {mib} MiB，无法读取（常见原因是某个字段的英文双引号没有闭合）。"
            )
        return _refuse(self.code, text, row, item)


def locate(chunk: bytes, first_row: int, header: list[str] | None) -> InvalidInput:
    """Why Polars could not read ``chunk`` (starting at row ``first_row``), as a refusal."""
    found = find(chunk, first_row, header)
    if found is not None:
        return found
    return _refuse(
        MALFORMED,
        f"CSV 文件第 {first_row} 行起的一段格式有误，无法读取。"
        "请用表格软件打开检查后另存为 CSV（UTF-8）重新上传。",
        first_row,
        "",
    )


def find(chunk: bytes, first_row: int, header: list[str] | None) -> InvalidInput | None:
    """The first record of ``chunk`` that a strict CSV reader refuses, as a refusal; None when
    every record reads (Polars refused for a reason of its own)."""
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        records, start = _records_before(chunk, exc.start)
        row = first_row + records
        header = header if header is not None else _header_of(chunk, first_row)
        item = _item(header, _field_at(chunk[start : exc.start + 1], exc.start - start), row)
        return _refuse(
            BAD_ENCODING,
            f"第 {row} 行{item}含有不是 UTF-8 编码的字节。请以 UTF-8 或 GB18030 编码"
            "另存整个文件后重新上传。",
            row,
            item,
        )
    lines = _Lines(text.removeprefix("\ufeff"))
    reader = csv.reader(lines, strict=True)
    width = len(header) if header is not None else None
    row = first_row
    while True:
        start = lines.taken
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "new-line" in str(exc):  # a lone carriage return outside quotes
                return _refuse(
                    MALFORMED,
                    f"第 {row} 行含有单独的回车符，CSV 文件的每一行须以换行符结束。"
                    "请用表格软件另存为 CSV（UTF-8）后重新上传。",
                    row,
                    "",
                )
            raw = "".join(lines.lines[start : lines.taken]).encode("utf-8")
            field = _field_at(raw, _bad_quote_at(raw))
            names = header if header is not None else _header_of(chunk, first_row)
            item = _item(names, field, row)
            return _refuse(
                BAD_QUOTE,
                f'第 {row} 行{item}的英文双引号（"）用法不正确：用引号包住的字段，闭合的引号后'
                '不能再有其他字符；字段内的引号须写成两个（""）。请修改后重新上传。',
                row,
                item,
            )
        if width is None:
            width = len(record)  # the header
        elif len(record) > width:
            return _refuse(
                TOO_MANY_FIELDS,
                f"第 {row} 行有 {len(record)} 个字段，多于表头的 {width} 列（可能有多余的逗号，"
                "或含逗号的内容没有用英文双引号包住）。请修改后重新上传。",
                row,
                "",
            )
        row += 1
    return None


def _refuse(code: str, message: str, row: int, item: str) -> InvalidInput:
    detail: dict[str, object] = {"row": row}
    if item:
        detail["item"] = item.strip("“”")
    return InvalidInput(code, message, detail=detail)


def _item(header: list[str] | None, field: int, row: int) -> str:
    """“name” of the field'th column, or "" when unknown (the header row itself, say)."""
    if row <= 1 or header is None or not 0 <= field < len(header):
        return ""
    return f"“{header[field].strip()}”"


class _Lines:
    """The lines of a text as ``csv.reader`` takes them, counting those it has taken."""

    def __init__(self, text: str) -> None:
        # Only LF ends a line, as for Polars (``str.splitlines`` would also split at U+2028).
        self.lines = [line + "\n" for line in text.split("\n")]
        self.lines[-1] = self.lines[-1][:-1]
        if not self.lines[-1]:
            self.lines.pop()
        self.taken = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.taken >= len(self.lines):
            raise StopIteration
        self.taken += 1
        return self.lines[self.taken - 1]


def _records_before(buf: bytes, offset: int) -> tuple[int, int]:
    """(records that end before ``offset``, where the record holding ``offset`` starts).

    ``buf`` starts at a record boundary and its quotes before ``offset`` mean what their parity
    says (the chunker checked them), so a line ends a record when the quotes before its end are
    even in number.
    """
    records = 0
    start = 0
    quotes = 0
    pos = 0
    while True:
        end = buf.find(b"\n", pos, offset)
        if end < 0:
            return records, start
        quotes += buf.count(b'"', pos, end)
        if quotes % 2 == 0:
            records += 1
            start = end + 1
        pos = end + 1


def _field_at(record: bytes, offset: int) -> int:
    """The index of the field of ``record`` (a record's bytes from its start) at ``offset``.

    A quote opens a quoted field only as the field's first character; a comma inside one does
    not end the field (a doubled quote inside it stays inside).
    """
    if record.startswith(BOM):
        record, offset = record[3:], offset - 3
    field = 0
    quoted = False
    at_start = True
    i = 0
    while i < offset:
        c = record[i]
        if quoted:
            if c == QUOTE:
                if i + 1 < len(record) and record[i + 1] == QUOTE:
                    i += 2
                    continue
                quoted = False
        elif c == QUOTE and at_start:
            quoted = True
        elif c == COMMA:
            field += 1
            at_start = True
            i += 1
            continue
        at_start = False
        i += 1
    return field


def _bad_quote_at(record: bytes) -> int:
    """The offset of the first misused quote of a record ``csv`` refused in strict mode: a
    closing quote followed by other text, or a quoted field never closed (its opening quote)."""
    quoted = False
    at_start = True
    opened = 0
    i = 0
    n = len(record.rstrip(b"\r\n"))
    while i < n:
        c = record[i]
        if quoted:
            if c == QUOTE:
                if i + 1 < n and record[i + 1] == QUOTE:
                    i += 2
                    continue
                if i + 1 < n and record[i + 1] != COMMA:
                    return i
                quoted = False
            i += 1
            continue
        if c == QUOTE and at_start:
            quoted, opened = True, i
        at_start = c == COMMA
        i += 1
    return opened if quoted else 0


def _header_of(buf: bytes, first_row: int) -> list[str] | None:
    """The header, when ``buf`` starts with it (row 1)."""
    if first_row != 1:
        return None
    end = buf.find(b"\n")
    line = buf[: end if end >= 0 else len(buf)].removeprefix(BOM)
    try:
        return next(csv.reader(io.StringIO(line.decode("utf-8", errors="replace"))), None)
    except csv.Error:
        return None
