"""Quality charts (Art. 20) as SVG rendered on the server with pygal, embedded inline.

No network resource, no script and no inline style: pygal's external JavaScript is switched off
(``js=[]``), its inline configuration script is removed, and its stylesheet (the same for every
chart but for the id it is scoped to) is served once as ``stylesheet()`` at
``/aggregation/quality/charts.css``, scoped to the class ``pygal-chart``: the pages' CSP allows
no inline ``<style>`` (web/headers.py, Art. 39). The charts are static pictures. Each chart is an
``<svg role="img">`` with the title as ``<title>`` and ``aria-label``; the pages show the same
numbers in a table next to it (the table is the accessible form, the chart the overview).
Values are ratios from 0 to 1 and are drawn as percentages; a missing value (None) is a gap.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from functools import cache
from typing import Protocol

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup, escape
from pygal.style import Style  # type: ignore[import-untyped]

FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
COLORS = ("#0969da", "#1a7f37", "#bf8700", "#8250df", "#cf222e", "#57606a")

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style>", re.DOTALL)
_CHART_ID = re.compile(r'<svg [^>]*\bid="(chart-[0-9a-f-]+)"')
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_LEGEND_ID = re.compile(r' id="activate-serie-\d+"')  # only for pygal's script; not unique

Series = dict[str, Sequence[float | None]]
LABEL_FONT_SIZE = 12
LABEL_EM = 16  # bar labels longer than this are cut with …; the table has the full name
STYLED_SERIES = 16  # the stylesheet colours this many series (the charts draw 4)


def _style() -> Style:
    return Style(
        font_family=FONT,
        background="transparent",
        plot_background="#ffffff",
        foreground="rgba(0, 0, 0, .87)",
        foreground_strong="rgba(0, 0, 0, 1)",
        foreground_subtle="rgba(0, 0, 0, .54)",
        colors=COLORS,
        title_font_size=16,
        legend_font_size=13,
        label_font_size=LABEL_FONT_SIZE,
        major_label_font_size=12,
        no_data_font_size=20,
    )


def _units(text: str) -> float:
    """Width in em: pygal reckons every character 0.6 em, but Chinese ones are a full em."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)


def _wrap(title: str, width_em: float = 40) -> str:
    """Break a long title into lines pygal will not break (it cuts at spaces, by 0.6 em)."""
    lines, line = [], ""
    for ch in title:
        if _units(line + ch) > width_em:
            lines.append(line)
            line = ""
        line += ch
    return "\n".join([*lines, line])


def _truncate(label: str, width_em: float) -> str:
    if _units(label) <= width_em:
        return label
    while _units(label + "…") > width_em:
        label = label[:-1]
    return label + "…"


def _config(title: str, *, height: int) -> pygal.Config:
    config = pygal.Config()
    config.js = []  # no external JavaScript (no network resources)
    config.disable_xml_declaration = True  # inline in HTML
    config.title = _wrap(title)
    config.height = height
    config.width = 800
    config.style = _style()
    config.range = (0, 100)
    config.include_x_axis = True
    config.value_formatter = lambda v: f"{v:.1f}%"
    config.legend_at_bottom = True
    config.legend_at_bottom_columns = 4
    config.truncate_legend = -1
    config.no_data_text = "暂无数据"
    config.print_values = False
    config.show_minor_x_labels = True
    return config


def _percent(values: Sequence[float | None]) -> list[float | None]:
    return [round(v * 100, 2) if v is not None else None for v in values]


@cache
def stylesheet() -> str:
    """pygal's stylesheet for our style, for every chart (class ``pygal-chart``) at once."""
    chart = pygal.Line(_config("", height=100))
    chart.x_labels = ["0"]
    for index in range(STYLED_SERIES):
        chart.add(str(index), [0])
    svg = chart.render(is_unicode=True)
    match = _CHART_ID.search(svg)
    assert match is not None, "pygal's SVG carries the chart's id"
    css = "\n".join(html.unescape(block) for block in _STYLE.findall(svg))
    return css.replace("#" + match.group(1), ".pygal-chart")


def _finish(svg: str, title: str) -> Markup:
    """pygal's SVG without its script, stylesheet and comments (the pages' CSP allows none of
    them inline), labelled for assistive technology."""
    svg = _SCRIPT.sub("", svg)
    svg = _STYLE.sub("", svg)
    # The hidden tooltip (shown only by pygal's script): a presentation attribute, not a style.
    svg = svg.replace('style="opacity: 0"', 'opacity="0"')
    svg = _COMMENT.sub("", svg)
    svg = _LEGEND_ID.sub("", svg)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
    return Markup(svg)  # noqa: S704 - pygal escapes every text it writes; the title is escaped


def line_chart(title: str, x_labels: Sequence[str], series: Series) -> Markup:
    """A trend: one line per series over ``x_labels`` (loads or days)."""
    chart = pygal.Line(_config(title, height=360))
    chart.x_labels = list(x_labels)
    chart.x_label_rotation = 30 if len(x_labels) > 8 else 0
    chart.show_dots = True
    if x_labels:
        for name, values in series.items():
            chart.add(name, _percent(values))
    return _finish(chart.render(is_unicode=True), title)


def bar_chart(title: str, labels: Sequence[str], series: Series) -> Markup:
    """Horizontal grouped bars, one group per label (departments, pools), top to bottom in the
    given order: long Chinese names read better down the side than slanted along the bottom."""
    groups = max(len(labels), 1)
    height = min(max(220, 70 + groups * (14 * max(len(series), 1) + 12)), 2400)
    config = _config(title, height=height)
    names = [_truncate(label, LABEL_EM) for label in labels]
    # The labels stand left of the bars: widen the margin by what pygal underestimates.
    extra = max((_units(n) - 0.6 * len(n) for n in names), default=0.0)
    config.margin_left = 20 + int(extra * LABEL_FONT_SIZE) + 4
    config.truncate_label = -1
    chart = pygal.HorizontalBar(config)
    # pygal draws the first label at the bottom: reversed, the chart reads down like the table.
    chart.x_labels = names[::-1]
    if labels:
        for name, values in series.items():
            chart.add(name, _percent(values)[::-1])
    return _finish(chart.render(is_unicode=True), title)


class HasMetrics(Protocol):
    @property
    def completeness(self) -> float | None: ...
    @property
    def validity(self) -> float | None: ...
    @property
    def uniqueness(self) -> float | None: ...
    @property
    def consistency(self) -> float | None: ...


def metric_series(rows: Sequence[HasMetrics]) -> Series:
    """The four quality measures of ``rows`` (snapshots or means) as series named in zh-CN."""
    return {
        "完整性": [r.completeness for r in rows],
        "有效性": [r.validity for r in rows],
        "唯一性": [r.uniqueness for r in rows],
        "一致性": [r.consistency for r in rows],
    }
