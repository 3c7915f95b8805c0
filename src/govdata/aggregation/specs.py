"""The aggregation specification per info item (政务数据汇聚规范, Art. 15): required items and
allowed values, checked on every load in addition to the catalog's types and lengths."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import policy, pools
from govdata.aggregation.models import ItemSpec
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import InvalidInput

MAX_ALLOWED_VALUES = 500


def list_specs(session: Session, actor: Actor, pool_id: int) -> dict[str, ItemSpec]:
    pool = pools.get_pool(session, actor, pool_id)
    return {
        s.item_name: s
        for s in session.scalars(select(ItemSpec).where(ItemSpec.resource_id == pool.resource_id))
    }


def set_spec(
    session: Session,
    actor: Actor,
    pool_id: int,
    *,
    item_name: str,
    required: bool,
    allowed_values: list[str],
) -> ItemSpec:
    """Set one item's rule. The subject key is always required (Art. 16) whatever is set."""
    pool = pools.get_pool(session, actor, pool_id)
    policy.require_edit_spec(actor, pool.department_id)
    if item_name not in {c["name"] for c in pool.columns}:
        raise InvalidInput("aggregation.unknown_item", f"该资源没有名为“{item_name}”的信息项。")
    values = list(dict.fromkeys(v.strip() for v in allowed_values if v.strip()))
    if len(values) > MAX_ALLOWED_VALUES:
        raise InvalidInput("aggregation.too_many_values", f"允许取值最多 {MAX_ALLOWED_VALUES} 个。")
    spec = session.scalars(
        select(ItemSpec).where(
            ItemSpec.resource_id == pool.resource_id, ItemSpec.item_name == item_name
        )
    ).one_or_none()
    before = None if spec is None else {"required": spec.required, "allowed": spec.allowed_values}
    if spec is None:
        spec = ItemSpec(resource_id=pool.resource_id, item_name=item_name)
        session.add(spec)
    spec.required = required
    spec.allowed_values = values
    spec.updated_by = actor.person_id
    spec.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "aggregation.spec_set",
        object_type="item_spec",
        object_id=spec.id,
        summary=f"设置汇聚规范：{pool.code}“{item_name}”{'必填' if required else '选填'}"
        + (f"，允许取值 {len(values)} 个" if values else ""),
        change={"before": before, "required": required, "allowed": values},
        department_id=pool.department_id,
    )
    return spec
