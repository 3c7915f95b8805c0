"""The leak scan every release passes before it may be published (Art. 31 ¶2, Art. 9).

It reads every released value, vectorized in Polars, batch by batch (``Scanner.feed``) and
finds:

- ``id_number``: 18-character ID numbers with a valid check character (GB 11643, Art. 16);
- ``uscc``: unified social credit codes with a valid check character (GB 32100);
- ``mobile``: mainland mobile numbers (11 digits, 1[3-9]…);
- ``bank_card``: 16–19 digit numbers that pass the Luhn check;
- ``email``: e-mail addresses;
- ``raw_value``: the pool's own value of a masked or pseudonymized item, anywhere in the
  release: a release built from a pool is checked against the whole pool by one set-based
  query in the database once its rows are written (``build.raw_value_hits``; the database
  hashes or sorts, so memory stays bounded on a pool of millions of rows); ``feed(raw=…)``
  checks a batch against the raw values given with it;
- ``k_anonymity``: combinations of the declared quasi-identifiers shared by fewer than ``k``
  rows (k ≥ 5 by default: a product decision; a rule's ``params.k`` may raise it).

Identifiers are found inside longer text too (an address holding a phone number). The report
(``Release.scan``) says what, in which column, how many, with a few masked examples: never the
raw value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from govdata.core.ids import id_number_valid_expr, uscc_valid_expr

DEFAULT_K = 5
MAX_EXAMPLES = 3

LABELS = {
    "id_number": "公民身份号码",
    "uscc": "统一社会信用代码",
    "mobile": "手机号码",
    "bank_card": "银行卡号",
    "email": "电子邮件地址",
    "raw_value": "脱敏信息项的原始值",
    "k_anonymity": "准标识符组合少于 k 条记录",
}

# Candidates, each bounded by a non-digit (or a non-alphanumeric) or the value's ends: Rust's
# regex has no look-around, so the boundary characters are matched and stripped.
_ID_RE = r"(?:^|[^0-9A-Za-z])([1-9][0-9]{16}[0-9Xx])(?:[^0-9A-Za-z]|$)"
_USCC_RE = r"(?:^|[^0-9A-Za-z])([0-9A-Y]{18})(?:[^0-9A-Za-z]|$)"
_MOBILE_RE = r"(?:^|[^0-9A-Za-z])(1[3-9][0-9]{9})(?:[^0-9A-Za-z]|$)"
_CARD_RE = r"(?:^|[^0-9A-Za-z])([0-9]{16,19})(?:[^0-9A-Za-z]|$)"
_EMAIL_RE = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# A cheap test first: only values holding a run of 11 digits or an @ are looked at closely.
_PREFILTER = r"[0-9A-Z]{11}|@"


def mask_example(value: str) -> str:
    """An example shown in the report: its first 2 and last 2 characters, never more."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def luhn_valid_expr(value: pl.Expr) -> pl.Expr:
    """Boolean: the digit string passes the Luhn check (bank cards)."""
    digits = value.str.reverse().str.split("")
    total = digits.list.eval(
        pl.element()
        .cast(pl.Int32)
        .pipe(
            lambda d: (
                pl.when(pl.int_range(pl.len()) % 2 == 1)
                .then(pl.when(d * 2 > 9).then(d * 2 - 9).otherwise(d * 2))
                .otherwise(d)
            )
        )
    ).list.sum()
    return (total % 10 == 0).fill_null(False)


def _extract(frame: pl.DataFrame, column: str, pattern: str, group: int) -> pl.Series:
    """Every candidate of ``pattern`` in the column (overlaps aside), one per element."""
    found = (
        frame.select(pl.col(column).str.extract_all(pattern).alias("m"))
        .explode("m")["m"]
        .drop_nulls()
    )
    if found.is_empty():
        return found
    if group:
        found = found.str.extract(pattern, group)
    return found.drop_nulls()


@dataclass
class Finding:
    kind: str
    column: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, n: int, values: Sequence[str]) -> None:
        self.count += n
        for v in values:
            if len(self.examples) >= MAX_EXAMPLES:
                break
            shown = mask_example(v)
            if shown not in self.examples:
                self.examples.append(shown)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": LABELS[self.kind],
            "column": self.column,
            "count": self.count,
            "examples": self.examples,
        }


class Scanner:
    """Feed it the released batches (columns named by item, all text) and, for the raw-value
    check, the raw values of the masked items of the same batch; ``report`` at the end."""

    def __init__(self, quasi_identifiers: Sequence[str] = (), k: int = DEFAULT_K) -> None:
        self.quasi_identifiers = list(quasi_identifiers)
        self.k = k
        self.rows = 0
        self._findings: dict[tuple[str, str], Finding] = {}
        self._classes: list[pl.DataFrame] = []
        self._weights: str | None = None

    def _finding(self, kind: str, column: str) -> Finding:
        key = (kind, column)
        if key not in self._findings:
            self._findings[key] = Finding(kind, column)
        return self._findings[key]

    def feed(
        self,
        frame: pl.DataFrame,
        raw: Mapping[str, pl.Series] | None = None,
        *,
        weights: str | None = None,
    ) -> None:
        """Scan one released batch. ``raw``: item name → the pool's raw values (masked and
        pseudonymized items). ``weights``: the count column of an aggregated release (each row
        stands for that many records in k-anonymity)."""
        self.rows += frame.height
        text_cols = [c for c in frame.columns if c != weights]
        texts = frame.select(pl.col(c).cast(pl.String) for c in text_cols)
        for col in text_cols:
            suspects = texts.filter(pl.col(col).str.contains(_PREFILTER))
            if suspects.height:
                self._identifiers(suspects, col)
        if raw:
            self._raw_values(texts, raw)
        if self.quasi_identifiers:
            self._weights = weights
            count = pl.col(weights).sum() if weights else pl.len()
            self._classes.append(
                texts.with_columns(frame[weights] if weights else [])
                .group_by(self.quasi_identifiers)
                .agg(count.cast(pl.Int64).alias("_n"))
            )
            if len(self._classes) > 8:  # keep the partial counts small
                self._classes = [self._merged_classes()]

    def record(self, kind: str, column: str, count: int, values: Sequence[str]) -> None:
        """A finding made outside ``feed`` (``raw_value`` by the database): its count and a
        few of the values, shown masked."""
        if count:
            self._finding(kind, column).add(count, values)

    def _identifiers(self, frame: pl.DataFrame, col: str) -> None:
        ids = _extract(frame, col, _ID_RE, 1)
        valid_ids = ids.filter(pl.DataFrame({"v": ids}).select(id_number_valid_expr("v"))["v"])
        if valid_ids.len():
            self._finding("id_number", col).add(valid_ids.len(), valid_ids.head(10).to_list())
        id_set = set(valid_ids.to_list())
        usccs = _extract(frame, col, _USCC_RE, 1)
        if usccs.len():
            ok = pl.DataFrame({"v": usccs}).select(uscc_valid_expr("v"))["v"]
            found = [u for u in usccs.filter(ok).to_list() if u not in id_set]
            if found:
                self._finding("uscc", col).add(len(found), found[:10])
        mobiles = _extract(frame, col, _MOBILE_RE, 1)
        if mobiles.len():
            self._finding("mobile", col).add(mobiles.len(), mobiles.head(10).to_list())
        cards = _extract(frame, col, _CARD_RE, 1)
        if cards.len():
            ok = pl.DataFrame({"v": cards}).select(luhn_valid_expr(pl.col("v")))["v"]
            found = [c for c in cards.filter(ok).to_list() if c not in id_set]
            if found:
                self._finding("bank_card", col).add(len(found), found[:10])
        emails = _extract(frame, col, _EMAIL_RE, 0)
        if emails.len():
            self._finding("email", col).add(emails.len(), emails.head(10).to_list())

    def _raw_values(self, texts: pl.DataFrame, raw: Mapping[str, pl.Series]) -> None:
        values = pl.concat(
            [s.cast(pl.String).str.strip_chars() for s in raw.values()], how="vertical"
        ).drop_nulls()
        values = values.filter(values.str.len_chars() >= 2).unique()  # one character tells nothing
        if values.is_empty():
            return
        for col in texts.columns:
            hit = texts[col].filter(texts[col].is_in(values.implode()))
            if hit.len():
                self._finding("raw_value", col).add(hit.len(), hit.head(10).to_list())

    def _merged_classes(self) -> pl.DataFrame:
        return (
            pl.concat(self._classes, how="vertical")
            .group_by(self.quasi_identifiers)
            .agg(pl.col("_n").sum())
        )

    def report(self) -> dict[str, Any]:
        """The scan's report: ``passed`` and the findings, k-anonymity's summary."""
        findings = [f.as_dict() for f in self._findings.values()]
        k_report: dict[str, Any] | None = None
        if self.quasi_identifiers:
            classes = (
                self._merged_classes()
                if self._classes
                else pl.DataFrame({"_n": []}, schema={"_n": pl.Int64})
            )
            small = classes.filter(pl.col("_n") < self.k)
            smallest = int(classes["_n"].min() or 0) if classes.height else 0  # type: ignore[arg-type]
            k_report = {
                "quasi_identifiers": self.quasi_identifiers,
                "k": self.k,
                "classes": classes.height,
                "smallest": smallest,
                "small_classes": small.height,
                "rows_in_small_classes": int(small["_n"].sum()),
            }
            if small.height:
                findings.append(
                    {
                        "kind": "k_anonymity",
                        "label": LABELS["k_anonymity"],
                        "column": "、".join(self.quasi_identifiers),
                        "count": int(small["_n"].sum()),
                        "examples": [],
                    }
                )
        return {
            "passed": not findings,
            "rows": self.rows,
            "findings": findings,
            "k_anonymity": k_report,
        }


def scan(
    frame: pl.DataFrame,
    *,
    raw: Mapping[str, pl.Series] | None = None,
    quasi_identifiers: Sequence[str] = (),
    k: int = DEFAULT_K,
    weights: str | None = None,
) -> dict[str, Any]:
    """Scan one frame whole (tests, small releases)."""
    scanner = Scanner(quasi_identifiers, k)
    scanner.feed(frame, raw, weights=weights)
    return scanner.report()
