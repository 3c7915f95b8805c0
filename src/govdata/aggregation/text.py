"""Free text typed into aggregation's forms and payloads: names, notes, keys."""

from __future__ import annotations

from govdata.aggregation.errors import BadText


def plain(value: str, what: str) -> str:
    """A text field stripped, refused when it holds control characters (tab and newlines pass:
    NUL cannot reach PostgreSQL, and the others are no one's text)."""
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise BadText(what)
    return value.strip()
