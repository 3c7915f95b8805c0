"""The open catalog's read model (Art. 30, 32), its search, and a release's table."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.opendata import datasets, policy, search, store
from govdata.opendata.errors import DatasetNotFound, IdentityRequired
from govdata.opendata.models import OpenDataset, Release, ReleaseStatus
from tests.opendata.helpers import build_open_city, set_open
from tests.world import World


def test_sync_lists_open_resources_and_only_their_open_items(
    session: Session, world: World
) -> None:
    oc = build_open_city(session, world)
    # Art. 30: an item not open is never listed; the subject key is, as the catalog has it.
    assert [i["name"] for i in oc.person.items] == ["公民身份号码", "姓名"]
    assert [i["name"] for i in oc.market.items] == ["公民身份号码", "姓名", "经营状态"]
    assert (oc.person.open_type, oc.market.open_type) == ("unconditional", "conditional")
    assert oc.market.open_conditions == "仅用于学术研究"
    assert oc.person.department_name == "市公安局" and "社会保障" in oc.person.tags


def test_a_resource_leaving_the_open_catalog_is_withdrawn_not_deleted(
    session: Session, world: World
) -> None:
    oc = build_open_city(session, world)
    set_open(session, oc.city.market_res, "none")
    result = datasets.sync(session)
    assert result.withdrawn == 1
    row = session.scalar(select(OpenDataset).where(OpenDataset.code == oc.market.code))
    assert row is not None and row.withdrawn
    with pytest.raises(DatasetNotFound):
        datasets.get_dataset(session, oc.market.code)
    assert [d.code for d in search.search(session).hits] == [oc.person.code]


def test_search_terms_filters_facets_and_sorting(session: Session, world: World) -> None:
    oc = build_open_city(session, world)
    page = search.search(session, "户籍")
    assert [d.code for d in page.hits] == [oc.person.code]
    page = search.search(session, "")
    assert page.total == 2
    assert page.facets["open_type"] == {"unconditional": 1, "conditional": 1}
    assert page.facets["theme"] == {"社会保障": 1, "市场监管": 1}
    flt = search.DatasetFilter(open_types=("conditional",))
    assert [d.code for d in search.search(session, "", flt).hits] == [oc.market.code]
    flt = search.DatasetFilter(themes=("社会保障",))
    themed = search.search(session, "", flt)
    assert [d.code for d in themed.hits] == [oc.person.code] and themed.total == 1
    assert search.search(session, "不存在的词语组合").total == 0
    datasets.count_download(session, oc.market.id, 5)
    session.expire_all()
    assert search.search(session, "", sort="downloads").hits[0].code == oc.market.code


def test_identity_is_required_to_obtain_data(session: Session, world: World) -> None:
    build_open_city(session, world)
    # Art. 33 ¶3: a public account with a checked identity, or staff; not an unchecked one.
    assert policy.require_identity(session, world.actor(session, "citizen"))
    assert policy.require_identity(session, world.actor(session, "officer"))
    for who in ("company", "plain"):
        with pytest.raises(IdentityRequired):
            policy.require_identity(session, world.actor(session, who))
    with pytest.raises(IdentityRequired):
        policy.require_identity(session, None)


def test_a_release_table_holds_only_its_columns_and_reads_in_order(
    session: Session, world: World
) -> None:
    oc = build_open_city(session, world)
    release = Release(
        dataset_id=oc.person.id,
        version=1,
        status=ReleaseStatus.READY,
        columns=[
            store.released_column(0, "公民身份号码", "C"),
            store.released_column(1, "姓名", "C"),
            store.released_column(2, "登记日期", "D"),
        ],
    )
    session.add(release)
    session.flush()
    conn = session.connection()
    store.create_table(conn, release)
    rows = [("5001***0011", "张*", date(2020, 1, 1)), ("5001***0022", "李*", None)]
    store.insert_rows(conn, release, rows, first_row=1)
    page = store.read_page(session, release, filters={"姓名": "李*"})
    assert page.total == 1 and page.rows[0]["公民身份号码"] == "5001***0022"
    page = store.read_page(session, release, fields=["姓名"], sort=[("姓名", True)])
    assert [r["姓名"] for r in page.rows] == ["李*", "张*"] and set(page.rows[0]) == {
        "_row",
        "姓名",
    }
    with pytest.raises(KeyError):
        store.read_page(session, release, fields=["出生日期"])
    assert list(store.iter_batches(session, release, batch=1)) == [[rows[0]], [rows[1]]]
    assert store.is_release_table(release.table_name or "")
    store.drop_table(conn, release)


def test_conditional_data_needs_an_approved_application_in_force(
    session: Session, world: World
) -> None:
    from datetime import timedelta

    from govdata.opendata import entitlement
    from govdata.opendata.errors import ConditionalNotGranted
    from govdata.opendata.models import OpenApplication, OpenApplicationStatus

    oc = build_open_city(session, world)
    citizen = world.actor(session, "citizen")
    assert entitlement.may_obtain(session, citizen, oc.person).items is None  # Art. 33 ¶3
    with pytest.raises(ConditionalNotGranted):  # Art. 33 ¶2
        entitlement.may_obtain(session, citizen, oc.market)
    today = date(2026, 12, 7)
    app = OpenApplication(
        dataset_id=oc.market.id,
        applicant_id=world.people["citizen"],
        provider_department_id=oc.market.department_id,
        status=OpenApplicationStatus.APPROVED,
        items=["姓名", "经营状态"],
        purpose="研究",
        scenario="论文",
        safeguards="离线存储",
        period_from=today,
        period_until=today + timedelta(days=30),
        agreement_version="2026-1",
        received_on=today,
        granted_items=["经营状态"],
        granted_from=today,
        granted_until=today + timedelta(days=30),
    )
    session.add(app)
    session.flush()
    got = entitlement.may_obtain(session, citizen, oc.market, today=today)
    assert got.items == ("经营状态",) and got.application_id == app.id
    with pytest.raises(ConditionalNotGranted):  # outside the granted period
        entitlement.may_obtain(session, citizen, oc.market, today=today + timedelta(days=31))
    # The provider reads what it releases; another department's officer needs an application.
    assert (
        entitlement.may_obtain(session, world.actor(session, "officer2"), oc.market).items is None
    )
    with pytest.raises(ConditionalNotGranted):
        entitlement.may_obtain(session, world.actor(session, "officer"), oc.market, today=today)


def test_a_developer_key_acts_as_its_owner_until_revoked(session: Session, world: World) -> None:
    from govdata.core.db import utcnow
    from govdata.opendata import keys

    build_open_city(session, world)
    issued = keys.issue_key(session, world.people["citizen"], "我的应用")
    assert issued.secret.startswith(keys.KEY_PREFIX) and issued.key.digest != issued.secret
    actor = keys.actor_for_key(session, issued.secret)
    assert actor is not None and actor.person_id == world.people["citizen"] and actor.is_public
    assert keys.actor_for_key(session, issued.secret + "x") is None
    assert keys.actor_for_key(session, "gd_" + issued.secret[3:]) is None  # not a system token
    issued.key.revoked_at = utcnow()
    session.flush()
    assert keys.actor_for_key(session, issued.secret) is None
