"""Auditors read personal data in pools masked (issue 16; Art. 41, 42, 49: oversight needs to see
that data is there and how it is kept, rarely whose it is; least privilege).

An auditor's page of pool rows shows each personal item (``traces.personal_items``: ID numbers,
names, phones, addresses …; in a pool about persons, its subject key too) masked: the first and
last characters kept, the rest as ``*``. Revealing one row needs a stated reason and is itself
audited: an audit event with the reason and an access record of the fields shown (Art. 40).
Departments and bureaus, who work with the data, read it as before.

The same holds wherever a pool's values reach a reader outside the pool page: a load's problem
values and quarantined rows (``report``), thematic database rows (``thematic.reading``) and the
values under a correction (``corrections.privacy``). Each reveal there is audited under the one
action ``aggregation.pool_row.reveal`` and leaves an access record (``record_reveal_access``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from govdata.aggregation import traces
from govdata.aggregation.models import Pool
from govdata.aggregation.text import plain
from govdata.catalog.vocab import SubjectKind
from govdata.core.access import record_access
from govdata.core.actor import Actor
from govdata.core.errors import InvalidInput

#: The one audit action of every reveal (pool rows, load rows, thematic rows, corrections).
REVEAL_ACTION = "aggregation.pool_row.reveal"

MIN_REASON = 4  # characters: "核查" alone says nothing about what is checked
MAX_REASON = 500


def personal_columns(pool: Pool) -> list[str]:
    """The item names shown masked: personal ones, and the subject key of a pool about persons."""
    out = []
    for c in pool.columns:
        name = str(c["name"])
        is_person_key = (
            c["column"] == pool.subject_column and pool.subject_kind == SubjectKind.PERSON.value
        )
        if is_person_key or traces.personal_items([name]):
            out.append(name)
    return out


def mask(value: Any) -> str | None:
    """``500101199001010011`` → ``500***********0011``, ``13812345678`` → ``138****5678``,
    ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧**娜``; None stays None."""
    if value is None:
        return None
    text = str(value)
    n = len(text)
    if n <= 1:
        return "*"
    if n == 2:
        return text[0] + "*"
    if n <= 6:
        return text[0] + "*" * (n - 2) + text[-1]
    if n <= 10:
        return text[:2] + "*" * (n - 4) + text[-2:]
    return text[:3] + "*" * (n - 7) + text[-4:]


def mask_if(value: Any, hidden: bool) -> Any:
    """``value`` masked when ``hidden`` (an empty or missing value stays as it is)."""
    if not hidden or value is None or value == "":
        return value
    return mask(value)


def mask_rows(pool: Pool, rows: list[dict[str, Any]]) -> list[str]:
    """Mask the personal items of ``rows`` in place; the names of the items left readable."""
    hidden = set(personal_columns(pool))
    for row in rows:
        for name in hidden:
            row[name] = mask(row.get(name))
    return [str(c["name"]) for c in pool.columns if c["name"] not in hidden]


def require_reason(reason: str) -> str:
    """The reason an auditor gives to see a row unmasked, cleaned; refused when it says nothing."""
    why = plain(reason or "", "理由")
    if len(why) < MIN_REASON:
        raise InvalidInput(
            "aggregation.reveal_reason_required",
            f"查看未遮盖的个人信息须说明理由（至少{MIN_REASON}个字），该查看将记入审计日志。",
        )
    if len(why) > MAX_REASON:
        raise InvalidInput("aggregation.reveal_reason_too_long", f"理由不能超过{MAX_REASON}个字。")
    return why


def record_reveal_access(
    session: Session,
    actor: Actor,
    *,
    object_type: str,
    object_id: str,
    department_id: int,
    items: list[str],
    reason: str,
) -> None:
    """The access record of a reveal (Art. 40): one row of personal data, the items shown in
    the clear, the stated reason as its purpose. The caller writes the audit event."""
    record_access(
        session,
        actor,
        REVEAL_ACTION,
        object_type=object_type,
        object_id=object_id,
        rows=1,
        personal=True,
        owner_department_id=department_id,
        fields=items,
        purpose=reason[:200],
    )
