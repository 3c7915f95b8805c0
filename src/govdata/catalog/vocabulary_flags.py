"""Resources holding a code the city bureau retired from one of its lists (a security level, a
format; issue 16): counted and listed for whoever may read them, and remapped when the bureau
applies the mapping (Art. 11, 14).

The list itself and its versions are ``govdata.catalog.vocabularies``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from govdata.catalog import policy as catalog_policy
from govdata.catalog.models import Resource, ResourceState
from govdata.catalog.vocabularies import LISTS, _require_bureau, _require_list, current
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict

# Resources a remapping may change: those their department may edit (the others are under
# review or retired; they are left as they are and counted apart).
REMAPPABLE = (ResourceState.DRAFT, ResourceState.RETURNED, ResourceState.PUBLISHED)


def held_column(name: str) -> InstrumentedAttribute[str]:
    """The resource column holding the list's codes."""
    column: InstrumentedAttribute[str] = getattr(Resource, LISTS[name].field)
    return column


def held(resource: Resource, name: str) -> str:
    """The code of the list ``resource`` holds."""
    return str(getattr(resource, LISTS[name].field))


@dataclass(frozen=True)
class Flagged:
    """Resources holding a code the current version retired, by code."""

    code: str
    label: str
    maps_to: str
    maps_to_label: str
    remappable: int  # in a state their department may edit: the mapping changes them
    under_review: int  # submitted or approved: left as they are until the review ends


def flagged(session: Session, name: str, actor: Actor | None = None) -> list[Flagged]:
    """What applying the mapping would change, counted before the bureau applies it; with
    ``actor``, only the resources that actor may read (a department its own, Art. 12)."""
    vocab = current(session, name)
    retired = [e.code for e in vocab.retired]
    if not retired:
        return []
    column = held_column(name)
    stmt = (
        catalog_policy.visible_resources(actor) if actor is not None else select(Resource)
    ).with_only_columns(column, Resource.state, func.count())
    rows = session.execute(
        stmt.where(column.in_(retired), Resource.state != ResourceState.RETIRED).group_by(
            column, Resource.state
        )
    ).all()
    counts: dict[str, list[int]] = {}
    for code, state, n in rows:
        slot = counts.setdefault(code, [0, 0])
        slot[0 if state in REMAPPABLE else 1] += n
    out = []
    for code in retired:
        if code not in counts:
            continue
        target = vocab.mapping.get(code, "")
        out.append(
            Flagged(
                code=code,
                label=vocab.label_of(code),
                maps_to=target,
                maps_to_label=vocab.label_of(target) if target else "",
                remappable=counts[code][0],
                under_review=counts[code][1],
            )
        )
    return out


@dataclass(frozen=True)
class Applied:
    changed: dict[str, int]  # old code → resources changed
    left_under_review: int


def apply_mapping(
    session: Session, actor: Actor, name: str, *, expected: int | None = None
) -> Applied:
    """Change the resources holding a retired code to the code it maps to (the bureau's
    choice; audited with the counts). Only resources their department may edit change; each
    becomes a draft, so the change reaches the published catalog through review (Art. 14).
    ``expected`` is the count the bureau was shown: if it moved, nothing changes."""
    _require_bureau(actor)
    found = flagged(session, name)
    total = sum(f.remappable for f in found)
    if expected is not None and expected != total:
        raise Conflict(
            "catalog.vocab_counts_changed",
            f"待更新的资源数已由 {expected} 条变为 {total} 条，请核对后再应用。",
            detail={"expected": expected, "now": total},
        )
    if total == 0:
        raise Conflict("catalog.vocab_nothing_to_map", "没有需要按对应关系更新的资源。")
    changed: dict[str, int] = {}
    now = utcnow()
    column = held_column(name)
    for f in found:
        if not f.remappable or not f.maps_to:
            continue
        result = session.execute(
            update(Resource)
            .where(column == f.code, Resource.state.in_(REMAPPABLE))
            .values(
                {
                    column: f.maps_to,
                    Resource.state: ResourceState.DRAFT.value,
                    Resource.updated_at: now,
                }
            )
            .execution_options(synchronize_session="fetch")
        )
        changed[f.code] = int(getattr(result, "rowcount", 0) or 0)
    left = sum(f.under_review for f in found)
    vocab = current(session, name)
    audit.record(
        session,
        actor,
        "catalog.vocabulary.apply_mapping",
        object_type="vocabulary",
        object_id=f"{name}:{vocab.version}",
        summary=f"按{LISTS[name].title}第 {vocab.version} 版对应关系更新资源："
        + "、".join(
            f"{vocab.label_of(code)}→{vocab.label_of(vocab.mapping[code])} {n} 条"
            for code, n in changed.items()
        )
        + (f"；审核中的 {left} 条未改" if left else ""),
        change={
            "changed": changed,
            "mapping": {c: vocab.mapping[c] for c in changed},
            "left_under_review": left,
        },
    )
    return Applied(changed, left)


FLAGGED_SHOWN = 50


def flagged_resources(
    session: Session, actor: Actor, name: str, *, limit: int = FLAGGED_SHOWN
) -> tuple[list[Resource], int]:
    """The resources ``actor`` may read that hold a retired code (their department's to-do:
    pick a current value), the first ``limit`` by code, and how many there are."""
    _require_list(name)
    vocab = current(session, name)
    retired = [e.code for e in vocab.retired]
    if not retired:
        return [], 0
    stmt = catalog_policy.visible_resources(actor).where(
        held_column(name).in_(retired), Resource.state != ResourceState.RETIRED
    )
    total = session.scalar(stmt.with_only_columns(func.count())) or 0
    rows = list(session.scalars(stmt.order_by(Resource.code).limit(limit)))
    return rows, int(total)
