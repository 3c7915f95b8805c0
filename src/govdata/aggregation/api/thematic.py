"""JSON API: thematic (under ``/api/v1/aggregation``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
