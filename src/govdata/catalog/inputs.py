"""A resource's metadata as entered (a form, a spreadsheet row) read with every problem at once.

The schema (``schemas.ResourceIn``: labels, lengths, numbers) and the regulation's rules
(``rules.check_resource``) are checked in one pass: a field that cannot be read is reported and
replaced by a stand-in, and the rules run on everything else (a rule that would read a stand-in
is left out), so that a department fixes its input once, not once per kind of error. Nothing is
stored while a problem remains.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from govdata.catalog import rules
from govdata.catalog.schemas import ResourceIn

# What a field holds while the rules run on the rest of an input; never stored.
STAND_INS: dict[str, Any] = {
    "category": "department",
    "class_path": "",
    "name": "名称",
    "abstract": "",
    "format": "database",
    "format_subtype": "",
    "share_type": "unconditional",
    "share_conditions": "",
    "share_method": "",
    "open_type": "unconditional",
    "open_conditions": "",
    "legal_basis": "",
    "update_cycle": "monthly",
    "published_on": None,
    "related_codes": [],
    "security_level": "internal",
    "usage_requirements": "",
    "subject_kind": None,
    "items": [],
}
ITEM_STAND_INS: dict[str, Any] = {
    "name": "信息项",
    "data_type": "C",
    "length": None,
    "share_type": None,
    "open_type": None,
    "is_subject_key": False,
}

# Pydantic's error types, said in zh-CN (after the field's name).
EXPLAIN: dict[str, Callable[[dict[str, Any]], str]] = {
    "string_too_short": lambda ctx: f"至少须有 {ctx.get('min_length')} 个字符。",
    "string_too_long": lambda ctx: f"最多 {ctx.get('max_length')} 个字符。",
    "too_long": lambda ctx: f"最多 {ctx.get('max_length')} 个。",
    "greater_than_equal": lambda ctx: f"不能小于 {ctx.get('ge')}。",
    "less_than_equal": lambda ctx: f"不能大于 {ctx.get('le')}。",
    "int_parsing": lambda ctx: "应为整数。",
    "int_from_float": lambda ctx: "应为整数。",
    "enum": lambda ctx: "不是可选的取值。",
    "date_from_datetime_parsing": lambda ctx: "应为日期（如 2024-05-01）。",
    "date_parsing": lambda ctx: "应为日期（如 2024-05-01）。",
    "bool_parsing": lambda ctx: "应为“是”或“否”。",
    "missing": lambda ctx: "不能为空。",
    "extra_forbidden": lambda ctx: "不是资源的信息。",
}


@dataclass(frozen=True)
class SchemaError:
    """A value the schema refused: where it is (``("name",)``, ``("items", 1, "length")``)
    and what is wrong, in zh-CN."""

    path: tuple[str | int, ...]
    explain: str

    @property
    def item(self) -> int | None:
        if len(self.path) >= 2 and self.path[0] == "items" and isinstance(self.path[1], int):
            return self.path[1]
        return None


@dataclass
class Read:
    """An input read: ``data`` when it has no problem at all."""

    data: ResourceIn | None
    schema: list[SchemaError] = field(default_factory=list)
    problems: list[rules.Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.schema and not self.problems


def read(
    raw: Mapping[str, Any],
    unknown: Collection[str] = (),
    format_label: Callable[[str], str] | None = None,
) -> Read:
    """Read ``raw`` (ResourceIn's fields, ``items`` a list of mappings) with every problem.

    ``unknown``: fields the caller could not read and has reported already (a spreadsheet cell
    with an unknown label); the schema's complaints about them are not repeated.
    """
    missing = set(unknown)
    schema: list[SchemaError] = []
    try:
        data = ResourceIn.model_validate(_stand_in(raw, missing))
    except ValidationError as exc:
        for error in exc.errors():
            path = tuple(error["loc"])
            missing.add(_unknown_name(path))
            explain = EXPLAIN.get(error["type"])
            schema.append(SchemaError(path, explain(error.get("ctx") or {}) if explain else ""))
        try:
            data = ResourceIn.model_validate(_stand_in(raw, missing))
        except ValidationError:  # pragma: no cover - stand-ins are valid values
            return Read(None, schema)
    problems = rules.check_resource(data, missing, format_label)
    result = Read(None, schema, problems)
    if result.ok and not missing:
        result.data = data
    return result


def _unknown_name(path: tuple[str | int, ...]) -> str:
    """``rules``' name of the field at ``path``."""
    if path and path[0] == "items":
        if len(path) >= 3:
            return f"items.{path[1]}.{path[2]}"
        if len(path) == 2:
            return f"items.{path[1]}"
        return "items"
    return str(path[0]) if path else ""


def _stand_in(raw: Mapping[str, Any], unknown: Collection[str]) -> dict[str, Any]:
    """``raw`` with a stand-in for every unknown field (and unknown fields left out)."""
    data = {k: v for k, v in raw.items() if k in STAND_INS}
    for name in unknown:
        if name in STAND_INS:
            data[name] = STAND_INS[name]
    if "items" in unknown:
        return data
    items = []
    for n, item in enumerate(raw.get("items") or []):
        whole = f"items.{n}" in unknown or not isinstance(item, Mapping)
        values = {} if whole else {k: v for k, v in item.items() if k in ITEM_STAND_INS}
        for name, stand_in in ITEM_STAND_INS.items():
            if whole or f"items.{n}.{name}" in unknown:
                values[name] = stand_in
        items.append(values)
    if "items" in raw:
        data["items"] = items
    return data
