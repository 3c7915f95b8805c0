"""``govdata pool …``: load a file into a department's pool from the command line (Art. 17 ¶1),
and ``govdata worker``: run background jobs (PostgreSQL)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from govdata.aggregation.models import BadRowPolicy, LoadMode, LoadStatus
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.db import make_sessionmaker, transaction
from govdata.core.errors import DomainError

pool_app = typer.Typer(help="部门政务数据资源池：加载数据")
console = Console()
err = Console(stderr=True)

# The operator at the console acts with the city bureau's authority (as `govdata catalog`).
OPERATOR = Actor(person_id=None, name="命令行操作员", grants=(RoleGrant(Role.CITY_BUREAU_ADMIN),))


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@pool_app.command("load")
def pool_load(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV、xlsx、xls 或 JSONL 文件")
    ],
    resource: Annotated[str, typer.Option("--resource", help="政务数据资源代码")],
    policy: Annotated[
        BadRowPolicy, typer.Option(help="错误行处理：reject_file 整体拒收；quarantine 隔离错误行")
    ] = BadRowPolicy.REJECT_FILE,
    mode: Annotated[
        LoadMode, typer.Option(help="replace 全量替换；upsert 按主体标识增量更新")
    ] = LoadMode.REPLACE,
    encoding: Annotated[str, typer.Option(help="CSV 编码：utf-8 或 gb18030（默认自动识别）")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出加载报告")] = False,
) -> None:
    """Load FILE into the pool of resource CODE; exit 1 when the file is refused."""
    from govdata import cli as root
    from govdata.aggregation import loading, report
    from govdata.aggregation.tasks import run_load

    factory = make_sessionmaker(root._engine())
    try:
        with transaction(factory) as session:
            load = loading.create_load(
                session,
                OPERATOR,
                resource_code=resource,
                path=file.resolve(),
                filename=file.name,
                policy=policy,
                mode=mode,
                channel="cli",
                encoding=encoding,
            )
            load_id = load.id
    except DomainError as exc:
        if as_json:
            _print_json({"error": {"code": exc.code, "message": exc.message}})
        else:
            err.print(f"[red]错误[/red] {exc.code}: {exc.message}")
        raise typer.Exit(2) from None
    bar = Progress(
        TextColumn("[bold]加载 {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("行"),
        TimeElapsedColumn(),
        console=err,
        disable=as_json or not err.is_terminal,
    )
    with bar:
        task = bar.add_task(file.name, total=None)

        def show(p: loading.LoadProgress) -> None:
            total = max(p.rows_estimated or 0, p.rows_read) or None
            bar.update(task, completed=p.rows_read, total=total)

        done = run_load(factory, load_id, progress=show)
    with factory() as session:
        out = report.as_json(session, OPERATOR, load_id, limit=1000 if as_json else 20)
    if as_json:
        _print_json(out)
    else:
        _print_report(out)
    if done.status != LoadStatus.SUCCEEDED:
        raise typer.Exit(1)


def _print_report(out: dict[str, object]) -> None:
    console.print(
        f"{out['status_label']}：{out['resource_code']} {out['resource_name']}，"
        f"读取 {out['rows_read']} 行，加载 {out['rows_loaded']} 行，"
        f"错误 {out['rows_bad']} 行，去重 {out['duplicates_removed']} 行。"
    )
    error = out.get("error")
    if isinstance(error, dict):
        console.print(f"[red]{error['code']}[/red] {error['message']}")
    problems = out.get("problems")
    if isinstance(problems, list) and problems:
        table = Table(title="问题清单")
        table.add_column("行", justify="right")
        table.add_column("信息项")
        table.add_column("问题代码", no_wrap=True)
        table.add_column("说明", overflow="fold", ratio=1)
        for p in problems:
            table.add_row(str(p["row"]), p["column"], p["code"], p["message"])
        console.print(table)
        more = out.get("problems_more")
        if more:
            console.print(f"另有 {more} 处问题未列出；完整报告请在加载页面下载 Excel。")
