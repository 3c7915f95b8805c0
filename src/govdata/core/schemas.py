"""Schemas of the core API: audit events, chain verification, the working-day calendar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    code: str = Field(description="稳定的错误代码，如 org.username_taken")
    message: str = Field(description="中文错误说明")
    detail: Any = None


class ErrorOut(BaseModel):
    error: ErrorBody


_ERROR_STATUSES = {
    400: "请求有误",
    401: "未登录或凭据无效",
    403: "无权执行该操作",
    404: "未找到，或不在您的可见范围内",
    409: "与现有数据冲突",
    413: "请求内容过大",
    422: "请求内容不符合要求",
    423: "账户已临时锁定",
    429: "请求过于频繁，请按响应头 Retry-After 给出的秒数等待后重试",
}
# Documented on every JSON route, so clients and schemathesis know the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text} for status, text in _ERROR_STATUSES.items()
}


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    seq: int | None  # None: not yet sealed into the chain (待封存), at most ~2 s
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    object_type: str
    object_id: str
    region_id: int | None
    department_id: int | None
    summary: str
    digest: str
    prev_hash: str | None
    hash: str | None


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None
    pending: int = 0  # events not yet sealed
    covered: int = 0  # chain size the last signed checkpoint vouches for
    checkpoints: int = 0


class CalendarDayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    is_workday: bool
    name: str


class CalendarDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    day: date
    is_workday: bool
    name: str = Field(min_length=1, max_length=60)


class CalendarYearOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    year: int
    source: str
    loaded_at: datetime


class YearImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[CalendarDayIn] = Field(min_length=1, max_length=400)


class YearImportOut(BaseModel):
    year: int
    holidays: int
    makeup_workdays: int


class DeadlineOut(BaseModel):
    start: date
    working_days: int
    due: date
    provisional: bool
    label: str
