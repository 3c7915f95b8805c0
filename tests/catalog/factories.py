"""Builders of valid catalog inputs for the tests (each test changes what it is about)."""

from __future__ import annotations

from typing import Any

from govdata.catalog.schemas import InfoItemIn, ResourceIn
from govdata.core.actor import Actor, Role, RoleGrant

# Reads the published catalog (oversight: sees everything, changes nothing).
READER = Actor(person_id=None, name="目录读者", grants=(RoleGrant(Role.AUDITOR),))


def person_resource(name: str = "户籍人口基本信息", **changes: Any) -> ResourceIn:
    """A base resource about natural persons, keyed by ID number, shared unconditionally."""
    data: dict[str, Any] = {
        "category": "basic",
        "class_path": "人口/户籍",
        "name": name,
        "abstract": "本市户籍人口的姓名、性别、出生日期、住址等基本信息。",
        "format": "database",
        "format_subtype": "PostgreSQL",
        "share_type": "unconditional",
        "share_method": "接口",
        "open_type": "none",
        "legal_basis": "《中华人民共和国居民身份证法》",
        "update_cycle": "daily",
        "security_level": "sensitive",
        "items": [
            InfoItemIn(name="公民身份号码", data_type="C", length=18, is_subject_key=True),
            InfoItemIn(name="姓名", data_type="C", length=50),
            InfoItemIn(name="出生日期", data_type="D"),
        ],
    }
    data.update(changes)
    return ResourceIn.model_validate(data)


def company_resource(name: str = "市场主体登记信息", **changes: Any) -> ResourceIn:
    """A department resource about legal persons, keyed by USCC, opened unconditionally."""
    data: dict[str, Any] = {
        "category": "department",
        "class_path": "市场监管/登记注册",
        "name": name,
        "abstract": "企业、个体工商户的登记注册信息，包括名称、住所、法定代表人。",
        "format": "spreadsheet",
        "format_subtype": "xlsx",
        "share_type": "unconditional",
        "open_type": "unconditional",
        "update_cycle": "weekly",
        "security_level": "public",
        "subject_kind": "legal_person",
        "items": [
            InfoItemIn(name="统一社会信用代码", data_type="C", length=18, is_subject_key=True),
            InfoItemIn(name="企业名称", data_type="C", length=200),
            InfoItemIn(name="成立日期", data_type="D"),
        ],
    }
    data.update(changes)
    return ResourceIn.model_validate(data)
