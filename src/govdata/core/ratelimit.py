"""Rate limits (Art. 39 控制): bulk extraction is stopped with 429 and ``Retry-After``.

Four budgets, each a setting (``GOVDATA_RATE_LIMIT_*``, decision 0011):

- per network address, every request, signed in or not (the sign-in page and the API's
  sign-in included);
- per person and per API token, every request once the credential is resolved: keyed on the
  person, so a person's several sessions share one budget;
- per person or token, reads of personal data: requests and rows. ``core.access.record_access``
  charges them whenever it records a personal read, so every path that returns personal data
  (pages, JSON, downloads) counts, whatever its URL.

The algorithm is the ``limits`` library's fixed window: a key counts the hits of a window that
opens at its first hit; a hit over the limit is refused until the window closes, and
``Retry-After`` says when that is. The counters are where every worker process sees them: on
PostgreSQL an UNLOGGED table, one upsert per hit on a connection pool of its own in autocommit
(a request that rolls back still counted; a request holding its own connection never waits
for a second one from the request pool); on SQLite, one process by design, the library's
in-memory storage.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ClassVar

import psycopg
import structlog
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import (
    BigInteger,
    Engine,
    Float,
    Integer,
    String,
    bindparam,
    cast,
    create_engine,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.actor import Actor
from govdata.core.db import Base
from govdata.core.settings import Settings

log = structlog.get_logger("govdata.ratelimit")
STORAGE_ERRORS = (SQLAlchemyError, psycopg.Error)


class RateLimitCounter(Base):
    """One rate-limit window's count (PostgreSQL deployments; UNLOGGED: counters need no
    crash safety, and skipping the write-ahead log keeps a hit cheap)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    # Seconds since the epoch on the database's clock: every worker reads the same clock.
    expires_at: Mapped[float] = mapped_column(Float)


class RateLimited(Exception):
    """A budget is spent: 429 with ``Retry-After`` (rendered by ``web.errors``).

    Not a ``DomainError``: pages that show a service's refusal inside a form must not swallow
    it, it always becomes the 429 response.
    """

    code = "request.rate_limited"
    status = 429

    def __init__(self, retry_after: int, *, scope: str, limit: str) -> None:
        self.retry_after = max(1, retry_after)
        self.message = f"请求过于频繁，请于{self.retry_after}秒后重试。"
        self.detail = {"retry_after": self.retry_after, "scope": scope, "limit": limit}
        # Set by ``record_access`` once it recorded the refused read: the unit of work keeps it.
        self.keep_changes = False
        super().__init__(f"{self.code}: {scope} {limit}")


# --- counters in the database (PostgreSQL) ----------------------------------------------------

# One statement per hit: a new key or a closed window starts over, else the count grows.
# ``now()`` is the database's clock (the same for every worker), in seconds since the epoch.
# Sent through the driver as a prepared statement: a hit is on every request's path.
_INCR = """
    INSERT INTO rate_limit_counters AS c (key, hits, expires_at)
    VALUES (%s, %s, CAST(extract(epoch FROM now()) AS double precision) + %s)
    ON CONFLICT (key) DO UPDATE SET
      hits = CASE WHEN c.expires_at <= CAST(extract(epoch FROM now()) AS double precision)
                  THEN excluded.hits ELSE c.hits + excluded.hits END,
      expires_at = CASE WHEN c.expires_at <= CAST(extract(epoch FROM now()) AS double precision)
                        THEN excluded.expires_at ELSE c.expires_at END
    RETURNING hits
"""
_DB_NOW = cast(func.extract("epoch", func.now()), Float)
_OPEN = RateLimitCounter.expires_at > _DB_NOW
_KEY = RateLimitCounter.key == bindparam("key")
_GET = select(RateLimitCounter.hits).where(_KEY, _OPEN)
_EXPIRY = select(RateLimitCounter.expires_at).where(_KEY, _OPEN)
_PRUNE = delete(RateLimitCounter).where(RateLimitCounter.expires_at <= _DB_NOW)
PRUNE_EVERY = 1000  # hits per process between two sweeps of closed windows


class DatabaseStorage(Storage):
    """A ``limits`` storage on the platform's database (the fixed-window strategy's calls).

    ``engine`` is an engine of its own in autocommit (``counter_engine``): each hit is its own
    transaction, so it counts whatever becomes of the request.
    """

    STORAGE_SCHEME: ClassVar[list[str]] = ["govdata+postgresql"]  # type: ignore[misc]

    def __init__(self, engine: Engine) -> None:
        super().__init__(None, wrap_exceptions=False)
        self.engine = engine
        self._hits = itertools.count(1)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return STORAGE_ERRORS

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if next(self._hits) % PRUNE_EVERY == 0:
            with self.engine.connect() as conn:
                conn.execute(_PRUNE)
        # The driver's connection, no SQLAlchemy statement: ~40 % less per hit (bench).
        pooled = self.engine.raw_connection()
        try:
            driver = pooled.driver_connection
            assert driver is not None
            row = driver.execute(_INCR, (key, amount, expiry), prepare=True).fetchone()
            return int(row[0])
        except psycopg.OperationalError:
            pooled.invalidate()  # the server dropped it: the pool opens a new one
            raise
        finally:
            pooled.close()

    def get(self, key: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(_GET, {"key": key}).scalar() or 0)

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as conn:
            found = conn.execute(_EXPIRY, {"key": key}).scalar()
        return float(found) if found is not None else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.connect() as conn:
            conn.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))


def counter_engine(engine: Engine) -> Engine:
    """An autocommit engine on ``engine``'s database, with a small pool of its own."""
    return create_engine(
        engine.url,
        isolation_level="AUTOCOMMIT",
        pool_size=4,
        max_overflow=16,
        pool_timeout=5,
        pool_reset_on_return=None,  # autocommit: nothing to roll back when it returns
        # No pre-ping: it would double a hit's round trips. A connection the server dropped
        # fails one hit (let through, logged) and the pool replaces it.
    )


# --- the limits ----------------------------------------------------------------------------------


def parse_limit(value: str, setting: str) -> RateLimitItem | None:
    """A setting in the library's notation (``600/minute``); empty or ``0`` turns it off."""
    value = value.strip()
    if value in ("", "0", "off"):
        return None
    try:
        return parse(value)
    except ValueError:
        raise ValueError(f"{setting}: not a rate limit ({value!r}; e.g. 600/minute)") from None


@dataclass(frozen=True)
class Budgets:
    per_address: RateLimitItem | None
    per_person: RateLimitItem | None
    per_token: RateLimitItem | None
    personal_reads: RateLimitItem | None
    personal_rows: RateLimitItem | None


def budgets_from(settings: Settings) -> Budgets | None:
    """The settings' budgets; None when rate limiting is off (then no limiter at all)."""
    if not settings.rate_limit_enabled:
        return None
    return Budgets(
        per_address=parse_limit(settings.rate_limit_per_address, "GOVDATA_RATE_LIMIT_PER_ADDRESS"),
        per_person=parse_limit(settings.rate_limit_per_person, "GOVDATA_RATE_LIMIT_PER_PERSON"),
        per_token=parse_limit(settings.rate_limit_per_token, "GOVDATA_RATE_LIMIT_PER_TOKEN"),
        personal_reads=parse_limit(
            settings.rate_limit_personal_reads, "GOVDATA_RATE_LIMIT_PERSONAL_READS"
        ),
        personal_rows=parse_limit(
            settings.rate_limit_personal_rows, "GOVDATA_RATE_LIMIT_PERSONAL_ROWS"
        ),
    )


class Limiter:
    """Charges hits to keys and raises ``RateLimited`` when a budget is spent.

    A storage failure lets the request through (logged): an unreachable counter must not
    take the platform down, and the request itself needs the same database.
    """

    def __init__(self, storage: Storage, budgets: Budgets) -> None:
        self.storage = storage
        self.budgets = budgets
        self.blocking = isinstance(storage, DatabaseStorage)  # hits do I/O: off the event loop
        self._strategy = FixedWindowRateLimiter(storage)

    def _hit(self, item: RateLimitItem | None, scope: str, key: str, cost: int = 1) -> None:
        if item is None:
            return
        # A single read larger than the whole budget spends it (allowed once per window).
        cost = min(cost, item.amount)
        try:
            if self._strategy.hit(item, scope, key, cost=cost):
                return
            reset = self._strategy.get_window_stats(item, scope, key).reset_time
        except STORAGE_ERRORS as exc:
            log.warning("rate_limit_storage_failed", scope=scope, error=str(exc)[:300])
            return
        raise RateLimited(math.ceil(reset - time.time()), scope=scope, limit=str(item))

    def check_address(self, address: str) -> None:
        self._hit(self.budgets.per_address, "address", address)

    def check_actor(self, actor: Actor) -> None:
        """Every request of a signed-in person or a token (after its credential resolved)."""
        if actor.token_id is not None:
            self._hit(self.budgets.per_token, "token", str(actor.token_id))
        elif actor.person_id is not None:
            self._hit(self.budgets.per_person, "person", str(actor.person_id))

    def charge_personal_read(self, actor: Actor, rows: int) -> None:
        """A read that returns personal data: one request and ``rows`` rows of its budgets."""
        identity = _identity(actor)
        if identity is None:
            return
        self._hit(self.budgets.personal_reads, "personal_reads", identity)
        if rows > 0:
            self._hit(self.budgets.personal_rows, "personal_rows", identity, cost=rows)

    def close(self) -> None:
        if isinstance(self.storage, DatabaseStorage):
            self.storage.engine.dispose()


def _identity(actor: Actor) -> str | None:
    if actor.token_id is not None:
        return f"token:{actor.token_id}"
    if actor.person_id is not None:
        return f"person:{actor.person_id}"
    return None


def make_limiter(budgets: Budgets, engine: Engine) -> Limiter:
    """Counters shared by every worker on PostgreSQL; in this process on SQLite."""
    if engine.dialect.name == "postgresql":
        return Limiter(DatabaseStorage(counter_engine(engine)), budgets)
    return Limiter(MemoryStorage(), budgets)


# --- the request's limiter, for services that charge personal reads ------------------------------

_current: ContextVar[Limiter | None] = ContextVar("govdata_rate_limiter", default=None)


@contextmanager
def bound(limiter: Limiter | None) -> Iterator[None]:
    """Within a request: ``charge_personal_read`` charges ``limiter`` (the web layer binds it;
    jobs and the CLI run unbound, with no limits)."""
    token = _current.set(limiter)
    try:
        yield
    finally:
        _current.reset(token)


def charge_personal_read(actor: Actor, rows: int) -> None:
    limiter = _current.get()
    if limiter is not None:
        limiter.charge_personal_read(actor, rows)
