"""The sharing usage charts (Art. 40): calls per day (allowed and refused stacked), the top
requesting departments, calls per source, and a person's "who used my data" by month. Drawn
with the shared plumbing (``web.charts``: inline SVG, no script, no inline style); each page
shows the same numbers in a table next to the chart."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup

from govdata.sharing.usage import Tally
from govdata.web import charts
from govdata.web.charts import Colour

TOP = 10
LABEL_EM = 16  # bar labels longer than this are cut with …; the table has the full name


def _whole_numbers(config: pygal.Config, top: int) -> None:
    """Whole numbers on the value axis: pygal's own scale splits a count of 1 into tenths."""
    step = max(math.ceil(top / 8), 1)
    config.y_labels = list(range(0, max(top, 1) + step, step))
    config.value_formatter = lambda v: f"{v:.0f}"


def calls_per_day(title: str, days: Sequence[Tally]) -> Markup:
    """Stacked bars, one a day: allowed calls (green) under refused ones (red)."""
    config = charts.config(title, height=320)
    _whole_numbers(config, max((d.calls for d in days), default=0))
    config.truncate_label = -1
    if len(days) > 15:  # a label every few days, so that they never overlap
        config.x_labels_major_every = -(-len(days) // 10)
        config.show_minor_x_labels = False
    chart = pygal.StackedBar(config)
    chart.x_labels = [d.label for d in days]
    chart.add("允许", [d.allowed for d in days])
    chart.add("拒绝", [d.refused for d in days])
    return charts.render(chart, title, colors=[Colour.GREEN, Colour.RED])


def top_bars(title: str, tallies: Sequence[Tally], *, top: int = TOP) -> Markup:
    """Horizontal bars of the ``top`` largest by calls (allowed and refused stacked); the
    table next to it lists all of them."""
    shown = list(tallies[:top])[::-1]  # pygal draws the first at the bottom
    config = charts.config(title, height=max(200, 110 + 36 * len(shown)))
    _whole_numbers(config, max((t.calls for t in shown), default=0))
    names = [charts.truncate(str(t.label), LABEL_EM) for t in shown]
    # The labels stand left of the bars: widen the margin by what pygal underestimates.
    extra = max((charts.units(n) - 0.6 * len(n) for n in names), default=0.0)
    config.margin_left = 20 + int(extra * charts.LABEL_FONT_SIZE) + 4
    config.truncate_label = -1
    chart = pygal.HorizontalStackedBar(config)
    chart.x_labels = names
    chart.add("允许", [t.allowed for t in shown])
    chart.add("拒绝", [t.refused for t in shown])
    return charts.render(chart, title, colors=[Colour.GREEN, Colour.RED])


def per_month(title: str, months: Sequence[tuple[str, int]]) -> Markup:
    """Bars, one a month: how often someone's data was read."""
    config = charts.config(title, height=280)
    _whole_numbers(config, max((n for _, n in months), default=0))
    config.show_legend = False
    chart = pygal.Bar(config)
    chart.x_labels = [m for m, _ in months]
    chart.add("调用次数", [n for _, n in months])
    return charts.render(chart, title, colors=[Colour.BLUE])
