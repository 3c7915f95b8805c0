"""The catalog's JSON API over HTTP: the review flow, refusals from the refused side, the error
shape, the published catalog and what derives from it (Art. 12, 13, 14, 25, 26, 32)."""

from __future__ import annotations

from typing import Any

from tests.catalog.factories import company_resource, person_resource


def _error(r: Any) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    return body["error"]


def _body(data: Any) -> dict[str, Any]:
    return data.model_dump(mode="json", exclude_none=True)


def test_the_review_flow_over_http(sign_in, world, client) -> None:  # type: ignore[no-untyped-def]
    officer, city = sign_in("officer"), sign_in("city")
    r = officer.post(
        f"/api/v1/catalog/departments/{world.police}/resources", json=_body(person_resource())
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["code"] == "101001000/000001" and created["state"] == "draft"
    assert created["items"][0]["name"] == "公民身份号码"

    r = officer.post(
        f"/api/v1/catalog/departments/{world.police}/submissions", json={"note": "首次"}
    )
    assert r.status_code == 201 and r.json()["status"] == "pending_city"
    sub = r.json()
    entries = officer.get(f"/api/v1/catalog/submissions/{sub['id']}/entries").json()
    assert [e["action"] for e in entries] == ["add"]

    # The officer cannot decide or publish; the city bureau can.
    r = officer.post(f"/api/v1/catalog/entries/{entries[0]['id']}/decision", json={"approve": True})
    assert r.status_code == 403 and _error(r)["code"] == "catalog.city_review_only"
    r = city.post(f"/api/v1/catalog/entries/{entries[0]['id']}/decision", json={"approve": True})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = city.post("/api/v1/catalog/versions", json={"note": "第一版"})
    assert r.status_code == 201 and r.json()["number"] == 1

    page = officer.get("/api/v1/catalog/published").json()
    assert page["version"] == 1 and [i["code"] for i in page["items"]] == [created["code"]]
    one = officer.get(f"/api/v1/catalog/published/{created['code']}").json()
    assert one["data"]["items"][0]["is_subject_key"] is True
    rl = officer.get(f"/api/v1/catalog/responsibility/{world.police}").json()
    assert rl["items"][0]["update_cycle"] == "daily"  # Art. 13
    # Share catalog (Art. 26) has it; the open catalog (Art. 32: 不予开放) does not — and the
    # open catalog is public.
    assert officer.get("/api/v1/catalog/share-catalog").json()["total"] == 1
    r = client.get("/api/v1/catalog/open-catalog")
    assert r.status_code == 200 and r.json()["total"] == 0
    diff = officer.get("/api/v1/catalog/versions/1/diff").json()
    assert [a["code"] for a in diff["added"]] == [created["code"]]


def test_rules_are_refused_with_stable_codes_and_nothing_stored(sign_in, world) -> None:  # type: ignore[no-untyped-def]
    officer = sign_in("officer2")
    bad = _body(company_resource(share_type="none", legal_basis=""))
    r = officer.post(f"/api/v1/catalog/departments/{world.market}/resources", json=bad)
    assert r.status_code == 400
    err = _error(r)
    assert err["code"] == "catalog.share_legal_basis_required"  # Art. 25(1)
    assert "第二十五条" in err["message"]
    assert officer.get("/api/v1/catalog/resources").json()["total"] == 0
    # A malformed payload (unknown enum, unknown field) is a 422, not a 500.
    r = officer.post(
        f"/api/v1/catalog/departments/{world.market}/resources",
        json={**_body(company_resource()), "share_type": "sometimes"},
    )
    assert r.status_code == 422
    r = officer.post(
        f"/api/v1/catalog/departments/{world.market}/resources",
        json={**_body(company_resource()), "colour": "red"},
    )
    assert r.status_code == 422


def test_refused_sides(sign_in, world) -> None:  # type: ignore[no-untyped-def]
    officer, other, citizen = sign_in("officer"), sign_in("officer2"), sign_in("citizen")
    r = officer.post(
        f"/api/v1/catalog/departments/{world.police}/resources", json=_body(person_resource())
    )
    rid = r.json()["id"]
    # Another department's officer: not found (no leak), and cannot write into the police's list.
    assert other.get(f"/api/v1/catalog/resources/{rid}").status_code == 404
    r = other.put(f"/api/v1/catalog/resources/{rid}", json=_body(person_resource(abstract="x")))
    assert r.status_code == 404
    r = other.post(
        f"/api/v1/catalog/departments/{world.police}/resources",
        json=_body(person_resource("别人的资源")),
    )
    assert r.status_code == 404
    # A citizen sees no working lists and no published catalog (only the open one).
    assert citizen.get("/api/v1/catalog/resources").status_code == 403
    assert citizen.get("/api/v1/catalog/published").status_code == 403
    # The district bureau of another district cannot compile Yuzhong's lists.
    jb = sign_in("jb_admin")
    r = jb.post(f"/api/v1/catalog/regions/{world.yuzhong}/compilations")
    assert r.status_code == 403 and _error(r)["code"] == "catalog.cannot_compile"


def test_nothing_published_yet_is_a_clear_404(sign_in) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer").get("/api/v1/catalog/published")
    assert r.status_code == 404 and _error(r)["code"] == "catalog.no_published_version"


def test_changes_and_overdue_over_http(sign_in, world) -> None:  # type: ignore[no-untyped-def]
    officer = sign_in("officer")
    r = officer.post(
        f"/api/v1/catalog/departments/{world.police}/changes",
        json={"kind": "law", "description": "《某条例》修订", "occurred_on": "2026-02-12"},
    )
    assert r.status_code == 201 and r.json()["apply_due"] == "2026-03-04"  # Art. 14 ¶1
    r = officer.get("/api/v1/catalog/overdue")
    assert r.status_code == 200
    assert [c["id"] for c in r.json()["changes"]] != []  # overdue since 2026-03-05


def test_demands_over_http(sign_in, world) -> None:  # type: ignore[no-untyped-def]
    officer = sign_in("officer")
    r = officer.post(
        f"/api/v1/catalog/departments/{world.police}/demands",
        json={"title": "市场主体登记信息", "provider_department_id": world.market},
    )
    assert r.status_code == 201
    did = r.json()["id"]
    r = officer.put(f"/api/v1/catalog/demands/{did}", json={"title": "市场主体登记基本信息"})
    assert r.status_code == 200 and r.json()["title"] == "市场主体登记基本信息"
    assert officer.get("/api/v1/catalog/demands").json()["total"] == 1
    assert officer.delete(f"/api/v1/catalog/demands/{did}").status_code == 204


def test_a_department_system_keeps_its_list_with_a_scoped_token(session, world, client) -> None:  # type: ignore[no-untyped-def]
    from govdata.org import auth
    from govdata.org.schemas import TokenCreate

    officer = world.actor(session, "officer")
    write = auth.issue_token(
        session, officer, world.police, TokenCreate(name="目录系统", scopes=["catalog:write"])
    ).secret
    read = auth.issue_token(
        session, officer, world.police, TokenCreate(name="只读系统", scopes=["org:read"])
    ).secret
    session.commit()
    body = _body(person_resource())
    r = client.post(
        f"/api/v1/catalog/departments/{world.police}/resources",
        json=body,
        headers={"Authorization": f"Bearer {read}"},
    )
    assert r.status_code == 403 and _error(r)["code"] == "catalog.cannot_edit_list"
    r = client.post(
        f"/api/v1/catalog/departments/{world.market}/resources",
        json=body,
        headers={"Authorization": f"Bearer {write}"},
    )
    assert r.status_code == 404  # another department's list is not even visible
    r = client.post(
        f"/api/v1/catalog/departments/{world.police}/resources",
        json=body,
        headers={"Authorization": f"Bearer {write}"},
    )
    assert r.status_code == 201, r.text
    # Reading the published catalog needs catalog:read.
    r = client.get("/api/v1/catalog/published", headers={"Authorization": f"Bearer {write}"})
    assert r.status_code == 403 and _error(r)["code"] == "auth.scope_missing"


def test_the_api_diffs_any_two_versions(sign_in, session, world) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from govdata.catalog import review, service
    from govdata.catalog.models import ReviewEntry

    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    codes = []
    for name in ("甲资源", "乙资源", "丙资源"):  # versions 1, 2, 3: one added in each
        codes.append(
            service.create_resource(session, officer, world.police, person_resource(name)).code
        )
        review.submit(session, officer, world.police)
        for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
            review.decide(session, city, entry.id, approve=True)
        review.publish(session, city)
    session.commit()
    reader = sign_in("officer2")
    diff = reader.get("/api/v1/catalog/versions/3/diff?against=1").json()
    assert (diff["old_version"], diff["new_version"]) == (1, 3)
    assert sorted(a["code"] for a in diff["added"]) == sorted(codes[1:])
    assert reader.get("/api/v1/catalog/versions/1/diff?against=3").json()["old_version"] == 1
    assert reader.get("/api/v1/catalog/versions/3/diff").json()["old_version"] == 2
    same = reader.get("/api/v1/catalog/versions/2/diff?against=2")
    assert same.status_code == 400 and _error(same)["code"] == "catalog.compare_same_version"
    assert reader.get("/api/v1/catalog/versions/2/diff?against=0").status_code == 422
