"""Validation of the two master keys of shared data: ID numbers and USCCs.

Art. 16 of 《重庆市政务数据资源管理暂行办法》 keys natural-person data by the
公民身份号码 (citizen ID number, GB 11643-1999) and legal-person data by the
统一社会信用代码 (unified social credit code, USCC, GB 32100-2015). This module
checks both, one value at a time (``is_valid_id_number``, ``is_valid_uscc``) and
for bulk data as native Polars expressions (``id_number_valid_expr``,
``uscc_valid_expr``) that never call back into Python per row. The scalar and the
vectorised checks implement the same rules and must agree on every input.

Validators are exact: they accept only the canonical form stored as a key (18 ASCII
characters, an uppercase ``X``, uppercase USCC letters, nothing around them), so a value that
reads as valid is the value stored. Cleaning comes first and is separate: ``normalize_id_number``
and ``normalize_uscc`` strip the characters of ``STRIP_CHARS`` (ASCII whitespace, NBSP and the
ideographic space U+3000 common in Chinese spreadsheets) from both ends and uppercase ASCII
letters only, so a non-ASCII character can never turn into a valid one (``"ﬀ".upper()`` is
``"FF"``, ``"ı".upper()`` is ``"I"``); full-width digits and letters are rejected, not
converted. The load pipeline's own cleaning (``aggregation.validation``) does the same and
more (full-width digits and letters become half-width there) before it validates.

The vectorised checks use ``arr.eval``, ``arr.dot``, ``bin.reinterpret`` into an
``Array`` and ``str.to_integer(dtype=pl.Int128)``, as found in the installed Polars
2.x.

Generators (``make_id_number``, ``make_uscc``) build checksum-correct values for
tests and demonstration data.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

import polars as pl

__all__ = [
    "EARLIEST_BIRTH_DATE",
    "ID_NUMBER_CHECK_CHARS",
    "ID_NUMBER_WEIGHTS",
    "STRIP_CHARS",
    "USCC_ALPHABET",
    "USCC_REGISTRATION_AUTHORITIES",
    "USCC_WEIGHTS",
    "id_number_check_char",
    "id_number_valid_expr",
    "is_valid_id_number",
    "is_valid_uscc",
    "make_id_number",
    "make_uscc",
    "normalize_id_number",
    "normalize_uscc",
    "uscc_check_char",
    "uscc_valid_expr",
    "validate_id_numbers",
    "validate_usccs",
]

# --------------------------------------------------------------------------- constants

#: Characters the cleaning functions strip from both ends (validators accept none of them).
STRIP_CHARS: Final = " \t\n\r\x0b\x0c\xa0\u3000"

#: GB 11643-1999 / ISO 7064 MOD 11-2 weights for the first 17 digits (2**(17-i) mod 11).
ID_NUMBER_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: Check character indexed by (weighted sum mod 11).
ID_NUMBER_CHECK_CHARS: Final = "10X98765432"
#: Birth dates before this day are rejected as implausible.
EARLIEST_BIRTH_DATE: Final = date(1900, 1, 1)

#: GB 32100-2015 code alphabet; a character's value is its index (I, O, Z, S, V excluded).
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: GB 32100-2015 weights for the first 17 characters (3**i mod 31).
USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: Registration-authority codes (first character) accepted by this platform:
#: 1 机构编制, 5 民政, 9 工商 (market regulation), Y 其他. GB 32100-2015 defines more
#: (e.g. 3 司法行政 for law firms, 7 宗教, 8 工会, A, N); this platform deliberately
#: accepts only these four, and the second character (organisation category) is not
#: checked. Widen this constant if other authorities' legal persons must be keyed.
USCC_REGISTRATION_AUTHORITIES: Final = "159Y"

_CODE_LEN: Final = 18  # both keys are 18 characters
_ASCII_UPPER: Final = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_USCC_VALUE: Final = {c: i for i, c in enumerate(USCC_ALPHABET)}

# Python ``re``: [0-9] and explicit letter ranges are ASCII-only; always use fullmatch.
_ID_RE: Final = re.compile(r"[1-9][0-9]{16}[0-9X]")
_ID_BODY_RE: Final = re.compile(r"[0-9]{17}")
_USCC_BODY_RE: Final = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{17}")
_USCC_RE: Final = re.compile(rf"[{USCC_REGISTRATION_AUTHORITIES}][0-9A-HJ-NP-RTUW-Y]{{17}}")

# Rust regex (Polars) on the value as given (exact: no stripping, no case mapping). No \d: it
# is Unicode-aware there.
_ID_PL_RE: Final = r"^[1-9][0-9]{16}[0-9X]$"
_USCC_PL_RE: Final = rf"^[{USCC_REGISTRATION_AUTHORITIES}][0-9A-HJ-NP-RTUW-Y]{{17}}$"

# --------------------------------------------------------------------------- ID number


def normalize_id_number(s: str) -> str:
    """Cleaning: strip ``STRIP_CHARS`` from both ends and uppercase ``x`` (Art. 16 key form)."""
    return s.strip(STRIP_CHARS).replace("x", "X")


def id_number_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number.

    Raises ``ValueError`` unless ``first17`` is exactly 17 ASCII digits.
    """
    if not isinstance(first17, str) or not _ID_BODY_RE.fullmatch(first17):
        raise ValueError(f"expected 17 ASCII digits, got {first17!r}")
    total = sum(int(c) * w for c, w in zip(first17, ID_NUMBER_WEIGHTS, strict=True))
    return ID_NUMBER_CHECK_CHARS[total % 11]


def is_valid_id_number(s: str, *, today: date | None = None) -> bool:
    """Whether ``s`` is a valid 18-character citizen ID number (GB 11643-1999; Art. 16).

    Exact (see the module docstring: clean with ``normalize_id_number`` first): 18
    characters, a 6-digit division code whose first digit is 1-9 (not checked against
    a code table), a real calendar birth date ``YYYYMMDD`` in
    [``EARLIEST_BIRTH_DATE``, ``today``] (``today`` defaults to ``date.today()``),
    a 3-digit sequence number and the MOD 11-2 check character (``X`` uppercase).
    Anything that is not a ``str`` is invalid.
    """
    if not isinstance(s, str):
        return False
    if not _ID_RE.fullmatch(s):
        return False
    try:
        birth = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    latest = date.today() if today is None else today
    if not EARLIEST_BIRTH_DATE <= birth <= latest:
        return False
    return id_number_check_char(s[:17]) == s[17]


def make_id_number(division: str, birth: date, seq: int) -> str:
    """Build a checksum-correct ID number from its parts (for tests and demo data).

    ``division`` is a 6-digit division code (first digit 1-9), ``seq`` the sequence
    number 0-999 (odd for men, even for women). The result passes
    ``is_valid_id_number`` only if ``birth`` lies in [``EARLIEST_BIRTH_DATE``, today].
    """
    if not re.fullmatch(r"[1-9][0-9]{5}", division):
        raise ValueError(f"division must be 6 ASCII digits not starting with 0: {division!r}")
    if not 0 <= seq <= 999:
        raise ValueError(f"seq must be in 0..999, got {seq}")
    first17 = f"{division}{birth.year:04d}{birth.month:02d}{birth.day:02d}{seq:03d}"
    return first17 + id_number_check_char(first17)


def id_number_valid_expr(col: str | pl.Expr, *, today: date | None = None) -> pl.Expr:
    """Boolean Polars expression: the vectorised ``is_valid_id_number`` (Art. 16).

    Native string and integer kernels only (no Python per row); null → ``False``.
    ``today`` is fixed when the expression is built (default ``date.today()``).
    The input must be a String column.

    Eager ``select``/``with_columns``/``filter`` do not eliminate common
    subexpressions, so an expression tree that reuses an intermediate in many
    branches recomputes it in each (slicing 17 positions would strip and match the
    string ~25 times). The check is therefore three short chains from the raw value:

    * shape: ``[1-9][0-9]{16}[0-9Xx]`` (ASCII only);
    * birth date: ``to_date("%Y%m%d")`` yields null for impossible dates, then the
      range check;
    * checksum: the MOD 11-2 weights are ``2**(17-i) mod 11`` and ``13 ≡ 2 (mod 11)``,
      so reading all 18 characters as one base-13 numeral (check value X = 10 is the
      base-13 digit ``A``) gives ``Σ d_i·w_i + check (mod 11)``, which must be 1.
      ``13**18 < 2**127``, so ``Int128`` holds the numeral exactly.
    """
    value = pl.col(col) if isinstance(col, str) else col
    shape_ok = value.str.contains(_ID_PL_RE)
    latest = date.today() if today is None else today
    date_ok = (
        value.str.slice(6, 8)
        .str.to_date("%Y%m%d", strict=False)
        .is_between(EARLIEST_BIRTH_DATE, latest)
    )
    base13 = value.str.replace("X", "A", literal=True).str.to_integer(
        base=13, dtype=pl.Int128, strict=False
    )
    check_ok = (base13 % 11) == 1
    return (shape_ok & date_ok & check_ok).fill_null(False)


def validate_id_numbers(series: pl.Series, *, today: date | None = None) -> pl.Series:
    """Validate a String series of ID numbers; Boolean series, same name and length."""
    return _apply(series, id_number_valid_expr(pl.col("v"), today=today))


# --------------------------------------------------------------------------- USCC


def normalize_uscc(s: str) -> str:
    """Cleaning: strip ``STRIP_CHARS`` from both ends and uppercase ASCII letters (Art. 16)."""
    return s.strip(STRIP_CHARS).translate(_ASCII_UPPER)


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 MOD 31 check character for the first 17 characters of a USCC.

    Raises ``ValueError`` unless ``first17`` is 17 characters of ``USCC_ALPHABET``
    (uppercase).
    """
    if not isinstance(first17, str) or not _USCC_BODY_RE.fullmatch(first17):
        raise ValueError(f"expected 17 characters of {USCC_ALPHABET}, got {first17!r}")
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(s: str) -> bool:
    """Whether ``s`` is a valid unified social credit code (GB 32100-2015; Art. 16).

    Exact (see the module docstring: clean with ``normalize_uscc`` first): 18
    characters of ``USCC_ALPHABET`` (uppercase; no I, O, Z, S, V), the first one a
    registration-authority code in ``USCC_REGISTRATION_AUTHORITIES`` (``1 5 9 Y``;
    the second, category character is not checked), and the last one the MOD 31
    check character. Anything that is not a ``str`` is invalid.
    """
    if not isinstance(s, str):
        return False
    if not _USCC_RE.fullmatch(s):
        return False
    return uscc_check_char(s[:17]) == s[17]


def make_uscc(body: str) -> str:
    """Append the MOD 31 check character to a 17-character body (tests and demo data).

    The body's first character is not checked here, so codes from registration
    authorities the platform rejects can be built on purpose.
    """
    return body + uscc_check_char(body)


def uscc_valid_expr(col: str | pl.Expr) -> pl.Expr:
    """Boolean Polars expression: the vectorised ``is_valid_uscc`` (Art. 16).

    Native string, binary and array kernels only (no Python per row); null →
    ``False``. The input must be a String column. As in ``id_number_valid_expr``
    the check is two short chains from the raw value rather than one slice per
    position (eager evaluation would recompute a shared intermediate per use):

    * shape: registration authority, then 17 characters of the alphabet (ASCII,
      uppercase);
    * checksum: the value's 18 bytes are reinterpreted as an
      ``Array(UInt8, 18)`` (null unless exactly 18 bytes), each byte is turned into
      its alphabet value by branch-free arithmetic inside ``arr.eval`` (see
      ``_uscc_byte_value``), and ``arr.dot`` with the weights (1 for the check
      character) must be ≡ 0 (mod 31).

    Do not replace that arithmetic with ``replace_strict``: inside ``arr.eval`` it
    leaves the vectorised path as soon as a row is null (or not 18 bytes) and gets
    over a hundred times slower.
    """
    value = pl.col(col) if isinstance(col, str) else col
    shape_ok = value.str.contains(_USCC_PL_RE)
    values = (
        value.cast(pl.Binary)
        .bin.reinterpret(dtype=pl.Array(pl.UInt8, _CODE_LEN))
        .arr.eval(_uscc_byte_value(pl.element()))
    )
    weights = pl.lit(pl.Series([[*USCC_WEIGHTS, 1]], dtype=pl.Array(pl.Int16, _CODE_LEN)))
    total = values.arr.dot(weights)
    return (shape_ok & ((total % 31) == 0)).fill_null(False)


def validate_usccs(series: pl.Series) -> pl.Series:
    """Validate a String series of USCCs; Boolean series, same name and length."""
    return _apply(series, uscc_valid_expr(pl.col("v")))


# --------------------------------------------------------------------------- helpers


def _uscc_byte_value(byte: pl.Expr) -> pl.Expr:
    """Alphabet value of an uppercase ASCII byte (meaningful where the shape check passed).

    Digits count from ``0``; letters continue at 10 after ``9`` and skip the excluded
    I, O, S and V (Z lies past Y, the last letter). Int16 halves the memory traffic;
    the weighted sum stays below 31 * 306.
    """
    b = byte.cast(pl.Int16)
    value = b - ord("0") - (ord("A") - ord("9") - 1) * (b >= ord("A")).cast(pl.Int16)
    for excluded in "IOSV":
        value = value - (b > ord(excluded)).cast(pl.Int16)
    return value


def _apply(series: pl.Series, expr: pl.Expr) -> pl.Series:
    if series.dtype == pl.Null:  # e.g. pl.Series([None, None])
        series = series.cast(pl.String)
    if series.dtype != pl.String:
        raise TypeError(f"expected a String series, got {series.dtype}")
    out = pl.DataFrame({"v": series}).select(expr.alias("v")).to_series()
    return out.alias(series.name)
