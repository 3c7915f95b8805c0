"""Who may see and handle monitoring signals (Art. 39, 49). Every rule of the package is here.

The city bureau directs the platform's security (Art. 6 ¶1, 39): its administrators see the
signals, acknowledge them and set the thresholds. Auditors oversee it (Art. 49): they read the
signals and the thresholds, and change nothing. Everyone else is refused (product decision:
district bureaus and departments learn of a signal from the city bureau, not from this page,
since a signal names accounts and addresses of other departments).
"""

from __future__ import annotations

from govdata.core.actor import Actor, Role
from govdata.security import errors


def can_view_signals(actor: Actor) -> bool:
    return actor.has(Role.CITY_BUREAU_ADMIN) or actor.has(Role.AUDITOR)


def can_manage_signals(actor: Actor) -> bool:
    """Acknowledge signals, set thresholds, scan now: the city bureau only (Art. 39)."""
    return actor.has(Role.CITY_BUREAU_ADMIN)


def require_view_signals(actor: Actor) -> None:
    if not can_view_signals(actor):
        raise errors.forbidden()


def require_manage_signals(actor: Actor) -> None:
    if not can_manage_signals(actor):
        raise errors.manage_forbidden()
