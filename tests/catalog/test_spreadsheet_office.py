"""Catalog lists as offices make them (issue 16): legacy Excel (.xls), a title or notes above the
header, a two-row merged header, and 填表说明 or 制表人 below the data (Art. 11, 12).

The header is found by its names within the first 20 rows; the result and any refusal say
which rows were taken, and problems keep the spreadsheet's own row numbers.
"""

from __future__ import annotations

import dataclasses
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy.orm import Session

from govdata.catalog import service
from govdata.catalog.spreadsheet import (
    ITEM_HEADERS,
    ITEM_SHEET,
    RESOURCE_HEADERS,
    RESOURCE_SHEET,
    import_catalog,
    reading,
)
from govdata.core import sheet_layout
from govdata.core.errors import InvalidInput
from govdata.core.settings import get_settings
from tests.catalog.test_spreadsheet import person_items, person_row, rejected, where

FIXTURES = Path(__file__).parents[1] / "fixtures" / "office"
HTML = {"Accept": "text/html,application/xhtml+xml"}


def office_xlsx(
    resources: list[dict[str, Any]],
    items: list[dict[str, Any]],
    *,
    above: list[list[Any]] | None = None,
    below: list[list[Any]] | None = None,
    resource_headers: list[str] | None = None,
) -> bytes:
    """A workbook with ``above`` rows over each sheet's header (a merged title by default) and
    ``below`` rows after its data."""
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    tables = {
        RESOURCE_SHEET: (resource_headers or list(RESOURCE_HEADERS), resources),
        ITEM_SHEET: (list(ITEM_HEADERS), items),
    }
    for name, (headers, rows) in tables.items():
        ws = wb.create_sheet(name)
        top = above if above is not None else [["市公安局政务数据资源目录清单（2026年）"], []]
        for line in top:
            ws.append(line)
        if top and top[0]:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
        ws.append(headers)
        for row in rows:
            ws.append([row.get(h) for h in headers])
        for line in below or []:
            ws.append(line)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- legacy Excel -------------------------------------------------------------------------------


def test_an_xls_list_as_an_office_saves_it_imports(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    # Art. 12: a department's list saved by Excel 2003 or WPS (.xls), with a merged title, a
    # line of notes, a two-row header (共享属性 / 开放属性 merged over their columns) and notes
    # and signatures below the data.
    officer = world.actor(session, "officer")
    content = (FIXTURES / "catalog_office.xls").read_bytes()
    assert content.startswith(b"\xd0\xcf\x11\xe0")  # an OLE compound file, not a zip
    result = import_catalog(session, officer, world.police, content)
    assert (result.created, result.updated, result.unchanged) == (1, 0, 0)
    res = service.get_resource_by_code(session, officer, result.codes[0])
    assert res.name == "户籍人口基本信息"
    assert (res.share_type, res.share_method, res.open_type) == ("unconditional", "接口", "none")
    assert res.published_on == date(2026, 3, 1)  # a date cell
    assert res.security_level == "sensitive"
    items = {i.name: i for i in res.items}
    assert set(items) == {"公民身份号码", "姓名", "出生日期"}
    assert items["公民身份号码"].is_subject_key and items["公民身份号码"].length == 18
    assert items["姓名"].data_type == "C"  # 字符型
    assert result.layout_notes == [
        "工作表“信息资源”以第 3–4 行为表头（其上 2 行标题或说明未读取）；"
        "第 7 行起为表尾说明（填表说明、制表人等），未读取。",
        "工作表“信息项”以第 2 行为表头（其上 1 行标题或说明未读取）；"
        "第 7 行起为表尾说明（填表说明、制表人等），未读取。",
    ]


def test_a_damaged_xls_is_refused_and_nothing_is_stored(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    content = (FIXTURES / "catalog_office.xls").read_bytes()
    with pytest.raises(InvalidInput) as err:
        import_catalog(session, officer, world.police, content[: len(content) // 2])
    assert err.value.code == "catalog.import_not_xlsx"
    assert ".xls" in err.value.message


def test_xls_is_refused_when_the_cell_limit_is_below_its_grid(  # type: ignore[no-untyped-def]
    session: Session, world, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Art. 39: calamine holds an .xls sheet densely (up to 65,536 × 256 cells); a limit set
    # below that grid holds for .xls too, before calamine reads it.
    officer = world.actor(session, "officer")
    lowered = dataclasses.replace(get_settings(), xlsx_max_cells=1_000_000)
    monkeypatch.setattr(reading, "get_settings", lambda: lowered)
    with pytest.raises(InvalidInput) as err:
        import_catalog(
            session, officer, world.police, (FIXTURES / "catalog_office.xls").read_bytes()
        )
    assert (err.value.code, err.value.status) == ("catalog.import_too_large", 413)
    assert ".xlsx" in err.value.message


# --- where the header is ------------------------------------------------------------------------


def test_a_title_above_the_header_and_notes_below_the_data(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    content = office_xlsx(
        [person_row()],
        person_items(),
        below=[[], ["填表说明："], ["1. 信息资源分类按“基础/主题/部门”填写。"], ["制表人：张三"]],
    )
    result = import_catalog(session, officer, world.police, content)
    assert result.created == 1
    assert result.layout_notes[0] == (
        "工作表“信息资源”以第 3 行为表头（其上 2 行标题或说明未读取）；"
        "第 6 行起为表尾说明（填表说明、制表人等），未读取。"
    )


def test_a_header_on_row_one_says_nothing(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    result = import_catalog(
        session, officer, world.police, office_xlsx([person_row()], person_items(), above=[])
    )
    assert result.created == 1 and result.layout_notes == []


def test_problems_keep_the_spreadsheets_row_numbers(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    headers = [h for h in RESOURCE_HEADERS if h != "更新周期"]
    content = office_xlsx(
        [person_row(), person_row("人口", 共享类型="随便共享")],
        person_items(),
        resource_headers=headers,
    )
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [(RESOURCE_SHEET, 3, "更新周期", "catalog.import_header_missing")]
    assert "第 3 行（表头）缺少必需的列“更新周期”" in err.problems[0].message
    assert "工作表“信息资源”以第 3 行为表头" in err.message

    content = office_xlsx([person_row(), person_row("人口", 共享类型="随便共享")], person_items())
    err = rejected(session, officer, world.police, content)
    assert (RESOURCE_SHEET, 5, "共享类型", "catalog.import_label_unknown") in where(err.problems)


def test_no_header_in_the_first_rows_is_one_clear_problem(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    filler = [[], *([f"说明第 {n} 行"] for n in range(sheet_layout.SEARCH_ROWS))]
    content = office_xlsx([person_row()], person_items(), above=filler)
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [
        (RESOURCE_SHEET, 2, "", "catalog.import_header_not_found"),
        (ITEM_SHEET, 2, "", "catalog.import_header_not_found"),
    ]
    assert "前 20 行" in err.problems[0].message and "信息资源名称" in err.problems[0].message
    assert "为表头" not in err.message  # no row was taken as the header


def test_a_resource_named_like_a_note_is_still_data(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    # A row that starts with 说明 but fills its columns is a resource, not the notes below.
    officer = world.actor(session, "officer")
    name = "说明：外来人口登记信息"
    content = office_xlsx([person_row(name)], person_items(name))
    result = import_catalog(session, officer, world.police, content)
    assert result.created == 1
    assert "表尾" not in "".join(result.layout_notes)


# --- the header finder ---------------------------------------------------------------------------

KNOWN = {"信息资源名称", "共享类型", "共享条件", "开放类型"}


def test_find_header_takes_the_row_naming_most_columns() -> None:
    rows = [
        ["××局政务数据资源目录清单（2026年）", None, None],
        ["填报单位：××局", None, None],
        ["信息资源名称", "共享类型", "备注"],
        ["人口", "无条件共享", ""],
    ]
    found = sheet_layout.find_header(rows, KNOWN)
    assert (found.first, found.last, found.names, found.matched) == (
        2,
        2,
        ["信息资源名称", "共享类型", "备注"],
        2,
    )
    assert found.data_start == 3 and found.rows_label() == "第 3 行"


def test_find_header_merges_a_group_row_above_its_columns() -> None:
    rows = [
        ["信息资源名称", "共享属性", "", "开放类型"],
        ["", "共享类型", "共享条件", ""],
        ["人口", "无条件共享", "", "不予开放"],
    ]
    found = sheet_layout.find_header(rows, KNOWN)
    assert (found.first, found.last) == (0, 1)
    assert found.names == ["信息资源名称", "共享类型", "共享条件", "开放类型"]
    assert found.rows_label() == "第 1–2 行"


def test_find_header_prefers_one_row_when_the_row_above_adds_nothing() -> None:
    rows = [["清单"], ["信息资源名称", "共享类型"], ["人口", "无条件共享"]]
    found = sheet_layout.find_header(rows, KNOWN)
    assert (found.first, found.last) == (1, 1)


def test_find_header_without_known_names_takes_the_first_filled_row() -> None:
    rows = [[None, None], ["甲", "乙"], ["1", "2"]]
    found = sheet_layout.find_header(rows, KNOWN)
    assert (found.first, found.matched, found.names) == (1, 0, ["甲", "乙"])


@pytest.mark.parametrize(
    ("cells", "footer"),
    [
        (["填表说明："], True),
        (["填表说明"], True),
        (["制表人：张三", "", "审核人：李四"], True),
        (["注：数据类型填写字母。"], True),
        (["说明：外来人口登记信息", "基础/人口", "数据库", "无条件共享"], False),
        (["说明书档案", ""], False),
        (["说明：外来人口登记信息", "出生日期", "D"], False),
        (["制表人：张三", "2026年3月1日"], False),  # not every cell a label: read as data
        (["人口", ""], False),
        (["", ""], False),
    ],
)
def test_is_footer(cells: list[str], footer: bool) -> None:
    assert sheet_layout.is_footer(cells) is footer


# --- the page -----------------------------------------------------------------------------------


def test_the_import_page_takes_an_xls_and_says_which_rows_were_the_header(  # type: ignore[no-untyped-def]
    sign_in, session: Session, world
) -> None:
    c = sign_in("officer")
    url = f"/catalog/departments/{world.police}/import"
    form = c.get(url, headers=HTML)
    assert 'accept=".xlsx,.xls,' in form.text
    content = (FIXTURES / "catalog_office.xls").read_bytes()
    r = c.post(
        url,
        files={"file": ("目录清单.xls", content, "application/vnd.ms-excel")},
        headers=HTML,
    )
    assert r.status_code == 200, r.text
    assert "新增 1 条" in r.text
    assert "以第 3–4 行为表头" in r.text and "第 7 行起为表尾说明" in r.text
