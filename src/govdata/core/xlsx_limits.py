"""An uploaded xlsx is checked before calamine reads it (Art. 39 防范攻击; zip bombs).

calamine holds a whole sheet in memory, as a dense grid from its first to its last cell. Two
kinds of file would take the process down before a single row is validated:

- a zip bomb: 21 MB of xlsx that expands to 690 MB of XML (1.6 GB of memory);
- a sparse sheet: two cells, A1 and XFD1048576, in a 1.5 KB file, make calamine allocate
  1,048,576 × 16,384 cells (512 GB): the allocation fails and the process aborts.

``check_xlsx`` reads the zip's central directory (entry count, declared sizes, compression
ratios), then decompresses every entry as a stream (never more than a few MB at once), counting
the bytes it really gets (a header can lie; Python's zipfile stops at the declared size and the
CRC check refuses the rest), and scans the XML for the extent of the grid calamine would build:
the highest row and column of a cell reference, or, for rows and cells written without one,
what calamine's counters would reach. The scan uses Polars' regex engine (Rust, a DFA) on each
chunk, so it costs a fraction of calamine's own parse; an ordinary file takes the fast path
(is any reference beyond the extent so far?), and only a chunk with a new maximum is read cell
by cell.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from govdata.core.settings import Settings

if TYPE_CHECKING:
    import polars as pl

CHUNK = 4 << 20
MAX_CARRY = (
    16 << 20
)  # XML without a '<' for this long is no spreadsheet (Excel: 32,767 chars a cell)
RATIO_MIN_BYTES = 10 << 20  # the ratio limit applies to entries expanding beyond this

_P = r"(?:[A-Za-z_][\w.-]*:)?"  # an optional namespace prefix: calamine reads local names
_ATTR = r"""\s*=\s*["']"""
ROW_REF = rf"<{_P}row\s(?:[^>]*?\s)?r{_ATTR}[0-9]+"
ROW_START = rf"<{_P}row[\s/>]"
CELL_REF = rf"<{_P}c\s(?:[^>]*?\s)?r{_ATTR}[A-Za-z]+[0-9]+"
# A cell whose attributes are all named otherwise than r: calamine counts its column.
CELL_WITHOUT_REF = rf"""<{_P}c(?:\s+(?:[A-Za-qs-z_][\w:.-]*|r[\w:.-]+){_ATTR}[^"']*["'])*\s*/?>"""
# The fast path: row references as Excel writes them (Python's re, a literal prefix), and what
# sends a chunk the general way: whitespace other than a space, single quotes, spaces around
# '=', a namespace prefix, a character reference in an attribute, a row or a cell whose first
# attribute is not its reference.
_FAST_ROW_REF = re.compile(rb'<row r="([0-9]+)"')
_UNUSUAL = (
    r"""[\t\n\r]|='|\s=|=\s|:c[\s>/]|:row|="&"""
    r"""|<c(?:[>/]| [^r]| r[^=])|<row(?:[>/]| [^r]| r[^=])"""
)
# A reference written with character references or a BOM-less UTF-16 file: not read here.
UNREADABLE = rf"""\sr{_ATTR}&"""


@dataclass(frozen=True)
class XlsxLimits:
    max_expanded_bytes: int
    max_ratio: int = 100
    max_entries: int = 1000
    max_rows: int = 1_048_576
    max_cells: int = 20_000_000


def limits_for(settings: Settings, *, catalog: bool = False) -> XlsxLimits:
    """The limits the settings give: a load's file, or (``catalog``) a catalog list import."""
    expanded = (
        settings.catalog_xlsx_max_expanded_bytes if catalog else settings.xlsx_max_expanded_bytes
    )
    return XlsxLimits(
        max_expanded_bytes=expanded,
        max_ratio=settings.xlsx_max_ratio,
        max_entries=settings.xlsx_max_entries,
        max_rows=settings.xlsx_max_rows,
        max_cells=settings.xlsx_max_cells,
    )


class XlsxTooLarge(Exception):
    """Refused: ``reason`` is expanded, ratio, entries, rows, cells or unreadable."""

    def __init__(self, reason: str, message: str, **detail: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.detail = detail


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB"


def column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _greater_number(n: int) -> str:
    """A regex for a decimal number above ``n`` (a leading zero counts as above: checked)."""
    digits = str(n)
    k = len(digits)
    alts = [f"[1-9][0-9]{{{k},}}", "0[0-9]*"]
    for i, d in enumerate(digits):
        if d != "9":
            alts.append(f"{digits[:i]}[{int(d) + 1}-9][0-9]{{{k - i - 1}}}")
    return "(?:" + "|".join(alts) + ")"


def _letters(n: int) -> str:
    out = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def _greater_letters(n: int) -> str:
    """A regex for column letters beyond column ``n`` (lower case counts as beyond: checked)."""
    letters = _letters(n)
    k = len(letters)
    alts = [f"[A-Za-z]{{{k + 1},}}", "[A-Z]*[a-z][A-Za-z]*"]
    for i, ch in enumerate(letters):
        if ch != "Z":
            alts.append(f"{letters[:i]}[{chr(ord(ch) + 1)}-Z][A-Z]{{{k - i - 1}}}")
    return "(?:" + "|".join(alts) + ")"


class _Extent:
    """The grid calamine would build for one entry, as its XML streams past."""

    def __init__(self) -> None:
        self.rows = 0  # highest row number referenced
        self.columns = 0  # highest column referenced
        self.row_tags = 0
        self.row_refs = 0
        self.cells_without_ref = False
        self.open_row_cells = 0  # cells of the row still open at the end of the last chunk
        self.widest_row = 0

    def scan(self, chunk: bytes) -> None:
        """The fast path, for XML as Excel, openpyxl and most writers write it: ``<row r="…"``
        and ``<c r="…"`` with the reference first, one space between attributes, double
        quotes, no prefix. One regex (Rust, a DFA) finds anything else, or a cell beyond the
        rows and columns seen so far; such a chunk goes the general way."""
        import polars as pl

        row_refs = _FAST_ROW_REF.findall(chunk)
        rows = max(self.rows, max(map(int, row_refs), default=0))
        flag = _UNUSUAL + (
            f'|<c r="(?:{_greater_letters(self.columns)}[0-9]'
            f"|[A-Za-z]+{_greater_number(rows)}[^0-9])"
        )
        try:
            text = pl.Series([chunk], dtype=pl.Binary).cast(pl.String)
        except pl.exceptions.PolarsError:  # not UTF-8: calamine refuses it; scanned anyway
            text = pl.Series([chunk.decode("utf-8", "replace")])
        if text.str.contains(flag).item():
            self._scan_general(text)
            return
        self.rows = rows
        self.row_refs += len(row_refs)
        self.row_tags += len(row_refs)

    def _scan_general(self, s: pl.Series) -> None:
        if s.str.contains(UNREADABLE).item():
            raise XlsxTooLarge(
                "unreadable", "工作簿中的单元格引用无法识别，请在 Excel 中另存后重试。"
            )
        refs = s.str.extract_all(ROW_REF).explode().drop_nulls()
        if len(refs):
            self.rows = max(self.rows, _max_int(refs.str.extract(r"([0-9]+)$")))
        self.row_refs += len(refs)
        self.row_tags += int(s.str.count_matches(ROW_START).item())
        beyond = (
            rf"<{_P}c\s(?:[^>]*?\s)?r{_ATTR}(?:{_greater_letters(self.columns)}[0-9]"
            rf"|[A-Za-z]+{_greater_number(self.rows)}[^0-9])"
        )
        if s.str.contains(beyond).item():
            self._exact(s)
        if self.cells_without_ref or s.str.contains(CELL_WITHOUT_REF).item():
            self.cells_without_ref = True
            self._count_cells_per_row(s)

    def _exact(self, s: pl.Series) -> None:
        import polars as pl

        cells = s.str.extract_all(CELL_REF).explode().drop_nulls()
        refs = pl.DataFrame(
            {
                "letters": cells.str.extract(r"([A-Za-z]+)[0-9]+$").str.to_uppercase(),
                "row": cells.str.extract(r"([0-9]+)$"),
            }
        )
        widest = refs.select(pl.col("letters").str.len_chars().max()).item() or 0
        if widest > 3:  # beyond XFD: beyond any limit
            self.columns = max(self.columns, 16_385)
        else:
            top = refs.select(pl.col("letters").str.pad_start(3, "@").max()).item()
            self.columns = max(self.columns, column_number(top.lstrip("@")))
        self.rows = max(self.rows, _max_int(refs["row"]))

    def _count_cells_per_row(self, s: pl.Series) -> None:
        # Rows and cells without references: calamine's counters, row by row.
        pieces = s.str.extract_all(rf"(?s){ROW_START}|<{_P}c[\s/>]").explode()
        for piece in pieces.drop_nulls():
            if piece.lstrip("<").split(":")[-1].startswith("row"):
                self.widest_row = max(self.widest_row, self.open_row_cells)
                self.open_row_cells = 0
            else:
                self.open_row_cells += 1
        self.widest_row = max(self.widest_row, self.open_row_cells)

    def check(self, limits: XlsxLimits) -> None:
        rows = self.rows
        if self.row_tags > self.row_refs:  # rows without a reference count on from the last one
            rows += self.row_tags
        # Cells without a reference count on from the last referenced column of their row.
        columns = self.columns + (self.widest_row if self.cells_without_ref else 0)
        if rows > limits.max_rows:
            raise XlsxTooLarge(
                "rows",
                f"工作表超过 {limits.max_rows:,} 行。",
                rows=rows,
                limit=limits.max_rows,
            )
        if rows * columns > limits.max_cells:
            raise XlsxTooLarge(
                "cells",
                f"工作表的范围（{rows:,} 行 × {columns:,} 列）超过 {limits.max_cells:,} 个单元格。",
                rows=rows,
                columns=columns,
                limit=limits.max_cells,
            )


def _max_int(values: pl.Series) -> int:
    import polars as pl

    if not len(values):
        return 0
    # More digits than Int64 holds is beyond every limit.
    longest = values.str.len_chars().max()
    if isinstance(longest, int) and longest > 15:
        return 10**15
    top = values.cast(pl.Int64, strict=False).max()
    return int(top) if isinstance(top, int) else 0


def _scan_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: XlsxLimits, total: int
) -> int:
    extent = _Extent()
    size = 0
    carry = b""
    with archive.open(info) as stream:
        while chunk := stream.read(CHUNK):
            if size == 0 and (chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in chunk[:4]):
                raise XlsxTooLarge("unreadable", "工作簿的内容不是 UTF-8 编码的 XML，无法读取。")
            size += len(chunk)
            total += len(chunk)
            _check_expanded(total, limits)
            _check_ratio(info, size, limits)
            buffer = carry + chunk
            # Scan up to the last tag's start, so that no tag is cut in two; carry the rest.
            cut = max(buffer.rfind(b"<"), 0)
            if cut:
                extent.scan(buffer[:cut])
            carry = buffer[cut:]
            if len(carry) > MAX_CARRY:
                raise XlsxTooLarge("unreadable", "工作簿中有异常长的内容，无法读取。")
    if carry:
        extent.scan(carry)
    extent.check(limits)
    return total


def _check_expanded(total: int, limits: XlsxLimits) -> None:
    if total > limits.max_expanded_bytes:
        raise XlsxTooLarge(
            "expanded",
            f"工作簿解压后超过 {_mib(limits.max_expanded_bytes)}。",
            limit_bytes=limits.max_expanded_bytes,
        )


def _check_ratio(info: zipfile.ZipInfo, size: int, limits: XlsxLimits) -> None:
    if size > RATIO_MIN_BYTES and size > limits.max_ratio * max(info.compress_size, 1):
        raise XlsxTooLarge(
            "ratio",
            f"工作簿中“{info.filename}”的压缩比超过 {limits.max_ratio}:1，疑为压缩炸弹。",
            limit=limits.max_ratio,
        )


def check_xlsx(source: Path | bytes | BinaryIO, limits: XlsxLimits) -> None:
    """Raises ``XlsxTooLarge`` for a file calamine must not read; ``zipfile.BadZipFile`` for a
    damaged zip (the caller's own "not a workbook" refusal)."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    with zipfile.ZipFile(source) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > limits.max_entries:
            raise XlsxTooLarge(
                "entries",
                f"工作簿中的文件超过 {limits.max_entries} 个。",
                limit=limits.max_entries,
            )
        _check_expanded(sum(i.file_size for i in infos), limits)
        for info in infos:
            _check_ratio(info, info.file_size, limits)
        total = 0
        for info in infos:
            total = _scan_entry(archive, info, limits, total)


# --- legacy Excel (.xls) ------------------------------------------------------------------------

# An .xls is an OLE compound file holding a BIFF8 workbook (Excel 97–2003, and WPS's default in
# many offices). It is not compressed, so no bomb; its grid is at most 65,536 rows × 256
# columns, which calamine holds densely (about 1 GB for a 6 KB file with cells at A1 and IV65536).
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XLS_MAX_ROWS = 65_536
XLS_MAX_COLUMNS = 256


def check_xls(limits: XlsxLimits) -> None:
    """Refuse every .xls when the limits are below BIFF8's own grid (the file is not scanned:
    the format bounds it), so that a lowered limit holds for .xls as it does for .xlsx."""
    if limits.max_rows < XLS_MAX_ROWS or limits.max_cells < XLS_MAX_ROWS * XLS_MAX_COLUMNS:
        raise XlsxTooLarge(
            "cells",
            "本平台当前的单元格上限低于 .xls 格式可容纳的范围，无法安全读取 .xls 文件。"
            "请在 Excel 或 WPS 中另存为 .xlsx 后重新上传。",
            limit=limits.max_cells,
        )
