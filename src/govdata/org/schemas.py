"""Pydantic schemas of the org domain (``X`` read, ``XCreate`` / ``XUpdate`` write)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from govdata.core.actor import Role
from govdata.core.types import DbId


class Strict(BaseModel):
    """Input schemas refuse unknown fields: a typo must not be silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# A password is kept exactly as typed: spaces are allowed anywhere, never trimmed (ASVS 2.1.3).
Secret = Annotated[str, StringConstraints(strip_whitespace=False)]


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str | None
    name: str
    kind: str
    level: str


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    region_id: DbId
    is_data_bureau: bool
    active: bool


class DepartmentCreate(Strict):
    code: str = Field(min_length=3, max_length=32, pattern=r"^[0-9A-Za-z-]+$")
    name: str = Field(min_length=2, max_length=100)
    region_id: DbId
    is_data_bureau: bool = False


def _refuse_null(value: object) -> object:
    if value is None:
        raise ValueError("不能为空；不修改此项时请省略该字段")
    return value


class DepartmentUpdate(Strict):
    # Optional but not nullable: omit a field to leave it unchanged.
    name: str | SkipJsonSchema[None] = Field(default=None, min_length=2, max_length=100)
    active: bool | SkipJsonSchema[None] = None

    _not_null = field_validator("name", "active", mode="before")(_refuse_null)


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    role: Role
    region_id: DbId | None
    department_id: DbId | None


class GrantIn(Strict):
    role: Role
    region_id: DbId | None = None
    department_id: DbId | None = None


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    name: str
    kind: str
    department_id: DbId | None
    phone: str | None
    email: str | None
    active: bool
    locked_until: datetime | None
    last_login_at: datetime | None


class PersonCreate(Strict):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=64)
    password: Secret = Field(min_length=1, max_length=256)
    department_id: DbId | None = None
    kind: str = Field(default="staff", pattern=r"^(staff|public)$")
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=120)
    grants: list[GrantIn] = Field(default_factory=list, max_length=20)


class PersonUpdate(Strict):
    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=20)  # null clears it
    email: str | None = Field(default=None, max_length=120)
    active: bool | SkipJsonSchema[None] = None

    _not_null = field_validator("name", "active", mode="before")(_refuse_null)


class PasswordReset(Strict):
    password: Secret = Field(min_length=1, max_length=256)
    # Required when the person is oneself (Art. 39): a session alone does not change it.
    current_password: Secret | None = Field(default=None, max_length=256)


class SignIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: Secret = Field(min_length=1, max_length=256)


class SignedIn(BaseModel):
    person: PersonOut
    csrf_token: str
    expires_at: datetime
    # Failed sign-ins on this username since the previous successful one: if they were not
    # the person's own, someone is guessing (the account may have been locked meanwhile).
    failed_attempts: int


class SessionOut(BaseModel):
    """One of the person's own sign-in sessions; ``id`` is a handle, never the stored digest."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    device: str
    address: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


class ActorRole(BaseModel):
    role: Role
    region_id: int | None
    department_id: int | None


class Me(BaseModel):
    person_id: int | None
    name: str
    roles: list[ActorRole]
    token_id: int | None
    scopes: list[str]


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=20)
    expires_in_days: int = Field(default=90, ge=1, le=365)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    department_id: DbId
    name: str
    prefix: str
    scopes: list[str] = Field(validation_alias=AliasChoices("scope_list", "scopes"))
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIssued(TokenOut):
    """Returned once, at issue: the only time the secret is ever shown."""

    secret: str
