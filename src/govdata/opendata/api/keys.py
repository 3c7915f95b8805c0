"""Developer keys over JSON (issue 14 §9, Art. 33 ¶3), under ``/api/v1/opendata/keys``.

A signed-in person with a checked identity (a public account whose real-name identity was
checked, or a staff account) lists, creates and revokes their own keys; the secret is in the
answer of the creation only. A department system's token is refused (no identity of a person).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import DbId
from govdata.opendata import keys
from govdata.opendata.api_auth import beijing_day
from govdata.opendata.models import DeveloperKey
from govdata.web.deps import ApiActor, DbSession, unit_of_work

router = APIRouter(prefix="/keys", tags=["opendata"], responses=ERROR_RESPONSES)


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="密钥名称，便于区分用途")


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="密钥的前几位，用于区分密钥；完整密钥只在创建时显示一次")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    daily_quota: int
    calls_today: int = Field(description="北京时间今日已调用次数")


class IssuedKeyOut(KeyOut):
    key: str = Field(description="完整密钥，仅显示这一次，请妥善保存")


def _out(key: DeveloperKey, calls: int) -> KeyOut:
    return KeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        daily_quota=key.daily_quota,
        calls_today=calls,
    )


@router.get("", response_model=list[KeyOut])
@unit_of_work
def list_keys(session: DbSession, actor: ApiActor) -> list[KeyOut]:
    return [_out(v.key, v.calls_today) for v in keys.list_keys(session, actor, beijing_day())]


@router.post("", response_model=IssuedKeyOut, status_code=201)
@unit_of_work
def create_key(
    session: DbSession, actor: ApiActor, body: KeyIn, response: Response
) -> IssuedKeyOut:
    issued = keys.create_key(session, actor, body.name)
    response.headers["Cache-Control"] = "no-store"
    return IssuedKeyOut(**_out(issued.key, 0).model_dump(), key=issued.secret)


@router.delete("/{key_id}", response_model=KeyOut)
@unit_of_work
def revoke_key(session: DbSession, actor: ApiActor, key_id: DbId) -> KeyOut:
    return _out(keys.revoke_key(session, actor, key_id), 0)
