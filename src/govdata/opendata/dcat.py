"""The open catalog as DCAT (issue 14 §8; Art. 32): DCAT-AP documents built with rdflib.

``catalog_graph`` is one page of the ``dcat:Catalog`` (``PAGE_SIZE`` datasets, newest first)
with a ``hydra:PartialCollectionView`` saying where the other pages are, as ckanext-dcat does;
``dataset_graph`` is one dataset. A dataset: ``dct:title``/``description`` (@zh),
``dct:publisher`` (its department, a ``foaf:Organization``), ``dct:issued``/``modified``,
``dct:license``, ``dct:accrualPeriodicity`` and ``dct:accessRights`` (EU authority tables),
``dcat:theme`` (its theme, a ``skos:Concept``, and the EU data theme it maps to),
``dcat:keyword`` (tags), ``dcat:landingPage``,
and, once released, one ``dcat:Distribution`` (the current release: ``accessURL``,
``downloadURL``, ``dct:format`` CSV, ``dcat:mediaType``). Only what the open catalog lists is
described (Art. 30): no item that is not open, no withdrawn dataset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from math import ceil
from typing import Literal
from urllib.parse import quote

from rdflib import BNode, Graph, Namespace, URIRef
from rdflib import Literal as Lit
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.errors import InvalidInput, NotFound
from govdata.opendata.ckan import absolute, current_releases, download_url
from govdata.opendata.ckan_datastore import find_dataset
from govdata.opendata.datasets import ensure_synced
from govdata.opendata.models import OpenDataset, Release
from govdata.opendata.search_index import theme_of
from govdata.opendata.vocab import DEFAULT_LICENCE, LICENCES, eu_data_theme

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
FREQ = Namespace("http://publications.europa.eu/resource/authority/frequency/")
ACCESS = Namespace("http://publications.europa.eu/resource/authority/access-right/")
FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
DATA_THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

Format = Literal["ttl", "jsonld", "rdf"]
SERIALIZERS: dict[str, tuple[str, str]] = {
    "ttl": ("turtle", "text/turtle; charset=utf-8"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("xml", "application/rdf+xml"),
}
# The platform's update cycles → the EU frequency table (DCAT-AP's accrualPeriodicity).
FREQUENCIES = {
    "realtime": "UPDATE_CONT",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "semiannual": "ANNUAL_2",
    "annual": "ANNUAL",
    "irregular": "IRREG",
}


def _zh(text: str) -> Lit:
    return Lit(text, lang="zh")


def _when(value: datetime | None) -> Lit | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return Lit(value.astimezone(UTC).isoformat(), datatype=XSD.dateTime)


def _graph() -> Graph:
    g = Graph()
    for prefix, ns in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("skos", SKOS),
        ("hydra", HYDRA),
    ):
        g.bind(prefix, ns)
    return g


def dataset_uri(base: str, code: str) -> URIRef:
    return URIRef(absolute(base, f"/open/datasets/{quote(code)}"))


def _add_dataset(g: Graph, ds: OpenDataset, release: Release | None, base: str) -> URIRef:
    node = dataset_uri(base, ds.code)
    g.add((node, RDF.type, DCAT.Dataset))
    g.add((node, DCTERMS.identifier, Lit(ds.code)))
    g.add((node, DCTERMS.title, _zh(ds.name)))
    if ds.abstract:
        g.add((node, DCTERMS.description, _zh(ds.abstract)))
    publisher = URIRef(absolute(base, f"/open/departments/{quote(ds.department_code)}"))
    g.add((node, DCTERMS.publisher, publisher))
    g.add((publisher, RDF.type, FOAF.Organization))
    g.add((publisher, FOAF.name, _zh(ds.department_name)))
    for pred, value in (
        (DCTERMS.issued, ds.first_published_at),
        (DCTERMS.modified, ds.metadata_modified),
    ):
        lit = _when(value)
        if lit is not None:
            g.add((node, pred, lit))
    licence = LICENCES.get(ds.licence or DEFAULT_LICENCE) or LICENCES[DEFAULT_LICENCE]
    licence_node = URIRef(absolute(base, licence.url))
    g.add((node, DCTERMS.license, licence_node))
    g.add((licence_node, DCTERMS.title, _zh(licence.title)))
    g.add((node, DCTERMS.accrualPeriodicity, FREQ[FREQUENCIES.get(ds.update_cycle, "UNKNOWN")]))
    # Art. 33: unconditional data is public; conditional data is restricted to approved use.
    rights = "PUBLIC" if ds.open_type == "unconditional" else "RESTRICTED"
    g.add((node, DCTERMS.accessRights, ACCESS[rights]))
    theme = theme_of(ds.class_path)
    theme_node = URIRef(absolute(base, f"/open/themes/{quote(theme)}"))
    g.add((node, DCAT.theme, theme_node))
    g.add((theme_node, RDF.type, SKOS.Concept))
    g.add((theme_node, SKOS.prefLabel, _zh(theme)))
    # DCAT-AP: a theme of the EU data-theme table beside the city's own.
    g.add((node, DCAT.theme, DATA_THEME[eu_data_theme(theme)]))
    for tag in ds.tags or ():
        g.add((node, DCAT.keyword, _zh(tag)))
    landing = URIRef(absolute(base, f"/open/datasets/{ds.code}"))
    g.add((node, DCAT.landingPage, landing))
    if release is not None:
        dist = URIRef(f"{dataset_uri(base, ds.code)}/releases/{release.version}")
        g.add((node, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, _zh(f"{ds.name}（第{release.version}版）")))
        g.add((dist, DCAT.accessURL, landing))
        g.add((dist, DCAT.downloadURL, URIRef(download_url(base, ds.code))))
        g.add((dist, DCTERMS.format, FILE_TYPE.CSV))
        g.add(
            (dist, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/text/csv"))
        )
        g.add((dist, DCTERMS.license, licence_node))
        issued = _when(release.published_at)
        if issued is not None:
            g.add((dist, DCTERMS.issued, issued))
    return node


def _catalog_node(g: Graph, base: str) -> URIRef:
    node = URIRef(absolute(base, "/catalog"))
    g.add((node, RDF.type, DCAT.Catalog))
    g.add((node, DCTERMS.title, _zh("重庆市公共数据开放目录")))
    g.add(
        (
            node,
            DCTERMS.description,
            _zh("依照《重庆市政务数据资源管理暂行办法》第五章开放的政务数据资源。"),
        )
    )
    g.add(
        (
            node,
            DCTERMS.language,
            URIRef("http://publications.europa.eu/resource/authority/language/ZHO"),
        )
    )
    g.add((node, FOAF.homepage, URIRef(absolute(base, "/open"))))
    publisher = BNode()
    g.add((node, DCTERMS.publisher, publisher))
    g.add((publisher, RDF.type, FOAF.Organization))
    g.add((publisher, FOAF.name, _zh("重庆市大数据应用发展管理局")))
    return node


def catalog_graph(
    session: Session, base: str, fmt: Format, *, page: int = 1, page_size: int | None = None
) -> Graph:
    """One page of the catalog, newest first, with its hydra paging."""
    if page < 1:
        raise InvalidInput("opendata.dcat_page", "页码应为从 1 开始的整数。")
    page_size = min(max(page_size or PAGE_SIZE, 1), MAX_PAGE_SIZE)
    ensure_synced(session)
    live = OpenDataset.withdrawn.is_(False)
    total = int(session.scalar(select(func.count()).select_from(OpenDataset).where(live)) or 0)
    last = max(ceil(total / page_size), 1)
    if page > last:
        raise NotFound("opendata.dcat_page_not_found", f"目录共 {last} 页，没有第 {page} 页。")
    rows = list(
        session.scalars(
            select(OpenDataset)
            .where(live)
            .order_by(OpenDataset.metadata_modified.desc(), OpenDataset.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    g = _graph()
    catalog = _catalog_node(g, base)
    releases = current_releases(session, rows)
    for ds in rows:
        g.add((catalog, DCAT.dataset, _add_dataset(g, ds, releases.get(ds.id), base)))

    def page_url(n: int) -> URIRef:
        return URIRef(absolute(base, f"/catalog.{fmt}?page={n}"))

    view = page_url(page)
    g.add((view, RDF.type, HYDRA.PartialCollectionView))
    g.add((view, HYDRA.totalItems, Lit(total, datatype=XSD.integer)))
    g.add((view, HYDRA.itemsPerPage, Lit(page_size, datatype=XSD.integer)))
    g.add((view, HYDRA.first, page_url(1)))
    g.add((view, HYDRA.last, page_url(last)))
    if page > 1:
        g.add((view, HYDRA.previous, page_url(page - 1)))
    if page < last:
        g.add((view, HYDRA.next, page_url(page + 1)))
    return g


def dataset_graph(session: Session, base: str, code: str) -> Graph:
    ds = find_dataset(session, code)
    g = _graph()
    _add_dataset(g, ds, current_releases(session, [ds]).get(ds.id), base)
    return g


def serialize(g: Graph, fmt: Format) -> tuple[bytes, str]:
    name, media_type = SERIALIZERS[fmt]
    data = g.serialize(format=name, encoding="utf-8")
    return data, media_type
