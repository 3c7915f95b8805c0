"""Reads of aggregated data leave an access record (Art. 39, 40; DESIGN principle 5).

Every service that returns pool rows, quarantined rows or problem values of a load, base
records, base conflicts, thematic rows or a value under correction calls one of these in the
request's transaction: who, what, whose, how many rows, and whether the data is personal
(which also charges the reader's personal-data budget, ``core.ratelimit``).

Personal data (个人信息): the data of a pool about persons (subject kind ``person``, Art. 16),
of the person base database, and any data carrying an item whose name marks it as identifying
or contact data of a person (ID number, name, phone, home address …), such as a legal
person's legal representative and phone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from govdata.aggregation.models import BaseDatabase, BaseKind, Pool
from govdata.catalog.vocab import ID_NUMBER_ITEM_NAMES, SubjectKind
from govdata.core.access import record_access
from govdata.core.actor import Actor

# Parts of item names that mark a person's identifying or contact data (product decision,
# after GB/T 35273's examples of personal information).
PERSONAL_NAME_PARTS = (
    "身份证",
    "身份号码",
    "护照",
    "姓名",
    "法定代表人",
    "负责人",
    "联系人",
    "手机",
    "电话",
    "住址",
    "居住地",
    "户籍",
    "出生",
    "电子邮箱",
    "银行卡",
    "病历",
)


def personal_items(names: Iterable[str]) -> bool:
    """Whether any of these item names is a person's identifying or contact data."""
    return any(
        n in ID_NUMBER_ITEM_NAMES or any(part in n for part in PERSONAL_NAME_PARTS) for n in names
    )


def column_names(pool: Pool) -> list[str]:
    return [str(c["name"]) for c in pool.columns]


def pool_is_personal(pool: Pool) -> bool:
    return pool.subject_kind == SubjectKind.PERSON.value or personal_items(column_names(pool))


def base_is_personal(base: BaseDatabase, item_names: Iterable[str]) -> bool:
    return base.kind == BaseKind.PERSON.value or personal_items(item_names)


def pool_read(
    session: Session,
    actor: Actor,
    action: str,
    pool: Pool,
    *,
    rows: int,
    object_type: str = "pool",
    object_id: str | int | None = None,
    fields: Sequence[str] | None = None,
) -> None:
    """A read of a pool's data (or of a load's rows of it): one access record."""
    record_access(
        session,
        actor,
        action,
        object_type=object_type,
        object_id=pool.id if object_id is None else object_id,
        rows=rows,
        personal=pool_is_personal(pool),
        owner_department_id=pool.department_id,
        fields=list(fields) if fields is not None else column_names(pool),
    )
