"""A base's full rebuild and removing a base item are confirmed on a page that says what they
will do, with counts (issue 16); the first GET or unconfirmed POST changes nothing, the confirmed
POST acts (Art. 16, 17 ¶2, 18)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import base, thematic
from govdata.aggregation.models import BaseItem, BaseKind
from govdata.core.audit import AuditEvent
from govdata.core.errors import NotFound, PermissionDenied
from tests.aggregation.base_helpers import build_city
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}
PAGE = "/aggregation/base/person"


def _builds(session: Session) -> int:
    session.expire_all()
    stmt = select(AuditEvent).where(AuditEvent.action == "aggregation.base.build")
    return len(list(session.scalars(stmt)))


def _testid(html: str, name: str) -> str:
    m = re.search(rf'data-testid="{name}">(.*?)</', html, re.S)
    assert m is not None, name
    return m.group(1)


def test_the_build_preview_counts_sources_rows_and_dependents(
    session: Session, world: World
) -> None:
    c = build_city(session, world)
    officer = world.actor(session, "officer")
    base.build(session, officer, BaseKind.PERSON)
    thematic.define(
        session,
        officer,
        world.police,
        name="户籍人口专题",
        description="",
        definition={"base_kind": "person", "base_items": ["姓名"]},
    )
    p = base.build_preview(session, officer, "person")
    assert p.items == 3 and p.rows_now == 4 and p.built_at is not None
    by_code = {s.resource_code: s for s in p.sources}
    assert set(by_code) == {c.police_res.code, c.market_res.code}
    assert by_code[c.police_res.code].items == ["姓名", "出生日期"]
    assert by_code[c.police_res.code].rows == 3 and by_code[c.market_res.code].rows == 3
    assert p.open_conflicts == 1 and p.thematic == ["户籍人口专题"]
    try:
        base.build_preview(session, world.actor(session, "officer2"), "person")
    except PermissionDenied as err:
        assert err.code == "aggregation.cannot_manage_base"
    else:
        raise AssertionError("another department previewed a rebuild of a base it does not keep")


def test_the_remove_preview_counts_values_and_conflicts(session: Session, world: World) -> None:
    build_city(session, world)
    officer = world.actor(session, "officer")
    p = base.remove_item_preview(session, officer, "person", "姓名")
    assert (
        p.values == 3 and p.open_conflicts == 1
    )  # K1–K3: the police hold their names and p.item.resource_name == "户籍人口基本信息"
    try:
        base.remove_item_preview(session, officer, "person", "不存在的项")
    except NotFound as err:
        assert err.code == "aggregation.base_item_not_found"
    else:
        raise AssertionError("an unknown item was previewed")


def test_the_rebuild_is_confirmed_with_counts_first(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in
) -> None:
    build_city(session, world)
    session.commit()
    officer = sign_in("officer")
    r = officer.get(PAGE, headers=HTML)
    assert f'href="{PAGE}/build" data-testid="rebuild"' in r.text
    assert f'action="{PAGE}/build"' not in r.text  # the base page posts nothing itself
    before = _builds(session)
    for first in (officer.get(f"{PAGE}/build", headers=HTML), officer.post(f"{PAGE}/build")):
        assert first.status_code == 200
        assert (
            _testid(first.text, "count-sources") == "2"
            and _testid(first.text, "count-items") == "3"
        )
        assert _testid(first.text, "count-rows") == "4 个"
        assert "1 个" in _testid(first.text, "count-conflicts")
        assert 'name="confirm" value="yes"' in first.text and "确认全量重建" in first.text
    assert _builds(session) == before  # nothing done yet
    r = officer.post(f"{PAGE}/build", data={"confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?msg=built"
    assert _builds(session) == before + 1
    r = officer.get(f"{PAGE}/build", headers=HTML)
    assert _testid(r.text, "built-at") != "尚未构建"
    # From the refused side: another department's officer, and no CSRF token.
    other = sign_in("officer2")
    assert other.get(f"{PAGE}/build", headers=HTML).status_code == 403
    r = other.post(f"{PAGE}/build", data={"confirm": "yes"}, headers=HTML)
    assert r.status_code == 403 and "牵头建设部门" in r.text
    assert officer.client.post(f"{PAGE}/build", data={"confirm": "yes"}).status_code == 403
    assert _builds(session) == before + 1


def test_removing_an_item_is_confirmed_with_counts_first(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in
) -> None:
    build_city(session, world)
    session.commit()
    officer = sign_in("officer")
    r = officer.get(PAGE, headers=HTML)
    link = re.search(r'href="([^"]+)" data-testid="remove-item">', r.text)
    assert link is not None and "name=%E5%A7%93%E5%90%8D" in r.text  # 姓名
    first = officer.post(f"{PAGE}/items/remove", data={"name": "姓名"})
    assert first.status_code == 200 and _testid(first.text, "count-values") == "3"
    assert _testid(first.text, "count-conflicts") == "1"
    session.expire_all()
    names = {i.name for i in session.scalars(select(BaseItem))}
    assert "姓名" in names  # nothing done yet
    r = officer.get(f"{PAGE}/items/remove?name=不存在的项", headers=HTML)
    assert r.status_code == 404 and "没有基础信息项" in r.text
    r = officer.post(
        f"{PAGE}/items/remove", data={"name": "姓名", "confirm": "yes"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?msg=item_removed"
    session.expire_all()
    assert "姓名" not in {i.name for i in session.scalars(select(BaseItem))}
