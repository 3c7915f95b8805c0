"""Base databases in the browser (Art. 16, 17 ¶2, 20): the city bureau looks up an electronic
licence's record and sees where each value came from, then resolves the conflict another
department's pool raised for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import base
from govdata.aggregation.models import BaseItem, BaseKind
from govdata.catalog import review, service
from govdata.catalog.models import Resource, ReviewEntry
from govdata.catalog.schemas import ResourceIn
from govdata.core.actor import Actor
from govdata.core.errors import Conflict
from govdata.org.models import Person
from govdata.org.service import role_grants
from tests.aggregation.factories import fill_pool, resource_input
from tests.e2e.helpers import LiveServer, login_ok

NAV = 'nav[aria-label="主导航"]'
LICENCE = "E2E-JY-0001"


def _actor(session: Session, username: str) -> Actor:
    person = session.scalar(select(Person).where(Person.username == username))
    assert person is not None
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


def _publish(session: Session, city: Actor, department_id: int, data: ResourceIn) -> Resource:
    resource = service.create_resource(session, city, department_id, data)
    submission = review.submit(session, city, department_id)
    for entry in session.scalars(
        select(ReviewEntry).where(ReviewEntry.submission_id == submission.id)
    ):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city, note="e2e基础数据库")
    session.refresh(resource)
    return resource


@pytest.fixture(scope="module")
def licence_base(live_server: LiveServer) -> Iterator[dict[str, str]]:
    """The market regulator leads the e-licence base and is the source of 证照名称; the police
    hold the same licence with another name."""
    factory = sessionmaker(bind=live_server.engine, expire_on_commit=False)
    market = live_server.departments["市市场监督管理局"]
    police = live_server.departments["市公安局"]
    items = [("证照编号", "C", 32), ("证照名称", "C", 50), ("持证主体代码", "C", 18)]
    with factory() as session, session.begin():
        city = _actor(session, "demo.city")
        source = _publish(
            session,
            city,
            market,
            resource_input("e2e营业执照电子证照", items, key="证照编号", subject_kind="other"),
        )
        other = _publish(
            session,
            city,
            police,
            resource_input("e2e特种行业许可证", items[:2], key="证照编号", subject_kind="other"),
        )
        fill_pool(
            session,
            city,
            source,
            [{"证照编号": LICENCE, "证照名称": "营业执照", "持证主体代码": "91500000MA5U000001"}],
        )
        fill_pool(session, city, other, [{"证照编号": LICENCE, "证照名称": "特种行业许可证"}])
        try:
            base.define_base(session, city, BaseKind.LICENCE, lead_department_id=market)
        except Conflict:
            base.set_lead(session, city, BaseKind.LICENCE, lead_department_id=market)
        db = base.get_base(session, city, BaseKind.LICENCE)
        have = set(session.scalars(select(BaseItem.name).where(BaseItem.base_id == db.id)))
        for name in ("证照名称", "持证主体代码"):
            change = base.set_source if name in have else base.add_item
            change(
                session,
                city,
                BaseKind.LICENCE,
                name=name,
                source_resource_code=source.code,
                source_item=name,
            )
        codes = {"source": source.code, "other": other.code}
    yield codes


def test_the_bureau_reads_provenance_and_resolves_a_conflict(
    page: Page, licence_base: dict[str, str]
) -> None:
    login_ok(page, "demo.city")
    page.locator(NAV).get_by_role("link", name="基础数据库").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("基础数据库")
    page.get_by_label("基础数据库", exact=True).select_option(label="电子证照基础数据库")
    page.get_by_label("主体标识").fill(LICENCE)
    page.get_by_role("button", name="查询主体记录").click()

    expect(page.get_by_test_id("subject-key")).to_have_text(LICENCE)
    name = page.get_by_test_id("record-value").filter(has_text="证照名称")
    expect(name).to_contain_text("营业执照")  # the authoritative value, never the other one
    expect(name).to_contain_text("市市场监督管理局")
    expect(name).to_contain_text(licence_base["source"])
    expect(page.get_by_test_id("record-conflicts")).to_contain_text("特种行业许可证")

    page.get_by_role("link", name="返回电子证照基础数据库").click()
    page.get_by_role("link", name="数据冲突").click()
    conflict = page.get_by_test_id("conflict").filter(has_text=LICENCE)
    expect(conflict).to_contain_text("市公安局")
    conflict.get_by_role("button", name="标记为已处理").click()  # without a note: refused
    expect(page.get_by_test_id("form-error")).to_have_text("处理数据冲突须填写处理说明。")
    conflict = page.get_by_test_id("conflict").filter(has_text=LICENCE)
    conflict.get_by_label("处理说明").fill("已通知市公安局按营业执照核对")
    conflict.get_by_role("button", name="标记为已处理").click()
    expect(page.get_by_role("status")).to_have_text("已处理该数据冲突。")
    expect(page.get_by_test_id("conflict").filter(has_text=LICENCE)).to_have_count(0)
    page.get_by_label("状态").select_option(label="已处理")
    page.get_by_role("button", name="筛选").click()
    done = page.get_by_test_id("conflict").filter(has_text=LICENCE)
    expect(done.get_by_test_id("conflict-status")).to_have_text("已处理")
    expect(done.get_by_test_id("conflict-note")).to_have_text("已通知市公安局按营业执照核对")


def test_the_bureau_confirms_a_full_rebuild_after_reading_what_it_does(
    page: Page, licence_base: dict[str, str]
) -> None:
    """全量重建 asks first, with counts: the sources and their rows, the subjects now, the last
    build (issue 16); cancelling changes nothing, confirming rebuilds."""
    login_ok(page, "demo.city")
    page.goto("/aggregation/base/licence")
    subjects = page.get_by_test_id("row-count").inner_text()
    page.get_by_test_id("rebuild").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("全量重建电子证照基础数据库")
    source = page.get_by_test_id("build-source").filter(has_text=licence_base["source"])
    expect(source).to_contain_text("证照名称、持证主体代码")
    expect(source).to_contain_text("1 行")
    expect(page.get_by_test_id("count-rows")).to_have_text(f"{subjects} 个")
    page.get_by_role("link", name="取消，返回电子证照基础数据库").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("电子证照基础数据库")
    expect(page.get_by_role("status")).to_have_count(0)  # nothing was done
    page.get_by_test_id("rebuild").click()
    page.get_by_role("button", name="确认全量重建").click()
    expect(page.get_by_role("status")).to_have_text("已重建基础数据库。")
    expect(page.get_by_role("heading", level=1)).to_have_text("电子证照基础数据库")
