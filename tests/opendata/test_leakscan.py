"""The leak scan before publishing (Art. 31 ¶2, Art. 9): each detector with values that must and
must not trigger it, the raw values of masked items, and k-anonymity."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from govdata.core.ids import make_id_number, make_uscc
from govdata.opendata import leakscan

VALID_ID = make_id_number("500103", date(1990, 1, 1), 18)
BAD_CHECK_ID = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
VALID_USCC = make_uscc("91500000MA5U00000")
CARD = "4111111111111111"  # passes Luhn
NOT_CARD = "4111111111111112"


def kinds(values: list[str | None], **kw: object) -> dict[str, int]:
    report = leakscan.scan(pl.DataFrame({"v": values}, schema={"v": pl.String}), **kw)  # type: ignore[arg-type]
    return {f["kind"]: f["count"] for f in report["findings"]}


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (VALID_ID, "id_number"),
        (f"住址附{VALID_ID}号", "id_number"),  # inside longer text too
        (VALID_USCC, "uscc"),
        ("联系电话13812345678。", "mobile"),
        (CARD, "bank_card"),
        ("请联系 zhang.san@example.com", "email"),
    ],
)
def test_each_detector_triggers(value: str, kind: str) -> None:
    found = kinds([value, "无关内容"])
    assert found.get(kind) == 1, found


@pytest.mark.parametrize(
    "value",
    [
        BAD_CHECK_ID,  # the check character is wrong: not an ID number (GB 11643)
        "500***********0018",  # masked
        VALID_USCC[:-1] + ("1" if VALID_USCC[-1] != "1" else "2"),
        "12812345678",  # not a mobile prefix
        "138123456789",  # 12 digits: not a mobile number
        NOT_CARD,
        "a" * 20 + "13812345678" + "b" * 33,  # digits inside a hex pseudonym
        "zhang.san@",
        "重庆市渝中区",
        None,
    ],
)
def test_values_that_must_not_trigger(value: str | None) -> None:
    assert kinds([value]) == {}


def test_the_report_shows_masked_examples_never_the_raw_value() -> None:
    report = leakscan.scan(pl.DataFrame({"证件": [VALID_ID, VALID_ID]}))
    assert not report["passed"]
    (finding,) = report["findings"]
    assert finding["column"] == "证件" and finding["count"] == 2
    assert finding["label"] == "公民身份号码"
    assert VALID_ID not in str(report)
    assert finding["examples"] == [VALID_ID[:2] + "*" * 14 + VALID_ID[-2:]]


def test_raw_values_of_masked_items_must_not_appear_anywhere() -> None:
    released = pl.DataFrame({"姓名": ["张*", "李*"], "备注": ["张三丰", "无"]})
    raw = {"姓名": pl.Series(["张三丰", "李四"])}
    report = leakscan.scan(released, raw=raw)
    assert [(f["kind"], f["column"], f["count"]) for f in report["findings"]] == [
        ("raw_value", "备注", 1)
    ]
    # A one-character raw value tells nothing and is not flagged (a product decision).
    assert leakscan.scan(pl.DataFrame({"a": ["无"]}), raw={"x": pl.Series(["无"])})["passed"]


def test_k_anonymity_on_declared_quasi_identifiers() -> None:
    frame = pl.DataFrame(
        {"年份": ["1990"] * 5 + ["1991"] * 2, "区县": ["渝中区"] * 5 + ["万州区"] * 2}
    )
    report = leakscan.scan(frame, quasi_identifiers=["年份", "区县"], k=5)
    assert not report["passed"]
    assert report["k_anonymity"]["small_classes"] == 1
    assert report["k_anonymity"]["rows_in_small_classes"] == 2
    assert report["k_anonymity"]["smallest"] == 2
    assert leakscan.scan(frame, quasi_identifiers=["年份", "区县"], k=2)["passed"]
    # Nothing declared: no k-anonymity check (only declared quasi-identifiers are).
    assert leakscan.scan(frame)["k_anonymity"] is None


def test_k_anonymity_counts_across_batches_and_aggregate_weights() -> None:
    scanner = leakscan.Scanner(["区县"], k=5)
    scanner.feed(pl.DataFrame({"区县": ["渝中区"] * 3}))
    scanner.feed(pl.DataFrame({"区县": ["渝中区"] * 2}))
    assert scanner.report()["passed"]
    counts = pl.DataFrame({"区县": ["渝中区", "万州区"], "数量": [40, 3]})
    report = leakscan.scan(counts, quasi_identifiers=["区县"], weights="数量")
    assert report["k_anonymity"]["rows_in_small_classes"] == 3


def test_luhn_expression() -> None:
    out = pl.DataFrame({"v": [CARD, NOT_CARD, "79927398713"]}).select(
        leakscan.luhn_valid_expr(pl.col("v"))
    )["v"]
    assert out.to_list() == [True, False, True]
