"""The values of a correction as auditors read them (issue 16; Art. 41, 42, 49; Art. 40).

A correction carries a pool's data: the subject key, the value stored with the application, the
proposed value and the value the pool holds now. Those who only oversee (``policy.
masks_personal``) read them masked where the pool page masks them (``masking.
personal_columns``): the subject key of a pool about persons, the values of a personal item.
Revealing them needs a stated reason and is audited under the pool reveal's action, with an
access record of the items shown. Those who work with the data read them as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from govdata.aggregation import masking, policy, pools
from govdata.aggregation.corrections.queries import get_correction
from govdata.aggregation.corrections.values import current_value, locate
from govdata.aggregation.models import Correction, Pool
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class Masks:
    key: bool = False  # the subject key is shown masked
    value: bool = False  # the item's values (stored, proposed, current) are shown masked

    def __bool__(self) -> bool:
        return self.key or self.value


def personal_parts(pool: Pool, c: Correction) -> Masks:
    """Which parts of the correction are personal data (whoever reads them)."""
    hidden = set(masking.personal_columns(pool))
    key_name = next((x["name"] for x in pool.columns if x["column"] == pool.subject_column), None)
    return Masks(key=key_name in hidden, value=c.item_name in hidden)


def masks(actor: Actor, pool: Pool, c: Correction) -> Masks:
    """What this actor reads masked of the correction: nothing unless it only oversees."""
    return personal_parts(pool, c) if policy.masks_personal(actor) else Masks()


@dataclass(frozen=True)
class CorrectionView:
    """A correction's data as a reader sees it (masked parts already masked)."""

    subject_key: str
    current_value: str | None  # stored with the application (申请时的值)
    proposed_value: str | None
    masks: Masks

    def items(self, key_name: str, item_name: str) -> list[str]:
        return [n for n, m in ((key_name, self.masks.key), (item_name, self.masks.value)) if m]


def view(actor: Actor, pool: Pool, c: Correction) -> CorrectionView:
    m = masks(actor, pool, c)
    return CorrectionView(
        subject_key=masking.mask_if(c.subject_key, m.key),
        current_value=masking.mask_if(c.current_value, m.value),
        proposed_value=masking.mask_if(c.proposed_value, m.value),
        masks=m,
    )


def live_text(session: Session, actor: Actor, c: Correction, m: Masks) -> str | bool | None:
    """The value the pool holds now as text, masked when ``m.value``; False when it cannot be
    shown (not the actor's to read, or no longer there)."""
    target = current_value(session, actor, c, masked=m.value)
    if target is None:
        return False
    text: str | None = masking.mask_if(target.text, m.value)
    return text


@dataclass(frozen=True)
class RevealedCorrection:
    subject_key: str
    current_value: str | None
    proposed_value: str | None
    live: str | bool | None  # False: no current value to show
    reason: str
    items: list[str]


def reveal(session: Session, actor: Actor, correction_id: int, reason: str) -> RevealedCorrection:
    """The correction's values unmasked, for an auditor who states why (issue 16; Art. 41, 42,
    49): audited under the pool reveal's action, with the reason, and recorded as a read of the
    personal items (Art. 40)."""
    c = get_correction(session, actor, correction_id)
    policy.require_reveal(actor)
    why = masking.require_reason(reason)
    pool = pools.get_pool(session, actor, c.pool_id)
    parts = personal_parts(pool, c)
    if not parts:
        raise InvalidInput(
            "aggregation.reveal_nothing_masked", "该校核申请不涉及个人信息，无需说明理由查看。"
        )
    key_name = next(
        (str(x["name"]) for x in pool.columns if x["column"] == pool.subject_column), "主体标识"
    )
    items = CorrectionView(c.subject_key, None, None, parts).items(key_name, c.item_name)
    try:
        live: str | bool | None = locate(session, pool, c.subject_key, c.item_name).text
    except (NotFound, InvalidInput):
        live = False
    audit.record(
        session,
        actor,
        "aggregation.pool_row.reveal",
        object_type="correction",
        object_id=c.id,
        summary=f"{actor.name}查看了校核申请第 {c.id} 号（{pool.name}）未遮盖的个人信息，"
        f"理由：{why}",
        change={
            "pool_id": pool.id,
            "correction_id": c.id,
            "subject_key": c.subject_key,
            "items": items,
            "reason": why,
        },
        department_id=pool.department_id,
    )
    masking.record_reveal_access(
        session,
        actor,
        object_type="correction",
        object_id=str(c.id),
        department_id=pool.department_id,
        items=items,
        reason=why,
    )
    return RevealedCorrection(c.subject_key, c.current_value, c.proposed_value, live, why, items)
