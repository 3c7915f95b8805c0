"""Regions, departments, people, role grants, sign-in sessions and API tokens (Art. 5–7)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govdata.core.db import Base, utcnow


class RegionKind(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    COUNTY = "county"
    AUTONOMOUS_COUNTY = "autonomous_county"
    # 具有行政事务管理职能的市政府派出机构: treated as a district (Art. 5 ¶2).
    DISPATCHED_BODY = "dispatched_body"

    @property
    def label(self) -> str:
        return {
            "city": "市",
            "district": "区",
            "county": "县",
            "autonomous_county": "自治县",
            "dispatched_body": "市政府派出机构",
        }[self.value]


class Region(Base):
    """The city or one of its districts/counties (区县(自治县)) or dispatched bodies."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # GB/T 2260 division code; dispatched bodies have none.
    code: Mapped[str | None] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))

    @property
    def is_city(self) -> bool:
        return self.kind == RegionKind.CITY

    @property
    def level(self) -> str:
        """``city`` or ``district``: every non-city region is district level (Art. 5 ¶2)."""
        return "city" if self.is_city else "district"

    @property
    def kind_label(self) -> str:
        return RegionKind(self.kind).label


class Department(Base):
    """A 政务部门 (Art. 3 ¶2): city level or district level, by its region."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    # The 政务数据资源主管部门 of its region (Art. 6).
    is_data_bureau: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    region: Mapped[Region] = relationship(lazy="raise")

    __table_args__ = (UniqueConstraint("region_id", "name"),)


class PersonKind(StrEnum):
    STAFF = "staff"  # works in a department or the bureau
    PUBLIC = "public"  # a citizen's or a company's account on the open portal


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10), default=PersonKind.STAFF)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A public account's verified identity (公民身份号码 or 统一社会信用代码) as a keyed SM3
    # digest (``core.crypto.subject_digest``): what "who used my data" matches access records
    # on (Art. 40). Set by identity authentication (Ch. 5), never the number itself.
    identity_digest: Mapped[str | None] = mapped_column(String(64), index=True)

    department: Mapped[Department | None] = relationship(lazy="raise")
    grants: Mapped[list[RoleAssignment]] = relationship(
        lazy="raise", back_populates="person", cascade="all, delete-orphan"
    )


class RoleAssignment(Base):
    """A role held by a person, scoped to a region or a department where the role needs it."""

    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(lazy="raise", back_populates="grants")

    __table_args__ = (UniqueConstraint("person_id", "role", "region_id", "department_id"),)


class WebSession(Base):
    """A server-side sign-in session; the cookie holds the secret, the table its SM3 digest."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # digest of the secret
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class ApiToken(Base):
    """A department system's credential: shown once, stored as a digest, scoped, expiring."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(Text)  # space-separated
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()

    department: Mapped[Department] = relationship(lazy="raise")

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()
