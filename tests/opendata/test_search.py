"""Open catalog search (Art. 32): the key index follows every write of a dataset, filters and
facets read it, and the whole catalog's facets follow the catalog's changes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.opendata import datasets, search
from govdata.opendata.models import OpenSearchKey
from govdata.opendata.search import DatasetFilter
from tests.opendata.helpers import build_open_city, set_open
from tests.world import World


def _keys(session: Session, dataset_id: int) -> set[tuple[str, str]]:
    rows = session.execute(
        select(OpenSearchKey.kind, OpenSearchKey.term).where(OpenSearchKey.dataset_id == dataset_id)
    )
    return {(r[0], r[1]) for r in rows}


def test_the_index_follows_every_write_of_a_dataset(session: Session, world: World) -> None:
    oc = build_open_city(session, world)
    keys = _keys(session, oc.person.id)
    assert {("t", "户籍"), ("g", "社会保障"), ("k", "人口"), ("d", "500000-007")} <= keys
    assert ("o", "unconditional") in keys and ("u", oc.person.update_cycle) in keys
    # A change of the dataset (as sync's refresh writes it): the theme moves, and the index.
    oc.person.class_path = "公共安全/户政"
    session.flush()
    keys = _keys(session, oc.person.id)
    assert ("g", "公共安全") in keys and ("g", "社会保障") not in keys
    assert [
        d.code for d in search.search(session, "", DatasetFilter(themes=("公共安全",))).hits
    ] == [oc.person.code]
    # A withdrawn dataset keeps no keys once written through the ORM, and is never found.
    oc.market.withdrawn = True
    session.flush()
    assert _keys(session, oc.market.id) == set()
    assert search.search(session, "个体").total == 0


def test_rebuild_gives_the_index_the_writes_gave(session: Session, world: World) -> None:
    oc = build_open_city(session, world)
    before = {d: _keys(session, d) for d in (oc.person.id, oc.market.id)}
    written = search.rebuild(session)
    after = {d: _keys(session, d) for d in (oc.person.id, oc.market.id)}
    assert after == before and written >= sum(len(v) for v in after.values())


def test_terms_and_filters_are_all_required(session: Session, world: World) -> None:
    oc = build_open_city(session, world)

    def codes(q: str = "", **flt: object) -> list[str]:
        return sorted(d.code for d in search.search(session, q, DatasetFilter(**flt)).hits)  # type: ignore[arg-type]

    both = sorted([oc.person.code, oc.market.code])
    assert codes("户籍 人口") == [oc.person.code]
    assert codes("户籍 经营") == []  # every term must match
    assert codes("姓名") == both  # an open item's name
    assert codes("出生") == []  # an item not open is not searchable (Art. 30)
    assert codes(department_codes=("500000-026",)) == [oc.market.code]
    assert codes(department_ids=(oc.person.department_id,)) == [oc.person.code]
    assert codes(open_types=("conditional",)) == [oc.market.code]
    assert codes(update_cycles=(oc.person.update_cycle,), themes=("社会保障",)) == [oc.person.code]
    assert codes(formats=(oc.person.format,)) == sorted(
        d.code for d in (oc.person, oc.market) if d.format == oc.person.format
    )
    assert codes(tags=("社会保障", "人口")) == [oc.person.code]
    assert codes(tags=("社会保障", "市场监管")) == []  # tags are ANDed
    assert codes(licences=("cq-open-data-1.0",)) == both
    assert codes(licences=("cc-by-4.0",)) == []
    assert codes("户籍", department_codes=("500000-026",)) == []
    page = search.search(session, "", offset=5)
    assert page.total == 2 and page.hits == []


def test_facets_count_the_matching_set_and_only_what_is_asked(
    session: Session, world: World
) -> None:
    oc = build_open_city(session, world)
    page = search.search(session, "户籍", facet_fields=["department", "tags"])
    assert set(page.facets) == {"department", "tags"}
    assert page.facets["department"] == {"500000-007": 1}
    assert page.department_names == {"500000-007": "市公安局"}
    assert "市场监管" not in page.facets["tags"]
    page = search.search(session, "", DatasetFilter(open_types=("conditional",)))
    assert page.facets["theme"] == {"市场监管": 1} and page.total == 1
    assert search.search(session, "", facets=False).facets == {}
    # The whole catalog's facets (cached) follow a change of the catalog.
    assert search.search(session, "").facets["open_type"] == {"unconditional": 1, "conditional": 1}
    oc.market.open_type = "unconditional"
    session.flush()
    whole = search.search(session, "")
    assert whole.facets["open_type"] == {"unconditional": 2} and whole.total == 2
    set_open(session, oc.city.market_res, "none")
    datasets.sync(session)
    whole = search.search(session, "")
    assert whole.facets["department"] == {"500000-007": 1} and whole.total == 1


def test_the_packed_facet_key_keeps_its_values_and_fits() -> None:
    from types import SimpleNamespace

    from govdata.opendata.search_index import PACKED_CHARS, packed, unpacked

    row = SimpleNamespace(
        department_code="500000-007",
        class_path="社会保障/人口",
        format="数据库",
        open_type="unconditional",
        update_cycle="monthly",
        tags=["人口", "自然人", *[f"很长的标签{i:03d}" * 5 for i in range(20)]],
    )
    term = packed(row)
    values, tags = unpacked(term)
    assert values == ["500000-007", "社会保障", "数据库", "unconditional", "monthly"]
    assert tags[:2] == ["人口", "自然人"] and len(term) <= PACKED_CHARS
    assert all(t in row.tags for t in tags)  # a tag that does not fit is left out, never cut


def test_the_key_index_path_matches_and_orders_as_the_sql_path(
    session: Session, world: World
) -> None:  # a product decision for speed: the same answer either way
    from sqlalchemy import and_

    from govdata.catalog import synonyms
    from govdata.catalog.search import query_groups
    from govdata.opendata import search_facets, search_postings
    from govdata.opendata.models import OpenDataset

    oc = build_open_city(session, world)
    synonyms.add(session, world.actor(session, "city"), "户口", "户籍")
    filters = [
        DatasetFilter(),
        DatasetFilter(themes=("社会保障",)),
        DatasetFilter(tags=("人口",), open_types=("unconditional",)),
        DatasetFilter(department_codes=("500000-026",)),
    ]
    queries = ("户籍", "户口", "人口 信息", "登记", "市场", "公民身份号码", "基本信息")

    def compare() -> int:
        fingerprint = search._fingerprint(session)
        table = search_facets.table(session, fingerprint)
        postings = search_postings.table(session, fingerprint)
        matched = 0
        for q in queries:
            groups = query_groups(session, q)
            for flt in filters:
                for sort in ("relevance", "newest", "oldest"):
                    keyed = search._keyed_order(groups, flt, sort, table, postings)  # type: ignore[arg-type]
                    paged = search._keyed_order(groups, flt, sort, table, postings, top=2)  # type: ignore[arg-type]
                    assert keyed is not None and paged is not None
                    assert paged[1] == keyed[1][:2] and sorted(paged[0]) == sorted(keyed[0])
                    where = and_(*search._conditions(groups, flt))
                    order = search._order(sort, groups, narrowed=True)  # type: ignore[arg-type]
                    stmt = select(OpenDataset.id).where(where).order_by(*order)
                    assert keyed[1] == list(session.scalars(stmt)), (q, flt, sort)
                    matched += len(keyed[1])
        return matched

    assert compare() > 0
    # Equal stamps: the id breaks the tie either way.
    oc.market.metadata_modified = oc.person.metadata_modified
    session.flush()
    assert compare() > 0
    # What the keys do not hold goes to SQL.
    groups = query_groups(session, "户籍")
    fingerprint = search._fingerprint(session)
    table = search_facets.table(session, fingerprint)
    postings = search_postings.table(session, fingerprint)
    assert (
        search._keyed_order(groups, DatasetFilter(codes=("x",)), "relevance", table, postings)
        is None
    )
    assert search._keyed_order(groups, DatasetFilter(), "downloads", table, postings) is None
