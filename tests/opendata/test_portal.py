"""The public portal (Art. 29, 32, 33, 40): pages for anonymous visitors, search with facets
and sorting, the dataset page (preview only for the entitled, recorded), 404 for unknown and
withdrawn datasets, no value of an item that is not open anywhere, and the JSON API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.access import AccessRecord
from govdata.opendata import datasets, downloads, portal
from tests.opendata.helpers import OpenCity, build_open_city, set_open
from tests.opendata.portal_helpers import approve, publish
from tests.opendata.test_downloads import MARKET_COLUMNS, MARKET_ROWS, PERSON_COLUMNS, PERSON_ROWS
from tests.world import World

HTML = {"Accept": "text/html"}


@pytest.fixture
def oc(session: Session, world: World) -> OpenCity:
    city = build_open_city(session, world)
    publish(session, city.person, PERSON_COLUMNS, PERSON_ROWS)
    publish(session, city.market, MARKET_COLUMNS, MARKET_ROWS)
    session.commit()
    return city


def _page(client: Any, url: str) -> str:
    r = client.get(url, headers=HTML)
    assert r.status_code == 200, (url, r.status_code, r.text[:500])
    return str(r.text)


def _previews(session: Session) -> list[AccessRecord]:
    session.expire_all()
    return list(
        session.scalars(select(AccessRecord).where(AccessRecord.action == portal.PREVIEW_ACTION))
    )


def test_every_portal_page_renders_for_an_anonymous_visitor(client: Any, oc: OpenCity) -> None:
    # Art. 32: the open catalog is public; browsing needs no sign-in.
    home = _page(client, "/open")
    assert 'data-testid="n-datasets">2<' in home and 'data-testid="n-departments">2<' in home
    assert 'data-testid="n-releases">2<' in home and "社会保障" in home
    for url in (
        "/open/datasets",
        f"/open/datasets/{oc.person.code}",
        "/open/departments",
        f"/open/departments/{oc.person.department_code}",
        "/open/stats",
        "/open/terms",
    ):
        text = _page(client, url)
        # Art. 30: a value of an item that is not open never appears, on any page.
        assert "SECRET" not in text and "出生日期" not in text
    css = client.get("/open/portal.css")
    assert css.status_code == 200 and "@media" in css.text


def test_search_filters_by_facet_and_sorts(client: Any, session: Session, oc: OpenCity) -> None:
    text = _page(client, "/open/datasets")
    assert 'data-testid="total">共 2 个数据集' in text
    assert 'data-testid="facet-open_type"' in text and "有条件开放" in text
    assert "/open/datasets?open_type=conditional" in text  # a facet is a link
    text = _page(client, "/open/datasets?open_type=conditional")
    assert 'data-testid="total">共 1 个数据集' in text
    assert oc.market.code in text and f'data-code="{oc.person.code}"' not in text
    text = _page(client, "/open/datasets?theme=社会保障")
    assert f'data-code="{oc.person.code}"' in text and f'data-code="{oc.market.code}"' not in text
    text = _page(client, f"/open/datasets?department={oc.market.department_code}")
    assert 'data-testid="total">共 1 个数据集' in text
    text = _page(client, "/open/datasets?q=户籍")
    assert 'data-testid="total">共 1 个数据集' in text and oc.person.code in text
    datasets.count_download(session, oc.market.id, 7)
    session.commit()
    text = _page(client, "/open/datasets?sort=downloads")
    assert text.index(f'data-code="{oc.market.code}"') < text.index(f'data-code="{oc.person.code}"')
    text = _page(client, "/open/datasets?sort=name&open_type=bogus")
    assert 'data-testid="total">共 0 个数据集' in text  # an unknown value matches nothing


def test_dataset_page_shows_metadata_and_why_there_is_no_preview(
    client: Any, sign_in: Any, session: Session, oc: OpenCity
) -> None:
    text = _page(client, f"/open/datasets/{oc.market.code}")
    assert "个体经营者信息" in text and "仅用于学术研究" in text  # open type and conditions
    assert "重庆市公共数据开放许可协议" in text and "更新记录" in text
    assert f"datastore_search?resource_id={oc.market.code}" in text
    assert "经营状态" in text and "从业人数" not in text  # only open items are listed
    assert 'data-code="opendata.identity_required"' in text and "/open/register" in text
    assert 'data-testid="preview"' not in text and "存续" not in text
    # A citizen with identity still needs an approved application (Art. 33 ¶2).
    text = _page(sign_in("citizen").client, f"/open/datasets/{oc.market.code}")
    assert 'data-code="opendata.application_required"' in text
    assert f"/open/datasets/{oc.market.code}/apply" in text and "存续" not in text
    assert _previews(session) == []


def test_preview_for_the_entitled_is_limited_and_recorded(
    sign_in: Any, session: Session, world: World, oc: OpenCity
) -> None:
    citizen = sign_in("citizen").client
    text = _page(citizen, f"/open/datasets/{oc.person.code}")
    assert 'data-testid="preview"' in text and "500***0022" in text
    assert "SECRET" not in text  # the closed item's column is in the release, never shown
    assert f"/open/datasets/{oc.person.code}/download.csv" in text
    # The formula-like value is shown as text, escaped.
    assert "=HYPERLINK(&#34;http://x/?&#34;&amp;A1" in text
    approve(session, world, oc.market, ["经营状态"])
    session.commit()
    text = _page(citizen, f"/open/datasets/{oc.market.code}")
    assert "存续" in text and "500***0011" not in text and "张*" not in text
    records = _previews(session)
    assert [(r.object_id, r.rows, r.fields) for r in records] == [
        (oc.person.code, 3, "公民身份号码,姓名"),
        (oc.market.code, 2, "经营状态"),
    ]


def test_unknown_and_withdrawn_datasets_are_not_found(
    client: Any, session: Session, oc: OpenCity
) -> None:
    assert client.get("/open/datasets/000/999999", headers=HTML).status_code == 404
    assert client.get("/open/departments/no-such", headers=HTML).status_code == 404
    set_open(session, oc.city.market_res, "none")
    datasets.sync(session)
    session.commit()
    for url in (
        f"/open/datasets/{oc.market.code}",
        f"/api/v1/opendata/datasets/{oc.market.code}",
        f"/open/datasets/{oc.market.code}/download.csv",
    ):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "存续" not in r.text
    assert oc.market.code not in _page(client, "/open/datasets")


def test_statistics_count_downloads_from_the_access_records(
    sign_in: Any, client: Any, session: Session, oc: OpenCity
) -> None:
    citizen = sign_in("citizen")
    assert citizen.get(f"/open/datasets/{oc.person.code}/download.csv").status_code == 200
    assert client.get(f"/open/datasets/{oc.person.code}/download.csv").status_code == 401
    stats = portal.stats(session)
    assert sum(n for _, n in stats.downloads_by_day) == 1  # the refusal does not count
    today = calendar.today().strftime("%m-%d")  # a Beijing day
    assert stats.downloads_by_day[-1] == (today, 1)
    assert stats.total_downloads == 1
    assert dict(stats.by_theme) == {"社会保障": 1, "市场监管": 1}
    text = _page(client, "/open/stats")
    assert "<svg" in text and 'data-testid="total-downloads">1<' in text
    assert "/charts.css" in text
    home = _page(client, "/open")
    assert 'data-testid="n-downloads">1<' in home
    assert downloads.ACTION == "opendata.download"


def test_json_api_searches_and_shows_metadata_without_rows(client: Any, oc: OpenCity) -> None:
    r = client.get("/api/v1/opendata/datasets", params={"open_type": "conditional"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1 and body["items"][0]["code"] == oc.market.code
    assert body["facets"]["open_type"] == {"conditional": 1}
    r = client.get("/api/v1/opendata/datasets", params={"sort": "name", "limit": 1})
    assert r.json()["total"] == 2 and len(r.json()["items"]) == 1
    r = client.get(f"/api/v1/opendata/datasets/{oc.person.code}")
    assert r.status_code == 200, r.text
    detail = r.json()
    assert [i["name"] for i in detail["items"]] == ["公民身份号码", "姓名"]
    assert detail["releases"] == [
        {
            "version": 1,
            "published_at": detail["releases"][0]["published_at"],
            "rows": 3,
            "current": True,
        }
    ]
    assert "500***" not in r.text and "SECRET" not in r.text
    r = client.get("/api/v1/opendata/datasets/000/999999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "opendata.dataset_not_found"
    r = client.get("/api/v1/opendata/datasets", params={"sort": "bogus"})
    assert r.status_code == 422


def test_dataset_page_shows_the_pools_latest_quality(
    client: Any, session: Session, oc: OpenCity
) -> None:
    from govdata.aggregation.models import QualitySnapshot

    pool = oc.city.police_pool
    session.add(
        QualitySnapshot(
            pool_id=pool.id,
            department_id=pool.department_id,
            rows=3,
            completeness=0.875,
            validity=0.5,
            uniqueness=1.0,
            consistency=None,
        )
    )
    session.commit()
    text = _page(client, f"/open/datasets/{oc.person.code}")
    quality = text.split('data-testid="quality"')[1].split("</dl>")[0]
    assert "87.5%" in quality and "50.0%" in quality and "一致性" not in quality
    other = portal.quality_of(session, oc.market.resource_id)  # another pool's, not this one
    assert other is None or other.completeness != 0.875
