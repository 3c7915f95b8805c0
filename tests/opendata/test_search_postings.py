"""The open catalog's key index held in memory (Art. 32; decision 0020)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from govdata.opendata import search, search_postings
from govdata.opendata.search_index import NAME, TAG, TOKEN
from govdata.opendata.search_postings import Postings
from tests.opendata.helpers import build_open_city
from tests.world import World

ROWS = [  # ordered by (kind, term), as the read gives them
    (TAG, "人口", 1),
    (TAG, "人口", 3),
    (NAME, "户籍", 1),
    (TOKEN, "人口", 1),
    (TOKEN, "人口", 2),
    (TOKEN, "人口", 3),
    (TOKEN, "户籍", 1),
    (TOKEN, "户籍", 3),
    (TOKEN, "登记", 2),
]


def test_postings_union_a_parts_terms_and_intersect_the_parts() -> None:
    p = Postings(("db",), ROWS)
    assert p.size == len(ROWS)
    assert list(p.any_of(TOKEN, ["户籍"])) == [1, 3]
    assert list(p.any_of(TOKEN, ["户籍", "登记"])) == [1, 2, 3]  # a term or its synonym
    assert list(p.any_of(TOKEN, ["没有"])) == []
    assert p.matching([(TOKEN, ["人口"]), (TOKEN, ["户籍"])]) == {1, 3}
    assert p.matching([(TOKEN, ["人口"]), (TAG, ["人口"]), (TOKEN, ["登记"])]) == set()
    assert p.matching([(TOKEN, ["人口"]), (TOKEN, ["没有"])]) == set()
    assert p.matching([]) == set()
    # A kind's term is not another kind's: 户籍 in a name is not a tag.
    assert p.matching([(TAG, ["户籍"])]) == set()


def test_postings_are_read_again_only_when_the_fingerprint_moves() -> None:
    reads: list[tuple[Any, ...]] = []

    def read(_session: Any, fingerprint: tuple[Any, ...]) -> Postings:
        reads.append(fingerprint)
        return Postings(fingerprint, ROWS)

    first = search_postings.table(None, ("test://p", 1), read=read)  # type: ignore[arg-type]
    assert search_postings.table(None, ("test://p", 1), read=read) is first  # type: ignore[arg-type]
    moved = search_postings.table(None, ("test://p", 2), read=read)  # type: ignore[arg-type]
    assert moved is not first and reads == [("test://p", 1), ("test://p", 2)]


def test_a_search_sees_a_change_of_the_open_catalog_at_once(session: Session, world: World) -> None:
    oc = build_open_city(session, world)
    before = search.search(session, "户籍")
    assert oc.person.code in {h.code for h in before.hits}
    oc.person.withdrawn = True  # through the ORM: the keys and the fingerprint follow
    session.flush()
    after = search.search(session, "户籍")
    assert oc.person.code not in {h.code for h in after.hits}
    assert after.total == before.total - 1
