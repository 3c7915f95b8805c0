"""The obligations register (法定时限): every running statutory clock, one row each.

A domain that starts a statutory clock (Art. 14 catalog updates, Art. 19 corrections, next
Art. 32 and 33 open-data answers and the sharing applications of Ch. 4) also opens an obligation
here, in the same transaction, and answers it when it fulfils the duty. The row keeps what the
clock is (``core.deadlines``: start, working days, due date, provisional, the one extension
and its approver) and what scoping needs (the owner department and its region: ``core`` reads
no table of ``org``). From it:

* each person's to-do list (:func:`open_for`): department staff see their departments' open
  obligations, a department head also the extensions waiting for approval, a district bureau
  its region, the city bureau and auditors everything, the public nothing;
* extensions (:func:`request_extension`, :func:`approve_extension`): once, by at most 10
  working days, with the approval of the owner department's head (Art. 19 ¶2, Art. 32 ¶3,
  Art. 33 ¶2), for the kinds whose article allows it;
* the daily scan (:func:`scan_overdue`, job ``core.scan_overdue``) that flags what ran out
  unanswered; supervision (Ch. 7–8, Art. 50(8)) evaluates departments from the flags.

Each domain declares its kinds once (:func:`register`, at import): label, article, period,
whether it may be extended, the link to the object's page, and a hook that copies a moved due
date onto the domain's own row. :func:`open` and :func:`answer` trust their caller, the owning
domain's service, which has checked its own permission rules (as ``audit.record`` does); the
extension services check theirs.
"""

from __future__ import annotations

from govdata.core.obligations.extensions import (
    approve_extension,
    refuse_extension,
    request_extension,
)
from govdata.core.obligations.models import Kind, Obligation, kinds, register
from govdata.core.obligations.service import (
    answer,
    can_approve_extension,
    can_request_extension,
    deadline,
    find,
    get,
    open,
    visible,
)
from govdata.core.obligations.tasks import scan_overdue, scan_overdue_job
from govdata.core.obligations.todo import TodoItem, open_for

__all__ = [
    "Kind",
    "Obligation",
    "TodoItem",
    "answer",
    "approve_extension",
    "can_approve_extension",
    "can_request_extension",
    "deadline",
    "find",
    "get",
    "kinds",
    "open",
    "open_for",
    "refuse_extension",
    "register",
    "request_extension",
    "scan_overdue",
    "scan_overdue_job",
    "visible",
]
