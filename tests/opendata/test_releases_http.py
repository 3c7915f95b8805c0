"""Releases over HTTP (Art. 31 ¶2): the JSON API and the provider's pages, and the refused
sides."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.ids import make_id_number
from govdata.opendata.models import OpenDataset, Release, ReleaseRule
from tests.aggregation.base_helpers import K1, upsert
from tests.opendata.helpers import OpenCity, build_open_city
from tests.world import World

API = "/api/v1/opendata/datasets"


@pytest.fixture
def oc(session: Session, world: World) -> OpenCity:
    city = build_open_city(session, world)
    session.commit()
    return city


def _error(r: Any) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


def _count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_rules_build_and_publish_over_the_api(sign_in: Any, session: Session, oc: OpenCity) -> None:
    officer = sign_in("officer")
    r = officer.get(f"{API}/{oc.person.code}/rules")
    assert r.status_code == 200, r.text
    assert [(x["item"], x["method"], x["default"]) for x in r.json()] == [
        ("公民身份号码", "mask", True),
        ("姓名", "mask", True),
    ]
    r = officer.put(
        f"{API}/{oc.person.code}/rules",
        json={"rules": [{"item": "姓名", "method": "drop"}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()[1] == {
        "item": "姓名",
        "data_type": "C",
        "method": "drop",
        "method_label": "不开放",
        "params": {},
        "quasi_identifier": False,
        "default": False,
    }
    r = officer.post(f"{API}/{oc.person.code}/releases")
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    # The build ran after the response (inline on SQLite; the test worker drains the queue).
    r = officer.get(f"{API}/{oc.person.code}/releases/{rid}")
    body = r.json()
    assert body["status"] == "ready", body
    assert [c["name"] for c in body["columns"]] == ["公民身份号码"]
    assert body["scan"]["passed"] is True and body["row_count"] == 3
    r = officer.post(f"{API}/{oc.person.code}/releases/{rid}/publish")
    assert r.status_code == 200 and r.json()["status_label"] == "已发布"
    session.expire_all()
    assert session.get(OpenDataset, oc.person.id).current_release_id == rid  # type: ignore[union-attr]
    listed = officer.get(f"{API}/{oc.person.code}/releases").json()
    assert [x["version"] for x in listed] == [1]


def test_bad_rules_get_a_zh_message_and_nothing_is_written(
    sign_in: Any, session: Session, oc: OpenCity
) -> None:
    officer = sign_in("officer")
    r = officer.put(
        f"{API}/{oc.person.code}/rules",
        json={
            "rules": [{"item": "姓名", "method": "keep"}, {"item": "出生日期", "method": "keep"}]
        },
    )
    assert r.status_code == 400
    err = _error(r)
    assert err["code"] == "opendata.rule_item" and "开放信息项" in err["message"]
    r = officer.put(
        f"{API}/{oc.person.code}/rules",
        json={"rules": [{"item": "姓名", "method": "generalize", "params": {"to": "century"}}]},
    )
    assert r.status_code == 400 and _error(r)["code"] == "opendata.rule_params"
    assert _count(session, ReleaseRule) == 0


def test_refused_sides(sign_in: Any, client: Any, session: Session, oc: OpenCity) -> None:
    # Art. 29, 31: another department, a citizen, or nobody signed in cannot manage.
    for name in ("officer2", "citizen", "yz_officer"):
        c = sign_in(name)
        r = c.get(f"{API}/{oc.person.code}/rules")
        assert r.status_code == 403 and _error(r)["code"] == "opendata.not_provider"
        r = c.post(f"{API}/{oc.person.code}/releases")
        assert r.status_code == 403
        assert c.get(f"/opendata/datasets/{oc.person.code}/release").status_code == 403
    assert client.get(f"{API}/{oc.person.code}/releases").status_code == 401
    assert client.post(f"{API}/{oc.person.code}/releases").status_code in (401, 403)
    assert sign_in("officer").get(f"{API}/NO-SUCH/rules").status_code == 404
    assert _count(session, Release) == 0


def test_blocked_release_cannot_be_published_over_http(
    sign_in: Any, session: Session, world: World, oc: OpenCity
) -> None:
    upsert(
        session,
        oc.city.police_pool,
        [{"公民身份号码": make_id_number("500103", date(1985, 6, 1), 7), "姓名": "陈七"}],
    )
    session.commit()
    officer = sign_in("officer")
    officer.put(
        f"{API}/{oc.person.code}/rules",
        json={"rules": [{"item": "公民身份号码", "method": "keep"}]},
    )
    rid = officer.post(f"{API}/{oc.person.code}/releases").json()["id"]
    body = officer.get(f"{API}/{oc.person.code}/releases/{rid}").json()
    assert body["status"] == "blocked"
    r = officer.post(f"{API}/{oc.person.code}/releases/{rid}/publish")
    assert r.status_code == 409 and _error(r)["code"] == "opendata.release_state"
    # Another dataset's release id is not found under this code.
    r = officer.get(f"{API}/{oc.market.code}/releases/{rid}")
    assert r.status_code in (403, 404)


def test_the_provider_page_edits_rules_builds_and_publishes(
    sign_in: Any, session: Session, oc: OpenCity
) -> None:
    head = sign_in("head")
    page = head.get("/opendata/releases")
    assert page.status_code == 200 and oc.person.code in page.text
    assert oc.market.code not in page.text  # not the police's dataset
    url = f"/opendata/datasets/{oc.person.code}/release"
    page = head.get(url)
    assert page.status_code == 200 and 'data-testid="rule-公民身份号码"' in page.text
    assert "出生日期" not in re.sub(r"<p class=\"muted\">.*?</p>", "", page.text, flags=re.S)
    form = {
        "item": ["公民身份号码", "姓名"],
        "method": ["mask", "pseudonymize"],
        "keep_first": ["6", ""],
        "keep_last": ["0", ""],
        "to": ["year", "year"],
        "band": ["", ""],
        "csrf_token": head.csrf,
    }
    r = head.post(f"{url}/rules", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    session.expire_all()
    stored = {x.item: (x.method, x.params) for x in session.scalars(select(ReleaseRule))}
    assert stored["公民身份号码"] == ("mask", {"keep_first": 6, "keep_last": 0, "char": "*"})
    assert stored["姓名"][0] == "pseudonymize"
    r = head.post(f"{url}/build", data={"csrf_token": head.csrf}, follow_redirects=True)
    assert r.status_code == 200 and 'data-testid="status-1"' in r.text
    assert "待发布" in r.text and "泄露扫描通过" in r.text
    rid = session.scalar(select(Release.id))
    r = head.post(f"{url}/{rid}/publish", data={"csrf_token": head.csrf}, follow_redirects=True)
    assert r.status_code == 200 and "已发布该版本" in r.text
    assert K1 not in r.text


def test_the_rules_form_refuses_bad_numbers(sign_in: Any, session: Session, oc: OpenCity) -> None:
    head = sign_in("head")
    url = f"/opendata/datasets/{oc.person.code}/release"
    form = {
        "item": ["公民身份号码"],
        "method": ["mask"],
        "keep_first": ["三"],
        "keep_last": [""],
        "to": ["year"],
        "band": [""],
        "csrf_token": head.csrf,
    }
    r = head.post(f"{url}/rules", data=form, follow_redirects=False)
    assert r.status_code == 400 and "保留前几位须为非负整数" in r.text
    assert _count(session, ReleaseRule) == 0


def test_the_provider_sets_k_for_the_quasi_identifiers(
    sign_in: Any, session: Session, oc: OpenCity
) -> None:  # Art. 31 ¶2: k-anonymity, k >= 5 unless the provider asks more
    head = sign_in("head")
    url = f"/opendata/datasets/{oc.person.code}/release"
    assert 'data-testid="k"' in head.get(url).text and 'value="5"' in head.get(url).text
    form = {
        "item": ["公民身份号码", "姓名"],
        "method": ["mask", "keep"],
        "keep_first": ["3", ""],
        "keep_last": ["4", ""],
        "to": ["year", "year"],
        "band": ["", ""],
        "qi": ["姓名"],
        "k": "20",
    }
    r = head.post(f"{url}/rules", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    session.expire_all()
    stored = {x.item: x.params for x in session.scalars(select(ReleaseRule))}
    assert stored["姓名"].get("k") == 20 and "k" not in stored["公民身份号码"]
    assert 'value="20"' in head.get(url).text
    # Bad input: a zh-CN message, nothing changed.
    r = head.post(f"{url}/rules", data={**form, "k": "二十"}, follow_redirects=False)
    assert r.status_code == 400 and "k 值须为非负整数" in r.text
    r = head.post(f"{url}/rules", data={**form, "k": "1"}, follow_redirects=False)
    assert r.status_code == 400 and "规则参数 k 须为 2 至 1000 之间的整数" in r.text
    session.expire_all()
    assert {x.item: x.params for x in session.scalars(select(ReleaseRule))} == stored


def test_the_page_shows_a_running_build_and_refreshes(
    sign_in: Any, session: Session, world: World, oc: OpenCity
) -> None:
    from govdata.opendata import releases

    releases.request_build(session, world.actor(session, "officer"), oc.person.code)
    session.commit()
    page = sign_in("officer").get(f"/opendata/datasets/{oc.person.code}/release")
    assert page.status_code == 200
    assert 'data-testid="building"' in page.text and 'http-equiv="refresh"' in page.text
    assert 'data-testid="build"' not in page.text  # one build at a time
    assert "生成中" in page.text


def test_a_build_in_this_process_reports_its_progress_to_the_page(
    sign_in: Any,
    session: Session,
    world: World,
    oc: OpenCity,
    test_sessionmaker: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # SQLite's builds run in the serving process; the page shows how far they got
    from govdata.opendata import releases, tasks

    release = releases.request_build(session, world.actor(session, "officer"), oc.person.code)
    session.commit()
    officer = sign_in("officer")
    seen: list[str] = []

    def build_and_look(s: Session, release_id: int, *, progress: Any = None) -> Any:
        progress(1200, 4800)
        seen.append(officer.get(f"/opendata/datasets/{oc.person.code}/release").text)
        return None

    monkeypatch.setattr(releases, "execute_build", build_and_look)
    tasks.run_build(test_sessionmaker, release.id)  # type: ignore[arg-type]
    assert "已处理 1200 / 4800 条" in seen[0]
    assert release.id not in tasks.LOCAL_PROGRESS  # gone once the build ends
