"""Excel import and export of catalog lists (the catalog issue, item 7), at the service level.

Every rejection names the sheet, the row as the spreadsheet numbers it (header = row 1), the
column and a stable code, and leaves the database exactly as it was.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import review, service
from govdata.catalog.models import (
    Classification,
    InfoItem,
    Resource,
    ResourceState,
    ReviewEntry,
)
from govdata.catalog.schemas import InfoItemIn
from govdata.catalog.spreadsheet import (
    ITEM_HEADERS,
    ITEM_SHEET,
    RESOURCE_HEADERS,
    RESOURCE_SHEET,
    ImportProblem,
    ImportRejected,
    columns,
    export_list,
    export_published,
    import_catalog,
    problems_report_xlsx,
    reading,
    storing,
)
from govdata.catalog.versions import CatalogFilter
from govdata.core.audit import AuditEvent
from govdata.core.errors import InvalidInput, NotFound, PermissionDenied
from govdata.org.models import Department
from tests.catalog.factories import READER, company_resource, person_resource

Row = dict[str, Any]


# --- building workbooks -----------------------------------------------------------------------


def person_row(name: str = "户籍人口基本信息", **cells: Any) -> Row:
    row: Row = {
        "信息资源分类": "基础/人口/户籍",
        "信息资源名称": name,
        "信息资源摘要": "本市户籍人口的基本信息。",
        "信息资源格式": "数据库/PostgreSQL",
        "共享类型": "无条件共享",
        "共享方式": "接口",
        "开放类型": "不予开放",
        "更新周期": "每日",
        "法律依据": "《中华人民共和国居民身份证法》",
        "安全级别": "敏感",
    }
    row.update(cells)
    return row


def company_row(name: str = "市场主体登记信息", **cells: Any) -> Row:
    row: Row = {
        "信息资源分类": "部门/市场监管/登记注册",
        "信息资源名称": name,
        "信息资源摘要": "企业登记注册信息。",
        "信息资源格式": "电子表格/xlsx",
        "共享类型": "无条件共享",
        "开放类型": "无条件开放",
        "更新周期": "每周",
        "安全级别": "公开",
        "数据主体": "法人",
    }
    row.update(cells)
    return row


def person_items(resource: str = "户籍人口基本信息") -> list[Row]:
    return [
        {
            "信息资源名称": resource,
            "信息项名称": "公民身份号码",
            "数据类型": "C",
            "数据长度": 18,
            "是否主体标识": "是",
        },
        {"信息资源名称": resource, "信息项名称": "姓名", "数据类型": "C", "数据长度": 50},
        {"信息资源名称": resource, "信息项名称": "出生日期", "数据类型": "D"},
    ]


def company_items(resource: str = "市场主体登记信息") -> list[Row]:
    return [
        {
            "信息资源名称": resource,
            "信息项名称": "统一社会信用代码",
            "数据类型": "C",
            "数据长度": 18,
            "是否主体标识": "Y",
        },
        {"信息资源名称": resource, "信息项名称": "企业名称", "数据类型": "字符型", "数据长度": 200},
    ]


def xlsx(
    resources: list[Row],
    items: list[Row],
    *,
    resource_headers: list[str] | None = None,
    item_headers: list[str] | None = None,
    sheets: tuple[str, ...] = (RESOURCE_SHEET, ITEM_SHEET),
) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    tables = {
        RESOURCE_SHEET: (resource_headers or list(RESOURCE_HEADERS), resources),
        ITEM_SHEET: (item_headers or list(ITEM_HEADERS), items),
    }
    for name in sheets:
        headers, rows = tables[name]
        ws = wb.create_sheet(name)
        ws.append(headers)
        for row in rows:
            ws.append([row.get(h.strip("*")) for h in headers])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def read_sheets(content: bytes) -> dict[str, list[list[Any]]]:
    wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Resource, InfoItem, Classification, AuditEvent)
    )


def rejected(session: Session, actor: Any, department: int, content: bytes) -> ImportRejected:
    before = counts(session)
    with pytest.raises(ImportRejected) as err:
        import_catalog(session, actor, department, content)
    assert err.value.code == "catalog.import_rejected"
    assert counts(session) == before  # nothing stored, not even a classification
    return err.value


def where(problems: list[ImportProblem]) -> list[tuple[str, int, str, str]]:
    return [(p.sheet, p.row, p.column, p.code) for p in problems]


# --- importing --------------------------------------------------------------------------------


def test_import_creates_resources_with_codes_items_and_one_audit_event(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    content = xlsx(
        [person_row(), company_row(关联资源代码="")],
        [*person_items(), *company_items()],
    )
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    result = import_catalog(session, officer, world.police, content)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert result.codes == ["101001000/000001", "301001000/000001"]

    person = service.get_resource_by_code(session, officer, "101001000/000001")
    assert (person.name, person.format, person.format_subtype) == (
        "户籍人口基本信息",
        "database",
        "PostgreSQL",
    )
    assert person.state == ResourceState.DRAFT
    assert person.subject_kind == "person"  # inferred from the ID-number key (Art. 16)
    assert person.security_level == "sensitive"
    assert [
        (i.name, i.data_type, i.length, i.share_type, i.is_subject_key) for i in person.items
    ] == [
        ("公民身份号码", "C", 18, "unconditional", True),
        ("姓名", "C", 50, "unconditional", False),
        ("出生日期", "D", None, "unconditional", False),
    ]
    company = service.get_resource_by_code(session, officer, "301001000/000001")
    assert company.classification.path == "市场监管/登记注册"
    assert [i.data_type for i in company.items] == ["C", "C"]  # 字符型 read as its letter
    # One event for the whole file; the services wrote none of their own.
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events + 1
    event = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert event is not None
    assert (event.action, event.object_id, event.department_id) == (
        "catalog.list.import",
        "500000-007",
        world.police,
    )
    assert "新增2条" in event.summary


def test_headers_in_any_order_and_optional_columns_left_out(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    headers = [
        "更新周期",
        "*信息资源名称",
        "信息资源格式",
        "信息资源分类",
        "开放类型",
        "共享类型",
        "法律依据",
    ]
    items = ["数据类型", "信息项名称", "信息资源名称", "数据长度", "是否主体标识"]
    content = xlsx([person_row()], person_items(), resource_headers=headers, item_headers=items)
    result = import_catalog(session, officer, world.police, content)
    assert result.created == 1
    res = service.get_resource_by_code(session, officer, result.codes[0])
    assert res.abstract == "" and res.security_level == "internal"  # absent columns: blank


def test_unknown_duplicate_and_missing_headers(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    headers = [*RESOURCE_HEADERS, "备注", "共享类型"]
    headers.remove("更新周期")
    content = xlsx([person_row()], person_items(), resource_headers=headers)
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [
        (RESOURCE_SHEET, 1, "共享类型", "catalog.import_header_duplicate"),
        (RESOURCE_SHEET, 1, "更新周期", "catalog.import_header_missing"),
        (RESOURCE_SHEET, 1, "备注", "catalog.import_header_unknown"),
    ]
    assert all(p.message for p in err.problems)
    assert err.detail["problems"][0]["sheet"] == RESOURCE_SHEET


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "catalog.import_empty"),
        (b"name,code\n", "catalog.import_not_xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "catalog.import_not_xlsx"),  # .xls
        (b"PK\x03\x04 not really a zip", "catalog.import_not_xlsx"),
    ],
)
def test_unreadable_files_are_refused(session, world, content: bytes, code: str) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    with pytest.raises(InvalidInput) as err:
        import_catalog(session, officer, world.police, content)
    assert err.value.code == code
    assert "。" in err.value.message


def test_a_zip_that_is_not_a_workbook_and_an_oversized_file(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<x/>")
    with pytest.raises(InvalidInput) as err:
        import_catalog(session, officer, world.police, buffer.getvalue())
    assert err.value.code == "catalog.import_not_xlsx"

    content = xlsx([person_row()], person_items())
    monkeypatch.setattr(reading, "MAX_FILE_BYTES", len(content) - 1)
    with pytest.raises(InvalidInput) as err:
        import_catalog(session, officer, world.police, content)
    assert (err.value.code, err.value.status) == ("catalog.import_too_large", 413)


def test_missing_sheets_and_no_rows(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    with pytest.raises(InvalidInput) as err:
        import_catalog(
            session, officer, world.police, xlsx([person_row()], [], sheets=(RESOURCE_SHEET,))
        )
    assert err.value.code == "catalog.import_sheet_missing"
    assert "信息项" in err.value.message
    with pytest.raises(InvalidInput) as err:
        import_catalog(session, officer, world.police, xlsx([], []))
    assert err.value.code == "catalog.import_no_rows"


def test_unknown_labels_and_missing_cells(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    content = xlsx(
        [
            person_row(),
            person_row("流动人口信息", 共享类型="部分共享", 信息资源格式="纸质"),
            person_row("出生登记信息", 更新周期=None, 安全级别="绝密", 信息资源分类="人口/出生"),
        ],
        [
            *person_items(),
            *person_items("流动人口信息"),
            {
                "信息资源名称": "出生登记信息",
                "信息项名称": "公民身份号码",
                "数据类型": "X",
                "是否主体标识": "可能",
            },
            {
                "信息资源名称": "出生登记信息",
                "信息项名称": "体重",
                "数据类型": "N",
                "数据长度": "很长",
            },
        ],
    )
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [
        (RESOURCE_SHEET, 3, "信息资源格式", "catalog.import_label_unknown"),
        (RESOURCE_SHEET, 3, "共享类型", "catalog.import_label_unknown"),
        (RESOURCE_SHEET, 4, "信息资源分类", "catalog.import_label_unknown"),
        (RESOURCE_SHEET, 4, "更新周期", "catalog.import_cell_required"),
        (RESOURCE_SHEET, 4, "安全级别", "catalog.import_label_unknown"),
        (ITEM_SHEET, 8, "数据类型", "catalog.import_label_unknown"),
        (ITEM_SHEET, 8, "是否主体标识", "catalog.import_bool_invalid"),
        (ITEM_SHEET, 9, "数据长度", "catalog.import_number_invalid"),
    ]
    share = err.problems[1]
    assert share.message == "“部分共享”不是有效的共享类型，可填：无条件共享、有条件共享、不予共享。"


def test_rule_violations_point_at_their_row_and_column(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    content = xlsx(
        [
            company_row(),
            # Art. 25(1): conditional sharing needs a legal basis; Art. 24: and its conditions.
            company_row("企业年报信息", 共享类型="有条件共享"),
            person_row(),
        ],
        [
            *company_items(),
            *company_items("企业年报信息"),
            {"信息资源名称": "户籍人口基本信息", "信息项名称": "姓名", "数据类型": "C"},
            {
                "信息资源名称": "户籍人口基本信息",
                "信息项名称": "姓名",
                "数据类型": "C",
                "数据长度": 20,
            },
        ],
    )
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [
        (RESOURCE_SHEET, 3, "共享条件", "catalog.share_conditions_required"),
        (RESOURCE_SHEET, 3, "法律依据", "catalog.share_legal_basis_required"),
        # Art. 16: natural persons are keyed by the ID number.
        (RESOURCE_SHEET, 4, "信息资源名称", "catalog.person_id_number_required"),
        (ITEM_SHEET, 6, "数据长度", "catalog.item_length_required"),
        (ITEM_SHEET, 7, "信息项名称", "catalog.item_name_duplicate"),
    ]
    legal = err.problems[1]
    assert "第二十五条" in legal.message  # the rules' own message


def test_a_row_with_an_unknown_label_still_gets_its_rule_checks(session, world) -> None:  # type: ignore[no-untyped-def]
    # A row whose security level label is unknown was never checked against the regulation:
    # the department fixed the label, re-imported, and only then learnt of Art. 24 and 25.
    officer = world.actor(session, "officer")
    content = xlsx(
        [person_row(安全级别="绝密", 共享类型="有条件共享", 法律依据=None)],
        [
            *person_items(),
            {"信息资源名称": "户籍人口基本信息", "信息项名称": "照片", "数据类型": "图片"},
            {"信息资源名称": "户籍人口基本信息", "信息项名称": "住址", "数据类型": "C"},
        ],
    )
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [
        (RESOURCE_SHEET, 2, "共享类型", "catalog.base_items_must_share"),
        (RESOURCE_SHEET, 2, "共享条件", "catalog.share_conditions_required"),
        (RESOURCE_SHEET, 2, "法律依据", "catalog.open_legal_basis_required"),
        (RESOURCE_SHEET, 2, "法律依据", "catalog.share_legal_basis_required"),
        (RESOURCE_SHEET, 2, "安全级别", "catalog.import_label_unknown"),
        (ITEM_SHEET, 5, "数据类型", "catalog.import_label_unknown"),
        # Art. 11: the other items are still checked; the unreadable one is not guessed at.
        (ITEM_SHEET, 6, "数据长度", "catalog.item_length_required"),
    ]


def test_a_rule_that_reads_an_unreadable_cell_is_left_out(session, world) -> None:  # type: ignore[no-untyped-def]
    # The share type is unknown: whether sharing needs a legal basis or conditions is unknown
    # too, so that is not reported; opening's need of one, and the schema's limits on other
    # cells, still are.
    officer = world.actor(session, "officer")
    content = xlsx(
        [person_row(共享类型="部分共享", 法律依据=None, 信息资源摘要="摘" * 4001)],
        person_items(),
    )
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [
        (RESOURCE_SHEET, 2, "信息资源摘要", "catalog.import_value_invalid"),
        (RESOURCE_SHEET, 2, "共享类型", "catalog.import_label_unknown"),
        (RESOURCE_SHEET, 2, "法律依据", "catalog.open_legal_basis_required"),
    ]


def test_items_must_name_a_resource_of_the_file(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    content = xlsx(
        [person_row()],
        [
            *person_items(),
            {"信息资源名称": "不存在的资源", "信息项名称": "字段", "数据类型": "C", "数据长度": 1},
        ],
    )
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [
        (ITEM_SHEET, 5, "信息资源名称", "catalog.import_item_resource_unknown")
    ]


def test_codes_departments_names_and_related_codes(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, officer2 = world.actor(session, "officer"), world.actor(session, "officer2")
    mine = service.create_resource(session, officer, world.police, person_resource("已有资源"))
    theirs = service.create_resource(session, officer2, world.market, company_resource())
    content = xlsx(
        [
            person_row("甲资源", 信息资源代码="101001000/999999"),
            person_row("乙资源", 信息资源代码=theirs.code),  # another department's resource
            person_row("丙资源", 信息资源提供方代码="500000-026"),
            person_row("丁资源"),
            person_row("丁资源"),
            person_row("已有资源"),  # a new row cannot take an existing resource's name
            person_row("戊资源", 关联资源代码=f"{theirs.code}；999/000001, {mine.code}"),
            person_row("己资源", 信息资源代码=mine.code, 关联资源代码=mine.code),
        ],
        [
            *person_items("甲资源"),
            *person_items("乙资源"),
            *person_items("丙资源"),
            *person_items("丁资源"),
            *person_items("已有资源"),
            *person_items("戊资源"),
            *person_items("己资源"),
        ],
    )
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [
        (RESOURCE_SHEET, 2, "信息资源代码", "catalog.import_code_unknown"),
        (RESOURCE_SHEET, 3, "信息资源代码", "catalog.import_code_unknown"),
        (RESOURCE_SHEET, 4, "信息资源提供方代码", "catalog.import_wrong_department"),
        (RESOURCE_SHEET, 6, "信息资源名称", "catalog.import_name_duplicate"),
        (RESOURCE_SHEET, 7, "信息资源名称", "catalog.import_name_taken"),
        (RESOURCE_SHEET, 8, "关联资源代码", "catalog.import_related_code_unknown"),
        (RESOURCE_SHEET, 9, "关联资源代码", "catalog.import_related_code_self"),
    ]
    assert "999/000001" in err.problems[5].message
    assert theirs.code not in err.problems[5].message  # any department's resource may be related
    assert "第 5 行" in err.problems[3].message


def test_dates_booleans_and_related_code_separators(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    first = service.create_resource(session, officer, world.police, person_resource("甲资源"))
    second = service.create_resource(session, officer, world.police, person_resource("乙资源"))
    rows = [
        company_row(
            "日期一", 发布日期=date(2024, 3, 5), 关联资源代码=f"{second.code};{first.code}"
        ),
        company_row("日期二", 发布日期="2024-03-05", 关联资源代码=f"{first.code}，{second.code}"),
        company_row("日期三", 发布日期="2024/3/5", 关联资源代码=f"{first.code}；{first.code}"),
        company_row("日期四", 发布日期="2024年3月5日"),
    ]
    flags = ["是", "TRUE", "1", "y"]
    items = []
    for row, flag in zip(rows, flags, strict=True):
        key, name = company_items(row["信息资源名称"])
        key["是否主体标识"] = flag
        items += [key, name]
    result = import_catalog(session, officer, world.police, xlsx(rows, items))
    stored = [service.get_resource_by_code(session, officer, c) for c in result.codes]
    assert {r.published_on for r in stored} == {date(2024, 3, 5)}
    assert [r.related_codes for r in stored] == [
        sorted([first.code, second.code]),
        sorted([first.code, second.code]),
        [first.code],
        [],
    ]
    assert all(r.items[0].is_subject_key and not r.items[1].is_subject_key for r in stored)

    bad = xlsx([company_row("日期五", 发布日期="2024-02-30")], company_items("日期五"))
    err = rejected(session, officer, world.police, bad)
    assert where(err.problems) == [(RESOURCE_SHEET, 2, "发布日期", "catalog.import_date_invalid")]


def test_schema_limits_are_reported_on_their_cell(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    content = xlsx(
        [company_row("甲"), company_row("乙资源")],  # a name has at least 2 characters
        [
            *company_items("甲"),
            *company_items("乙资源")[:1],
            {"信息资源名称": "乙资源", "信息项名称": "备注", "数据类型": "C", "数据长度": 70000},
        ],
    )
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [
        (RESOURCE_SHEET, 2, "信息资源名称", "catalog.import_value_invalid"),
        (ITEM_SHEET, 5, "数据长度", "catalog.import_value_invalid"),
    ]
    assert err.problems[1].message == "数据长度不能大于 65535。"


def test_blank_rows_are_skipped_and_rows_keep_the_spreadsheets_numbers(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    content = xlsx(
        [person_row(), {}, {}, person_row("乙资源", 开放类型="全部开放")],
        [*person_items(), {}, *person_items("乙资源")],
    )
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [(RESOURCE_SHEET, 5, "开放类型", "catalog.import_label_unknown")]


def test_every_problem_is_reported_nothing_is_stored_and_the_report_is_capped(
    session, world, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    service.create_resource(session, officer, world.police, person_resource("已有资源"))
    rows = [person_row(f"资源{n:02d}") for n in range(10)]
    rows[3]["共享类型"] = "?"
    rows[7]["更新周期"] = "?"
    items = [item for row in rows for item in person_items(row["信息资源名称"])]
    content = xlsx(rows, items)
    err = rejected(session, officer, world.police, content)
    assert [p.row for p in err.problems] == [5, 9]  # good rows are not stored either
    assert err.more == 0 and err.detail["more"] == 0
    assert "2 处问题" in err.message

    monkeypatch.setattr(columns, "MAX_PROBLEMS", 1)
    err = rejected(session, officer, world.police, content)
    assert len(err.problems) == 1 and err.more == 1 and err.detail["more"] == 1
    assert "另有 1 处未列出" in err.message


def test_permission_and_scope(session, world) -> None:  # type: ignore[no-untyped-def]
    content = xlsx([person_row()], person_items())
    with pytest.raises(NotFound):  # another department's officer does not see the list
        import_catalog(session, world.actor(session, "officer2"), world.police, content)
    with pytest.raises(PermissionDenied) as err:  # the head sees it but does not keep it
        import_catalog(session, world.actor(session, "head"), world.police, content)
    assert err.value.code == "catalog.cannot_edit_list"
    with pytest.raises(PermissionDenied):  # an auditor neither
        import_catalog(session, world.actor(session, "auditor"), world.police, content)
    with pytest.raises(NotFound):
        import_catalog(session, world.actor(session, "yz_officer"), world.jb_police, content)


# --- round trips ------------------------------------------------------------------------------


def _varied_list(session: Session, world: Any) -> list[Resource]:
    """Resources using every column: related codes, dates, item-level types, usage, subject."""
    officer = world.actor(session, "officer")
    a = service.create_resource(session, officer, world.police, person_resource())
    b = service.create_resource(
        session,
        officer,
        world.police,
        company_resource(
            "企业年报信息",
            share_type="conditional",
            share_conditions="仅限税务、市场监管部门",
            open_type="conditional",
            open_conditions="实名申请",
            legal_basis="《企业信息公示暂行条例》",
            published_on=date(2023, 12, 1),
            related_codes=[a.code],
            usage_requirements="不得用于商业目的",
            abstract="=SUM(A1:A2) 看起来像公式的摘要\n第二行",
            items=[
                *company_resource().items,
                InfoItemIn(name="股东信息", data_type="M", share_type="none", open_type="none"),
            ],
        ),
    )
    c = service.create_resource(
        session,
        officer,
        world.police,
        company_resource(
            "扫描档案", format="electronic_file", format_subtype="", items=[], subject_kind="other"
        ),
    )
    return [a, b, c]


def _snapshot(session: Session, department_id: int) -> list[tuple[Any, ...]]:
    resources = session.scalars(
        select(Resource)
        .where(Resource.department_id == department_id)
        .order_by(Resource.code)
        .execution_options(populate_existing=True)
    ).all()
    out = []
    for r in resources:
        items = session.execute(
            select(InfoItem.__table__)
            .where(InfoItem.resource_id == r.id)
            .order_by(InfoItem.position)
        ).all()
        classification = session.get(Classification, r.classification_id)
        assert classification is not None
        out.append(
            (
                r.code,
                classification.code,  # not the id: PostgreSQL's sequences ignore rollbacks
                r.name,
                r.abstract,
                r.format,
                r.format_subtype,
                r.share_type,
                r.share_conditions,
                r.share_method,
                r.open_type,
                r.open_conditions,
                r.legal_basis,
                r.update_cycle,
                r.published_on,
                r.related_codes,
                r.security_level,
                r.usage_requirements,
                r.subject_kind,
                r.state,
                r.withdrawn,
                r.updated_at,
                [tuple(i)[2:] for i in items],  # without the ids
            )
        )
    return out


def test_export_then_import_changes_nothing(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    resources = _varied_list(session, world)
    # One of them published, one under review: unchanged rows leave their states alone.
    review.submit(session, officer, world.police)
    entry = session.scalar(select(ReviewEntry).where(ReviewEntry.resource_id == resources[0].id))
    assert entry is not None
    review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    resources.append(
        service.create_resource(session, officer, world.police, company_resource("新草稿"))
    )
    session.flush()
    states = {r.code: r.state for r in resources}
    assert set(states.values()) == {"published", "submitted", "draft"}

    before = _snapshot(session, world.police)
    events = counts(session)[3]
    exported = export_list(session, officer, world.police, "xlsx")
    result = import_catalog(session, officer, world.police, exported)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 4)
    assert result.codes == sorted(states)
    assert _snapshot(session, world.police) == before
    assert counts(session)[3] == events  # nothing changed, nothing audited
    assert read_sheets(export_list(session, officer, world.police, "xlsx")) == read_sheets(exported)


def test_export_change_one_cell_import_exactly_that_changes(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    resources = _varied_list(session, world)
    target = resources[1]
    before = {row[0]: row for row in _snapshot(session, world.police)}

    wb = load_workbook(io.BytesIO(export_list(session, officer, world.police, "xlsx")))
    sheet = wb[RESOURCE_SHEET]
    headers = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[headers.index("信息资源代码")].value == target.code:
            row[headers.index("共享方式")].value = "库表交换"
    buffer = io.BytesIO()
    wb.save(buffer)

    result = import_catalog(session, officer, world.police, buffer.getvalue())
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    after = {row[0]: row for row in _snapshot(session, world.police)}
    assert after.keys() == before.keys()
    for code, row in before.items():
        if code != target.code:
            assert after[code] == row
    changed = [
        n
        for n, (old, new) in enumerate(zip(before[target.code], after[target.code], strict=True))
        if old != new
    ]
    assert changed == [8, 20]  # share_method, and updated_at
    assert after[target.code][8] == "库表交换"
    event = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert event is not None and event.action == "catalog.list.import"
    assert "修改1条" in event.summary


def test_changed_rows_of_resources_under_review_are_refused(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    res = service.create_resource(session, officer, world.police, person_resource())
    review.submit(session, officer, world.police)
    content = export_list(session, officer, world.police, "xlsx")
    assert import_catalog(session, officer, world.police, content).unchanged == 1
    wb = load_workbook(io.BytesIO(content))
    wb[RESOURCE_SHEET]["F2"] = "新的摘要"
    buffer = io.BytesIO()
    wb.save(buffer)
    err = rejected(session, officer, world.police, buffer.getvalue())
    assert where(err.problems) == [
        (RESOURCE_SHEET, 2, "信息资源代码", "catalog.import_resource_locked")
    ]
    assert res.code in err.problems[0].message


@pytest.mark.parametrize("threshold", [1, 10_000])
def test_the_set_based_path_stores_what_the_services_store(
    session, world, monkeypatch, threshold: int
) -> None:  # type: ignore[no-untyped-def]
    # Both paths, each inside a savepoint that is rolled back, from the same starting point.
    officer = world.actor(session, "officer")
    existing = _varied_list(session, world)
    base = export_list(session, officer, world.police, "xlsx")
    wb = load_workbook(io.BytesIO(base))
    ws = wb[RESOURCE_SHEET]
    headers = [c.value for c in ws[1]]
    ws.cell(row=3, column=headers.index("更新周期") + 1, value="每月")  # an update
    new_rows = [
        person_row("新甲"),
        company_row("新乙", 信息资源分类="主题/营商环境", 关联资源代码=existing[0].code),
        person_row("新丙", 信息资源分类="基础/人口/流动人口"),
        person_row("新丁"),
    ]
    for row in new_rows:
        ws.append([row.get(h) for h in headers])
    items_ws = wb[ITEM_SHEET]
    item_headers = [c.value for c in items_ws[1]]
    for item in [
        *person_items("新甲"),
        *company_items("新乙"),
        *person_items("新丙"),
        *person_items("新丁"),
    ]:
        items_ws.append([item.get(h) for h in item_headers])
    buffer = io.BytesIO()
    wb.save(buffer)
    content = buffer.getvalue()

    def run(bulk: bool) -> tuple[Any, ...]:
        monkeypatch.setattr(storing, "BULK_THRESHOLD", 1 if bulk else 10_000)
        savepoint = session.begin_nested()
        try:
            result = import_catalog(session, officer, world.police, content)
            session.expire_all()
            rows = [row[:20] + row[21:] for row in _snapshot(session, world.police)]  # no times
            classes = session.execute(
                select(Classification.code, Classification.path, Classification.next_seq).order_by(
                    Classification.code
                )
            ).all()
            event = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
            assert event is not None
            return result, rows, classes, (event.action, event.summary, event.digest)
        finally:
            savepoint.rollback()
            session.expire_all()  # rows written by Core statements: the ORM's copies are stale

    bulk, services = run(bulk=threshold == 1), run(bulk=threshold != 1)
    for part_bulk, part_services in zip(bulk, services, strict=True):
        if isinstance(part_bulk, list):
            for a, b in zip(part_bulk, part_services, strict=True):
                assert a == b
        assert part_bulk == part_services
    result = bulk[0]
    assert (result.created, result.updated, result.unchanged) == (4, 1, 2)
    assert result.codes[3:] == [
        "101001000/000002",
        "201000000/000001",
        "101002000/000001",
        "101001000/000003",
    ]


# --- exporting --------------------------------------------------------------------------------


def test_export_formats(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    resources = _varied_list(session, world)

    sheets = read_sheets(export_list(session, officer, world.police, "xlsx"))
    assert sheets[RESOURCE_SHEET][0] == list(RESOURCE_HEADERS)
    assert sheets[ITEM_SHEET][0] == list(ITEM_HEADERS)
    by_name = {
        row[1]: dict(zip(RESOURCE_HEADERS, row, strict=True)) for row in sheets[RESOURCE_SHEET][1:]
    }
    report = by_name["企业年报信息"]
    assert report["信息资源分类"] == "部门/市场监管/登记注册"
    assert report["信息资源格式"] == "电子表格/xlsx"
    assert report["共享类型"] == "有条件共享"
    assert report["发布日期"] == date(2023, 12, 1)
    assert report["关联资源代码"] == resources[0].code
    assert report["信息资源提供方"] == "市公安局"
    assert report["信息资源提供方代码"] == "500000-007"
    assert report["数据主体"] == "法人"
    assert report["信息资源摘要"].startswith("=SUM")  # text, not a formula
    items = [row for row in sheets[ITEM_SHEET][1:] if row[0] == "企业年报信息"]
    assert items[-1] == ["企业年报信息", "股东信息", "M", "", "不予共享", "不予开放", "否"]
    assert items[0][4:] == ["", "", "是"]  # inherits the resource's types

    archive = zipfile.ZipFile(io.BytesIO(export_list(session, officer, world.police, "csv")))
    assert sorted(archive.namelist()) == ["items.csv", "resources.csv"]
    raw = archive.read("resources.csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so that Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == list(RESOURCE_HEADERS)
    csv_report = next(
        dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[1] == "企业年报信息"
    )
    assert csv_report["信息资源摘要"].startswith("'=SUM")  # not run as a formula
    assert csv_report["发布日期"] == "2023-12-01"
    item_rows = list(csv.reader(io.StringIO(archive.read("items.csv").decode("utf-8-sig"))))
    assert len(item_rows) == 1 + 3 + 4

    doc = json.loads(export_list(session, officer, world.police, "json"))
    assert doc["kind"] == "list" and doc["department_code"] == "500000-007"
    first = next(r for r in doc["resources"] if r["name"] == "企业年报信息")
    assert first["share_type"] == "conditional" and first["state"] == "draft"
    assert first["items"][-1]["share_type"] == "none"
    assert first["items"][0]["share_type"] is None

    with pytest.raises(InvalidInput) as err:
        export_list(session, officer, world.police, "pdf")
    assert err.value.code == "catalog.export_format_unknown"


def test_export_published_versions_and_import_them_back(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    with pytest.raises(NotFound):
        export_published(session, READER, "xlsx")
    resources = _varied_list(session, world)
    officer2 = world.actor(session, "officer2")
    other = service.create_resource(session, officer2, world.market, company_resource())
    for dept, actor in ((world.police, officer), (world.market, officer2)):
        review.submit(session, actor, dept)
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)

    everything = read_sheets(export_published(session, READER, "xlsx"))
    assert sorted(row[2] for row in everything[RESOURCE_SHEET][1:]) == sorted(
        [r.code for r in resources] + [other.code]
    )
    police_only = export_published(
        session, READER, "xlsx", number=1, flt=CatalogFilter(department_id=world.police)
    )
    # The published version of a department reads as its list does.
    assert read_sheets(police_only) == read_sheets(
        export_list(session, officer, world.police, "xlsx")
    )
    result = import_catalog(session, officer, world.police, police_only)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert {r.state for r in resources} == {"published"}
    doc = json.loads(export_published(session, READER, "json", number=1))
    assert doc["kind"] == "published" and doc["version"] == 1
    assert {r["department_code"] for r in doc["resources"]} == {"500000-007", "500000-026"}
    assert zipfile.ZipFile(io.BytesIO(export_published(session, READER, "csv"))).namelist()


def test_withdrawn_resources_are_not_exported(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    keep, drop = _varied_list(session, world)[:2]
    review.submit(session, officer, world.police)
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    service.withdraw_resource(session, officer, drop.id)
    sheets = read_sheets(export_list(session, officer, world.police, "xlsx"))
    assert drop.code not in [row[2] for row in sheets[RESOURCE_SHEET][1:]]
    assert keep.code in [row[2] for row in sheets[RESOURCE_SHEET][1:]]

    # Once the withdrawal is published the resource is retired: a row cannot bring it back.
    review.submit(session, officer, world.police)
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    assert drop.state == ResourceState.RETIRED
    row = company_row("企业年报信息", 信息资源代码=drop.code)
    err = rejected(session, officer, world.police, xlsx([row], company_items("企业年报信息")))
    assert where(err.problems) == [
        (RESOURCE_SHEET, 2, "信息资源代码", "catalog.import_resource_locked")
    ]
    assert "已从目录中撤销" in err.problems[0].message


def test_problems_report(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    err = rejected(
        session, officer, world.police, xlsx([person_row(共享类型="部分共享")], person_items())
    )
    problems = [*err.problems, ImportProblem(ITEM_SHEET, 3, "信息项名称", "x.y", "=HYPERLINK(1)")]
    sheets = read_sheets(problems_report_xlsx(problems))
    assert sheets["导入问题"][0] == ["工作表", "行号", "列", "问题代码", "问题说明"]
    assert sheets["导入问题"][1][:4] == [
        RESOURCE_SHEET,
        2,
        "共享类型",
        "catalog.import_label_unknown",
    ]
    assert "部分共享" in sheets["导入问题"][1][4]
    assert sheets["导入问题"][2][4] == "=HYPERLINK(1)"  # text, never a formula


def test_department_codes_in_the_file_are_checked_against_the_department(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    code = session.scalar(select(Department.code).where(Department.id == world.police))
    result = import_catalog(
        session, officer, world.police, xlsx([person_row(信息资源提供方代码=code)], person_items())
    )
    assert result.created == 1


def test_data_without_a_header_duplicate_codes_and_too_many_rows(
    session, world, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    existing = service.create_resource(session, officer, world.police, person_resource("甲资源"))
    headers = [*RESOURCE_HEADERS, ""]
    rows = [
        person_row("甲资源", 信息资源代码=existing.code),
        person_row("乙资源", 信息资源代码=existing.code),
    ]
    rows[1][""] = "备注写在了没有列名的列"
    content = xlsx(
        rows, [*person_items("甲资源"), *person_items("乙资源")], resource_headers=headers
    )
    err = rejected(session, officer, world.police, content)
    letter = "T"  # the 20th column, right of the 19 known ones
    assert where(err.problems) == [(RESOURCE_SHEET, 1, letter, "catalog.import_header_blank")]

    content = xlsx(
        [*rows[:1], {**rows[1], "": None}], [*person_items("甲资源"), *person_items("乙资源")]
    )
    err = rejected(session, officer, world.police, content)
    assert where(err.problems) == [
        (RESOURCE_SHEET, 3, "信息资源代码", "catalog.import_code_duplicate")
    ]

    monkeypatch.setattr(reading, "MAX_RESOURCE_ROWS", 1)
    with pytest.raises(InvalidInput) as too_many:
        import_catalog(session, officer, world.police, content)
    assert (too_many.value.code, too_many.value.status) == ("catalog.import_too_many_rows", 413)
