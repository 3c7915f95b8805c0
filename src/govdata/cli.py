"""``govdata`` command line: serve, demo, db, audit, users, workdays, catalog, pool, worker."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from govdata.audit_cli import audit_app, settings_audit_config, start_process_sealer
from govdata.core.actor import Actor, Role
from govdata.core.db import make_engine, make_sessionmaker, transaction
from govdata.core.errors import DomainError
from govdata.core.settings import get_settings
from govdata.sign_cli import verify_command

app = typer.Typer(help="govdata 政务数据资源管理平台", no_args_is_help=True)
db_app = typer.Typer(help="数据库迁移")
users_app = typer.Typer(help="账户")
workdays_app = typer.Typer(help="法定工作日历")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(workdays_app, name="workdays")
app.command("verify")(verify_command)


def _add_domains() -> None:
    """Each domain's own commands (``govdata pool …``), and its tables and jobs made known."""
    from govdata.app.domains import all_domains, install

    domains = all_domains()
    install(domains)
    for domain in domains:
        if domain.cli is not None:
            domain.cli(app)


_add_domains()

console = Console()
err = Console(stderr=True)


def _engine() -> Engine:
    return make_engine(get_settings().database_url)


def _fail(exc: DomainError) -> None:
    err.print(f"[red]错误[/red] {exc.code}: {exc.message}")
    if isinstance(exc.detail, list):
        for d in exc.detail:
            err.print(f"  - {d}")
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic migrations (SQLite or PostgreSQL, per GOVDATA_DATABASE_URL)."""
    from govdata.core.migrate import upgrade

    upgrade(_engine(), revision)
    console.print(f"数据库已升级到 {revision}。")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    from govdata.core.migrate import downgrade

    downgrade(_engine(), revision)
    console.print(f"数据库已回退到 {revision}。")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    with_worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="PostgreSQL：在平台进程内运行任务进程")
    ] = True,
) -> None:
    """Serve the platform (JSON API and pages)."""
    import uvicorn

    start_process_sealer(_engine())
    if workers > 1:
        uvicorn.run(
            "govdata.app:create_served_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )
        return
    from govdata.app import create_app, ready_to_serve
    from govdata.core import jobs

    settings = get_settings()
    web = create_app()
    if jobs.uses_queue(settings.jobs, settings.database_url):
        if with_worker:  # procrastinate's worker also defers the periodic jobs
            jobs.start_worker_thread(settings.database_url)
    else:
        jobs.start_periodic_thread(web.state.sessionmaker)
    uvicorn.run(ready_to_serve(web), host=host, port=port, log_level="info")


@app.command()
def worker() -> None:
    """Run background jobs (loads, rebuilds, periodic jobs) from the PostgreSQL queue."""
    from govdata.core import jobs

    engine = _engine()
    url = engine.url.render_as_string(hide_password=False)
    if url.startswith("sqlite"):
        err.print("嵌入式 SQLite 部署无需单独的任务进程：任务在平台进程内执行。")
        raise typer.Exit(2)
    start_process_sealer(engine)
    # Catch up at start (e.g. loads a killed worker left running), then on schedule.
    jobs.run_periodic_once(make_sessionmaker(engine))
    console.print("任务进程已启动（Ctrl+C 停止）。")
    jobs.run_worker(url)


@app.command()
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
    with_catalog: Annotated[
        bool, typer.Option("--catalog/--no-catalog", help="同时载入演示目录（约 3,000 条资源）")
    ] = True,
    with_pools: Annotated[
        bool,
        typer.Option(
            "--pools/--no-pools",
            help="随演示目录载入演示数据资源池、基础数据库、主题数据库和校核申请（约 1.5 万行）",
        ),
    ] = True,
) -> None:
    """Create or reuse the database, load the demo city once, print the accounts, serve."""
    from govdata.core.migrate import upgrade
    from govdata.org.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo_org

    settings = get_settings()
    engine = _engine()
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        accounts = load_demo_org(session)
    if accounts is None:
        console.print("演示城市已存在，直接使用。")
    else:
        console.print("已载入演示城市：重庆市及其 38 个区县、2 个派出机构和各部门。")
    if with_catalog:
        from govdata.catalog.demo import load_demo_catalog

        with (
            console.status("正在生成演示目录……"),
            transaction(make_sessionmaker(engine)) as session,
        ):
            catalog = load_demo_catalog(session)
        if catalog is not None:
            console.print(
                f"已载入演示目录：{catalog.resources} 个政务数据资源，"
                f"已发布 {catalog.published} 个，待审核条目 {catalog.pending_entries} 个，"
                f"数据需求 {catalog.demands} 个。"
            )
    if with_catalog and with_pools:
        # After the catalog: the pools' resources join it as its next version (Art. 12).
        from govdata.aggregation.demo import load_demo_pools

        with console.status("正在生成并加载演示数据资源池……"):
            pools = load_demo_pools(make_sessionmaker(engine))
        if pools is not None:
            console.print(
                f"已载入演示数据资源池：{pools.pools} 个资源池，加载 {pools.loads} 次，"
                f"共 {pools.rows_loaded} 行（隔离错误行 {pools.rows_quarantined} 行，"
                f"拒收 {pools.rejected_loads} 次）；自然人基础数据库 {pools.person_base_rows} 人，"
                f"法人基础数据库 {pools.legal_base_rows} 个主体，待处理数据冲突 "
                f"{pools.open_conflicts} 条；主题数据库 {pools.thematic_rows} 行；"
                f"校核中的申请 {pools.open_corrections} 项。"
            )
        from govdata.sharing.demo import run_demo_step  # after the pools: sharing uses them

        run_demo_step(make_sessionmaker(engine), console)
        from govdata.opendata.demo import run_demo_step as run_opendata_step

        run_opendata_step(make_sessionmaker(engine), console)  # after sharing: its identities
        from govdata.app.demo_history import load_demo_history  # last: it dates what exists

        with console.status("正在生成演示城市过去一年的历史……"):
            history = load_demo_history(make_sessionmaker(engine))
        if history is not None:
            console.print(
                f"已载入过去一年（{history.first_month} 至 {history.last_month}）的历史："
                f"目录版本 {history.versions} 个，数据加载 {history.loads} 次，质量评估 "
                f"{history.snapshots} 次，已答复的校核申请 {history.corrections} 项，"
                f"更早的共享调用记录 {history.calls} 条。"
            )
    # Everything loaded is sealed and signed before anyone looks (the key is made on first run).
    from govdata.core.audit_seal import seal

    config = settings_audit_config()
    while seal(make_sessionmaker(engine), config).sealed:
        pass
    table = Table(title=f"演示账户（密码均为 {DEMO_PASSWORD}）")
    for column in ("用户名", "姓名", "角色", "范围"):
        table.add_column(column)
    for account in DEMO_ACCOUNTS:
        table.add_row(account.username, account.name, account.role.label, account.where)
    console.print(table)
    console.print(f"数据库：{settings.database_url}")
    if serve_after:
        console.print(f"平台地址：http://{host}:{port}/")
        serve(host=host, port=port, with_worker=True)


@users_app.command("create")
def users_create(
    username: str,
    name: Annotated[str, typer.Option(help="姓名")],
    role: Annotated[Role, typer.Option(help="角色")],
    department: Annotated[str | None, typer.Option(help="部门代码")] = None,
    region: Annotated[str | None, typer.Option(help="区划代码或区域名称")] = None,
    password: Annotated[
        str, typer.Option(prompt="密码", hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create an account with one role (the first city bureau admin is made this way)."""
    from sqlalchemy import or_, select

    from govdata.org.demo import BOOTSTRAP
    from govdata.org.models import Department, Region
    from govdata.org.schemas import GrantIn, PersonCreate
    from govdata.org.service import create_person

    try:
        with transaction(make_sessionmaker(_engine())) as session:
            dept_id = region_id = None
            if department:
                dept_id = session.scalar(select(Department.id).where(Department.code == department))
                if dept_id is None:
                    err.print(f"[red]错误[/red] 未找到部门代码 {department}。")
                    raise typer.Exit(2)
            if region:
                region_id = session.scalar(
                    select(Region.id).where(or_(Region.code == region, Region.name == region))
                )
                if region_id is None:
                    err.print(f"[red]错误[/red] 未找到行政区域 {region}。")
                    raise typer.Exit(2)
            person = create_person(
                session,
                BOOTSTRAP,
                PersonCreate(
                    username=username,
                    name=name,
                    password=password,
                    department_id=dept_id,
                    kind="public" if role in (Role.CITIZEN, Role.COMPANY) else "staff",
                    grants=[
                        GrantIn(
                            role=role,
                            region_id=region_id,
                            department_id=dept_id if role.scope == "department" else None,
                        )
                    ],
                ),
            )
            console.print(f"已创建账户 {person.username}（{role.label}）。")
    except DomainError as exc:
        _fail(exc)


def _admin_actor() -> Actor:
    from govdata.org.demo import BOOTSTRAP

    return BOOTSTRAP


@workdays_app.command("add")
def workdays_add(
    day: Annotated[str, typer.Argument(help="日期 YYYY-MM-DD")],
    name: Annotated[str, typer.Option(help="节日名称")],
    workday: Annotated[bool, typer.Option("--workday/--holiday", help="调休上班 / 放假")] = False,
) -> None:
    """Record one holiday or make-up working day."""
    from govdata.core import calendar as cal
    from govdata.core.workdays import CalendarEntry

    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        err.print(f"[red]错误[/red] “{day}”不是 YYYY-MM-DD 格式的日期。")
        raise typer.Exit(2) from None
    try:
        with transaction(make_sessionmaker(_engine())) as session:
            cal.set_day(session, _admin_actor(), CalendarEntry(parsed, workday, name))
    except DomainError as exc:
        _fail(exc)
    console.print(f"已登记 {parsed.isoformat()} 为{'调休上班' if workday else '放假'}（{name}）。")


@workdays_app.command("import")
def workdays_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV：日期,类型,名称")],
    year: Annotated[int, typer.Option(help="年份")],
) -> None:
    """Load a year's schedule once the State Council publishes it; the year becomes final."""
    from govdata.core import calendar as cal

    try:
        entries = cal.parse_calendar_csv(file.read_text(encoding="utf-8-sig"))
        with transaction(make_sessionmaker(_engine())) as session:
            r = cal.import_year(session, _admin_actor(), year, entries, source=f"cli:{file.name}")
    except UnicodeDecodeError:
        err.print("[red]错误[/red] 文件须为 UTF-8 编码的 CSV。")
        raise typer.Exit(2) from None
    except DomainError as exc:
        _fail(exc)
    console.print(f"已导入 {r.year} 年：放假 {r.holidays} 天，调休上班 {r.makeup_workdays} 天。")


# --- catalog: import and export of catalog lists (Ch. 2) --------------------------------------

catalog_app = typer.Typer(help="政务数据资源目录：目录清单的 Excel 导入导出")
app.add_typer(catalog_app, name="catalog")


def _department_id(session: object, code: str) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from govdata.org.models import Department

    assert isinstance(session, Session)
    dept_id = session.scalar(select(Department.id).where(Department.code == code))
    if dept_id is None:
        err.print(f"[red]错误[/red] 未找到部门代码 {code}。")
        raise typer.Exit(2)
    return dept_id


def _print_json(data: object) -> None:
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@catalog_app.command("import")
def catalog_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="目录清单 .xlsx 或 .xls 文件")
    ],
    department: Annotated[str, typer.Option(help="导入到的部门代码")],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出结果或问题清单")] = False,
) -> None:
    """Import a department's list (xlsx or xls): every row or nothing; exit 1 on problems."""
    from dataclasses import asdict

    from govdata.catalog.spreadsheet import MAX_FILE_BYTES, ImportRejected, import_catalog

    if file.stat().st_size > MAX_FILE_BYTES:
        err.print(f"[red]错误[/red] 文件超过 {MAX_FILE_BYTES // (1024 * 1024)} MB，请分批导入。")
        raise typer.Exit(2)
    content = file.read_bytes()
    try:
        with transaction(make_sessionmaker(_engine())) as session:
            dept_id = _department_id(session, department)
            result = import_catalog(session, _admin_actor(), dept_id, content)
    except ImportRejected as exc:
        if as_json:
            _print_json(
                {
                    "error": {"code": exc.code, "message": exc.message},
                    "problems": [asdict(p) for p in exc.problems],
                    "more": exc.more,
                }
            )
            raise typer.Exit(1) from None
        table = Table(title=exc.message, show_lines=False)
        for column in ("工作表", "行", "列"):
            table.add_column(column, overflow="fold")
        # Codes stay whole on narrow terminals: operators copy and grep them.
        table.add_column("问题代码", no_wrap=True)
        table.add_column("说明", overflow="fold", ratio=1)
        for p in exc.problems:
            table.add_row(p.sheet, str(p.row), p.column, p.code, p.message)
        console.print(table)
        if exc.more:
            console.print(f"另有 {exc.more} 处问题未列出。")
        raise typer.Exit(1) from None
    except DomainError as exc:
        if as_json:
            _print_json({"error": {"code": exc.code, "message": exc.message}})
            raise typer.Exit(2) from None
        _fail(exc)
        return
    if as_json:
        _print_json(asdict(result))
        return
    console.print(
        f"已导入 {file.name} 到部门 {department}：新增 {result.created} 条，"
        f"修改 {result.updated} 条，未变 {result.unchanged} 条。"
    )
    for note in result.layout_notes:  # which rows were the header, below a title or notes
        console.print(note)


@catalog_app.command("export")
def catalog_export(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="输出文件")],
    department: Annotated[
        str | None, typer.Option(help="部门代码：导出该部门的目录清单（含未发布的草稿）")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="xlsx、csv（两个 CSV 文件的 zip）或 json；默认按输出文件的扩展名"
        ),
    ] = None,
    version: Annotated[
        int | None, typer.Option(help="导出已发布目录的第 N 版（与 --department 同用则只含该部门）")
    ] = None,
    published: Annotated[
        bool, typer.Option("--published", help="导出当前已发布的目录（与 --department 同用同上）")
    ] = False,
) -> None:
    """Export a department's catalog list, or a published version of the catalog.

    With only --department: the department's working list. With --version or --published (or
    without --department): the published catalog, narrowed to --department when given.
    """
    from govdata.catalog.spreadsheet import EXPORT_FORMATS, export_list, export_published
    from govdata.catalog.versions import CatalogFilter

    chosen = fmt or {".json": "json", ".csv": "csv", ".zip": "csv"}.get(out.suffix.lower(), "xlsx")
    if chosen not in EXPORT_FORMATS:
        err.print(f"[red]错误[/red] 导出格式“{chosen}”无效，可选：xlsx、csv、json。")
        raise typer.Exit(2)
    try:
        with transaction(make_sessionmaker(_engine())) as session:
            dept_id = _department_id(session, department) if department else None
            if dept_id is not None and version is None and not published:
                content = export_list(session, _admin_actor(), dept_id, chosen)
                what = f"部门 {department} 的目录清单"
            else:
                flt = CatalogFilter(department_id=dept_id) if dept_id is not None else None
                content = export_published(session, _admin_actor(), chosen, number=version, flt=flt)
                what = f"已发布目录{f'第 {version} 版' if version else '（当前版本）'}"
                if department:
                    what += f"中部门 {department} 的资源"
    except DomainError as exc:
        _fail(exc)
        return
    out.write_bytes(content)
    console.print(f"已导出{what}到 {out}（{chosen}，{len(content)} 字节）。")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
