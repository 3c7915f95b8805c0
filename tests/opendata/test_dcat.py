"""DCAT-AP documents of the open catalog (issue 14 §8; Art. 32): every page of the catalog
parsed back with rdflib in the three serializations, hydra paging, and one dataset's terms."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, SKOS
from sqlalchemy.orm import Session

from govdata.opendata import dcat
from govdata.opendata.dcat import ACCESS, DATA_THEME, FILE_TYPE, FREQ, HYDRA
from tests.opendata.ckan_helpers import publish
from tests.opendata.helpers import build_open_city
from tests.world import World

PARSERS = {"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}


@pytest.mark.parametrize("fmt", ["ttl", "jsonld", "rdf"])
def test_every_catalog_page_parses_and_lists_each_dataset_once(
    session: Session, world: World, client: TestClient, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    oc = build_open_city(session, world)
    monkeypatch.setattr(dcat, "PAGE_SIZE", 1)  # two datasets: two pages
    seen: list[URIRef] = []
    url: str | None = f"/catalog.{fmt}"
    pages = 0
    while url is not None:
        r = client.get(url)
        assert r.status_code == 200, r.text
        g = Graph().parse(data=r.content, format=PARSERS[fmt])
        catalogs = list(g.subjects(RDF.type, DCAT.Catalog))
        assert len(catalogs) == 1
        seen += [URIRef(d) for d in g.objects(catalogs[0], DCAT.dataset)]
        views = list(g.subjects(RDF.type, HYDRA.PartialCollectionView))
        assert len(views) == 1 and int(g.value(views[0], HYDRA.totalItems)) == 2
        nxt = g.value(views[0], HYDRA.next)
        url = str(nxt).removeprefix("http://testserver") if nxt is not None else None
        pages += 1
    assert pages == 2
    assert sorted(seen) == sorted(
        URIRef(f"http://testserver/open/datasets/{d.code}") for d in (oc.person, oc.market)
    )
    r = client.get(f"/catalog.{fmt}", params={"page": 3})
    assert r.status_code == 404 and r.json()["error"]["code"] == "opendata.dcat_page_not_found"
    assert client.get(f"/catalog.{fmt}", params={"page": 0}).status_code == 422


def test_themes_map_to_the_eu_data_themes() -> None:
    from govdata.opendata.vocab import eu_data_theme

    assert eu_data_theme("社会保障") == "SOCI"
    assert eu_data_theme("市场监管") == "ECON"
    assert eu_data_theme("医疗卫生") == "HEAL"
    assert eu_data_theme("公共交通") == "TRAN"  # not GOVE, though 公共 is in it
    assert eu_data_theme("未分类") == "OP_DATPRO"


def test_a_dataset_in_dcat_ap_terms(session: Session, world: World, client: TestClient) -> None:
    oc = build_open_city(session, world)
    release = publish(session, oc.person, [("姓名", "C")], [("张三",)])
    r = client.get(f"/open/datasets/{oc.person.code}.ttl")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    g = Graph().parse(data=r.content, format="turtle")
    node = URIRef(f"http://testserver/open/datasets/{oc.person.code}")
    assert (node, RDF.type, DCAT.Dataset) in g
    assert str(g.value(node, DCTERMS.title)) == "户籍人口基本信息"
    assert str(g.value(node, DCTERMS.description)) == oc.person.abstract
    publisher = g.value(node, DCTERMS.publisher)
    assert publisher is not None and "市公安局" in {str(o) for o in g.objects(publisher, None)}
    assert g.value(node, DCTERMS.issued) is not None and g.value(node, DCTERMS.modified) is not None
    assert g.value(node, DCTERMS.license) is not None
    assert g.value(node, DCTERMS.accrualPeriodicity) == FREQ.MONTHLY
    assert g.value(node, DCTERMS.accessRights) == ACCESS.PUBLIC
    assert {str(k) for k in g.objects(node, DCAT.keyword)} >= {"社会保障", "人口"}
    themes = set(g.objects(node, DCAT.theme))
    # The city's own theme (a skos:Concept titled 社会保障) and the EU data theme it maps to.
    own = [t for t in themes if (t, RDF.type, SKOS.Concept) in g]
    assert [str(g.value(t, SKOS.prefLabel)) for t in own] == ["社会保障"]
    assert DATA_THEME.SOCI in themes and len(themes) == 2
    dist = g.value(node, DCAT.distribution)
    assert dist is not None and (dist, RDF.type, DCAT.Distribution) in g
    assert str(g.value(dist, DCAT.downloadURL)).endswith(
        f"/open/datasets/{oc.person.code}/download.csv"
    )
    assert g.value(dist, DCAT.accessURL) is not None
    assert g.value(dist, DCTERMS.format) == FILE_TYPE.CSV
    assert str(dist).endswith(f"/releases/{release.version}")
    # Not yet released: described, without a distribution; conditional data is restricted.
    r = client.get(f"/open/datasets/{oc.market.code.replace('/', '-')}.jsonld")
    assert r.status_code == 200
    g = Graph().parse(data=r.content, format="json-ld")
    node = URIRef(f"http://testserver/open/datasets/{oc.market.code}")
    assert g.value(node, DCAT.distribution) is None
    assert g.value(node, DCTERMS.accessRights) == ACCESS.RESTRICTED
    r = client.get("/open/datasets/000/000.rdf")
    assert r.status_code == 404 and r.json()["error"]["code"] == "opendata.dataset_not_found"
