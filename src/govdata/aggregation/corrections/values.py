"""The challenged value (Art. 19): found in the pool's current data, shown as text, and a
proposed or corrected value checked as the load pipeline checks a loaded one (Art. 15, 16)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import masking, policy, pools, traces, validation
from govdata.aggregation.errors import CorrectionValueNotFound
from govdata.aggregation.models import Correction, ItemSpec, Pool
from govdata.aggregation.tables import column_of
from govdata.core.actor import Actor
from govdata.core.errors import InvalidInput, NotFound

MAX_KEY_LENGTH = 64  # Correction.subject_key


def value_text(value: Any) -> str | None:
    """A stored value as the correction records and shows it (None for a missing value)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if value == 0:
            return "0"
        return format(value.normalize(), "f")
    return str(value)


_SCALE = {"N": Decimal("1e-10"), "Y": Decimal("0.01")}


def rule_for(session: Session, pool: Pool, item_name: str) -> validation.ColumnRule:
    """The load pipeline's rule for one item: type, length, required and allowed values of the
    aggregation specification (Art. 15), ID number and USCC check characters (Art. 16)."""
    specs = {
        s.item_name: (s.required, list(s.allowed_values))
        for s in session.scalars(select(ItemSpec).where(ItemSpec.resource_id == pool.resource_id))
    }
    rules = validation.make_rules(pool.columns, pool.subject_column, pool.subject_kind, specs)
    rule = rules.by_name().get(item_name)
    if rule is None:
        raise InvalidInput(
            "aggregation.correction_item_unknown", f"该数据资源没有信息项“{item_name}”。"
        )
    return rule


def parse_value(rule: validation.ColumnRule, text: str) -> Any:
    """The text of a value as the typed value the data table stores, checked as a loaded value
    is (the same cleaning and rules as the load pipeline); an empty text is a missing value.

    Raises ``aggregation.correction_value_invalid`` naming the problem.
    """
    frame = pl.DataFrame(
        {validation.ROW: [1], rule.name: [text]},
        schema={validation.ROW: pl.Int64, rule.name: pl.String},
    )
    result = validation.check_batch(validation.Rules((rule,), None), frame)
    if result.problems.height:
        problem = result.problems.row(0, named=True)
        raise InvalidInput(
            "aggregation.correction_value_invalid",
            f"值“{text}”不符合要求：{problem['message']}。",
            detail={"item": rule.name, "problem": problem["code"]},
        )
    typed: Any = result.good.row(0, named=True)[rule.column]
    if typed is None:
        return None
    t = rule.data_type
    if t in ("N", "Y"):
        # The load pipeline rounds extra decimal places as the database does; a correction
        # states one value, so more places than the item keeps is refused instead.
        cleaned = validation.clean_value(rule, text) or ""
        try:
            number = Decimal(cleaned.replace(",", ""))
        except InvalidOperation:  # exponent forms the float parser read: the typed value
            number = typed
        scaled = number.quantize(_SCALE[t])
        if scaled != number:
            places = 2 if t == "Y" else 10
            raise InvalidInput(
                "aggregation.correction_value_invalid",
                f"值“{text}”的小数位数超过该信息项允许的 {places} 位。",
                detail={"item": rule.name, "problem": "aggregation.too_many_decimals"},
            )
        return scaled
    return typed


@dataclass(frozen=True)
class Target:
    """One value of a pool's current data: what a correction is about."""

    pool: Pool
    subject_key: str  # the key as the data table holds it
    item_name: str
    column: str
    value: Any  # typed, as stored

    @property
    def text(self) -> str | None:
        return value_text(self.value)


def key_value(session: Session, pool: Pool, subject_key: str) -> Any:
    """The subject key typed and cleaned as the load stored it; None when it cannot be one.

    Only the type and the key form count here (an ID number's ``x`` is ``X``, Art. 16): a key
    that is in the pool is found even if the specification changed since it was loaded.
    """
    assert pool.subject_column is not None
    key_name = next(c["name"] for c in pool.columns if c["column"] == pool.subject_column)
    text = subject_key.strip()
    if not text or len(text) > MAX_KEY_LENGTH:
        return None
    rule = rule_for(session, pool, key_name)
    if rule.check in ("id_number", "uscc"):
        text = text.upper()
    lookup = replace(rule, length=None, required=False, allowed=(), check=None)
    try:
        return parse_value(lookup, text)
    except InvalidInput:
        return None


def locate(session: Session, pool: Pool, subject_key: str, item_name: str) -> Target:
    """The current value of ``item_name`` for ``subject_key`` in the pool's current data."""
    if pool.subject_column is None:
        raise InvalidInput(
            "aggregation.correction_no_subject_key",
            "该数据资源没有主体标识信息项，无法定位需要校核的数据。",
        )
    column = column_of(pool.columns, item_name)
    if column is None:
        raise InvalidInput(
            "aggregation.correction_item_unknown", f"该数据资源没有信息项“{item_name}”。"
        )
    if column == pool.subject_column:
        raise InvalidInput(
            "aggregation.correction_subject_key_item",
            "主体标识本身不能通过校核更正；主体标识有误的，请数据提供部门更新数据资源池。",
        )
    table = pools.current_table(pool)
    key = key_value(session, pool, subject_key)
    if table is None or key is None:
        raise CorrectionValueNotFound()
    row = session.execute(
        select(table.c[pool.subject_column], table.c[column]).where(
            table.c[pool.subject_column] == key
        )
    ).first()
    if row is None:
        raise CorrectionValueNotFound()
    return Target(pool, str(value_text(row[0])), item_name, column, row[1])


def current_value(
    session: Session, actor: Actor, c: Correction, *, masked: bool = False
) -> Target | None:
    """The challenged value as the pool holds it now, for those who may read the pool (the
    read is recorded, Art. 40; ``masked``: the caller shows it masked, so no item is read in
    the clear, ``corrections.privacy``)."""
    if not policy.shows_correction_value(actor):
        return None
    try:
        pool = pools.get_pool(session, actor, c.pool_id)
        target = locate(session, pool, c.subject_key, c.item_name)
    except (NotFound, InvalidInput):
        return None
    traces.pool_read(
        session,
        actor,
        "aggregation.correction_value.read",
        pool,
        rows=1,
        object_type="correction",
        object_id=c.id,
        fields=[] if masked else [c.item_name],
    )
    return target


def disclose_stored_values(
    session: Session, actor: Actor, items: Sequence[Correction], pools_by_id: dict[int, Pool]
) -> bool:
    """Whether the actor sees the values stored with these corrections (申请时的值); when any is
    shown, the read is recorded, one access record per pool (Art. 40: a stored value is the
    pool's data as it was)."""
    if not policy.shows_correction_value(actor):
        return False
    shown: dict[int, list[Correction]] = {}
    for c in items:
        if c.current_value is not None:
            shown.setdefault(c.pool_id, []).append(c)
    masks = policy.masks_personal(actor)
    for pool_id, listed in shown.items():
        pool = pools_by_id[pool_id]
        hidden = set(masking.personal_columns(pool)) if masks else set()  # shown masked
        traces.pool_read(
            session,
            actor,
            "aggregation.correction_values.read",
            pool,
            rows=len(listed),
            fields=sorted({c.item_name for c in listed} - hidden),
        )
    return True
