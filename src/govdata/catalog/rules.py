"""The regulation's rules on one resource's metadata, checked before anything is stored.

``check_resource`` returns every problem (the spreadsheet import and the resource form report
them all), also on an input of which some fields could not be read: those are named in
``unknown`` (``"share_type"``, ``"items.2.data_type"``; ``"items"`` for the whole list), their
values are stand-ins, and a rule that would read one is left out rather than guessed, so that
every other rule still runs. ``require_valid`` raises the first as a domain error (the API).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from govdata.catalog.schemas import ResourceIn
from govdata.catalog.vocab import (
    ID_NUMBER_ITEM_NAMES,
    USCC_ITEM_NAMES,
    Category,
    DataType,
    OpenType,
    ResourceFormat,
    ShareType,
    SubjectKind,
)
from govdata.core.errors import InvalidInput

# Formats whose content has no fields to describe (a scanned document, a video stream). A format
# the city bureau adds to its 资源格式 list (``catalog.vocabularies``) lists its items.
UNSTRUCTURED_FORMATS = frozenset(
    {
        ResourceFormat.ELECTRONIC_FILE.value,
        ResourceFormat.IMAGE.value,
        ResourceFormat.STREAMING.value,
    }
)
MAX_CLASS_LEVELS = 3  # 项/目/细目


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    field: str  # the ResourceIn field (or "items")
    item: int | None = None  # the index of the item it is about, when it is about one


class _Known:
    """Which fields of an input were read (see the module docstring)."""

    def __init__(self, unknown: Collection[str]) -> None:
        self.unknown = frozenset(unknown)
        parts = [u.split(".") for u in self.unknown if u.startswith("items.")]
        # The whole list, or a whole item (one that was not even a mapping).
        self.items_unknown = "items" in self.unknown or any(len(p) == 2 for p in parts)
        self.item_fields = {p[2] for p in parts if len(p) >= 3}

    def __call__(self, *fields: str) -> bool:
        """Whether every field named is known; ``items.<field>``: that field of every item."""
        for name in fields:
            if name.startswith("items."):
                if self.items_unknown or name.removeprefix("items.") in self.item_fields:
                    return False
            elif name in self.unknown:
                return False
        return True

    def item(self, index: int, *fields: str) -> bool:
        """Whether these fields of the item ``index`` are known."""
        if self.items_unknown:
            return False
        return not any(f"items.{index}.{name}" in self.unknown for name in fields)


def class_levels(class_path: str) -> list[str]:
    return [part.strip() for part in class_path.split("/")] if class_path.strip() else []


def infer_subject(data: ResourceIn) -> SubjectKind:
    """Whom the resource is about: declared, by its subject key, or by its class (Art. 16)."""
    if data.subject_kind is not None:
        return data.subject_kind
    for item in data.items:
        if item.is_subject_key and item.name in ID_NUMBER_ITEM_NAMES:
            return SubjectKind.PERSON
        if item.is_subject_key and item.name in USCC_ITEM_NAMES:
            return SubjectKind.LEGAL_PERSON
    levels = class_levels(data.class_path)
    if data.category is Category.BASIC and levels:
        if levels[0].startswith(("人口", "自然人")):
            return SubjectKind.PERSON
        if levels[0].startswith("法人"):
            return SubjectKind.LEGAL_PERSON
    return SubjectKind.OTHER


def _restricted(
    known: _Known, resource: object, items: Sequence[object], unrestricted: object, field: str
) -> bool | None:
    """Whether sharing (or opening) is restricted for the resource or one of its items; None
    when that depends on a value not read. A restriction read anywhere is certain."""
    restricted = (known(field) and resource is not unrestricted) or any(
        value is not None and value is not unrestricted
        for n, value in enumerate(items)
        if known.item(n, field)
    )
    if restricted:
        return True
    return False if known(field, f"items.{field}") else None


def check_resource(
    data: ResourceIn,
    unknown: Collection[str] = (),
    format_label: Callable[[str], str] | None = None,
) -> list[Problem]:
    """Every problem of ``data`` with the regulation's rules; ``unknown``: the fields that could
    not be read, whose rules are left out (see the module docstring); ``format_label``: a
    format code's label in the city bureau's list (default: the national guide's)."""
    problems: list[Problem] = []
    known = _Known(unknown)
    label_of_format = format_label or guide_format_label

    def add(code: str, message: str, field: str, item: int | None = None) -> None:
        problems.append(Problem(code, message, field, item))

    levels = class_levels(data.class_path)
    if known("class_path") and (
        len(levels) > MAX_CLASS_LEVELS or any(not level for level in levels)
    ):
        add(
            "catalog.class_path_invalid",
            "信息资源分类在“类”之后最多三级（项/目/细目），各级名称不能为空。",
            "class_path",
        )

    # Art. 25(1): conditional or no sharing needs a legal basis; Art. 31 likewise for opening.
    restricted_share = _restricted(
        known,
        data.share_type,
        [i.share_type for i in data.items],
        ShareType.UNCONDITIONAL,
        "share_type",
    )
    restricted_open = _restricted(
        known,
        data.open_type,
        [i.open_type for i in data.items],
        OpenType.UNCONDITIONAL,
        "open_type",
    )
    if known("legal_basis") and not data.legal_basis.strip():
        if restricted_share:
            add(
                "catalog.share_legal_basis_required",
                "有条件共享或不予共享的政务数据资源，须填写法律、行政法规或党中央、国务院政策依据"
                "（第二十五条）。",
                "legal_basis",
            )
        if restricted_open:
            add(
                "catalog.open_legal_basis_required",
                "有条件开放或不予开放的政务数据资源，须填写法律法规或国家有关文件依据（第三十一条）。",
                "legal_basis",
            )
    if (
        known("share_type", "share_conditions")
        and data.share_type is ShareType.CONDITIONAL
        and not data.share_conditions.strip()
    ):
        add(
            "catalog.share_conditions_required",
            "有条件共享的政务数据资源须写明共享条件（第二十四条）。",
            "share_conditions",
        )
    if (
        known("open_type", "open_conditions")
        and data.open_type is OpenType.CONDITIONAL
        and not data.open_conditions.strip()
    ):
        add(
            "catalog.open_conditions_required",
            "有条件开放的政务数据资源须写明开放条件（第三十条）。",
            "open_conditions",
        )

    # Art. 25(2): the basic items of the base databases are shared unconditionally.
    if known("category") and data.category is Category.BASIC and restricted_share:
        add(
            "catalog.base_items_must_share",
            "基础信息资源的基础信息项应当无条件共享（第二十五条第二项）。",
            "share_type",
        )

    # Items: at least one for structured data, unique names, lengths where the type needs one.
    if known("format", "items") and not data.items and data.format not in UNSTRUCTURED_FORMATS:
        add(
            "catalog.items_required",
            f"“{label_of_format(data.format)}”格式的政务数据资源须至少列出一个信息项。",
            "items",
        )
    seen: set[str] = set()
    for n, item in enumerate(data.items):
        if known.item(n, "name"):
            if item.name in seen:
                add("catalog.item_name_duplicate", f"信息项“{item.name}”重复。", "items", n)
            seen.add(item.name)
        if (
            known.item(n, "data_type", "length")
            and item.data_type is DataType.C
            and item.length is None
        ):
            add(
                "catalog.item_length_required",
                f"字符型信息项“{item.name}”须填写数据长度。",
                "items",
                n,
            )
    keys = [
        n for n, i in enumerate(data.items) if i.is_subject_key and known.item(n, "is_subject_key")
    ]
    if len(keys) > 1:
        add(
            "catalog.subject_key_multiple",
            "一个政务数据资源只能有一个主体标识信息项。",
            "items",
            keys[1],
        )

    # Art. 16: natural persons by ID number, legal persons by USCC.
    declared = known("subject_kind") and data.subject_kind is not None
    inferred = known("subject_kind", "category", "class_path", "items.is_subject_key", "items.name")
    if (declared or inferred) and known("items.is_subject_key", "items.name", "items.data_type"):
        subject = infer_subject(data)
        key_items = [data.items[n] for n in keys]
        if subject is SubjectKind.PERSON and not any(
            i.name in ID_NUMBER_ITEM_NAMES and i.data_type is DataType.C for i in key_items
        ):
            add(
                "catalog.person_id_number_required",
                "自然人数据须以公民身份号码（字符型）作为主体标识信息项（第十六条）。",
                "items",
            )
        if subject is SubjectKind.LEGAL_PERSON and not any(
            i.name in USCC_ITEM_NAMES and i.data_type is DataType.C for i in key_items
        ):
            add(
                "catalog.legal_person_uscc_required",
                "法人及其他组织数据须以统一社会信用代码（字符型）作为主体标识信息项（第十六条）。",
                "items",
            )
    return problems


def guide_format_label(code: str) -> str:
    member = ResourceFormat.parse(code)
    return member.label if member is not None else code


def require_valid(data: ResourceIn, format_label: Callable[[str], str] | None = None) -> None:
    problems = check_resource(data, format_label=format_label)
    if problems:
        first = problems[0]
        raise InvalidInput(
            first.code,
            first.message,
            detail={"problems": [p.__dict__ for p in problems]},
        )
