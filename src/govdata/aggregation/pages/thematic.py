"""zh-CN pages: thematic (under ``/aggregation``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
