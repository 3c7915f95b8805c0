"""Control characters in what people type or send (forms, keys, ids, code lists).

A control character is never what a person meant, and PostgreSQL text cannot hold NUL: every
input of that kind checks with ``has_control`` before it is stored or looked up. Multi-line text
keeps tab, newline and carriage return.
"""

from __future__ import annotations

import re

_ANY = re.compile(r"[\x00-\x1f\x7f]")
_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control(text: str, *, multiline: bool = False) -> bool:
    return (_BUT_LINE_BREAKS if multiline else _ANY).search(text) is not None
