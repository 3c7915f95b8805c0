"""JSON API: base (under ``/api/v1/aggregation``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
