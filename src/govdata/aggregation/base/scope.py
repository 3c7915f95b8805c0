"""Which subject keys a recomputation of a base database covers (Art. 18: the base follows
its sources): everything, the rows one load wrote, or one subject (after a correction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import cast as typed

from sqlalchemy import literal, select
from sqlalchemy.sql.elements import ColumnElement

from govdata.aggregation import pools
from govdata.aggregation.models import Pool
from govdata.aggregation.subjects import key_expr
from govdata.aggregation.tables import LOAD_COLUMN


@dataclass(frozen=True)
class Scope:
    """Which subject keys a recomputation covers: all, the rows one load wrote, or one key."""

    key: str | None = None
    pool: Pool | None = None
    load_id: int | None = None

    @property
    def everything(self) -> bool:
        return self.key is None and self.load_id is None

    @property
    def incremental(self) -> bool:
        """The rows one load wrote (an upsert load): values are added or updated, never
        cleared, and no subject leaves the base."""
        return self.load_id is not None and self.pool is not None

    def keys(self, dialect: str, key_col: ColumnElement[Any]) -> ColumnElement[bool] | None:
        """A condition on ``key_col`` (a base key, a conflict's key) for the covered keys."""
        if self.key is not None:
            return key_col == self.key
        if self.load_id is not None and self.pool is not None:
            table = pools.current_table(self.pool)
            if table is None:
                return literal(False)
            alias = table.alias("scope_rows")
            return key_col.in_(
                select(key_expr(dialect, self.pool, alias)).where(
                    alias.c[LOAD_COLUMN] == self.load_id
                )
            )
        return None

    def rows(
        self, dialect: str, pool: Pool, table: Any, key: ColumnElement[Any]
    ) -> ColumnElement[bool] | None:
        """A condition on the rows of ``pool``'s ``table`` (or an alias of it)."""
        if self.key is not None:
            return key == self.key
        if self.load_id is not None and self.pool is not None:
            if self.pool.id == pool.id:
                return typed(ColumnElement[bool], table.c[LOAD_COLUMN] == self.load_id)
            return self.keys(dialect, key)
        return None


def where(*conds: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    """The conditions that apply (a scope covering everything adds none)."""
    return [c for c in conds if c is not None]
