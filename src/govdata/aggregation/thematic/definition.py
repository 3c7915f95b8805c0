"""A thematic database's definition (Art. 17 ¶3, 24, 25(3)): one typed model that the API
takes, the define page builds and the database stores; and its resolution into columns against
the base and pool items as they stand.

A definition names a base database (its subjects are the rows), the base items and pool items
to show, joined on the subject key, and filters::

    {"base_kind": "person",
     "base_items": ["姓名", "出生日期"],
     "pool_items": [{"resource_code": "…", "item": "…", "label": "…"(optional)}],
     "filters": [{"item": "出生日期", "op": "ge", "value": "1960-01-01"}]}

Its shape is the model's (``ThematicDefinition.parse`` refuses a bad one with a stable code);
what it refers to is checked by ``check``. Another department's pool items are taken only where
they are shared unconditionally: anything else needs the sharing system's grant (Art. 24, 26),
which a definition cannot presume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from govdata.aggregation import pools
from govdata.aggregation.errors import BadText, ThematicInvalid
from govdata.aggregation.models import BaseDatabase, BaseKind, ThematicDatabase
from govdata.aggregation.subjects import column_named, find_base, fits, items_of
from govdata.aggregation.text import plain
from govdata.catalog import published
from govdata.catalog.published import CatalogResource, PublishedResource
from govdata.catalog.vocab import ShareType

OPERATORS: dict[str, str] = {
    "eq": "等于",
    "ne": "不等于",
    "gt": "大于",
    "ge": "大于等于",
    "lt": "小于",
    "le": "小于等于",
    "in": "属于",
    "contains": "包含",
    "not_null": "不为空",
}
MAX_COLUMNS = 100
MAX_FILTERS = 20
MAX_IN_VALUES = 100
NUMERIC_TYPES = frozenset({"N", "Y", "I", "B", "F"})
NON_FINITE = "筛选取值须为有限的数字，不能是 NaN 或无穷大。"

# --- the model ------------------------------------------------------------------------------------


def _no_control(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise PydanticCustomError("control_character", "含有不允许的控制字符")
    return value


Text = Annotated[str, AfterValidator(_no_control)]
Scalar = str | int | float | bool


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class PoolItem(_Part):
    resource_code: Text = Field(min_length=1, max_length=32, description="资源代码")
    item: Text = Field(min_length=1, max_length=100, description="信息项名称")
    label: Text | None = Field(default=None, max_length=100, description="列名；同名时另设")

    @field_validator("label")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class Filter(_Part):
    item: Text = Field(min_length=1, max_length=100, description="列名（基础信息项或资源池信息项）")
    op: Text = Field(
        min_length=1, max_length=10, description="eq ne gt ge lt le in contains not_null"
    )
    value: Scalar | list[Scalar] | None = Field(default=None, description="取值；in 为列表")

    @field_validator("value")
    @classmethod
    def _finite(cls, value: Scalar | list[Scalar] | None) -> Scalar | list[Scalar] | None:
        # NaN and the infinities compare with nothing and PostgreSQL's json refuses them.
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, float) and not math.isfinite(v):
                raise PydanticCustomError("non_finite_number", NON_FINITE)
        return value


class ThematicDefinition(_Part):
    """What a thematic database joins and keeps: stored as ``ThematicDatabase.definition``."""

    base_kind: Text = Field(min_length=1, max_length=20, description="person / legal_entity …")
    base_items: list[Annotated[Text, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=MAX_COLUMNS
    )
    pool_items: list[PoolItem] = Field(default_factory=list, max_length=MAX_COLUMNS)
    filters: list[Filter] = Field(default_factory=list, max_length=MAX_FILTERS)

    @classmethod
    def parse(cls, data: Any) -> ThematicDefinition:
        """A definition from a mapping (a form, a test, the store), or ``InvalidInput`` with a
        stable code and a zh-CN message naming what is wrong."""
        if isinstance(data, ThematicDefinition):
            return data
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _refusal(exc) from None

    def stored(self) -> dict[str, Any]:
        """The JSON the database keeps (what is not set is left out: no label, no value)."""
        return self.model_dump(mode="json", exclude_none=True)


def of(db: ThematicDatabase) -> ThematicDefinition:
    """A stored definition."""
    return ThematicDefinition.parse(db.definition or {})


def _refusal(exc: ValidationError) -> ThematicInvalid | BadText:
    error = exc.errors()[0]
    loc, kind = error["loc"], error["type"]
    where = str(loc[0]) if loc else ""
    given = "" if kind == "missing" else error.get("input")
    if kind == "control_character":
        return BadText({"filters": "筛选条件", "pool_items": "资源池信息项"}.get(where, "定义"))
    if kind == "too_long" and len(loc) == 1:
        if where == "filters":
            return ThematicInvalid("too_many", f"筛选条件最多 {MAX_FILTERS} 个。")
        return ThematicInvalid("too_many", f"一个主题数据库最多 {MAX_COLUMNS} 列。")
    if where == "base_kind":
        return ThematicInvalid("unknown_base", f"“{given}”不是基础数据库的种类。")
    if kind == "non_finite_number":
        return ThematicInvalid("non_finite_value", NON_FINITE)
    if where == "filters" and len(loc) > 2:
        field = str(loc[2])
        if field == "op":
            return ThematicInvalid(
                "bad_operator",
                f"“{given}”不是允许的筛选运算；可用：{'、'.join(OPERATORS)}。",
            )
        if field == "value":
            return ThematicInvalid(
                "bad_filter_value", "筛选条件须给出一个取值，或为“属于”给出取值的列表。"
            )
    if where == "filters" and len(loc) > 1:
        return ThematicInvalid("bad_filter", "筛选条件须包含 item、op、value。")
    if where in ("base_items", "pool_items", "filters") and len(loc) == 1:
        return ThematicInvalid("bad_definition", "base_items、pool_items、filters 须为列表。")
    if where == "base_items":
        return ThematicInvalid("bad_definition", "基础信息项须为名称。")
    if where == "pool_items":
        if loc[-1] == "label":
            return ThematicInvalid("bad_definition", "列名不能超过100个字。")
        return ThematicInvalid("bad_definition", "资源池信息项须写明资源代码和信息项名称。")
    return ThematicInvalid(
        "bad_definition", "主题数据库定义只能包含 base_kind、base_items、pool_items、filters。"
    )


# --- its columns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThematicColumn:
    """One column of a thematic database and where its values come from."""

    column: str  # t1, t2, …
    label: str
    origin: str  # "base" or "pool"
    item: str  # the base item's or the pool item's name
    resource_code: str  # the base item's authoritative source, or the pool's resource
    data_type: str
    length: int | None
    share_type: str


def base_of(session: Session, definition: ThematicDefinition) -> BaseDatabase:
    kind = definition.base_kind
    try:
        label = BaseKind(kind).label
    except ValueError:
        raise ThematicInvalid("unknown_base", f"“{kind}”不是基础数据库的种类。") from None
    base = find_base(session, kind)
    if base is None:
        raise ThematicInvalid("unknown_base", f"尚未建立{label}，不能以其为主题数据库的基础。")
    return base


def _published(found: CatalogResource | None, code: str) -> PublishedResource:
    if found is None:
        raise ThematicInvalid("resource_unknown", f"未找到代码为 {code} 的政务数据资源。")
    if found.published is None or found.published.withdrawal_pending:
        raise ThematicInvalid(
            "resource_not_published",
            f"资源“{found.name}”（{code}）不在已发布的政务数据资源目录中（第十二条）。",
        )
    return found.published


def resolve(
    session: Session,
    definition: ThematicDefinition,
    *,
    strict: bool = True,
    department_id: int | None = None,
) -> list[ThematicColumn]:
    """A definition's columns. ``strict`` refuses a source that no longer fits;
    ``department_id`` also applies the sharing rule to other departments' items."""
    base = base_of(session, definition)
    items = {i.name: i for i in items_of(session, base)}
    columns: list[ThematicColumn] = []
    labels: set[str] = {base.key_name, "subject_key"}

    def add(col: ThematicColumn) -> None:
        if col.label in labels:
            raise ThematicInvalid(
                "duplicate_column",
                f"列“{col.label}”重复；同名的资源池信息项请另设列名（label）。",
            )
        labels.add(col.label)
        columns.append(col)

    chosen = [items.get(name) for name in definition.base_items]
    sources = published.resources(session, {i.source_resource_id for i in chosen if i})
    codes = {p.resource_code for p in definition.pool_items}
    named = published.resources_by_code(session, codes)
    layouts = pools.layouts_of(
        session,
        [r.published for r in (*sources.values(), *named.values()) if r.published is not None],
    )
    for name, item in zip(definition.base_items, chosen, strict=True):
        if item is None:
            raise ThematicInvalid("unknown_base_item", f"{base.name}没有基础信息项“{name}”。")
        source = sources[item.source_resource_id]
        layout = layouts.get(source.resource_id)
        col = column_named(layout[0], item.source_item) if layout else None
        add(
            ThematicColumn(
                column=f"t{len(columns) + 1}",
                label=item.name,
                origin="base",
                item=item.name,
                resource_code=source.code,
                data_type=str(col["data_type"]) if col else "C",
                length=col.get("length") if col else None,
                share_type=ShareType.UNCONDITIONAL.value,  # Art. 25(2)
            )
        )
    for entry in definition.pool_items:
        code, name = entry.resource_code, entry.item
        label = entry.label or name
        try:
            resource = _published(named.get(code), code)
        except ThematicInvalid:
            if strict:
                raise
            add(ThematicColumn(f"t{len(columns) + 1}", label, "pool", name, code, "C", None, ""))
            continue
        cols, subject = layouts[resource.resource_id]
        if strict and not fits(base.kind, cols, subject):
            raise ThematicInvalid(
                "key_mismatch",
                f"资源“{resource.name}”的主体标识不是“{base.key_name}”，不能与{base.name}关联。",
            )
        col = column_named(cols, name)
        if strict and (col is None or col["column"] == subject):
            raise ThematicInvalid("pool_item_unknown", f"资源“{resource.name}”没有信息项“{name}”。")
        published_item = resource.item(name)
        share = (published_item.share_type if published_item else resource.share_type).value
        if (
            department_id is not None
            and resource.department_id != department_id
            and share != ShareType.UNCONDITIONAL.value
        ):
            raise ThematicInvalid(
                "item_not_shared",
                f"资源“{resource.name}”的信息项“{name}”不是无条件共享的，须通过共享系统申请"
                "后使用（第二十四条、第二十六条）。",
            )
        add(
            ThematicColumn(
                column=f"t{len(columns) + 1}",
                label=label,
                origin="pool",
                item=name,
                resource_code=resource.code,
                data_type=str(col["data_type"]) if col else "C",
                length=col.get("length") if col else None,
                share_type=share,
            )
        )
    return columns


# --- checking one against what it refers to -------------------------------------------------------


def check(
    session: Session, department_id: int, definition: ThematicDefinition
) -> tuple[ThematicDefinition, list[ThematicColumn]]:
    """The definition as stored (filter values typed by their column) and its columns, or a
    refusal with a stable code: what it names must exist, fit the base and be shared."""
    if not definition.base_items and not definition.pool_items:
        raise ThematicInvalid("empty", "请至少选择一个基础信息项或资源池信息项。")
    if len(definition.base_items) + len(definition.pool_items) > MAX_COLUMNS:
        raise ThematicInvalid("too_many", f"一个主题数据库最多 {MAX_COLUMNS} 列。")
    columns = resolve(session, definition, department_id=department_id)
    by_label = {c.label: c for c in columns}
    filters = []
    for f in definition.filters:
        col = by_label.get(f.item)
        if col is None:
            raise ThematicInvalid("bad_filter", f"筛选条件中的“{f.item}”不是本主题数据库选取的列。")
        if f.op not in OPERATORS:
            raise ThematicInvalid(
                "bad_operator", f"“{f.op}”不是允许的筛选运算；可用：{'、'.join(OPERATORS)}。"
            )
        filters.append(Filter(item=f.item, op=f.op, value=_filter_value(col, f)))
    return definition.model_copy(update={"filters": filters}), columns


def _filter_value(col: ThematicColumn, f: Filter) -> Any:
    if f.op == "not_null":
        return None
    if f.op == "in":
        if not isinstance(f.value, list) or not f.value or len(f.value) > MAX_IN_VALUES:
            raise ThematicInvalid(
                "bad_filter_value",
                f"“属于”条件须给出 1 至 {MAX_IN_VALUES} 个取值的列表（{col.label}）。",
            )
        return [_one_value(col, v) for v in f.value]
    if f.value is None or isinstance(f.value, list):
        raise ThematicInvalid("bad_filter_value", f"筛选条件“{col.label}”须给出一个取值。")
    return _one_value(col, f.value)


def _one_value(col: ThematicColumn, value: Scalar) -> Scalar:
    """A filter's value as the materialized column compares it: a number, ``true``/``false``
    or text."""
    if col.data_type in NUMERIC_TYPES:
        if isinstance(value, bool):
            raise ThematicInvalid("bad_filter_value", f"“{col.label}”是数值，筛选取值须为数字。")
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ThematicInvalid(
                "bad_filter_value", f"“{col.label}”是数值，筛选取值“{value}”不是数字。"
            ) from None
        if not math.isfinite(number):
            raise ThematicInvalid("non_finite_value", f"“{col.label}”是数值，{NON_FINITE}")
        return number
    if col.data_type == "L":
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(value).strip().lower()
        if text in ("true", "是", "1"):
            return "true"
        if text in ("false", "否", "0"):
            return "false"
        raise ThematicInvalid(
            "bad_filter_value", f"“{col.label}”是逻辑值，筛选取值须为“是”或“否”。"
        )
    text = str(value)
    plain(text, "筛选取值")
    if len(text) > 200:
        raise ThematicInvalid("bad_filter_value", "筛选取值不能超过200个字。")
    return text
