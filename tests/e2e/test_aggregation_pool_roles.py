"""A pool's data page as two roles use it in the browser (issue 16).

The auditor sees the police's people masked, no ⚑ to click, and reveals one row after stating
why (Art. 41, 42, 49); the police data officer reads the ⚑ legend, follows ⚑ beside a name to
correct it directly, is refused without a reason, then corrects it and sees the new value
(Art. 19 ¶2, 20 ¶2).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation.models import Pool
from govdata.catalog import review, service
from govdata.catalog.models import ReviewEntry
from govdata.core.actor import Actor
from govdata.core.ids import make_id_number
from govdata.org.models import Person
from govdata.org.service import role_grants
from tests.aggregation.factories import fill_pool, resource_input
from tests.e2e.helpers import LiveServer, login_ok

KEY = make_id_number("500103", date(1987, 5, 20), 61)


def _actor(session: Session, username: str) -> Actor:
    person = session.scalar(select(Person).where(Person.username == username))
    assert person is not None
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


@pytest.fixture(scope="module")
def pool(live_server: LiveServer) -> Iterator[Pool]:
    factory = sessionmaker(bind=live_server.engine, expire_on_commit=False)
    police = live_server.departments["市公安局"]
    with factory() as session, session.begin():
        city = _actor(session, "demo.city")
        data = resource_input(
            "e2e遮盖人口信息",
            [("公民身份号码", "C", 18), ("姓名", "C", 20), ("民族", "C", 10)],
            key="公民身份号码",
        )
        resource = service.create_resource(session, city, police, data)
        submission = review.submit(session, city, police)
        for entry in session.scalars(
            select(ReviewEntry).where(ReviewEntry.submission_id == submission.id)
        ):
            review.decide(session, city, entry.id, approve=True)
        review.publish(session, city)
        session.refresh(resource)
        filled, _ = fill_pool(
            session, city, resource, [{"公民身份号码": KEY, "姓名": "欧阳娜娜", "民族": "土家族"}]
        )
    yield filled


def test_the_auditor_reveals_one_row_with_a_reason(page: Page, pool: Pool) -> None:
    login_ok(page, "demo.auditor")
    page.goto(f"/aggregation/pools/{pool.id}")
    rows = page.get_by_test_id("pool-rows")
    expect(rows).to_contain_text("欧**娜")
    expect(rows).to_contain_text("土家族")
    expect(rows).not_to_contain_text(KEY)
    expect(page.get_by_test_id("masked-note")).to_contain_text("公民身份号码、姓名")
    expect(page.get_by_role("link", name="⚑")).to_have_count(0)
    reveal = page.get_by_test_id("reveal").first
    reveal.locator("summary").click()
    reveal.get_by_label("查看理由").fill("核查第7号审计事项")
    reveal.get_by_role("button", name="查看完整数据").click()
    shown = page.get_by_test_id("revealed")
    expect(shown).to_contain_text(KEY)
    expect(shown).to_contain_text("欧阳娜娜")
    expect(shown).to_contain_text("核查第7号审计事项")


def test_the_officer_corrects_an_own_value(page: Page, pool: Pool) -> None:
    login_ok(page, "demo.officer")
    page.goto(f"/aggregation/pools/{pool.id}")
    expect(page.get_by_test_id("marks-legend")).to_contain_text("由本部门直接更正")
    page.get_by_role("link", name="更正姓名").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("更正本部门数据")
    expect(page.get_by_test_id("current-value")).to_have_text("欧阳娜娜")
    page.get_by_label("更正后的值（留空即清空该值）").fill("欧阳娜")
    page.get_by_role("button", name="更正").click()  # no reason: the browser asks for one
    expect(page.get_by_test_id("current-value")).to_have_text("欧阳娜娜")
    page.get_by_label("更正理由（记入审计日志）").fill("与户籍登记簿核对，名字多录一字")
    page.get_by_role("button", name="更正").click()
    expect(page.get_by_test_id("flash")).to_have_text("已更正该数据，并记入审计日志。")
    expect(page.get_by_test_id("pool-rows")).to_contain_text("欧阳娜")
    expect(page.get_by_test_id("pool-rows")).not_to_contain_text("欧阳娜娜")
