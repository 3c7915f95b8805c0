"""Registrations and applications (Art. 24, 26 ¶2, 50(4)): how a department obtains data.

* **Unconditional sharing** (无条件共享登记): a source whose share type is unconditional (base
  databases always, Art. 25(2)) is obtained by a registration stating the duty it serves (the
  department's function and its legal basis), the purpose (and ``purpose_code``, the short
  name the calling system states on each call), the calling system, the items and the period.
  It takes effect at once: status ``registered`` and a grant (origin ``registration``) made in
  the same transaction.
* **Conditional sharing** (有条件共享申请): anything else that may be shared (a conditional
  source, or an unconditional one with a conditional item asked for) needs an application,
  which the provider answers within 10 working days (``deadlines``: obligation
  ``sharing.application``). The provider approves as asked, approves narrowed (fewer items, a
  row condition, a shorter period, a daily quota; never wider than asked), or refuses with a
  reason and its basis (both required). Approval makes the grant (origin ``application``)
  naming the systems asked for. The requester may withdraw while it is pending.
* **Not shared** sources and items (Art. 24) cannot be applied for: the refusal points to an
  objection (Art. 27).

Who may do what is in ``sharing.policy``; every change is audited; nothing is committed here.
The package, by seam: ``queries`` (who sees and handles what, lists), ``applying``,
``answering`` (and withdrawing, extending); the clock is ``sharing.deadlines``.
"""

from __future__ import annotations

from govdata.sharing.applications.answering import (
    approve,
    approve_extension,
    obligation_of,
    refuse,
    refuse_extension,
    request_extension,
    withdraw,
)
from govdata.sharing.applications.applying import PURPOSE_CODE, Request, kind_for, submit
from govdata.sharing.applications.queries import (
    VIEWS,
    can_answer,
    can_withdraw,
    candidate_systems,
    departments,
    get,
    list_applications,
    overdue_count,
    region_of,
    require_person,
    views,
    waiting_count,
)

__all__ = [
    "PURPOSE_CODE",
    "VIEWS",
    "Request",
    "approve",
    "approve_extension",
    "can_answer",
    "can_withdraw",
    "candidate_systems",
    "departments",
    "get",
    "kind_for",
    "list_applications",
    "obligation_of",
    "overdue_count",
    "refuse",
    "refuse_extension",
    "region_of",
    "request_extension",
    "require_person",
    "submit",
    "views",
    "waiting_count",
    "withdraw",
]
