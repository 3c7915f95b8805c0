"""The review pages of the district and city bureaus (Art. 12 ¶1–3): the district returns entries
and forwards the rest, keeping a page per compilation; the city's queue holds only what is left
to decide; publishing says what it will do and is not offered when there is nothing to publish.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from govdata.catalog import review, service
from govdata.catalog.models import EntryStatus, ReviewEntry, SubmissionStatus
from tests.catalog.factories import company_resource, person_resource
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _table(html: str, testid: str) -> str:
    match = re.search(rf'<table data-testid="{testid}">(.*?)</table>', html, re.S)
    assert match, f"no table {testid}"
    return match.group(1)


def test_the_district_returns_an_entry_and_forwards_the_rest(
    sign_in, session, world: World
) -> None:  # type: ignore[no-untyped-def]
    yz = world.actor(session, "yz_officer")
    keep = service.create_resource(session, yz, world.yz_police, company_resource("甲资源"))
    back = service.create_resource(session, yz, world.yz_police, company_resource("乙资源"))
    sub = review.submit(session, yz, world.yz_police)
    entries = {
        e.resource_id: e.id
        for e in session.scalars(select(ReviewEntry).where(ReviewEntry.submission_id == sub.id))
    }
    session.commit()

    district = sign_in("yz_admin")
    page = district.get(f"/catalog/submissions/{sub.id}", headers=HTML).text
    assert page.count('data-testid="return-choice"') == 2
    # Without a reason: refused in zh-CN, the ticked entry stays ticked, nothing is returned.
    r = district.post(
        f"/catalog/submissions/{sub.id}/district-return",
        data={"entry_id": str(entries[back.id]), "reason": " "},
        headers=HTML,
    )
    assert r.status_code == 400 and "退回时须说明理由" in r.text
    assert f'value="{entries[back.id]}" form="district-return" checked' in r.text
    r = district.post(
        f"/catalog/submissions/{sub.id}/district-return", data={"reason": "理由"}, headers=HTML
    )
    assert r.status_code == 400 and "请先勾选要退回的条目" in r.text
    r = district.post(
        f"/catalog/submissions/{sub.id}/district-return",
        data={"entry_id": str(entries[back.id]), "reason": "缺少共享条件"},
        headers=HTML,
    )
    assert r.status_code == 200 and "已将所选条目退回部门" in r.text
    assert "区县退回理由：缺少共享条件" in r.text
    # Another district's bureau and the department cannot return entries.
    for other in ("jb_admin", "yz_officer"):
        refused = sign_in(other).post(
            f"/catalog/submissions/{sub.id}/district-return",
            data={"entry_id": str(entries[keep.id]), "reason": "越权"},
            headers=HTML,
        )
        assert refused.status_code in (403, 404)
    session.expire_all()
    assert session.get(ReviewEntry, entries[keep.id]).status == EntryStatus.PENDING  # type: ignore[union-attr]
    # The department sees why.
    officer = sign_in("yz_officer")
    listing = officer.get(f"/catalog/departments/{world.yz_police}/list", headers=HTML).text
    assert "缺少共享条件" in listing

    queue = district.get("/catalog/review", headers=HTML).text
    assert "1 条待审，1 条已退回" in _table(queue, "district-pending")
    # Compiling nothing ticked is refused on the review page itself.
    r = district.post(f"/catalog/districts/{world.yuzhong}/compile", data={}, headers=HTML)
    assert r.status_code == 400 and "请先勾选要汇总报送的清单" in r.text
    r = district.post(
        f"/catalog/districts/{world.yuzhong}/compile",
        data={"submission_id": str(sub.id), "note": "渝中区第一批"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    compilation_url = r.headers["location"].split("?")[0]
    page = district.get(compilation_url, headers=HTML).text
    assert "渝中区第一批" in page and "渝中区公安分局" in page
    assert re.search(r'data-testid="forwarded-total">1 条', page)
    assert re.search(r'data-testid="returned-total">1 条', page)
    history = _table(district.get("/catalog/review", headers=HTML).text, "compilations")
    assert compilation_url in history
    # Scoped: another district's bureau and the department do not see it; the city does.
    assert sign_in("jb_admin").get(compilation_url, headers=HTML).status_code == 404
    assert officer.get(compilation_url, headers=HTML).status_code in (403, 404)
    city = sign_in("city")
    assert "渝中区第一批" in city.get(compilation_url, headers=HTML).text
    city_page = city.get(f"/catalog/submissions/{sub.id}", headers=HTML).text
    assert "区县退回理由：缺少共享条件" in city_page
    assert city_page.count('action="/catalog/entries/') == 1  # only the forwarded entry
    # Approve and return look different (green, red): not two buttons of the same colour.
    assert 'value="approve" class="approve">通过' in city_page
    assert 'value="return" class="danger">退回' in city_page


def test_a_decided_submission_leaves_the_queue_and_publishing_asks_first(
    sign_in, session, world: World
) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    service.create_resource(session, officer, world.police, person_resource("甲资源"))
    service.create_resource(session, officer, world.police, person_resource("乙资源"))
    sub = review.submit(session, officer, world.police)
    entries = list(session.scalars(select(ReviewEntry).where(ReviewEntry.submission_id == sub.id)))
    session.commit()
    city = sign_in("city")

    # Nothing approved: the button is disabled and says why; no error page.
    queue = city.get("/catalog/review", headers=HTML).text
    assert f"/catalog/submissions/{sub.id}" in _table(queue, "city-queue")
    assert "目前没有审核通过待发布的条目" in queue
    assert re.search(r'<button type="button" disabled[^>]*>发布新版目录</button>', queue)
    confirm = city.get("/catalog/publish", headers=HTML)
    assert confirm.status_code == 200 and "没有审核通过待发布的条目" in confirm.text
    assert 'name="confirm"' not in confirm.text
    r = city.post("/catalog/publish", data={"confirm": "yes"}, headers=HTML)
    assert r.status_code == 400 and "没有审核通过待发布的条目" in r.text
    assert "catalog.nothing_to_publish（HTTP 400）" not in r.text

    for entry, approve in zip(entries, (True, False), strict=True):
        city.post(
            f"/catalog/entries/{entry.id}/decide",
            data={
                "decision": "approve" if approve else "return",
                "reason": "" if approve else "重复",
            },
            headers=HTML,
        )
    queue = city.get("/catalog/review", headers=HTML).text
    # Every entry decided: out of the queue at once, listed as waiting for publication.
    assert f"/catalog/submissions/{sub.id}" not in _table(queue, "city-queue")
    decided = _table(queue, "decided-queue")
    assert f"/catalog/submissions/{sub.id}" in decided
    assert "已全部审核，1 条已通过，1 条已退回" in decided
    assert "新增 1 条、变更 0 条、撤销 0 条" in queue

    # A post that did not come from the confirmation page only leads to it.
    r = city.post("/catalog/publish", data={"note": "x"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/catalog/publish"
    session.expire_all()
    assert session.get(type(sub), sub.id).status == SubmissionStatus.PENDING_CITY  # type: ignore[union-attr]
    confirm = city.get("/catalog/publish", headers=HTML).text
    assert re.search(r'data-testid="count-added">1 条', confirm)
    assert re.search(r'data-testid="count-withdrawn">0 条', confirm)
    assert "第 1 版 1 条" in confirm and "确认发布第 1 版" in confirm
    # Only the city bureau publishes: the confirmation page is refused to others.
    assert sign_in("auditor").get("/catalog/publish", headers=HTML).status_code == 403
    assert sign_in("officer").get("/catalog/publish", headers=HTML).status_code == 403


def test_two_versions_are_chosen_and_compared(sign_in, session, world: World) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    names = ["甲资源", "乙资源", "丙资源"]
    for name in names:  # three versions, one resource added in each
        service.create_resource(session, officer, world.police, person_resource(name))
        review.submit(session, officer, world.police)
        for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
            review.decide(session, city, entry.id, approve=True)
        review.publish(session, city)
    session.commit()
    reader = sign_in("officer2")
    listing = reader.get("/catalog/versions", headers=HTML).text
    assert 'data-testid="compare-versions"' in listing
    assert 'action="/catalog/versions/compare"' in listing
    r = reader.get("/catalog/versions/compare?old=1&new=3", headers=HTML)
    assert r.status_code == 200
    assert "第 1 版 → 第 3 版" in r.text
    assert "新增 2 条、撤销 0 条、变更 0 条" in r.text
    assert "乙资源" in r.text and "丙资源" in r.text
    same = reader.get("/catalog/versions/compare?old=2&new=2", headers=HTML)
    assert same.status_code == 400 and "请选择两个不同的版本" in same.text
    assert reader.get("/catalog/versions/compare?old=1&new=7", headers=HTML).status_code == 404
    assert reader.get("/catalog/versions/compare?old=x&new=2", headers=HTML).status_code in (
        400,
        422,
    )
    assert 'data-testid="compare-versions"' in reader.get("/catalog/versions/3", headers=HTML).text


def _effect(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">(.*?)</p>', html, re.S)
    assert match, f"no {testid}"
    return match.group(1)


def test_withdrawing_and_deleting_say_what_they_will_do_first(
    sign_in, session, world: World
) -> None:  # type: ignore[no-untyped-def]
    from govdata.catalog import demands
    from govdata.catalog.schemas import DemandIn

    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    published = service.create_resource(session, officer, world.police, person_resource("甲资源"))
    review.submit(session, officer, world.police)
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    later = service.create_resource(session, officer, world.police, person_resource("新草稿"))
    demand = demands.create_demand(session, officer, world.police, DemandIn(title="婚姻登记信息"))
    session.commit()
    c = sign_in("officer")

    # The withdrawal sits behind a disclosure that states its effect; no JavaScript needed.
    page = c.get(f"/catalog/working/{later.id}", headers=HTML).text
    assert 'data-testid="withdraw-confirm"' in page and "<summary>撤销该资源…</summary>" in page
    assert "直接删除它及其 3 个信息项" in _effect(page, "withdraw-effect")
    page = c.get(f"/catalog/working/{published.id}", headers=HTML).text
    effect = _effect(page, "withdraw-effect")
    assert "含 3 个信息项" in effect and "移出政务数据资源目录" in effect
    page = c.get(f"/catalog/demands/{demand.id}", headers=HTML).text
    assert "删除尚未提交的需求“婚姻登记信息”（1 项）" in _effect(page, "delete-effect")
    # Who may not edit sees no such controls.
    other = sign_in("head").get(f"/catalog/working/{published.id}", headers=HTML).text
    assert 'data-testid="withdraw-confirm"' not in other


def test_the_district_history_pages_through_every_compilation(
    sign_in, session, world: World
) -> None:  # type: ignore[no-untyped-def]
    yz, admin = world.actor(session, "yz_officer"), world.actor(session, "yz_admin")
    for n in range(12):
        service.create_resource(session, yz, world.yz_police, company_resource(f"资源{n:02d}"))
        review.submit(session, yz, world.yz_police)
        review.compile_district(session, admin, world.yuzhong, note=f"第{n}批")
    session.commit()
    district = sign_in("yz_admin")
    queue = district.get("/catalog/review", headers=HTML).text
    assert _table(queue, "compilations").count("次汇总</a>") == 10  # the latest ten
    url = f"/catalog/districts/{world.yuzhong}/compilations"
    assert f'href="{url}"' in queue and "全部汇总报送记录（12）" in queue
    page = district.get(url, headers=HTML).text
    assert _table(page, "compilations").count("次汇总</a>") == 12 and "第0批" in page
    assert sign_in("jb_admin").get(url, headers=HTML).status_code == 404
    assert sign_in("yz_officer").get(url, headers=HTML).status_code in (403, 404)
