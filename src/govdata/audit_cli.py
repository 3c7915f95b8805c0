"""``govdata audit …``: verify the chain against signed checkpoints, make the signing key, seal
now; and the sealer thread that ``serve``, ``worker`` and ``demo`` start (decision 0010)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from govdata.core.db import make_engine, make_sessionmaker, transaction
from govdata.core.settings import get_settings

if TYPE_CHECKING:
    from govdata.core.access_seal import AccessVerifyResult
    from govdata.core.audit_checkpoints import AuditConfig

audit_app = typer.Typer(help="审计链")


def _engine() -> Engine:
    return make_engine(get_settings().database_url)


console = Console()
err = Console(stderr=True)


def settings_audit_config(*, create: bool = True) -> AuditConfig:
    from govdata.core.audit_checkpoints import audit_config

    s = get_settings()
    return audit_config(s.var_dir, s.audit_checkpoint_dir, s.audit_signing_key_file, create=create)


def start_process_sealer(engine: Engine) -> None:
    """The audit sealer thread of this process (decision 0010): events committed here or in
    any other process are sealed and checkpointed within ~1 s; the locks let one seal at a
    time."""
    from govdata.core.audit_seal import start_sealer

    config = settings_audit_config()
    if config.key is None:
        err.print(
            "[yellow]警告[/yellow] 找不到审计检查点签名密钥：审计链照常封存，但不写签名检查点。"
        )
    start_sealer(make_sessionmaker(engine), config, interval=get_settings().audit_seal_interval)


@audit_app.command("verify")
def audit_verify(
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            help="签名检查点目录（含 checkpoints.jsonl、hashes.bin）或 checkpoints.jsonl 文件"
        ),
    ] = None,
    public_key: Annotated[
        list[Path] | None,
        typer.Option("--public-key", help="验证检查点签名的公钥文件（PEM 或十六进制，可多次给出）"),
    ] = None,
    all_signatures: Annotated[
        bool, typer.Option("--all-signatures", help="逐个验证每个检查点的签名（较慢）")
    ] = False,
) -> None:
    """Recompute the audit chain and compare it with signed checkpoints; exit 1 and name the
    first event that disagrees if it was tampered with."""
    import time

    from govdata.core.audit_checkpoints import CHECKPOINTS_FILE, load_checkpoints, parse_public_key
    from govdata.core.audit_query import platform_checkpoints
    from govdata.core.audit_verify import verify

    settings = get_settings()
    started = time.perf_counter()
    platform = platform_checkpoints(settings)
    path = checkpoints or platform.directory
    keys = list(platform.public_keys)
    if public_key:
        try:
            keys = [parse_public_key(p.read_text(encoding="ascii")) for p in public_key]
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            err.print(f"[red]错误[/red] 无法读取公钥：{exc}")
            raise typer.Exit(2) from None
    reference = None
    has_checkpoints = path.is_file() or (path / CHECKPOINTS_FILE).exists()
    if checkpoints is not None and not has_checkpoints:
        err.print(f"[red]错误[/red] 找不到检查点：{path}")
        raise typer.Exit(2)
    if has_checkpoints:
        if not keys:
            err.print("[red]错误[/red] 请用 --public-key 给出验证检查点签名的公钥。")
            raise typer.Exit(2)
        loaded = load_checkpoints(path, keys, all_signatures=all_signatures)
        if loaded.problem is not None:
            err.print(f"[red]检查点不可信[/red]：{loaded.problem}。")
            raise typer.Exit(1)
        reference = loaded.reference
    directory = path if path.is_dir() or not path.exists() else path.parent
    with transaction(make_sessionmaker(_engine()), write=False) as session:
        # Ranges of a long chain are checked in parallel, one process per core.
        result = verify(session, reference=reference, workers=os.cpu_count() or 1)
        records = _verify_access_records(session, directory)
    elapsed = time.perf_counter() - started
    for note in result.notes:
        err.print(f"[yellow]注意[/yellow] {note}")
    pending = f"另有 {result.pending} 个事件待封存（尚未进入审计链）。" if result.pending else ""
    if not result.ok:
        err.print(
            "[red]审计链被破坏[/red]："
            f"第一个异常事件序号 {result.first_broken_seq}（{result.reason}）；"
            f"此前 {result.checked} 个事件校验通过。{pending}"
        )
        _report_access_records(records)
        raise typer.Exit(1)
    if reference is None:
        console.print(
            f"审计链完整：已校验 {result.checked} 个事件，用时 {elapsed:.2f} 秒。{pending}\n"
            "[yellow]未使用签名检查点[/yellow]：能写数据库的人可以整体重写审计链而不被发现；"
            "请用 --checkpoints 给出检查点。"
        )
        _report_access_records(records)
        return
    uncovered = result.checked - result.covered
    console.print(
        f"审计链完整：已校验 {result.checked} 个事件，用时 {elapsed:.2f} 秒；"
        f"与 {result.checkpoints} 个签名检查点一致（覆盖前 {result.covered} 个事件"
        + (f"，其后 {uncovered} 个事件尚无检查点" if uncovered else "")
        + f"）。{pending}"
    )
    _report_access_records(records)


def _report_access_records(records: AccessVerifyResult | None) -> None:
    """Art. 40: a record of who read what that was changed or deleted is named by its id;
    exit 1 then."""
    if records is None:
        return
    if not records.ok:
        err.print("[red]调用记录校验不通过[/red]：" + "；".join(records.describe()) + "。")
        raise typer.Exit(1)
    console.print(
        f"调用记录完整：{records.checked} 条已封存的调用记录与 {records.batches} 批封存一致"
        + (f"；另有 {records.unsealed} 条待封存" if records.unsealed else "")
        + (f"；另有 {records.later} 批封存晚于所给封存文件，未校验" if records.later else "")
        + "。"
    )


def _verify_access_records(session: Session, directory: Path) -> AccessVerifyResult | None:
    """Sealed access records against their hashes beside the checkpoints (decision 0015);
    None where no access record was ever sealed there."""
    from govdata.core.access_seal import BATCHES_FILE, verify_records

    if not (directory / BATCHES_FILE).exists():
        from govdata.core.access_seal import ACTION
        from govdata.core.audit import AuditEvent

        sealed_before = session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == ACTION).limit(1)
        )
        if sealed_before is None:
            return None
    return verify_records(session, directory)


@audit_app.command("keygen")
def audit_keygen(
    out: Annotated[
        Path | None, typer.Option(help="私钥文件（默认 GOVDATA_AUDIT_SIGNING_KEY_FILE 或 var/ 下）")
    ] = None,
) -> None:
    """Make an SM2 key that signs the audit checkpoints (mode 0600); print its public key."""
    from govdata.core.audit_checkpoints import (
        default_key_path,
        public_key_path,
        public_key_pem,
        write_signing_key,
    )

    settings = get_settings()
    path = out or settings.audit_signing_key_file or default_key_path(settings.var_dir)
    if path.exists():
        err.print(f"[red]错误[/red] {path} 已存在：不覆盖已有密钥（轮换见 docs/operations.md）。")
        raise typer.Exit(2)
    key = write_signing_key(path)
    console.print(f"已生成审计检查点签名密钥：{path}（仅所有者可读写），密钥标识 {key.key_id}。")
    console.print(f"公钥已写入 {public_key_path(path)}，请交审计人员另行保存：")
    sys.stdout.write(public_key_pem(key.public))


@audit_app.command("seal")
def audit_seal() -> None:
    """Seal pending events into the chain and sign a checkpoint now (the sealer thread of
    `serve` and `worker` does this every ~0.5 s)."""
    from govdata.core.audit_seal import seal

    engine = _engine()
    total = 0
    while (r := seal(make_sessionmaker(engine), settings_audit_config())).sealed:
        total += r.sealed
    console.print(f"已封存 {total} 个事件；审计链长 {r.size}。")
