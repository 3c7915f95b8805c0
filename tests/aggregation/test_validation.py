"""The validator's typed values and codes for the forms it reads (Art. 15, 16, 17 ¶1)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import polars as pl
import pytest

from govdata.aggregation import formats, validation
from govdata.aggregation.validation import ROW, ColumnRule, Rules
from govdata.core.ids import make_uscc


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


def check_key(kind: str, values: list[str]) -> validation.BatchResult:
    rule = ColumnRule(name="号码", column="c1", data_type="C", length=18, required=True, check=kind)
    frame = pl.DataFrame(
        {ROW: list(range(2, 2 + len(values))), "号码": values},
        schema={ROW: pl.Int64, "号码": pl.String},
    )
    return validation.check_batch(Rules((rule,), "c1"), frame)


def test_keys_are_cleaned_before_their_exact_check() -> None:
    # Art. 16: the validators take the stored form only; cleaning trims, turns full-width
    # half-width and uppercases the letters first, so these load as they always did.
    ids = check_key(
        "id_number",
        [" 11010519491231002x\u3000", "１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"],
    )
    assert typed(ids) == ["11010519491231002X"] * 3
    usccs = check_key("uscc", ["\t91350100m000100y43 ", "９１３５０１００Ｍ０００１００Ｙ４３"])
    assert typed(usccs) == ["91350100M000100Y43"] * 2


def test_unicode_case_mapping_cannot_forge_a_uscc() -> None:
    # "ﬀ".upper() is "FF": the cleaning used to turn this 17-character text into a valid code.
    code = make_uscc("91500000FF0000001")
    forged = code.replace("FF", "\ufb00")
    kelvin = make_uscc("91500000K00000001").replace("K", "\u212a")  # the Kelvin sign
    result = check_key("uscc", [code, forged, kelvin])
    assert typed(result) == [code]
    assert codes(result) == {3: "aggregation.invalid_uscc", 4: "aggregation.invalid_uscc"}
    assert result.problems["value"].to_list() == [forged, kelvin]


def json_batch(data_type: str, values: list[object]) -> validation.BatchResult:
    rule = ColumnRule(name="项", column="c1", data_type=data_type)
    records: list[dict[str, object]] = [{"项": v, ROW: n} for n, v in enumerate(values, start=2)]
    frame = formats._records_frame(["项"], records)
    return validation.check_batch(Rules((rule,), None), frame)


def test_json_values_that_are_not_strings_are_refused_for_text_items() -> None:
    # A JSON Lines number or array for a text item was stored as its text ("5", '["乙"]').
    result = json_batch("C", ["甲", 5, ["乙"], True, {"a": 1}, None])
    assert typed(result) == ["甲", None]
    assert codes(result) == dict.fromkeys((3, 4, 5, 6), "aggregation.not_text")
    assert (
        result.problems["message"][0]
        == "“项”应为文本（JSON 字符串），不能是数值、逻辑值、数组或对象"
    )
    assert result.problems["value"].to_list() == ["5", '["乙"]', "true", '{"a": 1}']
    # The bad rows are quarantined as read, without the reader's side column.
    assert result.bad_raw.columns == [ROW, "项"]
    # Numbers stay welcome for numeric items, and any JSON value for a G (通用型) item.
    assert codes(json_batch("I", [5, "6"])) == {}
    assert codes(json_batch("M", [5])) == {2: "aggregation.not_text"}
    assert codes(json_batch("G", [{"type": "Point", "coordinates": [106.5, 29.5]}, 5])) == {}
