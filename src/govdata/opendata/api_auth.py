"""Who calls the open-data APIs (issue 14 §9, Art. 33 ¶3): ONE function, ``api_caller``, that
the CKAN-compatible API and the downloads call before anything else.

- A developer key, as CKAN clients send it: ``Authorization: <key>`` (``Bearer <key>`` too)
  or ``X-CKAN-API-Key: <key>``. The call acts as the key's owner (the same identity check
  and entitlement as the portal, ``entitlement.may_obtain``), is charged to the owner's
  per-person rate limit and to the key's daily quota (Beijing day; 429
  ``opendata.key_quota_exceeded`` with ``Retry-After`` to Beijing midnight). An unknown or
  revoked key is 401 ``opendata.invalid_key``: never silently anonymous.
- No key: anonymous (browsing the open catalog needs no sign-in, Art. 29, 32), rate limited
  per network address (``Settings.opendata_anonymous_rate``; 429 ``request.rate_limited``),
  a product decision against bulk scraping.

The daily counter is one conditional upsert on ``DeveloperKeyUsage`` (as sharing's quota):
two workers racing for the last call cannot both get it, and a refused call takes nothing.
"""

from __future__ import annotations

import math
import time as clock
from datetime import date, datetime, time, timedelta

from fastapi import Request
from limits import RateLimitItem
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from govdata.core.actor import Actor
from govdata.core.calendar import CITY_TZ
from govdata.core.errors import NotAuthenticated, TooManyRequests
from govdata.core.ratelimit import STORAGE_ERRORS, Limiter, RateLimited, log, parse_limit
from govdata.core.settings import Settings
from govdata.opendata.keys import resolve_key
from govdata.opendata.models import DeveloperKeyUsage
from govdata.web.ratelimit import check_actor

KEY_HEADER = "x-ckan-api-key"
ANONYMOUS_SCOPE = "opendata_anonymous"


class InvalidKey(NotAuthenticated):
    def __init__(self) -> None:
        super().__init__(
            "opendata.invalid_key",
            "开发者密钥无效或已被吊销，请在“开发者密钥”页面查看或重新创建。",
        )


class KeyQuotaExceeded(TooManyRequests):
    """429 with ``Retry-After`` to the next Beijing midnight."""

    def __init__(self, retry_after: int, quota: int) -> None:
        super().__init__(
            "opendata.key_quota_exceeded",
            f"该开发者密钥今日的调用次数（{quota}次）已用完，请于北京时间次日零时后再调用。",
            retry_after=retry_after,
            detail={"daily_quota": quota, "retry_after": retry_after},
        )


def beijing_day(now: datetime | None = None) -> date:
    return (now or datetime.now(CITY_TZ)).astimezone(CITY_TZ).date()


def seconds_to_midnight(now: datetime | None = None) -> int:
    at = (now or datetime.now(CITY_TZ)).astimezone(CITY_TZ)
    midnight = datetime.combine(at.date() + timedelta(days=1), time.min, CITY_TZ)
    return max(1, int((midnight - at).total_seconds() + 0.999))


def take_key_call(session: Session, key_id: int, daily_quota: int, day: date) -> int:
    """Count one call of the key on ``day`` (Beijing); ``KeyQuotaExceeded`` when the day's
    quota is spent (counting nothing). Returns the day's calls including this one."""
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DeveloperKeyUsage)
    upsert = (
        ins.values(key_id=key_id, day=day, calls=1)
        .on_conflict_do_update(
            index_elements=[DeveloperKeyUsage.key_id, DeveloperKeyUsage.day],
            set_={"calls": DeveloperKeyUsage.calls + 1},
            where=DeveloperKeyUsage.calls < daily_quota,
        )
        .returning(DeveloperKeyUsage.calls)
    )
    calls = session.execute(upsert).scalar_one_or_none()
    if calls is None or calls > daily_quota:
        raise KeyQuotaExceeded(seconds_to_midnight(), daily_quota)
    return int(calls)


def presented_key(request: Request) -> str | None:
    """The key a CKAN client sends: ``Authorization: <key>`` (or ``Bearer <key>``), else
    ``X-CKAN-API-Key``."""
    header = request.headers.get("authorization", "").strip()
    if header:
        scheme, _, rest = header.partition(" ")
        return rest.strip() if scheme.lower() == "bearer" and rest.strip() else header
    return request.headers.get(KEY_HEADER, "").strip() or None


def _anonymous_limit(request: Request) -> tuple[FixedWindowRateLimiter, RateLimitItem] | None:
    """The per-address budget of anonymous calls, on the app's shared counters when the
    platform's limiter runs (PostgreSQL: every worker sees them), else in this process."""
    state = request.app.state
    cached = getattr(state, "opendata_anonymous_limit", None)
    if cached is not None:
        return cached if cached != "off" else None
    settings: Settings = state.settings
    item = parse_limit(settings.opendata_anonymous_rate, "GOVDATA_OPENDATA_ANONYMOUS_RATE")
    limiter: Limiter | None = getattr(state, "rate_limiter", None)
    storage: Storage = limiter.storage if limiter is not None else MemoryStorage()
    built = (FixedWindowRateLimiter(storage), item) if item is not None else None
    state.opendata_anonymous_limit = built or "off"
    return built


def _charge_anonymous(request: Request, address: str) -> None:
    found = _anonymous_limit(request)
    if found is None:
        return
    strategy, item = found
    try:
        if strategy.hit(item, ANONYMOUS_SCOPE, address):
            return
        reset = strategy.get_window_stats(item, ANONYMOUS_SCOPE, address).reset_time
    except STORAGE_ERRORS as exc:
        # As the platform's limiter: an unreachable counter lets the call through, logged.
        log.warning("rate_limit_storage_failed", scope=ANONYMOUS_SCOPE, error=str(exc)[:300])
        return
    raise RateLimited(math.ceil(reset - clock.time()), scope=ANONYMOUS_SCOPE, limit=str(item))


def api_caller(request: Request, session: Session) -> Actor | None:
    """The actor of an open-data API call (its key's owner), or None for an anonymous one.

    Raises ``InvalidKey`` (401), ``KeyQuotaExceeded`` (429) or ``RateLimited`` (429)."""
    address = request.client.host if request.client is not None else None
    secret = presented_key(request)
    if secret is None:
        if address:
            _charge_anonymous(request, address)
        return None
    found = resolve_key(session, secret, address=address)
    if found is None:
        raise InvalidKey()
    key, actor = found
    check_actor(request, actor)  # the owner's per-person budget, as any signed-in request
    take_key_call(session, key.id, key.daily_quota, beijing_day())
    request.state.actor = actor  # refusals further on are recorded under the key's owner
    return actor
