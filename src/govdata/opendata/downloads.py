"""Downloads of a dataset's current release as CSV, xlsx or JSON (Art. 29, 33 ¶2 ¶3, 40).

``start`` is the one gate: the dataset must be open (not withdrawn) and have a published
release (Art. 31 ¶2); the visitor must be entitled (``entitlement.may_obtain``: identity for
unconditional data, an approved application in force for conditional data, and then only its
granted items). The access record (``opendata.download``, the rows and fields sent) is written
and the download counted in the caller's transaction, which commits BEFORE the first byte
leaves (fail closed, Art. 40). A refusal is recorded too (outcome ``refused``, its code) and
kept although the request fails.

Only columns that are both in the release and among the dataset's items open *today* leave:
an item closed in the catalog after the release was built is never served (Art. 30).

``chunks`` produces the bytes on a read session of its own, with bounded memory whatever the
release's size: rows are read in key ranges (``store.iter_batches``); on PostgreSQL a CSV is
written by the server (``COPY (SELECT …) TO STDOUT``), formula neutralizing done in the SELECT.
An xlsx is written by openpyxl's write-only workbook to a temporary file (its rows never held in
memory), then sent in chunks: a zip cannot be sent before it is finished.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Session

from govdata.core.actor import Actor
from govdata.core.calendar import CITY_TZ
from govdata.core.errors import DomainError
from govdata.core.spreadsheet_safety import FORMULA_START, csv_row, xlsx_row
from govdata.opendata import access, datasets, entitlement, errors, store
from govdata.opendata.models import OpenDataset, Release, ReleaseStatus
from govdata.web.download import content_disposition, file_word

if TYPE_CHECKING:
    import psycopg

Format = Literal["csv", "xlsx", "json"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "json")
MEDIA: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
ACTION = "opendata.download"
BATCH_ROWS = 10_000
CHUNK_BYTES = 256 * 1024
XLSX_SHEET_ROWS = 1_000_000  # Excel holds 1,048,576 rows a sheet: a larger release gets more
BOM = "\ufeff".encode()
ANONYMOUS = "匿名访问者"
# ``FORMULA_START`` as a PostgreSQL list of one-character literals (none holds a quote):
# ``left(c, 1) IN (…)`` costs less per value than a regular expression.
_PG_STARTS = ", ".join(f"'{c}'" for c in FORMULA_START)
_COLUMN = re.compile(r"c\d+")


@dataclass(frozen=True)
class Download:
    """A started download: what to stream, committed with its access record."""

    fmt: Format
    dataset_code: str
    dataset_name: str
    version: int
    published_on: date
    table_name: str
    columns: tuple[dict[str, str], ...]  # the release's columns sent, in release order
    rows: int

    @property
    def header(self) -> list[str]:
        return [c["name"] for c in self.columns]

    @property
    def filename(self) -> str:
        """``<数据集名称>-v<版本>-<日期>.<ext>`` (a product decision: the version and the
        release date make two downloads of different releases distinguishable)."""
        name = file_word(self.dataset_name) or self.dataset_code
        return f"{name}-v{self.version}-{self.published_on:%Y%m%d}.{self.fmt}"

    def content_disposition(self) -> str:
        """RFC 6266 with RFC 5987 ``filename*`` (UTF-8) and an ASCII fallback."""
        fallback = f"{self.dataset_code}-v{self.version}-{self.published_on:%Y%m%d}.{self.fmt}"
        return content_disposition(self.filename, fallback=fallback)

    def release(self) -> Release:
        """A transient ``Release`` naming the table and the columns sent (for ``store``)."""
        return Release(table_name=self.table_name, columns=list(self.columns))


def current_release(session: Session, dataset: OpenDataset) -> Release:
    """The dataset's published release (Art. 31 ¶2: data opens only as one), else NoRelease."""
    if dataset.current_release_id is None:
        raise errors.NoRelease()
    release = session.get(Release, dataset.current_release_id)
    if (
        release is None
        or release.dataset_id != dataset.id
        or release.status != ReleaseStatus.PUBLISHED.value
        or release.table_name is None
        or not store.is_release_table(release.table_name)
    ):
        raise errors.NoRelease()
    return release


def columns_for(
    dataset: OpenDataset, release: Release, granted: Sequence[str] | None
) -> list[dict[str, str]]:
    """The release's columns a visitor gets: open today (Art. 30) and, for conditional data,
    granted by the approved application (Art. 33 ¶2)."""
    open_now = {i["name"] for i in dataset.items}
    allowed = open_now if granted is None else open_now & set(granted)
    return [
        {"name": c["name"], "column": c["column"], "data_type": c["data_type"]}
        for c in release.columns
        if c["name"] in allowed
    ]


def refusal_actor(actor: Actor | None, address: str | None) -> Actor:
    return actor if actor is not None else Actor(person_id=None, name=ANONYMOUS, address=address)


def start(
    session: Session,
    actor: Actor | None,
    code: str,
    fmt: Format,
    *,
    address: str | None = None,
) -> Download:
    """Check, record and count a download (the caller commits before streaming). Unknown or
    withdrawn datasets are 404 (nothing said about them); any other refusal is recorded."""
    if fmt not in FORMATS:
        raise errors.DatasetNotFound()
    dataset = datasets.get_dataset(session, code)
    try:
        release = current_release(session, dataset)
        granted = entitlement.may_obtain(session, actor, dataset)
    except DomainError as exc:
        access.record_open_access(
            session,
            refusal_actor(actor, address),
            dataset,
            ACTION,
            rows=0,
            outcome="refused",
            reason=exc.code,
        )
        exc.keep_changes = True
        raise
    columns = columns_for(dataset, release, granted.items)
    # Art. 40: recorded first, with every row of the (immutable) release and the fields sent.
    access.record_open_access(
        session,
        granted.actor,
        dataset,
        ACTION,
        rows=release.row_count,
        fields=[c["name"] for c in columns],
        purpose=f"application:{granted.application_id}" if granted.application_id else "",
    )
    datasets.count_download(session, dataset.id)
    published = release.published_at or release.built_at
    return Download(
        fmt=fmt,
        dataset_code=dataset.code,
        dataset_name=dataset.name,
        version=release.version,
        published_on=published.astimezone(CITY_TZ).date(),
        table_name=cast(str, release.table_name),
        columns=tuple(columns),
        rows=release.row_count,
    )


# --- producing the bytes ---------------------------------------------------------------------


def chunks(session: Session, download: Download, *, batch: int = BATCH_ROWS) -> Iterator[bytes]:
    """The file's bytes, chunk by chunk, read on ``session`` (a read session of its own)."""
    if download.fmt == "csv":
        if session.connection().dialect.name == "postgresql":
            return _copy_csv(session, download)
        return _csv(session, download, batch)
    if download.fmt == "xlsx":
        return _xlsx(session, download, batch)
    return _json(session, download, batch)


def _plain(value: Any) -> Any:
    """A value as a file shows it: decimals without trailing zeros, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _header_line(download: Download) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(csv_row(download.header))
    return BOM + buf.getvalue().encode("utf-8")


def _csv(session: Session, download: Download, batch: int) -> Iterator[bytes]:
    yield _header_line(download)
    for part in store.iter_batches(session, download.release(), batch=batch):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerows(csv_row(_plain(v) for v in row) for row in part)
        yield buf.getvalue().encode("utf-8")


def _copy_csv(session: Session, download: Download) -> Iterator[bytes]:
    """PostgreSQL writes the CSV: ``COPY (SELECT …) TO STDOUT``, text neutralized in SQL."""
    table = store.table_of(download.release())
    if not store.is_release_table(download.table_name):
        raise ValueError(download.table_name)
    cols = []
    for c in download.columns:
        col = table.c[c["column"]]
        name = col.name
        if not _COLUMN.fullmatch(name):  # c0…cN (store.released_column): safe to splice
            raise ValueError(name)
        if isinstance(col.type, Boolean):
            expr = f"CASE WHEN {name} THEN 'true' WHEN NOT {name} THEN 'false' END"
        elif isinstance(col.type, String):
            first = f"left({name}, 1)"
            expr = f"CASE WHEN {first} IN ({_PG_STARTS}) THEN '''' || {name} ELSE {name} END"
        elif c["data_type"] in ("N", "Y"):
            expr = f"trim_scale({name})"
        else:
            expr = name
        cols.append(expr)
    # Every name spliced was checked above; the pattern is a constant of ours.
    sql = (
        f'COPY (SELECT {", ".join(cols) or "NULL"} FROM "{download.table_name}" '  # noqa: S608
        f"ORDER BY {store.ROW_COLUMN}) TO STDOUT WITH (FORMAT csv)"
    )
    yield _header_line(download)
    raw = cast("psycopg.Connection[Any]", session.connection().connection.dbapi_connection)
    parts: list[bytes] = []
    size = 0
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for data in copy:  # one message per row: passed on in bigger chunks
            parts.append(bytes(data))
            size += len(data)
            if size >= CHUNK_BYTES:
                yield b"".join(parts)
                parts.clear()
                size = 0
    if parts:
        yield b"".join(parts)


def _xlsx(session: Session, download: Download, batch: int) -> Iterator[bytes]:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    wb = Workbook(write_only=True)
    sheet, in_sheet, number = None, XLSX_SHEET_ROWS, 0
    for part in store.iter_batches(session, download.release(), batch=batch):
        for row in part:
            if in_sheet >= XLSX_SHEET_ROWS:
                number += 1
                sheet = wb.create_sheet(title="数据" if number == 1 else f"数据{number}")
                sheet.append(xlsx_row(sheet, download.header))
                in_sheet = 0
            assert sheet is not None
            sheet.append(xlsx_row(sheet, [_xlsx_value(v) for v in row]))
            in_sheet += 1
    if sheet is None:  # an empty release: the header alone
        sheet = wb.create_sheet(title="数据")
        sheet.append(xlsx_row(sheet, download.header))
    with tempfile.TemporaryFile() as fh:
        wb.save(fh)
        fh.seek(0)
        while data := fh.read(CHUNK_BYTES):
            yield data


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(CITY_TZ).replace(tzinfo=None)
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _json(session: Session, download: Download, batch: int) -> Iterator[bytes]:
    """A JSON array of objects keyed by item name, written as it is read."""
    names = download.header
    first = True
    yield b"["
    for part in store.iter_batches(session, download.release(), batch=batch):
        out = []
        for row in part:
            obj = {n: _json_value(v) for n, v in zip(names, row, strict=True)}
            out.append(("\n" if first else ",\n") + json.dumps(obj, ensure_ascii=False))
            first = False
        yield "".join(out).encode("utf-8")
    yield b"\n]\n"
