"""A correction in the browser (校核, Art. 19): the city bureau has challenged an address in the
police's pool; the police data officer finds it among the incoming corrections, sees the value
marked "校核中" with the Art. 19 ¶3 notice, accepts it, and sees the corrected value without the
mark, on the correction's page and on the pool's data page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import corrections
from govdata.aggregation.models import Correction, Pool
from govdata.catalog import review, service
from govdata.catalog.models import ReviewEntry
from govdata.core.actor import Actor
from govdata.core.ids import make_id_number
from govdata.org.models import Person
from govdata.org.service import role_grants
from tests.aggregation.factories import fill_pool, resource_input
from tests.e2e.helpers import LiveServer, login_ok

NAV = 'nav[aria-label="主导航"]'
KEY = make_id_number("500103", date(1988, 3, 14), 51)
OLD, NEW = "渝中区民族路1号", "渝中区民族路18号"


def _actor(session: Session, username: str) -> Actor:
    person = session.scalar(select(Person).where(Person.username == username))
    assert person is not None
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


@pytest.fixture(scope="module")
def challenged(live_server: LiveServer) -> Iterator[tuple[Pool, Correction]]:
    """A published police resource, its pool filled, and the city bureau's application."""
    factory = sessionmaker(bind=live_server.engine, expire_on_commit=False)
    police = live_server.departments["市公安局"]
    with factory() as session, session.begin():
        city = _actor(session, "demo.city")
        data = resource_input(
            "e2e校核人口信息",
            [("公民身份号码", "C", 18), ("姓名", "C", 20), ("住址", "C", 60)],
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
        pool, _ = fill_pool(
            session,
            city,
            resource,
            [
                {"公民身份号码": KEY, "姓名": "刘一", "住址": OLD},
                {
                    "公民身份号码": make_id_number("500103", date(1990, 7, 1), 52),
                    "姓名": "陈二",
                    "住址": "渝中区邹容路3号",
                },
            ],
        )
        correction = corrections.apply(
            session,
            city,
            pool_id=pool.id,
            subject_key=KEY,
            item_name="住址",
            proposed_value=NEW,
            reason="门牌号登记有误，应为18号",
            evidence="不动产权证书",
        )
    yield pool, correction


def test_the_auditor_reads_the_values_masked_and_reveals_them(
    page: Page, challenged: tuple[Pool, Correction]
) -> None:
    """Oversight reads the challenged person's key and address masked; revealing them needs a
    reason, given in the form, and is audited (issue 16; Art. 41, 42, 49). Runs before the
    officer answers: the value stored with the application stays the old one either way."""
    _, correction = challenged
    login_ok(page, "demo.auditor")
    page.goto(f"/aggregation/corrections/{correction.id}")
    expect(page.get_by_test_id("masked-note")).to_contain_text("主体标识和“住址”的取值")
    expect(page.get_by_test_id("subject-key")).to_have_text(KEY[:3] + "*" * 11 + KEY[-4:])
    expect(page.get_by_test_id("stored-value")).to_have_text("渝中****1号")
    expect(page.get_by_test_id("correction")).not_to_contain_text(KEY)
    reveal = page.get_by_test_id("reveal")
    reveal.locator("summary").click()
    reveal.get_by_label("查看理由").fill("核查第9号审计事项")
    reveal.get_by_role("button", name="查看").click()
    shown = page.get_by_test_id("revealed")
    expect(shown).to_contain_text(KEY)
    expect(shown).to_contain_text(OLD)
    expect(shown).to_contain_text("核查第9号审计事项")
    page.goto("/audit?action=aggregation.pool_row.reveal")
    expect(page.get_by_test_id("action-cell").first).to_have_text("查看资源池记录明文（说明理由）")


def test_officer_accepts_a_correction(page: Page, challenged: tuple[Pool, Correction]) -> None:
    pool, correction = challenged
    login_ok(page, "demo.officer")
    page.locator(NAV).get_by_role("link", name="数据校核").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("数据校核")
    expect(page.get_by_role("link", name="待本部门校核")).to_have_attribute("aria-current", "page")
    row = page.get_by_test_id("correction-row").filter(has_text=f"第 {correction.id} 号")
    expect(row).to_contain_text("e2e校核人口信息")
    expect(row.get_by_test_id("status")).to_have_text("校核中")
    expect(row.get_by_test_id("clock-label")).to_contain_text("剩余")
    row.get_by_role("link", name=f"第 {correction.id} 号").click()

    # While open: the value carries the mark, and business proceeds on valid proof (¶3).
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"校核申请第 {correction.id} 号")
    expect(page.get_by_test_id("proof-note")).to_contain_text("合法有效证明材料")
    expect(page.get_by_test_id("current-value")).to_have_text(OLD)
    expect(page.get_by_test_id("under-correction")).to_be_visible()
    expect(page.get_by_test_id("proposed-value")).to_have_text(NEW)

    page.get_by_label("答复意见").fill("经核对不动产登记信息，予以更正")
    expect(page.get_by_label("更正后的值（默认为申请人提出的值）")).to_have_value(NEW)
    page.get_by_role("button", name="予以更正").click()

    expect(page.get_by_role("status")).to_have_text("已答复：予以更正，数据资源池中的数据已更新。")
    expect(page.get_by_test_id("status")).to_have_text("已更正")
    expect(page.get_by_test_id("current-value")).to_have_text(NEW)
    expect(page.get_by_test_id("under-correction")).to_have_count(0)
    expect(page.get_by_test_id("proof-note")).to_have_count(0)
    expect(page.get_by_test_id("answer")).to_contain_text("经核对不动产登记信息，予以更正")
    expect(page.get_by_test_id("answer-form")).to_have_count(0)

    # The pool's data page shows the corrected value, no longer marked.
    page.get_by_role("link", name=pool.name).click()
    rows = page.get_by_test_id("pool-rows")
    expect(rows).to_contain_text(NEW)
    expect(rows).not_to_contain_text(OLD)
    expect(rows.get_by_test_id("under-correction")).to_have_count(0)
