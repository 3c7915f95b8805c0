"""Domain errors: a stable code, a zh-CN message and an HTTP status.

Services raise these; one handler in ``govdata.web.errors`` renders them as JSON
(``{"error": {"code", "message", "detail"}}``) or as an error page.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal a service makes. ``code`` is stable; clients match on it."""

    status: int = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        detail: Any = None,
        status: int | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail
        if status is not None:
            self.status = status
        # A refusal that must still commit what it recorded (a failed sign-in counts towards
        # the lockout): the unit of work commits instead of rolling back.
        self.keep_changes = keep_changes


class InvalidInput(DomainError):
    """Input that is well-formed but breaks a rule (400)."""

    status = 400


class NotAuthenticated(DomainError):
    status = 401

    def __init__(
        self, code: str = "auth.required", message: str = "请先登录。", **kwargs: Any
    ) -> None:
        super().__init__(code, message, **kwargs)


class PermissionDenied(DomainError):
    status = 403

    def __init__(
        self, code: str = "auth.forbidden", message: str = "您没有执行此操作的权限。"
    ) -> None:
        super().__init__(code, message)


class NotFound(DomainError):
    """Also what an actor sees for a record outside its scope: never a leak of existence."""

    status = 404

    def __init__(self, code: str = "not_found", message: str = "未找到该记录。") -> None:
        super().__init__(code, message)


class Conflict(DomainError):
    status = 409


class Locked(DomainError):
    status = 423


class TooManyRequests(DomainError):
    """Refused before any work because of too many recent attempts (429); the response says
    when to try again (``Retry-After``, seconds)."""

    status = 429

    def __init__(self, code: str, message: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(code, message, **kwargs)
        self.retry_after = max(1, retry_after)
