"""Pydantic shapes of the security domain: signals, their acknowledgement, the rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from govdata.security.models import SignalKind, SignalStatus


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SignalOut(_Out):
    id: int
    kind: SignalKind
    kind_label: str = Field(description="类别（中文）")
    article: str = Field(description="依据条款")
    subject: str = Field(description="对象：person:<人员id>、token:<令牌id> 或 address:<地址>")
    subject_name: str
    address: str | None = Field(description="对象最近一次访问所用的网络地址")
    summary: str
    events: int = Field(description="自首次发现以来的相关调用记录数")
    rows: int = Field(description="自首次发现以来读取的行数")
    first_seen: datetime
    last_seen: datetime
    detail: dict[str, Any] = Field(description="发出预警时的阈值与比较的数值")
    status: SignalStatus
    acknowledged_by: int | None
    acknowledged_by_name: str
    acknowledged_at: datetime | None
    note: str


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=500, description="处理说明")


class RuleOut(_Out):
    kind: SignalKind
    label: str
    enabled: bool
    threshold: int
    window_minutes: int
    factor: float
    hours_from: int
    hours_to: int
    updated_by: int | None
    updated_by_name: str
    updated_at: datetime | None


class RuleUpdate(BaseModel):
    """A rule as the city bureau sets it; every field is given (PUT)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool
    threshold: int = Field(ge=0, le=1_000_000_000, description="阈值（行数或次数）")
    window_minutes: int = Field(ge=1, le=43_200, description="统计时间窗（分钟，最长 30 天）")
    factor: float = Field(ge=1, le=1000, description="批量读取：高于日中位数的倍数")
    hours_from: int = Field(ge=0, le=23, description="工作时间开始（时，北京时间）")
    hours_to: int = Field(ge=1, le=24, description="工作时间结束（时，北京时间）")


class KindCount(BaseModel):
    kind: SignalKind
    label: str
    open: int


class ScanOut(BaseModel):
    scanned_from: datetime
    scanned_to: datetime
    created: int
    updated: int
