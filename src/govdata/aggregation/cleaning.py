"""Cleaning a loaded cell before any check (Art. 17 ¶1), as native Polars expressions.

Full-width letters and digits (and the ideographic space) become half-width, and for numbers,
dates and times also the full-width signs they use; leading and trailing blanks go (any Unicode
white space); an empty cell is a missing value. ID numbers and USCCs (Art. 16) are validated
exactly (``core.ids``): their cleaning also uppercases their ASCII letters, in the same native
pass as the full-width replacement. ASCII only: Unicode case mapping would forge key characters
("ﬀ" uppercases to "FF"). Chinese full-width punctuation inside text is left alone: "，" is
correct Chinese.
"""

from __future__ import annotations

import polars as pl

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

TEXT_TYPES = frozenset({"C", "M", "G"})


def _key_case(full: list[str], half: list[str], letters: str) -> tuple[list[str], list[str]]:
    """A replacement table that also uppercases ``letters`` (ASCII or full-width)."""
    upper = [h.upper() if h in letters else h for h in half]
    return full + list(letters), upper + list(letters.upper())


_TEXT_TABLE = (_FULL, _HALF)
_SIGNS_TABLE = (_FULL + _FULL_SIGNS, _HALF + _HALF_SIGNS)
# Keys (Art. 16): an ID number's only letter is X; a USCC's letters are uppercase.
_KEY_TABLES = {
    ("id_number", True): _key_case(*_TEXT_TABLE, "x"),
    ("id_number", False): _key_case(*_SIGNS_TABLE, "x"),
    ("uscc", True): _key_case(*_TEXT_TABLE, "abcdefghijklmnopqrstuvwxyz"),
    ("uscc", False): _key_case(*_SIGNS_TABLE, "abcdefghijklmnopqrstuvwxyz"),
}


def clean(data_type: str, check: str | None, raw: pl.Expr) -> pl.Expr:
    """The cleaned text of a cell of an item of ``data_type`` (``check``: "id_number", "uscc"
    or None); blank is "" here and becomes None in ``blank_to_null``."""
    text = data_type in TEXT_TYPES
    table = _KEY_TABLES.get((check or "", text)) or (_TEXT_TABLE if text else _SIGNS_TABLE)
    value = raw.str.replace_many(*table)
    # Unicode white space: STRIP_CHARS and the other spaces (U+2000…), in one native pass.
    return value.str.strip_chars()


def blank_to_null(column: str) -> pl.Expr:
    """A blank cell is a missing value (a column reference: eager selects do not share
    subexpressions, so the cleaning is not repeated here)."""
    value = pl.col(column)
    return pl.when(value.str.len_bytes() == 0).then(None).otherwise(value).alias(column)
