"""Broad words answered ahead when the index changes (``search_broad``; issue 16): the stored
answer is the query's own answer for the version searched, never another's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import search, search_broad, segmentation, synonyms
from govdata.catalog.models import BroadTermAnswer
from govdata.catalog.versions import CatalogFilter, get_version
from tests.catalog.factories import READER, company_resource, person_resource
from tests.catalog.test_search import _codes, _publish


@pytest.fixture
def every_word_is_broad(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test catalogs are small: every word of two or more resources counts as broad.
    monkeypatch.setattr(search_broad, "BROAD_MIN_DOCS", 2)
    monkeypatch.setattr(search_broad, "BROAD_SHARE", 0.0)


def _stored(session: Session) -> dict[str, BroadTermAnswer]:
    return {a.term: a for a in session.scalars(select(BroadTermAnswer))}


def _live(session: Session, q: str, offset: int = 0, limit: int = 20) -> tuple[Any, list[str]]:
    groups = [((t,),) for t in segmentation.query_terms(q)]
    facets, hits = search.run_query(session, groups, None, offset, limit)
    return facets, [h.code for h in hits]


def test_a_broad_word_reads_the_answer_its_query_gives(
    session: Session, world: Any, every_word_is_broad: None
) -> None:
    _publish(
        session,
        world,
        ("officer", "police", person_resource("户籍人口基本信息")),
        ("officer", "police", person_resource("流动人口登记信息")),
        ("officer2", "market", company_resource("市场主体登记信息")),
    )
    stored = _stored(session)
    version = get_version(session)
    # Words of two or more resources, and the item name 公民身份号码 (three terms to jieba).
    assert {"信息", "登记", "公民 身份 号码"} <= set(stored)
    assert all(a.version_id == version.id for a in stored.values())
    for q in ("信息", "登记", "公民身份号码"):
        result = search.search(session, READER, q)
        facets, codes = _live(session, q)
        assert (_codes(result), result.facets, result.total) == (
            codes,
            facets,
            sum(facets["department_id"].values()),
        ), q
    # The stored answer is what is read (a tampered one shows through), for the first pages.
    stored["登记"].facets = {**stored["登记"].facets, "format": {"marker": 1}}
    session.flush()
    assert search.search(session, READER, "登记").facets["format"] == {"marker": 1}
    # A filter, a later page, another word or a synonym runs the query itself.
    flt = CatalogFilter(share_type="unconditional")
    assert search.search(session, READER, "登记", flt).facets["format"] != {"marker": 1}
    assert search.search(session, READER, "登记 流动").facets["format"] != {"marker": 1}
    groups = [(("登记",),)]
    assert search_broad.answer(session, version.id, groups, None, 0, 20) is not None
    assert search_broad.answer(session, version.id, groups, None, search_broad.TOP, 20) is None
    synonyms.add(session, world.actor(session, "city"), "登记", "注册")
    assert search.search(session, READER, "登记").facets["format"] != {"marker": 1}


def test_answers_follow_every_publication(
    session: Session, world: Any, every_word_is_broad: None
) -> None:
    _publish(
        session,
        world,
        ("officer", "police", person_resource("户籍人口基本信息")),
        ("officer", "police", person_resource("流动人口登记信息")),
    )
    first = get_version(session)
    assert search.search(session, READER, "信息").total == 2
    (company,) = _publish(
        session, world, ("officer2", "market", company_resource("市场主体登记信息"))
    )
    second = get_version(session)
    assert second.id != first.id
    assert {a.version_id for a in _stored(session).values()} == {second.id}
    result = search.search(session, READER, "信息")
    assert result.total == 3 and company.code in _codes(result)


def test_nothing_is_answered_ahead_below_the_threshold(session: Session, world: Any) -> None:
    _publish(session, world, ("officer", "police", person_resource("户籍人口基本信息")))
    assert _stored(session) == {}
    assert search.search(session, READER, "信息").total == 1


def test_rebuild_answers_too(session: Session, world: Any, every_word_is_broad: None) -> None:
    _publish(
        session,
        world,
        ("officer", "police", person_resource("户籍人口基本信息")),
        ("officer", "police", person_resource("流动人口登记信息")),
    )
    session.execute(BroadTermAnswer.__table__.delete())
    search.rebuild(session)
    assert "信息" in _stored(session)
