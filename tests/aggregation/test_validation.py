"""The validator's typed values and codes for the forms it reads (Art. 15, 16, 17 ¶1)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import polars as pl
import pytest

from govdata.aggregation import validation
from govdata.aggregation.validation import ROW, ColumnRule, Rules


def check(data_type: str, values: list[str | None]) -> validation.BatchResult:
    rule = ColumnRule(name="项", column="c1", data_type=data_type)
    frame = pl.DataFrame(
        {ROW: list(range(2, 2 + len(values))), "项": values},
        schema={ROW: pl.Int64, "项": pl.String},
    )
    return validation.check_batch(Rules((rule,), None), frame)


def typed(result: validation.BatchResult) -> list[object]:
    return list(result.good["c1"].to_list())


def codes(result: validation.BatchResult) -> dict[int, str]:
    return dict(zip(result.problems[ROW].to_list(), result.problems["code"].to_list(), strict=True))


def test_money_rounds_half_away_from_zero_as_the_database_does() -> None:
    # Polars' own decimal cast would give 12.34 and -12.34 (half to even).
    result = check("Y", ["12.345", "-12.345", "12.355", "1,234.5", "７．５"])
    assert typed(result) == [
        Decimal("12.35"),
        Decimal("-12.35"),
        Decimal("12.36"),
        Decimal("1234.50"),
        Decimal("7.50"),
    ]


def test_numbers_in_exponent_form_and_out_of_range() -> None:
    result = check("N", ["1e3", "-2.5E2", "1e30", "abc", "inf"])
    assert typed(result) == [Decimal("1000"), Decimal("-250")]
    assert codes(result) == {
        4: "aggregation.number_out_of_range",
        5: "aggregation.bad_number",
        6: "aggregation.bad_number",
    }
    money = check("Y", ["99999999999999999.99", "9" * 70])
    assert money.good.height == 0
    assert set(codes(money).values()) == {"aggregation.number_out_of_range"}


def test_floats_are_checked_once_and_typed() -> None:
    result = check("F", ["1,5", "2.5", "nan", "x"])
    assert typed(result) == [15.0, 2.5]
    assert codes(result) == {4: "aggregation.bad_number", 5: "aggregation.bad_number"}


def test_dates_in_every_form_and_a_time_of_day_refused() -> None:
    result = check(
        "D",
        ["2024-05-01", "2024/5/1", "20240501", "2024年5月1日", "2024-05-01 00:00:00",
         "2024-05-01 08:30:00", "2019-02-30"],
    )  # fmt: skip
    assert typed(result) == [date(2024, 5, 1)] * 5
    assert codes(result) == {7: "aggregation.bad_date", 8: "aggregation.bad_date"}


def test_datetimes_and_booleans_in_their_other_forms() -> None:
    stamps = check("T", ["2024-05-01 08:30:00", "2024/05/01 08:30", "2024年05月01日", "明天"])
    assert typed(stamps) == [
        datetime(2024, 5, 1, 8, 30),
        datetime(2024, 5, 1, 8, 30),
        datetime(2024, 5, 1),
    ]
    assert codes(stamps) == {5: "aggregation.bad_datetime"}
    flags = check("L", ["是", "TRUE", "No", "0", "也许"])
    assert typed(flags) == [True, True, False, False]
    assert codes(flags) == {6: "aggregation.bad_boolean"}


@pytest.mark.parametrize("blank", ["", "  ", "\u3000", "\u2003\t"])
def test_blank_cells_are_missing(blank: str) -> None:
    result = check("C", [blank])
    assert typed(result) == [None]
