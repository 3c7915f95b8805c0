"""Pool loads of spreadsheets as offices make them (issue 16; Art. 15, 17 ¶1): legacy Excel
(.xls), a title or the unit's name above the header, notes below the data. Problems keep the
spreadsheet's own row numbers; the load's report says which rows were the header."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import formats, reading
from govdata.aggregation.models import Load, LoadProblem, LoadStatus
from govdata.catalog.models import Resource
from govdata.core.errors import InvalidInput
from govdata.core.settings import get_settings
from tests.aggregation.factories import person_pool_resource
from tests.aggregation.test_loading import HEADER, ITEMS, current, pid, run
from tests.world import World

FIXTURES = Path(__file__).parents[1] / "fixtures" / "office"
HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def resource(session: Session, world: World) -> Resource:
    return person_pool_resource(session, world, world.police, "户籍人口测试", ITEMS)


def office_xlsx(path: Path, rows: list[list[Any]], *, above: int = 2, below: bool = True) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    if above:
        ws.append(["户籍人口测试数据（2026年3月）"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=5)
        for _ in range(above - 1):
            ws.append(["单位：市公安局"])
    ws.append(HEADER.split(","))
    for row in rows:
        ws.append(row)
    if below:
        ws.append([])
        ws.append(["填表说明：出生日期按年月日填写。"])
        ws.append(["制表人：赵六", None, "审核人：钱七"])
    wb.save(path)
    return path


def notes(session: Session, load: Load) -> list[tuple[int, str, str, str]]:
    return [
        (p.row_number, p.code, p.kind, p.message)
        for p in session.scalars(
            select(LoadProblem).where(LoadProblem.load_id == load.id).order_by(LoadProblem.id)
        )
    ]


def test_an_xls_load_with_a_title_and_notes(
    session: Session, world: World, resource: Resource, tmp_path: Path
) -> None:
    path = tmp_path / "户籍人口.xls"
    shutil.copy(FIXTURES / "people_office.xls", path)
    load = run(session, world, resource, path)
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert load.file_format == "xls"
    assert (load.rows_read, load.rows_loaded, load.rows_bad) == (3, 3, 0)
    data = current(session, world, load)
    assert data[pid(1)]["出生日期"] == date(1990, 1, 2)  # a date cell
    assert data[pid(1)]["子女数"] == 2 and data[pid(1)]["在册"] is False  # a number cell
    assert data[pid(2)]["出生日期"] == date(1990, 1, 3) and data[pid(2)]["子女数"] is None
    assert notes(session, load) == [
        (
            3,
            "aggregation.header_row",
            "cleaned",
            "以第 3 行为表头（其上 2 行标题或说明未读取）；"
            "第 8 行起为表尾说明（填表说明、制表人等），未读取。",
        )
    ]


def test_xlsx_problems_keep_the_spreadsheets_row_numbers(
    session: Session, world: World, resource: Resource, tmp_path: Path
) -> None:
    rows = [
        [pid(1), "张三", date(1990, 1, 2), 2, "否"],
        [pid(2), "李四", "不是日期", None, "1"],
    ]
    load = run(session, world, resource, office_xlsx(tmp_path / "p.xlsx", rows))
    assert load.status == LoadStatus.REJECTED
    found = notes(session, load)
    assert (5, "aggregation.bad_date") in [(r, c) for r, c, _, _ in found], found
    assert (3, "aggregation.header_row") in [(r, c) for r, c, _, _ in found]


def test_a_header_on_row_one_adds_no_note(
    session: Session, world: World, resource: Resource, tmp_path: Path
) -> None:
    path = office_xlsx(
        tmp_path / "p.xlsx", [[pid(1), "张三", None, None, "是"]], above=0, below=False
    )
    load = run(session, world, resource, path)
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert notes(session, load) == []


def test_a_missing_item_says_which_row_was_the_header(
    session: Session, world: World, resource: Resource, tmp_path: Path
) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["户籍人口测试数据"])
    ws.append(["姓名", "出生日期"])
    ws.append(["张三", "1990-01-02"])
    wb.save(tmp_path / "p.xlsx")
    load = run(session, world, resource, tmp_path / "p.xlsx")
    assert load.status in (LoadStatus.REJECTED, LoadStatus.FAILED)
    assert load.error_code == "aggregation.missing_column"
    assert "公民身份号码" in load.error_message and "以第 2 行为表头" in load.error_message


def test_data_in_a_column_without_a_name_is_refused(
    session: Session, world: World, resource: Resource, tmp_path: Path
) -> None:
    rows = [[pid(1), "张三", None, None, "是", None, "多出的值"]]
    load = run(session, world, resource, office_xlsx(tmp_path / "p.xlsx", rows))
    assert load.status in (LoadStatus.REJECTED, LoadStatus.FAILED)
    assert load.error_code == "aggregation.unnamed_column"
    assert "第 4 行第 G 列" in load.error_message
    assert load.rows_loaded == 0


def test_a_damaged_xls_is_refused_in_zh_cn(tmp_path: Path) -> None:
    path = tmp_path / "bad.xls"
    path.write_bytes((FIXTURES / "people_office.xls").read_bytes()[:1500])
    with pytest.raises(InvalidInput) as err:
        list(reading.batches(reading.Source(path, "xls", expected=frozenset({"姓名"}))))
    assert err.value.code == "aggregation.malformed_xlsx"


def test_xls_is_refused_when_the_cell_limit_is_below_its_grid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Art. 39: the limit an operator lowers holds for .xls, whose grid the format bounds.
    lowered = dataclasses.replace(get_settings(), xlsx_max_cells=1_000_000)
    monkeypatch.setattr(formats, "get_settings", lambda: lowered)
    source = reading.Source(FIXTURES / "people_office.xls", "xls")
    with pytest.raises(InvalidInput) as err:
        list(reading.batches(source))
    assert (err.value.code, err.value.status) == ("aggregation.file_too_large_expanded", 413)


def test_xls_is_a_supported_file_name() -> None:
    assert reading.file_format("户籍人口.XLS") == "xls"
    with pytest.raises(InvalidInput) as err:
        reading.file_format("户籍人口.xlsb")
    assert err.value.code == "aggregation.unsupported_format"
    assert ".xls" in err.value.message


def test_a_two_row_header_merged_over_its_items(
    session: Session, world: World, resource: Resource, tmp_path: Path
) -> None:
    # 公民身份号码 and 姓名 merged down over two rows; 其他信息 merged across the other three.
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["户籍人口测试数据"])
    ws.append(["公民身份号码", "姓名", "其他信息", None, None])
    ws.append([None, None, "出生日期", "子女数", "在册"])
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:B3")
    ws.merge_cells("C2:E2")
    ws.append([pid(1), "张三", "1990-01-02", 1, "是"])
    wb.save(tmp_path / "p.xlsx")
    load = run(session, world, resource, tmp_path / "p.xlsx")
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert current(session, world, load)[pid(1)]["子女数"] == 1
    assert [n[3] for n in notes(session, load)] == [
        "以第 2–3 行为表头（其上 1 行标题或说明未读取）。"
    ]


def test_the_load_page_takes_an_xls_and_reports_the_header_row(  # type: ignore[no-untyped-def]
    sign_in, session: Session, resource: Resource
) -> None:
    session.commit()
    c = sign_in("officer")
    form = c.get(f"/aggregation/pools/load?resource={resource.code}", headers=HTML)
    assert form.status_code == 200 and ".xls," in form.text
    r = c.post(
        "/aggregation/pools/loads",
        data={"resource": resource.code, "policy": "reject_file", "mode": "replace"},
        files={"file": ("户籍人口.xls", (FIXTURES / "people_office.xls").read_bytes())},
        headers=HTML,
        follow_redirects=True,
    )
    assert r.status_code == 200, r.text
    assert "已完成" in r.text and "户籍人口.xls" in r.text
    assert "aggregation.header_row" in r.text and "以第 3 行为表头" in r.text
