"""The data access API's hot path on PostgreSQL (decision 0014): lookup by subject key and
verification, served from the event loop over an async psycopg pool in three round trips.

The same rules as ``sharing.data`` (the ordinary path, which serves SQLite, paged queries and
sync, and PostgreSQL when the hot path is off):

1. The token and the grant are read afresh on every call, in one statement (the token by its
   digest, live and unexpired, its department active; the grant by id; whether it names the
   token): revocation and expiry take effect on the next call. Nothing about a grant is cached.
2. The checks run in ``access.authorize``'s order through the very functions it uses
   (``require_system``, ``check_grant``, ``choose_items``), so codes and order cannot drift;
   the per-token rate limit is charged as ``resolve_actor`` charges it.
3. One statement takes a call from the quota (the conditional upsert of ``sharing.quota``) in a
   transaction that commits asynchronously: the grant's one usage row must not stay locked
   across a WAL flush, or a burst of calls queues behind one flush each. None left: the refusal
   is recorded (durably) and answered.
4. One statement then reads the subject (granted items asked for, and whether the row is
   inside the row condition) and inserts the access record whose outcome and reason follow.
   It runs in autocommit with synchronous commit: when it returns, the record is on disk; only
   then is data sent. If it fails, the call answers ``sharing.record_unavailable`` (503), sends
   nothing and gives its call back. Rows returned are added to the usage within a second.
5. A refusal before those statements is recorded by one INSERT, then answered; it is never
   raised to the generic handler, so it is recorded once.

Only the layout of a source (its table, key and item columns) is cached, for one second
(``hotpath_layouts``). On Citus the read by key runs on the worker holding the key's shard
(``hotpath_nodes``, decision 0023).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from govdata.catalog.vocab import SubjectKind
from govdata.core import distribution
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.crypto import canonical_subject_key, subject_digest, token_digest
from govdata.core.errors import DomainError, InvalidInput, NotAuthenticated
from govdata.org.auth import TOKEN_PREFIX
from govdata.sharing import errors, quota
from govdata.sharing import hotpath_sql as sql_text
from govdata.sharing.access import check_grant, choose_items, own_grant, require_system
from govdata.sharing.data import as_json_value, canonical_text, signed_delivery
from govdata.sharing.hotpath_layouts import Layouts
from govdata.sharing.hotpath_nodes import NodePools
from govdata.sharing.models import Grant
from govdata.sharing.sources import SharedSource, SourceItem
from govdata.web.ratelimit import check_actor

Kind = Literal["lookup", "verify"]
ROWS_FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class _Resolved:
    actor: Actor
    grant: Grant | None
    named: bool
    daily_quota: int | None


class _Answer(Exception):
    """A refusal already recorded: answered as is (never reaches the generic handler)."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.code)
        self.error = error


def error_json(exc: DomainError) -> JSONResponse:
    """The generic handler's JSON body (``web.errors.error_response``), and ``Retry-After``."""
    response = JSONResponse(
        {"error": {"code": exc.code, "message": exc.message, "detail": exc.detail}},
        status_code=exc.status,
    )
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def conninfo(engine: Engine) -> str:
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class HotPath:
    def __init__(
        self, dsn: str, size: int, factory: sessionmaker[Session], *, citus: bool = False
    ) -> None:
        self.citus = citus
        self.pool = AsyncConnectionPool(
            dsn, min_size=size, max_size=size, open=False, kwargs={"autocommit": True}
        )
        # On Citus, the read by key goes to the worker holding the key's shard.
        self.nodes = NodePools(dsn, size) if citus else None
        self.factory = factory
        self._opened = False
        self._lock = asyncio.Lock()
        # The only thing cached: each source's layout, for a second (``hotpath_layouts``).
        self.layouts = Layouts(factory, citus=citus)
        # Tokens whose "last used" time is being written, off the call's path.
        self._touching: set[int] = set()
        self._grants: dict[int, tuple[tuple[Any, ...], Grant]] = {}
        self._rows: dict[tuple[int, date], int] = {}
        self._flusher: asyncio.Task[None] | None = None
        # One flush at a time: a flush returns once every row counted before it is written,
        # even those a flush already under way took.
        self._flushing = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _open(self) -> None:
        if self._opened:
            return
        async with self._lock:
            if not self._opened:
                await self.pool.open(wait=True)
                self._opened = True

    async def close(self) -> None:
        if self._opened:
            if self._flusher is not None:
                self._flusher.cancel()
            # Background writes ("last used") hold a pool connection: closed under them, that
            # connection would stay open past the loop's end, a session the server keeps.
            pending = [*self._tasks, *self.layouts.reading()]
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            await self.flush_rows()
            if self.nodes is not None:
                await self.nodes.close()
            await self.pool.close()
            self._opened = False

    # --- rows returned, for the usage dashboards ----------------------------------------------

    def _count_row(self, grant_id: int, day: date) -> None:
        """One row returned under the grant today: added to its usage within a second. The
        access records are the account of what left; this is the dashboards' daily total."""
        self._rows[(grant_id, day)] = self._rows.get((grant_id, day), 0) + 1
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(ROWS_FLUSH_SECONDS)
        # Shielded: closing cancels this task, never a flush that has taken its rows.
        await asyncio.shield(self.flush_rows())

    async def flush_rows(self) -> None:
        async with self._flushing:
            pending, self._rows = self._rows, {}
            if not pending:
                return
            try:
                async with self.pool.connection() as conn:
                    for (grant_id, day), rows in pending.items():
                        await conn.execute(
                            sql_text.ADD_ROWS, {"grant": grant_id, "day": day, "rows": rows}
                        )
            except (PoolTimeout, psycopg.Error):
                for key, rows in pending.items():  # kept for the next flush
                    self._rows[key] = self._rows.get(key, 0) + rows

    def _touch(self, token_id: int) -> None:
        """Write the token's "last used" time in the background: informational, so a call
        never waits for it (nor for the row lock a burst of calls on one token would take)."""
        if token_id in self._touching:
            return
        self._touching.add(token_id)

        async def touch() -> None:
            try:
                async with self.pool.connection() as conn:
                    await conn.execute(sql_text.TOUCH, (token_id,))
            except (PoolTimeout, psycopg.Error):
                pass  # the next call tries again
            finally:
                self._touching.discard(token_id)

        task = asyncio.get_running_loop().create_task(touch())
        self._tasks.add(task)  # held until done: the loop keeps only a weak reference
        task.add_done_callback(self._tasks.discard)

    def _sign(
        self, source: SharedSource, grant_id: int, key: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        with self.factory() as session:
            return signed_delivery(session, source, grant_id, key, values)

    # --- the call ---------------------------------------------------------------------------

    async def serve(
        self,
        request: Request,
        kind: Kind,
        grant_id: int,
        subject_key: str,
        purpose: str,
        items: Sequence[str] | None,
        values: dict[str, Any] | None = None,
    ) -> Response:
        await self._open()
        key = canonical_subject_key(subject_key)
        action = f"sharing.{kind}"
        digest = subject_digest(key) if key else None
        try:
            async with self.pool.connection() as conn:
                resolved = await self._resolve(conn, request, grant_id)
                base = {
                    "token": resolved.actor.token_id,
                    "name": resolved.actor.name[:100],
                    "dept": min(resolved.actor.department_ids(), default=None),
                    "address": resolved.actor.address,
                    "action": action,
                    "grant": grant_id,
                    "purpose": purpose[:200],
                    "digest": digest,
                }
                try:
                    source, chosen = await self._authorize(
                        resolved, kind, purpose, items, values, grant_id
                    )
                except DomainError as exc:
                    named = None
                    if resolved.grant is not None and own_grant(resolved.actor, resolved.grant):
                        named = await self.layouts.get(resolved.grant.source_code)  # as the gate's
                    await self._refuse(conn, base, exc.code, named)
                    return error_json(exc)
                row = await self._call(conn, base, source, chosen, resolved, key, kind)
        except _Answer as answer:
            return error_json(answer.error)
        except (PoolTimeout, psycopg.OperationalError):
            # No connection to record on: nothing was read, nothing is sent (Art. 40).
            busy = errors.RecordUnavailable()
            response = error_json(busy)
            response.headers["Retry-After"] = "5"
            return response
        if kind == "lookup":
            out = {i.name: as_json_value(row[i.column]) for i in chosen}
            envelope = None
            if self.layouts.is_document(source.code):
                # Art. 28: signed by the provider's key, or not delivered at all. The record is
                # already committed (allowed): a signing failure answers 503 and sends nothing,
                # so the record over-states, never under-states, what left (decision 0014).
                try:
                    envelope = await run_in_threadpool(self._sign, source, grant_id, key, out)
                except DomainError as exc:
                    return error_json(exc)
            return JSONResponse(
                {
                    "grant_id": grant_id,
                    "source_code": source.code,
                    "subject_key": key,
                    "values": out,
                    "signed_document": envelope,
                }
            )
        assert values is not None
        result = {
            i.name: _same(values[i.name], row[i.column], key=i.is_subject_key) for i in chosen
        }
        return JSONResponse({"grant_id": grant_id, "match": all(result.values()), "items": result})

    async def _resolve(
        self, conn: psycopg.AsyncConnection[Any], request: Request, grant_id: int
    ) -> _Resolved:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret.startswith(TOKEN_PREFIX):
            raise NotAuthenticated("auth.invalid_token", "接口令牌无效、已过期或已被吊销。")
        cur = await conn.execute(
            sql_text.RESOLVE, {"grant": grant_id, "digest": token_digest(secret)}
        )
        row = await cur.fetchone()
        if row is None:
            raise NotAuthenticated("auth.invalid_token", "接口令牌无效、已过期或已被吊销。")
        (tid, dept, tname, scopes, last_used, dname, gid, req, prov, status, valid_from,
         expires_on, purpose_code, mode, items, row_condition, source_code, daily_quota,
         named) = row  # fmt: skip
        if last_used is None or (datetime.now(last_used.tzinfo) - last_used).total_seconds() > 60:
            self._touch(tid)
        actor = Actor(
            person_id=None,
            name=f"{dname}·{tname}",
            grants=(RoleGrant(Role.DEPARTMENT_SYSTEM, department_id=dept),),
            token_id=tid,
            scopes=frozenset(str(scopes).split()),
            address=request.client.host if request.client is not None else None,
        )
        request.state.actor = actor
        if getattr(request.app.state, "rate_limiter", None) is not None:
            await run_in_threadpool(check_actor, request, actor)  # per token (Art. 39)
        fields: tuple[Any, ...] = (gid, req, prov, status, valid_from, expires_on, purpose_code)
        fields += (mode, tuple(items or ()), repr(row_condition), source_code)
        grant = None if gid is None else self._grant(fields, items, row_condition)
        return _Resolved(actor, grant, bool(named), daily_quota)

    def _grant(self, fields: tuple[Any, ...], items: Any, row_condition: Any) -> Grant:
        """The grant as this call read it. Building an ORM object is a tenth of a call's CPU,
        so the object built from the same row as the last call's is reused: it is never
        changed or attached to a session, and any difference in the row builds a new one."""
        cached = self._grants.get(fields[0])
        if cached is not None and cached[0] == fields:
            return cached[1]
        gid, req, prov, status, valid_from, expires_on, purpose_code, mode = fields[:8]
        grant = Grant(
            id=gid,
            requester_department_id=req,
            provider_department_id=prov,
            status=status,
            valid_from=valid_from,
            expires_on=expires_on,
            purpose_code=purpose_code,
            mode=mode,
            items=list(items or []),
            row_condition=row_condition,
            source_code=fields[10],
        )
        if len(self._grants) > 10_000:
            self._grants.clear()
        self._grants[gid] = (fields, grant)
        return grant

    async def _authorize(
        self,
        resolved: _Resolved,
        kind: Kind,
        purpose: str,
        items: Sequence[str] | None,
        values: dict[str, Any] | None,
        grant_id: int,
    ) -> tuple[SharedSource, tuple[SourceItem, ...]]:
        """``access.authorize``'s checks, in its order, with its functions."""
        require_system(resolved.actor)
        if kind == "verify":
            if not values:
                raise InvalidInput(
                    "sharing.values_required", "请至少提供一个需要核验的信息项及其值。"
                )
            items = list(values)
        wanted = check_grant(
            resolved.actor,
            resolved.grant,
            resolved.named,
            purpose=purpose,
            items=items,
            want="verification" if kind == "verify" else "data",
        )
        assert resolved.grant is not None
        source = await self.layouts.get(resolved.grant.source_code)
        if source is None or source.table_name is None:
            raise errors.SourceNotLoaded()
        return source, choose_items(source, wanted)

    async def _refuse(
        self,
        conn: psycopg.AsyncConnection[Any],
        base: dict[str, Any],
        reason: str,
        source: SharedSource | None = None,
    ) -> None:
        """The refusal's record; it names the grant's source when the grant is the caller's
        own (``access.refused_source``)."""
        params = base | {
            "object": source.code if source is not None else "",
            "owner": source.provider_department_id if source is not None else None,
            "personal": bool(
                source is not None and source.subject_kind == SubjectKind.PERSON.value
            ),
            "fields": "",
            "reason": reason[:80],
        }
        try:
            await conn.execute(sql_text.REFUSAL, params)
        except psycopg.Error as exc:
            raise _Answer(errors.RecordUnavailable()) from exc

    async def _call(
        self,
        conn: psycopg.AsyncConnection[Any],
        base: dict[str, Any],
        source: SharedSource,
        chosen: tuple[SourceItem, ...],
        resolved: _Resolved,
        key: str,
        kind: Kind,
    ) -> dict[str, Any]:
        grant = resolved.grant
        assert grant is not None
        params = base | {
            "key": key,
            "day": quota.beijing_day(),
            "quota": resolved.daily_quota,
            "object": source.code,
            "owner": source.provider_department_id,
            "personal": source.subject_kind in (SubjectKind.PERSON.value, "person"),
            "fields": ",".join(i.name for i in chosen)[:2000],
        }
        await self._take(conn, params)
        try:
            row = await self._read_and_record(conn, params, source, chosen, grant)
        except _Answer:
            await self._give_back(conn, params)
            raise
        if row["_allowed"] is None or not row["_allowed"]:
            raise _Answer(errors.SubjectNotFound())
        self._count_row(grant.id, params["day"])
        return row

    async def _take(self, conn: psycopg.AsyncConnection[Any], params: dict[str, Any]) -> None:
        """A call from the day's quota (``sharing.quota``'s conditional upsert); none left: the
        refusal recorded (durably) and answered."""
        try:
            cur = await conn.execute(sql_text.TAKE, params)
            taken = await cur.fetchone()
        except psycopg.Error as exc:
            raise _Answer(errors.RecordUnavailable()) from exc
        if taken is not None:
            return
        try:
            await conn.execute(sql_text.REFUSAL, params | {"reason": "sharing.quota_exceeded"})
        except psycopg.Error as exc:
            raise _Answer(errors.RecordUnavailable()) from exc
        raise _Answer(quota.QuotaExceeded(quota.seconds_to_midnight()))

    async def _give_back(self, conn: psycopg.AsyncConnection[Any], params: dict[str, Any]) -> None:
        # If this fails too, the call stays counted: the quota errs on the side of fewer calls.
        with contextlib.suppress(psycopg.Error):
            await conn.execute(sql_text.GIVE_BACK, params)

    async def _read_and_record(
        self,
        conn: psycopg.AsyncConnection[Any],
        params: dict[str, Any],
        source: SharedSource,
        chosen: tuple[SourceItem, ...],
        grant: Grant,
    ) -> dict[str, Any]:
        for attempt in range(2):
            stmt, extra = sql_text.statement(source, chosen, grant, citus=self.citus)
            try:
                if self.citus:
                    found, names = await self._read_on_node(conn, stmt, params | extra, source)
                    found = await self._record_read(conn, params, found, len(names))
                    names.insert(0, "_record")
                else:
                    found, names = await _fetch_one(conn, stmt, params | extra)
            except psycopg.errors.UndefinedTable:
                if attempt == 0:  # a full reload renamed the pool's table: read the layout again
                    fresh = await self.layouts.get(source.code, fresh=True)
                    if fresh is None or fresh.table_name is None:
                        break
                    source = fresh
                    continue
                raise _Answer(errors.RecordUnavailable()) from None
            except psycopg.Error as exc:
                raise _Answer(errors.RecordUnavailable()) from exc
            if found is None or found[0] is None:
                raise _Answer(errors.RecordUnavailable())
            return dict(zip(names, found, strict=True))
        raise _Answer(errors.SourceNotLoaded())

    async def _read_on_node(
        self,
        conn: psycopg.AsyncConnection[Any],
        stmt: bytes,
        params: dict[str, Any],
        source: SharedSource,
    ) -> tuple[Any, list[str]]:
        """On Citus: the read, on the worker holding the key's shard when the source's map
        is known (its table hash-distributed), else through the coordinator's connection."""
        shards = self.layouts.shards(source)
        if shards is None or self.nodes is None:
            return await _fetch_one(conn, stmt, params)
        async with self.nodes.connection(shards.node_for(params["key"])) as node:
            return await _fetch_one(node, stmt, params)

    @staticmethod
    async def _record_read(
        conn: psycopg.AsyncConnection[Any], params: dict[str, Any], row: Any, width: int
    ) -> tuple[Any, ...] | None:
        """On Citus: the record of what the read found, written (durably) before anything is
        answered; the row as ``CALL`` returns it, its record's id first."""
        inside = row is not None and bool(row[-1])
        cur = await conn.execute(
            sql_text.RECORD, params | sql_text.record_params(row is not None, inside)
        )
        record = await cur.fetchone()
        if record is None:
            return None
        return (record[0], *(row if row is not None else (None,) * width))


async def _fetch_one(
    conn: psycopg.AsyncConnection[Any], stmt: bytes, params: dict[str, Any]
) -> tuple[Any, list[str]]:
    """The statement's one row (or None) and its column names."""
    cur = await conn.execute(stmt, params)
    return await cur.fetchone(), [c.name for c in cur.description or ()]


def _same(given: Any, stored: Any, *, key: bool) -> bool:
    a, b = canonical_text(given, key=key), canonical_text(stored, key=key)
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


_NONE = object()


def has_bearer(request: Request) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(value.strip())


async def shutdown(app: FastAPI) -> None:
    """At the app's shutdown: close its hot path's pool, if one was opened."""
    hot = getattr(app.state, "sharing_hot", None)
    if isinstance(hot, HotPath):
        await hot.close()


def for_app(app: FastAPI) -> HotPath | None:
    """The app's hot path: on PostgreSQL with ``sharing_hot_path_pool`` > 0, else None."""
    hot = getattr(app.state, "sharing_hot", _NONE)
    if hot is _NONE:
        settings = app.state.settings
        engine: Engine = app.state.engine
        hot = None
        if settings.sharing_hot_path_pool > 0 and engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                citus = distribution.enabled(conn)
            hot = HotPath(
                conninfo(engine),
                settings.sharing_hot_path_pool,
                app.state.sessionmaker,
                citus=citus,
            )
        app.state.sharing_hot = hot
    return hot if isinstance(hot, HotPath) else None
