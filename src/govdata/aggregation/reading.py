"""Reading load files in bounded memory: CSV (UTF-8 or GB18030), xlsx and JSON Lines.

Every reader yields Polars data frames of at most ``batch_rows`` rows whose columns are the
file's header names, all of type String, plus ``_row``: the row's number in the file (the header
is row 1), which every problem report quotes. Nothing holds the whole file: CSV is parsed by
Polars a record-aligned chunk at a time, GB18030 is first transcoded to a UTF-8 spool file in
chunks, JSON Lines is read line by line, and xlsx and legacy xls rows are streamed by calamine
(a spreadsheet's header is found below a title or notes, and notes below the data are left).

Whatever a file holds, memory stays bounded and a bad file is refused before anything is stored,
with a stable code, its row and item, and a zh-CN message (``csv_faults``): a stray or unclosed
quote, a record over ``_MAX_RECORD``, more fields than the header, bytes that are not UTF-8, an
item named twice in the header. A JSON Lines value that is not a string is marked for validation
(``JSON_TYPE``), which refuses it for a text item.
"""

from __future__ import annotations

import codecs
import io
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from govdata.aggregation import csv_faults
from govdata.aggregation.formats import (
    JSON_TYPE,
    ROW,
    SheetRows,
    check_header,
    jsonl_batches,
    xlsx_batches,
)
from govdata.core.errors import InvalidInput

__all__ = [
    "JSON_TYPE",
    "ROW",
    "SheetRows",
    "Source",
    "batches",
    "estimate_rows",
    "file_format",
]
FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xls": "xls",  # legacy Excel (BIFF8), as many offices and WPS still save
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
SPREADSHEETS = ("xlsx", "xls")
ENCODINGS = ("utf-8", "gb18030")
_SNIFF_BYTES = 1 << 20
_TRANSCODE_CHUNK = 8 << 20
_CSV_CHUNK = 32 << 20  # bytes parsed at a time (about 130,000 rows of the benchmark file)
_MAX_RECORD = 32 << 20  # the longest CSV record (or JSON line) a load reads
TRANSCODED_PREFIX = "govdata-utf8-"  # the UTF-8 copy of a GB18030 file, beside it


def file_format(filename: str) -> str:
    fmt = FORMATS.get(Path(filename).suffix.lower())
    if fmt is None:
        raise InvalidInput(
            "aggregation.unsupported_format",
            "不支持的文件格式：请上传 CSV（.csv）、Excel（.xlsx 或 .xls）或 JSON Lines（.jsonl）"
            "文件。",
            detail={"filename": filename},
        )
    return fmt


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the first megabyte decodes as such, else GB18030.

    GB18030 decodes any byte sequence, so UTF-8 is tried first; a UTF-8 file whose first
    megabyte is pure ASCII is UTF-8 either way.
    """
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a character cut at the 1 MiB boundary is fine
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


@dataclass
class Source:
    """A file to read, with what is known of it before reading."""

    path: Path
    file_format: str
    encoding: str = ""
    # A spreadsheet's header is looked for by these names (the pool's items) in its first rows.
    expected: frozenset[str] = frozenset()
    layout: SheetRows = field(default_factory=SheetRows)  # which rows a spreadsheet's were

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def _transcode(path: Path, encoding: str) -> Path:
    """A UTF-8 copy of a GB18030 file, written in chunks (bounded memory)."""
    fd, name = tempfile.mkstemp(prefix=TRANSCODED_PREFIX, suffix=".csv", dir=path.parent)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    done = 0  # bytes of the file decoded before the current chunk
    try:
        with path.open("rb") as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(_TRANSCODE_CHUNK):
                dst.write(decoder.decode(chunk).encode("utf-8"))
                done += len(chunk)
            dst.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as exc:
        Path(name).unlink(missing_ok=True)
        raise InvalidInput(
            "aggregation.bad_encoding",
            f"文件不是有效的 {encoding.upper()} 编码（第 {done + max(exc.start, 0) + 1} "
            "字节附近）。请以 UTF-8 或 GB18030 编码另存后重新上传。",
        ) from None
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _last_boundary(buf: bytes, quotes: pl.Series | None = None) -> int:
    """The offset of the last newline of ``buf`` that ends a record (outside quotes), or -1.

    ``buf`` starts at a record boundary and holds no stray quote (``_scan_quotes``), so a newline
    ends a record when an even number of quote characters precede it (RFC 4180: an escaped
    quote is two). ``quotes``, the offsets of the quotes, answers that for the last newline;
    without it they are counted. Then back a line at a time while the count is odd: one pass
    over the chunk at most.
    """
    pos = buf.rfind(b"\n")
    if pos < 0 or (quotes is None and buf.find(b'"') < 0):
        return pos
    count = int(quotes.search_sorted(pos)) if quotes is not None else buf.count(b'"', 0, pos)
    while pos >= 0 and count % 2:
        previous = buf.rfind(b"\n", 0, pos)
        count -= buf.count(b'"', previous + 1, pos)
        pos = previous
    return pos


def _scan_quotes(buf: bytes, *, eof: bool) -> pl.Series | None:
    """The offsets of the quotes of ``buf`` (None: it has none), after checking that parity
    tells where its quoted fields are; a stray quote raises ``csv_faults.Fault``.

    A quote opens a quoted field only as a field's first character; elsewhere a CSV parser
    reads it as itself, while parity would take it as opening a field and misplace every cut
    after it. So each run of quotes is looked at, vectorized (one pass over the bytes, seen by
    Polars through a zero-copy Arrow array): a run of odd length where parity says "outside",
    not at a field's start, is stray, unless it pairs up with the next run on the same line
    (``他说"你好"``: two literal quotes, which parity passes through before the line ends).
    A run split by the end of ``buf`` is looked at again with the next read (``eof``: none).
    """
    if buf.find(b'"') < 0:
        return None
    import pyarrow as pa  # type: ignore[import-untyped]  # imported once a file has a quote

    data = pl.from_arrow(pa.Array.from_buffers(pa.uint8(), len(buf), [None, pa.py_buffer(buf)]))
    assert isinstance(data, pl.Series)
    # Lazy: Polars spreads the search over its threads (about twice as fast as eager here).
    found = data.to_frame("b").lazy().select(pl.arg_where(pl.col("b") == csv_faults.QUOTE))
    quotes = found.collect().to_series().cast(pl.Int64)
    runs = (
        pl.DataFrame({"at": quotes})
        .with_row_index("k")
        .filter(pl.col("at").diff().fill_null(0) != 1)
        .with_columns(length=pl.col("k").shift(-1, fill_value=quotes.len()) - pl.col("k"))
        .with_row_index("r")
    )
    odd = runs.filter((pl.col("k") % 2 == 0) & (pl.col("length") % 2 == 1))
    if odd.height:
        before = data.gather((odd["at"] - 1).clip(lower_bound=0))
        suspects = odd.filter(~_opens(odd["at"], before, buf))
        for r, at, length in suspects.select("r", "at", "length").iter_rows():
            if not _paired(buf, runs, r, at + length, eof=eof):
                raise csv_faults.Fault(csv_faults.STRAY_QUOTE, buf, at)
    return quotes


def _opens(at: pl.Series, before: pl.Series, buf: bytes) -> pl.Series:
    """Whether runs of quotes starting ``at`` (with the bytes ``before`` them) start a field."""
    bom = buf.startswith(csv_faults.BOM)
    field_start = before.is_in([csv_faults.COMMA, csv_faults.LF])
    return (at == 0) | field_start | ((at == 3) & bom)


def _paired(buf: bytes, runs: pl.DataFrame, r: int, end: int, *, eof: bool) -> bool:
    """Whether the suspect run ``r`` (ending at ``end``) pairs with the next run: on the same
    line, of odd length, not at a field's start (so both are literal quotes)."""
    if r + 1 >= runs.height:
        return not eof and buf.find(b"\n", end) < 0  # the line goes on in the next read
    following = runs.row(r + 1, named=True)
    at, length = following["at"], following["length"]
    opens = buf[at - 1] in (csv_faults.COMMA, csv_faults.LF)
    return buf.find(b"\n", end, at) < 0 and length % 2 == 1 and not opens


def _open_record(buf: bytes, start: int, quotes: pl.Series | None) -> csv_faults.Fault:
    """Why the record at ``start`` is longer than ``_MAX_RECORD``: a quoted field left open
    (the fault points at its opening quote), or a record that long."""
    inside = [] if quotes is None else quotes.filter(quotes >= start).to_list()
    if len(inside) % 2 == 0:
        return csv_faults.Fault(csv_faults.RECORD_TOO_LONG, buf, start, _MAX_RECORD)
    opening = len(inside) - 1  # the quote that left the field open, or the last of a
    while opening >= 2 and inside[opening - 1] == inside[opening] - 1:  # doubled quote in it
        opening -= 2
    return csv_faults.Fault(csv_faults.UNCLOSED_QUOTE, buf, inside[opening])


def _record_chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes in pieces of about ``_CSV_CHUNK`` that end at a record boundary.

    Memory stays bounded whatever the file holds: a record still open after ``_MAX_RECORD``
    bytes refuses the file (``csv_faults.Fault``), so a buffer never exceeds that plus a chunk.
    """
    carry = b""
    with path.open("rb") as f:
        while data := f.read(_CSV_CHUNK):
            buf = carry + data if carry else data
            quotes = _scan_quotes(buf, eof=False)
            cut = _last_boundary(buf, quotes)
            if len(buf) - (cut + 1) > _MAX_RECORD:
                raise _open_record(buf, cut + 1, quotes)
            if cut >= 0:
                yield buf[: cut + 1]
            carry = buf[cut + 1 :]
    if carry.strip():
        quotes = _scan_quotes(carry, eof=True)
        if quotes is not None and quotes.len() % 2:
            raise _open_record(carry, 0, quotes)
        yield carry


def _parse_chunk(chunk: bytes, header: list[str] | None, first_row: int) -> pl.DataFrame:
    """A chunk as a frame of String columns and ``_row``; without ``header`` (the first chunk)
    its first row is the header, read as data so that duplicate names stay visible."""
    columns: dict[str, Any] = {}
    if header is not None:
        # A record shorter than the header reads as missing values, wherever it falls.
        columns = {"schema": dict.fromkeys(header, pl.String), "missing_columns": "insert"}
    try:
        frame = pl.read_csv(
            io.BytesIO(chunk),
            infer_schema=False,
            has_header=False,
            row_index_name=ROW,
            row_index_offset=first_row,
            encoding="utf8",
            raise_if_empty=False,
            **columns,
        )
    except pl.exceptions.PolarsError:
        raise csv_faults.locate(chunk, first_row, header) from None
    return frame.with_columns(pl.col(ROW).cast(pl.Int64))


def _parsed_chunks(path: Path) -> Iterator[pl.DataFrame]:
    """Each chunk cut, checked and parsed while the caller works on the previous one (a thread
    of its own; Polars releases the GIL), one chunk ahead at most. Rows are numbered by record
    from the header's 1; a fault is refused with the row it is on."""
    chunks = _record_chunks(path)
    frame = _next_frame(chunks, None, 1)
    if frame is None or frame.height == 0:
        return
    names = frame.drop(ROW).row(0)
    header = check_header([name or "" for name in names])
    frame = frame.slice(1).rename(dict(zip(frame.columns[1:], header, strict=True)))
    next_row = 2 + frame.height
    with ThreadPoolExecutor(1, thread_name_prefix="govdata-csv") as pool:
        while frame is not None:
            ahead = pool.submit(_next_frame, chunks, header, next_row)
            yield frame
            frame = ahead.result()
            next_row += 0 if frame is None else frame.height


def _next_frame(
    chunks: Iterator[bytes], header: list[str] | None, first_row: int
) -> pl.DataFrame | None:
    """The next chunk (its first record being row ``first_row``) parsed; None at the end."""
    try:
        chunk = next(chunks, None)
    except csv_faults.Fault as fault:
        raise fault.refusal(first_row, header) from None
    return None if chunk is None else _parse_chunk(chunk, header, first_row)


def _csv_batches(source: Source, batch_rows: int) -> Iterator[pl.DataFrame]:
    """CSV in record-aligned chunks parsed by Polars (multi-threaded), sliced into batches.

    Polars' streaming scan held about 600 MiB of read-ahead whatever the batch size; a chunk at
    a time holds the chunk and its frame, and the next one being parsed.
    """
    encoding = source.encoding or detect_encoding(source.path)
    source.encoding = encoding
    path = source.path if encoding == "utf-8" else _transcode(source.path, encoding)
    try:
        for frame in _parsed_chunks(path):
            if frame.height == 0:
                continue
            if frame.height <= batch_rows * 3 // 2:
                yield frame  # a chunk a little over the batch size is one batch, not two
                continue
            parts = -(-frame.height // batch_rows)
            size = -(-frame.height // parts)
            for start in range(0, frame.height, size):
                yield frame.slice(start, size)
    finally:
        if path != source.path:
            path.unlink(missing_ok=True)


def batches(source: Source, batch_rows: int = 200_000) -> Iterator[pl.DataFrame]:
    """The file's rows in batches of all-String columns plus ``_row``."""
    if source.file_format == "csv":
        it = _csv_batches(source, batch_rows)
    elif source.file_format in SPREADSHEETS:
        it = xlsx_batches(
            source.path,
            batch_rows,
            legacy=source.file_format == "xls",
            expected=source.expected,
            layout=source.layout,
        )
    else:
        source.encoding = "utf-8"
        it = jsonl_batches(source.path, batch_rows)
    for frame in it:
        yield frame.rename({c: c.strip() for c in frame.columns if c != c.strip()})


def estimate_rows(source: Source, sample: pl.DataFrame) -> int | None:
    """Rows in the whole file, estimated from the first batch's share of the bytes (CSV, JSONL).

    Used for the progress bar only; None for spreadsheets (compressed, or cells of many kinds).
    """
    if source.file_format in SPREADSHEETS or sample.height == 0:
        return None
    sample_bytes = sample.drop(ROW).estimated_size()
    if sample_bytes <= 0:
        return None
    # Text in the frame is about as long as in the file; separators and quotes add a little.
    per_row = sample_bytes / sample.height + sample.width
    return max(sample.height, int(source.size / per_row))
