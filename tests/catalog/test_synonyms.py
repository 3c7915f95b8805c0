"""Search synonyms the city bureau keeps (检索同义词), used by the catalog's search and the open
portal's alike (Art. 12 ¶3, 32; issue 16)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import search, synonyms
from govdata.catalog.models import SearchSynonym
from govdata.catalog.synonyms import Expansions
from govdata.core.audit import AuditEvent
from govdata.core.errors import DomainError
from govdata.opendata import search as open_search
from tests.catalog.factories import READER, person_resource
from tests.catalog.test_search import _codes, _publish
from tests.opendata.helpers import build_open_city
from tests.world import World


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(SearchSynonym)) or 0)


def test_groups_take_the_longest_listed_run_of_terms() -> None:
    ex = Expansions(
        {
            ("社保",): (("社会", "保险"),),
            ("身份证",): (("公民", "身份", "号码"), ("居民身份证",)),
            ("不动产", "登记"): (("房产", "登记"),),
        }
    )
    assert ex.groups(["社保", "缴费"]) == [
        (("社保",), ("社会", "保险")),
        (("缴费",),),
    ]
    assert ex.groups(["不动产", "登记", "身份证"]) == [
        (("不动产", "登记"), ("房产", "登记")),
        (("身份证",), ("公民", "身份", "号码"), ("居民身份证",)),
    ]
    assert ex.groups(["不动产"]) == [(("不动产",),)]  # a part of a listed run is itself


def test_the_bureau_keeps_the_list_and_each_change_is_audited(
    session: Session, world: World
) -> None:  # Art. 12 ¶3
    city = world.actor(session, "city")
    (row,) = synonyms.add(session, city, " 社保 ", "社会保险")
    assert (row.word, row.expansion) == ("社保", "社会保险")
    both = synonyms.add(session, city, "身份证", "公民身份号码", both_ways=True)
    assert {(r.word, r.expansion) for r in both} == {
        ("身份证", "公民身份号码"),
        ("公民身份号码", "身份证"),
    }
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "search_synonym")
    ).all()
    assert actions == ["catalog.synonym.add"] * 3
    synonyms.remove(session, city, row.id)
    assert _count(session) == 2
    assert session.scalar(
        select(AuditEvent.summary).where(AuditEvent.action == "catalog.synonym.remove")
    ) == ("删除检索同义词：社保 → 社会保险")


@pytest.mark.parametrize("who", ["officer", "yz_admin", "auditor", "citizen"])
def test_only_the_city_bureau_changes_the_list(session: Session, world: World, who: str) -> None:
    city = world.actor(session, "city")
    (row,) = synonyms.add(session, city, "社保", "社会保险")
    actor = world.actor(session, who)
    with pytest.raises(DomainError) as exc:
        synonyms.add(session, actor, "医保", "医疗保险")
    assert (exc.value.status, exc.value.code) == (403, "catalog.synonyms_bureau_only")
    with pytest.raises(DomainError):
        synonyms.remove(session, actor, row.id)
    assert _count(session) == 1


@pytest.mark.parametrize(
    ("word", "expansion", "code"),
    [
        ("", "社会保险", "catalog.synonym_empty"),
        ("社保", "   ", "catalog.synonym_empty"),
        ("社" * 51, "社会保险", "catalog.synonym_too_long"),
        ("社\x00保", "社会保险", "catalog.synonym_control"),
        ("——", "社会保险", "catalog.synonym_unsearchable"),
        ("社保", "社保", "catalog.synonym_same"),
        ("社保", "社会保险", "catalog.synonym_exists"),
    ],
)
def test_bad_input_is_refused_in_zh_cn_and_nothing_is_written(
    session: Session, world: World, word: str, expansion: str, code: str
) -> None:
    city = world.actor(session, "city")
    synonyms.add(session, city, "社保", "社会保险")
    with pytest.raises(DomainError) as exc:
        synonyms.add(session, city, word, expansion)
    assert exc.value.code == code
    assert any("\u4e00" <= c <= "\u9fff" for c in exc.value.message)
    assert _count(session) == 1


def test_the_catalog_search_finds_a_resource_by_a_synonym(session: Session, world: Any) -> None:
    (insurance,) = _publish(
        session, world, ("officer", "police", person_resource("社会保险缴费信息"))
    )
    assert search.search(session, READER, "社保").total == 0
    synonyms.add(session, world.actor(session, "city"), "社保", "社会保险")
    assert _codes(search.search(session, READER, "社保")) == [insurance.code]
    # Every group is still required: the synonym does not loosen the other terms.
    assert _codes(search.search(session, READER, "社保 缴费")) == [insurance.code]
    assert search.search(session, READER, "社保 核酸").total == 0
    # One way only, unless the bureau adds the reverse.
    assert search.search(session, READER, "社会保险").total == 1


def test_the_open_portal_search_uses_the_same_list(session: Session, world: World) -> None:
    oc = build_open_city(session, world)
    assert open_search.search(session, "户口").total == 0
    synonyms.add(session, world.actor(session, "city"), "户口", "户籍")
    page = open_search.search(session, "户口")
    assert [d.code for d in page.hits] == [oc.person.code]
    assert page.facets["department"] == {"500000-007": 1}


# --- the page ------------------------------------------------------------------------------------


def test_the_page_lets_the_bureau_add_and_remove(sign_in: Any, session: Session) -> None:
    c = sign_in("city")
    page = c.get("/catalog/synonyms")
    assert page.status_code == 200 and 'data-testid="synonym-form"' in page.text
    r = c.post(
        "/catalog/synonyms",
        data={"word": "社保", "expansion": "社会保险", "both_ways": "1"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "已添加检索同义词" in r.text
    assert r.text.count("社会保险") >= 2
    # Bad input: the message in zh-CN, what was typed kept, nothing written.
    r = c.post(
        "/catalog/synonyms",
        data={"word": "社保", "expansion": "社会保险"},
    )
    assert r.status_code == 409 and "已在同义词表中" in r.text
    session.expire_all()
    assert _count(session) == 2
    row = session.scalars(select(SearchSynonym).order_by(SearchSynonym.id)).first()
    assert row is not None
    r = c.post(f"/catalog/synonyms/{row.id}/delete", follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert _count(session) == 1


def test_others_read_the_list_but_get_no_form_and_are_refused(
    sign_in: Any, session: Session, world: World
) -> None:
    synonyms.add(session, world.actor(session, "city"), "社保", "社会保险")
    session.commit()
    c = sign_in("officer")
    page = c.get("/catalog/synonyms")
    assert page.status_code == 200 and "社会保险" in page.text
    assert "synonym-form" not in page.text and "/delete" not in page.text
    r = c.post(
        "/catalog/synonyms",
        data={"word": "医保", "expansion": "医疗保险"},
    )
    assert r.status_code == 403 and "只有市数据主管部门" in r.text
    session.expire_all()
    assert _count(session) == 1
