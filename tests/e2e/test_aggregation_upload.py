"""Browser: a department officer uploads a file into a pool, follows the load to its end and
sees the report; a file with a bad row under the reject policy changes nothing (Art. 17 ¶1)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from govdata.catalog.models import Resource
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.ids import make_id_number
from govdata.org.models import Person, RoleAssignment
from tests.aggregation.factories import person_pool_resource
from tests.e2e.helpers import LiveServer, login_ok

CITY = Actor(person_id=None, name="e2e", grants=(RoleGrant(Role.CITY_BUREAU_ADMIN),))


class _World:
    """Just what factories.publish needs: the city bureau actor."""

    def actor(self, session: object, username: str) -> Actor:
        return CITY


@pytest.fixture(scope="module")
def resource_code(live_server: LiveServer) -> str:
    factory = sessionmaker(bind=live_server.engine, expire_on_commit=False)
    with factory() as session, session.begin():
        officer = session.scalars(select(Person).where(Person.username == "demo.officer")).one()
        dept = session.scalars(
            select(RoleAssignment.department_id).where(RoleAssignment.person_id == officer.id)
        ).first()
        assert dept is not None
        existing = session.scalars(
            select(Resource).where(Resource.name == "户籍人口（浏览器测试）")
        ).first()
        if existing is not None:
            return existing.code
        res = person_pool_resource(
            session,
            _World(),
            dept,
            "户籍人口（浏览器测试）",
            [("姓名", "C", 20), ("出生日期", "D", None)],  # type: ignore[arg-type]
        )
        return res.code


def _csv(path: Path, n: int, bad: bool = False) -> Path:
    with path.open("w", encoding="utf-8") as f:
        f.write("公民身份号码,姓名,出生日期\n")
        for i in range(n):
            born = date(1970, 1, 1) + timedelta(days=i // 1000)
            f.write(f"{make_id_number('500103', born, i % 1000)},居民{i},{born.isoformat()}\n")
        if bad:
            f.write("500103197001011234,坏号码,1970-01-01\n")
    return path


def test_upload_runs_to_the_end_with_its_report(
    page: Page, resource_code: str, tmp_path: Path
) -> None:
    login_ok(page, "demo.officer")
    page.goto("/aggregation/pools")
    expect(page.get_by_test_id("loadable")).to_contain_text(resource_code)
    page.get_by_test_id("loadable").get_by_role("row").filter(has_text=resource_code).get_by_role(
        "link", name="加载数据"
    ).click()
    page.get_by_label("数据文件").set_input_files(str(_csv(tmp_path / "people.csv", 20_000)))
    page.get_by_role("button", name="开始加载").click()
    status = page.get_by_test_id("load-status-label")
    expect(status).to_have_text("已完成", timeout=60_000)
    expect(page.get_by_test_id("rows-loaded")).to_have_text("20,000")
    page.get_by_role("link", name="返回资源池").click()
    expect(page.get_by_test_id("pool-rows")).to_contain_text("居民0")


def test_rejected_upload_lists_the_bad_row(page: Page, resource_code: str, tmp_path: Path) -> None:
    login_ok(page, "demo.officer")
    page.goto(f"/aggregation/pools/load?resource={resource_code}")
    page.get_by_label("数据文件").set_input_files(str(_csv(tmp_path / "bad.csv", 10, bad=True)))
    page.get_by_label("有错误即整体拒收").check()
    page.get_by_role("button", name="开始加载").click()
    expect(page.get_by_test_id("load-status-label")).to_have_text("已拒收", timeout=60_000)
    problems = page.get_by_test_id("load-problems")
    expect(problems).to_contain_text("12")  # header + 10 rows, the bad one is row 12
    # The zh-CN message is the text; the code is short, the full code in its tooltip (issue 16).
    expect(problems.get_by_test_id("problem-code").first).to_have_attribute(
        "title", "aggregation.invalid_id_number"
    )
    expect(page.get_by_test_id("report-link")).to_be_visible()
