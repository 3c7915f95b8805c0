"""zh-CN pages: base (under ``/aggregation``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
