"""Monitoring signals (安全预警) and the thresholds the city bureau sets for them (Art. 39:
防攻击、防泄露、防窃取的监测、预警、控制).

``SignalRule``: one row per kind of signal, seeded with defaults by migration 0011 and changed
only by the city bureau (audited). ``Signal``: one warning about one subject (an account, a
department system's token or a network address); while it is open, further activity of the same
kind by the same subject updates it instead of raising another (one open signal per kind and
subject, enforced by a partial unique index). ``ScanState``: the scan's watermark.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, utcnow

_BIG = BigInteger().with_variant(Integer(), "sqlite")


class SignalKind(StrEnum):
    BULK_READ = "bulk_read"
    OFF_HOURS_READ = "off_hours_read"
    PROBING = "probing"
    FAILED_SIGN_INS = "failed_sign_ins"
    PERSONAL_EXPORT = "personal_export"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]

    @property
    def article(self) -> str:
        return KIND_ARTICLES[self]


KIND_LABELS: dict[SignalKind, str] = {
    SignalKind.BULK_READ: "批量读取个人数据",
    SignalKind.OFF_HOURS_READ: "非工作时间读取个人数据",
    SignalKind.PROBING: "反复被拒绝的访问（试探）",
    SignalKind.FAILED_SIGN_INS: "同一地址反复登录失败",
    SignalKind.PERSONAL_EXPORT: "导出个人数据",
}

# Art. 39 asks for monitoring against attack (防攻击: probing, password guessing), leaks (防泄露:
# exports) and theft (防窃取: bulk and off-hours reads); Art. 40 makes users answer for the data
# they obtained, which the access records and these signals bring to light.
KIND_ARTICLES: dict[SignalKind, str] = {
    SignalKind.BULK_READ: "第三十九条（防窃取）",
    SignalKind.OFF_HOURS_READ: "第三十九条（防窃取）",
    SignalKind.PROBING: "第三十九条（防攻击）",
    SignalKind.FAILED_SIGN_INS: "第三十九条（防攻击、访问认证）",
    SignalKind.PERSONAL_EXPORT: "第三十九条（防泄露）、第四十条",
}


class SignalStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"

    @property
    def label(self) -> str:
        return "未处理" if self is SignalStatus.OPEN else "已确认"


class SignalRule(Base):
    """A kind's threshold and parameters, set by the city bureau (Art. 39; product decision on
    which parameters each kind reads, see ``detection``)."""

    __tablename__ = "security_signal_rules"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    # bulk_read / off_hours_read: rows; probing / failed_sign_ins: events; personal_export:
    # the rows an export must reach (0: every export).
    threshold: Mapped[int] = mapped_column(Integer)
    window_minutes: Mapped[int] = mapped_column(Integer)
    # bulk_read: how many times the account's median daily volume counts as "far above".
    factor: Mapped[float] = mapped_column(Float)
    # off_hours_read: working hours on a working day, Beijing time, [from, to).
    hours_from: Mapped[int] = mapped_column(Integer)
    hours_to: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    updated_by_name: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime | None] = mapped_column()


class Signal(Base):
    __tablename__ = "security_signals"
    __table_args__ = (
        # Deduplication: one open signal per kind and subject (a concurrent scan's duplicate
        # fails here rather than flooding the page).
        Index(
            "uq_security_signals_open",
            "kind",
            "subject",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_security_signals_status_last", "status", "last_seen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    # ``person:<id>``, ``token:<id>`` or ``address:<ip>`` (detection.subject_key).
    subject: Mapped[str] = mapped_column(String(80))
    subject_name: Mapped[str] = mapped_column(String(100))
    # The last network address the subject acted from (for accounts and tokens).
    address: Mapped[str | None] = mapped_column(String(45))
    summary: Mapped[str] = mapped_column(String(500))
    # Since first seen: matching access records, and the rows they read.
    events: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(_BIG)
    first_seen: Mapped[datetime] = mapped_column()
    last_seen: Mapped[datetime] = mapped_column()
    # What fired it: the rule's parameters then, and the figures compared with them.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default=SignalStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    acknowledged_by_name: Mapped[str] = mapped_column(String(100), default="")
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str] = mapped_column(String(500), default="")

    @property
    def kind_enum(self) -> SignalKind:
        return SignalKind(self.kind)


class ScanState(Base):
    """The scan's watermark: the records it has seen end at ``scanned_to`` (one row)."""

    __tablename__ = "security_scan_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    scanned_to: Mapped[datetime] = mapped_column()
    scans: Mapped[int] = mapped_column(_BIG, default=0)


# The thresholds a new installation starts with (migration 0011 seeds the same values); the
# city bureau tunes them on the security page.
DEFAULT_RULES: dict[SignalKind, dict[str, Any]] = {
    # A day's personal rows ≥ 1000 and above 5 × the account's median day of the last 30 days.
    SignalKind.BULK_READ: {"threshold": 1000, "window_minutes": 1440, "factor": 5.0},
    # ≥ 100 personal rows within an hour on a non-working day or outside 08:00–20:00.
    SignalKind.OFF_HOURS_READ: {"threshold": 100, "window_minutes": 60},
    # ≥ 10 refused requests from one account or address within 10 minutes.
    SignalKind.PROBING: {"threshold": 10, "window_minutes": 10},
    # ≥ 10 failed sign-ins from one address within 15 minutes.
    SignalKind.FAILED_SIGN_INS: {"threshold": 10, "window_minutes": 15},
    # Every export or download of personal data (threshold: the rows an export must reach).
    SignalKind.PERSONAL_EXPORT: {"threshold": 0, "window_minutes": 60},
}
RULE_BASE: dict[str, Any] = {"enabled": True, "factor": 1.0, "hours_from": 8, "hours_to": 20}


def default_rule(kind: SignalKind) -> dict[str, Any]:
    return {"kind": kind.value, **RULE_BASE, **DEFAULT_RULES[kind]}
