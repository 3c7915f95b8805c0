"""Chinese full-text search over the published catalog, at the service level.

Search serves finding resources in the published catalog (Art. 12 ¶3), the share catalog
(Art. 26) and the open catalog (Art. 32); only the current version is searched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from govdata.catalog import review, search, segmentation, service, versions
from govdata.catalog.models import ReviewEntry, SubmissionStatus
from govdata.catalog.schemas import InfoItemIn
from govdata.catalog.versions import SHARE_CATALOG, CatalogFilter
from govdata.core.errors import InvalidInput, NotFound
from tests.catalog.factories import READER, company_resource, person_resource

ROOT = Path(__file__).resolve().parents[2]


def _approve_all_and_publish(session, world) -> None:  # type: ignore[no-untyped-def]
    city = world.actor(session, "city")
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)


def _publish(session, world, *specs):  # type: ignore[no-untyped-def]
    """Create resources (``(username, department key, ResourceIn)``), submit, approve, publish."""
    made = []
    for username, dept, data in specs:
        actor = world.actor(session, username)
        made.append(service.create_resource(session, actor, getattr(world, dept), data))
    for username, dept in dict.fromkeys((u, d) for u, d, _ in specs):
        sub = review.submit(session, world.actor(session, username), getattr(world, dept))
        if sub.status == SubmissionStatus.PENDING_DISTRICT:  # Art. 12 ¶1: via the district
            assert sub.region_id == world.yuzhong
            review.compile_district(session, world.actor(session, "yz_admin"), sub.region_id)
    _approve_all_and_publish(session, world)
    return made


def _codes(result: search.SearchResult) -> list[str]:
    return [r.code for r in result.hits]


# --- segmentation ------------------------------------------------------------------------------


def test_segment_lowercases_drops_punctuation_and_folds_full_width() -> None:
    assert segmentation.segment("户籍人口基本信息") == ["户籍", "人口", "基本", "信息"]
    # cut_for_search also yields the words inside a long word.
    assert {"流动", "人口", "流动人口"} <= set(segmentation.segment("流动人口"))
    assert segmentation.segment("COVID-19（新冠）、ＡＢＣ１２３！") == [
        "covid",
        "19",
        "新冠",
        "abc123",
    ]
    assert segmentation.segment(' ，。!?"*-() ') == []


def test_jieba_loads_without_a_cache_directory() -> None:
    # No private writable temp directory: the dictionary is built in memory, no cache file.
    tokenizer = segmentation._load_tokenizer(None)
    assert list(tokenizer.cut("不动产登记")) == ["不动产", "登记"]


def test_no_cache_directory_when_the_temp_directory_is_unusable(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    monkeypatch.setattr(segmentation.tempfile, "gettempdir", lambda: str(not_a_dir))
    assert segmentation._private_cache_dir() is None
    monkeypatch.setattr(segmentation.tempfile, "gettempdir", lambda: str(tmp_path))
    shared = tmp_path / f"govdata-jieba-{os.getuid()}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)  # someone else could plant a cache here: not used
    assert segmentation._private_cache_dir() is None
    shared.chmod(0o700)
    assert segmentation._private_cache_dir() == str(shared)


def test_first_load_is_quiet_and_needs_no_home(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = dict(os.environ, HOME="/nonexistent", TMPDIR=str(tmp_path))
    code = (
        "from govdata.catalog.segmentation import segment; print(' '.join(segment('不动产登记')))"
    )
    for _ in range(2):  # builds the cache, then loads it
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.split() == ["不动", "动产", "不动产", "登记"]
        assert out.stderr == ""
    assert (tmp_path / f"govdata-jieba-{os.getuid()}" / "jieba.cache").is_file()


# --- queries -----------------------------------------------------------------------------------


def test_an_abstract_word_and_an_info_item_name_find_the_resource(session, world) -> None:  # type: ignore[no-untyped-def]
    dogs, other = _publish(
        session,
        world,
        (
            "officer",
            "police",
            person_resource(
                "养犬登记信息",
                abstract="记录本市犬只的免疫接种和年检情况。",
                items=[
                    InfoItemIn(name="公民身份号码", data_type="C", length=18, is_subject_key=True),
                    InfoItemIn(name="犬只芯片编号", data_type="C", length=32),
                ],
            ),
        ),
        ("officer", "police", person_resource("户籍人口基本信息")),
    )
    for q in ("免疫接种", "免疫", "芯片编号", "芯片", "养犬", "犬只 年检"):
        result = search.search(session, READER, q)
        assert _codes(result) == [dogs.code], q
        assert result.total == 1 and result.version.number == 1
    # A word both have, and one neither has.
    assert set(_codes(search.search(session, READER, "公民身份号码"))) == {dogs.code, other.code}
    assert search.search(session, READER, "核酸检测").total == 0
    # Case and full-width forms do not matter.
    assert (
        search.search(session, READER, "ＰｏｓｔｇｒｅＳＱＬ").total == 0
    )  # format subtype: not indexed


def test_filters_and_facets(session, world) -> None:  # type: ignore[no-untyped-def]
    p1, p2, m1 = _publish(
        session,
        world,
        ("officer", "police", person_resource("户籍人口登记信息")),
        ("officer", "police", person_resource("流动人口登记信息", update_cycle="monthly")),
        ("officer2", "market", company_resource("市场主体登记信息")),
    )
    result = search.search(session, READER, "登记")
    assert result.total == 3
    assert result.facets["department_id"] == {str(world.police): 2, str(world.market): 1}
    assert result.facets["category"] == {"basic": 2, "department": 1}
    assert result.facets["share_type"] == {"unconditional": 3}
    assert result.facets["open_type"] == {"none": 2, "unconditional": 1}
    assert result.facets["update_cycle"] == {"daily": 1, "monthly": 1, "weekly": 1}
    assert result.facets["format"] == {"database": 2, "spreadsheet": 1}
    assert set(result.facets) == set(search.FACETS)

    market = search.search(session, READER, "登记", CatalogFilter(department_id=world.market))
    assert _codes(market) == [m1.code]
    assert market.facets["department_id"] == {str(world.market): 1}  # over the matching set
    monthly = search.search(session, READER, "人口", CatalogFilter(update_cycle="monthly"))
    assert _codes(monthly) == [p2.code]
    opened = search.search(session, READER, "登记", CatalogFilter(open_type="unconditional"))
    assert _codes(opened) == [m1.code]
    assert search.search(session, READER, "登记", CatalogFilter(format="image")).facets == {
        f: {} for f in search.FACETS
    }
    share = search.search(session, READER, "登记", CatalogFilter(share_types=SHARE_CATALOG))
    assert share.total == 3  # the share catalog (Art. 26) searched the same way
    city_only = search.search(session, READER, "登记", CatalogFilter(region_id=world.city))
    assert city_only.total == 3 and city_only.facets["region_id"] == {str(world.city): 3}

    # Pages: total stays, hits are the requested slice, in the same order.
    everything = _codes(search.search(session, READER, "登记", limit=10))
    assert _codes(search.search(session, READER, "登记", offset=1, limit=1)) == everything[1:2]
    beyond = search.search(session, READER, "登记", offset=10)
    assert beyond.hits == [] and beyond.total == 3
    assert sorted(everything) == sorted([p1.code, p2.code, m1.code])


def test_a_name_match_ranks_first_and_ties_go_by_code(session, world) -> None:  # type: ignore[no-untyped-def]
    in_abstract, in_items, in_name, tie_a, tie_b = _publish(
        session,
        world,
        ("officer", "police", person_resource("甲类人员信息", abstract="含驾驶证的准驾车型。")),
        (
            "officer",
            "police",
            person_resource(
                "乙类人员信息",
                items=[
                    InfoItemIn(name="公民身份号码", data_type="C", length=18, is_subject_key=True),
                    InfoItemIn(name="驾驶证号", data_type="C", length=20),
                ],
            ),
        ),
        ("officer", "police", person_resource("驾驶证信息", abstract="机动车驾驶人信息。")),
        ("officer", "police", person_resource("丙类档案", abstract="户籍档案。")),
        ("officer", "police", person_resource("丁类档案", abstract="户籍档案。")),
    )
    # Codes were issued in creation order, so code order alone would put the abstract first.
    assert in_abstract.code < in_items.code < in_name.code
    assert _codes(search.search(session, READER, "驾驶证")) == [
        in_name.code,
        in_items.code,
        in_abstract.code,
    ]
    assert _codes(search.search(session, READER, "户籍档案")) == [tie_a.code, tie_b.code]


def test_only_the_current_version_is_searched(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    with pytest.raises(NotFound) as nothing:
        search.search(session, READER, "户籍")
    assert nothing.value.code == "catalog.no_published_version"

    keep, change, drop = _publish(
        session,
        world,
        ("officer", "police", person_resource("甲资源", abstract="关于出入境证件的记录。")),
        ("officer", "police", person_resource("乙资源", abstract="关于暂住登记的记录。")),
        ("officer", "police", person_resource("丙资源", abstract="关于枪支管理的记录。")),
    )
    draft = service.create_resource(
        session, officer, world.police, person_resource("丁资源", abstract="关于枪支弹药的记录。")
    )
    assert _codes(search.search(session, READER, "枪支")) == [
        drop.code
    ]  # the draft is not published

    service.update_resource(
        session, officer, change.id, person_resource("乙资源", abstract="关于居住证办理的记录。")
    )
    service.withdraw_resource(session, officer, drop.id)
    review.submit(session, officer, world.police)
    # Submitted, even approved, is not yet published: the old texts still match.
    city = world.actor(session, "city")
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    assert _codes(search.search(session, READER, "暂住")) == [change.code]
    assert search.search(session, READER, "居住证").total == 0
    assert search.search(session, READER, "弹药").total == 0

    review.publish(session, city)
    result = search.search(session, READER, "居住证")
    assert _codes(result) == [change.code] and result.version.number == 2
    assert search.search(session, READER, "暂住").total == 0  # the old revision's text is gone
    assert _codes(search.search(session, READER, "枪支")) == [draft.code]  # the retired one is gone
    assert _codes(search.search(session, READER, "出入境")) == [keep.code]  # carried over
    assert _codes(search.search(session, READER, "弹药")) == [draft.code]

    # A full rebuild gives the same index.
    assert search.rebuild(session) == 3  # 甲, 乙 and 丁; 丙 is retired
    assert _codes(search.search(session, READER, "居住证")) == [change.code]
    assert search.search(session, READER, "暂住").total == 0
    assert search.search(session, READER, "记录").total == 3


def test_reindex_of_nothing_or_unknown_ids_is_harmless(session, world) -> None:  # type: ignore[no-untyped-def]
    (res,) = _publish(session, world, ("officer", "police", person_resource()))
    search.reindex(session, [])
    search.reindex(session, [res.id, res.id, 999_999])
    assert _codes(search.search(session, READER, "户籍")) == [res.code]


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ("", "catalog.search_query_empty"),
        ("   \t ", "catalog.search_query_empty"),
        ("，。！？", "catalog.search_query_empty"),
        ('"', "catalog.search_query_empty"),
        ("* - ( ) ^ :", "catalog.search_query_empty"),
        ("户" * (segmentation.MAX_QUERY_CHARS + 1), "catalog.search_query_too_long"),
    ],
)
def test_unusable_queries_are_refused_with_a_domain_error(session, world, q, code) -> None:  # type: ignore[no-untyped-def]
    _publish(session, world, ("officer", "police", person_resource()))
    with pytest.raises(InvalidInput) as err:
        search.search(session, READER, q)
    assert err.value.code == code
    assert err.value.status == 400
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.message)  # zh-CN


@pytest.mark.parametrize(
    "q",
    [
        '"户籍',
        "户籍*",
        "-户籍",
        "户籍 OR 人口",
        "户籍 AND NOT 人口",
        "(户籍",
        "NEAR(户籍 人口)",
        "name:户籍",
        "户籍:人口",
        "^户籍",
        "户籍' ; DROP TABLE catalog_search; --",
        "户籍 & 人口 | !信息 <-> 姓名:*",
        "OR",
        "and",
        "\\户籍%_",
    ],
)
def test_search_syntax_in_a_query_is_plain_text(session, world, q) -> None:  # type: ignore[no-untyped-def]
    (res,) = _publish(session, world, ("officer", "police", person_resource()))
    result = search.search(session, READER, q)  # never a database error
    assert result.total in (0, 1)
    if q in ('"户籍', "户籍*", "-户籍", "(户籍", "^户籍", "\\户籍%_"):
        assert _codes(result) == [res.code]  # the punctuation is ignored, the word still found
    if q in ("name:户籍", "户籍 OR 人口", "OR"):
        assert result.total == 0  # "name", "or": words to find like any other, not syntax
    assert _codes(search.search(session, READER, "户籍 人口")) == [res.code]


def test_the_longest_allowed_query_works(session, world) -> None:  # type: ignore[no-untyped-def]
    (res,) = _publish(session, world, ("officer", "police", person_resource()))
    q = "户籍人口" * (segmentation.MAX_QUERY_CHARS // 4)
    assert len(q) == segmentation.MAX_QUERY_CHARS
    assert _codes(search.search(session, READER, q)) == [res.code]
    # Function words are dropped from a query that has other words.
    assert _codes(search.search(session, READER, "户籍的人口")) == [res.code]


def test_limits_are_clamped(session, world) -> None:  # type: ignore[no-untyped-def]
    _publish(session, world, ("officer", "police", person_resource()))
    result = search.search(session, READER, "户籍", offset=-5, limit=0)
    assert (result.offset, result.limit, result.total, len(result.hits)) == (0, 1, 1, 1)
    assert search.search(session, READER, "户籍", limit=10_000).limit == 200


def test_the_index_tables_are_known_to_the_migrations() -> None:
    assert search.is_index_table("catalog_search")
    assert search.is_index_table("catalog_search_idx")
    assert not search.is_index_table("catalog_resources")


def test_filters_mean_what_they_mean_for_the_published_catalog(session, world) -> None:  # type: ignore[no-untyped-def]
    # Search moves versions.apply_filter's conditions onto its index: same answers.
    _publish(
        session,
        world,
        ("officer", "police", person_resource("户籍登记信息")),
        ("officer", "police", person_resource("出生登记信息", open_type="unconditional")),
        ("officer2", "market", company_resource("企业登记信息")),
        (
            "officer2",
            "market",
            company_resource(
                "个体户登记信息",
                share_type="conditional",
                share_conditions="仅用于市场监管",
                legal_basis="《市场主体登记管理条例》",
            ),
        ),
        ("yz_officer", "yz_police", company_resource("渝中区登记信息", format="image")),
    )
    filters = [
        CatalogFilter(),
        CatalogFilter(department_id=world.market),
        CatalogFilter(region_id=world.yuzhong),
        CatalogFilter(category="department", share_type="unconditional"),
        CatalogFilter(open_type="unconditional", update_cycle="weekly"),
        CatalogFilter(format="image"),
        CatalogFilter(share_types=SHARE_CATALOG, open_types=("none",)),
        CatalogFilter(share_types=("conditional",)),
    ]
    for flt in filters:
        _, page = versions.published(session, READER, flt=flt)
        expected = sorted(r.code for r in page.items)
        assert sorted(_codes(search.search(session, READER, "登记", flt))) == expected, flt
