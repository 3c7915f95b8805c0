"""Sharing in the browser (issue 13, Ch. 4): a department applies; the provider narrows items and
sets an expiry; the requester's token gets exactly the granted items; the provider sees the call
on its dashboard; the citizen sees it on the portal.

- 渝中区公安分局 (demo.district_officer) applies for a conditional resource of 市公安局 from the
  share catalog, naming its system (Art. 26 ¶2);
- 市公安局 (demo.officer) finds it in its inbox with the 10-working-day deadline and approves it
  narrowed: one item fewer, an expiry date earlier than asked (Art. 26 ¶2);
- the system's token reads the subject over HTTP against the live server: exactly the granted
  items; the item taken out is refused with ``sharing.item_not_granted`` (Art. 22, 50(5));
- the provider sees both calls on /sharing/usage (Art. 40);
- the citizen whose verified identity is that subject sees the call, the department, the time
  and the purpose on /my/data-use (Art. 40, "who used my data").

Screenshots of each step go to /tmp/shots/ (not committed).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govdata.catalog import review, service
from govdata.catalog.models import Resource, ReviewEntry
from govdata.catalog.schemas import ResourceIn
from govdata.core import calendar
from govdata.core.access import AccessRecord
from govdata.core.actor import Actor, Role
from govdata.core.calendar import CITY_TZ
from govdata.core.crypto import subject_digest
from govdata.org import auth
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import Person
from govdata.org.schemas import GrantIn, PersonCreate, TokenCreate
from govdata.org.service import create_person, role_grants
from govdata.sharing.models import Grant, ShareApplication
from tests.aggregation.factories import fill_pool, resource_input
from tests.e2e.helpers import LiveServer, login_ok

NAV = 'nav[aria-label="主导航"]'
SHOTS = Path("/tmp/shots")
RESOURCE = "e2e常住人口登记信息"
ID = "公民身份号码"
SUBJECT = "500103198805060021"  # the citizen's ID number (the pipeline's checks are not run here)
OTHER = "500103199107080032"
SYSTEM = "e2e渝中户籍核查系统"
PURPOSE_CODE = "e2e-household-check"
PURPOSE = "核查辖区常住人口登记信息，办理户籍业务"
CITIZEN = "e2e.citizen"
CITIZEN_PASSWORD = "Citizen2026x"


@dataclass(frozen=True)
class Sharing:
    code: str  # the resource's code
    token: str  # 渝中区公安分局's system, sharing:read
    token_id: int
    provider: int
    requester: int


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
    review.publish(session, city, note="e2e共享")
    session.refresh(resource)
    return resource


def _tall(page: Page) -> Page:
    """A viewport as tall as the forms: a full-page capture of a taller page resizes the viewport
    for a moment and the page restores its scroll position later, so that the next click's
    mousedown and mouseup landed on different elements (the submit button, then the form) and
    nothing was submitted."""
    page.set_viewport_size({"width": 1280, "height": 2800})
    return page


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"sharing-{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def db(live_server: LiveServer) -> sessionmaker[Session]:
    return sessionmaker(bind=live_server.engine, expire_on_commit=False)


@pytest.fixture(scope="module")
def sharing(live_server: LiveServer, db: sessionmaker[Session]) -> Iterator[Sharing]:
    """A conditional resource of 市公安局 with data; 渝中区公安分局's system token; a citizen
    whose verified identity (``Person.identity_digest``) is ``SUBJECT``."""
    police = live_server.departments["市公安局"]
    yz = live_server.departments["渝中区公安分局"]
    items = [(ID, "C", 18), ("姓名", "C", 50), ("出生日期", "C", 10), ("户籍地址", "C", 200)]
    data = resource_input(RESOURCE, items, key=ID, subject_kind="person").model_dump()
    data |= {
        "share_type": "conditional",
        "share_conditions": "仅限履行户籍管理、社会救助职责的部门",
        "legal_basis": "《中华人民共和国户口登记条例》第三条",
    }
    with db() as session, session.begin():
        city = _actor(session, "demo.city")
        resource = _publish(session, city, police, ResourceIn.model_validate(data))
        fill_pool(
            session,
            city,
            resource,
            [
                {
                    ID: SUBJECT,
                    "姓名": "刘晓红",
                    "出生日期": "1988-05-06",
                    "户籍地址": "渝中区解放碑街道",
                },
                {
                    ID: OTHER,
                    "姓名": "陈建国",
                    "出生日期": "1991-07-08",
                    "户籍地址": "渝中区七星岗街道",
                },
            ],
        )
        issued = auth.issue_token(
            session,
            _actor(session, "demo.district_officer"),
            yz,
            TokenCreate(name=SYSTEM, scopes=["sharing:read"]),  # type: ignore[call-arg]
        )
        citizen = create_person(
            session,
            BOOTSTRAP,
            PersonCreate(
                username=CITIZEN,
                name="刘晓红",
                password=CITIZEN_PASSWORD,
                department_id=None,
                kind="public",
                grants=[GrantIn(role=Role.CITIZEN)],
            ),
        )
        citizen.identity_digest = subject_digest(SUBJECT)
        code = resource.code
    yield Sharing(code, issued.secret, issued.token.id, police, yz)


def _get(url: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_department_applies_the_provider_narrows_the_system_reads_and_the_citizen_sees_it(
    page: Page, new_page, live_server: LiveServer, db: sessionmaker[Session], sharing: Sharing
) -> None:  # type: ignore[no-untyped-def]
    today = calendar.today()
    asked_until = today + timedelta(days=365)
    expiry = today + timedelta(days=90)

    # --- 渝中区公安分局 applies from the share catalog (Art. 24, 26 ¶2) -------------------------
    _tall(page)
    login_ok(page, "demo.district_officer")
    page.locator(NAV).get_by_role("link", name="共享目录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("政务数据资源共享目录")
    page.get_by_label("检索").fill("常住人口登记")
    page.get_by_label("共享属性").select_option(label="有条件共享")
    page.get_by_role("button", name="查询").click()
    row = page.get_by_test_id("catalog-row").filter(has_text=RESOURCE)
    expect(row).to_contain_text("市公安局")
    expect(row).to_contain_text("仅限履行户籍管理、社会救助职责的部门")
    _shot(page, "1-catalog")
    row.get_by_role("link", name=RESOURCE).click()
    expect(page.get_by_test_id("provider")).to_have_text("市公安局")
    expect(page.get_by_test_id("conditions")).to_contain_text("户籍管理")
    page.get_by_test_id("apply-link").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("申请共享数据")
    expect(page.get_by_test_id("form-kind")).to_contain_text("有条件共享申请")
    form = page.get_by_test_id("application-form")
    for item in (ID, "姓名", "出生日期"):  # not 户籍地址
        form.get_by_test_id("items").get_by_label(item).check()
    page.get_by_label("所履行的职责（部门职能）").fill("户籍管理（《户口登记条例》第三条）")
    page.get_by_label("法律依据").fill("《中华人民共和国户口登记条例》")
    page.get_by_label("用途", exact=True).fill(PURPOSE)
    page.get_by_label("用途代码（英文短名，调用系统每次调用时声明）").fill(PURPOSE_CODE)
    page.get_by_label("调用系统名称").fill(SYSTEM)
    form.get_by_test_id("systems").get_by_label(SYSTEM).check()
    page.get_by_label("使用期限：自").fill(today.isoformat())
    page.get_by_label("至", exact=True).fill(asked_until.isoformat())
    page.get_by_label("使用场景（必填）").fill("窗口办理户口迁移时核对当事人登记信息")
    page.get_by_label("预计每日调用次数（必填）").fill("200")
    _shot(page, "2-apply-form")
    page.get_by_role("button", name="提交申请").click()
    # Said once (the page's own copy of the layout's message was a defect, fixed).
    expect(page.get_by_role("status")).to_have_text(
        "共享申请已提交，数据提供部门应当自收到之日起10个工作日内答复。"
    )
    expect(page.get_by_test_id("status")).to_have_text("待答复")
    expect(page.get_by_test_id("items")).to_have_text(f"{ID}、姓名、出生日期")
    _shot(page, "3-applied")
    number = int(page.url.split("/sharing/applications/")[1].split("?")[0])
    with db() as session:
        application = session.get(ShareApplication, number)
        assert application is not None and application.due_on is not None
        due_on = application.due_on
        assert application.provider_department_id == sharing.provider
    # Ten working days (Art. 26 ¶2): later than ten calendar days, never more than a month.
    assert today + timedelta(days=10) <= due_on <= today + timedelta(days=31)

    # --- 市公安局 finds it in its inbox with its deadline and approves it narrowed ----------------
    provider = _tall(new_page())
    login_ok(provider, "demo.officer")
    provider.locator(NAV).get_by_role("link", name="共享申请").click()
    provider.get_by_role("link", name="待本部门答复").click()
    inbox = provider.get_by_test_id("application-row").filter(
        has=provider.get_by_role("link", name=f"第 {number} 号")
    )
    expect(inbox).to_contain_text("渝中区公安分局")
    expect(inbox).to_contain_text(RESOURCE)
    expect(inbox.get_by_test_id("due-on")).to_have_text(due_on.isoformat())
    expect(inbox.get_by_test_id("status")).to_have_text("待答复")
    _shot(provider, "4-inbox")
    inbox.get_by_role("link", name=f"第 {number} 号").click()
    approve = provider.get_by_test_id("approve-form")
    approve.get_by_label("出生日期").uncheck()
    provider.get_by_label("授权截止日期", exact=False).fill(expiry.isoformat())
    provider.get_by_label("答复意见").fill("出生日期不属于户籍业务核对所需，不予提供")
    _shot(provider, "5-approve-form")
    provider.get_by_role("button", name="同意共享").click()
    expect(provider.get_by_test_id("status")).to_have_text("已批准（有缩减）")
    provider.get_by_test_id("grant").click()
    expect(provider.get_by_test_id("items")).to_have_text(f"{ID}、姓名")
    expect(provider.get_by_test_id("period")).to_contain_text(expiry.isoformat())
    expect(provider.get_by_test_id("systems")).to_contain_text(SYSTEM)
    _shot(provider, "6-grant")
    grant_id = int(provider.url.split("/sharing/grants/")[1].split("?")[0])
    with db() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        assert grant.requester_department_id == sharing.requester
        assert grant.expires_on == expiry and list(grant.items) == [ID, "姓名"]

    # --- the requester's system reads exactly the granted items (Art. 22, 26 ¶2) --------------
    base = f"{live_server.url}/api/v1/sharing/data/{grant_id}/subjects/{SUBJECT}"
    status, body = _get(f"{base}?purpose={PURPOSE_CODE}", sharing.token)
    assert status == 200, body
    assert body["values"] == {ID: SUBJECT, "姓名": "刘晓红"}
    query = urllib.parse.urlencode({"purpose": PURPOSE_CODE, "items": "姓名,出生日期"})
    status, body = _get(f"{base}?{query}", sharing.token)
    assert status == 403, body
    assert body["error"]["code"] == "sharing.item_not_granted"
    assert "1988-05-06" not in json.dumps(body, ensure_ascii=False)
    with db() as session:
        calls = list(
            session.scalars(
                select(AccessRecord)
                .where(AccessRecord.grant_id == grant_id)
                .order_by(AccessRecord.id)
            )
        )
    assert [c.outcome for c in calls] == ["allowed", "refused"]
    called_at = calls[0].at.astimezone(CITY_TZ).strftime("%Y-%m-%d %H:%M")

    # --- the provider sees both calls on its dashboard (Art. 40) ------------------------------
    provider.locator(NAV).get_by_role("link", name="共享调用").click()
    by_grant = provider.get_by_test_id(f"grant-{grant_id}")
    expect(by_grant).to_contain_text("渝中区公安分局")
    expect(by_grant).to_contain_text(PURPOSE_CODE)
    expect(by_grant.locator("td").nth(3)).to_have_text("2")  # calls
    expect(by_grant.locator("td").nth(4)).to_have_text("1")  # refused
    # The system is named once with its department (not "渝中区公安分局·渝中区公安分局·…").
    expect(provider.get_by_test_id("by-system")).to_contain_text(
        f"渝中区公安分局·{SYSTEM}（令牌 {sharing.token_id}）"
    )
    expect(provider.get_by_test_id("by-system")).not_to_contain_text(
        "渝中区公安分局·渝中区公安分局"
    )
    records = provider.get_by_test_id("records")
    allowed = records.get_by_test_id(f"record-{calls[0].id}")
    expect(allowed).to_contain_text("渝中区公安分局")
    expect(allowed).to_contain_text(SYSTEM)
    expect(allowed).to_contain_text("允许")
    refused = records.get_by_test_id(f"record-{calls[1].id}")
    expect(refused).to_contain_text("拒绝")
    expect(provider.get_by_test_id("refusals")).to_contain_text("sharing.item_not_granted")
    _shot(provider, "7-usage")

    # --- the citizen sees who used their data, when and for what (Art. 40) --------------------
    citizen = _tall(new_page())
    login_ok(citizen, CITIZEN, CITIZEN_PASSWORD)
    citizen.locator(NAV).get_by_role("link", name="谁用了我的数据").click()
    expect(citizen.get_by_test_id("not-verified")).to_have_count(0)
    uses = citizen.get_by_test_id("data-uses").locator("tbody tr")
    expect(uses).to_have_count(2)  # the allowed call and the refused one, newest first
    seen = uses.nth(1)
    expect(seen).to_contain_text("渝中区公安分局")
    expect(seen).to_contain_text(called_at)
    expect(seen).to_contain_text(PURPOSE)
    expect(seen).to_contain_text("户籍管理")
    expect(seen).to_contain_text("允许")
    expect(uses.nth(0)).to_contain_text("拒绝，未获得数据")
    _shot(citizen, "8-my-data-use")
