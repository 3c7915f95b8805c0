"""The shared chart plumbing (web/charts.py): pages draw pygal charts under the strict CSP
(Art. 39) — no script, no inline style, one stylesheet for every chart on a page — and a chart
may pick its colours from the palette."""

from __future__ import annotations

import re
from typing import Any

import pytest

from govdata.web.headers import CACHEABLE_PREFIXES

# pygal (imported by govdata.web.charts) puts an import hook on sys.meta_path that pytest's
# collection of the next test modules trips over: it is imported inside the tests only.


def _bars(title: str, series: dict[str, list[int]], labels: list[str] | None = None) -> Any:
    import pygal  # type: ignore[import-untyped]

    from govdata.web import charts

    chart = pygal.Bar(charts.config(title, height=300))
    chart.x_labels = labels or ["一", "二"]
    for name, values in series.items():
        chart.add(name, values)
    return chart


def _colour_classes(svg: str) -> set[str]:
    return {c for cls in re.findall(r'class="([^"]*)"', svg) for c in re.findall(r"color-\d+", cls)}


def test_a_chart_carries_no_script_no_style_and_no_repeated_ids() -> None:
    from govdata.web import charts

    svg = str(charts.render(_bars("标题", {"甲": [1, 2], "乙": [3, 4]}), "标题"))
    assert svg.startswith('<svg role="img" aria-label="标题" ')
    assert "<script" not in svg and "<style" not in svg and "style=" not in svg
    assert "<!--" not in svg and 'id="activate-serie' not in svg
    assert 'class="pygal-chart"' in svg


def test_one_stylesheet_serves_every_chart_on_a_page() -> None:
    from govdata.web import charts
    from govdata.web.charts import PALETTE, STYLED_SERIES

    # pygal scopes its CSS by each chart's id; ours is scoped by the class all charts share.
    first = str(charts.render(_bars("一", {"甲": [1, 2]}), "一"))
    second = str(charts.render(_bars("二", {"乙": [1, 2]}), "二"))
    ids = [re.search(r'id="(chart-[^"]+)"', svg).group(1) for svg in (first, second)]  # type: ignore[union-attr]
    assert ids[0] != ids[1]
    css = charts.stylesheet()
    assert "#chart-" not in css and ".pygal-chart .title" in css
    for index, colour in enumerate(PALETTE):
        assert f".pygal-chart .color-{index},.pygal-chart .color-{index} a:visited" in css
        assert f"stroke:{colour};fill:{colour}" in css
    assert f".pygal-chart .color-{STYLED_SERIES - 1}" in css


def test_a_chart_picks_its_colours_from_the_palette() -> None:
    from govdata.web import charts
    from govdata.web.charts import Colour

    series = {"甲": [1, 2], "乙": [3, 4], "丙": [5, 6]}
    svg = str(charts.render(_bars("t", series), "t", colors=[Colour.RED, Colour.BLUE, Colour.GREY]))
    assert 'class="series serie-0 color-4"' in svg
    assert 'class="series serie-1 color-0"' in svg
    assert 'class="series serie-2 color-5"' in svg
    # the legend's swatches too
    assert _colour_classes(svg) == {"color-4", "color-0", "color-5"}


def test_picking_colours_rewrites_classes_never_a_text() -> None:
    from govdata.web import charts
    from govdata.web.charts import Colour

    # A label that looks like a colour class is the data's own text: it is left as written.
    chart = _bars("color-0 标题", {"color-0": [1, 2]}, labels=["color-0", "color-1"])
    svg = str(charts.render(chart, "color-0 标题", colors=[Colour.GREEN]))
    assert ">color-0</text>" in svg and "<title>color-0 标题</title>" in svg
    assert _colour_classes(svg) == {"color-1"}


def test_a_chart_without_a_colour_for_each_series_is_refused() -> None:
    from govdata.web import charts
    from govdata.web.charts import STYLED_SERIES, Colour

    chart = _bars("t", {"甲": [1, 2], "乙": [3, 4]})
    with pytest.raises(ValueError, match="names 1 colours"):
        charts.render(chart, "t", colors=[Colour.RED])
    with pytest.raises(ValueError, match="no colour 16"):
        charts.render(chart, "t", colors=[Colour.RED, STYLED_SERIES])


def test_long_texts_wrap_and_cut_by_their_width_in_chinese() -> None:
    from govdata.web import charts

    assert charts.units("数据a") == pytest.approx(2.6)
    assert charts.wrap("数" * 50, width_em=20).split("\n") == ["数" * 20, "数" * 20, "数" * 10]
    assert charts.truncate("重庆市大数据应用发展管理局", 6) == "重庆市大数…"
    assert charts.truncate("短名", 6) == "短名"


def test_the_stylesheet_url_is_cached_like_the_static_files() -> None:
    from govdata.web import charts

    assert charts.STYLESHEET_URL.startswith(CACHEABLE_PREFIXES)


def test_importing_the_charts_leaves_every_import_hook_usable() -> None:
    import sys

    from govdata.web import charts  # noqa: F401 - imports pygal

    assert all(hasattr(finder, "find_spec") for finder in sys.meta_path)
