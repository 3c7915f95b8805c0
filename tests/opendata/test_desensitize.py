"""Desensitization rules as Polars expressions (Art. 31 ¶2, Art. 9)."""

from __future__ import annotations

import polars as pl
import pytest

from govdata.core.crypto import subject_digest
from govdata.core.errors import InvalidInput
from govdata.opendata import desensitize
from govdata.opendata.desensitize import Plan
from govdata.opendata.models import RuleMethod

KEY = desensitize.pseudonym_key("RES-1", "test-secret")


def col(values: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({"v": values}, schema={"v": pl.String})


def test_mask_keeps_first_and_last_and_masks_short_values_whole() -> None:
    # Art. 9: an ID number is released as 500***********123X, never whole.
    out = col(["50010319900101123X", "ab", None]).select(
        desensitize.mask_expr(pl.col("v"), 3, 4).alias("v")
    )["v"]
    assert out.to_list() == ["500***********123X", "**", None]


def test_mask_of_a_name_keeps_its_first_character() -> None:
    out = col(["张三", "欧阳娜娜"]).select(desensitize.mask_expr(pl.col("v"), 1, 0).alias("v"))["v"]
    assert out.to_list() == ["张*", "欧***"]


@pytest.mark.parametrize(
    ("to", "value", "expected"),
    [
        ("year", "1990-05-17", "1990"),
        ("month", "1990-05-17", "1990-05"),
        ("age_band", "37", "30-39"),
        ("district", "重庆市渝中区解放碑街道1号", "重庆市渝中区"),
        ("district", "重庆市城口县葛城街道", "重庆市城口县"),
        ("district", "解放碑步行街一号", None),
    ],
)
def test_generalize(to: str, value: str, expected: str | None) -> None:
    out = col([value]).select(desensitize.generalize_expr(pl.col("v"), to))["v"]
    assert out.to_list() == [expected]


def test_pseudonym_is_keyed_per_dataset_and_never_a_bare_or_platform_digest() -> None:
    # Art. 9: ID numbers are enumerable, so the pseudonym is keyed (HMAC-SM3), and a product
    # decision: it differs between datasets and from the access records' subject digest.
    v = "500103199001010018"
    one = col([v, None]).select(desensitize.pseudonymize_expr(pl.col("v"), KEY))["v"].to_list()
    other_key = desensitize.pseudonym_key("RES-2", "test-secret")
    two = col([v]).select(desensitize.pseudonymize_expr(pl.col("v"), other_key))["v"].to_list()
    assert one[1] is None and len(one[0]) == 64
    assert one[0] != two[0]
    assert one[0] != subject_digest(v, "test-secret")
    import hashlib

    assert one[0] != hashlib.new("sm3", v.encode()).hexdigest()
    # Stable: the same value gets the same pseudonym (records can still be linked within it).
    again = col([" " + v.lower() + " "]).select(desensitize.pseudonymize_expr(pl.col("v"), KEY))
    assert again["v"].to_list() == [one[0]]


def test_defaults_are_a_product_decision_masking_identifiers_and_names() -> None:
    items = [
        {"name": n, "data_type": "C"} for n in ("公民身份号码", "姓名", "联系电话", "经营状态")
    ]
    columns = [
        {"name": "公民身份号码", "column": "c1", "data_type": "C", "is_subject_key": True},
        {"name": "姓名", "column": "c2", "data_type": "C"},
        {"name": "联系电话", "column": "c3", "data_type": "C"},
        {"name": "经营状态", "column": "c4", "data_type": "C"},
    ]
    got = {p.item: (p.method, p.params, p.default) for p in desensitize.plans(items, columns, {})}
    assert got["公民身份号码"] == (RuleMethod.MASK, {"keep_first": 3, "keep_last": 4}, True)
    assert got["姓名"] == (RuleMethod.MASK, {"keep_first": 1, "keep_last": 0}, True)
    assert got["联系电话"][0] == RuleMethod.MASK
    assert got["经营状态"][0] == RuleMethod.KEEP


def test_an_item_not_open_gets_no_plan_whatever_its_rule() -> None:
    # Art. 30, 31 ¶2: only items open in the catalog may be released.
    columns = [
        {"name": "姓名", "column": "c1", "data_type": "C"},
        {"name": "出生日期", "column": "c2", "data_type": "D"},
    ]
    rules = {"出生日期": {"method": "keep", "params": {}}}
    got = desensitize.plans([{"name": "姓名", "data_type": "C"}], columns, rules)
    assert [p.item for p in got] == ["姓名"]


def test_apply_releases_named_columns_and_drops() -> None:
    frame = pl.DataFrame({"c1": ["500103199001010018"], "c2": ["张三"], "c3": ["1990-01-01"]})
    plans = [
        Plan("公民身份号码", "c1", "C", RuleMethod.PSEUDONYMIZE),
        Plan("姓名", "c2", "C", RuleMethod.DROP),
        Plan("出生日期", "c3", "D", RuleMethod.GENERALIZE, {"to": "year"}),
    ]
    out = desensitize.apply(frame, plans, KEY)
    assert out.columns == ["公民身份号码", "出生日期"]
    assert out["出生日期"].to_list() == ["1990"]
    assert "张三" not in out.rows()[0]


def test_aggregate_counts_by_group_items() -> None:
    frame = pl.DataFrame({"c1": ["a", "b", "c"], "c2": ["存续", "注销", "存续"]})
    plans = [
        Plan("姓名", "c1", "C", RuleMethod.KEEP),
        Plan("经营状态", "c2", "C", RuleMethod.AGGREGATE, {"role": "group"}),
    ]
    out = desensitize.merge_counts([desensitize.apply(frame, plans, KEY)], ["经营状态"])
    assert out.rows() == [("存续", 2), ("注销", 1)]


@pytest.mark.parametrize(
    ("method", "params"),
    [
        (RuleMethod.MASK, {"keep_first": -1}),
        (RuleMethod.MASK, {"keep_first": "3"}),
        (RuleMethod.MASK, {"char": "**"}),
        (RuleMethod.GENERALIZE, {"to": "century"}),
        (RuleMethod.GENERALIZE, {"to": "age_band", "band": 1}),
        (RuleMethod.KEEP, {"k": 1}),
    ],
)
def test_bad_params_are_refused_with_a_stable_code(method: RuleMethod, params: dict) -> None:
    with pytest.raises(InvalidInput) as exc:
        desensitize.check_params(method, params)
    assert exc.value.code == "opendata.rule_params"
