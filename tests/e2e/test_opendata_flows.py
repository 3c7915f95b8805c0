"""The open-data flows in the browser (issue 14, Ch. 5), against the live server:

1. an anonymous visitor searches the portal, narrows by a facet and opens a dataset; the page
   offers no download and says how to get an identity (Art. 32, 33 ¶3);
2. a citizen with a checked identity downloads an unconditional dataset's CSV: the released
   (desensitized) rows, never the item that is not open; the download is recorded (Art. 31 ¶2,
   33 ¶3, 40);
3. a citizen applies for a conditional dataset accepting the agreement; 市市场监督管理局 approves
   it narrowed; the citizen sees the answer and downloads only the granted items (Art. 33 ¶2);
4. a citizen asks for a catalog correction; 市公安局 agrees; the citizen sees the answer
   (Art. 32 ¶3);
5. a public account without identity completes it on /open/identity (Art. 33 ¶3).

The datasets and accounts come from tests/e2e/opendata_city.py (published through the catalog's
review, filled through a pool, released by the release builder). Screenshots of
each step go to /tmp/shots/opendata-*.png (not committed).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govdata.core import calendar
from govdata.core.access import AccessRecord
from govdata.core.crypto import subject_digest
from govdata.opendata.models import CatalogCorrectionRequest, OpenApplication
from govdata.org.models import Person
from tests.e2e.helpers import LiveServer, login_ok
from tests.e2e.opendata_city import (
    CITIZEN,
    NEWCOMER,
    NEWCOMER_ID,
    PASSWORD,
    PEOPLE,
    PERSON_ROWS,
    SHOP_ROWS,
    SHOPS,
    OpenFlows,
    build_open_flows,
)

SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def db(live_server: LiveServer) -> sessionmaker[Session]:
    return sessionmaker(bind=live_server.engine, expire_on_commit=False)


@pytest.fixture(scope="module")
def flows(live_server: LiveServer, db: sessionmaker[Session]) -> OpenFlows:
    return build_open_flows(live_server, db)


def _tall(page: Page) -> Page:
    """As tall as the forms (see tests/e2e/test_sharing.py: a full-page capture of a taller page
    moved the next click)."""
    page.set_viewport_size({"width": 1280, "height": 2400})
    return page


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"opendata-{name}.png"), full_page=True)


def _download_csv(page: Page) -> list[list[str]]:
    with page.expect_download() as info:
        page.get_by_role("link", name="下载 CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _downloads_of(db: sessionmaker[Session], person_id: int, code: str) -> list[AccessRecord]:
    with db() as session:
        return list(
            session.scalars(
                select(AccessRecord).where(
                    AccessRecord.actor_id == person_id,
                    AccessRecord.object_id == code,
                    AccessRecord.action == "opendata.download",
                )
            )
        )


# --- 1. search, facet, dataset page, no download without sign-in (Art. 32, 33 ¶3) -------------


def test_an_anonymous_visitor_searches_filters_and_is_told_how_to_get_identity(
    page: Page, flows: OpenFlows
) -> None:
    _tall(page)
    page.goto("/open")
    sign = page.get_by_test_id("portal-sign")  # the way in, for a visitor
    expect(sign.get_by_role("link", name="登录")).to_have_attribute("href", "/login?next=/open")
    expect(sign.get_by_role("link", name="实名注册")).to_have_attribute("href", "/open/register")
    _shot(page, "1a-home")
    page.fill("#q", "e2e开放")
    page.click("form.portal-search button")
    page.wait_for_url("**/open/datasets?q=*")
    # Other browser tests share the live database: the two datasets are found by their codes.
    people = page.locator(f'[data-testid="dataset"][data-code="{flows.people}"]')
    shops = page.locator(f'[data-testid="dataset"][data-code="{flows.shops}"]')
    expect(people).to_contain_text(PEOPLE)
    expect(shops).to_contain_text(SHOPS)
    expect(shops).to_contain_text("有条件开放")
    # The open-type facet: only the one open unconditionally stays.
    page.get_by_test_id("facet-open_type").locator('a[data-value="unconditional"]').click()
    expect(page).to_have_url(re.compile(r"open_type=unconditional"))
    expect(shops).to_have_count(0)
    expect(people).to_contain_text("市公安局")
    expect(people).to_contain_text("无条件开放")
    _shot(page, "1b-search-facet")
    people.get_by_role("link", name=PEOPLE).click()
    expect(page.get_by_test_id("dataset-name")).to_have_text(PEOPLE)
    # Art. 30: the item that is not open is not in the catalog's open items.
    expect(page.get_by_test_id("items")).to_contain_text("户籍地址")
    expect(page.get_by_test_id("items")).not_to_contain_text("出生日期")
    # Art. 33 ¶3: no preview, no download link, and the way to an identity.
    expect(page.get_by_test_id("downloads")).to_have_count(0)
    expect(page.get_by_test_id("preview")).to_have_count(0)
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_have_attribute("data-code", "opendata.identity_required")
    expect(refusal).not_to_contain_text("opendata.")  # no code shown to a person
    expect(refusal.get_by_role("link", name="实名注册")).to_have_attribute("href", "/open/register")
    expect(refusal.get_by_role("link", name="登录")).to_be_visible()
    _shot(page, "1c-dataset-anonymous")
    # Asking for the file directly is refused too, and nothing is served.
    answer = page.request.get(f"/open/datasets/{flows.people}/download.csv")
    assert answer.status in (401, 403), answer.status
    assert PERSON_ROWS[0][1] not in answer.text()


# --- 2. a checked identity downloads the released rows; the read is recorded (Art. 31, 40) ----


def test_a_citizen_downloads_the_released_csv_and_the_access_is_recorded(
    page: Page, flows: OpenFlows, db: sessionmaker[Session]
) -> None:
    _tall(page)
    login_ok(page, CITIZEN, PASSWORD)
    page.goto(f"/open/datasets/{flows.people}")
    expect(page.get_by_test_id("portal-sign")).to_have_count(0)
    expect(page.get_by_test_id("refusal")).to_have_count(0)
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("刘*")
    expect(preview).not_to_contain_text("刘晓红")
    _shot(page, "2a-dataset-signed-in")
    before = len(_downloads_of(db, flows.citizen, flows.people))
    rows = _download_csv(page)
    assert rows[0] == ["公民身份号码", "姓名", "户籍地址"]  # 出生日期 is not open (Art. 30)
    assert len(rows) == 1 + len(PERSON_ROWS)
    body = "\n".join(",".join(r) for r in rows[1:])
    for number, name, address in PERSON_ROWS:
        # Default masking (Art. 31 ¶2): the ID keeps 3 + 4 characters, the name its surname.
        assert [number[:3] + "*" * 11 + number[-4:], name[0] + "*" * (len(name) - 1), address] in (
            rows[1:]
        )
        assert number not in body and name not in body and number[6:14] not in body
    records = _downloads_of(db, flows.citizen, flows.people)
    assert len(records) == before + 1
    assert records[-1].outcome == "allowed" and records[-1].rows == len(PERSON_ROWS)
    page.reload()
    _shot(page, "2b-after-download")


# --- 3. an application from submission to a narrowed approval (Art. 33 ¶2) --------------------


def test_an_application_is_approved_narrowed_and_only_granted_items_are_downloaded(
    page: Page, new_page, flows: OpenFlows, db: sessionmaker[Session]
) -> None:  # type: ignore[no-untyped-def]
    today = calendar.today()
    _tall(page)
    login_ok(page, CITIZEN, PASSWORD)
    page.goto(f"/open/datasets/{flows.shops}")
    expect(page.get_by_test_id("conditions")).to_have_text("仅用于学术研究和公益用途")
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_have_attribute("data-code", "opendata.application_required")
    expect(page.get_by_test_id("downloads")).to_have_count(0)
    _shot(page, "3a-conditional-dataset")
    page.get_by_test_id("apply-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申请获取有条件开放数据")
    form = page.get_by_test_id("apply-form")
    expect(form).not_to_contain_text("从业人数")  # not open: cannot be asked for (Art. 30)
    for item in ("统一社会信用代码", "字号名称", "经营范围", "经营场所"):
        form.get_by_label(item).check()
    page.get_by_label("用途（必填）").fill("研究渝中区个体工商户的行业分布")
    page.get_by_label("使用场景（必填）").fill("硕士学位论文的统计分析")
    page.get_by_label("安全保障措施（必填）").fill("数据仅存放于离线电脑，论文完成后删除")
    page.get_by_label("使用期限自").fill(today.isoformat())
    page.get_by_label("至", exact=True).fill((today + timedelta(days=90)).isoformat())
    form.get_by_label("我已阅读并同意", exact=False).check()
    _shot(page, "3b-apply-form")
    page.get_by_role("button", name="提交申请").click()
    expect(page.get_by_test_id("status")).to_have_text("待答复")
    expect(page.get_by_test_id("due-on")).to_be_visible()
    _shot(page, "3c-applied")
    number = int(page.url.split("/open/applications/")[1].split("?")[0])
    with db() as session:
        application = session.get(OpenApplication, number)
        assert application is not None
        assert application.applicant_id == flows.citizen
        assert application.agreement_accepted_at is not None

    # 市市场监督管理局's officer answers: 经营场所 is taken out.
    officer = _tall(new_page())
    login_ok(officer, "demo.officer2")
    officer.goto("/opendata/applications")
    expect(officer.get_by_role("link", name=f"第 {number} 号")).to_be_visible()
    _shot(officer, "3d-provider-inbox")
    officer.get_by_role("link", name=f"第 {number} 号").click()
    approve = officer.get_by_test_id("approve-form")
    expect(approve.get_by_label("经营场所")).to_be_checked()  # all asked for, until narrowed
    approve.get_by_label("经营场所").uncheck()
    _shot(officer, "3e-approve-form")
    officer.get_by_role("button", name="同意开放", exact=True).click()
    expect(officer.get_by_test_id("status")).to_have_text("已同意")
    expect(officer.get_by_test_id("answer")).to_contain_text("统一社会信用代码、字号名称、经营范围")

    # The citizen sees the answer and gets the granted items only.
    page.goto(f"/open/applications/{number}")
    expect(page.get_by_test_id("status")).to_have_text("已同意")
    expect(page.get_by_test_id("answer")).to_contain_text("统一社会信用代码、字号名称、经营范围")
    expect(page.get_by_test_id("answer")).not_to_contain_text("经营场所")
    _shot(page, "3f-citizen-sees-approval")
    page.goto(f"/open/datasets/{flows.shops}")
    expect(page.get_by_test_id("preview").locator("th")).to_have_text(
        ["统一社会信用代码", "字号名称", "经营范围"]
    )
    _shot(page, "3g-granted-dataset")
    rows = _download_csv(page)
    assert rows[0] == ["统一社会信用代码", "字号名称", "经营范围"]
    assert sorted(r[1:] for r in rows[1:]) == sorted([n, s] for _, n, s, _, _ in SHOP_ROWS)
    text = repr(rows)
    for code, _, _, place, _ in SHOP_ROWS:
        assert code not in text and place not in text  # masked; not granted
    assert len(_downloads_of(db, flows.citizen, flows.shops)) == 1


# --- 4. a catalog correction request answered by the provider (Art. 32 ¶3) --------------------


def test_a_correction_request_is_agreed_and_the_citizen_sees_the_answer(
    page: Page, new_page, flows: OpenFlows, db: sessionmaker[Session]
) -> None:  # type: ignore[no-untyped-def]
    _tall(page)
    login_ok(page, CITIZEN, PASSWORD)
    page.goto(f"/open/datasets/{flows.people}")
    page.get_by_test_id("correct-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申请更正开放目录")
    page.get_by_label("需要更正的目录项").select_option(value="abstract")
    page.get_by_label("建议更正为（必填）").fill("本市户籍人口的基本登记信息（脱敏）")
    page.get_by_label("理由（必填）").fill("现有摘要只写了测试数据，看不出数据范围")
    _shot(page, "4a-correct-form")
    page.get_by_role("button", name="提交更正申请").click()
    expect(page.get_by_test_id("status")).to_have_text("待答复")
    _shot(page, "4b-correction-submitted")
    number = int(page.url.split("/open/corrections/")[1].split("?")[0])

    officer = _tall(new_page())
    login_ok(officer, "demo.officer")
    officer.goto("/opendata/corrections")
    expect(officer.get_by_role("link", name=f"第 {number} 号")).to_be_visible()
    officer.get_by_role("link", name=f"第 {number} 号").click()
    _shot(officer, "4c-provider-detail")
    officer.get_by_label("答复意见（可不填）").fill("同意，下一版目录将更新摘要")
    _shot(officer, "4c-provider-answer")
    officer.get_by_role("button", name="同意更正", exact=True).click()
    expect(officer.get_by_test_id("status")).to_have_text("已同意更正")

    page.goto(f"/open/corrections/{number}")
    expect(page.get_by_test_id("status")).to_have_text("已同意更正")
    expect(page.get_by_test_id("answer")).to_contain_text("同意，下一版目录将更新摘要")
    _shot(page, "4d-citizen-sees-answer")
    with db() as session:
        request = session.get(CatalogCorrectionRequest, number)
        assert request is not None and request.status == "agreed"
        assert request.requester_id == flows.citizen


# --- 5. real-name identity completed by an unidentified public account (Art. 33 ¶3) -----------


def test_an_unidentified_account_completes_identity(
    page: Page, flows: OpenFlows, db: sessionmaker[Session]
) -> None:
    _tall(page)
    login_ok(page, NEWCOMER, PASSWORD)
    page.goto(f"/open/datasets/{flows.people}")
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_have_attribute("data-code", "opendata.identity_required")
    expect(refusal).to_contain_text("您的账户尚未完成实名认证")
    expect(refusal).not_to_contain_text("实名注册")  # it has an account already
    _shot(page, "5a-unidentified-dataset")
    refusal.get_by_role("link", name="完成实名身份认证").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("实名认证")
    # A wrong number first: a zh-CN message, no code shown, nothing recorded on the account.
    page.get_by_label("姓名").fill("何晓东")
    page.get_by_label("公民身份号码").fill(
        NEWCOMER_ID[:-1] + ("0" if NEWCOMER_ID[-1] != "0" else "1")
    )
    page.get_by_role("button", name="提交认证").click()
    error = page.get_by_test_id("identity-error")
    expect(error).to_have_attribute("data-code", "opendata.id_number_invalid")
    expect(error).to_contain_text("公民身份号码无效")
    expect(error).not_to_contain_text("opendata.")
    _shot(page, "5b-identity-refused")
    with db() as session:
        person = session.get(Person, flows.newcomer)
        assert person is not None and person.identity_digest is None
    page.get_by_label("姓名").fill("何晓东")
    page.get_by_label("公民身份号码").fill(NEWCOMER_ID)
    page.get_by_role("button", name="提交认证").click()
    expect(page.get_by_test_id("identity-checked")).to_contain_text("已认证")
    _shot(page, "5c-identity-checked")
    with db() as session:
        person = session.get(Person, flows.newcomer)
        assert person is not None
        assert person.identity_digest == subject_digest(NEWCOMER_ID)
        assert person.name == "何晓东"
    page.goto(f"/open/datasets/{flows.people}")
    expect(page.get_by_test_id("refusal")).to_have_count(0)
    expect(page.get_by_test_id("downloads")).to_be_visible()
    _shot(page, "5d-dataset-after-identity")
