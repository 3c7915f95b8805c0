"""Charts as SVG drawn on the server by pygal and embedded inline in pages (plumbing: the
domains draw their own charts with it).

No network resource, no script and no inline style, for the pages' CSP (web/headers.py,
Art. 39): pygal's external JavaScript is switched off (``js=[]``), its inline configuration
script is removed, and its stylesheet (the same for every chart but for the id pygal scopes it
to) is served once, as ``stylesheet()`` at ``STYLESHEET_URL``, scoped to the class every pygal
chart carries (``pygal-chart``): one stylesheet for any number of charts on a page. A page
with a chart links it in its ``{% block head %}``.

Colours: one palette (``PALETTE``) for every chart. A chart draws its series in palette order,
or picks a palette colour per series (``colors=``, indices such as ``Colour.RED``), so that a
series keeps its colour whatever else is drawn. The charts are static pictures; each is an
``<svg role="img">`` with the title as ``<title>`` and ``aria-label``, and the pages show the
same numbers in a table next to it (the accessible form; the chart is the overview).
"""

from __future__ import annotations

import hashlib
import html
import re
import sys
import unicodedata
from collections.abc import Sequence
from enum import IntEnum
from functools import cache
from typing import Any

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup, escape
from pygal.style import Style  # type: ignore[import-untyped]

# pygal puts an old-style import hook (no ``find_spec``) on ``sys.meta_path`` for its maps
# plugins, which the platform does not use; anything that walks the import hooks (pytest
# collecting test modules, importlib's lookups) trips over it.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

STYLESHEET_URL = "/charts.css"
FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
PALETTE = ("#0969da", "#1a7f37", "#bf8700", "#8250df", "#cf222e", "#57606a")


class Colour(IntEnum):
    """A chart's pick from ``PALETTE`` (its index: the class ``color-<index>``)."""

    BLUE = 0
    GREEN = 1
    YELLOW = 2
    PURPLE = 3
    RED = 4
    GREY = 5


STYLED_SERIES = 16  # the stylesheet colours this many series: the palette, then pygal's shades
LABEL_FONT_SIZE = 12

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style>", re.DOTALL)
_CHART_ID = re.compile(r'<svg [^>]*\bid="(chart-[0-9a-f-]+)"')
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_LEGEND_ID = re.compile(r' id="activate-serie-\d+"')  # only for pygal's script; not unique
_CLASS = re.compile(r'\bclass="([^"]*)"')
_COLOUR_CLASS = re.compile(r"\bcolor-(\d+)\b")


def style() -> Style:
    return Style(
        font_family=FONT,
        background="transparent",
        plot_background="#ffffff",
        foreground="rgba(0, 0, 0, .87)",
        foreground_strong="rgba(0, 0, 0, 1)",
        foreground_subtle="rgba(0, 0, 0, .54)",
        colors=PALETTE,
        title_font_size=16,
        legend_font_size=13,
        label_font_size=LABEL_FONT_SIZE,
        major_label_font_size=12,
        no_data_font_size=20,
    )


def units(text: str) -> float:
    """Width in em: pygal reckons every character 0.6 em, but Chinese ones are a full em."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)


def wrap(title: str, width_em: float = 40) -> str:
    """Break a long title into lines pygal will not break (it cuts at spaces, by 0.6 em)."""
    lines, line = [], ""
    for ch in title:
        if units(line + ch) > width_em:
            lines.append(line)
            line = ""
        line += ch
    return "\n".join([*lines, line])


def truncate(label: str, width_em: float) -> str:
    """``label`` cut with … to ``width_em`` (the table next to the chart has it in full)."""
    if units(label) <= width_em:
        return label
    while units(label + "…") > width_em:
        label = label[:-1]
    return label + "…"


def config(title: str, *, height: int, width: int = 800) -> pygal.Config:
    """pygal's configuration every chart starts from: our style, no script, legend below."""
    cfg = pygal.Config()
    cfg.js = []  # no external JavaScript (no network resources)
    cfg.disable_xml_declaration = True  # inline in HTML
    cfg.title = wrap(title)
    cfg.height = height
    cfg.width = width
    cfg.style = style()
    cfg.legend_at_bottom = True
    cfg.truncate_legend = -1
    cfg.no_data_text = "暂无数据"
    cfg.print_values = False
    return cfg


@cache
def stylesheet() -> str:
    """pygal's stylesheet for our style, for every chart (class ``pygal-chart``) at once."""
    chart = pygal.Line(config("", height=100))
    chart.x_labels = ["0"]
    for index in range(STYLED_SERIES):
        chart.add(str(index), [0])
    svg = chart.render(is_unicode=True)
    match = _CHART_ID.search(svg)
    assert match is not None, "pygal's SVG carries the chart's id"
    css = "\n".join(html.unescape(block) for block in _STYLE.findall(svg))
    return css.replace("#" + match.group(1), ".pygal-chart")


@cache
def stylesheet_etag() -> str:
    """The stylesheet's entity tag: a browser keeps the file and asks whether it changed."""
    return '"' + hashlib.sha256(stylesheet().encode()).hexdigest()[:32] + '"'


def _recolour(svg: str, colors: Sequence[int]) -> str:
    """Series ``i`` drawn in ``PALETTE[colors[i]]``: pygal names a series' colour by its index
    (class ``color-<i>``); only class attributes are rewritten, never a text."""
    for c in colors:
        if not 0 <= c < STYLED_SERIES:
            raise ValueError(f"no colour {c} in the charts' stylesheet")

    def colour(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(colors):
            raise ValueError(f"the chart draws series {index} but names {len(colors)} colours")
        return f"color-{colors[index]}"

    return _CLASS.sub(lambda m: f'class="{_COLOUR_CLASS.sub(colour, m.group(1))}"', svg)


def finish(svg: str, title: str, *, colors: Sequence[int] | None = None) -> Markup:
    """pygal's SVG without its script, stylesheet and comments (the pages' CSP allows none of
    them inline), in the picked colours, labelled for assistive technology."""
    svg = _SCRIPT.sub("", svg)
    svg = _STYLE.sub("", svg)
    # The hidden tooltip (shown only by pygal's script): a presentation attribute, not a style.
    svg = svg.replace('style="opacity: 0"', 'opacity="0"')
    svg = _COMMENT.sub("", svg)
    svg = _LEGEND_ID.sub("", svg)
    if colors is not None:
        svg = _recolour(svg, colors)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
    return Markup(svg)  # noqa: S704 - pygal escapes every text it writes; the title is escaped


def render(chart: Any, title: str, *, colors: Sequence[int] | None = None) -> Markup:
    """``chart`` (a pygal chart) as inline SVG for a page (``finish``)."""
    return finish(chart.render(is_unicode=True), title, colors=colors)
