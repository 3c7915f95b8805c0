"""Navigation by role, assembled from the domains' entries: each actor sees only the entries
whose domain rule admits it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from govdata.core.actor import Actor
from govdata.web.domain import Domain, NavEntry


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    active: bool


def _match(entry: NavEntry, path: str) -> int:
    """How well an entry matches the path: the length of its longest matching prefix."""
    if entry.href == "/":
        return 1 if path == "/" else 0
    best = 0
    for prefix in (entry.href, *entry.also_under):
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            best = max(best, len(prefix))
    return best


def entries(domains: Sequence[Domain]) -> list[NavEntry]:
    return sorted((e for d in domains for e in d.nav), key=lambda e: e.order)


def navigation(all_entries: Sequence[NavEntry], actor: Actor | None, path: str) -> list[NavItem]:
    if actor is None:
        return []
    allowed = [e for e in all_entries if e.visible(actor)]
    scores = {e.href: _match(e, path) for e in allowed}
    best = max(scores.values(), default=0)
    # Only the most specific entry is current: /catalog/open is 开放目录, not 政务数据资源目录.
    return [NavItem(e.label, e.href, best > 0 and scores[e.href] == best) for e in allowed]


def navigator(domains: Sequence[Domain]) -> Callable[[Actor | None, str], list[NavItem]]:
    """The navigation function the templates call, bound to the app's domains."""
    all_entries = entries(domains)
    return lambda actor, path: navigation(all_entries, actor, path)
