"""Every read of open data leaves an access record, as sharing's reads do (Art. 40, 50(8)).

A download, a preview or an API read of a release's rows is recorded in the caller's
transaction with the dataset, its provider, the items and the rows returned. Released data
passed desensitization and the leak scan (Art. 31 ¶2), so a read of it is not a read of
personal data (``personal=False``): it does not count against a staff reader's personal-data
budget, which would stop a whole-release download.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from govdata.core.access import Outcome, record_access
from govdata.core.actor import Actor
from govdata.opendata.models import OpenDataset

OBJECT_TYPE = "open_dataset"


def record_open_access(
    session: Session,
    actor: Actor,
    dataset: OpenDataset,
    action: str,
    *,
    rows: int,
    fields: Sequence[str] = (),
    outcome: Outcome = "allowed",
    reason: str = "",
    purpose: str = "",
) -> None:
    """``action``: ``opendata.download``, ``opendata.preview``, ``opendata.api`` …"""
    record_access(
        session,
        actor,
        action,
        object_type=OBJECT_TYPE,
        object_id=dataset.code,
        rows=rows,
        personal=False,
        owner_department_id=dataset.department_id,
        fields=tuple(fields)[:200],
        outcome=outcome,
        reason=reason,
        purpose=purpose,
    )
