from __future__ import annotations

from govdata.org import service


def test_world_is_visible_to_city_admin(session, world) -> None:
    actor = world.actor(session, "city")
    assert service.list_departments(session, actor).total == 6


def test_http_sign_in(sign_in, world) -> None:
    c = sign_in("city")
    r = c.get("/api/v1/me")
    assert r.status_code == 200
    assert r.json()["name"] == "陈市管"
