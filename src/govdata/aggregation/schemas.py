"""Pydantic shapes of the aggregation API: pools, loads and their reports, specifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PoolColumnOut(BaseModel):
    name: str
    data_type: str
    length: int | None = None
    is_subject_key: bool = False


class PoolOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    department_id: int
    subject_kind: str
    update_cycle: str
    row_count: int
    loaded_at: datetime | None
    current_load_id: int | None
    columns: list[PoolColumnOut]


class PoolRowsOut(BaseModel):
    total: int
    rows: list[dict[str, Any]]


class LoadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    pool_id: int
    department_id: int
    status: str
    policy: str
    mode: str
    channel: str
    filename: str
    file_format: str
    encoding: str
    file_bytes: int
    rows_read: int
    rows_estimated: int | None
    rows_loaded: int
    rows_bad: int
    duplicates_removed: int
    error_code: str
    error_message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    quality: dict[str, Any] = Field(default_factory=dict)


class ProblemOut(BaseModel):
    row: int
    column: str
    code: str
    message: str
    value: str
    kind: str


class ProblemsOut(BaseModel):
    total: int
    problems: list[ProblemOut]


class SpecIn(BaseModel):
    required: bool = False
    allowed_values: list[str] = Field(default_factory=list, max_length=500)


class SpecOut(BaseModel):
    item_name: str
    required: bool
    allowed_values: list[str]
