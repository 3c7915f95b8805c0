"""Names of the files the platform hands out (issue 16): after the department (or the subject)
and the date, as an office files them (``市公安局-目录清单-2026-12-05.xlsx``), sent with an
RFC 6266 ``Content-Disposition``: ``filename*`` in UTF-8 (RFC 5987) for browsers, and an ASCII
``filename`` for the few clients that read only that.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

# Characters no file system or header should carry: path separators, Windows' reserved ones,
# quotes, controls.
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f;]+')
_NOT_ASCII_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def export_name(
    *parts: str | int | None, ext: str, on: date | None = None, dated: bool = True
) -> str:
    """``部门-内容-日期.ext`` from the parts given (empty ones left out); the date is today's
    Beijing date unless ``on`` is given, and left out (``dated=False``) when a part already
    says the period (``共享调用记录-2026-11-01至2026-11-30.xlsx``)."""
    from govdata.core import calendar

    words = [file_word(str(p)) for p in parts if p is not None and str(p).strip()]
    words = [w for w in words if w]
    if dated:
        words.append((on or calendar.today()).isoformat())
    return "-".join(words) + "." + ext


def file_word(text: str) -> str:
    """``text`` with what no file system or header should carry replaced by ``_``."""
    return _UNSAFE.sub("_", text).strip(" ._")


def content_disposition(filename: str, *, fallback: str | None = None) -> str:
    """``attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>``.

    The ASCII fallback is ``fallback`` if given, else the name with every non-ASCII run
    replaced by ``_`` (``download.xlsx`` if nothing is left; a name of Chinese words says
    little in ASCII, so give a fallback such as ``catalog-list-12-2026-12-05.xlsx``)."""
    stem, dot, ext = (fallback or filename).partition(".")
    ascii_stem = _NOT_ASCII_NAME.sub("_", stem).strip("_.-") or "download"
    ascii_ext = _NOT_ASCII_NAME.sub("", ext)
    ascii_name = f"{ascii_stem}.{ascii_ext}" if dot and ascii_ext else ascii_stem
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
