"""The security page's chart: signals raised per day, by kind, as SVG drawn on the server by
pygal (no script, no network resource), next to a table of the same numbers."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup, escape
from pygal.style import Style  # type: ignore[import-untyped]

from govdata.security.models import SignalKind

FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
COLORS = ("#cf222e", "#bf8700", "#8250df", "#0969da", "#1a7f37")
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_LEGEND_ID = re.compile(r' id="activate-serie-\d+"')  # only for pygal's script; not unique


def raised_chart(title: str, dates: Sequence[date], series: dict[SignalKind, list[int]]) -> Markup:
    config = pygal.Config()
    config.js = []  # no external JavaScript
    config.disable_xml_declaration = True
    config.title = title
    config.height = 320
    config.width = 800
    config.style = Style(
        font_family=FONT,
        background="transparent",
        plot_background="#ffffff",
        colors=COLORS,
        title_font_size=16,
        legend_font_size=13,
        label_font_size=12,
        major_label_font_size=12,
    )
    config.legend_at_bottom = True
    config.legend_at_bottom_columns = 3
    config.truncate_legend = -1
    config.no_data_text = "暂无数据"
    # Whole numbers on the axis: pygal's own scale splits a count of 1 into tenths.
    top = max((sum(day) for day in zip(*series.values(), strict=True)), default=0)
    step = max(math.ceil(top / 8), 1)
    config.y_labels = list(range(0, max(top, 1) + step, step))
    config.value_formatter = lambda v: f"{v:.0f}"
    chart = pygal.StackedBar(config)
    chart.x_labels = [d.strftime("%m-%d") for d in dates]
    for kind, values in series.items():
        chart.add(kind.label, list(values))
    svg = chart.render(is_unicode=True)
    svg = _LEGEND_ID.sub("", _COMMENT.sub("", _SCRIPT.sub("", svg)))
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
    return Markup(svg)  # noqa: S704 - pygal escapes every text it writes; the title is escaped
