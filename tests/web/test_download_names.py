"""Exports are named after the department (or subject) and the date, e.g.
``市公安局-目录清单-2026-12-05.xlsx``, with an RFC 6266 / RFC 5987 Content-Disposition:
``filename*=UTF-8''…`` and an ASCII ``filename`` fallback (issue 16)."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import unquote

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import review, service
from govdata.catalog.models import ReviewEntry
from govdata.core import calendar
from govdata.web.download import content_disposition, export_name
from tests.aggregation.factories import person_pool_resource
from tests.aggregation.test_pools_http import BAD
from tests.catalog.test_pages import person_resource
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


# RFC 6266: attachment; filename="<quoted ASCII>"; filename*=UTF-8''<RFC 5987 attr-chars>
DISPOSITION = re.compile(
    r"""attachment; filename="([\x20-\x7e]+)"; filename\*=UTF-8''([A-Za-z0-9!#$&+.^_`|~%-]+)"""
)


def _names(header: str) -> tuple[str, str]:
    """(the UTF-8 name, the ASCII fallback), the header checked against the grammar."""
    match = DISPOSITION.fullmatch(header)
    assert match, header
    fallback, encoded = match.groups()
    assert '"' not in fallback and "\\" not in fallback
    return unquote(encoded, errors="strict"), fallback


def test_export_name_has_the_parts_and_the_date() -> None:
    day = date(2026, 12, 5)
    assert (
        export_name("市公安局", "目录清单", ext="xlsx", on=day)
        == "市公安局-目录清单-2026-12-05.xlsx"
    )
    assert export_name("审计日志", None, "", ext="csv", on=day) == "审计日志-2026-12-05.csv"
    # path separators and quotes of a department's name cannot make a path or break the header
    assert export_name('a/b\\c"d', ext="json", on=day) == "a_b_c_d-2026-12-05.json"
    assert export_name("x", ext="csv").endswith(f"-{calendar.today().isoformat()}.csv")
    # a period in the name already dates it
    period = export_name("共享调用记录", "2026-11-01至2026-11-30", ext="xlsx", dated=False)
    assert period == "共享调用记录-2026-11-01至2026-11-30.xlsx"


def test_content_disposition_is_rfc_5987_with_an_ascii_fallback() -> None:
    header = content_disposition(
        "市公安局-目录清单-2026-12-05.xlsx", fallback="catalog-list-500000-007-2026-12-05.xlsx"
    )
    assert header.startswith("attachment; ")
    assert "filename*=UTF-8''%E5%B8%82" in header
    assert _names(header) == (
        "市公安局-目录清单-2026-12-05.xlsx",
        "catalog-list-500000-007-2026-12-05.xlsx",
    )
    # without a fallback: the ASCII parts of the name, never a non-ASCII byte
    plain = content_disposition("市公安局 ;名单.csv")
    assert _names(plain)[1] == "download.csv" and "%20%3B" in plain
    assert _names(content_disposition("审计日志-2026-12-05.csv.zip"))[1] == "2026-12-05.csv.zip"


def _publish_one(session: Session, world: World) -> None:
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    res = service.create_resource(session, officer, world.police, person_resource())
    review.submit(session, officer, world.police)
    (entry,) = session.scalars(select(ReviewEntry).where(ReviewEntry.resource_id == res.id))
    review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    session.commit()


def test_catalog_exports_are_named_after_department_and_date(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    _publish_one(session, world)
    today = calendar.today().isoformat()
    c = sign_in("officer")
    r = c.get(f"/catalog/departments/{world.police}/export.xlsx")
    assert _names(r.headers["content-disposition"]) == (
        f"市公安局-目录清单-{today}.xlsx",
        f"catalog-list-500000-007-{today}.xlsx",
    )
    r = c.get(f"/catalog/departments/{world.police}/export.csv")
    assert _names(r.headers["content-disposition"])[0] == f"市公安局-目录清单-{today}.csv.zip"
    r = c.get("/catalog/export.json")
    utf8, fallback = _names(r.headers["content-disposition"])
    assert utf8.startswith("政务数据资源目录-第") and utf8.endswith(f"版-{today}.json")
    assert fallback.startswith("catalog-v")


def test_load_report_is_named_after_department_and_pool(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    resource = person_pool_resource(
        session, world, world.police, "户籍人口命名测试", [("姓名", "C", 20)]
    )
    session.commit()
    c = sign_in("officer")
    r = c.post(
        "/aggregation/pools/loads",
        data={"resource": resource.code, "policy": "quarantine", "mode": "replace"},
        files={"file": ("people.csv", BAD, "text/csv")},
        headers=HTML,
        follow_redirects=True,
    )
    assert r.status_code == 200
    report = c.get(str(r.url) + "/report.xlsx")
    utf8, fallback = _names(report.headers["content-disposition"])
    load_id = str(r.url).rstrip("/").rsplit("/", 1)[1]
    today = calendar.today().isoformat()
    assert utf8.startswith("市公安局-") and utf8.endswith(f"-加载报告{load_id}-{today}.xlsx")
    assert fallback == f"load-{load_id}-report-{today}.xlsx"
    api = c.get(f"/api/v1/aggregation/loads/{load_id}/report.xlsx")
    assert api.headers["content-disposition"] == report.headers["content-disposition"]


def test_demand_and_responsibility_lists_export_named_and_excel_safe(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    import io

    from openpyxl import load_workbook  # type: ignore[import-untyped]

    from govdata.catalog import demands
    from govdata.catalog.schemas import DemandIn

    officer = world.actor(session, "officer")
    demands.create_demand(
        session,
        officer,
        world.police,
        DemandIn(
            title='=HYPERLINK("http://x")',  # Art. 39: never a live formula in Excel
            purpose="户籍核验",
            provider_department_id=world.market,
        ),
    )
    _publish_one(session, world)
    today = calendar.today().isoformat()
    c = sign_in("officer")
    page = c.get(f"/catalog/departments/{world.police}/demands", headers=HTML).text
    assert f'href="/catalog/departments/{world.police}/demands/export.xlsx"' in page
    r = c.get(f"/catalog/departments/{world.police}/demands/export.xlsx")
    assert r.status_code == 200, r.text
    assert _names(r.headers["content-disposition"]) == (
        f"市公安局-需求清单-{today}.xlsx",
        f"demand-list-500000-007-{today}.xlsx",
    )
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows())
    assert [cell.value for cell in rows[0]][:6] == [
        "需求名称",
        "需求描述",
        "所需信息项",
        "用途（履职依据）",
        "希望的提供方",
        "状态",
    ]
    title = rows[1][0]
    assert title.value == '=HYPERLINK("http://x")' and title.data_type == "s"
    assert rows[1][4].value == "市市场监督管理局"

    page = c.get(f"/catalog/responsibility/{world.police}", headers=HTML).text
    assert f'href="/catalog/responsibility/{world.police}/export.xlsx"' in page
    r = c.get(f"/catalog/responsibility/{world.police}/export.xlsx")
    utf8, fallback = _names(r.headers["content-disposition"])
    assert utf8.startswith("市公安局-责任清单-第") and utf8.endswith(f"版-{today}.xlsx")
    assert fallback.startswith("responsibility-list-500000-007-v")
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.values)
    assert values[0][:3] == ("资源代码", "资源名称", "更新周期") and len(values) == 2
    assert values[1][3] in ("无条件共享", "有条件共享", "不予共享")  # a label, not a code


def test_list_exports_keep_their_pages_scope(sign_in, world: World) -> None:  # type: ignore[no-untyped-def]
    other = sign_in("officer2")  # 市市场监督管理局
    r = other.get(f"/catalog/departments/{world.police}/demands/export.xlsx")
    assert r.status_code == 404
    assert (
        sign_in("citizen").get(f"/catalog/responsibility/{world.police}/export.xlsx").status_code
        == 403
    )


def test_usage_export_is_named_after_its_period(sign_in) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer").get("/sharing/usage/export.xlsx?since=2026-11-01&until=2026-11-30")
    assert r.status_code == 200, r.text
    assert _names(r.headers["content-disposition"]) == (
        "共享调用记录-2026-11-01至2026-11-30.xlsx",
        "sharing-usage-2026-11-01-2026-11-30.xlsx",
    )
