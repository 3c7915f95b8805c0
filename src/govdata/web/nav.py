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


ENTRIES: list[tuple[str, str, Callable[[Actor], bool]]] = [
    ("首页", "/", lambda a: True),
    ("行政区域", "/org/regions", _staff),
    ("部门", "/org/departments", lambda a: _bureau(a) or _oversight(a)),
    ("本部门", "/org/my-department", _dept),
    ("人员与角色", "/org/people", lambda a: _bureau(a) or _oversight(a) or _dept(a)),
    ("工作日历", "/workdays", _staff),
    ("审计日志", "/audit", _oversight),
    ("我的账户", "/account", lambda a: True),
]


def navigation(actor: Actor | None, path: str) -> list[NavItem]:
    if actor is None:
        return []
    items = []
    for label, href, allowed in ENTRIES:
        if allowed(actor):
            active = path == href if href == "/" else path.startswith(href)
            items.append(NavItem(label, href, active))
    return items
