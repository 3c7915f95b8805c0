"""Reading load files in bounded memory: CSV (UTF-8 or GB18030), xlsx and JSON Lines.

Every reader yields Polars data frames of at most ``batch_rows`` rows whose columns are the
file's header names, all of type String, plus ``_row``: the row's number in the file (the header
is row 1), which every problem report quotes. Nothing holds the whole file: CSV is parsed by
Polars a record-aligned chunk at a time, GB18030 is first transcoded to a UTF-8 spool file in
chunks, JSON Lines is read line by line, and xlsx rows are streamed by calamine.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import polars as pl

from govdata.core.errors import InvalidInput

ROW = "_row"
FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl", ".ndjson": "jsonl"}
ENCODINGS = ("utf-8", "gb18030")
_SNIFF_BYTES = 1 << 20
_TRANSCODE_CHUNK = 8 << 20
_CSV_CHUNK = 32 << 20  # bytes parsed at a time (about 130,000 rows of the benchmark file)


def file_format(filename: str) -> str:
    fmt = FORMATS.get(Path(filename).suffix.lower())
    if fmt is None:
        raise InvalidInput(
            "aggregation.unsupported_format",
            "不支持的文件格式：请上传 CSV（.csv）、Excel（.xlsx）或 JSON Lines（.jsonl）文件。",
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

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def _transcode(path: Path, encoding: str) -> Path:
    """A UTF-8 copy of a GB18030 file, written in chunks (bounded memory)."""
    fd, name = tempfile.mkstemp(prefix="govdata-utf8-", suffix=".csv", dir=path.parent)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(_TRANSCODE_CHUNK):
                dst.write(decoder.decode(chunk).encode("utf-8"))
            dst.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as exc:
        Path(name).unlink(missing_ok=True)
        raise InvalidInput(
            "aggregation.bad_encoding",
            f"文件不是有效的 {encoding.upper()} 编码（第 {exc.start} 字节附近）。"
            "请以 UTF-8 或 GB18030 编码另存后重新上传。",
        ) from None
    return Path(name)


def _last_boundary(buf: bytes) -> int:
    """The offset of the last newline of ``buf`` that ends a record (outside quotes), or -1.

    ``buf`` starts at a record boundary, so a newline ends a record when an even number of
    quote characters precede it (RFC 4180: an escaped quote is two). Counted with ``bytes``'
    native search, from the end, so the cost is one pass over the chunk at most.
    """
    pos = buf.rfind(b"\n")
    if pos < 0 or buf.find(b'"') < 0:
        return pos
    quotes = buf.count(b'"', 0, pos)
    while pos >= 0 and quotes % 2:
        previous = buf.rfind(b"\n", 0, pos)
        quotes -= buf.count(b'"', previous + 1, pos)
        pos = previous
    return pos


def _record_chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes in pieces of about ``_CSV_CHUNK`` that end at a record boundary."""
    carry = b""
    with path.open("rb") as f:
        while data := f.read(_CSV_CHUNK):
            buf = carry + data if carry else data
            cut = _last_boundary(buf)
            if cut < 0:  # one record longer than a chunk: read on
                carry = buf
                continue
            yield buf[: cut + 1]
            carry = buf[cut + 1 :]
    if carry.strip():
        yield carry


def _parse_chunk(chunk: bytes, header: list[str] | None, first_row: int) -> pl.DataFrame:
    try:
        frame = pl.read_csv(
            io.BytesIO(chunk),
            infer_schema=False,
            has_header=header is None,
            new_columns=header,
            row_index_name=ROW,
            row_index_offset=first_row,
            encoding="utf8",
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise InvalidInput(
            "aggregation.malformed_csv",
            f"CSV 文件格式错误，无法继续读取：{str(exc).splitlines()[0][:200]}",
        ) from None
    return frame.with_columns(pl.col(ROW).cast(pl.Int64))


def _parsed_chunks(path: Path) -> Iterator[pl.DataFrame]:
    """Each chunk parsed while the caller works on the previous one (a thread of its own;
    Polars releases the GIL), one chunk ahead at most."""
    chunks = _record_chunks(path)
    first = next(chunks, None)
    if first is None:
        return
    frame = _parse_chunk(first, None, 2)
    header = [c for c in frame.columns if c != ROW]
    next_row = 2 + frame.height
    with ThreadPoolExecutor(1, thread_name_prefix="govdata-csv") as pool:
        while True:
            chunk = next(chunks, None)
            ahead = pool.submit(_parse_chunk, chunk, header, next_row) if chunk else None
            yield frame
            if ahead is None:
                return
            frame = ahead.result()
            next_row += frame.height


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


def _frame(header: list[str], rows: list[list[str | None]], first_row: int) -> pl.DataFrame:
    data: dict[str, Any] = {ROW: pl.Series(ROW, range(first_row, first_row + len(rows)), pl.Int64)}
    for i, name in enumerate(header):
        data[name] = pl.Series(name, [r[i] if i < len(r) else None for r in rows], pl.String)
    return pl.DataFrame(data)


def _check_header(header: list[str]) -> list[str]:
    names = [h.strip() for h in header]
    seen: set[str] = set()
    dup = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dup:
        raise InvalidInput(
            "aggregation.duplicate_column",
            f"表头中有重复的列：{'、'.join(dup)}。",
            detail={"columns": dup},
        )
    return names


def _xlsx_batches(source: Source, batch_rows: int) -> Iterator[pl.DataFrame]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(source.path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
        header_row = next(rows, None)
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise InvalidInput(
            "aggregation.malformed_xlsx", f"无法读取该 Excel 文件：{str(exc)[:200]}"
        ) from None
    if header_row is None:
        return
    header = _check_header([_text(h) or "" for h in header_row])
    buffer: list[list[str | None]] = []
    first = 2
    for row in rows:
        buffer.append([_text(v) if v != "" else None for v in row])
        if len(buffer) >= batch_rows:
            yield _frame(header, buffer, first)
            first += len(buffer)
            buffer = []
    if buffer:
        yield _frame(header, buffer, first)


def _jsonl_batches(source: Source, batch_rows: int) -> Iterator[pl.DataFrame]:
    source.encoding = "utf-8"
    header: list[str] = []
    known: set[str] = set()
    records: list[dict[str, Any]] = []
    with source.path.open("r", encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
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
            for key in obj:
                if key not in known:
                    known.add(key)
                    header.append(key)
            obj[ROW] = number
            records.append(obj)
            if len(records) >= batch_rows:
                yield _records_frame(header, records)
                records = []
    if records:
        yield _records_frame(header, records)


def _records_frame(header: list[str], records: list[dict[str, Any]]) -> pl.DataFrame:
    data: dict[str, Any] = {ROW: pl.Series(ROW, [r[ROW] for r in records], pl.Int64)}
    for name in header:
        data[name] = pl.Series(name, [_text(r.get(name)) for r in records], pl.String)
    return pl.DataFrame(data)


def batches(source: Source, batch_rows: int = 200_000) -> Iterator[pl.DataFrame]:
    """The file's rows in batches of all-String columns plus ``_row``."""
    if source.file_format == "csv":
        it = _csv_batches(source, batch_rows)
    elif source.file_format == "xlsx":
        it = _xlsx_batches(source, batch_rows)
    else:
        it = _jsonl_batches(source, batch_rows)
    for frame in it:
        yield frame.rename({c: c.strip() for c in frame.columns if c != c.strip()})


def estimate_rows(source: Source, sample: pl.DataFrame) -> int | None:
    """Rows in the whole file, estimated from the first batch's share of the bytes (CSV, JSONL).

    Used for the progress bar only; None for xlsx (compressed, no useful ratio).
    """
    if source.file_format == "xlsx" or sample.height == 0:
        return None
    sample_bytes = sample.drop(ROW).estimated_size()
    if sample_bytes <= 0:
        return None
    # Text in the frame is about as long as in the file; separators and quotes add a little.
    per_row = sample_bytes / sample.height + sample.width
    return max(sample.height, int(source.size / per_row))
