"""A load report never hands a live formula to the person who opens it (Art. 39; CSV/formula
injection): values read from a department's file appear in 原值 and in the quarantined rows."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from govdata.catalog.models import Resource
from govdata.core.ids import make_id_number
from tests.aggregation.factories import person_pool_resource
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}
ATTACKS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-1+1", "＝1+1"]
UPPER = {a.upper() for a in ATTACKS}  # the ID number's cleaning upper-cases it in 原值


@pytest.fixture
def resource(session: Session, world: World) -> Resource:
    r = person_pool_resource(session, world, world.police, "公式注入测试", [("姓名", "C", 40)])
    session.commit()
    return r


def _attack_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["公民身份号码", "姓名"])
    writer.writerow([make_id_number("500103", date(1990, 1, 1), 1), "张三"])
    for attack in ATTACKS:
        writer.writerow([attack, attack])  # a bad ID number: a problem (原值) and quarantined
    return out.getvalue().encode()


def test_every_cell_of_the_report_is_text_not_a_formula(sign_in, resource: Resource) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    r = c.post(
        "/aggregation/pools/loads",
        data={"resource": resource.code, "policy": "quarantine", "mode": "replace"},
        files={"file": ("=cmd|calc!A0.csv", _attack_csv(), "text/csv")},
        headers=HTML,
        follow_redirects=True,
    )
    assert r.status_code == 200 and "已完成" in r.text, r.text
    load_id = str(r.url).rstrip("/").rsplit("/", 1)[1]
    for url in (
        f"/aggregation/loads/{load_id}/report.xlsx",
        f"/api/v1/aggregation/loads/{load_id}/report.xlsx",
    ):
        report = c.get(url)
        assert report.status_code == 200, url
        workbook = load_workbook(io.BytesIO(report.content))
        seen = set()
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                    if isinstance(cell.value, str) and cell.value.upper() in UPPER:
                        assert cell.quotePrefix, (sheet.title, cell.coordinate)
                        seen.add((sheet.title, cell.value.upper()))
        # The values are there, as text: in 原值 and in the quarantined rows.
        assert {v for s, v in seen if s == "问题清单"} == UPPER
        assert {v for s, v in seen if s == "隔离数据"} == UPPER
        summary = {row[0].value: row[1] for row in workbook["概况"].iter_rows()}
        assert summary["文件"].value == "=cmd|calc!A0.csv" and summary["文件"].data_type == "s"
