"""The resource form reports every problem at once, the database's too (an unknown related
code, a name already in the list), and its legal-basis field says when it is required
(Art. 25, 31; issue 16)."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from govdata.catalog import service
from govdata.catalog.pages.form_values import legal_basis_required
from tests.catalog.factories import person_resource
from tests.catalog.test_pages import _form, _resources
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _error(html: str) -> str:
    match = re.search(r'data-testid="form-error">([^<]*)<', html)
    assert match, "no form error"
    return match.group(1)


def test_rules_and_database_problems_come_in_one_answer(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    service.create_resource(
        session, world.actor(session, "officer"), world.police, person_resource("出入境证件信息")
    )
    session.commit()
    before = _resources(session)
    r = sign_in("officer").post(
        f"/catalog/departments/{world.police}/resources",
        data=_form(legal_basis="", related_codes="NO-SUCH-CODE"),
        headers=HTML,
    )
    assert r.status_code == 422
    message = _error(r.text)
    assert message.startswith("填写内容有 4 处问题："), message
    for part in (
        "政策依据（第二十五条）",  # the rules
        "国家有关文件依据（第三十一条）",
        "关联资源代码不存在：NO-SUCH-CODE",  # the database
        "已有名为“出入境证件信息”的资源",
    ):
        assert part in message, part
    assert _resources(session) == before


def test_a_database_problem_alone_is_reported_with_its_code(session: Session, world: World) -> None:
    found = service.lookup_problems(
        session, world.police, name="任意名称", related_codes=["A-1", "A-1", "B-2"]
    )
    assert [(p.code, p.field) for p in found] == [("catalog.related_code_unknown", "related_codes")]
    assert "A-1、B-2" in found[0].message
    assert service.lookup_problems(session, world.police, name="", related_codes=[]) == []


def test_editing_reports_its_own_code_as_a_problem(sign_in, session: Session, world: World) -> None:  # type: ignore[no-untyped-def]
    res = service.create_resource(
        session, world.actor(session, "officer"), world.police, person_resource("户籍人口信息")
    )
    session.commit()
    r = sign_in("officer").post(
        f"/catalog/working/{res.id}",
        data=_form(name="户籍人口信息", related_codes=res.code, share_conditions=""),
        headers=HTML,
    )
    assert r.status_code == 422
    message = _error(r.text)
    assert "须写明共享条件（第二十四条）" in message
    assert "关联资源代码不能是本资源自身" in message
    assert "已有名为" not in message  # its own name is not "taken"


def _marker(html: str) -> bool:
    tag = re.search(r'<strong[^>]*data-testid="legal-basis-required"[^>]*>', html)
    assert tag, "no legal-basis marker"
    return " hidden" not in tag.group(0)


def test_the_legal_basis_label_says_when_it_is_required(sign_in, world: World) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    page = c.get(f"/catalog/departments/{world.police}/resources/new", headers=HTML).text
    # The defaults are 有条件共享 and 不予开放: required from the start, and the rule is stated.
    assert _marker(page)
    assert (
        "有条件共享、不予共享（第二十五条）" in page
        and "有条件开放、不予开放（第三十一条）" in page
    )
    assert 'src="/static/resource_form.js"' in page
    assert c.get("/static/resource_form.js").status_code == 200
    # A refused form shows the marker as its values require.
    open_form = _form(
        name="甲", share_type="unconditional", open_type="unconditional", legal_basis=""
    )
    r = c.post(f"/catalog/departments/{world.police}/resources", data=open_form, headers=HTML)
    assert r.status_code == 422 and not _marker(r.text)
    item_none = {**open_form, "item_open": ["none", "", ""]}
    r = c.post(f"/catalog/departments/{world.police}/resources", data=item_none, headers=HTML)
    assert r.status_code == 422 and _marker(r.text)


def test_legal_basis_required_follows_the_rule() -> None:
    item = {"name": "证件号码", "share_type": "", "open_type": ""}
    free = {"share_type": "unconditional", "open_type": "unconditional"}
    assert not legal_basis_required(free, [item])
    assert legal_basis_required({**free, "share_type": "conditional"}, [item])
    assert legal_basis_required({**free, "open_type": "none"}, [item])
    assert legal_basis_required(free, [{**item, "share_type": "none"}])
    # a blank item row (not saved) does not count
    assert not legal_basis_required(free, [{"name": " ", "share_type": "none", "open_type": ""}])
