"""The quality pages over HTTP (Art. 20): the supervisors' overview with its chart, a
department's page with its late resources, a pool's trend and per-item completeness, the
re-measurement form; refusals from the refused side."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from govdata.core.calendar import today
from tests.aggregation.quality_helpers import beijing, fake_base, loaded, person_input, publish_many
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}
SVG = re.compile(r'<svg role="img" aria-label="([^"]+)"')


@pytest.fixture
def agreement(monkeypatch: pytest.MonkeyPatch) -> dict[str, float | None]:
    return fake_base(monkeypatch)


@pytest.fixture
def police(session: Session, world: World, agreement: dict[str, float | None]) -> dict[str, Any]:
    """Police: 页面人口 loaded twice (the second time 10 days ago, on a weekly cycle: late),
    页面未汇聚 never loaded."""
    weekly, never = publish_many(
        session,
        world,
        world.police,
        [person_input("页面人口", update_cycle="weekly"), person_input("页面未汇聚")],
    )
    rows = [
        {"公民身份号码": f"5001031990010100{i:02d}", "姓名": "有" if i else None} for i in range(4)
    ]
    loaded(session, world, weekly, rows, read=4, at=beijing(today() - timedelta(days=12)))
    pool, _, _ = loaded(
        session, world, weekly, rows, read=8, bad=4, at=beijing(today() - timedelta(days=10))
    )
    session.commit()
    return {"pool": pool.id, "weekly": weekly.code, "never": never.code}


def _rows(html: str, testid: str) -> str:
    match = re.search(rf'<table data-testid="{testid}">(.*?)</table>', html, re.DOTALL)
    assert match, f"no table {testid}"
    return match.group(1)


def test_the_overview_shows_the_chart_the_departments_and_the_late(  # type: ignore[no-untyped-def]
    sign_in, world: World, police: dict[str, Any]
) -> None:
    r = sign_in("city").get("/aggregation/quality", headers=HTML)
    assert r.status_code == 200, r.text
    html = r.text
    assert "数据质量总览 · 全市" in html
    assert SVG.findall(html) == ["各部门数据质量（全市，最新评估的平均值）"]
    # The chart is a static picture: the only script is the navigation's, of every page.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/nav.js">']
    departments = _rows(html, "departments")
    assert (
        "市公安局" in departments
        and f"/aggregation/quality/departments/{world.police}" in departments
    )
    # Completeness 7/16 cells, validity 4/8 rows: the numbers of the chart, in the table.
    assert "43.8%" in departments and "50.0%" in departments
    late = _rows(html, "timeliness")
    assert "页面人口" in late and "已超期" in late and "超期 3 天" in late
    assert "页面未汇聚" in late and "未汇聚" in late
    assert 'data-testid="late-total">2<' in html
    assert "页面人口" in _rows(html, "worst-pools")


def test_a_department_officer_is_taken_to_the_own_department(  # type: ignore[no-untyped-def]
    sign_in, world: World, police: dict[str, Any]
) -> None:
    officer = sign_in("officer")
    r = officer.get("/aggregation/quality", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/aggregation/quality/departments/{world.police}"
    r = officer.get(r.headers["location"], headers=HTML)
    assert r.status_code == 200, r.text
    html = r.text
    assert "市公安局 · 数据质量" in html
    assert set(SVG.findall(html)) == {
        "市公安局数据质量趋势（按评估日期的平均值）",
        "市公安局各数据资源池的数据质量",
    }
    timeliness = _rows(html, "timeliness")
    assert re.search(r"页面人口.*?已超期", timeliness, re.DOTALL)
    assert re.search(r"页面未汇聚.*?未汇聚", timeliness, re.DOTALL)
    assert "43.8%" in _rows(html, "pools")
    assert "返回数据质量总览" not in html  # officers have no overview
    assert 'data-testid="late-count">2<' in html


def test_the_pool_page_shows_the_trend_and_each_item(  # type: ignore[no-untyped-def]
    sign_in, world: World, police: dict[str, Any]
) -> None:
    r = sign_in("head").get(f"/aggregation/quality/pools/{police['pool']}", headers=HTML)
    assert r.status_code == 200, r.text
    html = r.text
    assert SVG.findall(html) == ["页面人口数据质量趋势（按加载）"]
    trend = _rows(html, "trend")  # the header and two loads
    assert trend.count("<tr>") == 3 and "100.0%" in trend and "50.0%" in trend
    items = _rows(html, "items")
    assert re.search(r"姓名</td><td><span class=\"badge warn\">75.0%", items)
    assert "公民身份号码</td><td>100.0%" in items
    assert "已超期" in html and "重新评估质量" not in html  # the head does not measure


def test_the_officer_measures_again_from_the_pool_page(  # type: ignore[no-untyped-def]
    sign_in, world: World, police: dict[str, Any], agreement: dict[str, float | None]
) -> None:
    officer = sign_in("officer")
    url = f"/aggregation/quality/pools/{police['pool']}"
    html = officer.get(url, headers=HTML).text
    assert "重新评估质量" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    # Without the form's token: refused.
    r = officer.client.post(f"{url}/measure", data={}, headers=HTML)
    assert r.status_code == 403
    agreement["value"] = 0.25
    r = officer.client.post(
        f"{url}/measure", data={"csrf_token": token}, headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"{url}?msg=measured"
    html = officer.get(r.headers["location"], headers=HTML).text
    assert "已重新评估该数据资源池的数据质量。" in html
    assert "重新评估" in _rows(html, "trend") and "25.0%" in _rows(html, "trend")


def test_pages_refuse_from_the_refused_side(  # type: ignore[no-untyped-def]
    sign_in, client, world: World, police: dict[str, Any]
) -> None:
    market = sign_in("officer2")
    r = market.get(f"/aggregation/quality/departments/{world.police}", headers=HTML)
    assert r.status_code == 404 and "未找到该部门" in r.text
    r = market.get(f"/aggregation/quality/pools/{police['pool']}", headers=HTML)
    assert r.status_code == 404
    r = sign_in("yz_admin").get(f"/aggregation/quality/departments/{world.police}", headers=HTML)
    assert r.status_code == 404
    r = sign_in("citizen").get("/aggregation/quality", headers=HTML)
    assert r.status_code == 403 and "数据质量" in r.text
    r = sign_in("auditor").get(f"/aggregation/quality/pools/{police['pool']}", headers=HTML)
    assert r.status_code == 200 and "重新评估质量" not in r.text
    r = client.get("/aggregation/quality", headers=HTML, follow_redirects=False)
    assert r.status_code in (303, 401)


def test_the_district_overview_is_its_region(sign_in, world: World, police: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("yz_admin").get("/aggregation/quality", headers=HTML)
    assert r.status_code == 200
    assert "数据质量总览 · 渝中区" in r.text and "市公安局" not in r.text
    assert "暂无数据" in r.text  # the chart of a region without measured pools


def test_an_empty_department_page(sign_in, world: World) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer2").get(f"/aggregation/quality/departments/{world.market}", headers=HTML)
    assert r.status_code == 200
    assert "本部门尚无数据资源池。" in r.text and "暂无数据" in r.text


# --- the charts themselves ----------------------------------------------------------------------


def test_a_chart_is_a_labelled_static_svg_with_escaped_text() -> None:
    from govdata.aggregation import charts
    from govdata.aggregation.quality import Metrics
    from govdata.web import charts as web_charts

    rows = [Metrics(0.5, 1.0, 1.0, None), Metrics(0.25, 0.5, None, 0.75)]
    svg = str(
        charts.bar_chart(
            "质量<script>alert(1)</script>", ["市公安局<b>", "部门"], charts.metric_series(rows)
        )
    )
    assert svg.startswith('<svg role="img" aria-label="质量&lt;script&gt;alert(1)&lt;/script&gt;"')
    assert "<script" not in svg and "<b>" not in svg and "市公安局&lt;b&gt;" in svg
    assert "<title>质量&lt;script&gt;alert(1)&lt;/script&gt;</title>" in svg
    assert "http://" not in svg.split("<defs>", 1)[1]
    # Art. 39: no inline style for the pages' CSP; the shared stylesheet carries the font.
    assert "<style" not in svg and "style=" not in svg
    stylesheet = web_charts.stylesheet()  # served once at /charts.css
    assert "Noto Sans CJK SC" in stylesheet and "#chart-" not in stylesheet
    assert 'id="activate-serie' not in svg  # legend ids would repeat between charts
    line = str(charts.line_chart("趋势", ["01-01", "01-02"], charts.metric_series(rows)))
    assert "50.0%" in line and "25.0%" in line  # the values, as percentages
    assert "暂无数据" in str(charts.line_chart("空", [], charts.metric_series([])))


def test_long_titles_wrap_and_long_labels_are_cut() -> None:
    from govdata.aggregation import charts
    from govdata.aggregation.quality import Metrics

    name = "重庆市某某区县某某部门某某业务系统某某数据资源" * 2
    svg = str(
        charts.bar_chart(name + "的数据质量", [name], charts.metric_series([Metrics(1, 1, 1, 1)]))
    )
    assert svg.count('class="title') >= 2  # two title lines
    assert name[:15] + "…" in svg and name not in svg.split("</title>", 1)[1]


def test_a_chart_of_many_departments_shows_the_lowest(  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch, sign_in, world: World, police: dict[str, Any]
) -> None:
    from govdata.aggregation.pages import quality as pages

    monkeypatch.setattr(pages, "CHART_BARS", 0)
    html = sign_in("city").get("/aggregation/quality", headers=HTML).text
    assert "共 1 项，图中列出平均得分最低的 0 项。" in html


@pytest.mark.parametrize(
    ("username", "heading"),
    [
        ("city", "数据质量总览 · 全市"),
        ("auditor", "数据质量总览 · 全市"),
        ("yz_admin", "数据质量总览 · 渝中区"),
        ("jb_admin", "数据质量总览 · 江北区"),
        ("officer", "市公安局 · 数据质量"),
        ("head", "市公安局 · 数据质量"),
        ("yz_officer", "渝中区公安分局 · 数据质量"),
    ],
)
def test_the_navigation_entry_opens_for_everyone_who_sees_it(  # type: ignore[no-untyped-def]
    sign_in, username: str, heading: str
) -> None:
    r = sign_in(username).get("/aggregation/quality", headers=HTML)
    assert r.status_code == 200 and f"<h1>{heading}</h1>" in r.text
