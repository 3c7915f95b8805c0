"""The code lists page (/catalog/vocabularies) and the resource form, API and pages under the
bureau's current security levels (issue 16)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import service, vocabularies
from govdata.catalog.models import Resource, VocabularyVersion
from govdata.catalog.vocabularies import SECURITY_LEVEL
from tests.catalog.factories import person_resource
from tests.catalog.test_vocabularies import _adopt_gbt, _rows
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _gbt_form() -> dict[str, Any]:
    """The bureau's form: the four v1 rows retired onto three new rows (targets by label)."""
    return {
        "position": ["1", "2", "3", "4", "1", "2", "3"],
        "code": ["public", "internal", "sensitive", "restricted", "general", "important", "core"],
        "label": ["公开", "内部", "敏感", "受限", "一般", "重要", "核心"],
        "retire": ["public", "internal", "sensitive", "restricted"],
        "map_public": "一般",
        "map_internal": "general",
        "map_sensitive": "重要",
        "map_restricted": "核心",
        "default_code": "",
        "note": "按 GB/T 43697 调整",
    }


def test_the_bureau_publishes_a_version_and_applies_the_mapping(
    sign_in: Any, session: Session, world: World
) -> None:
    officer = world.actor(session, "officer")
    made = service.create_resource(session, officer, world.police, person_resource())
    session.commit()
    c = sign_in("city")
    page = c.get("/catalog/vocabularies", headers=HTML)
    assert page.status_code == 200 and 'data-testid="vocab-form"' in page.text
    assert "现行版本：第 1 版" in page.text and "没有资源使用已停用的取值" in page.text
    r = c.post("/catalog/vocabularies/security_level", data=_gbt_form(), headers=HTML)
    assert r.status_code == 200 and r.text.count("已发布代码表的新版本") == 1
    assert "现行版本：第 2 版" in r.text
    assert 'data-testid="vocab-flagged"' in r.text and "按对应关系更新 1 条资源" in r.text
    session.expire_all()
    vocab = vocabularies.current(session, SECURITY_LEVEL)
    assert [e.label for e in vocab.active] == ["一般", "重要", "核心"]
    assert vocab.mapping["sensitive"] == "important" and vocab.mapping["public"] == "general"
    # The officer's pages: the old value readable and flagged, the form offers the new list.
    o = sign_in("officer")
    todo = o.get("/catalog/vocabularies", headers=HTML).text
    assert 'data-testid="vocab-flagged-resources"' in todo
    assert f'href="/catalog/working/{made.id}/edit">户籍人口基本信息</a>' in todo
    assert "按对应关系更新" not in todo  # the bureau's button only
    other = sign_in("officer2").get("/catalog/vocabularies", headers=HTML).text
    assert "户籍人口基本信息" not in other  # another department's resource is not listed
    assert 'data-testid="vocab-flagged-none"' in other  # nor counted
    # An auditor reads the to-do list; its links lead to the resource, not to a form it may
    # not submit.
    audit = sign_in("auditor").get("/catalog/vocabularies", headers=HTML).text
    assert f'href="/catalog/working/{made.id}">户籍人口基本信息</a>' in audit
    assert f"/catalog/working/{made.id}/edit" not in audit
    working = o.get(f"/catalog/working/{made.id}", headers=HTML).text
    assert "敏感（已停用）" in working
    form = o.get(f"/catalog/working/{made.id}/edit", headers=HTML).text
    assert '<option value="important">重要</option>' in form
    assert 'value="sensitive" selected>敏感（已停用，请改选）' in form
    assert '<option value="public"' not in form
    new = o.get(f"/catalog/departments/{world.police}/resources/new", headers=HTML).text
    assert '<option value="general" selected>一般</option>' in new  # the list's default
    # Applying the mapping: the count shown, then the change.
    r = c.post("/catalog/vocabularies/security_level/apply", data={"expected": "1"}, headers=HTML)
    assert r.status_code == 200 and "已按对应关系更新资源" in r.text
    session.expire_all()
    assert session.get(Resource, made.id).security_level == "important"  # type: ignore[union-attr]


def test_bad_input_on_the_page_keeps_what_was_typed(
    sign_in: Any, session: Session, world: World
) -> None:
    before = _rows(session)
    c = sign_in("city")
    data = {**_gbt_form(), "map_sensitive": ""}
    r = c.post("/catalog/vocabularies/security_level", data=data, headers=HTML)
    assert r.status_code == 400
    assert "停用“敏感”须说明原有数据改为哪个取值" in r.text
    assert 'value="核心"' in r.text and 'value="按 GB/T 43697 调整"' in r.text
    r = c.post(
        "/catalog/vocabularies/security_level",
        data={**_gbt_form(), "position": ["1", "2", "3", "4", "x", "2", "3"]},
        headers=HTML,
    )
    assert r.status_code == 400 and "顺序“x”不是数字" in r.text
    session.expire_all()
    assert _rows(session) == before


def test_others_read_the_lists_and_are_refused_changes(
    sign_in: Any, session: Session, world: World
) -> None:
    _adopt_gbt(session, world)
    service.create_resource(
        session,
        world.actor(session, "officer"),
        world.police,
        person_resource(security_level="core"),
    )
    session.commit()
    before = _rows(session)
    for who in ("officer", "yz_admin", "auditor"):
        c = sign_in(who)
        page = c.get("/catalog/vocabularies", headers=HTML)
        assert page.status_code == 200 and "一般" in page.text and "第 2 版" in page.text
        assert "vocab-form" not in page.text and "vocab-apply" not in page.text
        r = c.post("/catalog/vocabularies/security_level", data=_gbt_form(), headers=HTML)
        assert r.status_code == 403 and "只有市数据主管部门可以维护代码表" in r.text
        r = c.post("/catalog/vocabularies/security_level/apply", headers=HTML)
        assert r.status_code == 403
    session.expire_all()
    assert _rows(session) == before
    assert sign_in("citizen").get("/catalog/vocabularies", headers=HTML).status_code == 403


def test_the_api_checks_the_current_version(sign_in: Any, session: Session, world: World) -> None:
    _adopt_gbt(session, world)
    session.commit()
    officer = sign_in("officer")
    body = person_resource().model_dump(mode="json", exclude_none=True)
    r = officer.post(f"/api/v1/catalog/departments/{world.police}/resources", json=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "catalog.vocab_value_retired" and "重要" in err["message"]
    r = officer.post(
        f"/api/v1/catalog/departments/{world.police}/resources",
        json={**body, "security_level": "important"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["security_level"] == "important"
    session.expire_all()
    assert (
        session.scalar(
            select(func.count())
            .select_from(VocabularyVersion)
            .where(VocabularyVersion.list_name == SECURITY_LEVEL)
        )
        == 2
    )
