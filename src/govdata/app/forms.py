"""Helpers the shell's pages share for what a form or query brings: a same-site redirect
target, a date typed as YYYY-MM-DD."""

from __future__ import annotations

from datetime import date

from govdata.core.errors import InvalidInput


def safe_next(target: str | None) -> str:
    # Only same-site paths: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def parse_date(value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or not date(1900, 1, 1) <= parsed <= date(9998, 12, 31):
        raise InvalidInput("request.bad_date", f"{label}“{value}”不是有效日期（YYYY-MM-DD）。")
    return parsed
