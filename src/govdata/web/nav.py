"""Navigation by role: each actor sees only the entries it may use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from govdata.core.actor import Actor, Role


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    active: bool


def _staff(a: Actor) -> bool:
    return bool(a.roles) and not a.is_public


def _bureau(a: Actor) -> bool:
    return a.has(Role.CITY_BUREAU_ADMIN) or a.has(Role.DISTRICT_BUREAU_ADMIN)


def _dept(a: Actor) -> bool:
    return a.has(Role.DEPARTMENT_OFFICER) or a.has(Role.DEPARTMENT_HEAD)


def _oversight(a: Actor) -> bool:
    return a.has(Role.CITY_BUREAU_ADMIN) or a.has(Role.AUDITOR)


def _reviewer(a: Actor) -> bool:
    return _bureau(a) or a.has(Role.AUDITOR)


ENTRIES: list[tuple[str, str, Callable[[Actor], bool]]] = [
    ("首页", "/", lambda a: True),
    ("行政区域", "/org/regions", _staff),
    ("部门", "/org/departments", lambda a: _bureau(a) or _oversight(a)),
    ("本部门", "/org/my-department", _dept),
    ("人员与角色", "/org/people", lambda a: _bureau(a) or _oversight(a) or _dept(a)),
    ("目录清单", "/catalog/my", _dept),
    ("目录审核", "/catalog/review", _reviewer),
    ("政务数据资源目录", "/catalog", _staff),
    ("开放目录", "/catalog/open", lambda a: True),
    ("数据资源池", "/aggregation/pools", lambda a: _dept(a) or _reviewer(a)),
    ("数据质量", "/aggregation/quality", lambda a: _dept(a) or _reviewer(a)),
    ("基础数据库", "/aggregation/base", _staff),
    ("主题数据库", "/aggregation/thematic", _staff),
    ("数据校核", "/aggregation/corrections", lambda a: _dept(a) or _reviewer(a)),
    ("工作日历", "/workdays", _staff),
    ("审计日志", "/audit", _oversight),
    ("我的账户", "/account", lambda a: True),
]

# Pages reached from an entry that live under other paths (the entry stays highlighted there).
ALSO_UNDER: dict[str, tuple[str, ...]] = {
    "/catalog/my": ("/catalog/departments", "/catalog/working", "/catalog/demands"),
    "/catalog/review": ("/catalog/submissions", "/catalog/districts"),
}


def _match(href: str, path: str) -> int:
    """How well an entry matches the path: the length of its longest matching prefix."""
    if href == "/":
        return 1 if path == "/" else 0
    best = 0
    for prefix in (href, *ALSO_UNDER.get(href, ())):
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            best = max(best, len(prefix))
    return best


def navigation(actor: Actor | None, path: str) -> list[NavItem]:
    if actor is None:
        return []
    allowed = [(label, href) for label, href, ok in ENTRIES if ok(actor)]
    scores = {href: _match(href, path) for _, href in allowed}
    best = max(scores.values(), default=0)
    # Only the most specific entry is current: /catalog/open is 开放目录, not 政务数据资源目录.
    return [NavItem(label, href, best > 0 and scores[href] == best) for label, href in allowed]
