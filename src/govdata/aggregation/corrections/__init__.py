"""Corrections (校核, Art. 19): a challenge to one value of a pool, answered by its provider.

Who applies (Art. 19 ¶2: "通过共享系统或者开放系统"):

* staff of a government department, through the sharing system (channel ``sharing``): the
  department the value is challenged for is the applicant, so the person must be able to see
  the value: the pools ``policy.visible_pools`` gives them. A department does not apply to
  itself: it corrects its own data by updating its pool (product decision). A department that
  obtained a value through a sharing grant challenges it by objecting (``sharing.objections``,
  Art. 27), which files the correction for it (``apply_for_objection``), the objection holding
  its id;
* citizens and companies, through the open system (channel ``open``). Accounts carry no verified
  identity yet (it comes with the open portal, Ch. 5), so whether a value is *about them* cannot
  be told safely. Until then the public may challenge only values of resources the open catalog
  carries without conditions (Art. 30), so that an application never becomes a way to probe
  data that is not open; and the public never sees the stored value through a correction.

The providing department answers within 10 working days of receipt; its head may extend the
period once by at most 10 working days (Art. 19 ¶2). The clock is the one of ``core.deadlines``
and every correction is an obligation in the register (``core.obligations``, kind
``aggregation.correction``), opened, extended and answered with it. An accepted correction
writes the value into the pool's current table with one UPDATE, audited with the old and the
new value; the correction record and the audit event are its provenance. While a correction is
open the value carries the "校核中" mark, and business on it proceeds on valid proof (Art. 19
¶3, ``UNDER_CORRECTION_NOTE``). The city bureau supervises (Art. 19 ¶1): it sees every
correction and what is overdue; an answer after the due date is late (Art. 50(8)).

The package, by seam: ``deadlines`` (the clock), ``values`` (finding and checking the value),
``applying``, ``answering`` (and extending), ``own`` (a department correcting its own value
directly), ``queries`` (lists, figures, the "校核中" mark), ``privacy`` (the values masked for
auditors, revealed with a reason).
Who may do what is in ``aggregation.policy``.
"""

from __future__ import annotations

from govdata.aggregation.corrections.answering import SOURCE_NOTE, answer, extend
from govdata.aggregation.corrections.applying import (
    APPLICANT_LABELS,
    CHANNEL_LABELS,
    apply,
    apply_for_objection,
    check_applicant,
)
from govdata.aggregation.corrections.deadlines import (
    ANSWER_WORKING_DAYS,
    CORRECTION,
    clock,
    deadline_of,
)
from govdata.aggregation.corrections.own import OwnCorrection, correct_own_value, own_value
from govdata.aggregation.corrections.privacy import (
    CorrectionView,
    Masks,
    RevealedCorrection,
    live_text,
    reveal,
    view,
)
from govdata.aggregation.corrections.queries import (
    UNDER_CORRECTION_NOTE,
    Counts,
    OverdueReport,
    counts,
    counts_by_department,
    departments,
    get_correction,
    is_under_correction,
    list_corrections,
    open_correction,
    overdue,
    pools_by_id,
    under_correction,
)
from govdata.aggregation.corrections.values import (
    Target,
    current_value,
    disclose_stored_values,
    locate,
    value_text,
)

__all__ = [
    "ANSWER_WORKING_DAYS",
    "APPLICANT_LABELS",
    "CHANNEL_LABELS",
    "CORRECTION",
    "SOURCE_NOTE",
    "UNDER_CORRECTION_NOTE",
    "CorrectionView",
    "Counts",
    "Masks",
    "OverdueReport",
    "OwnCorrection",
    "RevealedCorrection",
    "Target",
    "answer",
    "apply",
    "apply_for_objection",
    "check_applicant",
    "clock",
    "correct_own_value",
    "counts",
    "counts_by_department",
    "current_value",
    "deadline_of",
    "departments",
    "disclose_stored_values",
    "extend",
    "get_correction",
    "is_under_correction",
    "list_corrections",
    "live_text",
    "locate",
    "open_correction",
    "overdue",
    "own_value",
    "pools_by_id",
    "reveal",
    "under_correction",
    "value_text",
    "view",
]
