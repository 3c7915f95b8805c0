"""The hot path's SQL (decision 0014): the statements ``sharing.hotpath`` runs, and the call's
statement rendered once per source layout. Identifiers are composed with ``psycopg.sql``;
every value is bound."""

from __future__ import annotations

import functools
from typing import Any

from psycopg import sql

from govdata.sharing.grants import RowCondition
from govdata.sharing.models import Grant
from govdata.sharing.sources import SharedSource, SourceItem

RESOLVE = """
SELECT t.id, t.department_id, t.name, t.scopes, t.last_used_at, d.name,
       g.id, g.requester_department_id, g.provider_department_id, g.status, g.valid_from,
       g.expires_on, g.purpose_code, g.mode, g.items, g.row_condition, g.source_code,
       g.daily_quota,
       EXISTS (SELECT 1 FROM sharing_grant_systems s
               WHERE s.grant_id = g.id AND s.token_id = t.id)
FROM api_tokens t
JOIN departments d ON d.id = t.department_id AND d.active
LEFT JOIN sharing_grants g ON g.id = %(grant)s
WHERE t.digest = %(digest)s AND t.revoked_at IS NULL AND t.expires_at > now()
"""

# Conditional, so that of several calls that saw a stale time only one writes it.
TOUCH = """UPDATE api_tokens SET last_used_at = now()
WHERE id = %s AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')"""

RECORD_COLUMNS = """(at, actor_id, token_id, actor_name, actor_department_id, address, action,
  object_type, object_id, owner_department_id, rows, personal, fields, outcome, reason,
  grant_id, purpose, subject_digest)"""

# A constant column list; every value is bound.
REFUSAL = f"""
INSERT INTO access_records {RECORD_COLUMNS}
VALUES (now(), NULL, %(token)s, %(name)s, %(dept)s, %(address)s, %(action)s, 'share_source',
        %(object)s, %(owner)s, 0, %(personal)s, %(fields)s, 'refused', %(reason)s, %(grant)s,
        %(purpose)s, %(digest)s)
"""  # noqa: S608

# The quota, taken in a transaction of its own that commits asynchronously: every call of a
# grant updates its one usage row, and a row lock held across a durable commit would queue the
# calls of a burst behind one WAL flush each. A call taken here and lost in a crash lets a few
# more calls through that day; the access record, below, is what must be durable (Art. 40).
# On Citus the usage table stays local to the coordinator (decision 0022), so this holds there.
TAKE = """
INSERT INTO sharing_grant_usage AS u (grant_id, day, calls, rows)
VALUES (%(grant)s, %(day)s, 1, 0)
ON CONFLICT (grant_id, day) DO UPDATE SET calls = u.calls + 1
WHERE %(quota)s::integer IS NULL OR u.calls < %(quota)s::integer
RETURNING calls, set_config('synchronous_commit', 'off', true)
"""

# A call the record could not be written for served nothing: it gives its call back.
GIVE_BACK = """
UPDATE sharing_grant_usage SET calls = calls - 1
WHERE grant_id = %(grant)s AND day = %(day)s AND calls > 0
RETURNING set_config('synchronous_commit', 'off', true)
"""

# Rows returned, added for the usage dashboards a second at a time (``_flush_rows``).
ADD_ROWS = """
UPDATE sharing_grant_usage SET rows = rows + %(rows)s
WHERE grant_id = %(grant)s AND day = %(day)s
RETURNING set_config('synchronous_commit', 'off', true)
"""

# {cols}, {allowed}, {table}, {key}: identifiers and the row condition, built per source.
# Durable (synchronous commit): when it returns, the record is on disk.
CALL = f"""
WITH d AS (
  SELECT {{cols}}, {{allowed}} AS _allowed FROM {{table}} WHERE {{key}} = %(key)s LIMIT 1
),
s AS (
  SELECT EXISTS (SELECT 1 FROM d) AS found, COALESCE((SELECT _allowed FROM d), false) AS inside
),
r AS (
  INSERT INTO access_records {RECORD_COLUMNS}
  SELECT now(), NULL, %(token)s, %(name)s, %(dept)s, %(address)s, %(action)s, 'share_source',
         %(object)s, %(owner)s,
         CASE WHEN found AND inside THEN 1 ELSE 0 END, %(personal)s, %(fields)s,
         CASE WHEN found AND inside THEN 'allowed' ELSE 'refused' END,
         CASE WHEN NOT found THEN 'sharing.subject_not_found'
              WHEN NOT inside THEN 'sharing.outside_row_conditions' ELSE '' END,
         %(grant)s, %(purpose)s, %(digest)s
  FROM s
  RETURNING id
)
SELECT (SELECT id FROM r) AS _record, d.*
FROM (SELECT 1) AS one LEFT JOIN d ON true
"""  # noqa: S608


# On Citus (decision 0022) the read and the record are two statements, the record written
# before anything is answered: in one statement the read's shard (by subject key) and the
# record's (by id) made a distributed plan with intermediate results, 3.7 ms a call on the
# coordinator against 0.1 ms on one PostgreSQL; apart, each is a single-shard router statement.
READ = """SELECT {cols}, {allowed} AS _allowed FROM {table} WHERE {key} = %(key)s LIMIT 1"""

RECORD = f"""
INSERT INTO access_records {RECORD_COLUMNS}
VALUES (now(), NULL, %(token)s, %(name)s, %(dept)s, %(address)s, %(action)s, 'share_source',
        %(object)s, %(owner)s, %(rows)s, %(personal)s, %(fields)s, %(outcome)s, %(reason)s,
        %(grant)s, %(purpose)s, %(digest)s)
RETURNING id
"""  # noqa: S608


def record_params(found: bool, inside: bool) -> dict[str, Any]:
    """The record's outcome for what the read found, as ``CALL`` writes it."""
    if found and inside:
        return {"rows": 1, "outcome": "allowed", "reason": ""}
    reason = "sharing.subject_not_found" if not found else "sharing.outside_row_conditions"
    return {"rows": 0, "outcome": "refused", "reason": reason}


def statement(
    source: SharedSource, chosen: tuple[SourceItem, ...], grant: Grant, *, citus: bool = False
) -> tuple[bytes, dict[str, Any]]:
    """The call's statement (``CALL``), or on Citus its read alone (``READ``)."""
    assert source.table_name is not None
    cond = RowCondition.of(grant.row_condition)
    extra: dict[str, Any] = {}
    condition: str | None = None  # no row condition
    if cond is not None:
        item = source.item(cond.item)
        condition = "" if item is None else item.column  # "": an item the source lost
        if item is not None:
            extra["row_values"] = list(cond.values)
    columns = tuple(i.column for i in chosen)
    template = READ if citus else CALL
    return _render(template, source.table_name, source.key_column, columns, condition), extra


@functools.lru_cache(maxsize=1024)
def _render(
    template: str, table: str, key: str | None, columns: tuple[str, ...], condition: str | None
) -> bytes:
    """The call's statement for one layout, rendered once (composing it was a twentieth of a
    call's CPU): identifiers only, every value is bound."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    if condition is None:
        allowed: sql.Composable = sql.SQL("true")
    elif not condition:
        allowed = sql.SQL("false")  # an item the source no longer has: no row (fail closed)
    else:
        allowed = sql.SQL("COALESCE({}::text = ANY(%(row_values)s::text[]), false)").format(
            sql.Identifier(condition)
        )
    key_sql: sql.Composable = sql.Identifier(key) if key else sql.SQL("NULL")
    stmt = sql.SQL(template).format(
        cols=cols, allowed=allowed, table=sql.Identifier(table), key=key_sql
    )
    return stmt.as_bytes(None)
