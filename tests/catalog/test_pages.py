"""The catalog's zh-CN pages over HTTP: each page for the roles that may see it, refused for the
others; forms post with CSRF and show zh-CN errors keeping what was typed (Art. 12–14, 26, 32).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import demands, review, service
from govdata.catalog.models import Resource, ResourceState, ReviewEntry, SubmissionStatus
from govdata.catalog.schemas import DemandIn
from govdata.core.workdays import add_working_days
from tests.catalog.factories import company_resource, person_resource
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _resources(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Resource)) or 0


def _form(**changes: Any) -> dict[str, Any]:
    """The resource form as a browser posts it: every field, item rows as repeated fields."""
    data: dict[str, Any] = {
        "name": "出入境证件信息",
        "category": "department",
        "class_path": "公安/出入境",
        "abstract": "本市居民出入境证件的申领、签发信息。",
        "format": "database",
        "format_subtype": "Oracle",
        "update_cycle": "daily",
        "published_on": "",
        "security_level": "internal",
        "subject_kind": "",
        "legal_basis": "《中华人民共和国出境入境管理法》",
        "related_codes": "",
        "usage_requirements": "",
        "share_type": "conditional",
        "share_conditions": "限公安、外事部门使用",
        "share_method": "接口",
        "open_type": "none",
        "open_conditions": "",
        "item_name": ["公民身份号码", "证件号码", ""],
        "item_type": ["C", "C", "C"],
        "item_length": ["18", "20", ""],
        "item_share": ["", "", ""],
        "item_open": ["", "", ""],
        "item_key": ["0"],
    }
    data.update(changes)
    return data


# --- access by role -----------------------------------------------------------------------------


def test_my_list_redirects_to_the_officer_department(sign_in, world: World) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer").get("/catalog/my", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/catalog/departments/{world.police}/list"


@pytest.mark.parametrize("username", ["city", "yz_admin", "auditor", "citizen"])
def test_my_list_without_a_department_is_not_found(sign_in, username: str) -> None:  # type: ignore[no-untyped-def]
    r = sign_in(username).get("/catalog/my", headers=HTML)
    assert r.status_code == 404
    assert "没有隶属的部门" in r.text


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("officer", 200),
        ("head", 200),
        ("city", 200),
        ("auditor", 200),
        ("officer2", 404),  # another department's list is not even shown to exist
        ("yz_admin", 404),  # a district bureau sees only its district's departments
        ("citizen", 403),
    ],
)
def test_department_list_is_scoped(sign_in, world: World, username: str, status: int) -> None:  # type: ignore[no-untyped-def]
    r = sign_in(username).get(f"/catalog/departments/{world.police}/list", headers=HTML)
    assert r.status_code == status
    assert '<html lang="zh-CN">' in r.text


def test_only_the_officer_gets_the_edit_controls(sign_in, world: World) -> None:  # type: ignore[no-untyped-def]
    url = f"/catalog/departments/{world.police}/list"
    assert "新增资源" in sign_in("officer").get(url, headers=HTML).text
    head = sign_in("head")
    assert "新增资源" not in head.get(url, headers=HTML).text
    r = head.get(f"/catalog/departments/{world.police}/resources/new", headers=HTML)
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("city", 200),
        ("yz_admin", 200),
        ("auditor", 200),
        ("officer", 403),
        ("head", 403),
        ("citizen", 403),
    ],
)
def test_review_page_is_for_bureaus_and_oversight(sign_in, username: str, status: int) -> None:  # type: ignore[no-untyped-def]
    r = sign_in(username).get("/catalog/review", headers=HTML)
    assert r.status_code == status
    if status == 403:
        assert "无权访问" in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/catalog",
        "/catalog/share",
        "/catalog/versions",
        "/catalog/responsibility",
        "/catalog/search?q=人口",
    ],
)
def test_published_pages_are_for_staff(sign_in, path: str) -> None:  # type: ignore[no-untyped-def]
    assert sign_in("officer2").get(path, headers=HTML).status_code == 200
    assert sign_in("citizen").get(path, headers=HTML).status_code == 403


def test_before_the_first_version_the_catalog_says_so(sign_in, client) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer").get("/catalog", headers=HTML)
    assert r.status_code == 200
    assert "尚未发布" in r.text
    r = client.get("/catalog/open", headers=HTML)  # the open catalog needs no sign-in
    assert r.status_code == 200
    assert "尚未发布" in r.text


# --- the resource form --------------------------------------------------------------------------


def test_officer_creates_a_resource_through_the_form(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    r = c.post(
        f"/catalog/departments/{world.police}/resources",
        data=_form(),
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"], headers=HTML)
    assert "已新增到本部门目录清单" in page.text
    resource = session.scalar(select(Resource).where(Resource.name == "出入境证件信息"))
    assert resource is not None and resource.state == ResourceState.DRAFT
    full = service.get_resource(session, world.actor(session, "officer"), resource.id)
    assert [(i.name, i.is_subject_key, i.share_type) for i in full.items] == [
        ("公民身份号码", True, "conditional"),
        ("证件号码", False, "conditional"),
    ]
    listing = c.get(f"/catalog/departments/{world.police}/list", headers=HTML).text
    assert "出入境证件信息" in listing
    assert 'data-testid="count-draft"><div class="n">1<' in listing


def test_form_without_csrf_is_refused(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    before = _resources(session)
    r = c.client.post(f"/catalog/departments/{world.police}/resources", data=_form(), headers=HTML)
    assert r.status_code == 403
    assert "页面已过期" in r.text
    assert _resources(session) == before


def test_a_refused_resource_keeps_the_input_and_stores_nothing(
    sign_in, session, world: World
) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    before = _resources(session)
    # Art. 25: 不予共享 needs a legal basis.
    r = c.post(
        f"/catalog/departments/{world.police}/resources",
        data=_form(share_type="none", legal_basis="", abstract="一段独特的摘要文字"),
        headers=HTML,
    )
    assert r.status_code == 422
    assert 'data-testid="form-error"' in r.text
    assert "法" in re.search(r'data-testid="form-error">([^<]*)<', r.text).group(1)  # type: ignore[union-attr]
    assert "一段独特的摘要文字" in r.text
    assert 'value="证件号码"' in r.text
    assert re.search(r'<option value="none" selected>不予共享</option>', r.text)
    assert _resources(session) == before


def test_a_malformed_resource_shows_which_field(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    r = c.post(
        f"/catalog/departments/{world.police}/resources",
        data=_form(name="甲", item_length=["18", "很长", ""]),
        headers=HTML,
    )
    assert r.status_code == 422
    message = re.search(r'data-testid="form-error">([^<]*)<', r.text).group(1)  # type: ignore[union-attr]
    assert "资源名称" in message and "第2行信息项长度" in message
    assert 'value="很长"' in r.text


def test_the_form_reports_every_problem_at_once(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    # A malformed field used to hide the regulation's rules until it was fixed: the officer
    # corrected the name, submitted again, and only then learnt of Art. 24, 25 and 31.
    c = sign_in("officer")
    before = _resources(session)
    r = c.post(
        f"/catalog/departments/{world.police}/resources",
        data=_form(
            name="甲",
            share_conditions="",
            legal_basis="",
            item_type=["C", "X", "C"],
            item_name=["公民身份号码", "证件号码", "签发机关"],
            item_length=["18", "20", ""],
        ),
        headers=HTML,
    )
    assert r.status_code == 422
    message = re.search(r'data-testid="form-error">([^<]*)<', r.text).group(1)  # type: ignore[union-attr]
    assert message.startswith("填写内容有 6 处问题：资源名称至少须有 2 个字符；")
    for part in (
        "第2行信息项数据类型不是可选的取值",  # the schema
        "须写明共享条件（第二十四条）",  # Art. 24
        "政策依据（第二十五条）",  # Art. 25(1)
        "国家有关文件依据（第三十一条）",  # Art. 31
        "字符型信息项“签发机关”须填写数据长度",  # an item read whole is still checked
    ):
        assert part in message, part
    assert _resources(session) == before


def test_add_more_item_rows_keeps_the_form(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    before = _resources(session)
    r = c.post(
        f"/catalog/departments/{world.police}/resources",
        data=_form(more="1"),
        headers=HTML,
    )
    assert r.status_code == 200
    assert len(re.findall(r'name="item_name"', r.text)) == 2 + 1 + 5
    assert 'value="公民身份号码"' in r.text
    assert _resources(session) == before


def test_edit_and_withdraw_a_working_copy(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    res = service.create_resource(session, officer, world.police, person_resource())
    session.commit()
    c = sign_in("officer")
    form = c.get(f"/catalog/working/{res.id}/edit", headers=HTML)
    assert form.status_code == 200 and 'value="户籍人口基本信息"' in form.text
    r = c.post(
        f"/catalog/working/{res.id}",
        data=_form(name="户籍人口信息（修订）"),
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    session.expire_all()
    assert session.get(Resource, res.id).name == "户籍人口信息（修订）"  # type: ignore[union-attr]
    r = c.post(f"/catalog/working/{res.id}/withdraw", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].endswith("msg=deleted")  # never submitted: simply gone
    assert session.scalar(select(Resource.id).where(Resource.id == res.id)) is None


# --- submitting, compiling, reviewing, publishing ----------------------------------------------


def test_nothing_to_submit_shows_the_reason_on_the_list(sign_in, world: World) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer").post(
        f"/catalog/departments/{world.police}/submit", data={"note": "我的说明"}, headers=HTML
    )
    assert r.status_code == 422
    assert "无需提交" in r.text
    assert "我的说明" in r.text


def test_district_list_is_compiled_returned_and_published(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    yz = world.actor(session, "yz_officer")
    keep = service.create_resource(session, yz, world.yz_police, company_resource("甲资源"))
    back = service.create_resource(session, yz, world.yz_police, company_resource("乙资源"))
    session.commit()
    officer = sign_in("yz_officer")
    r = officer.post(
        f"/catalog/departments/{world.yz_police}/submit",
        data={"note": "首次编制"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    sub_url = r.headers["location"].split("?")[0]
    assert "待区县汇总" in officer.get(sub_url, headers=HTML).text

    district = sign_in("yz_admin")
    queue = district.get("/catalog/review", headers=HTML).text
    assert "渝中区待汇总的部门清单" in queue and "渝中区公安分局" in queue
    sub_id = int(sub_url.rsplit("/", 1)[1])
    r = district.post(
        f"/catalog/districts/{world.yuzhong}/compile",
        data={"note": "", "submission_id": str(sub_id)},
        headers=HTML,
    )
    assert r.status_code == 200 and "已汇总并报送" in r.text
    assert sign_in("jb_admin").post(
        f"/catalog/districts/{world.yuzhong}/compile", data={}, headers=HTML
    ).status_code in (403, 422)

    city = sign_in("city")
    assert sub_url in city.get("/catalog/review", headers=HTML).text
    entries = {
        e.resource_id: e.id
        for e in session.scalars(select(ReviewEntry).where(ReviewEntry.resource_id.is_not(None)))
    }
    # Returning without a reason is refused; what was typed stays (nothing here) and it's zh-CN.
    r = city.post(
        f"/catalog/entries/{entries[back.id]}/decide",
        data={"decision": "return", "reason": "  "},
        headers=HTML,
    )
    assert r.status_code == 400 and "退回时须说明理由" in r.text
    r = city.post(
        f"/catalog/entries/{entries[back.id]}/decide",
        data={"decision": "return", "reason": "缺少更新周期的依据"},
        headers=HTML,
    )
    assert r.status_code == 200
    assert (
        city.post(
            f"/catalog/entries/{entries[keep.id]}/decide",
            data={"decision": "approve"},
            headers=HTML,
        ).status_code
        == 200
    )
    # The department may read its submission but not decide it.
    assert officer.post(
        f"/catalog/entries/{entries[keep.id]}/decide", data={"decision": "approve"}, headers=HTML
    ).status_code in (403, 409)

    r = city.post("/catalog/publish", data={"note": "第一版", "confirm": "yes"}, headers=HTML)
    assert r.status_code == 200 and "政务数据资源目录第 1 版" in r.text  # the job's page
    r = city.get("/catalog/versions/1", headers=HTML)
    assert "第 1 版" in r.text and "甲资源" in r.text
    assert "甲资源" in officer.get("/catalog", headers=HTML).text
    listing = officer.get(f"/catalog/departments/{world.yz_police}/list", headers=HTML).text
    assert "退回理由：缺少更新周期的依据" in listing
    working = officer.get(f"/catalog/working/{back.id}", headers=HTML).text
    assert "缺少更新周期的依据" in working
    session.expire_all()
    assert session.get(Resource, keep.id).state == ResourceState.PUBLISHED  # type: ignore[union-attr]

    # The published resource page; its department sees the way to the working copy.
    page = officer.get(f"/catalog/resources/{keep.code}", headers=HTML).text
    assert "统一社会信用代码" in page and 'data-testid="working-link"' in page
    other = sign_in("officer2").get(f"/catalog/resources/{keep.code}", headers=HTML).text
    assert "甲资源" in other and 'data-testid="working-link"' not in other
    # Opened unconditionally: readable without signing in.
    assert "甲资源" in sign_in("citizen").get("/catalog/open", headers=HTML).text
    assert "甲资源" not in officer.get("/catalog/open?share_type=none", headers=HTML).text
    assert "渝中区公安分局" in officer.get("/catalog/responsibility", headers=HTML).text
    rl = officer.get(f"/catalog/responsibility/{world.yz_police}", headers=HTML).text
    assert "甲资源" in rl and "每周" in rl


def test_modify_entry_shows_what_changed(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    res = service.create_resource(session, officer, world.police, person_resource())
    review.submit(session, officer, world.police)
    (entry,) = session.scalars(select(ReviewEntry).where(ReviewEntry.resource_id == res.id))
    review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    service.update_resource(session, officer, res.id, person_resource(update_cycle="weekly"))
    sub = review.submit(session, officer, world.police)
    assert sub.status == SubmissionStatus.PENDING_CITY and sub.review_due is not None
    session.commit()
    c = sign_in("city")
    page = c.get(f"/catalog/submissions/{sub.id}", headers=HTML).text
    assert "与已发布版本相比的变化" in page
    assert re.search(r"<del>每日</del>.*<ins>每周</ins>", page, re.S)
    queue = c.get("/catalog/review", headers=HTML).text
    assert sub.review_due.isoformat() in queue and "办理中" in queue


# --- demand list and change records -------------------------------------------------------------


def test_demand_form_keeps_input_on_refusal(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    url = f"/catalog/departments/{world.police}/demands"
    r = c.post(
        url,
        data={
            "title": "企业登记信息",
            "wanted_items": "统一社会信用代码",
            "provider_department_id": str(world.police),
        },
        headers=HTML,
    )
    assert r.status_code == 422
    assert "提供方不能是本部门" in r.text and "统一社会信用代码" in r.text
    r = c.post(
        url,
        data={"title": "企业登记信息", "provider_department_id": str(world.market)},
        headers=HTML,
    )
    assert r.status_code == 200 and "企业登记信息" in r.text and "已新增需求" in r.text
    page = demands.list_demands(
        session, world.actor(session, "officer"), department_id=world.police
    )
    assert [d.title for d in page.items] == ["企业登记信息"]


def test_demand_page_for_the_city_and_unmet_list(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    d = demands.create_demand(session, officer, world.police, DemandIn(title="企业登记信息"))
    sub = review.submit(session, officer, world.police)
    (entry,) = session.scalars(select(ReviewEntry).where(ReviewEntry.submission_id == sub.id))
    review.decide(session, city, entry.id, approve=True)
    session.commit()
    c = sign_in("city")
    assert "企业登记信息" in c.get("/catalog/review", headers=HTML).text
    r = c.post(f"/catalog/demands/{d.id}/match", data={"resource_code": "999/000001"}, headers=HTML)
    assert r.status_code == 422 and "不在已发布的目录中" in r.text


def test_change_records_show_the_clock(sign_in, world: World) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    url = f"/catalog/departments/{world.police}/changes"
    r = c.post(
        url,
        data={"kind": "law", "description": "新修订的条例", "occurred_on": "2099-01-01"},
        headers=HTML,
    )
    assert r.status_code == 422 and "不能晚于今天" in r.text and "新修订的条例" in r.text
    r = c.post(
        url,
        data={"kind": "function", "description": "职能调整", "occurred_on": "2025-09-30"},
        headers=HTML,
    )
    assert r.status_code == 200
    due = add_working_days(date(2025, 9, 30), 10).isoformat()
    assert "职能调整" in r.text and due in r.text and "已逾期" in r.text
    assert "已逾期" in sign_in("city").get("/catalog/review", headers=HTML).text


def test_search_page_before_publishing_says_so(sign_in) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer").get("/catalog/search?q=户籍", headers=HTML)
    assert r.status_code == 200 and "尚未发布" in r.text


def test_unknown_filter_value_is_refused_in_zh_cn(sign_in) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer").get("/catalog?share_type=bogus", headers=HTML)
    assert r.status_code == 400 and "共享属性" in r.text


# --- import and export --------------------------------------------------------------------------


def _xlsx(rows: list[list[str]]) -> bytes:
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "信息资源"
    sheet.append(
        ["信息资源分类", "信息资源名称", "信息资源格式", "共享类型", "开放类型", "更新周期"]
    )
    for row in rows:
        sheet.append(row)
    items = wb.create_sheet("信息项")
    items.append(["信息资源名称", "信息项名称", "数据类型", "数据长度"])
    for row in rows:
        items.append([row[1], "名称", "字符型", "100"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_import_page_shows_counts_then_every_problem(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    url = f"/catalog/departments/{world.police}/import"
    assert c.get(url, headers=HTML).status_code == 200
    assert sign_in("head").get(url, headers=HTML).status_code == 403
    good = ["部门/治安", "旅馆业信息", "电子表格", "无条件共享", "无条件开放", "每月"]
    r = c.post(url, files={"file": ("a.xlsx", _xlsx([good]))}, headers=HTML)
    assert r.status_code == 200, r.text
    assert "新增 1 条" in r.text
    before = _resources(session)
    bad = ["部门/治安", "典当业信息", "电子表格", "随便共享", "无条件开放", "每月"]
    other = ["部门/治安", "印章业信息", "电子表格", "无条件共享", "无条件开放", "每月"]
    r = c.post(url, files={"file": ("b.xlsx", _xlsx([other, bad]))}, headers=HTML)
    assert r.status_code == 422
    assert "未导入任何数据" in r.text and "随便共享" in r.text
    assert r.text.count("<code>catalog.") == 1  # only the bad row
    assert _resources(session) == before  # not even the good row
    problems = re.search(r'name="problems" value="([^"]*)"', r.text).group(1)  # type: ignore[union-attr]
    import html

    report = c.post("/catalog/import-report", data={"problems": html.unescape(problems)})
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("application/vnd.openxmlformats")


@pytest.mark.parametrize(
    ("fmt", "kind"), [("xlsx", "spreadsheetml"), ("csv", "zip"), ("json", "json")]
)
def test_exports_download(sign_in, session, world: World, fmt: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    res = service.create_resource(session, officer, world.police, person_resource())
    review.submit(session, officer, world.police)
    (entry,) = session.scalars(select(ReviewEntry).where(ReviewEntry.resource_id == res.id))
    review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    session.commit()
    c = sign_in("officer")
    for url in (f"/catalog/departments/{world.police}/export.{fmt}", f"/catalog/export.{fmt}"):
        r = c.get(url, headers=HTML)
        assert r.status_code == 200, (url, r.text[:300])
        assert kind in r.headers["content-type"]
        assert "attachment" in r.headers["content-disposition"]
    assert (
        sign_in("officer2")
        .get(f"/catalog/departments/{world.police}/export.{fmt}", headers=HTML)
        .status_code
        == 404
    )
    assert sign_in("citizen").get(f"/catalog/export.{fmt}", headers=HTML).status_code == 403
