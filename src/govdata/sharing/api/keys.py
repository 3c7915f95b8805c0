"""Signing keys and signed documents over JSON (Art. 28), under ``/api/v1/sharing``.

- ``GET /keys``: the published public keys, current and retired; public, no sign-in (anyone
  checking a signed document needs them). The answer is the keys file ``govdata verify --keys``
  reads. Never a private key.
- ``POST /keys`` and ``POST /keys/rotate``: a department's first key, a rotation (its head or
  the city bureau; no token may).
- ``POST /verify``: check a signed document (the envelope as the body); public.
- ``PUT /document-sources/{code}``: designate a source as documents, licences or contracts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, Field

from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import DbId
from govdata.sharing import keys, signing
from govdata.sharing.keys import PublishedKey
from govdata.sharing.models import DocumentClass, SigningKey
from govdata.web.deps import ApiActor, DbSession, OptionalActor, unit_of_work

router = APIRouter(responses=ERROR_RESPONSES)


class DepartmentRef(BaseModel):
    id: int
    code: str
    name: str


class KeyOut(BaseModel):
    key_id: str
    department: DepartmentRef
    alg: str = signing.ALG
    public_key: str = Field(description="SM2 公钥：x‖y，128 位十六进制（未压缩点去掉 04 前缀）")
    created_at: datetime
    retired_at: datetime | None
    current: bool


class KeysOut(BaseModel):
    alg: str = signing.ALG
    user_id: str = signing.SM2_USER_ID
    keys: list[KeyOut]


class DepartmentIn(BaseModel):
    department_id: DbId


class VerificationOut(BaseModel):
    valid: bool
    code: str
    message: str
    key_id: str | None
    department_name: str | None
    department_code: str | None
    signed_at: datetime | None
    source: str | None
    grant_id: int | None


class DocumentClassIn(BaseModel):
    document_class: DocumentClass | None


class DocumentClassOut(BaseModel):
    source_code: str
    document_class: DocumentClass | None
    label: str


def key_out(k: PublishedKey) -> KeyOut:
    return KeyOut(
        key_id=k.key_id,
        department=DepartmentRef(
            id=k.department_id, code=k.department_code, name=k.department_name
        ),
        public_key=k.public_key,
        created_at=k.created_at,
        retired_at=k.retired_at,
        current=k.current,
    )


def _made(session: DbSession, key: SigningKey) -> KeyOut:
    return key_out(
        next(k for k in keys.published(session, key.department_id) if k.key_id == key.key_id)
    )


@router.get("/keys", response_model=KeysOut)
@unit_of_work
def list_keys(
    session: DbSession, actor: OptionalActor, department_id: DbId | None = None
) -> KeysOut:
    """The published SM2 public keys of signing departments (Art. 28): public."""
    return KeysOut(keys=[key_out(k) for k in keys.published(session, department_id)])


@router.post("/keys", response_model=KeyOut, status_code=201)
@unit_of_work
def create_key(session: DbSession, actor: ApiActor, body: DepartmentIn) -> KeyOut:
    return _made(session, keys.create(session, actor, body.department_id))


@router.post("/keys/rotate", response_model=KeyOut, status_code=201)
@unit_of_work
def rotate_key(session: DbSession, actor: ApiActor, body: DepartmentIn) -> KeyOut:
    return _made(session, keys.rotate(session, actor, body.department_id))


@router.post("/verify", response_model=VerificationOut)
@unit_of_work
def verify(
    session: DbSession, actor: OptionalActor, envelope: Annotated[Any, Body()]
) -> VerificationOut:
    """Check a signed document against the published keys: public, no sign-in."""
    result = signing.verify(envelope, signing.known_keys(session))
    return VerificationOut.model_validate(result, from_attributes=True)


@router.put("/document-sources/{source_code}", response_model=DocumentClassOut)
@unit_of_work
def designate(
    session: DbSession,
    actor: ApiActor,
    source_code: Annotated[str, Path(max_length=64)],
    body: DocumentClassIn,
) -> DocumentClassOut:
    cls = signing.designate(
        session, actor, source_code=source_code, document_class=body.document_class
    )
    return DocumentClassOut(
        source_code=source_code,
        document_class=cls,
        label=cls.label if cls is not None else "一般数据",
    )
