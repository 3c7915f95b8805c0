"""Validation and cleaning of loaded rows against the info items (Art. 15, 16, 17 ¶1).

Vectorized with Polars: one pass of native expressions per batch, no Python per row.

Cleaning, before any check (``cleaning``): full-width letters and digits become half-width,
blanks around a value go, an empty cell is a missing value, dates and times in the common Chinese
spreadsheet forms become ISO, ID numbers and USCCs get their uppercase letters. Duplicate subject
keys are cleaned after the whole file is in (``loading.py``): the later row wins.

Checks, in this order, the first failing one named per cell: required, type, length, allowed
values (the aggregation specification, Art. 15), ID number and USCC check characters (Art. 16).

The output of a batch is the good rows as the strings the database parses (ISO dates,
``true``/``false``), and the problems as (row, item, code, message, value) rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import polars as pl

from govdata.aggregation import cleaning
from govdata.aggregation.reading import JSON_TYPE
from govdata.catalog.vocab import ID_NUMBER_ITEM_NAMES, USCC_ITEM_NAMES
from govdata.core.ids import id_number_valid_expr, uscc_valid_expr

ROW = "_row"

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
    "aggregation.not_text": "应为文本（JSON 字符串），不能是数值、逻辑值、数组或对象",
}
NOT_TEXT = "aggregation.not_text"
# Items whose JSON Lines values must be JSON strings: text (C, M). G (通用型) takes any JSON
# value (a GeoJSON geometry is an object); a number given for a date, a number or a logical
# item is read as its text and checked as such.
_JSON_STRING_TYPES = frozenset({"C", "M"})


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


# Fractional digits a value may carry before the database rounds it (tables.sql_type).
_SCALE = {"N": 10, "Y": 2}
_DECIMAL = {"N": pl.Decimal(38, 10), "Y": pl.Decimal(18, 2)}


def _clean(rule: ColumnRule, raw: pl.Expr) -> pl.Expr:
    """The cleaned text of a cell of the rule's item (``cleaning``)."""
    return cleaning.clean(rule.data_type, rule.check, raw)


def _typed(rule: ColumnRule, value: pl.Expr) -> pl.Expr:
    """The typed value of a cleaned cell (``value`` is a column reference).

    D, T and L values are parsed here in their common form only: ISO, and the exact words.
    ``_parse_rest`` tries the other forms on the cells this left, so the common case costs one
    parse. N and Y values are exact decimals; one in exponent form (``1e3``), which the decimal
    parser refuses, comes through its float in ``_decimals_from_float``.
    """
    t = rule.data_type
    if t == "I":
        return value.str.replace_all(",", "", literal=True).cast(pl.Int64, strict=False)
    if t in _DECIMAL:
        text = value.str.replace_all(",", "", literal=True)
        # Longer texts are out of range (or not numbers) already; the cast raises on them.
        return pl.when(text.str.len_bytes() <= 60).then(text).cast(_DECIMAL[t], strict=False)
    if t in ("B", "F"):
        return value.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
    if t == "D":
        return value.str.to_date(DATE_FORMATS[0], strict=False)
    if t == "T":
        return value.str.to_datetime(DATETIME_FORMATS[0], strict=False, time_unit="us")
    if t == "L":
        parsed = pl.when(value.is_in(TRUE_WORDS)).then(True).when(value.is_in(FALSE_WORDS))
        return parsed.then(False).otherwise(None).cast(pl.Boolean)
    return value  # C, M, G: text


def _number(rule: ColumnRule, value: pl.Expr) -> pl.Expr | None:
    """The float an N or Y cell reads as, for its checks (a number, finite, in range); a B or F
    cell's typed value is that float already."""
    if rule.data_type not in _DECIMAL:
        return None
    return value.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)


# Types whose cells the first form did not parse get a second pass (``_parse_rest``).
_LATE_CODES = {
    "D": "aggregation.bad_date",
    "T": "aggregation.bad_datetime",
    "L": "aggregation.bad_boolean",
}


def _type_code(rule: ColumnRule, value: pl.Expr, typed: pl.Expr, number: pl.Expr) -> pl.Expr | None:
    """The type error code of each cell (column references in, null when fine)."""
    t = rule.data_type
    if t == "I":
        bad_integer = value.is_not_null() & typed.is_null()
        return pl.when(bad_integer).then(pl.lit("aggregation.bad_integer"))
    if t in ("N", "Y", "B", "F"):
        bad = value.is_not_null() & (number.is_null() | number.is_nan() | number.is_infinite())
        code: pl.Expr = pl.when(bad).then(pl.lit("aggregation.bad_number"))
        limit = _NUMERIC_LIMIT.get(t)
        if limit is not None:
            out_of_range = pl.when(number.abs() >= limit).then(
                pl.lit("aggregation.number_out_of_range")
            )
            code = pl.coalesce(code, out_of_range)
        return code
    if t in _LATE_CODES:
        return pl.when(value.is_not_null() & typed.is_null()).then(pl.lit(_LATE_CODES[t]))
    if rule.length and t == "C":
        return pl.when(value.str.len_chars() > rule.length).then(pl.lit("aggregation.too_long"))
    return None


def _date_attempts(t: str) -> list[tuple[str, str]]:
    """The formats a D or T cell is tried in, after the first: (kind, format)."""
    if t == "D":
        return [("date", f) for f in DATE_FORMATS[1:]] + [("midnight", f) for f in DATETIME_FORMATS]
    return [("datetime", f) for f in DATETIME_FORMATS[1:]] + [("date", f) for f in DATE_FORMATS]


def _parse_rest(t: str, values: pl.Series) -> pl.Series:
    """The typed values of the cells the first format did not parse (a few, usually)."""
    if t == "L":
        lower = values.str.to_lowercase()
        return (
            pl.select(
                pl.when(lower.is_in(TRUE_WORDS))
                .then(True)
                .when(lower.is_in(FALSE_WORDS))
                .then(False)
                .otherwise(None)
                .cast(pl.Boolean)
            )
            .to_series()
            .alias(values.name)
        )
    dtype = pl.Date() if t == "D" else pl.Datetime("us")
    out = pl.repeat(None, values.len(), dtype=dtype, eager=True).alias(values.name)
    todo = values
    index = pl.Series(range(values.len()), dtype=pl.UInt32)
    for kind, fmt in _date_attempts(t):
        if todo.len() == 0:
            break
        if kind == "date":
            got = todo.str.to_date(fmt, strict=False)
            if t == "T":
                got = got.cast(pl.Datetime("us"))
        elif kind == "datetime":
            got = todo.str.to_datetime(fmt, strict=False, time_unit="us")
        else:  # a D cell written as a datetime: a date only at midnight
            stamp = todo.str.to_datetime(fmt, strict=False, time_unit="us")
            got = pl.select(
                pl.when(stamp.dt.time() == pl.time(0)).then(stamp.dt.date())
            ).to_series()
            parsed = stamp.is_not_null()  # a time of day other than midnight: bad
        hit = got.is_not_null()
        if hit.any():
            out = out.scatter(index.filter(hit), got.filter(hit))
        if kind != "midnight":
            parsed = hit
        todo, index = todo.filter(~parsed), index.filter(~parsed)
    return out


def _round_decimals(t: str, value: pl.Series, typed: pl.Series) -> pl.Series | None:
    """Values with more fractional digits than the column keeps, rounded half away from zero
    as the database rounds them (Polars' decimal cast rounds half to even); None: no such."""
    scale = _SCALE[t]
    long = value.str.contains(rf"\.\d{{{scale + 1},}}") & typed.is_not_null()
    if not long.any():
        return None
    index = long.arg_true()
    quantum = Decimal(1).scaleb(-scale)
    fixed: list[Decimal | None] = []
    for text in value.gather(index).to_list():
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the cast above accepted it
            fixed.append(None)
            continue
        fixed.append(number.quantize(quantum, rounding=ROUND_HALF_UP))
    return typed.scatter(index, pl.Series(fixed, dtype=typed.dtype))


def _error(
    rule: ColumnRule, value: pl.Expr, type_code: pl.Expr | None, json_type: pl.Expr | None
) -> pl.Expr:
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
        valid = id_number_valid_expr(value)
        parts.append((value.is_not_null() & ~valid, "aggregation.invalid_id_number"))
    elif rule.check == "uscc":
        valid = uscc_valid_expr(value)
        parts.append((value.is_not_null() & ~valid, "aggregation.invalid_uscc"))
    if json_type is not None:  # a JSON value that is not a string, for a text item
        result = pl.coalesce(result, pl.when(json_type.is_not_null()).then(pl.lit(NOT_TEXT)))
    if type_code is not None:
        result = pl.coalesce(result, type_code)
    for cond, code in parts:
        result = pl.coalesce(result, pl.when(cond).then(pl.lit(code)))
    return result


@dataclass
class BatchResult:
    good: pl.DataFrame  # _row, c1…cN typed (polars_type: Date, Int64, Decimal, Boolean…)
    problems: pl.DataFrame  # _row, item, code, message, value
    bad_raw: pl.DataFrame  # the bad rows as read (_row + the file's columns)
    rows: int


def polars_type(data_type: str) -> pl.DataType:
    """The Polars type of an info item's typed values (``tables.sql_type`` for the database)."""
    if data_type == "I":
        return pl.Int64()
    if data_type in _DECIMAL:
        return _DECIMAL[data_type]
    if data_type in ("B", "F"):
        return pl.Float64()
    if data_type == "D":
        return pl.Date()
    if data_type == "T":
        return pl.Datetime("us")
    if data_type == "L":
        return pl.Boolean()
    return pl.String()


def check_batch(rules: Rules, frame: pl.DataFrame) -> BatchResult:
    """Clean, type and check one batch read from a file (all-String columns plus ``_row``).

    In stages, each a select over the previous stage's columns, so that a cleaned value is
    computed once however many checks read it (Polars' common-subexpression elimination
    does not reach inside ``when``/``coalesce`` chains): the cleaned values; their typed values
    in the common form; the few cells left to the other forms (``_parse_rest``); the checks.
    """
    present = set(frame.columns)
    # JSON Lines only: the kind of a value that was not a JSON string (``reading.JSON_TYPE``).
    json_typed = [
        r
        for r in rules.columns
        if r.data_type in _JSON_STRING_TYPES and JSON_TYPE + r.name in present
    ]
    values = frame.select(
        pl.col(ROW),
        *[
            _clean(rule, pl.col(rule.name) if rule.name in present else _MISSING).alias(
                f"v:{rule.name}"
            )
            for rule in rules.columns
        ],
        *[pl.col(JSON_TYPE + r.name).alias(f"j:{r.name}") for r in json_typed],
    )
    values = values.with_columns(
        [cleaning.blank_to_null(f"v:{rule.name}") for rule in rules.columns]
    )
    typed: list[pl.Expr] = []
    for rule in rules.columns:
        value = pl.col(f"v:{rule.name}")
        typed.append(_typed(rule, value).alias(rule.column))
        number = _number(rule, value)
        if number is not None:
            typed.append(number.alias(f"n:{rule.name}"))
    work = values.with_columns(typed)
    fixes: list[pl.Series] = []
    for rule in rules.columns:
        fixed = _second_pass(rule, work)
        if fixed is not None:
            fixes.append(fixed)
    if fixes:
        work = work.with_columns(fixes)
    errors = []
    for rule in rules.columns:
        value = pl.col(f"v:{rule.name}")
        typed_col = pl.col(rule.column)
        number = pl.col(f"n:{rule.name}") if rule.data_type in _DECIMAL else typed_col
        code = _type_code(rule, value, typed_col, number)
        json_type = pl.col(f"j:{rule.name}") if rule in json_typed else None
        errors.append(_error(rule, value, code, json_type).alias(f"e:{rule.name}"))
    work = work.with_columns(errors)
    # Only the columns with a problem decide which rows are bad (null counts are free).
    failing = [r for r in rules.columns if work[f"e:{r.name}"].null_count() < work.height]
    if failing:
        is_bad = pl.any_horizontal([pl.col(f"e:{r.name}").is_not_null() for r in failing])
        bad_mask = work.select(is_bad).to_series()
    else:
        bad_mask = pl.repeat(False, work.height, eager=True)
    good = work.select(ROW, *[r.column for r in rules.columns]).filter(~bad_mask)
    kept = [ROW, *[f"{p}:{r.name}" for r in failing for p in ("e", "v")]]
    bad = work.select(kept).filter(bad_mask)
    problems = _problems(Rules(tuple(failing), rules.subject_column), bad)
    read = frame.select(c for c in frame.columns if not c.startswith(JSON_TYPE))
    bad_raw = read.join(bad.select(ROW), on=ROW, how="semi") if bad.height else read.clear()
    return BatchResult(good, problems, bad_raw, frame.height)


_MISSING = pl.lit(None, dtype=pl.String)


def _second_pass(rule: ColumnRule, work: pl.DataFrame) -> pl.Series | None:
    """The typed column with the cells the common form left parsed another way; None when
    nothing changes. Each fix touches only the cells it concerns (gather, then scatter)."""
    t = rule.data_type
    typed, value = work[rule.column], work[f"v:{rule.name}"]
    changed = False
    if t in _LATE_CODES or t in _DECIMAL:
        rest = value.is_not_null() & typed.is_null()
        if rest.any():
            index = rest.arg_true()
            if t in _DECIMAL:
                found = _decimals_from_float(t, work[f"n:{rule.name}"].gather(index))
            else:
                found = _parse_rest(t, value.gather(index))
            typed = typed.scatter(index, found)
            changed = True
    if t in _SCALE:
        rounded = _round_decimals(t, value, typed)
        if rounded is not None:
            typed, changed = rounded, True
    return typed if changed else None


def _decimals_from_float(t: str, numbers: pl.Series) -> pl.Series:
    """Decimals of cells only the float parser read (``1e3``); those out of range stay null
    (they are bad already) rather than reach the cast, which raises on them."""
    finite = numbers.is_finite() & (numbers.abs() < _NUMERIC_LIMIT[t])
    return (
        pl.select(pl.when(finite).then(numbers).cast(_DECIMAL[t], strict=False))
        .to_series()
        .alias(numbers.name)
    )


def clean_value(rule: ColumnRule, text: str) -> str | None:
    """One value cleaned as the load pipeline cleans a cell (None: a missing value)."""
    column = f"v:{rule.name}"
    frame = pl.DataFrame({column: [text]}, schema={column: pl.String})
    cleaned = frame.select(_clean(rule, pl.col(column)).alias(column)).select(
        cleaning.blank_to_null(column)
    )
    value: str | None = cleaned.item()
    return value


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
    """(columns the resource does not have, required items the file lacks); the reader's side
    columns (``_row``, ``JSON_TYPE``…) are not the file's."""
    names = rules.by_name()
    unknown = [h for h in header if h != ROW and not h.startswith(JSON_TYPE) and h not in names]
    missing = [r.name for r in rules.columns if r.required and r.name not in header]
    return unknown, missing
