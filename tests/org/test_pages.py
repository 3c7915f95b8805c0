"""Org pages for people and their roles, read as a bureau administrator would."""

from __future__ import annotations

import re

from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _scopes(html: str) -> list[str]:
    cells = re.findall(r'<td data-testid="grant-scope">(.*?)</td>', html, re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def test_a_role_scope_names_the_department_and_the_region(sign_in, world: World) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("city")
    officer = c.get(f"/org/people/{world.people['officer']}", headers=HTML)
    assert officer.status_code == 200
    assert _scopes(officer.text) == ["市公安局"]
    assert f'href="/org/departments/{world.police}"' in officer.text
    assert "部门 #" not in officer.text
    district = c.get(f"/org/people/{world.people['yz_admin']}", headers=HTML)
    assert _scopes(district.text) == ["渝中区"]
    assert "区域 #" not in district.text
    assert _scopes(c.get(f"/org/people/{world.people['city']}", headers=HTML).text) == ["全市"]
