"""The data access API's rules (Art. 22, 26 ¶2, 40, 50(4)(5)): which grant a call may use, which
items and rows it may see, and the access record every call leaves.

``authorize`` is the one gate: every data access path (lookup, verification, paged queries,
incremental sync, bulk delivery, and any hot path of its own) calls it, or runs the same checks
in the same order, before it reads a row. Its refusals are the ones ``sharing.errors`` lists;
each names nothing beyond its code.

Order of the checks (each refusal is recorded by the caller, ``record_call``):
1. the actor is a department system's token with ``sharing:read`` (``auth.scope_missing``);
2. the grant exists (``sharing.no_grant``) and is its department's
   (``sharing.grant_other_department``) and names this system (``sharing.system_not_named``);
3. the grant is in force: not revoked, not expired, already valid;
4. the purpose the call states is the grant's (``sharing.purpose_mismatch``, Art. 50(5));
5. data calls under a verification-only grant are refused (``sharing.verification_only``);
6. every item asked for is granted (``sharing.item_not_granted``); none asked: all granted;
7. the source has data (``sharing.source_not_loaded``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import ColumnElement, Table, false, select
from sqlalchemy.orm import Session

from govdata.catalog.vocab import SubjectKind
from govdata.core import calendar, ratelimit
from govdata.core.access import record_access
from govdata.core.actor import Actor
from govdata.core.crypto import subject_digest
from govdata.core.errors import PermissionDenied
from govdata.sharing import errors, grants
from govdata.sharing.models import Grant, GrantMode, GrantSystem
from govdata.sharing.policy import SHARING_SCOPE
from govdata.sharing.sources import SharedSource, SourceItem, data_table, get_source

Want = Literal["data", "verification"]


@dataclass(frozen=True)
class Authorized:
    """What a call may read: the grant, its source, the items (granted and asked for, in the
    source's order), the data table and the grant's row condition as SQL on it."""

    grant: Grant
    source: SharedSource
    items: tuple[SourceItem, ...]
    table: Table
    row_filter: ColumnElement[bool] | None

    @property
    def key_column(self) -> str:
        return self.source.key_column or ""

    @property
    def personal(self) -> bool:
        """Whether the data is about natural persons (Art. 39: personal-data budgets)."""
        return self.source.subject_kind in (SubjectKind.PERSON.value, "person")


def require_system(actor: Actor) -> None:
    """Only a department system's token calls the data access API (Art. 22)."""
    if actor.token_id is None:
        raise PermissionDenied(
            "sharing.system_required", "数据调用接口仅供部门信息系统使用接口令牌调用。"
        )
    if SHARING_SCOPE not in actor.scopes:
        raise PermissionDenied("auth.scope_missing", f"接口令牌缺少权限范围 {SHARING_SCOPE}。")


def authorize(
    session: Session,
    actor: Actor,
    grant_id: int,
    *,
    purpose: str,
    items: Sequence[str] | None,
    want: Want,
    today: date | None = None,
) -> Authorized:
    """The checks above, in order; returns what the call may read or raises the refusal."""
    require_system(actor)
    grant = session.get(Grant, grant_id)
    named = grant is not None and (
        session.scalar(
            select(GrantSystem.token_id).where(
                GrantSystem.grant_id == grant.id, GrantSystem.token_id == actor.token_id
            )
        )
        is not None
    )
    wanted = check_grant(actor, grant, named, purpose=purpose, items=items, want=want, today=today)
    assert grant is not None
    source = get_source(session, grant.source_code)
    if source is None:
        raise errors.SourceNotLoaded()
    table = data_table(source)
    if table is None:
        raise errors.SourceNotLoaded()
    chosen = choose_items(source, wanted)
    return Authorized(grant, source, chosen, table, _row_filter(grant, source, table))


def check_grant(
    actor: Actor,
    grant: Grant | None,
    named: bool,
    *,
    purpose: str,
    items: Sequence[str] | None,
    want: Want,
    today: date | None = None,
) -> list[str]:
    """Checks 2–6 on a grant already read (``named``: it names the actor's token); returns the
    items asked for. Shared by ``authorize`` and the hot path (``sharing.hotpath``), so both
    refuse in the same order with the same codes."""
    if grant is None:
        raise errors.NoGrant()
    if grant.requester_department_id not in actor.department_ids():
        raise errors.GrantOfAnotherDepartment()
    if not named:
        raise errors.SystemNotNamed()
    state = grants.state(grant, today or calendar.today())
    if state == "revoked":
        raise errors.GrantRevoked()
    if state == "expired":
        raise errors.GrantExpired()
    if state == "not_yet":
        raise errors.GrantNotYetValid()
    if purpose != grant.purpose_code:
        raise errors.PurposeMismatch()
    if want == "data" and grant.mode == GrantMode.VERIFICATION:
        raise errors.VerificationOnly()
    granted = set(grant.items)
    wanted = list(items) if items else list(grant.items)
    if any(name not in granted for name in wanted):
        raise errors.ItemNotGranted()
    return wanted


def choose_items(source: SharedSource, wanted: Sequence[str]) -> tuple[SourceItem, ...]:
    """The items asked for, in the source's order; an item the source no longer has is refused
    (never guessed)."""
    chosen = tuple(i for i in source.items if i.name in set(wanted))
    if len(chosen) != len(set(wanted)):
        raise errors.ItemNotGranted()
    return chosen


def _row_filter(grant: Grant, source: SharedSource, table: Table) -> ColumnElement[bool] | None:
    """The grant's row condition as SQL: the item's value is one of the allowed values. An item
    the source no longer has matches no row (fail closed)."""
    cond = grants.RowCondition.of(grant.row_condition)
    if cond is None:
        return None
    item = source.item(cond.item)
    if item is None:
        return false()
    return table.c[item.column].in_(cond.values)


def record_call(
    session: Session,
    actor: Actor,
    action: str,
    *,
    grant_id: int | None,
    source: SharedSource | None,
    purpose: str,
    fields: Sequence[str] = (),
    rows: int = 0,
    subject_key: str | None = None,
    outcome: Literal["allowed", "refused"] = "allowed",
    reason: str = "",
) -> None:
    """One access record of a data access call, allowed or refused (Art. 40, 50(4)(5)): the
    department and system (the token), the grant and the purpose stated, the source and the
    items, the subject as a keyed SM3 digest (never the key), the rows returned, the outcome.
    ``action`` is ``sharing.lookup``, ``sharing.verify``, ``sharing.query``, ``sharing.sync``
    or ``sharing.bulk``.

    A system's call under a grant is not charged the per-token personal-read budget
    (``core.ratelimit``): the grant is its control (items, rows, purpose, the daily quota the
    provider set), as ``sharing.data`` explains; the record still says ``personal``."""
    if source is None and outcome == "refused" and grant_id is not None:
        source = refused_source(session, actor, grant_id)
    with ratelimit.bound(None):
        _record_call(
            session,
            actor,
            action,
            grant_id=grant_id,
            source=source,
            purpose=purpose,
            fields=fields,
            rows=rows,
            subject_key=subject_key,
            outcome=outcome,
            reason=reason,
        )


def own_grant(actor: Actor, grant: Grant | None) -> bool:
    """Whether a refused call was made on the calling department's own grant."""
    return grant is not None and grant.requester_department_id in actor.department_ids()


def refused_source(session: Session, actor: Actor, grant_id: int) -> SharedSource | None:
    """The source a refusal's record names when the gate refused before reaching it: the
    grant's, if the grant is the calling department's own (an item not granted, a purpose not
    the grant's, an expired grant …), so that the providing department sees the refusal on its
    dashboard beside the grant's allowed calls (Art. 40, 50(4)(5)); a call naming another
    department's grant, or none, names no source (its provider has nothing to see)."""
    grant = session.get(Grant, grant_id)
    if grant is None or not own_grant(actor, grant):
        return None
    return get_source(session, grant.source_code)


def _record_call(
    session: Session,
    actor: Actor,
    action: str,
    *,
    grant_id: int | None,
    source: SharedSource | None,
    purpose: str,
    fields: Sequence[str],
    rows: int,
    subject_key: str | None,
    outcome: Literal["allowed", "refused"],
    reason: str,
) -> None:
    record_access(
        session,
        actor,
        action,
        object_type="share_source",
        object_id=source.code if source is not None else "",
        rows=rows,
        personal=bool(source is not None and source.subject_kind == SubjectKind.PERSON.value),
        owner_department_id=source.provider_department_id if source is not None else None,
        fields=list(fields),
        outcome=outcome,
        reason=reason,
        grant_id=grant_id,
        purpose=purpose[:200],
        subject_digest=subject_digest(subject_key) if subject_key else None,
    )
