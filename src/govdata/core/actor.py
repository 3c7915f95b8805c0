"""Who is acting: a signed-in person, a department system holding an API token, or the system.

Every service takes an ``Actor``. Roles are scoped to a region or a department; the rules that
read them live in ``govdata.org.policy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    CITY_BUREAU_ADMIN = "city_bureau_admin"  # 市政务数据资源主管部门 (Art. 6 ¶1)
    DISTRICT_BUREAU_ADMIN = "district_bureau_admin"  # 区县主管部门 (Art. 6 ¶2)
    DEPARTMENT_OFFICER = "department_officer"  # 专职人员 (Art. 7 ¶2)
    DEPARTMENT_HEAD = "department_head"  # 主要负责人: approves extensions (Art. 19, 32, 33)
    AUDITOR = "auditor"  # 审计、保密、网信: read-only oversight (Art. 41, 42, 49)
    CITIZEN = "citizen"  # 公民 (open portal, Ch. 5)
    COMPANY = "company"  # 法人和其他组织 (open portal, Ch. 5)
    DEPARTMENT_SYSTEM = "department_system"  # a department's information system with a token

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def scope(self) -> str:
        """What the role is scoped to: ``region``, ``department`` or ``none``."""
        if self is Role.DISTRICT_BUREAU_ADMIN:
            return "region"
        if self in (Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD, Role.DEPARTMENT_SYSTEM):
            return "department"
        return "none"


ROLE_LABELS: dict[Role, str] = {
    Role.CITY_BUREAU_ADMIN: "市数据主管部门管理员",
    Role.DISTRICT_BUREAU_ADMIN: "区县数据主管部门管理员",
    Role.DEPARTMENT_OFFICER: "部门数据专职人员",
    Role.DEPARTMENT_HEAD: "部门主要负责人",
    Role.AUDITOR: "审计监督人员",
    Role.CITIZEN: "公民",
    Role.COMPANY: "法人和其他组织",
    Role.DEPARTMENT_SYSTEM: "部门信息系统",
}

PUBLIC_ROLES = frozenset({Role.CITIZEN, Role.COMPANY})


@dataclass(frozen=True)
class RoleGrant:
    role: Role
    region_id: int | None = None
    department_id: int | None = None


@dataclass(frozen=True)
class Actor:
    person_id: int | None
    name: str
    grants: tuple[RoleGrant, ...] = ()
    # Set for API tokens: the scopes the token was issued with (``org:read`` …).
    token_id: int | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # The network address the request came from (set by the web layer; None for jobs and CLI):
    # access records and monitoring signals name it (Art. 39).
    address: str | None = None

    def has(self, role: Role) -> bool:
        return any(g.role is role for g in self.grants)

    def department_ids(self, *roles: Role) -> frozenset[int]:
        wanted = roles or (Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD, Role.DEPARTMENT_SYSTEM)
        return frozenset(
            g.department_id for g in self.grants if g.role in wanted and g.department_id is not None
        )

    def region_ids(self, role: Role = Role.DISTRICT_BUREAU_ADMIN) -> frozenset[int]:
        return frozenset(g.region_id for g in self.grants if g.role is role and g.region_id)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)

    @property
    def is_public(self) -> bool:
        return bool(self.roles) and self.roles <= PUBLIC_ROLES


SYSTEM = Actor(person_id=None, name="系统")
