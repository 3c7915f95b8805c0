"""Desensitization rules as Polars expressions (Art. 31 ¶2; Art. 9: personal information and
trade secrets are protected when data is opened).

A release is derived from its pool column by column: each info item open in the catalog gets
one ``Plan`` (its method and params), turned into one Polars expression over the pool's value
read as text. Items that are not open in the catalog (not in ``OpenDataset.items``) get no plan
at all, whatever the rules say: they never reach a release.

Defaults when the provider set no rule for an item (a product decision, not the regulation's
words): the subject key, ID numbers, USCCs and phone-like items are masked (first 3 and last 4
characters kept: ``500***********123X``); names are masked keeping their first character;
everything else is kept as it is.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from govdata.core.errors import InvalidInput
from govdata.opendata.models import RuleMethod

# Item names that hold identifiers or contact numbers (masked by default).
_IDENTIFIER_WORDS = ("身份证", "公民身份号码", "统一社会信用代码", "信用代码", "证件号")
_PHONE_WORDS = ("电话", "手机", "联系方式", "传真")
_NAME_WORDS = ("姓名", "法定代表人", "经营者", "联系人", "负责人")

GENERALIZE_TO = ("year", "month", "age_band", "district")
AGGREGATE_ROLES = ("group",)
COUNT_COLUMN = "数量"  # the count column of an aggregated release
_MAX_MASK = 512  # the longest run of mask characters written (longer values get this many)


@dataclass(frozen=True)
class Plan:
    """How one open item is released."""

    item: str
    column: str  # the pool's physical column (c1…)
    data_type: str  # the catalog data type of the pool column
    method: RuleMethod
    params: dict[str, Any] = field(default_factory=dict)
    quasi_identifier: bool = False
    default: bool = False  # no rule was set: the product's default applied

    @property
    def released_type(self) -> str:
        """A changed value is text (``C``); a kept one keeps its catalog type."""
        return self.data_type if self.method == RuleMethod.KEEP else "C"


def default_rule(name: str, *, is_subject_key: bool) -> tuple[RuleMethod, dict[str, Any]]:
    """The rule an item gets when the provider set none (a product decision, see the module)."""
    if is_subject_key or any(w in name for w in _IDENTIFIER_WORDS + _PHONE_WORDS):
        return RuleMethod.MASK, {"keep_first": 3, "keep_last": 4}
    if any(w in name for w in _NAME_WORDS):
        return RuleMethod.MASK, {"keep_first": 1, "keep_last": 0}
    return RuleMethod.KEEP, {}


def _int(params: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(
            "opendata.rule_params", f"规则参数 {key} 须为 {low} 至 {high} 之间的整数。"
        )
    return value


def check_params(method: RuleMethod, params: Mapping[str, Any]) -> dict[str, Any]:
    """The params a method takes, checked; ``k`` (the k-anonymity threshold the scan applies,
    any method) kept when given."""
    out = _method_params(method, params)
    if "k" in params:
        out["k"] = _int(params, "k", 5, 2, 1000)
    return out


def _method_params(method: RuleMethod, params: Mapping[str, Any]) -> dict[str, Any]:
    if method == RuleMethod.MASK:
        char = params.get("char", "*")
        if not isinstance(char, str) or len(char) != 1:
            raise InvalidInput("opendata.rule_params", "掩码字符须为单个字符。")
        return {
            "keep_first": _int(params, "keep_first", 3, 0, 32),
            "keep_last": _int(params, "keep_last", 4, 0, 32),
            "char": char,
        }
    if method == RuleMethod.GENERALIZE:
        to = params.get("to")
        if to not in GENERALIZE_TO:
            raise InvalidInput(
                "opendata.rule_params", "泛化方式须为 year、month、age_band 或 district 之一。"
            )
        out: dict[str, Any] = {"to": to}
        if to == "age_band":
            out["band"] = _int(params, "band", 10, 2, 50)
        return out
    if method == RuleMethod.AGGREGATE:
        return {"role": "group"}
    return {}


def plans(
    open_items: Sequence[Mapping[str, Any]],
    pool_columns: Sequence[Mapping[str, Any]],
    rules: Mapping[str, Mapping[str, Any]],
) -> list[Plan]:
    """One plan per item open in the catalog (``open_items``, catalog order) that the pool
    holds; ``rules`` by item name (``{"method", "params", "quasi_identifier"}``). An item not
    open has no plan whatever its rule (Art. 31 ¶2); a dropped item's plan says DROP."""
    by_name = {c["name"]: c for c in pool_columns}
    out: list[Plan] = []
    for it in open_items:
        col = by_name.get(it["name"])
        if col is None:
            continue
        rule = rules.get(it["name"])
        if rule is None:
            method, params = default_rule(
                it["name"], is_subject_key=bool(col.get("is_subject_key"))
            )
            out.append(
                Plan(it["name"], col["column"], col["data_type"], method, params, False, True)
            )
            continue
        method = RuleMethod(rule["method"])
        out.append(
            Plan(
                it["name"],
                col["column"],
                col["data_type"],
                method,
                check_params(method, rule.get("params") or {}),
                bool(rule.get("quasi_identifier")),
            )
        )
    return out


# --- the expressions --------------------------------------------------------------------------


def mask_expr(value: pl.Expr, keep_first: int, keep_last: int, char: str = "*") -> pl.Expr:
    """Keep the first/last n characters, the rest one ``char`` each. A value no longer than what
    would be kept is masked whole (keeping it would release it as it is)."""
    n = value.str.len_chars()
    middle = (n - keep_first - keep_last).clip(lower_bound=0)
    stars = pl.lit(char * _MAX_MASK)
    masked = pl.concat_str(
        value.str.slice(0, keep_first),
        stars.str.slice(0, middle),
        value.str.slice(-keep_last, keep_last) if keep_last else pl.lit(""),
    )
    whole = stars.str.slice(0, n)
    return (
        pl.when(value.is_null())
        .then(pl.lit(None, pl.String))
        .when(n > keep_first + keep_last)
        .then(masked)
        .otherwise(whole)
    )


def generalize_expr(value: pl.Expr, to: str, band: int = 10) -> pl.Expr:
    """Date → year or month, age → band (``20-29``), address → district (up to its 区/县)."""
    if to == "year":
        return value.str.slice(0, 4)
    if to == "month":
        return value.str.slice(0, 7)
    if to == "age_band":
        age = value.cast(pl.Float64, strict=False).floor().cast(pl.Int64)
        low = (age // band) * band
        return pl.concat_str(low.cast(pl.String), pl.lit("-"), (low + band - 1).cast(pl.String))
    # district: the address up to its first 区 or 县 (重庆市渝中区…), else nothing released.
    return value.str.extract(r"^(.+?[区县])", 1)


def pseudonym_key(dataset_code: str, secret: str | None = None) -> bytes:
    """The HMAC-SM3 key for a dataset's pseudonyms: derived from the platform's subject key
    (``Settings.subject_digest_key``) and the dataset, so the same person gets unrelated
    pseudonyms in two datasets and none equals the access records' subject digests (a product
    decision). Never a bare hash: ID numbers are enumerable."""
    if secret is None:
        from govdata.core.settings import get_settings

        secret = get_settings().subject_digest_key
    return hmac.new(secret.encode("utf-8"), f"opendata|{dataset_code}".encode(), "sm3").digest()


def pseudonymize_expr(value: pl.Expr, key: bytes) -> pl.Expr:
    """Keyed SM3 of the trimmed, upper-cased value (64 hex digits); null stays null."""
    proto = hmac.new(key, digestmod="sm3") if "sm3" in hashlib.algorithms_available else None

    def digest(batch: pl.Series) -> pl.Series:
        out: list[str | None] = []
        for v in batch.to_list():
            if v is None:
                out.append(None)
                continue
            data = v.strip().upper().encode("utf-8")
            if proto is not None:
                h = proto.copy()
                h.update(data)
                out.append(h.hexdigest())
            else:  # pragma: no cover - an OpenSSL without SM3
                from govdata.core.crypto import hmac_sm3

                out.append(hmac_sm3(key, data))
        return pl.Series(batch.name, out, dtype=pl.String)

    return value.map_batches(digest, return_dtype=pl.String)


def expression(plan: Plan, key: bytes) -> pl.Expr:
    """The released column for ``plan`` from the pool's column read as text."""
    value = pl.col(plan.column).cast(pl.String)
    p = plan.params
    if plan.method == RuleMethod.MASK:
        out = mask_expr(value, p.get("keep_first", 3), p.get("keep_last", 4), p.get("char", "*"))
    elif plan.method == RuleMethod.GENERALIZE:
        out = generalize_expr(value, p["to"], p.get("band", 10))
    elif plan.method == RuleMethod.PSEUDONYMIZE:
        out = pseudonymize_expr(value, key)
    else:  # KEEP and AGGREGATE's group items are released as they are
        out = value
    return out.alias(plan.item)


def released(plans_: Sequence[Plan]) -> list[Plan]:
    return [p for p in plans_ if p.method != RuleMethod.DROP]


def is_aggregate(plans_: Sequence[Plan]) -> bool:
    return any(p.method == RuleMethod.AGGREGATE for p in plans_)


def apply(frame: pl.DataFrame, plans_: Sequence[Plan], key: bytes) -> pl.DataFrame:
    """The released frame (columns named by item) of a batch of pool rows (``c1…`` columns).

    An aggregated release is the count of rows per combination of its group items; batches'
    counts are summed by ``merge_counts``."""
    if is_aggregate(plans_):
        groups = [p for p in plans_ if p.method == RuleMethod.AGGREGATE]
        return (
            frame.select([expression(p, key) for p in groups])
            .group_by([p.item for p in groups])
            .agg(pl.len().cast(pl.Int64).alias(COUNT_COLUMN))
        )
    return frame.select([expression(p, key) for p in released(plans_)])


def merge_counts(parts: Sequence[pl.DataFrame], groups: Sequence[str]) -> pl.DataFrame:
    frame = pl.concat(parts, how="vertical")
    return frame.group_by(list(groups)).agg(pl.col(COUNT_COLUMN).sum()).sort(list(groups))
