"""Validation and cleaning of loaded rows against the info items (Art. 15, 16, 17 ¶1).

Vectorized with Polars: one pass of native expressions per batch, no Python per row.

Cleaning, before any check: full-width letters and digits (and the ideographic space) become
half-width; leading and trailing blanks go; an empty cell is a missing value; dates and times in
the common Chinese spreadsheet forms become ISO; ``x`` in an ID number becomes ``X``. (Chinese
full-width punctuation inside text is left alone: "，" is correct Chinese.) Duplicate subject
keys are cleaned after the whole file is in (``loading.py``): the later row wins.

Checks, in this order, the first failing one named per cell: required, type, length, allowed
values (the aggregation specification, Art. 15), ID number and USCC check characters (Art. 16).

The output of a batch is the good rows as the strings the database parses (ISO dates,
``true``/``false``), and the problems as (row, item, code, message, value) rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from govdata.catalog.vocab import ID_NUMBER_ITEM_NAMES, USCC_ITEM_NAMES
from govdata.core.ids import STRIP_CHARS, id_number_valid_expr, uscc_valid_expr

ROW = "_row"

# Full-width ASCII letters and digits, and U+3000, to their half-width forms.
_FULL = [chr(c) for c in range(0xFF10, 0xFF1A)] + [
    chr(c) for c in (*range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
]
_HALF = [chr(ord(c) - 0xFEE0) for c in _FULL]
_FULL += ["\u3000"]
_HALF += [" "]
# For numbers, dates and times also the full-width signs they use.
_FULL_SIGNS = ["．", "－", "＋", "：", "／", "，"]
_HALF_SIGNS = [".", "-", "+", ":", "/", ","]

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y%m%d%H%M%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日%H时%M分%S秒",
)
TRUE_WORDS = ["1", "true", "t", "y", "yes", "是", "真"]
FALSE_WORDS = ["0", "false", "f", "n", "no", "否", "假"]

# Limits of the SQL types (tables.sql_type): NUMERIC(38,10) and NUMERIC(18,2).
_NUMERIC_LIMIT = {"N": 1e28, "Y": 1e16}

MESSAGES: dict[str, str] = {
    "aggregation.required_missing": "为必填信息项，不能为空",
    "aggregation.bad_integer": "应为整数",
    "aggregation.bad_number": "应为数值",
    "aggregation.number_out_of_range": "数值超出允许范围",
    "aggregation.bad_date": "应为日期（如 2024-05-01、2024/5/1、2024年5月1日）",
    "aggregation.bad_datetime": "应为日期时间（如 2024-05-01 08:30:00）",
    "aggregation.bad_boolean": "应为逻辑值（是/否、true/false、1/0）",
    "aggregation.too_long": "超过信息项规定的长度",
    "aggregation.not_allowed_value": "不在汇聚规范允许的取值范围内",
    "aggregation.invalid_id_number": "不是有效的公民身份号码（GB 11643 校验位或出生日期错误）",
    "aggregation.invalid_uscc": "不是有效的统一社会信用代码（GB 32100 校验位错误）",
}


@dataclass(frozen=True)
class ColumnRule:
    """What a loaded value of one info item must satisfy."""

    name: str
    column: str  # the data table's column, c1…cN
    data_type: str
    length: int | None = None
    required: bool = False
    allowed: tuple[str, ...] = ()
    check: str | None = None  # "id_number" / "uscc"


@dataclass(frozen=True)
class Rules:
    columns: tuple[ColumnRule, ...]
    subject_column: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    def by_name(self) -> dict[str, ColumnRule]:
        return {c.name: c for c in self.columns}


def make_rules(
    columns: list[dict[str, Any]],
    subject_column: str | None,
    subject_kind: str,
    specs: dict[str, tuple[bool, list[str]]],
) -> Rules:
    """Rules from a pool's layout and its items' aggregation specifications.

    The subject key is always required (Art. 16). An item is checked as an ID number or a USCC
    when its name says so, or when it is the key of a person or legal-person resource.
    """
    rules = []
    for c in columns:
        required, allowed = specs.get(c["name"], (False, []))
        is_key = c["column"] == subject_column
        check = None
        if c["name"] in ID_NUMBER_ITEM_NAMES or (is_key and subject_kind == "person"):
            check = "id_number"
        elif c["name"] in USCC_ITEM_NAMES or (is_key and subject_kind == "legal_person"):
            check = "uscc"
        rules.append(
            ColumnRule(
                name=c["name"],
                column=c["column"],
                data_type=c["data_type"],
                length=c.get("length"),
                required=required or is_key,
                allowed=tuple(allowed),
                check=check,
            )
        )
    return Rules(tuple(rules), subject_column)


def _first_ok(candidates: list[pl.Expr]) -> pl.Expr:
    return pl.coalesce(candidates)


def _clean(rule: ColumnRule, raw: pl.Expr) -> pl.Expr:
    """The cleaned text of a cell (None for a missing value)."""
    value = raw.str.replace_many(_FULL, _HALF)
    if rule.data_type not in ("C", "M", "G"):
        value = value.str.replace_many(_FULL_SIGNS, _HALF_SIGNS)
    value = value.str.strip_chars(STRIP_CHARS + " ")
    if rule.check in ("id_number", "uscc"):
        value = value.str.to_uppercase()
    return pl.when(value.str.len_bytes() == 0).then(None).otherwise(value)


def _typed(rule: ColumnRule, value: pl.Expr) -> tuple[pl.Expr, pl.Expr | None]:
    """(the value as the database reads it, the type error code expression or None)."""
    t = rule.data_type
    if t == "I":
        parsed = value.str.replace_all(",", "", literal=True).cast(pl.Int64, strict=False)
        bad = value.is_not_null() & parsed.is_null()
        return parsed.cast(pl.String), pl.when(bad).then(pl.lit("aggregation.bad_integer"))
    if t in ("N", "Y", "B", "F"):
        text = value.str.replace_all(",", "", literal=True)
        parsed = text.cast(pl.Float64, strict=False)
        bad = value.is_not_null() & (parsed.is_null() | parsed.is_nan() | parsed.is_infinite())
        limit = _NUMERIC_LIMIT.get(t)
        code: pl.Expr = pl.when(bad).then(pl.lit("aggregation.bad_number"))
        if limit is not None:
            code = pl.coalesce(
                code,
                pl.when(parsed.abs() >= limit).then(pl.lit("aggregation.number_out_of_range")),
            )
        return text, code
    if t == "D":
        parsed = _first_ok([value.str.to_date(f, strict=False) for f in DATE_FORMATS])
        from_datetime = _first_ok(
            [value.str.to_datetime(f, strict=False) for f in DATETIME_FORMATS]
        )
        midnight = from_datetime.dt.time() == pl.time(0)
        parsed = pl.coalesce(parsed, pl.when(midnight).then(from_datetime.dt.date()))
        bad = value.is_not_null() & parsed.is_null()
        return parsed.dt.strftime("%Y-%m-%d"), pl.when(bad).then(pl.lit("aggregation.bad_date"))
    if t == "T":
        parsed = _first_ok(
            [value.str.to_datetime(f, strict=False) for f in DATETIME_FORMATS]
            + [value.str.to_date(f, strict=False).cast(pl.Datetime) for f in DATE_FORMATS]
        )
        bad = value.is_not_null() & parsed.is_null()
        return (
            parsed.dt.strftime("%Y-%m-%d %H:%M:%S"),
            pl.when(bad).then(pl.lit("aggregation.bad_datetime")),
        )
    if t == "L":
        lower = value.str.to_lowercase()
        parsed = (
            pl.when(lower.is_in(TRUE_WORDS))
            .then(pl.lit("true"))
            .when(lower.is_in(FALSE_WORDS))
            .then(pl.lit("false"))
        )
        bad = value.is_not_null() & parsed.is_null()
        return parsed, pl.when(bad).then(pl.lit("aggregation.bad_boolean"))
    # C, M, G: text
    text_code: pl.Expr | None = None
    if rule.length and t == "C":
        text_code = pl.when(value.str.len_chars() > rule.length).then(
            pl.lit("aggregation.too_long")
        )
    return value, text_code


def _error(rule: ColumnRule, value: pl.Expr, type_code: pl.Expr | None) -> pl.Expr:
    """The first failing check's code for each cell of the column, else null."""
    result: pl.Expr = pl.when(value.is_null() & pl.lit(rule.required)).then(
        pl.lit("aggregation.required_missing")
    )
    parts: list[tuple[pl.Expr, str]] = []
    if rule.allowed:
        parts.append(
            (
                value.is_not_null() & ~value.is_in(list(rule.allowed)),
                "aggregation.not_allowed_value",
            )
        )
    if rule.check == "id_number":
        parts.append(
            (value.is_not_null() & ~id_number_valid_expr(value), "aggregation.invalid_id_number")
        )
    elif rule.check == "uscc":
        parts.append((value.is_not_null() & ~uscc_valid_expr(value), "aggregation.invalid_uscc"))
    if type_code is not None:
        result = pl.coalesce(result, type_code)
    for cond, code in parts:
        result = pl.coalesce(result, pl.when(cond).then(pl.lit(code)))
    return result


@dataclass
class BatchResult:
    good: pl.DataFrame  # _row, c1…cN as the database parses them
    problems: pl.DataFrame  # _row, item, code, message, value
    bad_raw: pl.DataFrame  # the bad rows as read (_row + the file's columns)
    rows: int


def check_batch(rules: Rules, frame: pl.DataFrame) -> BatchResult:
    """Clean, type and check one batch read from a file (all-String columns plus ``_row``)."""
    present = set(frame.columns)
    cleaned: list[pl.Expr] = [pl.col(ROW)]
    errors: list[pl.Expr] = []
    for rule in rules.columns:
        raw = pl.col(rule.name) if rule.name in present else pl.lit(None, dtype=pl.String)
        value = _clean(rule, raw)
        typed, type_code = _typed(rule, value)
        cleaned.append(typed.alias(rule.column))
        errors.append(_error(rule, value, type_code).alias(f"e:{rule.name}"))
        cleaned.append(value.alias(f"v:{rule.name}"))
    # Lazy, so that Polars computes each cleaned value once for all its checks and parse
    # attempts (common-subexpression elimination); eager select recomputes it per use.
    work = frame.lazy().select([*cleaned, *errors]).collect()
    error_cols = [f"e:{r.name}" for r in rules.columns]
    is_bad = (
        pl.any_horizontal([pl.col(c).is_not_null() for c in error_cols])
        if error_cols
        else (pl.lit(False))
    )
    work = work.with_columns(is_bad.alias("_bad"))
    good = work.filter(~pl.col("_bad")).select(ROW, *[r.column for r in rules.columns])
    bad = work.filter(pl.col("_bad"))
    problems = _problems(rules, bad)
    bad_raw = frame.join(bad.select(ROW), on=ROW, how="semi") if bad.height else frame.clear()
    return BatchResult(good, problems, bad_raw, frame.height)


def _problems(rules: Rules, bad: pl.DataFrame) -> pl.DataFrame:
    schema = {ROW: pl.Int64, "item": pl.String, "code": pl.String, "value": pl.String}
    if bad.height == 0:
        return pl.DataFrame(schema=schema).with_columns(message=pl.lit("", pl.String))
    parts = [
        bad.filter(pl.col(f"e:{r.name}").is_not_null()).select(
            pl.col(ROW),
            pl.lit(r.name).alias("item"),
            pl.col(f"e:{r.name}").alias("code"),
            pl.col(f"v:{r.name}").str.slice(0, 200).alias("value"),
        )
        for r in rules.columns
    ]
    out = pl.concat(parts).sort(ROW, "item")
    texts = pl.col("code").replace_strict(MESSAGES, default="不符合汇聚规范")
    return out.with_columns(
        message=pl.concat_str([pl.lit("“"), pl.col("item"), pl.lit("”"), texts])
    )


def header_problems(rules: Rules, header: list[str]) -> tuple[list[str], list[str]]:
    """(columns the resource does not have, required items the file lacks)."""
    names = rules.by_name()
    unknown = [h for h in header if h != ROW and h not in names]
    missing = [r.name for r in rules.columns if r.required and r.name not in header]
    return unknown, missing
