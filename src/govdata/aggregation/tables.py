"""The data plane's own tables: pool data, base databases and thematic databases.

Their layout follows the published catalog, so they are defined at run time as SQLAlchemy Core
``Table`` objects on a private ``MetaData`` (never ``Base.metadata``). Columns are ``c1…cN`` in
info-item order, not the items' Chinese names: PostgreSQL cuts identifiers at 63 bytes (21
Chinese characters) and item names may hold any punctuation. ``Pool.columns`` maps them back.

Type mapping of the national guide's data types (GB/T 21063.4 letters):

====  ========  =========================
type  meaning   SQL
====  ========  =========================
C     字符型     VARCHAR(length) / TEXT
N     数值型     NUMERIC
Y     货币型     NUMERIC(18, 2)
D     日期型     DATE
T     日期时间型  TIMESTAMP
L     逻辑型     BOOLEAN
M     备注型     TEXT
G     通用型     TEXT
B     双精度型   DOUBLE PRECISION
I     整型      BIGINT
F     浮点型     DOUBLE PRECISION
====  ========  =========================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

DATA_TABLE_RE = re.compile(r"^(pool_\d+_\d+|pool_stage_\d+|base_[a-z_]+|thematic_\d+(_\d+)?)$")

ROW_COLUMN = "_row"  # the row's number in its source file (header = row 1)
LOAD_COLUMN = "_load_id"  # the load that wrote the row: provenance
KEY_COLUMN = "subject_key"  # base and thematic databases: the subject's key as canonical text
KEY_LENGTH = 64


def is_data_table(name: str) -> bool:
    """True for tables the data plane creates at run time (migrations leave them alone)."""
    return bool(DATA_TABLE_RE.match(name))


def sql_type(data_type: str, length: int | None) -> TypeEngine[Any]:
    if data_type == "C":
        return String(length) if length and length <= 4000 else Text()
    if data_type == "N":
        return Numeric(38, 10, asdecimal=True)
    if data_type == "Y":
        return Numeric(18, 2, asdecimal=True)
    if data_type == "D":
        return Date()
    if data_type == "T":
        return DateTime()
    if data_type == "L":
        return Boolean()
    if data_type == "I":
        return BigInteger()
    if data_type in ("B", "F"):
        return Double()
    return Text()  # M, G


def pool_table_name(pool_id: int, load_id: int) -> str:
    return f"pool_{pool_id}_{load_id}"


def staging_table_name(load_id: int) -> str:
    return f"pool_stage_{load_id}"


def key_type(data_type: str, length: int | None) -> TypeEngine[Any]:
    """The subject key's type: on PostgreSQL text keys compare bytewise (``COLLATE "C"``).

    Keys are codes (ID numbers, USCCs, feature and licence numbers), so their order is the same
    either way for ASCII, and the unique index builds about twice as fast without the locale's
    comparison. PostgreSQL lets the "C" column meet default-collation columns in joins. The
    type is ``canonical_key_type`` whatever the item's length.
    """
    base = sql_type(data_type, length)
    if isinstance(base, String):  # Text is a String
        return base.with_variant(canonical_key_type(), "postgresql")
    return base


def canonical_key_type() -> String:
    """PostgreSQL's one type for a text subject key: ``VARCHAR COLLATE "C"``, no length.

    Pools, base and thematic databases all declare their key so (the catalog's length of the
    key item is checked when a row is loaded, ``validation``): on Citus only tables whose
    distribution columns have the same type and collation are co-located, and an
    ``INSERT … SELECT`` is pushed down to the shards only when the key needs no conversion on
    the way, not even ``VARCHAR(18)`` to ``VARCHAR(64)`` (decision 0022).
    """
    return String(collation="C")


def subject_key_column() -> Column[Any]:
    """The ``subject_key`` primary key of base and thematic databases (canonical text)."""
    kind = String(KEY_LENGTH).with_variant(canonical_key_type(), "postgresql")
    return Column(KEY_COLUMN, kind, primary_key=True)


def pool_table(name: str, columns: list[dict[str, Any]], key: str | None = None) -> Table:
    """The Core table for a pool's data table ``name`` with the layout ``Pool.columns``;
    ``key`` is the subject key's column."""
    md = MetaData()
    cols: list[Column[Any]] = [
        Column(ROW_COLUMN, BigInteger, nullable=False),
        Column(LOAD_COLUMN, Integer, nullable=False),
    ]
    for c in columns:
        make = key_type if c["column"] == key else sql_type
        cols.append(Column(c["column"], make(c["data_type"], c.get("length"))))
    return Table(name, md, *cols)


def column_of(columns: list[dict[str, Any]], item_name: str) -> str | None:
    """The physical column (``c3``) of an info item, or None when the layout has no such item."""
    for c in columns:
        if c["name"] == item_name:
            return str(c["column"])
    return None


def base_table(name: str, item_ids: Iterable[int]) -> Table:
    """A base database's table: ``subject_key`` and, for each base item id N, ``v<N>`` (the
    value as canonical text) and ``l<N>`` (the load that wrote it: its provenance)."""
    cols: list[Column[Any]] = [subject_key_column()]
    for n in item_ids:
        cols += [Column(f"v{n}", Text), Column(f"l{n}", Integer)]
    return Table(name, MetaData(), *cols)


def thematic_table(name: str, columns: int) -> Table:
    """A thematic database's table: ``subject_key`` and ``t1…tN`` as text."""
    cols: list[Column[Any]] = [subject_key_column()]
    cols += [Column(f"t{i + 1}", Text) for i in range(columns)]
    return Table(name, MetaData(), *cols)
