"""The data access API's service (Art. 22, 26 ¶2, 40, 50(4)(5)): lookup by subject key,
verification (数据核验), filtered paged queries and incremental sync, for department systems
under a grant.

Every call goes through ``access.authorize`` (the one gate), takes a call from the grant's
daily quota (``quota.take_call``), reads only the granted items asked for under the grant's
row condition, and leaves exactly one access record (``access.record_call``), allowed or
refused:

- A refusal is recorded here with the grant, the purpose and the subject's digest, and raised
  with ``keep_changes`` so the unit of work commits the record and the generic error handler
  does not record the same refusal a second time (``web.errors.is_recorded_refusal``).
- Fail closed (Art. 40): the record is written before anything is returned, in the request's
  transaction, which the unit of work commits before the response is serialized; a record that
  cannot be written refuses the call (``sharing.record_unavailable``, 503) and no data leaves.
- A subject outside the grant's row condition is answered exactly as an absent one
  (``sharing.subject_not_found``); the record says the true reason
  (``sharing.outside_row_conditions``).

Personal-data budget (Art. 39, ``core.ratelimit``): a system calling under a grant is NOT
charged the per-token personal-read budget. Its control is the grant itself: the items, rows,
purpose and the daily quota the provider set for that purpose (Art. 26 ¶2), plus the per-token
request rate limit every API call passes. The personal budget (60 reads a minute by default)
is sized for people and tokens reading pools outside any grant; charging it here would cap
every grant at that rate whatever the provider granted. Records still say ``personal``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, RowMapping, and_, case, literal, or_, select, true
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from govdata.aggregation.models import Load
from govdata.aggregation.subjects import as_text
from govdata.aggregation.tables import LOAD_COLUMN, ROW_COLUMN
from govdata.core.actor import Actor
from govdata.core.crypto import canonical_subject_key
from govdata.core.db import utcnow
from govdata.core.errors import DomainError, InvalidInput
from govdata.core.settings import get_settings
from govdata.sharing import errors, quota
from govdata.sharing.access import Authorized, authorize, record_call
from govdata.sharing.grants import RowCondition
from govdata.sharing.models import SourceKind
from govdata.sharing.sources import SharedSource

Action = Literal["sharing.lookup", "sharing.verify", "sharing.query", "sharing.sync"]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_FILTERS = 10


# --- values as JSON --------------------------------------------------------------------------


def as_json_value(value: Any) -> str | int | float | bool | None:
    """A stored value as JSON: text, numbers as canonical text of the national types (dates
    ISO, decimals without trailing zeros), booleans and nulls as they are."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_ID_RE = re.compile(r"^[0-9]{17}[0-9Xx]$")


def canonical_text(value: Any, *, key: bool = False) -> str | None:
    """What verification compares: the value as text, trimmed; the subject key and ID numbers
    with letters upper-case (the check character ``x`` is written either way)."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        raw = as_json_value(value)
        text = str(raw).strip()
    if key or _ID_RE.match(text):
        return text.upper()
    return text


# --- the call's frame: one record, refusals recorded once -------------------------------------


@dataclass
class _Call:
    """What the record of a call says; filled in as the call learns it."""

    action: Action
    grant_id: int
    purpose: str
    subject_key: str | None = None
    auth: Authorized | None = None
    fields: tuple[str, ...] = ()


def _record(session: Session, actor: Actor, call: _Call, **kw: Any) -> None:
    source: SharedSource | None = call.auth.source if call.auth is not None else None
    record_call(
        session,
        actor,
        call.action,
        grant_id=call.grant_id,
        source=source,
        purpose=call.purpose,
        fields=kw.pop("fields", call.fields),
        subject_key=call.subject_key,
        **kw,
    )


@contextmanager
def _refusals_recorded(session: Session, actor: Actor, call: _Call) -> Iterator[None]:
    """Record a refused call once, with its true reason, and keep the record (the unit of work
    commits it although the request fails)."""
    try:
        yield
    except _Refused as refused:
        _write_refusal(session, actor, call, refused.reason)
        refused.answer.keep_changes = True
        raise refused.answer from None
    except DomainError as exc:
        if isinstance(exc, errors.RecordUnavailable):
            raise
        _write_refusal(session, actor, call, exc.code)
        exc.keep_changes = True
        raise


def _write_refusal(session: Session, actor: Actor, call: _Call, reason: str) -> None:
    try:
        with session.begin_nested():
            _record(session, actor, call, outcome="refused", reason=reason, rows=0)
    except SQLAlchemyError as exc:
        # The refusal stands; the generic handler records ``request.refused`` if it can.
        raise errors.RecordUnavailable() from exc


class _Refused(Exception):
    """A refusal whose answer differs from its recorded reason (a subject outside the row
    condition is answered as absent)."""

    def __init__(self, answer: DomainError, reason: str) -> None:
        super().__init__(reason)
        self.answer = answer
        self.reason = reason


def _record_allowed(session: Session, actor: Actor, call: _Call, rows: int) -> None:
    """The allowed call's record, written before any data is returned (fail closed)."""
    try:
        with session.begin_nested():
            _record(session, actor, call, rows=rows)
    except SQLAlchemyError as exc:
        raise errors.RecordUnavailable() from exc


def _take_call(session: Session, auth: Authorized) -> date:
    day = quota.beijing_day()
    quota.take_call(session, auth.grant.id, auth.grant.daily_quota, day)
    return day


# --- lookup by subject key -------------------------------------------------------------------


@dataclass(frozen=True)
class LookupResult:
    grant_id: int
    source_code: str
    subject_key: str
    values: dict[str, Any]
    # Documents, licences and contracts (Art. 28): the delivery signed by the provider's key,
    # ``{"document", "signature"}`` as ``govdata verify`` reads it; None for other data.
    signed_document: dict[str, Any] | None = None


def _key_column(auth: Authorized) -> ColumnElement[Any]:
    if not auth.key_column:
        # A pool without a subject key has no lookup: nothing can be found by key.
        raise errors.SubjectNotFound()
    return auth.table.c[auth.key_column]


def _allowed_flag(auth: Authorized) -> ColumnElement[bool]:
    """1 when the row is inside the grant's row condition (NULL values are outside)."""
    if auth.row_filter is None:
        return literal(True)
    return case((auth.row_filter, literal(True)), else_=literal(False))


def _find_subject(session: Session, auth: Authorized, key: str) -> RowMapping:
    """The subject's row (granted items asked for), or the refusal: absent and outside the row
    condition answer alike (``sharing.subject_not_found``) and are recorded apart."""
    cols = [auth.table.c[i.column].label(i.name) for i in auth.items]
    flag = _allowed_flag(auth).label("_allowed")
    row = (
        session.execute(select(flag, *cols).where(_key_column(auth) == key).limit(1))
        .mappings()
        .first()
    )
    if row is None:
        raise errors.SubjectNotFound()
    if not row["_allowed"]:
        raise _Refused(errors.SubjectNotFound(), errors.OutsideRowConditions().code)
    return row


def lookup(
    session: Session,
    actor: Actor,
    grant_id: int,
    subject_key: str,
    *,
    purpose: str,
    items: Sequence[str] | None,
) -> LookupResult:
    """The granted items asked for of one subject (Art. 22, 26 ¶2)."""
    key = canonical_subject_key(subject_key)
    call = _Call("sharing.lookup", grant_id, purpose, subject_key=key or None)
    with _refusals_recorded(session, actor, call):
        call.auth = auth = authorize(
            session, actor, grant_id, purpose=purpose, items=items, want="data"
        )
        call.fields = tuple(i.name for i in auth.items)
        day = _take_call(session, auth)
        row = _find_subject(session, auth, key)
        values = {i.name: as_json_value(row[i.name]) for i in auth.items}
        # Signed before the record is written: a document that cannot be signed is refused
        # (recorded as such), never delivered unsigned (Art. 28).
        envelope = signed_delivery(session, auth.source, grant_id, key, values)
        quota.add_rows(session, auth.grant.id, day, 1)
        _record_allowed(session, actor, call, rows=1)
    return LookupResult(grant_id, auth.source.code, key, values, envelope)


def delivery_payload(source_code: str, subject_key: str, values: dict[str, Any]) -> dict[str, Any]:
    """What a lookup delivered, as signed (Art. 28): the source, the subject and the values."""
    return {"source_code": source_code, "subject_key": subject_key, "values": values}


def signed_delivery(
    session: Session, source: SharedSource, grant_id: int, key: str, values: dict[str, Any]
) -> dict[str, Any] | None:
    """The signed envelope when the source is a document, licence or contract (Art. 28)."""
    from govdata.sharing import signing

    return signing.sign_if_document(
        session,
        department_id=source.provider_department_id,
        payload=delivery_payload(source.code, key, values),
        source_code=source.code,
        grant_id=grant_id,
    )


# --- verification (数据核验) -------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    grant_id: int
    match: bool
    items: dict[str, bool]


def verify(
    session: Session,
    actor: Actor,
    grant_id: int,
    subject_key: str,
    *,
    purpose: str,
    values: Mapping[str, Any],
) -> VerifyResult:
    """数据核验: whether the values given are the stored ones, item by item, without returning
    any stored value; under data and verification-only grants alike; only granted items may be
    compared (a comparison is a read of the item)."""
    key = canonical_subject_key(subject_key)
    call = _Call("sharing.verify", grant_id, purpose, subject_key=key or None)
    with _refusals_recorded(session, actor, call):
        if not values:
            raise InvalidInput("sharing.values_required", "请至少提供一个需要核验的信息项及其值。")
        call.auth = auth = authorize(
            session, actor, grant_id, purpose=purpose, items=list(values), want="verification"
        )
        call.fields = tuple(i.name for i in auth.items)
        day = _take_call(session, auth)
        row = _find_subject(session, auth, key)
        result = {
            i.name: _same(values[i.name], row[i.name], key=i.is_subject_key) for i in auth.items
        }
        quota.add_rows(session, auth.grant.id, day, 1)
        _record_allowed(session, actor, call, rows=1)
    return VerifyResult(grant_id, all(result.values()), result)


def _same(given: Any, stored: Any, *, key: bool) -> bool:
    a, b = canonical_text(given, key=key), canonical_text(stored, key=key)
    return (
        a is not None
        and b is not None
        and hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
    )


# --- filtered, paged queries and incremental sync ---------------------------------------------


@dataclass(frozen=True)
class RowsResult:
    grant_id: int
    source_code: str
    items: list[str]
    rows: list[dict[str, Any]]
    next_cursor: str | None
    as_of: datetime  # pass as the next call's ``changed_since``
    changed_since: datetime | None


def _paging_column(auth: Authorized) -> tuple[str, ColumnElement[Any]]:
    """The column pages are ordered on: the subject key (unique in pools that have one, the
    primary key of base and thematic databases), else a pool row's number."""
    if auth.key_column:
        return auth.key_column, auth.table.c[auth.key_column]
    return ROW_COLUMN, auth.table.c[ROW_COLUMN]


def _cursor_mac(payload: bytes) -> str:
    key = get_settings().secret_key.encode("utf-8")
    return hmac.new(key, b"sharing.cursor|" + payload, hashlib.sha256).hexdigest()[:32]


def encode_cursor(grant_id: int, column: str, last: Any) -> str:
    """An opaque cursor: the grant, the paging column and the last value, HMAC-signed so a
    forged or altered cursor is refused (``sharing.bad_cursor``)."""
    payload = json.dumps(
        {"g": grant_id, "c": column, "v": as_json_value(last)}, separators=(",", ":")
    ).encode("utf-8")
    body = base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")
    return f"{body}.{_cursor_mac(payload)}"


def decode_cursor(cursor: str, grant_id: int, column: str) -> Any:
    try:
        body, mac = cursor.rsplit(".", 1)
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError) as exc:
        raise errors.BadCursor() from exc
    if not hmac.compare_digest(mac, _cursor_mac(payload)):
        raise errors.BadCursor()
    data = json.loads(payload)
    if data.get("g") != grant_id or data.get("c") != column:
        raise errors.BadCursor()
    return data.get("v")


def _filters(
    session: Session, auth: Authorized, filters: Mapping[str, str]
) -> list[ColumnElement[bool]]:
    """``item=value`` filters: on granted items only (a filter on another item would tell its
    values); on the row condition's item, only its allowed values."""
    if len(filters) > MAX_FILTERS:
        raise InvalidInput("sharing.too_many_filters", f"筛选条件不能超过{MAX_FILTERS}个。")
    granted = set(auth.grant.items)
    cond = RowCondition.of(auth.grant.row_condition)
    dialect = session.get_bind().dialect.name
    out: list[ColumnElement[bool]] = []
    for name, value in filters.items():
        if name not in granted:
            raise errors.ItemNotGranted()
        item = auth.source.item(name)
        if item is None:
            raise errors.ItemNotGranted()
        if cond is not None and cond.item == name and value.strip() not in cond.values:
            raise errors.OutsideRowConditions()
        column = auth.table.c[item.column]
        wanted = canonical_subject_key(value) if item.is_subject_key else value.strip()
        out.append(as_text(dialect, column, item.data_type) == wanted)
    return out


def _changed_since(
    session: Session, auth: Authorized, since: datetime
) -> ColumnElement[bool] | None:
    """Rows changed after ``since`` (None: every row has):

    - pools: rows written by a load that finished after it (``_load_id``);
    - base databases: rows where any granted item's provenance (``l<N>``) is such a load;
    - thematic databases: the whole table when it was refreshed after it, else nothing (a
      thematic database is rebuilt as a whole, with no per-row provenance).

    Deletions are not sent: a replacing load drops rows, a client that needs them gone
    resynchronizes in full (without ``changed_since``).
    """
    source = auth.source
    if source.kind is SourceKind.THEMATIC:
        loaded = source.loaded_at
        return true() if loaded is not None and _aware(loaded) > since else literal(False)
    recent = select(Load.id).where(Load.finished_at > since)
    if source.kind is SourceKind.POOL:
        recent = recent.where(Load.pool_id == source.object_id)
        return auth.table.c[LOAD_COLUMN].in_(recent)
    cols = [
        auth.table.c["l" + i.column[1:]]
        for i in auth.items
        if i.column.startswith("v") and ("l" + i.column[1:]) in auth.table.c
    ]
    if not cols:
        return literal(False)
    return or_(*(c.in_(recent) for c in cols))


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def rows(
    session: Session,
    actor: Actor,
    grant_id: int,
    *,
    purpose: str,
    items: Sequence[str] | None,
    filters: Mapping[str, str] | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    changed_since: datetime | None = None,
) -> RowsResult:
    """A page of the granted items of the rows the grant covers, filtered by ``item=value``,
    ordered by the subject key; with ``changed_since``, only rows changed after it
    (incremental sync). The row condition always applies."""
    action: Action = "sharing.sync" if changed_since is not None else "sharing.query"
    call = _Call(action, grant_id, purpose)
    as_of = utcnow()
    with _refusals_recorded(session, actor, call):
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput("sharing.bad_limit", f"每页条数须在1至{MAX_LIMIT}之间。")
        call.auth = auth = authorize(
            session, actor, grant_id, purpose=purpose, items=items, want="data"
        )
        call.fields = tuple(i.name for i in auth.items)
        where = _filters(session, auth, filters or {})
        column_name, column = _paging_column(auth)
        if cursor:
            where.append(column > decode_cursor(cursor, grant_id, column_name))
        if auth.row_filter is not None:
            where.append(auth.row_filter)
        if changed_since is not None:
            since = _aware(changed_since)
            changed = _changed_since(session, auth, since)
            if changed is not None:
                where.append(changed)
        day = _take_call(session, auth)
        cols = [auth.table.c[i.column].label(i.name) for i in auth.items]
        stmt = (
            select(column.label("_page"), *cols)
            .where(and_(true(), *where))
            .order_by(column)
            .limit(limit + 1)
        )
        found = session.execute(stmt).mappings().all()
        page = found[:limit]
        out = [{i.name: as_json_value(r[i.name]) for i in auth.items} for r in page]
        nxt = (
            encode_cursor(grant_id, column_name, page[-1]["_page"]) if len(found) > limit else None
        )
        quota.add_rows(session, auth.grant.id, day, len(out))
        _record_allowed(session, actor, call, rows=len(out))
    return RowsResult(
        grant_id,
        auth.source.code,
        [i.name for i in auth.items],
        out,
        nxt,
        as_of,
        changed_since,
    )
