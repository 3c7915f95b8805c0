"""zh-CN pages: quality (under ``/aggregation``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
