"""The portal's statistics charts (Art. 29, 40): datasets per department and per theme, open
types, downloads per day. Drawn with the shared plumbing (``web.charts``: inline SVG, no
script, no inline style); the page shows the same numbers in a table next to each chart."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup

from govdata.web import charts
from govdata.web.charts import Colour

TOP = 15
LABEL_EM = 14  # longer labels are cut with …; the table has the full name


def _whole_numbers(config: pygal.Config, top: int) -> None:
    """Whole numbers on the value axis (pygal's own scale splits a count of 1 into tenths)."""
    step = max(math.ceil(top / 8), 1)
    config.y_labels = list(range(0, max(top, 1) + step, step))
    config.value_formatter = lambda v: f"{v:.0f}"


def bars(title: str, values: Sequence[tuple[str, int]], *, top: int = TOP) -> Markup:
    """Horizontal bars of the ``top`` largest counts."""
    shown = sorted(values, key=lambda v: -v[1])[:top][::-1]  # pygal draws the first lowest
    config = charts.config(title, height=max(200, 110 + 32 * len(shown)))
    _whole_numbers(config, max((n for _, n in shown), default=0))
    names = [charts.truncate(name, LABEL_EM) for name, _ in shown]
    extra = max((charts.units(n) - 0.6 * len(n) for n in names), default=0.0)
    config.margin_left = 20 + int(extra * charts.LABEL_FONT_SIZE) + 4
    config.truncate_label = -1
    config.show_legend = False
    chart = pygal.HorizontalBar(config)
    chart.x_labels = names
    chart.add("数据集", [n for _, n in shown])
    return charts.render(chart, title, colors=[Colour.BLUE])


def pie(title: str, values: Sequence[tuple[str, int]]) -> Markup:
    config = charts.config(title, height=300, width=500)
    chart = pygal.Pie(config)
    for name, n in values:
        chart.add(name, n)
    palette = [Colour.GREEN, Colour.YELLOW, Colour.BLUE, Colour.PURPLE, Colour.GREY]
    return charts.render(chart, title, colors=palette[: len(values)])


def per_day(title: str, days: Sequence[tuple[str, int]]) -> Markup:
    config = charts.config(title, height=300)
    _whole_numbers(config, max((n for _, n in days), default=0))
    config.show_legend = False
    config.truncate_label = -1
    if len(days) > 15:  # a label every few days, so that they never overlap
        config.x_labels_major_every = -(-len(days) // 10)
        config.show_minor_x_labels = False
    chart = pygal.Bar(config)
    chart.x_labels = [d for d, _ in days]
    chart.add("下载次数", [n for _, n in days])
    return charts.render(chart, title, colors=[Colour.GREEN])
