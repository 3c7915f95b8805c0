"""The thresholds of the monitoring signals, as the city bureau sets them (Art. 39)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import insert_unless_exists, utcnow
from govdata.security import errors, policy
from govdata.security.models import SignalKind, SignalRule, default_rule
from govdata.security.schemas import RuleUpdate

FIELDS = ("enabled", "threshold", "window_minutes", "factor", "hours_from", "hours_to")


def current_rules(session: Session) -> dict[SignalKind, SignalRule]:
    """Every kind's rule: its row, else (a kind added after the seed) its default, unsaved."""
    rows = {r.kind: r for r in session.scalars(select(SignalRule))}
    return {k: rows.get(k.value) or SignalRule(**default_rule(k)) for k in SignalKind}


def list_rules(session: Session, actor: Actor) -> list[SignalRule]:
    policy.require_view_signals(actor)
    return list(current_rules(session).values())


def _kind(kind: str) -> SignalKind:
    try:
        return SignalKind(kind)
    except ValueError:
        raise errors.rule_not_found() from None


def update_rule(session: Session, actor: Actor, kind: str, data: RuleUpdate) -> SignalRule:
    """Set a kind's threshold and parameters; takes effect at the next scan. Audited."""
    policy.require_manage_signals(actor)
    k = _kind(kind)
    if data.hours_from >= data.hours_to:
        raise errors.hours_invalid()
    insert_unless_exists(session, SignalRule.__table__, default_rule(k))  # type: ignore[arg-type]
    rule = session.scalars(select(SignalRule).where(SignalRule.kind == k.value)).one()
    before = {f: getattr(rule, f) for f in FIELDS}
    after = data.model_dump()
    for name, value in after.items():
        setattr(rule, name, value)
    rule.updated_by = actor.person_id
    rule.updated_by_name = actor.name[:100]
    rule.updated_at = utcnow()
    changed = {f: [before[f], after[f]] for f in FIELDS if before[f] != after[f]}
    audit.record(
        session,
        actor,
        "security.rule.update",
        object_type="security_rule",
        object_id=k.value,
        summary=f"修改安全监测规则“{k.label}”（第三十九条）",
        change={"before": before, "after": after, "changed": sorted(changed)},
    )
    return rule
