"""``govdata verify FILE [--keys KEYS.json]``: check a signed document (Art. 28) offline.

The keys are the published public keys as ``GET /api/v1/sharing/keys`` returns them, saved to a
file; without ``--keys`` they are read from the platform's database (``GOVDATA_DATABASE_URL``).
Exit status 0: valid; 1: invalid, with a zh-CN line naming why (digest mismatch, unknown key,
bad signature, key not in force, not a signed document); 2: the files cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        err.print(f"[red]错误[/red] 无法读取{what} {path}：{exc.strerror or exc}")
    except (UnicodeDecodeError, ValueError):
        err.print(f"[red]错误[/red] {what} {path} 不是 UTF-8 编码的 JSON。")
    raise typer.Exit(2)


def verify_command(
    file: Annotated[Path, typer.Argument(help="签名文书（JSON 文件）")],
    keys: Annotated[
        Path | None,
        typer.Option(
            "--keys", help="公布的签名公钥文件（GET /api/v1/sharing/keys 的结果）；缺省时读数据库"
        ),
    ] = None,
) -> None:
    """核验签名文书（第二十八条）：有效退出码 0，无效退出码 1。"""
    from govdata.sharing import signing

    envelope = _read_json(file, "签名文书")
    if keys is not None:
        try:
            known = signing.keys_from_json(_read_json(keys, "公钥文件"))
        except ValueError:
            err.print(f"[red]错误[/red] 公钥文件 {keys} 不是 /api/v1/sharing/keys 返回的公钥列表。")
            raise typer.Exit(2) from None
    else:
        from govdata.core.db import make_engine, make_sessionmaker
        from govdata.core.settings import get_settings

        engine = make_engine(get_settings().database_url)
        with make_sessionmaker(engine)() as session:
            known = signing.known_keys(session)
        engine.dispose()
    result = signing.verify(envelope, known)
    out = console if result.valid else err
    mark = "[green]有效[/green]" if result.valid else "[red]无效[/red]"
    out.print(f"{mark} {result.message}")
    claimed = "" if result.valid else "文件所称"  # an invalid file's claims are only claims
    if result.department_name:
        out.print(f"  {claimed}签名部门：{result.department_name}（{result.department_code}）")
    if result.signed_at is not None:
        out.print(f"  {claimed}签名时间：{result.signed_at.isoformat()}")
    if result.key_id:
        out.print(f"  密钥标识：{result.key_id}")
    raise typer.Exit(0 if result.valid else 1)
