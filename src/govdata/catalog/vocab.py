"""The catalog's controlled vocabularies (《政务信息资源目录编制指南(试行)》 and Art. 11, 24, 30).

Each enumeration has a stable English value stored in the database and the zh-CN label the
national guide uses, which is also what spreadsheets carry.
"""

from __future__ import annotations

from enum import StrEnum


class LabelledEnum(StrEnum):
    """A StrEnum whose members carry a zh-CN label; ``parse`` accepts the value or the label."""

    @property
    def label(self) -> str:
        return _LABELS[type(self).__name__][self.value]

    @classmethod
    def parse(cls, text: str) -> LabelledEnum | None:
        text = text.strip()
        for member in cls:
            if text in (member.value, member.label):
                return member
        return None

    @classmethod
    def labels(cls) -> list[str]:
        return [m.label for m in cls]


class Category(LabelledEnum):
    """信息资源分类, 类 level: base, thematic or department resources."""

    BASIC = "basic"
    THEMATIC = "thematic"
    DEPARTMENT = "department"

    @property
    def digit(self) -> str:
        """The first character of the classification code in the national guide."""
        return {"basic": "1", "thematic": "2", "department": "3"}[self.value]


class ResourceFormat(LabelledEnum):
    """信息资源格式 (the guide's seven kinds; each may carry a sub-type such as xlsx, MySQL)."""

    ELECTRONIC_FILE = "electronic_file"
    SPREADSHEET = "spreadsheet"
    DATABASE = "database"
    IMAGE = "image"
    STREAMING = "streaming"
    SELF_DESCRIBING = "self_describing"
    SERVICE_API = "service_api"


class DataType(LabelledEnum):
    """信息项数据类型: the guide's one-letter codes."""

    C = "C"
    N = "N"
    Y = "Y"
    D = "D"
    T = "T"
    L = "L"
    M = "M"
    G = "G"
    B = "B"
    I = "I"  # noqa: E741 - the guide's letter for 整型
    F = "F"


class ShareType(LabelledEnum):
    """共享属性 (Art. 24)."""

    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NONE = "none"


class OpenType(LabelledEnum):
    """开放属性 (Art. 30)."""

    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NONE = "none"


class UpdateCycle(LabelledEnum):
    """更新周期."""

    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"
    IRREGULAR = "irregular"

    @property
    def max_days(self) -> int | None:
        """Calendar days within which a resource must be refreshed (Art. 20 timeliness)."""
        return {
            "realtime": 1,
            "daily": 1,
            "weekly": 7,
            "monthly": 31,
            "quarterly": 92,
            "semiannual": 183,
            "annual": 366,
            "irregular": None,
        }[self.value]


class SecurityLevel(LabelledEnum):
    """安全级别, the city's addition to the guide's metadata (Art. 11): the values the platform
    started with, version 1 of the list the city bureau now maintains (migration 0019). What
    input may use is the list's current version (``govdata.catalog.vocabularies``), not this."""

    PUBLIC = "public"
    INTERNAL = "internal"
    SENSITIVE = "sensitive"
    RESTRICTED = "restricted"


class SubjectKind(LabelledEnum):
    """Whom the data is about; decides the subject identifier it must carry (Art. 16)."""

    PERSON = "person"
    LEGAL_PERSON = "legal_person"
    OTHER = "other"


_LABELS: dict[str, dict[str, str]] = {
    "Category": {"basic": "基础", "thematic": "主题", "department": "部门"},
    "ResourceFormat": {
        "electronic_file": "电子文件",
        "spreadsheet": "电子表格",
        "database": "数据库",
        "image": "图形图像",
        "streaming": "流媒体",
        "self_describing": "自描述格式",
        "service_api": "服务接口",
    },
    "DataType": {
        "C": "字符型",
        "N": "数值型",
        "Y": "货币型",
        "D": "日期型",
        "T": "日期时间型",
        "L": "逻辑型",
        "M": "备注型",
        "G": "通用型",
        "B": "双精度型",
        "I": "整型",
        "F": "浮点型",
    },
    "ShareType": {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"},
    "OpenType": {"unconditional": "无条件开放", "conditional": "有条件开放", "none": "不予开放"},
    "UpdateCycle": {
        "realtime": "实时",
        "daily": "每日",
        "weekly": "每周",
        "monthly": "每月",
        "quarterly": "每季度",
        "semiannual": "每半年",
        "annual": "每年",
        "irregular": "不定期",
    },
    "SecurityLevel": {
        "public": "公开",
        "internal": "内部",
        "sensitive": "敏感",
        "restricted": "受限",
    },
    "SubjectKind": {"person": "自然人", "legal_person": "法人", "other": "其他"},
}

# Info-item names that identify a natural person or a legal person (Art. 16: 公民身份号码 and
# 统一社会信用代码 are the keys of the base databases).
ID_NUMBER_ITEM_NAMES = frozenset({"公民身份号码", "身份证号码", "身份证号", "居民身份证号码"})
USCC_ITEM_NAMES = frozenset({"统一社会信用代码", "社会信用代码"})
