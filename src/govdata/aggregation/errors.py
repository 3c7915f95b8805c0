"""Aggregation's domain errors (Ch. 3): a stable code, a zh-CN message, raised fresh each time.

Raise a new instance (``raise PoolNotFound()``), never one made once at import: an instance
raised again collects every raise's traceback and keeps their frames, and the sessions and rows
in them, alive. Refusals of permission live with their rules in ``aggregation.policy``; a
refusal used in one place only is raised there with its code.
"""

from __future__ import annotations

from govdata.core.errors import InvalidInput, NotFound

POOL_NOT_FOUND = "aggregation.pool_not_found"


class PoolNotFound(NotFound):
    """A pool that does not exist or lies outside the actor's scope (never a hint which)."""

    def __init__(self) -> None:
        super().__init__(POOL_NOT_FOUND, "未找到该数据资源池。")


class PoolNotLoaded(NotFound):
    def __init__(self) -> None:
        super().__init__("aggregation.pool_not_loaded", "该数据资源池尚未汇聚数据，无法评估质量。")


class ResourceNotFound(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__("aggregation.resource_not_found", f"未找到代码为 {code} 的政务数据资源。")


class ResourceNotPublished(InvalidInput):
    """A resource outside the published catalog has no pool (Art. 12)."""

    def __init__(self, code: str) -> None:
        super().__init__(
            "aggregation.resource_not_published",
            f"资源 {code} 不在已发布的政务数据资源目录中，不能加载数据。"
            "请先将其列入目录清单并经审核发布（第十二条）。",
        )


class LoadNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("aggregation.load_not_found", "未找到该数据加载记录。")


class DepartmentNotFound(NotFound):
    def __init__(self, message: str = "未找到该部门。") -> None:
        super().__init__("aggregation.department_not_found", message)


class BaseNotFound(NotFound):
    """``label``: the kind's name when the kind exists but its base is not set up yet."""

    def __init__(self, label: str | None = None) -> None:
        message = f"尚未建立{label}。" if label else "未找到该基础数据库。"
        super().__init__("aggregation.base_not_found", message)


class BaseItemNotFound(NotFound):
    def __init__(self, base_name: str, item: str) -> None:
        super().__init__("aggregation.base_item_not_found", f"{base_name}没有基础信息项“{item}”。")


class BaseRecordNotFound(NotFound):
    def __init__(self, base_name: str, key_name: str, key: str) -> None:
        super().__init__(
            "aggregation.base_record_not_found", f"{base_name}中没有{key_name}为 {key} 的主体。"
        )


class ConflictNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("aggregation.conflict_not_found", "未找到该数据冲突。")


class ThematicNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("aggregation.thematic_not_found", "未找到该主题数据库。")


class ThematicInvalid(InvalidInput):
    """A thematic database's definition or metadata refused: ``aggregation.thematic_<reason>``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"aggregation.thematic_{reason}", message)


class CorrectionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("aggregation.correction_not_found", "未找到该校核申请。")


class CorrectionValueNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(
            "aggregation.correction_value_not_found",
            "数据资源池的当前数据中没有该主体的这一信息项，无法申请校核。",
        )


class BadText(InvalidInput):
    """A text field with control characters (NUL cannot reach PostgreSQL)."""

    def __init__(self, what: str) -> None:
        super().__init__("aggregation.bad_text", f"{what}含有不允许的控制字符。")
