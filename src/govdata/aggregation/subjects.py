"""Subjects across the data plane (Art. 16): the key each base database takes, the canonical
text that pool values of every type are compared as, and a base database's items and table.

Base databases (``aggregation.base``) and thematic databases (``aggregation.thematic``) both read
pools by subject key and base tables by item; this is what they share, below both.

Values are compared as canonical text (``as_text``): dates ``YYYY-MM-DD``, times
``YYYY-MM-DD HH:MM:SS``, numbers without trailing zeros, logical values ``true``/``false``;
the same on SQLite and PostgreSQL (Art. 16: one value for one subject).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Integer,
    Numeric,
    Table,
    Text,
    case,
    cast,
    extract,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from govdata.aggregation import tables
from govdata.aggregation.errors import BaseNotFound
from govdata.aggregation.models import BaseDatabase, BaseItem, BaseKind, Pool
from govdata.catalog.vocab import ID_NUMBER_ITEM_NAMES, USCC_ITEM_NAMES

KEY_COLUMN = tables.KEY_COLUMN
KEY_LENGTH = tables.KEY_LENGTH

# The subject key's item name of each base (Art. 16 for persons and legal persons).
KEY_NAME: dict[BaseKind, str] = {
    BaseKind.PERSON: "公民身份号码",
    BaseKind.LEGAL_ENTITY: "统一社会信用代码",
    BaseKind.GEO: "要素代码",
    BaseKind.LICENCE: "证照编号",
}
# Names a source's key item may carry: the catalog's synonyms of the ID number and the USCC.
KEY_NAMES: dict[BaseKind, frozenset[str]] = {
    BaseKind.PERSON: ID_NUMBER_ITEM_NAMES | {"公民身份号码"},
    BaseKind.LEGAL_ENTITY: USCC_ITEM_NAMES | {"统一社会信用代码"},
    BaseKind.GEO: frozenset({"要素代码"}),
    BaseKind.LICENCE: frozenset({"证照编号"}),
}
TEXT_TYPES = frozenset({"C", "M", "G"})
NUMERIC_TYPES = frozenset({"N", "Y", "B", "F"})


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def as_text(dialect: str, col: ColumnElement[Any], data_type: str) -> ColumnElement[Any]:
    """A typed pool column as the canonical text both engines agree on (Art. 16: one value)."""
    pg = dialect == "postgresql"
    if data_type in TEXT_TYPES:
        return col
    if data_type == "D":
        return _pg_datetime_text(col, time=False) if pg else func.substr(cast(col, Text), 1, 10)
    if data_type == "T":
        return _pg_datetime_text(col, time=True) if pg else func.substr(cast(col, Text), 1, 19)
    if data_type == "L":
        return case((col.is_(None), null()), (col, literal("true")), else_=literal("false"))
    if data_type == "I":
        return cast(col, Text)
    if data_type in NUMERIC_TYPES:
        if pg:
            return cast(func.trim_scale(cast(col, Numeric())), Text)
        as_int = cast(col, Integer)
        return case((col == as_int, cast(as_int, Text)), else_=cast(col, Text))
    return cast(col, Text)


def _pg_datetime_text(col: ColumnElement[Any], *, time: bool) -> ColumnElement[Any]:
    """``YYYY-MM-DD`` (and `` HH:MM:SS``, seconds cut, not rounded) from immutable parts.

    Not ``to_char``: it is STABLE (it reads the session's locale), and Citus refuses a STABLE
    function of a column in a distributed UPDATE (it could differ between the nodes), which is
    how a base database takes its values (decision 0022). The text is the same.
    """

    def part(field: str, width: int) -> ColumnElement[str]:
        whole = cast(func.floor(extract(field, col)), Integer)
        return func.lpad(cast(whole, Text), width, "0", type_=Text)

    text = part("year", 4) + "-" + part("month", 2) + "-" + part("day", 2)
    if time:
        text = text + " " + part("hour", 2) + ":" + part("minute", 2) + ":" + part("second", 2)
    return text  # "||" (immutable), not concat() (stable)


# --- which pools fit which base (Art. 16) -------------------------------------------------------


def column_named(columns: list[dict[str, Any]], item_name: str) -> dict[str, Any] | None:
    """The layout entry (``Pool.columns``) of an info item, by its name."""
    return next((c for c in columns if c["name"] == item_name), None)


def key_item(columns: list[dict[str, Any]], subject_column: str | None) -> dict[str, Any] | None:
    if subject_column is None:
        return None
    return next((c for c in columns if c["column"] == subject_column), None)


def fits(kind: BaseKind | str, columns: list[dict[str, Any]], subject_column: str | None) -> bool:
    """A source fits a base when its subject key is an item named as the base's key (Art. 16)."""
    key = key_item(columns, subject_column)
    return key is not None and key["name"] in KEY_NAMES[BaseKind(kind)]


def pool_fits(base: BaseDatabase, pool: Pool) -> bool:
    return fits(base.kind, pool.columns, pool.subject_column)


# --- a pool's rows as canonical text --------------------------------------------------------------


def key_expr(dialect: str, pool: Pool, table: Any) -> ColumnElement[Any]:
    """The subject key of ``pool``'s ``table`` (or an alias of it) as canonical text."""
    key = key_item(pool.columns, pool.subject_column)
    assert key is not None
    return as_text(dialect, table.c[key["column"]], str(key["data_type"]))


def value_expr(dialect: str, pool: Pool, table: Any, item_name: str) -> ColumnElement[Any] | None:
    """An item of ``pool``'s ``table`` as canonical text; None when the pool has no such item
    besides its subject key."""
    col = column_named(pool.columns, item_name)
    if col is None or col["column"] == pool.subject_column:
        return None
    return as_text(dialect, table.c[col["column"]], str(col["data_type"]))


def raw_column(pool: Pool, table: Any, item_name: str) -> ColumnElement[Any]:
    """An item of ``pool``'s ``table`` as stored (typed)."""
    col = column_named(pool.columns, item_name)
    assert col is not None
    return table.c[col["column"]]  # type: ignore[no-any-return]


# --- a base database's items and table ------------------------------------------------------------


def find_base(session: Session, kind: BaseKind | str) -> BaseDatabase | None:
    """The base database of ``kind``; None when the kind is unknown or not set up."""
    try:
        value = BaseKind(kind).value
    except ValueError:
        return None
    return session.scalars(select(BaseDatabase).where(BaseDatabase.kind == value)).one_or_none()


def require_base(session: Session, kind: BaseKind | str) -> BaseDatabase:
    """The base database of ``kind``, or ``aggregation.base_not_found``."""
    try:
        label = BaseKind(kind).label
    except ValueError:
        raise BaseNotFound() from None
    base = find_base(session, kind)
    if base is None:
        raise BaseNotFound(label)
    return base


def items_of(session: Session, base: BaseDatabase) -> list[BaseItem]:
    return list(
        session.scalars(
            select(BaseItem)
            .where(BaseItem.base_id == base.id)
            .order_by(BaseItem.position, BaseItem.id)
        )
    )


def base_table(base: BaseDatabase, item_ids: Iterable[int]) -> Table:
    """The Core table of a base database with the given items (``v<N>``, ``l<N>``)."""
    return tables.base_table(base.table_name, item_ids)
