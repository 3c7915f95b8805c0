"""Schemas of the core API: audit events, chain verification, the working-day calendar."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
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
    prev_hash: str
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None


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
