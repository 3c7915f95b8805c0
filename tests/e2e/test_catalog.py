"""The catalog in the browser (Ch. 2): a district list goes through the district bureau to the
city, which returns one entry with a reason and publishes the rest (Art. 12); search finds a
resource by a Chinese word of its abstract; an import with a bad row stores nothing (principle 4).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from govdata.catalog import review, service
from govdata.catalog.models import Resource, ReviewEntry
from govdata.core.actor import Actor
from govdata.org.models import Person
from govdata.org.service import role_grants
from tests.catalog.factories import company_resource
from tests.e2e.helpers import LiveServer, login_ok

NAV = 'nav[aria-label="主导航"]'


def _actor(session: Session, username: str) -> Actor:
    person = session.scalar(select(Person).where(Person.username == username))
    assert person is not None
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


@pytest.fixture(scope="module")
def db(live_server: LiveServer) -> Iterator[sessionmaker[Session]]:
    yield sessionmaker(bind=live_server.engine, expire_on_commit=False)


def _resource_count(factory: sessionmaker[Session], department_id: int) -> int:
    with factory() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Resource)
                .where(Resource.department_id == department_id)
            )
            or 0
        )


def test_district_list_is_compiled_returned_with_a_reason_and_published(
    page: Page, new_page, live_server: LiveServer, db: sessionmaker[Session]
) -> None:  # type: ignore[no-untyped-def]
    dept = live_server.departments["渝中区公安分局"]
    with db() as session, session.begin():
        officer = _actor(session, "demo.district_officer")
        service.create_resource(session, officer, dept, company_resource("e2e渝中甲资源"))
        service.create_resource(session, officer, dept, company_resource("e2e渝中乙资源"))

    # The district officer submits the list.
    login_ok(page, "demo.district_officer")
    page.locator(NAV).get_by_role("link", name="目录清单").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("渝中区公安分局 · 目录清单")
    expect(page.get_by_test_id("resources")).to_contain_text("e2e渝中甲资源")
    page.get_by_label("说明").fill("e2e首次编制")
    page.get_by_role("button", name="提交清单").click()
    expect(page.get_by_role("status")).to_have_text("清单已提交。")
    expect(page.get_by_test_id("submission-status")).to_have_text("待区县汇总")
    number = re.search(r"/catalog/submissions/(\d+)", page.url).group(1)  # type: ignore[union-attr]

    # The district bureau compiles its region's lists and forwards them.
    district = new_page()
    login_ok(district, "demo.district")
    district.locator(NAV).get_by_role("link", name="目录审核").click()
    pending = district.get_by_test_id("district-pending")
    expect(pending.get_by_role("link", name=f"第 {number} 号")).to_be_visible()
    district.get_by_role("button", name="汇总报送所选清单").click()
    expect(district.get_by_role("status")).to_have_text("已汇总并报送市数据主管部门。")
    # Each compilation has its own page: what was forwarded, what returned (Art. 12 ¶1).
    expect(district.get_by_role("heading", level=1)).to_contain_text("次汇总报送")
    compiled = district.get_by_test_id("compiled-submissions")
    row = compiled.locator("tr").filter(has_text=f"第 {number} 号")
    expect(row).to_contain_text("2 条")  # both entries forwarded
    district.locator(NAV).get_by_role("link", name="目录审核").click()
    expect(pending.get_by_role("link", name=f"第 {number} 号")).to_have_count(0)

    # The city bureau returns one entry with a reason, approves the other and publishes.
    city = new_page()
    login_ok(city, "demo.city")
    city.locator(NAV).get_by_role("link", name="目录审核").click()
    city.get_by_test_id("city-queue").get_by_role("link", name=f"第 {number} 号").click()
    expect(city.get_by_test_id("submission-status")).to_have_text("市级审核中")
    back = city.get_by_test_id("entry").filter(has_text="e2e渝中乙资源")
    keep = city.get_by_test_id("entry").filter(has_text="e2e渝中甲资源")
    back.get_by_role("button", name="退回").click()  # without a reason: refused, in zh-CN
    back = city.get_by_test_id("entry").filter(has_text="e2e渝中乙资源")
    expect(back.get_by_test_id("form-error")).to_have_text("退回时须说明理由。")
    back.get_by_label("审核意见（退回时必填）").fill("更新周期与实际采集频率不符")
    back.get_by_role("button", name="退回").click()
    back = city.get_by_test_id("entry").filter(has_text="e2e渝中乙资源")
    expect(back.get_by_test_id("entry-status")).to_have_text("已退回")
    expect(back.get_by_test_id("entry-reason")).to_contain_text("更新周期与实际采集频率不符")
    keep = city.get_by_test_id("entry").filter(has_text="e2e渝中甲资源")
    keep.get_by_role("button", name="通过").click()
    keep = city.get_by_test_id("entry").filter(has_text="e2e渝中甲资源")
    expect(keep.get_by_test_id("entry-status")).to_have_text("已通过")

    city.goto("/catalog/review")
    city.get_by_role("button", name="发布新版目录").click()
    # The confirmation step says what publishing will do before doing it.
    expect(city.get_by_role("heading", level=1)).to_contain_text("发布政务数据资源目录第")
    expect(city.get_by_test_id("count-added")).to_contain_text("条")
    city.get_by_label("发布说明").fill("e2e发布")
    city.get_by_role("button", name="确认发布").click()
    # Publishing runs in the background; its page follows it until it has ended.
    expect(city.get_by_test_id("publication-state")).to_have_text("已发布", timeout=30_000)
    city.get_by_test_id("publication-result").get_by_role("link").click()
    expect(city.get_by_role("heading", level=1)).to_contain_text("政务数据资源目录第")
    expect(city.locator("main")).to_contain_text("e2e渝中甲资源")

    # The officer sees the returned entry's reason on the list, and the published resource.
    page.goto("/catalog/my")
    row = page.get_by_test_id("resources").locator("tr").filter(has_text="e2e渝中乙资源")
    expect(row).to_contain_text("已退回")
    expect(row.get_by_test_id("returned-reason")).to_contain_text("更新周期与实际采集频率不符")
    expect(
        page.get_by_test_id("resources").locator("tr").filter(has_text="e2e渝中甲资源")
    ).to_contain_text("已发布")
    page.locator(NAV).get_by_role("link", name="政务数据资源目录").click()
    page.get_by_label("提供方部门").select_option(label="渝中区公安分局")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("main table")).to_contain_text("e2e渝中甲资源")
    expect(page.locator("main table")).not_to_contain_text("e2e渝中乙资源")


def test_search_finds_a_resource_by_a_word_of_its_abstract(
    page: Page, live_server: LiveServer, db: sessionmaker[Session]
) -> None:
    dept = live_server.departments["市市场监督管理局"]
    with db() as session, session.begin():
        officer, city = _actor(session, "demo.officer2"), _actor(session, "demo.city")
        res = service.create_resource(
            session,
            officer,
            dept,
            company_resource(
                "e2e特种设备检验信息",
                abstract="全市电梯、锅炉等特种设备的定期检验结论和维保单位。",
            ),
        )
        submission = review.submit(session, officer, dept)
        for entry in session.scalars(
            select(ReviewEntry).where(ReviewEntry.submission_id == submission.id)
        ):
            review.decide(session, city, entry.id, approve=True)
        review.publish(session, city, note="e2e搜索")
        code = res.code

    login_ok(page, "demo.officer")
    page.locator(NAV).get_by_role("link", name="政务数据资源目录").click()
    page.get_by_role("link", name="搜索").click()
    page.get_by_label("关键词").fill("锅炉")
    page.get_by_role("button", name="搜索").click()
    expect(page).to_have_url(re.compile(r"/catalog/search\?q=%E9%94%85%E7%82%89"))
    expect(page.get_by_test_id("search-total")).to_contain_text("找到")
    hit = page.locator("main table").get_by_role("link", name="e2e特种设备检验信息")
    expect(hit).to_be_visible()
    expect(page.get_by_test_id("facet-department_id")).to_contain_text("市市场监督管理局")
    hit.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("e2e特种设备检验信息")
    expect(page.locator("main")).to_contain_text(code)
    expect(page.get_by_test_id("working-link")).to_have_count(0)  # not the officer's department


def _workbook(path: Path) -> None:
    wb = openpyxl.Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "信息资源"
    sheet.append(
        [
            "信息资源分类",
            "信息资源名称",
            "信息资源摘要",
            "信息资源格式",
            "共享类型",
            "开放类型",
            "更新周期",
        ]
    )
    sheet.append(
        [
            "部门/治安/场所",
            "e2e导入娱乐场所信息",
            "娱乐场所备案信息。",
            "电子表格",
            "无条件共享",
            "无条件开放",
            "每月",
        ]
    )
    sheet.append(
        [
            "部门/治安/场所",
            "e2e导入旅馆信息",
            "旅馆业备案信息。",
            "电子表格",
            "随便共享",
            "无条件开放",
            "每月",
        ]
    )
    items = wb.create_sheet("信息项")
    items.append(["信息资源名称", "信息项名称", "数据类型", "数据长度"])
    items.append(["e2e导入娱乐场所信息", "场所名称", "字符型", 100])
    items.append(["e2e导入旅馆信息", "旅馆名称", "字符型", 100])
    wb.save(path)


def test_an_import_with_a_bad_row_stores_nothing_and_shows_the_row(
    page: Page, live_server: LiveServer, db: sessionmaker[Session], tmp_path: Path
) -> None:
    dept = live_server.departments["市公安局"]
    before = _resource_count(db, dept)
    path = tmp_path / "目录清单.xlsx"
    _workbook(path)

    login_ok(page, "demo.officer")
    page.locator(NAV).get_by_role("link", name="目录清单").click()
    page.get_by_role("link", name="批量导入").click()
    page.get_by_label(re.compile("^目录清单文件")).set_input_files(path)
    page.get_by_role("button", name="导入").click()

    expect(page.get_by_test_id("import-rejected")).to_contain_text("未导入任何数据")
    problems = page.get_by_test_id("import-problems")
    expect(problems.locator("tbody tr")).to_have_count(1)  # the other row is valid
    bad = problems.locator("tbody tr").filter(has_text="随便共享")
    expect(bad).to_have_count(1)
    cells = bad.locator("td").all_inner_texts()
    assert cells[0] == "信息资源" and cells[1] == "3", cells  # sheet and row (header is row 1)
    assert "共享类型" in cells[2], cells
    assert _resource_count(db, dept) == before  # the good row was not stored either

    with page.expect_download() as download:
        page.get_by_role("button", name="下载问题清单（Excel）").click()
    report = tmp_path / "report.xlsx"
    download.value.save_as(report)
    rows = list(openpyxl.load_workbook(report).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert any("随便共享" in " ".join(str(c) for c in r if c is not None) for r in rows), rows
