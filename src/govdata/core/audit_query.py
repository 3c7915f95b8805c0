"""Reading the audit chain: filtered listing for auditors (Art. 49), the verify call, and the
signed checkpoints and public key auditors download to verify on their own (decision 0010)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor, Role
from govdata.core.audit import AuditEvent
from govdata.core.audit_checkpoints import (
    CHECKPOINTS_FILE,
    HASHES_FILE,
    default_checkpoint_dir,
    default_key_path,
    load_checkpoints,
    parse_public_key,
    public_key_path,
    public_key_pem,
    read_signing_key,
)
from govdata.core.audit_verify import VerifyResult, verify
from govdata.core.errors import NotFound, PermissionDenied
from govdata.core.pagination import Page, paginate
from govdata.core.settings import Settings

BEIJING = ZoneInfo("Asia/Shanghai")


def require_view_audit(actor: Actor) -> None:
    """Auditors (审计、保密、网信) and the city bureau read the audit chain; nobody writes it."""
    if not (actor.has(Role.AUDITOR) or actor.has(Role.CITY_BUREAU_ADMIN)):
        raise PermissionDenied(
            "audit.forbidden", "只有审计监督人员和市数据主管部门可以查看审计日志。"
        )


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor_name: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    department_id: int | None = None
    since: date | None = None  # Beijing dates, inclusive
    until: date | None = None
    # Exactly these actions (the audit page's choice by name); () matches nothing.
    actions: tuple[str, ...] | None = None


def filtered(f: AuditFilter) -> Select[Any]:
    """The events ``f`` selects, newest first (pending events too, by id)."""
    stmt = select(AuditEvent)
    if f.action:
        stmt = stmt.where(AuditEvent.action.startswith(f.action, autoescape=True))
    if f.actions is not None:
        stmt = stmt.where(AuditEvent.action.in_(f.actions))
    if f.actor_name:
        stmt = stmt.where(AuditEvent.actor_name.contains(f.actor_name, autoescape=True))
    if f.object_type:
        stmt = stmt.where(AuditEvent.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEvent.object_id == f.object_id)
    if f.department_id is not None:
        stmt = stmt.where(AuditEvent.department_id == f.department_id)
    if f.since:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(f.since, time.min, BEIJING))
    if f.until:
        end = datetime.combine(f.until + timedelta(days=1), time.min, BEIJING)
        stmt = stmt.where(AuditEvent.at < end)
    # By id: pending events (no seq yet) are listed too, newest first, marked 待封存.
    return stmt.order_by(AuditEvent.id.desc())


def list_events(
    session: Session, actor: Actor, f: AuditFilter, *, offset: int = 0, limit: int = 50
) -> Page[AuditEvent]:
    require_view_audit(actor)
    return paginate(session, filtered(f), offset, limit)


@dataclass(frozen=True)
class CheckpointSource:
    """Where this platform's checkpoints are and the public keys that verify them."""

    directory: Path
    public_keys: Sequence[str] = ()


def platform_checkpoints(settings: Settings) -> CheckpointSource:
    """The platform's own checkpoint directory and public key (from the settings); the
    private key is read only when the public key file beside it is missing."""
    directory = settings.audit_checkpoint_dir or default_checkpoint_dir(settings.var_dir)
    key_path = settings.audit_signing_key_file or default_key_path(settings.var_dir)
    pub = public_key_path(key_path)
    if pub.exists():
        return CheckpointSource(directory, [parse_public_key(pub.read_text("ascii"))])
    if key_path.exists():
        return CheckpointSource(directory, [read_signing_key(key_path).public])
    return CheckpointSource(directory)


def verify_chain(
    session: Session, actor: Actor, source: CheckpointSource | None = None
) -> VerifyResult:
    """Verify the chain, and against the platform's signed checkpoints when there are any."""
    require_view_audit(actor)
    reference = None
    if source is not None and (source.directory / CHECKPOINTS_FILE).exists():
        if not source.public_keys:
            return VerifyResult(False, 0, None, "有检查点但找不到验证它的公钥")
        loaded = load_checkpoints(source.directory, list(source.public_keys))
        if loaded.problem is not None:
            return VerifyResult(False, 0, None, loaded.problem)
        reference = loaded.reference
    return verify(session, reference=reference)


def checkpoint_download(actor: Actor, source: CheckpointSource, *, hashes: bool = False) -> Path:
    """The file an auditor downloads to keep and verify with (``govdata audit verify
    --checkpoints``): the signed checkpoints, or the per-event hashes they vouch for."""
    require_view_audit(actor)
    path = source.directory / (HASHES_FILE if hashes else CHECKPOINTS_FILE)
    if not path.is_file():
        raise NotFound("audit.no_checkpoints", "尚未生成审计检查点。")
    return path


def public_key_download(actor: Actor, source: CheckpointSource) -> str:
    """The public key that verifies the checkpoints (PEM, as OpenSSL reads it)."""
    require_view_audit(actor)
    if not source.public_keys:
        raise NotFound("audit.no_public_key", "尚未生成审计检查点签名密钥。")
    return public_key_pem(source.public_keys[-1])
