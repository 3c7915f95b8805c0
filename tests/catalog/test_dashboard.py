"""The catalog's counts on the home page: real, and scoped to the actor (Art. 12–14)."""

from __future__ import annotations

import re
from datetime import date

from govdata.catalog import review, service, updates
from govdata.catalog.schemas import ChangeIn
from tests.catalog.factories import company_resource, person_resource

HTML = {"Accept": "text/html"}


def _stat(html: str, key: str) -> str | None:
    match = re.search(rf'data-testid="stat-{key}"><div class="n">([^<]*)</div>', html)
    return match.group(1) if match else None


def test_home_pages_count_the_catalog(session, world, sign_in) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    service.create_resource(session, officer, world.police, person_resource())
    service.create_resource(session, officer, world.police, person_resource("流动人口信息"))
    review.submit(session, officer, world.police)
    service.create_resource(session, officer, world.police, person_resource("草稿资源"))
    updates.record_change(
        session,
        officer,
        world.police,
        ChangeIn(kind="law", description="法规修订", occurred_on=date(2026, 2, 12)),
    )
    yz = world.actor(session, "yz_officer")
    service.create_resource(session, yz, world.yz_police, company_resource())
    review.submit(session, yz, world.yz_police)
    session.commit()

    c = sign_in("officer")
    html = c.get("/", headers=HTML).text
    assert _stat(html, "catalog_resources") == "3"
    assert _stat(html, "catalog_drafts") == "1"
    assert _stat(html, "catalog_returned") == "0"
    # Each tile opens the list filtered to what it counts (issue 16).
    link = re.search(r'href="([^"]+)" data-testid="stat-catalog_drafts"', html)
    assert link and link.group(1) == f"/catalog/departments/{world.police}/list?state=draft"
    drafts = c.get(link.group(1), headers=HTML).text
    assert "草稿资源" in drafts and "流动人口信息" not in drafts
    assert (
        f'href="/catalog/departments/{world.police}/list?state=returned" '
        'data-testid="stat-catalog_returned"' in html
    )
    assert _stat(html, "catalog_change_overdue") == "1"  # due 2026-03-04, not applied
    assert _stat(html, "catalog_pending") is None  # not the bureau's figure

    html = sign_in("city").get("/", headers=HTML).text
    assert _stat(html, "catalog_version") == "尚未发布"
    assert _stat(html, "catalog_pending") == "2"  # the district's list is not at the city yet

    html = sign_in("yz_admin").get("/", headers=HTML).text
    assert _stat(html, "catalog_to_compile") == "1"
    assert _stat(html, "catalog_pending") is None

    assert _stat(sign_in("citizen").get("/", headers=HTML).text, "catalog_version") is None
