"""The formula neutralizer every xlsx and CSV writer uses (Art. 39; CSV/formula injection)."""

from __future__ import annotations

import csv
import io

import polars as pl
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from govdata.core.spreadsheet_safety import (
    FORMULA_START,
    csv_row,
    neutralize,
    neutralize_frame,
    xlsx_row,
)

ATTACKS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-1+1",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(1)",
]


def test_formula_like_text_is_prefixed_and_numbers_stay_numbers() -> None:
    for attack in ATTACKS:
        assert neutralize(attack) == "'" + attack
    assert csv_row([-1, -2.5, None, "普通文本", "a=b", "'=x"]) == [
        -1,
        -2.5,
        None,
        "普通文本",
        "a=b",
        "'=x",
    ]


def test_csv_written_through_the_helper_has_no_live_formula() -> None:
    out = io.StringIO()
    csv.writer(out).writerows([csv_row([a, -1]) for a in ATTACKS])
    for field, number in csv.reader(io.StringIO(out.getvalue())):
        assert not field.startswith(FORMULA_START) and field.startswith("'")
        assert number == "-1"


def test_xlsx_text_is_never_a_formula_and_keeps_its_value() -> None:
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet("s")
    for attack in ATTACKS:
        ws.append(xlsx_row(ws, [attack, -1, "bad\x01char", "普通"]))
    buffer = io.BytesIO()
    workbook.save(buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    for row, attack in zip(sheet.iter_rows(), ATTACKS, strict=True):
        text, number, cleaned, plain = row
        assert text.data_type == "s" and text.quotePrefix
        assert text.value == attack.replace("\r", "\n") or text.value == attack
        assert number.value == -1 and number.data_type == "n"
        assert cleaned.value == "badchar" and plain.value == "普通" and not plain.quotePrefix


def test_a_polars_frame_is_neutralized_column_by_column() -> None:
    frame = pl.DataFrame({"text": [*ATTACKS, "ok", None], "n": [*range(-len(ATTACKS), 0), 1, 2]})
    out = neutralize_frame(frame)
    assert out["text"].to_list() == [*("'" + a for a in ATTACKS), "ok", None]
    assert out["n"].to_list() == frame["n"].to_list() and out.schema == frame.schema
    assert neutralize_frame(pl.DataFrame({"n": [-1]}))["n"].to_list() == [-1]
