"""What the catalog's pages share: labels and flashes, rendering, refusals in zh-CN, form
parsing, the department context and the published catalog's filters.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from govdata.catalog import policy, updates, versions
from govdata.catalog.models import (
    DemandStatus,
    EntryAction,
    EntryStatus,
    ResourceState,
    SubmissionStatus,
)
from govdata.catalog.vocab import (
    Category,
    DataType,
    LabelledEnum,
    OpenType,
    ResourceFormat,
    SecurityLevel,
    ShareType,
    SubjectKind,
    UpdateCycle,
)
from govdata.catalog.vocabularies import LISTS, Vocabulary
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput
from govdata.core.types import MAX_DB_ID
from govdata.org import service as org_service
from govdata.org.models import Department
from govdata.web.errors import VALIDATION_MESSAGES
from govdata.web.templating import render

PAGE_SIZE = 50

FLASHES = {
    "created": "已新增到本部门目录清单。",
    "updated": "已保存。",
    "withdrawn": "已撤销该资源；提交清单并经审核发布后，该资源将移出目录。",
    "deleted": "尚未提交过的资源已直接删除。",
    "submitted": "清单已提交。",
    "compiled": "已汇总并报送市数据主管部门。",
    "decided": "已审核该条目。",
    "published": "已发布新版政务数据资源目录。",
    "district_returned": "已将所选条目退回部门；其余条目可汇总报送市数据主管部门。",
    "demand_created": "已新增需求。",
    "demand_updated": "需求已保存。",
    "demand_deleted": "需求已删除。",
    "matched": "已记录匹配资源。",
    "change": "已登记变更，申请更新的期限已开始计算。",
}

# What each metadata key of a revision's snapshot is called on the page.
FIELD_LABELS = {
    "code": "资源代码",
    "name": "资源名称",
    "category": "资源分类",
    "class_path": "项/目/细目",
    "classification_code": "分类代码",
    "department_name": "提供方",
    "department_code": "提供方代码",
    "abstract": "资源摘要",
    "format": "资源格式",
    "format_subtype": "格式细类",
    "share_type": "共享属性",
    "share_conditions": "共享条件",
    "share_method": "共享方式",
    "open_type": "开放属性",
    "open_conditions": "开放条件",
    "legal_basis": "法律法规依据",
    "update_cycle": "更新周期",
    "published_on": "发布日期",
    "related_codes": "关联资源代码",
    "security_level": "安全级别",
    "usage_requirements": "使用要求",
    "subject_kind": "主体类型",
    "withdrawn": "申请撤销",
    "items": "信息项",
}
FACET_LABELS = {"department_id": "提供方", "region_id": "行政区域", **FIELD_LABELS}
ENUMS: dict[str, type[LabelledEnum]] = {
    "category": Category,
    "format": ResourceFormat,
    "share_type": ShareType,
    "open_type": OpenType,
    "update_cycle": UpdateCycle,
    "security_level": SecurityLevel,
    "subject_kind": SubjectKind,
    "data_type": DataType,
}
FILTERS = ("category", "share_type", "open_type", "update_cycle", "format")


# The fields whose codes are those of a list the city bureau keeps (issue 16) → the list.
LIST_FIELDS = {spec.field: name for name, spec in LISTS.items()}


def label(key: str, value: Any, vocabs: Mapping[str, Vocabulary] | None = None) -> str:
    """A stored value as the page shows it: enum labels (security level, format and update
    cycle by the city bureau's current lists, ``vocabs``; a retired code by its last label),
    是/否, joined lists."""
    if value is None or value == "":
        return "—"
    if vocabs is not None and key in LIST_FIELDS:
        return vocabs[LIST_FIELDS[key]].display(str(value))
    enum = ENUMS.get(key)
    if enum is not None:
        member = enum.parse(str(value))
        return member.label if member is not None else str(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "items" and isinstance(value, list):
        return "；".join(str(i.get("name", "")) for i in value if isinstance(i, dict))
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    return str(value)


def _page(request: Request, name: str, ctx: dict[str, Any], *, status_code: int = 200) -> Response:
    base: dict[str, Any] = {
        "label": label,
        "FIELD_LABELS": FIELD_LABELS,
        "FACET_LABELS": FACET_LABELS,
        "vocab": {k: list(v) for k, v in ENUMS.items()},
        "review_clock": updates.review_clock,
        "apply_clock": updates.apply_clock,
        "ResourceState": ResourceState,
        "SubmissionStatus": SubmissionStatus,
        "EntryStatus": EntryStatus,
        "EntryAction": EntryAction,
        "DemandStatus": DemandStatus,
        "CHANGE_KINDS": updates.CHANGE_KINDS,
    }
    base.update(ctx)
    # The city bureau's code lists (``pages.vocabularies.load_lists``, issue 16): labels, the
    # resource form's choices (a retired value the resource holds kept, marked) and the
    # filters' options (every code the list has had: published revisions may hold any).
    vocabs: dict[str, Vocabulary] | None = getattr(request.state, "vocabs", None)
    if vocabs is not None:
        base["label"] = partial(label, vocabs=vocabs)
        values = base.get("v")
        for key, list_name in LIST_FIELDS.items():
            vocab = vocabs[list_name]
            if isinstance(values, dict):
                held = values.get(key)
                if not held:
                    values[key] = held = vocab.default_code
                base["vocab"][key] = vocab.choices(keep=held)
            else:
                base["vocab"][key] = vocab.filter_choices()
    return render(request, name, base, status_code=status_code)


def _flash(msg: str | None) -> str | None:
    return FLASHES.get(msg or "")


def _query_without(request: Request, *keys: str) -> str:
    return urlencode({k: v for k, v in request.query_params.items() if k not in keys})


def _refused(session: Session, exc: BaseException) -> str:
    """End the refused unit of work and say what was wrong, in zh-CN."""
    finish_failed(session, exc)
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:5]:
            loc = [str(p) for p in err.get("loc", ())]
            field = loc[0] if loc else ""
            name = FIELD_LABELS.get(field, field)
            if field == "items" and len(loc) > 1:
                name = f"第{int(loc[1]) + 1}行信息项" if loc[1].isdigit() else "信息项"
                if len(loc) > 2:
                    name += {"name": "名称", "data_type": "数据类型", "length": "长度"}.get(
                        loc[2], loc[2]
                    )
            kind = str(err.get("type", ""))
            parts.append(f"{name}（{VALIDATION_MESSAGES.get(kind, '取值无效')}）")
        return f"填写内容不符合要求：{'、'.join(parts)}。"
    raise exc


async def _form(request: Request) -> FormData:
    return await request.form()


FormIn = Annotated[FormData, Depends(_form)]


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _optional_id(value: str, what: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not (value.isascii() and value.isdecimal()) or not 1 <= int(value) <= MAX_DB_ID:
        raise InvalidInput("request.bad_id", f"{what}“{value}”不是有效的编号。")
    return int(value)


def _departments(session: Session, ids: set[int]) -> dict[int, Department]:
    """Department names for labelling: the published catalog names its providers to all."""
    if not ids:
        return {}
    return {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(ids)))}


def _department_context(session: Session, actor: Actor, department_id: int) -> dict[str, Any]:
    dept = org_service.get_department(session, actor, department_id)
    return {
        "dept": dept,
        "can_edit": policy.can_edit_list(actor, dept.id),
    }


# --- the catalog's filters (Art. 13) --------------------------------------------------------


def _list_value(request: Request, key: str, value: str | None) -> str | None:
    """A filter on a code of a list the city bureau keeps: any code it has had, or a label."""
    if not value:
        return None
    vocabs: dict[str, Vocabulary] | None = getattr(request.state, "vocabs", None)
    if vocabs is None:
        raise RuntimeError("the catalog's code lists are loaded before its pages")
    vocab = vocabs[LIST_FIELDS[key]]
    text = value.strip()
    for e in vocab.entries:
        if text in (e.code, e.label):
            return e.code
    raise InvalidInput("request.bad_filter", f"{vocab.title}“{value}”不是允许的取值。")


def _enum_value(enum: type[LabelledEnum], value: str | None, what: str) -> str | None:
    if not value:
        return None
    member = enum.parse(value)
    if member is None:
        raise InvalidInput("request.bad_filter", f"{what}“{value}”不是允许的取值。")
    return member.value


def _catalog_filter(
    request: Request,
    department_id: str | None,
    region_id: str | None,
    category: str | None,
    share_type: str | None,
    open_type: str | None,
    update_cycle: str | None,
    format: str | None,
) -> versions.CatalogFilter:
    return versions.CatalogFilter(
        department_id=_optional_id(department_id or "", "部门"),
        region_id=_optional_id(region_id or "", "行政区域"),
        category=_enum_value(Category, category, "资源分类"),
        share_type=_enum_value(ShareType, share_type, "共享属性"),
        open_type=_enum_value(OpenType, open_type, "开放属性"),
        update_cycle=_list_value(request, "update_cycle", update_cycle),
        format=_list_value(request, "format", format),
    )


def catalog_filter(
    request: Request,
    department_id: Annotated[str | None, Query(max_length=12)] = None,
    region_id: Annotated[str | None, Query(max_length=12)] = None,
    category: Annotated[str | None, Query(max_length=20)] = None,
    share_type: Annotated[str | None, Query(max_length=20)] = None,
    open_type: Annotated[str | None, Query(max_length=20)] = None,
    update_cycle: Annotated[str | None, Query(max_length=20)] = None,
    format: Annotated[str | None, Query(max_length=20)] = None,
) -> versions.CatalogFilter:
    return _catalog_filter(
        request, department_id, region_id, category, share_type, open_type, update_cycle, format
    )


Filter = Annotated[versions.CatalogFilter, Depends(catalog_filter)]
