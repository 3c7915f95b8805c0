"""Repeated subject keys within one load (Art. 16: one record per person or legal person).

The later row of the file wins. Rows are written as their batch is checked, so a repeat is found
in two places:

* within a batch, by the key itself (``is_last_distinct``): the earlier rows are never written;
* across batches, by a 64-bit hash of the key kept for every written row (12 bytes a row with
  its row number, not the keys themselves): an earlier row whose hash a later row has is a
  *candidate*. Candidates are removed by one ``DELETE`` that also compares the key itself, so a
  hash collision between two different keys removes nothing; the rows the statement returns are
  the ones removed.

This replaces a pass over the whole staging table after the load (a window over every key),
which cost as much as the load's typed ``COPY`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Connection, text

from govdata.aggregation.tables import ROW_COLUMN

_CANDIDATES = "govdata_repeated_keys"  # a temporary table of the load's connection


def key_hash(keys: pl.Series) -> pl.Series:
    """The 64-bit hash of each key (stable within the process, which is all that is needed)."""
    return keys.hash(seed=20190101)


@dataclass
class Removed:
    """Rows removed for a repeated key: their number in the file, key, and the winning row."""

    rows: pl.DataFrame  # _row, key, winner (sorted by _row)
    filled: dict[str, int] = field(default_factory=dict)  # non-null cells of removed written rows


@dataclass
class RepeatedKeys:
    """Tracks one load's subject keys; ``keep_last`` a batch before it is written."""

    key: str  # the data table's key column (c1…cN)
    _seen: list[pl.DataFrame] = field(default_factory=list)  # h, _row (UInt32) of written rows
    _dropped: list[pl.DataFrame] = field(default_factory=list)  # _row, key, winner (unwritten)
    _candidates: list[pl.DataFrame] = field(default_factory=list)  # _row, key, winner (written)

    def keep_last(self, good: pl.DataFrame) -> pl.DataFrame:
        """The batch's rows to write: for each key its last row in the batch."""
        keys = good[self.key]
        last = keys.is_last_distinct() | keys.is_null()
        if not last.all():
            winners = good.filter(last).select(pl.col(self.key), pl.col(ROW_COLUMN).alias("winner"))
            dropped = good.filter(~last).select(ROW_COLUMN, self.key)
            self._dropped.append(dropped.join(winners, on=self.key, how="left"))
            good = good.filter(last)
        current = pl.DataFrame(
            {"h": key_hash(good[self.key]), ROW_COLUMN: good[ROW_COLUMN], self.key: good[self.key]}
        ).filter(pl.col(self.key).is_not_null())
        if self._seen:
            seen = pl.concat(self._seen, rechunk=False)
            earlier = seen.filter(pl.col("h").is_in(current["h"].implode()))
            if earlier.height:
                pairs = earlier.join(current, on="h", suffix="_later")
                self._candidates.append(
                    pairs.select(
                        pl.col(ROW_COLUMN).cast(pl.Int64),
                        pl.col(self.key),
                        pl.col(f"{ROW_COLUMN}_later").alias("winner"),
                    )
                )
        # 12 bytes a written row: file rows fit in 32 bits (4 billion).
        self._seen.append(current.select("h", pl.col(ROW_COLUMN).cast(pl.UInt32)))
        if sum(f.n_chunks() for f in self._seen) > 64:
            self._seen = [pl.concat(self._seen)]  # fewer, larger chunks for the next probes
        return good

    def remove(self, conn: Connection, table_name: str, items: list[str]) -> Removed:
        """Delete the written rows a later row repeats; what was removed, with its winner."""
        removed: list[pl.DataFrame] = [pl.concat(self._dropped)] if self._dropped else []
        filled = dict.fromkeys(items, 0)
        if self._candidates:
            candidates = pl.concat(self._candidates).unique([ROW_COLUMN, self.key])
            deleted = _delete(conn, table_name, self.key, items, candidates)
            if deleted.height:
                for item in items:
                    filled[item] = int(deleted[item].cast(pl.Int64).sum())
                removed.append(deleted.select(ROW_COLUMN, pl.col("_key").alias(self.key)))
        if not removed:
            empty = {ROW_COLUMN: pl.Int64, "key": pl.String, "winner": pl.Int64}
            return Removed(pl.DataFrame(schema=empty), filled)
        as_text = [pl.col(ROW_COLUMN).cast(pl.Int64), pl.col(self.key).cast(pl.String)]
        rows = pl.concat([r.select(as_text) for r in removed])
        # The final winner of a key is the last row that repeated it.
        events = pl.concat(
            [
                f.select(pl.col(self.key).cast(pl.String), pl.col("winner").cast(pl.Int64))
                for f in (*self._dropped, *self._candidates)
            ]
        )
        winners = events.group_by(self.key).agg(pl.col("winner").max())
        rows = rows.join(winners, on=self.key, how="left").rename({self.key: "key"})
        return Removed(rows.sort(ROW_COLUMN), filled)


def _delete(
    conn: Connection, table_name: str, key: str, items: list[str], candidates: pl.DataFrame
) -> pl.DataFrame:
    """``DELETE … RETURNING`` the candidates whose key is the same as the later row's."""
    conn.execute(text(f'DROP TABLE IF EXISTS "{_CANDIDATES}"'))
    # The key column's own type, whatever the item's type is.
    conn.execute(
        text(
            f'CREATE TEMPORARY TABLE "{_CANDIDATES}" AS SELECT "{ROW_COLUMN}" AS r, "{key}" AS k '
            f'FROM "{table_name}" WHERE 1 = 0'
        )
    )
    conn.execute(
        text(f'INSERT INTO "{_CANDIDATES}" (r, k) VALUES (:r, :k)'),
        [{"r": r, "k": k} for r, k in candidates.select(ROW_COLUMN, key).iter_rows()],
    )
    if conn.dialect.name == "sqlite":
        # SQLite 3.40 answers "c IS NULL" / "c IS NOT NULL" wrongly in a DELETE's RETURNING
        # (a NULL reads as not null); typeof() reads the deleted value right.
        flags = ", ".join(f"typeof(\"{c}\") <> 'null'" for c in items)
    else:
        flags = ", ".join(f'"{c}" IS NOT NULL' for c in items)
    rows = conn.execute(
        text(
            f'DELETE FROM "{table_name}" WHERE ("{ROW_COLUMN}", "{key}") IN '
            f'(SELECT r, k FROM "{_CANDIDATES}") '
            f'RETURNING "{ROW_COLUMN}", "{key}" AS "_key", {flags}'
        )
    ).all()
    conn.execute(text(f'DROP TABLE "{_CANDIDATES}"'))
    schema = {ROW_COLUMN: pl.Int64, "_key": pl.String, **dict.fromkeys(items, pl.Int64)}
    if not rows:
        return pl.DataFrame(schema=schema)
    # SQLite returns 0/1 for the flags, PostgreSQL booleans; keys as their type, compared as text.
    data = [(r[0], str(r[1]), *[int(bool(x)) for x in r[2:]]) for r in rows]
    return pl.DataFrame(data, schema=schema, orient="row")
