"""The resource form's values (Art. 12 ¶1): a resource as the form's text, the posted form as
text, and that text read as the service's input with every problem at once (the schema's, the
regulation's rules and the database's), and whether the legal basis is required as filled."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from govdata.catalog import inputs, rules, service
from govdata.catalog.models import Resource
from govdata.catalog.pages.common import FIELD_LABELS, _text
from govdata.catalog.schemas import ResourceIn
from govdata.catalog.vocab import OpenType, ShareType
from govdata.core.errors import InvalidInput


def blank_item() -> dict[str, str]:
    return {
        "name": "",
        "data_type": "C",
        "length": "",
        "share_type": "",
        "open_type": "",
        "key": "",
    }


def values_of(data: ResourceIn | None) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A resource input as the form's text values (a new resource: the usual defaults)."""
    if data is None:
        values = {
            "category": "department",
            "format": "",  # the city bureau's defaults (pages.common._page)
            "share_type": "conditional",
            "open_type": "none",
            "update_cycle": "",
            "security_level": "",
        }
        return values, []
    dumped = data.model_dump(mode="json")
    values = {}
    for key, value in dumped.items():
        if key == "items":
            continue
        if key == "related_codes":
            values[key] = "\n".join(value)
        else:
            values[key] = "" if value is None else str(value)
    items = [
        {
            "name": i["name"],
            "data_type": i["data_type"],
            "length": "" if i["length"] is None else str(i["length"]),
            "share_type": i["share_type"] or "",
            "open_type": i["open_type"] or "",
            "key": "on" if i["is_subject_key"] else "",
        }
        for i in dumped["items"]
    ]
    return values, items


def values_from_form(form: FormData) -> tuple[dict[str, str], list[dict[str, str]]]:
    values = {key: _text(form, key) for key in ResourceIn.model_fields if key not in ("items",)}
    names = form.getlist("item_name")
    types = form.getlist("item_type")
    lengths = form.getlist("item_length")
    shares = form.getlist("item_share")
    opens = form.getlist("item_open")
    keys = {str(k) for k in form.getlist("item_key")}
    items = []
    for n, name in enumerate(names):

        def at(column: list[Any], n: int = n) -> str:
            value = column[n] if n < len(column) else ""
            return value if isinstance(value, str) else ""

        items.append(
            {
                "name": name if isinstance(name, str) else "",
                "data_type": at(types),
                "length": at(lengths),
                "share_type": at(shares),
                "open_type": at(opens),
                "key": "on" if str(n) in keys else "",
            }
        )
    return values, items


# The form's names of an item's fields, for a problem in item row n ("第2行信息项长度").
ITEM_FIELD_LABELS = {
    "name": "名称",
    "data_type": "数据类型",
    "length": "长度",
    "share_type": "共享属性",
    "open_type": "开放属性",
    "is_subject_key": "主体标识",
}


def _where(path: tuple[str | int, ...]) -> str:
    if path and path[0] == "items":
        if len(path) >= 2 and isinstance(path[1], int):
            field = ITEM_FIELD_LABELS.get(str(path[2]), "") if len(path) >= 3 else ""
            return f"第{path[1] + 1}行信息项{field}"
        return "信息项"
    return FIELD_LABELS.get(str(path[0]), str(path[0])) if path else ""


def _refusal(read: inputs.Read, found: list[rules.Problem]) -> InvalidInput:
    """Every problem of the form in one message (the schema's first, then the rules', then
    what the database tells: an unknown related code, a name taken), each also in the detail
    with its field and code."""
    problems = [*read.problems, *found]
    parts = [f"{_where(e.path)}{e.explain or '取值无效。'}" for e in read.schema]
    parts += [p.message for p in problems]
    listed = "；".join(part.rstrip("。") for part in parts)
    detail: list[dict[str, object]] = [
        {"field": ".".join(map(str, e.path)), "code": "catalog.value_invalid", "message": text}
        for e, text in zip(read.schema, parts, strict=False)
    ]
    detail += [
        {"field": p.field, "item": p.item, "code": p.code, "message": p.message} for p in problems
    ]
    code = problems[0].code if problems and not read.schema else "catalog.value_invalid"
    return InvalidInput(
        code,
        f"填写内容有 {len(parts)} 处问题：{listed}。",
        detail={"problems": detail},
    )


def input_of(
    session: Session,
    department_id: int,
    values: dict[str, str],
    items: list[dict[str, str]],
    resource: Resource | None = None,
) -> ResourceIn:
    """The form's text as the service's input; blank item rows are left out. Every problem of
    the form is refused at once: the schema's, the regulation's rules (``inputs``) and the
    database's (``service.lookup_problems``)."""
    data: dict[str, Any] = {k: v for k, v in values.items() if v.strip() != ""}
    data["related_codes"] = [
        c for c in re.split(r"[\s,，、;；]+", values.get("related_codes", "")) if c
    ]
    data["items"] = [
        {
            "name": i["name"],
            "data_type": i["data_type"],
            "length": i["length"].strip() or None,
            "share_type": i["share_type"] or None,
            "open_type": i["open_type"] or None,
            "is_subject_key": i["key"] == "on",
        }
        for i in items
        if i["name"].strip()
    ]
    read = inputs.read(data)
    found = service.lookup_problems(
        session,
        department_id,
        name=values.get("name", ""),
        related_codes=data["related_codes"],
        resource_id=resource.id if resource is not None else None,
        own_code=resource.code if resource is not None else None,
    )
    if read.data is None or found:
        raise _refusal(read, found)
    return read.data


RESTRICTED = {
    ShareType.CONDITIONAL.value,
    ShareType.NONE.value,
    OpenType.CONDITIONAL.value,
    OpenType.NONE.value,
}


def legal_basis_required(values: dict[str, str], items: list[dict[str, str]]) -> bool:
    """Whether the form as filled needs a legal basis: the resource or one of its items is
    shared or opened with conditions or not at all (Art. 25, 31; the rule is
    ``rules.check_resource``'s, this only labels the field)."""
    kinds = [values.get("share_type", ""), values.get("open_type", "")]
    kinds += [i[k] for i in items if i["name"].strip() for k in ("share_type", "open_type")]
    return any(kind in RESTRICTED for kind in kinds)
